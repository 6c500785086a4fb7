package etcdtest_test

import (
	"context"
	"testing"
	"time"

	haetcd "github.com/minato-ops/minato/ha/etcd"
	"github.com/minato-ops/minato/ha/etcd/etcdtest"
)

// In a test: a real etcd on loopback for the lease witness, stopped when
// the test ends.
func ExampleStart() {
	var t *testing.T // the test's
	srv := etcdtest.Start(t)
	cfg := haetcd.DefaultConfig()
	cfg.Endpoints = []string{srv.Endpoint}
	lease, err := haetcd.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Close()
	g, err := lease.Acquire(context.Background(), "web", "node1", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("node1 holds web at epoch %d", g.Epoch)
}
