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

// TestPartitionWitnessFromOneSide: the holder is cut from its peer and
// from the witness; the peer still reaches the witness. The holder fences
// itself, the peer takes over; after the heal the holder follows.
func TestPartitionWitnessFromOneSide(t *testing.T) {
	for _, lease := range []bool{false, true} {
		t.Run(map[bool]string{false: "no lease", true: "lease"}[lease], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := hopts{witness: true}
				if lease {
					o.lease = newLeaseStore()
				}
				h := newHarness(t, []string{"a", "b"}, []ha.Group{groupOn("web", "a", "b")}, o)
				h.startAll()
				h.wait(interval)
				first := h.w.epochOn("web", "a")
				require.NotZero(t, first)

				h.nodes["a"].witness.Store(false)
				h.cut([]string{"a"}, []string{"b"})
				h.wait(timeout + 2*interval)
				assert.Equal(t, []string{"b"}, h.w.holders("web"))
				assert.Greater(t, h.w.epochOn("web", "b"), first)
				assert.Equal(t, 1, h.w.countCalls("a", "offline_all", ""), "a fenced itself")
				assert.True(t, h.nodes["a"].hasEvent(ha.EventIsolated, "a"))
				st := h.status("a")
				assert.Equal(t, cluster.NodeIsolated, nodeState(st, "a"))
				assert.Equal(t, cluster.NodeUnknown, nodeState(st, "b"))
				assert.EqualValues(t, 1, st.Counters.Isolations)
				_, ok := h.nodes["a"].c.Holds("web")
				assert.False(t, ok)
				require.ErrorIs(t, h.nodes["a"].c.Move(context.Background(), "web", "a"), cluster.ErrIsolated)
				assert.Equal(t, cluster.NodeDown, nodeState(h.status("b"), "a"))

				// Isolated, a takes nothing, however long it lasts.
				h.wait(10 * timeout)
				assert.Equal(t, []string{"b"}, h.w.holders("web"))

				h.net.Heal()
				h.nodes["a"].witness.Store(true)
				h.wait(2 * interval)
				st = h.status("a")
				assert.Equal(t, cluster.NodeUp, nodeState(st, "a"))
				assert.Equal(t, cluster.NodeUp, nodeState(st, "b"))
				assert.Equal(t, "b", groupStatus(st, "web").Holder)
				assert.Equal(t, []string{"b"}, h.w.holders("web"), "no failback")
				if lease {
					h.requireNoOverlap()
				}
				h.requireEpochsIncrease("web")
			})
		})
	}
}

// TestPartitionWitnessFromNeither: both nodes are cut from each other and
// from the witness: both fence themselves (nobody holds the group, as
// with CLUSTERPRO), and after the heal the first node takes it again.
func TestPartitionWitnessFromNeither(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []string{"a", "b"}, []ha.Group{groupOn("web", "a", "b"), groupOn("db", "b", "a")}, hopts{witness: true})
		h.startAll()
		h.wait(interval)
		h.nodes["a"].witness.Store(false)
		h.nodes["b"].witness.Store(false)
		h.cut([]string{"a"}, []string{"b"})
		h.wait(timeout + 2*interval)
		assert.Empty(t, h.w.holders("web"))
		assert.Empty(t, h.w.holders("db"))
		for _, n := range []string{"a", "b"} {
			assert.Equal(t, cluster.NodeIsolated, nodeState(h.status(n), n))
			assert.Equal(t, 1, h.w.countCalls(n, "offline_all", ""))
		}

		h.net.Heal()
		h.wait(2 * interval)
		assert.Equal(t, []string{"a"}, h.w.holders("web"))
		assert.Equal(t, []string{"b"}, h.w.holders("db"))
		h.requireNoOverlap()
		h.requireEpochsIncrease("web")
		h.requireEpochsIncrease("db")
	})
}

// TestPartitionWitnessFromBothNoLease is the split brain a witness
// cannot prevent: both sides reach it, so each takes the other for down
// and both hold the group. After the heal the newer claim wins and the
// other side deactivates.
func TestPartitionWitnessFromBothNoLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []string{"a", "b"}, []ha.Group{groupOn("web", "a", "b")}, hopts{witness: true})
		h.startAll()
		h.wait(interval)
		first := h.w.epochOn("web", "a")
		h.cut([]string{"a"}, []string{"b"})
		h.wait(timeout + 2*interval)
		assert.Equal(t, []string{"a", "b"}, h.w.holders("web"), "split brain: expected without a lease")
		h.w.mu.Lock()
		assert.NotEmpty(t, h.w.overlaps)
		h.w.mu.Unlock()
		assert.Equal(t, first+1, h.w.epochOn("web", "b"))
		_, aHolds := h.nodes["a"].c.Holds("web")
		_, bHolds := h.nodes["b"].c.Holds("web")
		assert.True(t, aHolds && bHolds, "each side believes it holds the group")

		h.net.Heal()
		h.wait(2 * interval)
		assert.Equal(t, []string{"b"}, h.w.holders("web"), "the newer epoch wins")
		assert.Equal(t, "b", groupStatus(h.status("a"), "web").Holder)
		_, aHolds = h.nodes["a"].c.Holds("web")
		assert.False(t, aHolds)
		h.requireEpochsIncrease("web")
	})
}

// TestPartitionWitnessFromBothLease: with a lease the same partition is
// harmless: the side that does not hold the lease never activates.
func TestPartitionWitnessFromBothLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newLeaseStore()
		h := newHarness(t, []string{"a", "b"}, []ha.Group{groupOn("web", "a", "b")}, hopts{witness: true, lease: store})
		h.startAll()
		h.wait(interval)
		require.Equal(t, []string{"a"}, h.w.holders("web"))
		first := h.w.epochOn("web", "a")
		assert.Equal(t, store.grants[0].Epoch, first, "the epoch is the grant's")

		h.cut([]string{"a"}, []string{"b"})
		h.wait(10 * timeout)
		assert.Equal(t, cluster.NodeDown, nodeState(h.status("b"), "a"))
		assert.Equal(t, []string{"a"}, h.w.holders("web"), "b never activates: a holds the lease")
		assert.Zero(t, h.w.countCalls("b", "online", "web"))
		assert.Positive(t, h.nodes["a"].lease.renewals.Load())
		e, ok := h.nodes["a"].c.Holds("web")
		assert.True(t, ok)
		assert.Equal(t, first, e)

		h.net.Heal()
		h.wait(2 * interval)
		assert.Equal(t, []string{"a"}, h.w.holders("web"))
		h.requireNoOverlap()
	})
}

// TestFreezeAndHeal models a holder frozen (SIGSTOP) and resumed: nothing
// it sends arrives and its lease store does not answer its renewals, but
// its own clock and timers go on, as they would on resume. It must stop
// the group before its hold can expire, so the other node, which takes
// over once the hold expired, never overlaps it; after the heal it
// follows the new holder.
func TestFreezeAndHeal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newLeaseStore()
		h := newHarness(t, []string{"a", "b"}, []ha.Group{groupOn("web", "a", "b")}, hopts{witness: true, lease: store})
		h.startAll()
		h.wait(interval)
		first := h.w.epochOn("web", "a")

		frozen := time.Now()
		h.nodes["a"].lease.hang.Store(true)
		h.cut([]string{"a"}, []string{"b"})
		// The hold was last renewed at most TTL/3 ago; a stops a tenth of
		// the TTL before it could end.
		h.wait(timeout - timeout/10)
		_, ok := h.nodes["a"].c.Holds("web")
		assert.False(t, ok, "a stale grant is not acted under")
		assert.Empty(t, h.w.holders("web"))
		assert.True(t, h.nodes["a"].hasEvent(ha.EventLeaseLost, "a"))
		assert.EqualValues(t, 1, h.status("a").Counters.LeasesLost)

		h.wait(2 * timeout)
		assert.Equal(t, []string{"b"}, h.w.holders("web"), "b took over once the hold expired")
		assert.Greater(t, h.w.epochOn("web", "b"), first)
		assert.Less(t, time.Since(frozen), 3*timeout)

		h.nodes["a"].lease.hang.Store(false)
		h.net.Heal()
		h.wait(2 * interval)
		assert.Equal(t, []string{"b"}, h.w.holders("web"))
		assert.Equal(t, "b", groupStatus(h.status("a"), "web").Holder)
		h.requireNoOverlap()
		h.requireEpochsIncrease("web")
	})
}

// TestLeaseRenewalFails: the holder loses the lease store: it takes the
// group offline at once and, since it cannot get the lease, steps aside
// for the other node, which takes over once the old hold expired.
func TestLeaseRenewalFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newLeaseStore()
		h := newHarness(t, []string{"a", "b"}, []ha.Group{groupOn("web", "a", "b")}, hopts{witness: true, lease: store})
		h.startAll()
		h.wait(interval)
		first := h.w.epochOn("web", "a")

		cut := time.Now()
		h.nodes["a"].lease.reachable.Store(false)
		h.wait(timeout/3 + 10*time.Millisecond)
		assert.Empty(t, h.w.holders("web"), "offline at the first failed renewal")
		assert.True(t, h.nodes["a"].hasEvent(ha.EventLeaseLost, "a"))
		assert.LessOrEqual(t, time.Since(cut), timeout/3+10*time.Millisecond)

		h.wait(timeout + interval)
		assert.Equal(t, []string{"b"}, h.w.holders("web"))
		assert.Greater(t, h.w.epochOn("web", "b"), first)

		// a reaches the store again: the group stays on b.
		h.nodes["a"].lease.reachable.Store(true)
		h.wait(2 * timeout)
		assert.Equal(t, []string{"b"}, h.w.holders("web"))
		h.requireNoOverlap()
		h.requireEpochsIncrease("web")
	})
}

// TestLeaseHeldElsewhere: a key held by someone outside the cluster (or
// a node of an old configuration) is followed: nobody activates until
// the hold ends.
func TestLeaseHeldElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newLeaseStore()
		squatter := &nodeLease{s: store}
		squatter.reachable.Store(true)
		g, err := squatter.Acquire(context.Background(), "test/web", "old-node", 10*time.Second)
		require.NoError(t, err)
		h := newHarness(t, []string{"a", "b"}, []ha.Group{groupOn("web", "a", "b")}, hopts{witness: true, lease: store})
		h.startAll()
		h.wait(9 * time.Second)
		assert.Empty(t, h.w.holders("web"))
		assert.Zero(t, h.w.countCalls("a", "online", "web"))
		h.wait(2 * interval)
		assert.Equal(t, []string{"a"}, h.w.holders("web"))
		assert.Greater(t, h.w.epochOn("web", "a"), g.Epoch)
		h.requireNoOverlap()
	})
}

// TestThreeNodesOneCutOff: in a three-node cluster the two nodes that
// still hear each other take the cut-off node for down without asking
// the witness; the cut-off node, which hears nobody and cannot reach the
// witness, fences itself. Without a lease its fence and their takeover
// happen at the same moment and may overlap; with one they cannot.
func TestThreeNodesOneCutOff(t *testing.T) {
	for _, lease := range []bool{false, true} {
		t.Run(map[bool]string{false: "no lease", true: "lease"}[lease], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { threeNodesOneCutOff(t, lease) })
		})
	}
}

func threeNodesOneCutOff(t *testing.T, lease bool) {
	o := hopts{witness: true}
	if lease {
		o.lease = newLeaseStore()
	}
	h := newHarness(t, []string{"a", "b", "c"}, []ha.Group{groupOn("web", "c", "a", "b"), groupOn("db", "a", "b", "c")}, o)
	h.startAll()
	h.wait(interval)
	require.Equal(t, []string{"c"}, h.w.holders("web"))
	first := h.w.epochOn("web", "c")

	h.nodes["c"].witness.Store(false)
	h.cut([]string{"c"}, []string{"a", "b"})
	h.wait(timeout + 2*interval)
	assert.Equal(t, []string{"a"}, h.w.holders("web"))
	assert.Greater(t, h.w.epochOn("web", "a"), first)
	assert.Equal(t, []string{"a"}, h.w.holders("db"))
	assert.Zero(t, h.nodes["a"].probes.Load())
	assert.Zero(t, h.nodes["b"].probes.Load())
	assert.Equal(t, cluster.NodeIsolated, nodeState(h.status("c"), "c"))

	// One network between a and b fails: they still hear each other.
	h.net.Partition([]string{"a-net0:5405"}, []string{"b-net0:5405"})
	h.wait(2 * timeout)
	assert.Equal(t, cluster.NodeUp, nodeState(h.status("a"), "b"))
	assert.Equal(t, []string{"a"}, h.w.holders("web"))
	if lease {
		h.requireNoOverlap()
	}
	h.requireEpochsIncrease("web")
}
