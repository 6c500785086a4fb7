package dockertest

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// InitSwarm puts the engine in a one-node Swarm on loopback (a free
// 127.0.0.1 port for its cluster traffic, advertised as 127.0.0.1) and
// registers a t.Cleanup that leaves it again (forced, within a minute). An
// engine already in a swarm is refused: the test would change a cluster
// it does not own. Meant for a second, private engine (internal/dockerdtest),
// never the machine's own, which other tests use at the same time.
func (e *Engine) InitSwarm(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := e.Client.Info(ctx)
	if err != nil {
		t.Fatalf("dockertest: swarm: info: %v", err)
	}
	if info.Swarm.LocalNodeState != swarm.LocalNodeStateInactive {
		t.Fatalf("dockertest: swarm: engine %s is already in a swarm (%s): not touching it", e.Host, info.Swarm.LocalNodeState)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dockertest: swarm: free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if _, err := e.Client.SwarmInit(ctx, swarm.InitRequest{ListenAddr: fmt.Sprintf("127.0.0.1:%d", port), AdvertiseAddr: "127.0.0.1"}); err != nil {
		t.Fatalf("dockertest: swarm init on %s: %v", e.Host, err)
	}
	t.Cleanup(func() {
		lctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.Client.SwarmLeave(lctx, true); err != nil {
			t.Errorf("dockertest: leave the swarm on %s: %v", e.Host, err)
		}
	})
}
