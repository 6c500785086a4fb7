package docker_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	jobdocker "github.com/minato-ops/minato/job/docker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// adoptFixture is runFixture with a unit label, as the scheduler's
// containers have; the harness's labels make the set unique to the test.
func adoptFixture(t *testing.T) (*dockertest.Harness, *container.Client, jobdocker.RunOptions) {
	t.Helper()
	h, c, o := runFixture(t)
	o.Labels["minato.unit"] = "u"
	return h, c, o
}

// jobContainer creates (and starts, unless start is false) a container
// with the labels AdoptableRun(o) looks for, as an earlier process's Do
// would have left it.
func jobContainer(t *testing.T, h *dockertest.Harness, o jobdocker.RunOptions, start, tty bool, args ...string) dockertest.Container {
	t.Helper()
	labels := maps.Clone(o.Labels)
	labels[jobdocker.LabelJob] = "true"
	return h.Run(t, dockertest.RunOptions{Args: args, Labels: labels, Start: &start, Tty: tty})
}

func inspect(t *testing.T, c *container.Client, id string) container.InspectResult {
	t.Helper()
	ins, err := c.Inspect(context.Background(), id, container.InspectOptions{})
	require.NoError(t, err)
	return ins
}

func TestAdoptableRunAdoptsRunningDetachedRun(t *testing.T) {
	t.Parallel()
	h, c, o := adoptFixture(t)
	o.Command = []string{"print", "a", "--", "eprint", "e", "--", "sleep", "4s", "--", "print", "b", "--", "exit", "3"}

	// A first process's Do is detached once the first lines are out.
	var first syncBuffer
	ctx, cancel := context.WithCancelCause(job.WithOutput(context.Background(), &first))
	defer cancel(nil)
	go func() {
		for len(first.String()) < len("a\ne\n") && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		cancel(job.ErrDetached)
	}()
	_, err := jobdocker.AdoptableRun(c, o).Do(ctx, inventory.Target{})
	require.ErrorIs(t, err, job.ErrDetached)
	left := leftovers(t, h, c)
	require.Len(t, left, 1)
	before := inspect(t, c, left[0].ID)
	require.Equal(t, container.Running, before.State, "adopted while it runs")

	// The next process adopts it with an Adopter of its own.
	var all, stdout, stderr syncBuffer
	o.Stdout, o.Stderr = &stdout, &stderr
	res, found, err := jobdocker.AdoptableRun(c, o).Adopt(job.WithOutput(context.Background(), &all), inventory.Target{})
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, 3, res.ExitCode)
	assert.Equal(t, "a\nb\n", stdout.String(), "the output from the start, once")
	assert.Equal(t, "e\n", stderr.String())
	assert.Len(t, all.String(), len("a\nb\ne\n"))
	assert.Contains(t, all.String(), "e\n")
	assert.True(t, res.Started.Equal(before.StartedAt), "Started %s is the container's %s", res.Started, before.StartedAt)
	assert.True(t, res.Ended.After(res.Started))

	// Kept until Release, which is idempotent.
	left = leftovers(t, h, c)
	require.Len(t, left, 1, "kept after it exited")
	assert.Equal(t, container.Exited, left[0].State)
	require.NoError(t, jobdocker.AdoptableRun(c, o).Release(context.Background(), inventory.Target{}))
	assert.Empty(t, leftovers(t, h, c))
	require.NoError(t, jobdocker.AdoptableRun(c, o).Release(context.Background(), inventory.Target{}))
}

func TestAdoptableRunAdoptNothing(t *testing.T) {
	t.Parallel()
	h, c, o := adoptFixture(t)
	a := jobdocker.AdoptableRun(c, o)
	res, found, err := a.Adopt(context.Background(), inventory.Target{})
	require.NoError(t, err)
	assert.False(t, found)
	assert.Equal(t, job.Outcome{}, res)
	assert.NoError(t, a.Release(context.Background(), inventory.Target{}), "releasing nothing")

	// Another run's container is not this run's, even when this run's
	// label value is empty (which the engine's filter takes for any value).
	other := maps.Clone(o.Labels)
	other["minato.run"] = "r1"
	x := jobContainer(t, h, jobdocker.RunOptions{Labels: other}, false, false, "exit", "0")
	o.Labels["minato.run"] = ""
	a = jobdocker.AdoptableRun(c, o)
	_, found, err = a.Adopt(context.Background(), inventory.Target{})
	require.NoError(t, err)
	assert.False(t, found)
	require.NoError(t, a.Release(context.Background(), inventory.Target{}))
	assert.Equal(t, container.Created, inspect(t, c, x.ID).State, "not released")
}

func TestAdoptableRunAdoptExited(t *testing.T) {
	t.Parallel()
	h, c, o := adoptFixture(t)
	o.Command = []string{"print", "x", "--", "eprint", "y", "--", "exit", "5"}
	a := jobdocker.AdoptableRun(c, o)
	tgt := inventory.Target{Name: "t1"}
	res, err := a.Do(context.Background(), tgt)
	require.NoError(t, err)
	assert.Equal(t, 5, res.ExitCode)
	left := leftovers(t, h, c)
	require.Len(t, left, 1, "Do keeps the container although Keep is false")
	ins := inspect(t, c, left[0].ID)

	// Another target's run is not this one.
	_, found, err := a.Adopt(context.Background(), inventory.Target{Name: "t2"})
	require.NoError(t, err)
	assert.False(t, found)

	var all, stdout, stderr syncBuffer
	o.Stdout, o.Stderr = &stdout, &stderr
	b := jobdocker.AdoptableRun(c, o)
	res, found, err = b.Adopt(job.WithOutput(context.Background(), &all), tgt)
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, 5, res.ExitCode)
	assert.Empty(t, res.Message)
	assert.Equal(t, "x\n", stdout.String())
	assert.Equal(t, "y\n", stderr.String())
	assert.Len(t, all.String(), len("x\ny\n"))
	assert.True(t, res.Started.Equal(ins.StartedAt))
	// The engine may stamp an instant exit a little before the start it
	// stamped after the start call returned: Ended is then Started.
	wantEnded := ins.FinishedAt
	if wantEnded.Before(ins.StartedAt) {
		wantEnded = ins.StartedAt
	}
	assert.True(t, res.Ended.Equal(wantEnded), "Ended %s is the container's exit %s (started %s)", res.Ended, ins.FinishedAt, ins.StartedAt)
	assert.Len(t, leftovers(t, h, c), 1, "Adopt removes nothing")

	require.NoError(t, b.Release(context.Background(), tgt))
	assert.Empty(t, leftovers(t, h, c))
	_, found, err = b.Adopt(context.Background(), tgt)
	require.NoError(t, err)
	assert.False(t, found, "nothing left to adopt after Release")
}

func TestAdoptableRunAdoptsNewestAttempt(t *testing.T) {
	t.Parallel()
	h, c, o := adoptFixture(t)
	for i, cmd := range [][]string{{"print", "first", "--", "exit", "1"}, {"print", "second", "--", "exit", "2"}} {
		o.Command = cmd
		res, err := jobdocker.AdoptableRun(c, o).Do(context.Background(), inventory.Target{})
		require.NoError(t, err)
		require.Equal(t, i+1, res.ExitCode)
	}
	require.Len(t, leftovers(t, h, c), 2)
	var all syncBuffer
	res, found, err := jobdocker.AdoptableRun(c, o).Adopt(job.WithOutput(context.Background(), &all), inventory.Target{})
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, 2, res.ExitCode)
	assert.Equal(t, "second\n", all.String())
	require.NoError(t, jobdocker.AdoptableRun(c, o).Release(context.Background(), inventory.Target{}))
	assert.Empty(t, leftovers(t, h, c), "Release removes every attempt")
}

func TestAdoptableRunAdoptStartsCreated(t *testing.T) {
	t.Parallel()
	h, c, o := adoptFixture(t)
	x := jobContainer(t, h, o, false, false, "print", "hi", "--", "eprint", "ho", "--", "exit", "4")
	require.Equal(t, container.Created, inspect(t, c, x.ID).State)
	var all syncBuffer
	before := time.Now()
	res, found, err := jobdocker.AdoptableRun(c, o).Adopt(job.WithOutput(context.Background(), &all), inventory.Target{})
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, 4, res.ExitCode)
	assert.Contains(t, all.String(), "hi\n")
	assert.Contains(t, all.String(), "ho\n")
	assert.Len(t, all.String(), len("hi\nho\n"))
	assert.False(t, res.Started.Before(before))
	ins := inspect(t, c, x.ID)
	assert.Equal(t, container.Exited, ins.State, "started, ran, and kept")
	assert.Equal(t, 4, ins.ExitCode)
}

func TestAdoptableRunAdoptCancelledStops(t *testing.T) {
	t.Parallel()
	h, c, o := adoptFixture(t)
	x := jobContainer(t, h, o, true, false, "print", "started", "--", "sleep", "forever")
	h.WaitState(t, x.ID, "running", 10*time.Second)
	var all syncBuffer
	ctx, cancel := context.WithCancel(job.WithOutput(context.Background(), &all))
	defer cancel()
	time.AfterFunc(time.Second, cancel)
	start := time.Now()
	res, found, err := jobdocker.AdoptableRun(c, o).Adopt(ctx, inventory.Target{})
	elapsed := time.Since(start)
	assert.True(t, found)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 0, res.ExitCode, "testbox exits 0 on SIGTERM")
	assert.Equal(t, "started\n", all.String())
	assert.Less(t, elapsed, 8*time.Second, "SIGTERM ends it well before the grace")
	ins := inspect(t, c, x.ID)
	assert.Equal(t, container.Exited, ins.State, "stopped, and kept for Release")
}

func TestAdoptableRunAdoptWithEndedCtxStops(t *testing.T) {
	t.Parallel()
	h, c, o := adoptFixture(t)
	x := jobContainer(t, h, o, true, false, "sleep", "forever")
	h.WaitState(t, x.ID, "running", 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, found, err := jobdocker.AdoptableRun(c, o).Adopt(ctx, inventory.Target{})
	assert.True(t, found, "found although ctx had ended")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, container.Exited, inspect(t, c, x.ID).State, "and stopped")
}

func TestAdoptableRunAdoptDetachedLeavesItRunning(t *testing.T) {
	t.Parallel()
	h, c, o := adoptFixture(t)
	x := jobContainer(t, h, o, true, false, "print", "started", "--", "sleep", "forever")
	h.WaitState(t, x.ID, "running", 10*time.Second)
	var all syncBuffer
	ctx, cancel := context.WithCancelCause(job.WithOutput(context.Background(), &all))
	defer cancel(nil)
	detachedAt := make(chan time.Time, 1)
	go func() {
		for all.String() != "started\n" && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		detachedAt <- time.Now()
		cancel(job.ErrDetached)
	}()
	_, found, err := jobdocker.AdoptableRun(c, o).Adopt(ctx, inventory.Target{})
	returned := time.Now()
	assert.True(t, found)
	require.ErrorIs(t, err, job.ErrDetached)
	assert.Less(t, returned.Sub(<-detachedAt), time.Second, "Adopt returns promptly")
	assert.Equal(t, container.Running, inspect(t, c, x.ID).State)
}

func TestAdoptableRunTtyContainer(t *testing.T) {
	t.Parallel()
	h, c, o := adoptFixture(t)
	x := jobContainer(t, h, o, true, true, "print", "on", "a", "terminal", "--", "exit", "6")
	h.WaitState(t, x.ID, "exited", 10*time.Second)
	var stdout, stderr syncBuffer
	o.Stdout, o.Stderr = &stdout, &stderr
	res, found, err := jobdocker.AdoptableRun(c, o).Adopt(context.Background(), inventory.Target{})
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, 6, res.ExitCode)
	assert.Equal(t, "on a terminal\r\n", stdout.String(), "one raw stream, not demultiplexed")
	assert.Empty(t, stderr.String())
}

func TestAdoptableRunReleaseKeep(t *testing.T) {
	t.Parallel()
	h, c, o := adoptFixture(t)
	o.Keep = true
	o.Command = []string{"exit", "0"}
	a := jobdocker.AdoptableRun(c, o)
	_, err := a.Do(context.Background(), inventory.Target{})
	require.NoError(t, err)
	require.NoError(t, a.Release(context.Background(), inventory.Target{}))
	assert.Len(t, leftovers(t, h, c), 1, "Keep keeps the container past Release")
}

func TestAdoptableRunWithoutLabels(t *testing.T) {
	t.Parallel()
	_, c, o := adoptFixture(t)
	o.Labels = nil
	a := jobdocker.AdoptableRun(c, o)
	_, err := a.Do(context.Background(), inventory.Target{})
	assert.ErrorContains(t, err, "no labels")
	_, found, err := a.Adopt(context.Background(), inventory.Target{})
	assert.ErrorContains(t, err, "no labels")
	assert.False(t, found)
	assert.ErrorContains(t, a.Release(context.Background(), inventory.Target{}), "no labels")
}

func TestAdoptableRunPrepareThenDo(t *testing.T) {
	t.Parallel()
	h, c, o := adoptFixture(t)
	o.Command = []string{"print", "prepared", "--", "exit", "2"}
	a := jobdocker.AdoptableRun(c, o)
	p, ok := a.(job.Preparer)
	require.True(t, ok, "an adoptable run can be prepared")
	p.Prepare(context.Background(), inventory.Target{})
	// The engine lists a container a moment before its create call
	// returns, when Inspect does not know it yet: wait for both.
	var left []container.Summary
	require.Eventually(t, func() bool {
		left = leftovers(t, h, c)
		if len(left) != 1 {
			return false
		}
		ins, err := c.Inspect(context.Background(), left[0].ID, container.InspectOptions{})
		return err == nil && ins.State == container.Created
	}, 10*time.Second, 20*time.Millisecond, "prepared: created, not started")

	var out syncBuffer
	res, err := a.Do(job.WithOutput(context.Background(), &out), inventory.Target{})
	require.NoError(t, err)
	assert.Equal(t, 2, res.ExitCode)
	assert.Equal(t, "prepared\n", out.String())
	after := leftovers(t, h, c)
	require.Len(t, after, 1, "Do started the prepared container instead of creating another")
	assert.Equal(t, left[0].ID, after[0].ID)
	p.Prepare(context.Background(), inventory.Target{}) // after Do: nothing
	require.NoError(t, a.Release(context.Background(), inventory.Target{}))
	assert.Empty(t, leftovers(t, h, c))
}

func TestAdoptableRunPreparedButNotRunIsReleased(t *testing.T) {
	t.Parallel()
	h, c, o := adoptFixture(t)
	o.Keep = true // even so: a container that never ran is not worth keeping
	a := jobdocker.AdoptableRun(c, o)
	a.(job.Preparer).Prepare(context.Background(), inventory.Target{})
	// Release waits for the preparation before removing what it made.
	require.NoError(t, a.Release(context.Background(), inventory.Target{}))
	assert.Empty(t, leftovers(t, h, c))
}
