package scheduler_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clusterGate is two nodes' view of one failover group and a
// cluster-wide record of the due times claimed, as an HA cluster with a
// lease gives them.
type clusterGate struct {
	mu      sync.Mutex
	holder  string
	claimed map[string]string // "network@due" -> node
	asked   int
	fail    bool
}

type nodeGate struct {
	c    *clusterGate
	node string
}

func (g nodeGate) Admit(ctx context.Context, group, network string, due time.Time) (bool, error) {
	g.c.mu.Lock()
	defer g.c.mu.Unlock()
	g.c.asked++
	if g.c.fail {
		return false, errors.New("lease store unreachable")
	}
	if group != "web" || g.c.holder != g.node {
		return false, nil
	}
	if due.IsZero() {
		return true, nil
	}
	k := scheduler.ScheduledRunID(network, due)
	if _, taken := g.c.claimed[k]; taken {
		return false, nil
	}
	g.c.claimed[k] = g.node
	return true, nil
}

func (c *clusterGate) setHolder(n string) {
	c.mu.Lock()
	c.holder = n
	c.mu.Unlock()
}

// TestGateRunsEachDueTimeOnceAcrossAFailover: two nodes schedule the same
// network of group web, each with its own store. Only the holder runs its
// due times; when the holder is lost just before a due time, the new
// holder runs that due time once it takes over (catch-up), and the due
// times after it.
func TestGateRunsEachDueTimeOnceAcrossAFailover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := &clusterGate{holder: "a", claimed: map[string]string{}}
		ha, hb := newSchedHarness(t), newSchedHarness(t)
		run := func(h *schedHarness, node string) func() {
			s, err := newScheduler(scheduler.Config{}, h.store, scheduler.WithGate(nodeGate{gate, node}))
			require.NoError(t, err)
			e := h.entry("net", cron(t, "*/5 * * * *"), "u")
			e.Group, e.CatchUp = "web", 10*time.Minute
			require.NoError(t, s.Add(e))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			return func() { cancel(); require.NoError(t, <-done) }
		}
		stopA, stopB := run(ha, "a"), run(hb, "b")
		defer stopB()

		time.Sleep(12 * time.Minute) // 00:05 and 00:10 on a
		// a is lost at 00:14; b takes the group over at 00:16, after the
		// 00:15 due time, which nobody ran.
		time.Sleep(2 * time.Minute)
		gate.setHolder("")
		stopA()
		time.Sleep(2 * time.Minute)
		gate.setHolder("b")
		time.Sleep(6 * time.Minute) // to 00:22: 00:20 on b
		synctest.Wait()

		onA, onB := ha.history("net"), hb.history("net")
		ids := func(m map[string]scheduler.RunRecord) []string {
			var out []string
			for id := range m {
				out = append(out, id)
			}
			return out
		}
		id := func(hhmm string) string { return scheduler.ScheduledRunID("net", at(hhmm)) }
		assert.ElementsMatch(t, []string{id("00:05"), id("00:10")}, ids(onA))
		assert.ElementsMatch(t, []string{id("00:15"), id("00:20")}, ids(onB))
		assert.Equal(t, scheduler.TriggerCatchUp, onB[id("00:15")].Trigger, "the due time the lost holder left, run on takeover")
		assert.Equal(t, scheduler.TriggerSchedule, onB[id("00:20")].Trigger)
		for _, r := range onB {
			assert.Equal(t, job.Succeeded, r.Report.State)
		}
		starts := hb.startsOf(id("00:15") + "/u")
		require.Len(t, starts, 1)
		assert.WithinRange(t, starts[0], at("00:16"), at("00:16").Add(time.Second), "within a second of the takeover")
	})
}

// TestGateRefusesSubmissionsOffTheHolder: a submitted run of a network of
// a group runs only where the group is held; a Gate that cannot tell
// refuses.
func TestGateRefusesSubmissionsOffTheHolder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := &clusterGate{holder: "a", claimed: map[string]string{}}
		h := newSchedHarness(t)
		s, err := newScheduler(scheduler.Config{}, h.store, scheduler.WithGate(nodeGate{gate, "b"}))
		require.NoError(t, err)
		e := h.entry("net", nil, "u")
		e.Group = "web"
		require.NoError(t, s.Add(e))
		free := h.entry("free", nil, "u")
		require.NoError(t, s.Add(free))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		defer func() { cancel(); require.NoError(t, <-done) }()
		synctest.Wait()

		_, _, err = s.Submit(context.Background(), "net", scheduler.SubmitOptions{})
		require.ErrorIs(t, err, scheduler.ErrNotHolder)
		assert.Contains(t, err.Error(), "group web")
		_, created, err := s.Submit(context.Background(), "free", scheduler.SubmitOptions{})
		require.NoError(t, err, "a network of no group runs anywhere")
		assert.True(t, created)

		gate.setHolder("b")
		_, created, err = s.Submit(context.Background(), "net", scheduler.SubmitOptions{})
		require.NoError(t, err)
		assert.True(t, created)

		gate.mu.Lock()
		gate.fail = true
		gate.mu.Unlock()
		_, _, err = s.Submit(context.Background(), "net", scheduler.SubmitOptions{})
		assert.ErrorIs(t, err, scheduler.ErrNotHolder)
	})
}

func TestErrNotHolderIsAStateError(t *testing.T) {
	assert.ErrorIs(t, scheduler.ErrNotHolder, job.ErrState)
}
