package docker_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
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

// syncBuffer is a bytes.Buffer safe for a writer and a concurrent reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runFixture returns the harness, a client, and RunOptions for the test
// image labelled with the harness's run ID; at cleanup it removes every
// container of this test that RunContainer may have left.
func runFixture(t *testing.T) (*dockertest.Harness, *container.Client, jobdocker.RunOptions) {
	t.Helper()
	h, c := engine(t)
	mine := map[string]string{dockertest.LabelKey: h.RunID(), dockertest.NameLabelKey: t.Name()}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := c.List(ctx, container.ListOptions{All: true, Labels: mine})
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		for _, s := range res.Containers {
			_, _ = c.Remove(ctx, s.ID, container.RemoveOptions{Force: true, Volumes: true})
		}
	})
	return h, c, jobdocker.RunOptions{Image: h.Image(t), Labels: maps.Clone(mine)}
}

// leftovers lists the containers RunContainer created for this test.
func leftovers(t *testing.T, h *dockertest.Harness, c *container.Client) []container.Summary {
	t.Helper()
	res, err := c.List(context.Background(), container.ListOptions{All: true, Labels: map[string]string{
		jobdocker.LabelJob: "true", dockertest.LabelKey: h.RunID(), dockertest.NameLabelKey: t.Name(),
	}})
	require.NoError(t, err)
	return res.Containers
}

func TestRunContainerOutputAndExitCode(t *testing.T) {
	t.Parallel()
	h, c, o := runFixture(t)
	var all, out, errOut syncBuffer
	o.Command = []string{"print", "hello", "--", "eprint", "oops", "--", "print", "bye"}
	o.Stdout, o.Stderr = &out, &errOut
	ctx := job.WithOutput(context.Background(), &all)
	res, err := jobdocker.RunContainer(c, o).Do(ctx, inventory.Target{Name: "unit-a"})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.True(t, res.Succeeded())
	assert.Equal(t, "hello\nbye\n", out.String())
	assert.Equal(t, "oops\n", errOut.String())
	assert.Contains(t, all.String(), "hello\n")
	assert.Contains(t, all.String(), "oops\n")
	assert.Len(t, all.String(), len("hello\nbye\noops\n"))
	assert.Less(t, strings.Index(all.String(), "hello"), strings.Index(all.String(), "bye"), "stdout in order")
	assert.False(t, res.Started.IsZero())
	assert.False(t, res.Ended.Before(res.Started))
	assert.Empty(t, leftovers(t, h, c), "the container is removed")

	o.Command = []string{"eprint", "failing", "--", "exit", "3"}
	o.Stdout, o.Stderr = nil, nil
	res, err = jobdocker.RunContainer(c, o).Do(context.Background(), inventory.Target{})
	require.NoError(t, err, "a non-zero exit is an outcome")
	assert.Equal(t, 3, res.ExitCode)
	assert.Empty(t, res.Message)
	assert.Empty(t, leftovers(t, h, c))
}

func TestRunContainerKeepAndLabels(t *testing.T) {
	t.Parallel()
	h, c, o := runFixture(t)
	o.Keep = true
	o.Name = "minato-test-keep-" + h.RunID()
	o.Command = []string{"exit", "0"}
	o.Labels["app"] = "kept"
	o.Labels[jobdocker.LabelJob] = "false" // minato's own label wins
	_, err := jobdocker.RunContainer(c, o).Do(context.Background(), inventory.Target{Name: "unit-k"})
	require.NoError(t, err)
	left := leftovers(t, h, c)
	require.Len(t, left, 1, "Keep keeps the container")
	ins, err := c.Inspect(context.Background(), left[0].ID, container.InspectOptions{})
	require.NoError(t, err)
	assert.Equal(t, o.Name, ins.Name)
	assert.Equal(t, container.Exited, ins.State)
	assert.Equal(t, "kept", ins.Labels["app"])
	assert.Equal(t, "true", ins.Labels[jobdocker.LabelJob])
	assert.Equal(t, "unit-k", ins.Labels[jobdocker.LabelTarget])

	// The name is now taken: a second run conflicts and leaves nothing new.
	_, err = jobdocker.RunContainer(c, o).Do(context.Background(), inventory.Target{})
	assert.True(t, container.IsConflict(err), "%v", err)
	assert.Len(t, leftovers(t, h, c), 1)
}

func TestRunContainerEnvUserWorkdir(t *testing.T) {
	t.Parallel()
	h, c, o := runFixture(t)
	o.Image = h.ShellImage(t)
	o.Entrypoint = []string{"/bin/sh", "-c"}
	o.Command = []string{`pwd; grep ^Uid: /proc/self/status | tr -s '\t' ' '; env | grep ^MINATO_ | sort`}
	o.Env = map[string]string{"MINATO_B": "two words", "MINATO_A": "1"}
	o.User = "1234:1234"
	o.WorkingDir = "/work/dir"
	var out syncBuffer
	ctx := job.WithOutput(context.Background(), &out)
	res, err := jobdocker.RunContainer(c, o).Do(ctx, inventory.Target{})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode, out.String())
	assert.Equal(t, "/work/dir\nUid: 1234 1234 1234 1234\nMINATO_A=1\nMINATO_B=two words\n", out.String())
	assert.Empty(t, leftovers(t, h, c))
}

func TestRunContainerOOMKilled(t *testing.T) {
	t.Parallel()
	h, c, o := runFixture(t)
	o.Command = []string{"sleep", "300ms", "--", "alloc", "64", "--", "print", "survived"} // the pause lets the engine watch for the OOM before it happens
	o.Memory = 32 << 20
	var out syncBuffer
	res, err := jobdocker.RunContainer(c, o).Do(job.WithOutput(context.Background(), &out), inventory.Target{})
	require.NoError(t, err)
	assert.Equal(t, 137, res.ExitCode)
	assert.Equal(t, "OOM-killed", res.Message)
	assert.NotContains(t, out.String(), "survived")
	assert.Empty(t, leftovers(t, h, c))
}

func TestRunContainerDeadlineStopsAndRemoves(t *testing.T) {
	t.Parallel()
	h, c, o := runFixture(t)
	o.Command = []string{"print", "started", "--", "sleep", "forever"}
	var out syncBuffer
	// 3 s: enough for create, attach and start on a busy engine.
	ctx, cancel := context.WithTimeout(job.WithOutput(context.Background(), &out), 3*time.Second)
	defer cancel()
	start := time.Now()
	res, err := jobdocker.RunContainer(c, o).Do(ctx, inventory.Target{})
	elapsed := time.Since(start)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 0, res.ExitCode, "testbox exits 0 on SIGTERM")
	assert.Less(t, elapsed, 8*time.Second, "SIGTERM ends it well before the 10 s grace")
	assert.Equal(t, "started\n", out.String())
	assert.Empty(t, leftovers(t, h, c))
	t.Logf("returned after %s", elapsed)
}

func TestRunContainerIgnoringTermIsKilledAfterGrace(t *testing.T) {
	t.Parallel()
	h, c, o := runFixture(t)
	o.Command = []string{"sleep", "forever", "--ignore-term"}
	o.StopGrace = 500 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(3*time.Second, cancel)
	start := time.Now()
	res, err := jobdocker.RunContainer(c, o).Do(ctx, inventory.Target{})
	elapsed := time.Since(start)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 137, res.ExitCode, "SIGKILLed")
	assert.GreaterOrEqual(t, elapsed, 3500*time.Millisecond, "the grace is waited for")
	assert.Less(t, elapsed, 8*time.Second)
	assert.Empty(t, leftovers(t, h, c))
	t.Logf("returned after %s", elapsed)
}

func TestRunContainerStopSignal(t *testing.T) {
	t.Parallel()
	h, c, o := runFixture(t)
	// SIGTERM is ignored, SIGINT ends testbox at once.
	o.Command = []string{"sleep", "forever", "--ignore-term"}
	o.StopSignal = "SIGINT"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	res, err := jobdocker.RunContainer(c, o).Do(ctx, inventory.Target{})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 0, res.ExitCode, "ended by SIGINT, not killed")
	assert.Less(t, time.Since(start), 8*time.Second)
	assert.Empty(t, leftovers(t, h, c))
}

func TestRunContainerMissingImage(t *testing.T) {
	t.Parallel()
	h, c, o := runFixture(t)
	o.Image = "minato-no-such-image:never"
	o.Name = "minato-test-noimage-" + h.RunID()
	_, err := jobdocker.RunContainer(c, o).Do(context.Background(), inventory.Target{})
	require.Error(t, err)
	assert.True(t, container.IsNotFound(err), "%v", err)
	assert.Contains(t, err.Error(), `image "minato-no-such-image:never" is not present on the engine and minato does not pull`)
	assert.Empty(t, leftovers(t, h, c))
	_, err = c.Inspect(context.Background(), o.Name, container.InspectOptions{})
	assert.True(t, container.IsNotFound(err))

	o.Image = ""
	_, err = jobdocker.RunContainer(c, o).Do(context.Background(), inventory.Target{})
	assert.ErrorContains(t, err, "no image given")
}

func TestRunContainerStartFailureRemoves(t *testing.T) {
	t.Parallel()
	h, c, o := runFixture(t)
	o.Entrypoint = []string{"/no/such/program"}
	_, err := jobdocker.RunContainer(c, o).Do(context.Background(), inventory.Target{})
	require.Error(t, err)
	assert.Empty(t, leftovers(t, h, c))
}

// countWriter counts bytes and checks they are all 'x'.
type countWriter struct {
	n     atomic.Int64
	wrong atomic.Int64
}

func (w *countWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	if bytes.Count(p, []byte{'x'}) != len(p) {
		w.wrong.Add(1)
	}
	return len(p), nil
}

func TestRunContainerLargeOutput(t *testing.T) {
	t.Parallel()
	h, c, o := runFixture(t)
	const mib = 50
	o.Command = []string{"emit", "50"}
	var stdout, all countWriter
	o.Stdout = &stdout
	start := time.Now()
	res, err := jobdocker.RunContainer(c, o).Do(job.WithOutput(context.Background(), &all), inventory.Target{})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.Equal(t, int64(mib<<20), stdout.n.Load(), "every byte reaches the writer")
	assert.Equal(t, int64(mib<<20), all.n.Load(), "and job.Output")
	assert.Zero(t, stdout.wrong.Load())
	assert.Empty(t, leftovers(t, h, c))
	t.Logf("50 MiB relayed in %s", time.Since(start))
}

func TestRunContainerConcurrent(t *testing.T) {
	t.Parallel()
	h, c, o := runFixture(t)
	o.Command = []string{"print", "hi"}
	ts := []inventory.Target{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}}
	rep := job.Run(context.Background(), jobdocker.RunContainer(c, o), ts, job.RunOptions{Concurrency: 4})
	assert.Equal(t, job.ExitOK, rep.ExitCode(), "%v", rep.Errors())
	assert.Empty(t, leftovers(t, h, c))
}

func TestExecWritesToJobOutput(t *testing.T) {
	t.Parallel()
	h, c := engine(t)
	x := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	h.WaitState(t, x.ID, "running", 10*time.Second)
	var all, out syncBuffer
	ctx := job.WithOutput(context.Background(), &all)
	a := jobdocker.Exec(c, jobdocker.ExecOptions{Cmd: []string{"/testbox", "print", "hello", "--", "eprint", "oops"}, Stdout: &out})
	res, err := a.Do(ctx, inventory.Target{ID: x.ID})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.Equal(t, "hello\n", out.String())
	assert.Contains(t, all.String(), "hello\n")
	assert.Contains(t, all.String(), "oops\n")

	// A job deadline ends the command and the error says so.
	dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = jobdocker.Exec(c, jobdocker.ExecOptions{Cmd: []string{"/testbox", "sleep", "forever"}}).Do(dctx, inventory.Target{ID: x.ID})
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	assert.Less(t, time.Since(start), 10*time.Second)
}

func TestRunContainerDetachedLeavesItRunning(t *testing.T) {
	t.Parallel()
	h, c, o := runFixture(t)
	o.Command = []string{"print", "started", "--", "sleep", "30s"}
	var out syncBuffer
	ctx, cancel := context.WithCancelCause(job.WithOutput(context.Background(), &out))
	defer cancel(nil)
	detachedAt := make(chan time.Time, 1)
	go func() {
		for out.String() != "started\n" && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		detachedAt <- time.Now()
		cancel(job.ErrDetached)
	}()
	res, err := jobdocker.RunContainer(c, o).Do(ctx, inventory.Target{})
	returned := time.Now()
	require.Error(t, err)
	assert.ErrorIs(t, err, job.ErrDetached)
	assert.Contains(t, err.Error(), "left to run on")
	assert.False(t, res.Ended.IsZero())
	assert.Less(t, returned.Sub(<-detachedAt), time.Second, "Do returns promptly")
	assert.Equal(t, "started\n", out.String())

	// The container runs on: neither stopped nor removed (Keep is false).
	left := leftovers(t, h, c)
	require.Len(t, left, 1, "not removed")
	ins, err := c.Inspect(context.Background(), left[0].ID, container.InspectOptions{})
	require.NoError(t, err)
	assert.Equal(t, container.Running, ins.State, "not stopped")
}
