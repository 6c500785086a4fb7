package container_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realClient returns the harness and a minato client on the real engine.
func realClient(t *testing.T) (*dockertest.Harness, *container.Client) {
	t.Helper()
	h := dockertest.New(t)
	return h, clienttest.New(t, h)
}

func TestRealListSelectInspect(t *testing.T) {
	t.Parallel()
	h, c := realClient(t)
	ctx := context.Background()
	run := h.Run(t, dockertest.RunOptions{Args: []string{"write", "/f", "1", "--", "sleep", "forever"}, Labels: map[string]string{"app": "list-test"}})
	created := h.Run(t, dockertest.RunOptions{Start: new(bool), Labels: map[string]string{"app": "list-test"}})
	h.WaitState(t, run.ID, "running", 10*time.Second)

	mine := map[string]string{dockertest.LabelKey: h.RunID()}
	res, err := c.List(ctx, container.ListOptions{All: true, Size: true, Labels: mine})
	require.NoError(t, err)
	require.Len(t, res.Containers, 2)
	byName := map[string]container.Summary{}
	for _, s := range res.Containers {
		byName[s.Name] = s
	}
	r := byName[run.Name]
	assert.Equal(t, run.ID, r.ID)
	assert.Equal(t, container.Running, r.State)
	assert.Regexp(t, `^Up `, r.Status)
	assert.Equal(t, "list-test", r.Labels["app"])
	assert.WithinDuration(t, time.Now(), r.Created, time.Minute)
	assert.Equal(t, container.Created, byName[created.Name].State)

	res, err = c.List(ctx, container.ListOptions{Labels: mine})
	require.NoError(t, err)
	assert.Len(t, res.Containers, 1, "without All only running containers")
	res, err = c.List(ctx, container.ListOptions{Labels: mine, States: []container.State{container.Created}})
	require.NoError(t, err)
	require.Len(t, res.Containers, 1)
	assert.Equal(t, created.ID, res.Containers[0].ID)

	sel := inventory.Selector{IDs: []string{run.ID[:12]}}
	got, err := c.Select(ctx, sel)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, run.Name, got[0].Name)
	ts, err := c.Resolve(ctx, inventory.Selector{Labels: mine, States: []string{"created"}})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	assert.Equal(t, inventory.Target{Kind: inventory.KindContainer, ID: created.ID, Name: created.Name, Engine: h.Host, Labels: ts[0].Labels}, ts[0])

	ins, err := c.Inspect(ctx, run.Name, container.InspectOptions{Size: true})
	require.NoError(t, err)
	assert.Equal(t, run.ID, ins.ID)
	assert.Equal(t, container.Running, ins.State)
	assert.Positive(t, ins.Pid)
	assert.False(t, ins.StartedAt.IsZero())
	assert.True(t, ins.FinishedAt.IsZero())
	assert.Equal(t, []string{"/testbox"}, ins.Entrypoint)
	assert.GreaterOrEqual(t, ins.SizeRw, int64(1<<20), "the 1 MiB file is in the writable layer")

	_, err = c.Inspect(ctx, "minato-no-such-container", container.InspectOptions{})
	assert.True(t, container.IsNotFound(err), "%v", err)
}

func TestRealOOMKilledAndExitCode(t *testing.T) {
	t.Parallel()
	h, c := realClient(t)
	x := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "300ms", "--", "alloc", "128", "--", "sleep", "forever"}, Memory: 32 << 20})
	h.WaitState(t, x.ID, "exited", 20*time.Second)
	ins, err := c.Inspect(context.Background(), x.ID, container.InspectOptions{})
	require.NoError(t, err)
	assert.True(t, ins.OOMKilled)
	assert.Equal(t, 137, ins.ExitCode)
	assert.Equal(t, int64(32<<20), ins.MemoryLimit)
	assert.False(t, ins.FinishedAt.IsZero())
}

func TestRealTop(t *testing.T) {
	t.Parallel()
	h, c := realClient(t)
	x := h.Run(t, dockertest.RunOptions{Args: []string{"spawn", "3", "--", "sleep", "forever"}})
	h.WaitState(t, x.ID, "running", 10*time.Second)
	var top container.TopResult
	require.Eventually(t, func() bool {
		var err error
		top, err = c.Top(context.Background(), x.ID, container.TopOptions{})
		return err == nil && len(top.Processes) == 4
	}, 10*time.Second, 50*time.Millisecond)
	cmd := top.Column("CMD")
	require.GreaterOrEqual(t, cmd, 0)
	for _, p := range top.Processes {
		assert.Contains(t, p[cmd], "testbox")
	}
	stopped := h.Run(t, dockertest.RunOptions{Start: new(bool)})
	_, err := c.Top(context.Background(), stopped.ID, container.TopOptions{})
	assert.True(t, container.IsConflict(err), "top of a container that is not running: %v", err)
}

func TestRealStats(t *testing.T) {
	t.Parallel()
	h, c := realClient(t)
	x := h.Run(t, dockertest.RunOptions{Args: []string{"alloc", "16", "--", "burn", "1", "1h"}})
	h.WaitState(t, x.ID, "running", 10*time.Second)
	ctx := context.Background()
	time.Sleep(300 * time.Millisecond)

	one, err := c.Stats(ctx, x.ID, container.StatsOptions{})
	require.NoError(t, err)
	s := one.Stats
	assert.Equal(t, "linux", one.OSType)
	assert.Equal(t, x.ID, s.ID)
	assert.Equal(t, x.Name, s.Name)
	assert.Positive(t, s.CPU.TotalUsage)
	assert.Positive(t, s.CPU.System)
	assert.Positive(t, s.CPU.OnlineCPUs)
	assert.GreaterOrEqual(t, s.Memory.Usage, uint64(16<<20))
	assert.Positive(t, s.Memory.Limit)
	assert.NotEmpty(t, s.Memory.Stats)
	assert.Contains(t, s.Networks, "eth0")
	assert.Positive(t, s.PIDs.Current)

	two, err := c.Stats(ctx, x.ID, container.StatsOptions{TwoSample: true})
	require.NoError(t, err)
	assert.False(t, two.Stats.PreRead.IsZero(), "the classic call fills the previous sample")
	assert.Greater(t, two.Stats.CPU.TotalUsage, two.Stats.PreCPU.TotalUsage, "the container burns CPU")

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var n int
	err = c.StatsStream(sctx, x.ID, func(st container.Stats) error {
		n++
		if n == 2 {
			cancel()
		}
		return nil
	})
	assert.NoError(t, err)
	assert.GreaterOrEqual(t, n, 2)
}

func TestRealEventsSinceUntil(t *testing.T) {
	t.Parallel()
	h, c := realClient(t)
	ctx := context.Background()
	since := time.Now().Add(-time.Second)
	x := h.Run(t, dockertest.RunOptions{Args: []string{"exit", "3"}})
	h.WaitState(t, x.ID, "exited", 10*time.Second)
	until := time.Now().Add(time.Second)
	time.Sleep(1100 * time.Millisecond) // until must be in the past for a bounded replay

	var (
		mu  sync.Mutex
		got []container.Event
	)
	err := c.Events(ctx, container.EventsOptions{Since: since, Until: until, Filters: map[string][]string{"container": {x.ID}, "type": {"container"}}},
		func(e container.Event) error {
			mu.Lock()
			got = append(got, e)
			mu.Unlock()
			return nil
		})
	require.NoError(t, err, "a stream with until in the past ends by itself")
	var actions []string
	for _, e := range got {
		assert.Equal(t, x.ID, e.ActorID)
		assert.Equal(t, "container", e.Type)
		assert.False(t, e.Time.Before(since))
		actions = append(actions, e.Action)
		if e.Action == "die" {
			assert.Equal(t, "3", e.Attributes["exitCode"])
			assert.Equal(t, x.Name, e.Attributes["name"])
		}
	}
	assert.Subset(t, actions, []string{"create", "start", "die"})

	// Live streaming: subscribe, then act, then see the event.
	lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	y := h.Run(t, dockertest.RunOptions{Start: new(bool)})
	seen := make(chan container.Event, 1)
	done := make(chan error, 1)
	go func() {
		done <- c.Events(lctx, container.EventsOptions{Filters: map[string][]string{"container": {y.ID}, "event": {"start"}}}, func(e container.Event) error {
			seen <- e
			cancel()
			return nil
		})
	}()
	time.Sleep(300 * time.Millisecond)
	_, err = c.Start(ctx, y.ID, container.StartOptions{})
	require.NoError(t, err)
	select {
	case e := <-seen:
		assert.Equal(t, "start", e.Action)
		assert.WithinDuration(t, time.Now(), e.Time, 10*time.Second)
	case <-time.After(15 * time.Second):
		t.Fatal("no start event within 15 s")
	}
	assert.NoError(t, <-done)
}
