package container_test

import (
	"context"
	"fmt"
	"log"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/minato-ops/minato/inventory"
)

// Select the containers whose name starts with "web", running or not, as
// seed 002's -n "web*" does. The engine here is the fake one from
// package enginetest.
func ExampleClient_Select() {
	engine, err := enginetest.Start("testdata/engine/basic")
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close()

	c, err := container.New(container.Config{Host: engine.URL})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	web, err := c.Select(context.Background(), inventory.Selector{Names: []string{"web*"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range web {
		fmt.Println(s.ID[:12], s.Name, s.State)
	}
	// Output:
	// 763b952e333e web-2 exited
	// e650e9015225 web-1 running
}

func ExampleParseStatus() {
	for _, status := range []string{"Up 35 minutes", "Up 2 hours (Paused)", "Exited (0) 2 hours ago", "Restarting (1) 3 seconds ago", ""} {
		st, _ := container.ParseStatus(status)
		fmt.Printf("%q → %s\n", status, st)
	}
	_, err := container.ParseStatus("Sleeping")
	fmt.Println(err)
	// Output:
	// "Up 35 minutes" → running
	// "Up 2 hours (Paused)" → paused
	// "Exited (0) 2 hours ago" → exited
	// "Restarting (1) 3 seconds ago" → restarting
	// "" → exited
	// container: unknown container state: status "Sleeping" cannot be converted
}

func ExampleTCPHost() {
	fmt.Println(container.TCPHost("10.0.0.5", 0))
	fmt.Println(container.TCPHost("2001:db8::5", 2376))
	// Output:
	// tcp://10.0.0.5:2375
	// tcp://[2001:db8::5]:2376
}
