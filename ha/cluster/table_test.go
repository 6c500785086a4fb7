package cluster_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/cluster"
)

// TestDecisionTable checks the decision table of the package
// documentation, row by row. In every row node "n" observes; group "p1"
// is held by peer "p" at first (its nodes: p, n), group "n1" by n (its
// nodes: n, p).
func TestDecisionTable(t *testing.T) {
	groups := []ha.Group{groupOn("p1", "p", "n"), groupOn("n1", "n", "p")}
	start := func(t *testing.T, o hopts, names ...string) *harness {
		if len(names) == 0 {
			names = []string{"n", "p"}
		}
		gs := groups
		if len(names) == 3 {
			gs = []ha.Group{groupOn("p1", "p", "n", "q"), groupOn("n1", "n", "p", "q")}
		}
		h := newHarness(t, names, gs, o)
		h.startAll()
		h.wait(interval)
		require.Equal(t, []string{"p"}, h.w.holders("p1"))
		require.Equal(t, []string{"n"}, h.w.holders("n1"))
		return h
	}
	rows := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"1 peer heard on one network: up", func(t *testing.T) {
			h := start(t, hopts{witness: true})
			h.net.Partition([]string{"n-net0:5405"}, []string{"p-net0:5405"})
			h.wait(3 * timeout)
			st := h.status("n")
			assert.Equal(t, cluster.NodeUp, nodeState(st, "p"))
			assert.True(t, st.Nodes[1].Networks[1].LastHeard.After(time.Now().Add(-timeout)))
			assert.Zero(t, h.nodes["n"].probes.Load(), "the witness is not asked")
			assert.Equal(t, []string{"p"}, h.w.holders("p1"))
		}},
		{"2 peer silent, another peer heard: down, take over by priority", func(t *testing.T) {
			h := start(t, hopts{witness: true}, "n", "p", "q")
			h.nodes["p"].witness.Store(false)
			h.cut([]string{"p"}, []string{"n", "q"})
			h.wait(timeout + 2*interval)
			assert.Equal(t, cluster.NodeDown, nodeState(h.status("n"), "p"))
			assert.Zero(t, h.nodes["n"].probes.Load(), "the witness is not asked")
			assert.Equal(t, []string{"n"}, h.w.holders("p1"))
		}},
		{"3 peer silent, witness reachable: down, take over by priority", func(t *testing.T) {
			h := start(t, hopts{witness: true})
			h.crash("p")
			h.wait(timeout + 2*interval)
			assert.Equal(t, cluster.NodeDown, nodeState(h.status("n"), "p"))
			assert.EqualValues(t, 1, h.nodes["n"].probes.Load())
			assert.True(t, h.nodes["n"].hasEvent(ha.EventNodeDown, "p"))
			assert.Equal(t, []string{"n"}, h.w.holders("p1"))
			assert.Equal(t, []string{"n"}, h.w.holders("n1"))
		}},
		{"4 peer silent, witness unreachable: isolated, fence, take nothing", func(t *testing.T) {
			h := start(t, hopts{witness: true})
			h.nodes["n"].witness.Store(false)
			h.crash("p")
			h.wait(timeout + 2*interval)
			st := h.status("n")
			assert.Equal(t, cluster.NodeIsolated, nodeState(st, "n"))
			assert.True(t, h.nodes["n"].hasEvent(ha.EventIsolated, "n"))
			assert.Equal(t, 1, h.w.countCalls("n", "offline_all", ""))
			assert.Empty(t, h.w.holders("n1"), "its own group deactivated")
			h.wait(10 * timeout)
			assert.Empty(t, h.w.holders("p1"), "nothing taken over")
			assert.Empty(t, h.w.holders("n1"))
		}},
		{"5 peer silent, no witness: down, take over (split brain prone)", func(t *testing.T) {
			h := start(t, hopts{})
			h.cut([]string{"p"}, []string{"n"})
			h.wait(timeout + 2*interval)
			assert.Equal(t, cluster.NodeDown, nodeState(h.status("n"), "p"))
			assert.Equal(t, []string{"n", "p"}, h.w.holders("p1"), "both hold it")
		}},
		{"6 peer left: down at once, take over", func(t *testing.T) {
			h := start(t, hopts{witness: true})
			require.NoError(t, h.stop("p"))
			h.wait(100 * time.Millisecond)
			assert.Equal(t, cluster.NodeDown, nodeState(h.status("n"), "p"))
			assert.Zero(t, h.nodes["n"].probes.Load())
			assert.Equal(t, []string{"n"}, h.w.holders("p1"))
		}},
		{"7 lease held by another: never activate, follow it", func(t *testing.T) {
			store := newLeaseStore()
			h := start(t, hopts{witness: true, lease: store})
			h.cut([]string{"p"}, []string{"n"})
			h.wait(5 * timeout)
			assert.Equal(t, cluster.NodeDown, nodeState(h.status("n"), "p"))
			assert.Equal(t, []string{"p"}, h.w.holders("p1"), "p renews its hold: n never activates")
			assert.Zero(t, h.w.countCalls("n", "online", "p1"))
			h.net.Heal()
			h.wait(2 * interval)
			assert.Equal(t, "p", groupStatus(h.status("n"), "p1").Holder)
			h.requireNoOverlap()
		}},
		{"8 lease renewal fails: offline at once", func(t *testing.T) {
			store := newLeaseStore()
			h := start(t, hopts{witness: true, lease: store})
			h.nodes["p"].lease.reachable.Store(false)
			h.wait(timeout/3 + 10*time.Millisecond)
			assert.Empty(t, h.w.holders("p1"))
			assert.True(t, h.nodes["p"].hasEvent(ha.EventLeaseLost, "p"))
			_, ok := h.nodes["p"].c.Holds("p1")
			assert.False(t, ok)
			h.wait(timeout + interval)
			assert.Equal(t, []string{"n"}, h.w.holders("p1"), "n takes over once the hold expired")
			h.requireNoOverlap()
		}},
		{"9 isolated node hears a peer again: follow", func(t *testing.T) {
			h := start(t, hopts{witness: true})
			h.nodes["n"].witness.Store(false)
			h.cut([]string{"p"}, []string{"n"})
			h.wait(timeout + 2*interval)
			require.Equal(t, cluster.NodeIsolated, nodeState(h.status("n"), "n"))
			require.Equal(t, []string{"p"}, h.w.holders("n1"), "p took n's group")
			h.net.Heal()
			h.wait(interval)
			st := h.status("n")
			assert.Equal(t, cluster.NodeUp, nodeState(st, "n"))
			assert.Equal(t, cluster.NodeUp, nodeState(st, "p"))
			assert.Equal(t, "p", groupStatus(st, "n1").Holder)
			assert.Equal(t, []string{"p"}, h.w.holders("n1"))
			require.NoError(t, h.nodes["n"].c.Move(context.Background(), "n1", "n"))
			assert.Equal(t, []string{"n"}, h.w.holders("n1"))
		}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) { synctest.Test(t, r.run) })
	}
}
