package dockerinv_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/minato-ops/minato/inventory"
	dockerinv "github.com/minato-ops/minato/inventory/docker"
)

// One engine as inventory: its containers, running or not, with the
// attributes docker ps shows.
func ExampleEngine_Snapshot() {
	srv, err := enginetest.Start("testdata/engine") // a fake engine serving fixtures
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	c, err := container.New(container.Config{Host: srv.URL})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	e, err := dockerinv.NewEngine("docker_host1", c)
	if err != nil {
		log.Fatal(err)
	}
	snap, err := e.Snapshot(context.Background(), inventory.Selector{Kind: inventory.KindContainer})
	if err != nil {
		log.Fatal(err)
	}
	eng := snap.Engines[0]
	fmt.Println(eng.Name, eng.Hostname, eng.Version, eng.Up())
	for _, it := range snap.Items {
		fmt.Printf("%s %s %q %q\n", it.Target.Name, it.State, it.Attrs[inventory.AttrPorts], it.Attrs[inventory.AttrNetworks])
	}
	// Output:
	// docker_host1 docker-host-1 28.5.2 true
	// web-1 running "443/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp" "bridge, web-net"
	// batch exited "" "bridge"
	// fresh created "" "none"
}

// Many engines: the ones that answer give their containers, the others
// are reported with the reason.
func ExampleFleet_Snapshot() {
	srv, err := enginetest.Start("testdata/engine")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	cfg := dockerinv.DefaultConfig()
	cfg.Timeout = 2 * time.Second
	cfg.Engines = []dockerinv.EngineConfig{
		{Name: "docker_host1", Host: srv.URL},
		{Name: "docker_host2", Host: "unix:///nonexistent/docker.sock"},
	}
	f, err := dockerinv.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	snap, err := f.Snapshot(context.Background(), inventory.Selector{Kind: inventory.KindContainer, States: []string{"running"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range snap.Engines {
		fmt.Println(e.Name, e.Up())
	}
	for _, it := range snap.Items {
		fmt.Println(it.Target.Name, it.State)
	}
	for _, down := range snap.Down() {
		fmt.Println(down)
	}
	// Output:
	// docker_host1 true
	// docker_host2 false
	// web-1 running
	// engine docker_host2 (unix:///nonexistent/docker.sock): list containers: cannot connect to the Docker daemon at unix:///nonexistent/docker.sock
}

func ExampleConfig_Validate() {
	cfg := dockerinv.Config{Engines: []dockerinv.EngineConfig{
		{Name: "docker_host1", Host: "tcp://10.0.200.123:2376"},
		{Name: "docker host2", Host: "tcp://10.0.200.124"},
		{Name: "docker_host1", Host: "tcp://10.0.200.125:2375"},
	}}
	fmt.Println(cfg.Validate())
	// Output:
	// engines[1].name: inventory: invalid: facility ID "docker host2": ' ' is not allowed (letters, digits, -, _, . and @)
	// engines[1].host "tcp://10.0.200.124": tcp:// needs a port (tcp://HOST:2375, or :2376 with TLS)
	// engines[2].name: "docker_host1" is already the name of engines[0]
}

func ExampleFromEnv() {
	env := map[string]string{"DOCKER_HOST": "tcp://10.0.200.123:2375"}
	ec := dockerinv.FromEnv(func(k string) string { return env[k] })
	fmt.Println(ec.Name, ec.Host)
	// Output: local tcp://10.0.200.123:2375
}
