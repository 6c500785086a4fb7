package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/etcd"
)

// ExampleNew holds the key of group "web" for node-a, renewing it while
// the group runs. It needs an etcd on 127.0.0.1:2379, so it is compiled
// but not run.
func ExampleNew() {
	cfg := etcd.DefaultConfig()
	cfg.Endpoints = []string{"http://127.0.0.1:2379"}
	lease, err := etcd.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lease.Close()

	ctx := context.Background()
	g, err := lease.Acquire(ctx, "web", "node-a", 10*time.Second)
	var held *etcd.HeldError
	if errors.As(err, &held) {
		fmt.Println("web runs on", held.Holder)
		return
	}
	if err != nil {
		fmt.Println("etcd unreachable:", err)
		return
	}
	// Act under the epoch (a fencing token) while the hold is valid.
	ctx = ha.WithEpoch(ctx, g.Epoch)
	for g.Live(time.Now()) {
		time.Sleep(3 * time.Second)
		next, err := lease.Renew(ctx, g)
		if errors.Is(err, ha.ErrLost) {
			break // another node may hold it now: stop at once
		}
		if err == nil {
			g = next
		} // else: unknown; keep acting only until g.Valid
	}
	_ = lease.Release(context.Background(), g)
}

func ExampleConfig_Validate() {
	cfg := etcd.DefaultConfig()
	cfg.Endpoints = []string{"http://10.0.1.5:2379", "10.0.2.5"}
	cfg.CertFile = "/etc/minato/etcd-client.pem"
	fmt.Println(cfg.Validate())
	// Output:
	// endpoints[1]: "10.0.2.5": no host:port; want "https://host:port", "http://host:port" or "host:port"
	// endpoints: http:// with ca_file, cert_file or key_file; want https:// endpoints (or bare host:port) for TLS
	// cert_file and key_file: only one is set; want both (a client certificate and its key) or neither
}

func ExampleHeldError() {
	var err error = &etcd.HeldError{Key: "web", Holder: "node-b", Epoch: 42}
	fmt.Println(err)
	fmt.Println(errors.Is(err, ha.ErrHeld))
	// Output:
	// etcd: web: held by node "node-b" (epoch 42)
	// true
}
