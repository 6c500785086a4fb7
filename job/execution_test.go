package job_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/jobtest"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func unitState(t *testing.T, rep job.NetworkReport, name string) job.UnitReport {
	t.Helper()
	u, ok := rep.Unit(name)
	require.True(t, ok, "unit %s in report", name)
	return u
}

func TestExecutionHoldReleaseSkip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, c, d := &jobtest.Sleeper{D: time.Minute}, &jobtest.Sleeper{D: time.Minute}, &jobtest.Sleeper{D: time.Minute}, &jobtest.Sleeper{D: time.Minute}
		n := &job.Network{Name: "ops", Units: []job.Unit{
			{Name: "a", Action: a},
			{Name: "b", Action: b, Needs: []string{"a"}},
			{Name: "c", Action: c, Needs: []string{"a"}},
			{Name: "d", Action: d, Needs: []string{"b", "c"}},
		}}
		var mu sync.Mutex
		var seen []string
		e, err := n.Start(context.Background(), job.StartOptions{Hold: []string{"b"}, Observer: func(u job.UnitReport) {
			mu.Lock()
			seen = append(seen, u.Name+":"+string(u.State))
			mu.Unlock()
		}})
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, job.Held, unitState(t, e.Report(), "b").State)
		require.NoError(t, e.Hold("c"), "a pending unit can be held")
		require.NoError(t, e.Hold("c"), "holding a held unit does nothing")
		assert.ErrorIs(t, e.Hold("a"), job.ErrState, "a running unit cannot be held")
		assert.ErrorIs(t, e.Release("d"), job.ErrState, "d is pending, not held")
		assert.ErrorIs(t, e.Skip("a"), job.ErrState)
		assert.ErrorIs(t, e.Hold("nope"), job.ErrNotFound)

		time.Sleep(2 * time.Minute) // a ended; b and c stay held
		synctest.Wait()
		rep := e.Report()
		assert.Equal(t, job.Succeeded, unitState(t, rep, "a").State)
		assert.Equal(t, job.Held, unitState(t, rep, "b").State)
		assert.Equal(t, job.Held, unitState(t, rep, "c").State)
		assert.Equal(t, job.Pending, unitState(t, rep, "d").State)
		assert.Zero(t, b.Calls.Load())

		require.NoError(t, e.Release("b"))
		require.NoError(t, e.Skip("c"))
		synctest.Wait()
		assert.Equal(t, job.Running, unitState(t, e.Report(), "b").State)
		cr := unitState(t, e.Report(), "c")
		assert.Equal(t, job.Succeeded, cr.State)
		assert.Equal(t, "skipped by an operator", cr.Message)
		assert.Zero(t, cr.Attempts)

		rep = e.Wait()
		assert.Equal(t, job.Succeeded, rep.State, "a skipped unit counts as succeeded")
		assert.Equal(t, int32(1), d.Calls.Load(), "d ran after b and the skipped c")
		assert.Zero(t, c.Calls.Load())
		assert.ErrorIs(t, e.Release("b"), job.ErrState, "controls after the end")
		assert.Contains(t, seen, "c:held", "a hold is reported")
		assert.Contains(t, seen, "b:pending")
	})
}

func TestExecutionForceStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		long := &jobtest.Sleeper{D: time.Hour}
		alert := &jobtest.Sleeper{}
		n := &job.Network{Name: "ops", Units: []job.Unit{
			{Name: "long", Action: long},
			{Name: "alert", Action: alert, Needs: []string{"long"}, When: job.When{On: job.WhenFailure}},
		}}
		e, err := n.Start(context.Background(), job.StartOptions{})
		require.NoError(t, err)
		time.Sleep(time.Second)
		assert.ErrorIs(t, e.Stop("alert"), job.ErrState, "only a running unit can be stopped")
		start := time.Now()
		require.NoError(t, e.Stop("long"))
		rep := e.Wait()
		assert.Less(t, time.Since(start), time.Second)
		lr := unitState(t, rep, "long")
		assert.Equal(t, job.StateFailed, lr.State)
		assert.Equal(t, "force-stopped by an operator", lr.Message)
		assert.Equal(t, "working\n", lr.Output)
		assert.Equal(t, job.Succeeded, unitState(t, rep, "alert").State, "the failure branch ran")
		assert.Equal(t, job.StateFailed, rep.State)
	})
}

func TestExecutionGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := scheduler.NewQueue("batch", 1)
		mk := func(name string) (*job.Network, *jobtest.Sleeper) {
			s := &jobtest.Sleeper{D: time.Minute}
			return &job.Network{Name: name, Units: []job.Unit{{Name: "u", Action: s}, {Name: "v", Action: s}}}, s
		}
		n1, s1 := mk("one")
		n2, s2 := mk("two")
		q.Stop()
		e1, err := n1.Start(context.Background(), job.StartOptions{Gate: q})
		require.NoError(t, err)
		e2, err := n2.Start(context.Background(), job.StartOptions{Gate: q})
		require.NoError(t, err)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		assert.Zero(t, s1.Calls.Load()+s2.Calls.Load(), "a stopped queue starts nothing")
		assert.Equal(t, job.Pending, unitState(t, e1.Report(), "u").State)

		start := time.Now()
		q.Start()
		r1, r2 := e1.Wait(), e2.Wait()
		assert.Equal(t, job.Succeeded, r1.State)
		assert.Equal(t, job.Succeeded, r2.State)
		assert.Equal(t, 4*time.Minute, time.Since(start), "one unit at a time across both networks")
		assert.Equal(t, scheduler.QueueStatus{Name: "batch", Concurrency: 1}, q.Status())
	})
}

func TestExecutionDetachAndResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		work := jobtest.NewWork()
		first := &jobtest.Sleeper{D: time.Minute}
		long := &jobtest.Adopter{Work: work, Key: "long", D: 10 * time.Minute}
		execu := &jobtest.Sleeper{D: 10 * time.Minute} // an exec: cannot be adopted
		last := &jobtest.Sleeper{}
		mk := func() *job.Network {
			return &job.Network{Name: "nightly", Units: []job.Unit{
				{Name: "first", Action: first},
				{Name: "long", Action: long, Needs: []string{"first"}},
				{Name: "exec", Action: execu, Needs: []string{"first"}},
				{Name: "last", Action: last, Needs: []string{"long"}},
			}}
		}
		var finals []string
		obs := func(u job.UnitReport) {
			if u.State.Finished() {
				finals = append(finals, u.Name)
			}
		}
		ctx, detach := context.WithCancelCause(context.Background())
		e, err := mk().Start(ctx, job.StartOptions{Observer: obs})
		require.NoError(t, err)
		time.Sleep(3 * time.Minute)
		detach(job.ErrDetached)
		rep := e.Wait()
		assert.Equal(t, job.Running, rep.State, "a detached run is still running")
		assert.Equal(t, job.Running, unitState(t, rep, "long").State)
		assert.Equal(t, job.Pending, unitState(t, rep, "last").State)
		assert.Equal(t, []string{"first"}, finals, "detached units are not reported as ended")
		assert.Zero(t, long.Releases.Load())

		// A later process resumes from the recorded report.
		time.Sleep(2 * time.Minute)
		e2, err := mk().Start(context.Background(), job.StartOptions{Observer: obs, Resume: &rep})
		require.NoError(t, err)
		rep2 := e2.Wait()
		assert.Equal(t, int32(1), first.Calls.Load(), "the finished unit did not run again")
		assert.Equal(t, int32(1), long.Dos.Load(), "the running unit was not started again")
		assert.Equal(t, int32(1), long.Adopts.Load())
		assert.Equal(t, int32(1), long.Releases.Load(), "released once recorded")
		assert.Equal(t, int32(1), last.Calls.Load(), "the unit that had not started ran")
		lr := unitState(t, rep2, "long")
		assert.Equal(t, job.Succeeded, lr.State)
		assert.Equal(t, unitState(t, rep, "long").Started, lr.Started, "the adopted unit keeps its start")
		assert.Equal(t, 10*time.Minute, lr.Ended.Sub(lr.Started), "it ended when its work ended, not 10 min after the adoption")
		er := unitState(t, rep2, "exec")
		assert.Equal(t, job.StateFailed, er.State)
		assert.Contains(t, er.Message, "outcome is unknown")
		assert.Equal(t, int32(1), execu.Calls.Load())
		assert.Equal(t, job.StateFailed, rep2.State)
	})
}

func TestExecutionAdoptFindsNothingRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		work := jobtest.NewWork()
		u := &jobtest.Adopter{Work: work, Key: "u", D: time.Minute}
		n := &job.Network{Name: "n", Units: []job.Unit{{Name: "u", Action: u}}}
		prev := job.NetworkReport{Name: "n", State: job.Running, Units: []job.UnitReport{{Name: "u", State: job.Running, Started: time.Now()}}}
		e, err := n.Start(context.Background(), job.StartOptions{Resume: &prev})
		require.NoError(t, err)
		rep := e.Wait()
		assert.Equal(t, job.Succeeded, rep.State)
		assert.Equal(t, int32(1), u.Adopts.Load())
		assert.Equal(t, int32(1), u.Dos.Load(), "nothing to adopt: the unit ran")
	})
}

func TestExecutionStartErrors(t *testing.T) {
	n := &job.Network{Name: "n", Units: []job.Unit{{Name: "u", Action: &jobtest.Sleeper{}}}}
	_, err := n.Start(context.Background(), job.StartOptions{Hold: []string{"x"}})
	require.ErrorIs(t, err, job.ErrInvalid)
	assert.Equal(t, `hold: network n has no unit "x" (units: u)`, err.Error())
	_, err = (&job.Network{Name: "bad"}).Start(context.Background(), job.StartOptions{})
	require.Error(t, err)
	assert.False(t, errors.Is(err, job.ErrNotFound))
}
