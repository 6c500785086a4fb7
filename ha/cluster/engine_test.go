package cluster_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/cluster"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// service is a resource that can be broken: its Check then reports it
// Critical.
type service struct {
	active atomic.Bool
	broken atomic.Bool
	mu     sync.Mutex
	epochs []ha.Epoch
}

func (s *service) Check(ctx context.Context, t inventory.Target) (monitor.Result, error) {
	if !s.active.Load() || s.broken.Load() {
		return monitor.Result{Status: monitor.Critical, Message: "not serving"}, nil
	}
	return monitor.Result{Status: monitor.OK}, nil
}

func (s *service) Activate(ctx context.Context, node inventory.Target) error {
	e, _ := ha.EpochFrom(ctx)
	s.mu.Lock()
	s.epochs = append(s.epochs, e)
	s.mu.Unlock()
	s.active.Store(true)
	return nil
}

func (s *service) Deactivate(ctx context.Context, node inventory.Target) error {
	s.active.Store(false)
	return nil
}

func (s *service) lastEpoch() ha.Epoch {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.epochs) == 0 {
		return 0
	}
	return s.epochs[len(s.epochs)-1]
}

// TestWithTheEngine wires the cluster to the real ha.Engine: a monitor
// that keeps failing on the holder makes the engine's recovery give the
// group up (no restarts allowed), the cluster moves it to the other
// node, whose resource is activated under the next epoch.
func TestWithTheEngine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := cluster.NewMemNetwork()
		names := []string{"a", "b"}
		var nodes []cluster.NodeConfig
		for _, n := range names {
			nodes = append(nodes, cluster.NodeConfig{Name: n, Addresses: []string{n + ":5405"}})
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		svcs := map[string]*service{}
		members := map[string]*cluster.Cluster{}
		for _, n := range names {
			svc := &service{}
			svcs[n] = svc
			groups := []ha.Group{{Name: "web", Nodes: names, Members: []ha.Member{{Name: "svc", Resource: svc,
				Policy: ha.RecoveryPolicy{Interval: time.Second, Retries: -1, Restarts: -1, Failovers: 1}}}}}
			var c *cluster.Cluster
			eng, err := ha.NewEngine(n, groups, ha.WithFailover(func(ctx context.Context, g string, reason error) error {
				return c.Failover(ctx, g, reason)
			}))
			require.NoError(t, err)
			tr, err := mem.Listen(n + ":5405")
			require.NoError(t, err)
			c, err = cluster.New(cluster.Config{Cluster: "e", Node: n, Nodes: nodes}, key, groups, eng, cluster.WithTransport(tr))
			require.NoError(t, err)
			members[n] = c
			wg.Go(func() { eng.Run(ctx) })
			wg.Go(func() { c.Run(ctx) })
		}
		defer func() { cancel(); wg.Wait() }()

		time.Sleep(2 * time.Second)
		synctest.Wait()
		first, ok := members["a"].Holds("web")
		require.True(t, ok)
		require.True(t, svcs["a"].active.Load())
		assert.Equal(t, first, svcs["a"].lastEpoch(), "the resource was activated under the cluster's epoch")

		svcs["a"].broken.Store(true)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		e, ok := members["b"].Holds("web")
		require.True(t, ok, "b holds web")
		assert.Equal(t, first+1, e)
		assert.True(t, svcs["b"].active.Load())
		assert.False(t, svcs["a"].active.Load())
		assert.Equal(t, first+1, svcs["b"].lastEpoch())
		st := members["a"].Status()
		assert.Equal(t, []string{"a"}, st.Groups[0].FailedOn)
		assert.Equal(t, "b", st.Groups[0].Holder)
	})
}
