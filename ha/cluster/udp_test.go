package cluster_test

import (
	"bytes"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/cluster"
)

// relay forwards the datagrams it receives to one address, keeping a
// copy of each; drop makes it a cut cable.
type relay struct {
	conn *net.UDPConn
	drop atomic.Bool
	mu   sync.Mutex
	seen [][]byte
	done chan struct{}
}

func newRelay(t *testing.T, to string) *relay {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	dst, err := net.ResolveUDPAddr("udp", to)
	require.NoError(t, err)
	r := &relay{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		buf := make([]byte, 64<<10)
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			r.mu.Lock()
			r.seen = append(r.seen, bytes.Clone(buf[:n]))
			r.mu.Unlock()
			if !r.drop.Load() {
				conn.WriteToUDP(buf[:n], dst)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-r.done })
	return r
}

func (r *relay) addr() string { return r.conn.LocalAddr().String() }

func (r *relay) captured(t *testing.T) []byte {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.seen)
	return bytes.Clone(r.seen[0])
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestUDPTwoNetworks runs two nodes over real UDP sockets on loopback,
// two networks each; the second network passes through relays the test
// can cut.
func TestUDPTwoNetworks(t *testing.T) {
	ta, err := cluster.ListenUDP([]string{"127.0.0.1:0", "127.0.0.1:0"})
	require.NoError(t, err)
	defer ta.Close()
	tb, err := cluster.ListenUDP([]string{"127.0.0.1:0", "127.0.0.1:0"})
	require.NoError(t, err)
	defer tb.Close()
	ab := newRelay(t, tb.Addrs()[1]) // a → b on network 1
	ba := newRelay(t, ta.Addrs()[1]) // b → a on network 1

	base := cluster.Config{Cluster: "udp", Interval: 50 * time.Millisecond, Timeout: 250 * time.Millisecond}
	cfgA, cfgB := base, base
	cfgA.Node, cfgB.Node = "a", "b"
	cfgA.Nodes = []cluster.NodeConfig{{Name: "a", Addresses: ta.Addrs()}, {Name: "b", Addresses: []string{tb.Addrs()[0], ab.addr()}}}
	cfgB.Nodes = []cluster.NodeConfig{{Name: "a", Addresses: []string{ta.Addrs()[0], ba.addr()}}, {Name: "b", Addresses: tb.Addrs()}}
	w := newWorld()
	groups := []ha.Group{groupOn("web", "a", "b")}
	ca, err := cluster.New(cfgA, key, groups, &fakeEngine{w: w, node: "a", groups: []string{"web"}}, cluster.WithTransport(ta))
	require.NoError(t, err)
	cb, err := cluster.New(cfgB, key, groups, &fakeEngine{w: w, node: "b", groups: []string{"web"}}, cluster.WithTransport(tb))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, c := range []*cluster.Cluster{ca, cb} {
		wg.Go(func() { assert.NoError(t, c.Run(ctx)) })
	}
	defer func() { cancel(); wg.Wait() }()

	eventually(t, "a holds web", func() bool { _, ok := ca.Holds("web"); return ok })
	eventually(t, "both networks heard both ways, with RTTs", func() bool {
		for _, c := range []*cluster.Cluster{ca, cb} {
			for _, nw := range c.Status().Nodes[map[*cluster.Cluster]int{ca: 1, cb: 0}[c]].Networks {
				if nw.LastHeard.IsZero() || nw.RTT <= 0 {
					return false
				}
			}
		}
		return true
	})
	assert.Equal(t, []string{"a"}, w.holders("web"))
	assert.Equal(t, cluster.NodeUp, nodeState(cb.Status(), "a"))

	// Cut network 1: network 0 keeps both up.
	ab.drop.Store(true)
	ba.drop.Store(true)
	time.Sleep(4 * base.Timeout)
	for _, c := range []*cluster.Cluster{ca, cb} {
		st := c.Status()
		peer := st.Nodes[map[*cluster.Cluster]int{ca: 1, cb: 0}[c]]
		assert.Equal(t, cluster.NodeUp, peer.State, st.Node)
		assert.Less(t, time.Since(peer.Networks[0].LastHeard), base.Timeout, "network 0 still heard")
		assert.Greater(t, time.Since(peer.Networks[1].LastHeard), 2*base.Timeout, "network 1 silent")
	}
	_, ok := ca.Holds("web")
	assert.True(t, ok)
	assert.Equal(t, []string{"a"}, w.holders("web"))

	// Replays of a captured heartbeat, and tampered copies, straight to
	// b's socket of network 1: rejected and counted.
	captured := ab.captured(t)
	inject, err := net.Dial("udp", tb.Addrs()[1])
	require.NoError(t, err)
	defer inject.Close()
	before := cb.Status().Counters
	for range 3 {
		_, err := inject.Write(captured)
		require.NoError(t, err)
	}
	for _, i := range []int{10, len(captured) / 2, len(captured) - 1} {
		tampered := bytes.Clone(captured)
		tampered[i] ^= 0x80
		_, err := inject.Write(tampered)
		require.NoError(t, err)
	}
	eventually(t, "3 replays and 3 tampered datagrams rejected", func() bool {
		r := cb.Status().Counters.Rejected
		return r.Replay == before.Rejected.Replay+3 && r.MAC == before.Rejected.MAC+3
	})
	st := cb.Status()
	assert.Equal(t, before.HeartbeatsRejected+6, st.Counters.HeartbeatsRejected)
	assert.Equal(t, cluster.NodeUp, nodeState(st, "a"))

	// Both leave: nothing stays active.
	cancel()
	wg.Wait()
	assert.Empty(t, w.holders("web"))
}

func TestUDPHostNames(t *testing.T) {
	a, err := cluster.ListenUDP([]string{"127.0.0.1:0"})
	require.NoError(t, err)
	defer a.Close()
	b, err := cluster.ListenUDP([]string{"localhost:0"})
	require.NoError(t, err)
	defer b.Close()
	_, port, _ := net.SplitHostPort(b.Addrs()[0])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range 2 { // resolved, then from the cache
		require.NoError(t, a.Send(ctx, 0, "localhost:"+port, []byte("hello")))
		d, err := b.Receive(ctx)
		require.NoError(t, err)
		assert.Equal(t, "hello", string(d.Data))
		assert.Equal(t, a.Addrs()[0], d.From)
	}
	require.Error(t, a.Send(ctx, 0, "no-port", nil))
	require.Error(t, a.Send(ctx, 1, b.Addrs()[0], nil), "no network 1")
	require.NoError(t, a.Close())
	require.ErrorIs(t, a.Send(ctx, 0, b.Addrs()[0], nil), net.ErrClosed)
	_, err = a.Receive(ctx)
	require.ErrorIs(t, err, net.ErrClosed)
	_, err = cluster.ListenUDP(nil)
	require.Error(t, err)
}

// TestUDPDefaultTransport: without WithTransport, Run listens on this
// node's addresses; one already in use is Run's error.
func TestUDPDefaultTransport(t *testing.T) {
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	cfg := twoNodes()
	cfg.Nodes[0].Addresses = []string{busy.LocalAddr().String()}
	cfg.Nodes[1].Addresses = []string{"127.0.0.1:9"}
	c, err := cluster.New(cfg, key, nil, &fakeEngine{w: newWorld()})
	require.NoError(t, err)
	err = c.Run(context.Background())
	require.ErrorContains(t, err, "listen")

	free, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.Nodes[0].Addresses = []string{free.LocalAddr().String()}
	free.Close()
	c, err = cluster.New(cfg, key, nil, &fakeEngine{w: newWorld()})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	require.NoError(t, c.Run(ctx))
	assert.Positive(t, c.Status().Counters.HeartbeatsSent)
}
