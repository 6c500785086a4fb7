package cluster_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/cluster"
	"github.com/minato-ops/minato/internal/strictyaml"
)

func twoNodes() cluster.Config {
	return cluster.Config{Cluster: "prod", Node: "a", Nodes: []cluster.NodeConfig{
		{Name: "a", Addresses: []string{"10.0.1.10:5405", "10.0.2.10:5405"}},
		{Name: "b", Addresses: []string{"10.0.1.11:5405", "10.0.2.11:5405"}},
	}}
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, twoNodes().Validate())
	for _, tc := range []struct {
		name   string
		change func(*cluster.Config)
		want   []string
	}{
		{"empty", func(c *cluster.Config) { *c = cluster.Config{} },
			[]string{"cluster: \"\"", "nodes: 0 nodes: a cluster has 2 or 3", "node: required"}},
		{"four nodes", func(c *cluster.Config) {
			c.Nodes = append(c.Nodes, cluster.NodeConfig{Name: "c", Addresses: []string{"h:1", "h:2"}}, cluster.NodeConfig{Name: "d", Addresses: []string{"h:3", "h:4"}})
		}, []string{"nodes: 4 nodes"}},
		{"node not listed", func(c *cluster.Config) { c.Node = "z" }, []string{`node: "z" is not one of nodes`}},
		{"names", func(c *cluster.Config) { c.Nodes[1].Name = "a"; c.Cluster = "a b" },
			[]string{`nodes[1].name: "a" is listed twice`, `cluster: "a b": want letters`}},
		{"addresses", func(c *cluster.Config) {
			c.Nodes[0].Addresses = []string{"10.0.1.10", ":5405"}
			c.Nodes[1].Addresses = []string{"10.0.1.11:0", "10.0.1.11:0", "x:1"}
		}, []string{
			`nodes[0].addresses[0]: "10.0.1.10": want host:port`,
			`nodes[0].addresses[1]: ":5405": give the host`,
			"nodes[1].addresses: 3 addresses, but nodes[0] has 2",
			`nodes[1].addresses[0]: "10.0.1.11:0": port must be 1-65535`,
		}},
		{"duplicate address", func(c *cluster.Config) { c.Nodes[1].Addresses[1] = c.Nodes[0].Addresses[0] },
			[]string{`nodes[1].addresses[1]: "10.0.1.10:5405" is also nodes[0].addresses[0]`}},
		{"no address", func(c *cluster.Config) { c.Nodes[1].Addresses = nil }, []string{"nodes[1].addresses: give one UDP host:port"}},
		{"negative", func(c *cluster.Config) { c.Interval = -1 }, []string{"interval: -1ns: want 0 (the default)"}},
		{"timeout below two intervals", func(c *cluster.Config) { c.Interval = 2 * time.Second }, []string{"timeout: 3s: want at least twice interval (2s)"}},
		{"lease ttl below interval", func(c *cluster.Config) { c.LeaseTTL = 100 * time.Millisecond }, []string{"lease_ttl: 100ms: want at least interval (1s)"}},
		{"skew below timeout", func(c *cluster.Config) { c.MaxClockSkew = time.Second }, []string{"max_clock_skew: 1s: want at least timeout (3s)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := twoNodes()
			tc.change(&c)
			err := c.Validate()
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestConfigFile decodes a configuration file the way the agent does
// (its YAML/JSON decoder reads durations written "1s").
func TestConfigFile(t *testing.T) {
	file := `
cluster: prod
node: tokyo-1
nodes:
  - name: tokyo-1
    addresses: ["10.0.1.10:5405", "10.0.2.10:5405"]
  - name: tokyo-2
    addresses: ["10.0.1.11:5405", "10.0.2.11:5405"]
interval: 500ms
timeout: 2s
lease_ttl: 4s
`
	cfg := cluster.DefaultConfig()
	require.NoError(t, strictyaml.Unmarshal([]byte(file), &cfg))
	require.NoError(t, cfg.Validate())
	assert.Equal(t, 500*time.Millisecond, cfg.Interval)
	assert.Equal(t, 2*time.Second, cfg.Timeout)
	assert.Equal(t, 4*time.Second, cfg.LeaseTTL)
	assert.Equal(t, cluster.DefaultMaxClockSkew, cfg.MaxClockSkew)
	assert.Equal(t, []string{"10.0.1.11:5405", "10.0.2.11:5405"}, cfg.Nodes[1].Addresses)

	b, err := json.Marshal(cluster.DefaultConfig())
	require.NoError(t, err)
	for _, k := range []string{"cluster", "node", "nodes", "interval", "timeout", "lease_ttl", "max_clock_skew", "witness_timeout", "leave_timeout"} {
		assert.Contains(t, string(b), `"`+k+`"`)
	}
}

func TestNewRejects(t *testing.T) {
	ok := []ha.Group{{Name: "web", Nodes: []string{"a", "b"}}}
	eng := &fakeEngine{}
	_, err := cluster.New(twoNodes(), key, ok, eng)
	require.NoError(t, err)

	_, err = cluster.New(twoNodes(), key[:31], ok, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "key: 31 bytes, want at least 32")
	assert.Contains(t, err.Error(), "engine: required")

	_, err = cluster.New(twoNodes(), key, []ha.Group{{Name: "web", Nodes: []string{"a", "c"}}, {Name: "web", Nodes: []string{"a"}}}, eng)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `groups[0] (web).nodes[1]: "c" is not a node of the cluster`)
	assert.Contains(t, err.Error(), `groups[1]: "web" is used twice`)

	_, err = cluster.New(twoNodes(), key, []ha.Group{{Name: "", Nodes: []string{"a"}}}, eng)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "groups[0] ()")

	var many []ha.Group
	for i := range 200 {
		many = append(many, ha.Group{Name: strings.Repeat("g", 400) + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Nodes: []string{"a", "b"}})
	}
	_, err = cluster.New(twoNodes(), key, many, eng)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "groups: 200 groups make heartbeats of up to")
}

func TestRunTwiceAndNotRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []string{"a", "b"}, []ha.Group{groupOn("web", "a", "b")}, hopts{})
		n := h.start("a")
		h.wait(interval)
		err := n.c.Run(context.Background())
		require.ErrorContains(t, err, "already running")
		require.NoError(t, h.stop("a"))
		require.ErrorIs(t, n.c.Move(context.Background(), "web", "a"), cluster.ErrNotRunning)
		require.ErrorIs(t, n.c.Failover(context.Background(), "web", nil), cluster.ErrNotRunning)
		_, ok := n.c.Holds("web")
		assert.False(t, ok)
		assert.Equal(t, cluster.NodeUnknown, nodeState(n.c.Status(), "a"))

		// Run again on the same Cluster: a new boot, the group again.
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- n.c.Run(ctx) }()
		h.wait(timeout + 2*interval)
		_, ok = n.c.Holds("web")
		assert.True(t, ok)
		cancel()
		require.NoError(t, <-done)
		h.requireEpochsIncrease("web")
	})
}

func TestMemNetwork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		n := cluster.NewMemNetwork()
		a, err := n.Listen("a0", "a1")
		require.NoError(t, err)
		b, err := n.Listen("b0", "b1")
		require.NoError(t, err)
		_, err = n.Listen("a0")
		require.Error(t, err, "in use")

		require.NoError(t, a.Send(ctx, 1, "b1", []byte("hi")))
		d, err := b.Receive(ctx)
		require.NoError(t, err)
		assert.Equal(t, cluster.Datagram{Network: 1, From: "a1", Data: []byte("hi")}, d)

		n.Partition([]string{"a0"}, []string{"b0"})
		require.NoError(t, a.Send(ctx, 0, "b0", []byte("lost")))
		require.NoError(t, b.Send(ctx, 0, "a0", []byte("lost")))
		require.NoError(t, a.Send(ctx, 1, "b1", []byte("through")))
		d, err = b.Receive(ctx)
		require.NoError(t, err)
		assert.Equal(t, "through", string(d.Data))
		n.Heal()

		n.Delay([]string{"a0"}, []string{"b0"}, time.Second)
		start := time.Now()
		require.NoError(t, a.Send(ctx, 0, "b0", []byte("late")))
		d, err = b.Receive(ctx)
		require.NoError(t, err)
		assert.Equal(t, "late", string(d.Data))
		assert.Equal(t, time.Second, time.Since(start))

		tctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err = b.Receive(tctx)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, "nothing else arrived: the partition dropped")

		require.NoError(t, a.Send(ctx, 0, "nobody", []byte("x")), "an unknown address is a drop, as with UDP")
		require.NoError(t, b.Close())
		_, err = b.Receive(ctx)
		require.Error(t, err)
		require.Error(t, b.Send(ctx, 0, "a0", nil))
		_, err = n.Listen("b0", "b1")
		require.NoError(t, err, "closed addresses are free again")
	})
}
