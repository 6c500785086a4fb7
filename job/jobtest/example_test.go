package jobtest_test

import (
	"context"
	"fmt"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/jobtest"
)

func ExampleRunNetwork() {
	ok := job.ActionFunc(func(context.Context, inventory.Target) (job.Outcome, error) { return job.Outcome{}, nil })
	n := &job.Network{Name: "demo", Units: []job.Unit{{Name: "a", Action: ok}, {Name: "b", Needs: []string{"a"}, Action: ok}}}
	rep, err := jobtest.RunNetwork(context.Background(), n, nil)
	fmt.Println(rep.State, err)
	// Output: succeeded <nil>
}
