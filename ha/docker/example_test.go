package docker_test

import (
	"context"
	"fmt"
	"log"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/docker"
)

// Two containers of a group on this node's engine (a fake one here, whose
// web container is running and healthy and whose cache container was
// OOM-killed): activating web finds nothing to do; the checks say how
// each one is.
func Example() {
	engine, err := enginetest.Start("testdata/engine")
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close()
	c, err := container.New(container.Config{Host: engine.URL})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	web, err := docker.New(c, docker.Config{Name: "web", Group: "web-group", Create: &docker.Spec{Image: "nginx:1.27", Network: "host"}})
	if err != nil {
		log.Fatal(err)
	}
	cache, err := docker.New(c, docker.Config{Name: "cache", Group: "web-group", Create: &docker.Spec{Image: "redis:7", Network: "host"}})
	if err != nil {
		log.Fatal(err)
	}

	ctx := ha.WithEpoch(context.Background(), 4)
	node := ha.NodeTarget("node1")
	fmt.Println("activate web:", web.Activate(ctx, node))
	for _, r := range []*docker.Resource{web, cache} {
		res, err := r.Check(ctx, node)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(res.Status, res.Code, res.Message)
	}
	// Output:
	// activate web: <nil>
	// OK 0 container web is running and healthy
	// CRITICAL 8 container cache exited with code 137, OOM-killed at 2026-05-01T11:30:00Z
}

// A container that the cluster alone restarts: the engine must not.
func ExampleConfig_Validate() {
	cfg := docker.Config{Name: "web", Create: &docker.Spec{Image: "nginx:1.27", RestartPolicy: "always"}}
	fmt.Println(cfg.Validate())
	// Output:
	// create.restart_policy: "always": only "no": the cluster restarts a failed container, not the engine
}
