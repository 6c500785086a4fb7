package cluster_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/cluster"
)

func synctestWait() { synctest.Wait() }

func groupOn(name string, nodes ...string) ha.Group { return ha.Group{Name: name, Nodes: nodes} }

func TestStartHighestPriorityHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []string{"a", "b"}, []ha.Group{groupOn("web", "a", "b"), groupOn("db", "b", "a")}, hopts{witness: true})
		began := time.Now()
		h.startAll()
		h.wait(interval)

		assert.Equal(t, []string{"a"}, h.w.holders("web"))
		assert.Equal(t, []string{"b"}, h.w.holders("db"))
		e, ok := h.nodes["a"].c.Holds("web")
		assert.True(t, ok)
		assert.Equal(t, h.w.epochOn("web", "a"), e)
		_, ok = h.nodes["b"].c.Holds("web")
		assert.False(t, ok)
		// A fresh cluster's first epoch comes from the clock (synctest's
		// starts at 2000-01-01).
		assert.Equal(t, ha.Epoch(began.Unix())<<16, e)

		for _, name := range []string{"a", "b"} {
			st := h.status(name)
			assert.True(t, st.Running)
			assert.Equal(t, cluster.NodeUp, nodeState(st, "a"))
			assert.Equal(t, cluster.NodeUp, nodeState(st, "b"))
			web := groupStatus(st, "web")
			assert.Equal(t, "a", web.Holder)
			assert.Equal(t, ha.Online, web.State, name)
			assert.Equal(t, e, web.Epoch)
		}
		st := h.status("a")
		peer := st.Nodes[1]
		require.Len(t, peer.Networks, 2)
		for _, nw := range peer.Networks {
			assert.False(t, nw.LastHeard.IsZero(), "heard on every network")
		}
		assert.Positive(t, st.Counters.HeartbeatsSent)
		assert.Positive(t, st.Counters.HeartbeatsReceived)
		assert.Zero(t, st.Counters.HeartbeatsRejected)
		assert.Contains(t, h.nodes["b"].eventKinds(), ha.EventNodeUp)
		assert.True(t, h.nodes["b"].hasEvent(ha.EventHolderChanged, "a"))
		assert.Zero(t, h.nodes["a"].probes.Load(), "nobody was silent: the witness was not asked")
		h.requireNoOverlap()
	})
}

func TestLoneNodeWaitsTimeoutThenStarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []string{"a", "b"}, []ha.Group{groupOn("web", "b", "a")}, hopts{witness: true})
		h.start("a")
		h.wait(timeout - interval)
		assert.Empty(t, h.w.holders("web"), "b, not heard yet, may hold it: wait")
		assert.Equal(t, cluster.NodeUnknown, nodeState(h.status("a"), "b"))
		h.wait(2 * interval)
		assert.Equal(t, []string{"a"}, h.w.holders("web"))
		assert.Equal(t, cluster.NodeDown, nodeState(h.status("a"), "b"))
		assert.EqualValues(t, 1, h.nodes["a"].probes.Load())

		// b starts: the group stays on a (no failback).
		h.start("b")
		h.wait(2 * interval)
		assert.Equal(t, []string{"a"}, h.w.holders("web"))
		h.requireNoOverlap()
	})
}

func TestCleanLeaveHandsOverAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []string{"a", "b"}, []ha.Group{groupOn("web", "a", "b")}, hopts{witness: true})
		h.startAll()
		h.wait(interval)
		first := h.w.epochOn("web", "a")

		require.NoError(t, h.stop("a"))
		assert.Equal(t, 1, h.w.countCalls("a", "offline_all", ""))
		h.wait(100 * time.Millisecond)
		assert.Equal(t, []string{"b"}, h.w.holders("web"), "b took over without waiting for the timeout")
		assert.Equal(t, first+1, h.w.epochOn("web", "b"))
		assert.Equal(t, cluster.NodeDown, nodeState(h.status("b"), "a"))
		assert.Zero(t, h.nodes["b"].probes.Load(), "a said it left: no witness needed")
		assert.False(t, h.status("a").Running)
		h.requireNoOverlap()
		h.requireEpochsIncrease("web")
	})
}

func TestHolderCrashFailsOverAfterTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []string{"a", "b"}, []ha.Group{groupOn("web", "a", "b")}, hopts{witness: true})
		h.startAll()
		h.wait(interval)
		first := h.w.epochOn("web", "a")
		crashed := time.Now()
		h.crash("a")

		h.wait(timeout - interval)
		assert.Empty(t, h.w.holders("web"), "before the timeout nobody takes over")
		h.wait(2 * interval)
		assert.Equal(t, []string{"b"}, h.w.holders("web"))
		assert.Equal(t, first+1, h.w.epochOn("web", "b"))
		assert.EqualValues(t, 1, h.nodes["b"].probes.Load())
		assert.True(t, h.nodes["b"].hasEvent(ha.EventNodeDown, "a"))
		assert.LessOrEqual(t, time.Since(crashed), timeout+2*interval)

		// a comes back as a new process: no failback.
		h.start("a")
		h.wait(2 * interval)
		assert.Equal(t, []string{"b"}, h.w.holders("web"))
		h.requireNoOverlap()
		h.requireEpochsIncrease("web")
	})
}

func TestAutoFailback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := groupOn("web", "a", "b")
		g.AutoFailback = true
		h := newHarness(t, []string{"a", "b"}, []ha.Group{g}, hopts{witness: true})
		h.startAll()
		h.wait(interval)
		h.crash("a")
		h.wait(timeout + 2*interval)
		require.Equal(t, []string{"b"}, h.w.holders("web"))
		onB := h.w.epochOn("web", "b")

		h.start("a")
		h.wait(2 * interval)
		assert.Equal(t, []string{"a"}, h.w.holders("web"), "the group went back to a")
		assert.Equal(t, onB+1, h.w.epochOn("web", "a"))
		h.requireNoOverlap()
		h.requireEpochsIncrease("web")
	})
}

func TestActivationFailureFailsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []string{"a", "b"}, []ha.Group{groupOn("web", "a", "b")}, hopts{witness: true})
		h.nodes["a"].eng.setFailOnline("web", errors.New("port in use"))
		h.startAll()
		h.wait(interval)

		assert.Equal(t, []string{"b"}, h.w.holders("web"))
		st := h.status("b")
		assert.Equal(t, []string{"a"}, groupStatus(st, "web").FailedOn)
		assert.True(t, h.nodes["a"].hasEvent(ha.EventFailover, "a"))
		assert.Equal(t, "port in use", groupStatus(h.status("a"), "web").LocalError)
		assert.EqualValues(t, 1, h.status("a").Counters.Failovers)

		// It failed on b too: nobody is left.
		h.nodes["b"].eng.setFailOnline("web", errors.New("disk full"))
		err := h.nodes["b"].c.Failover(context.Background(), "web", errors.New("monitor"))
		require.ErrorIs(t, err, ha.ErrNoFailover, "a already failed")
		h.requireEpochsIncrease("web")
		h.requireNoOverlap()
	})
}

func TestFailoverFromTheEngine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []string{"a", "b", "c"}, []ha.Group{groupOn("web", "a", "b", "c")}, hopts{witness: true})
		h.startAll()
		h.wait(interval)
		require.Equal(t, []string{"a"}, h.w.holders("web"))

		require.NoError(t, h.nodes["a"].c.Failover(context.Background(), "web", errors.New("monitor gave up")))
		h.wait(interval)
		assert.Equal(t, []string{"b"}, h.w.holders("web"))
		assert.Equal(t, []string{"a"}, groupStatus(h.status("c"), "web").FailedOn)

		require.NoError(t, h.nodes["b"].c.Failover(context.Background(), "web", errors.New("monitor gave up")))
		h.wait(interval)
		assert.Equal(t, []string{"c"}, h.w.holders("web"))
		assert.Equal(t, []string{"a", "b"}, groupStatus(h.status("a"), "web").FailedOn)

		err := h.nodes["c"].c.Failover(context.Background(), "web", errors.New("monitor gave up"))
		require.ErrorIs(t, err, ha.ErrNoFailover)
		assert.Equal(t, []string{"c"}, h.w.holders("web"), "no failover: it stays where it is")

		err = h.nodes["a"].c.Failover(context.Background(), "web", errors.New("stale"))
		require.Error(t, err, "a does not hold it")
		require.NotErrorIs(t, err, ha.ErrNoFailover)
		require.ErrorIs(t, h.nodes["a"].c.Failover(context.Background(), "nope", nil), ha.ErrUnknownGroup)

		// An operator's move clears the failure on its target.
		require.NoError(t, h.nodes["c"].c.Move(context.Background(), "web", "a"))
		assert.Equal(t, []string{"a"}, h.w.holders("web"))
		assert.Equal(t, []string{"b"}, groupStatus(h.status("c"), "web").FailedOn)
		h.requireNoOverlap()
		h.requireEpochsIncrease("web")
	})
}

func TestMove(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, []string{"a", "b", "c"}, []ha.Group{groupOn("web", "a", "b"), groupOn("db", "c", "a")}, hopts{witness: true})
		h.startAll()
		h.wait(interval)
		first := h.w.epochOn("web", "a")
		ctx := context.Background()

		// Asked on a third node: a deactivates, then b activates.
		require.NoError(t, h.nodes["c"].c.Move(ctx, "web", "b"))
		assert.Equal(t, []string{"b"}, h.w.holders("web"))
		assert.Equal(t, first+1, h.w.epochOn("web", "b"))
		e, ok := h.nodes["b"].c.Holds("web")
		assert.True(t, ok)
		assert.Equal(t, first+1, e)

		// Asked on the target, back.
		require.NoError(t, h.nodes["a"].c.Move(ctx, "web", "a"))
		assert.Equal(t, []string{"a"}, h.w.holders("web"))
		assert.Equal(t, first+2, h.w.epochOn("web", "a"))

		// To the holder: nothing to do.
		require.NoError(t, h.nodes["b"].c.Move(ctx, "web", "a"))
		assert.Equal(t, first+2, h.w.epochOn("web", "a"))

		require.ErrorIs(t, h.nodes["a"].c.Move(ctx, "nope", "a"), ha.ErrUnknownGroup)
		require.ErrorIs(t, h.nodes["a"].c.Move(ctx, "web", "c"), ha.ErrNotStartable)

		// The target cannot activate it: reported, and it goes back by
		// priority.
		h.nodes["b"].eng.setFailOnline("web", errors.New("port in use"))
		err := h.nodes["a"].c.Move(ctx, "web", "b")
		require.ErrorIs(t, err, cluster.ErrMoveFailed)
		assert.Contains(t, err.Error(), "b could not activate it")
		h.wait(interval)
		assert.Equal(t, []string{"a"}, h.w.holders("web"))
		assert.Equal(t, first+4, h.w.epochOn("web", "a"), "a failed b at +3, a again at +4")
		h.nodes["b"].eng.setFailOnline("web", nil)

		// The holder cannot deactivate it: reported, and it stays.
		h.nodes["a"].eng.setFailOffline("web", errors.New("device busy"))
		err = h.nodes["a"].c.Move(ctx, "web", "b")
		require.ErrorIs(t, err, cluster.ErrMoveFailed)
		assert.Contains(t, err.Error(), "a could not deactivate it")
		assert.Equal(t, []string{"a"}, h.w.holders("web"), "it is still (partly) active on a: nobody else starts it")
		assert.Equal(t, ha.Failed, groupStatus(h.status("a"), "web").Local)
		_, ok = h.nodes["a"].c.Holds("web")
		assert.False(t, ok)
		h.nodes["a"].eng.setFailOffline("web", nil)
		// After Timeout the holder brings it back online, same epoch.
		h.wait(timeout + interval)
		assert.Equal(t, ha.Online, groupStatus(h.status("a"), "web").Local)
		e, ok = h.nodes["a"].c.Holds("web")
		assert.True(t, ok)
		assert.Equal(t, first+4, e)
		require.NoError(t, h.nodes["b"].c.Move(ctx, "web", "a"))

		// A timeout: c takes a minute to activate.
		require.NoError(t, h.nodes["a"].c.Move(ctx, "db", "a"))
		h.nodes["c"].eng.setOnlineTakes(time.Minute)
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = h.nodes["a"].c.Move(tctx, "db", "c")
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, ha.Starting, groupStatus(h.status("c"), "db").Local, "the move goes on")

		// To a node that is down.
		h.crash("b")
		h.wait(timeout + 2*interval)
		require.ErrorIs(t, h.nodes["a"].c.Move(ctx, "web", "b"), cluster.ErrNodeDown)
		h.requireNoOverlap()
		h.requireEpochsIncrease("web")
	})
}
