package inventory_test

import (
	"context"
	"fmt"

	"github.com/minato-ops/minato/inventory"
)

func ExampleSelector_Match() {
	web := inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57" + "0000000000000000000000000000000000000000000000000000", Name: "/web-1"}
	fmt.Println(inventory.Selector{Names: []string{"web*"}}.Match(web))
	fmt.Println(inventory.Selector{Names: []string{"web"}}.Match(web))
	fmt.Println(inventory.Selector{IDs: []string{"0e0d8cdf3a57"}}.Match(web))
	fmt.Println(inventory.Selector{IDs: []string{"0e0d*"}, Names: []string{"web-1"}}.Validate())
	// Output:
	// true
	// false
	// true
	// inventory: select by ID or by name, not both
}

func ExampleStatic() {
	r := inventory.Static(
		inventory.Target{Kind: inventory.KindNode, ID: "i-0aaa", Name: "node1"},
		inventory.Target{Kind: inventory.KindNode, ID: "i-0bbb", Name: "node2"},
	)
	ts, _ := r.Resolve(context.Background(), inventory.Selector{Names: []string{"node2"}})
	for _, t := range ts {
		fmt.Println(t)
	}
	// Output: node node2 (i-0bbb)
}
