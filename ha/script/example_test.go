package script_test

import (
	"context"
	"fmt"
	"log"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/script"
)

// A service started and checked by commands; the check prints a
// Monitoring Plugins line. A failing start reads as CLUSTERPRO's message.
func Example() {
	svc, err := script.New(script.Config{
		Name:  "cache",
		Group: "web",
		Start: script.Command{Argv: []string{"/bin/sh", "-c", `echo "started at epoch $MINATO_HA_EPOCH on $MINATO_HA_NODE"`}},
		Check: script.Command{Argv: []string{"/bin/sh", "-c", `echo "OK - cache answers | latency=0.002s"`}},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := ha.WithEpoch(context.Background(), 12)
	node := ha.NodeTarget("node1")
	if err := svc.Activate(ctx, node); err != nil {
		log.Fatal(err)
	}
	res, err := svc.Check(ctx, node)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.Message)

	broken, err := script.New(script.Config{Start: script.Command{Argv: []string{"/bin/sh", "-c", "echo 'port 6379 in use' >&2; exit 1"}}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ha.ActivateMessage("cache", broken.Activate(ctx, node)))
	// Output:
	// OK OK - cache answers
	// Activating cache resource has failed.(5 : start command exited with status 1: port 6379 in use)
}
