package docker_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	jobdocker "github.com/minato-ops/minato/job/docker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// engine returns the harness and a minato client on the same engine.
func engine(t *testing.T) (*dockertest.Harness, *container.Client) {
	t.Helper()
	h := dockertest.New(t)
	return h, clienttest.New(t, h)
}

// fixture starts three containers "<p>-a" running, "<p>-b" running and
// "<p>-c" exited (exit 0), plus an unrelated "<q>-x" running, and returns
// the selected targets for "<p>*".
func fixture(t *testing.T, h *dockertest.Harness, c *container.Client, ignoreTerm bool) (prefix string, other dockertest.Container) {
	t.Helper()
	prefix = "mj" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))[len("Test"):]
	sleep := []string{"sleep", "forever"}
	if ignoreTerm {
		sleep = append(sleep, "--ignore-term")
	}
	for _, n := range []string{"a", "b"} {
		x := h.Run(t, dockertest.RunOptions{Name: prefix + "-" + n, Args: sleep})
		h.WaitState(t, x.ID, "running", 10*time.Second)
	}
	x := h.Run(t, dockertest.RunOptions{Name: prefix + "-c", Args: []string{"exit", "0"}})
	h.WaitState(t, x.ID, "exited", 10*time.Second)
	other = h.Run(t, dockertest.RunOptions{Name: "other-" + prefix, Args: []string{"sleep", "forever"}})
	h.WaitState(t, other.ID, "running", 10*time.Second)
	return prefix, other
}

func resolve(t *testing.T, c *container.Client, names ...string) []inventory.Target {
	t.Helper()
	ts, err := c.Resolve(context.Background(), inventory.Selector{Names: names})
	require.NoError(t, err)
	return ts
}

func verdicts(rep job.Report) map[string]string {
	m := map[string]string{}
	for _, r := range rep.Results {
		m[r.Target.Name] = r.Verdict()
	}
	return m
}

func state(t *testing.T, c *container.Client, id string) container.State {
	t.Helper()
	ins, err := c.Inspect(context.Background(), id, container.InspectOptions{})
	require.NoError(t, err)
	return ins.State
}

func TestLifecycleJobsOnPrefixSelection(t *testing.T) {
	t.Parallel()
	h, c := engine(t)
	ctx := context.Background()
	p, other := fixture(t, h, c, false)
	ts := resolve(t, c, p+"*")
	require.Len(t, ts, 3, "prefix selection must take only %s-a, -b, -c", p)

	zero := time.Duration(0)
	rep := job.Run(ctx, jobdocker.Stop(c, jobdocker.StopOptions{Grace: &zero}), ts, job.RunOptions{Concurrency: 2})
	assert.Equal(t, map[string]string{p + "-a": "Success", p + "-b": "Success", p + "-c": "Skipped (exited)"}, verdicts(rep))
	assert.Equal(t, job.ExitOK, rep.ExitCode())
	assert.Equal(t, container.Running, state(t, c, other.ID), "the unrelated container must not be touched")

	rep = job.Run(ctx, jobdocker.Start(c), ts, job.RunOptions{})
	assert.Equal(t, map[string]string{p + "-a": "Success", p + "-b": "Success", p + "-c": "Success"}, verdicts(rep))
	for _, x := range resolve(t, c, p+"-a", p+"-b") {
		assert.Equal(t, container.Running, state(t, c, x.ID))
	}

	// Starting again: every container is already running (c exits at once,
	// so it may be exited again: either way nothing fails).
	rep = job.Run(ctx, jobdocker.Start(c), resolve(t, c, p+"-a"), job.RunOptions{})
	assert.Equal(t, map[string]string{p + "-a": "Skipped (running)"}, verdicts(rep))

	a := resolve(t, c, p+"-a")[0]
	before, err := c.Inspect(ctx, a.ID, container.InspectOptions{})
	require.NoError(t, err)
	rep = job.Run(ctx, jobdocker.Restart(c, jobdocker.StopOptions{Grace: &zero}), resolve(t, c, p+"-a"), job.RunOptions{})
	assert.Equal(t, job.ExitOK, rep.ExitCode(), "%v", rep.Errors())
	after, err := c.Inspect(ctx, a.ID, container.InspectOptions{})
	require.NoError(t, err)
	assert.True(t, after.StartedAt.After(before.StartedAt), "restart must start the container anew")

	// rm without -f: running containers fail (exit 9), the exited one goes.
	rep = job.Run(ctx, jobdocker.Remove(c, container.RemoveOptions{}), resolve(t, c, p+"*"), job.RunOptions{})
	assert.Equal(t, job.ExitFailed, rep.ExitCode())
	got := verdicts(rep)
	assert.Contains(t, got[p+"-a"], "Failed: container is running")
	assert.Equal(t, "Success", got[p+"-c"])
	// rm -f -v: everything goes.
	rep = job.Run(ctx, jobdocker.Remove(c, container.RemoveOptions{Force: true, Volumes: true}), resolve(t, c, p+"*"), job.RunOptions{})
	assert.Equal(t, job.ExitOK, rep.ExitCode(), "%v", rep.Errors())
	assert.Empty(t, resolve(t, c, p+"*"))
	assert.Equal(t, container.Running, state(t, c, other.ID))
}

func TestStopGraceHonoured(t *testing.T) {
	t.Parallel()
	h, c := engine(t)
	x := h.Run(t, dockertest.RunOptions{Args: []string{"print", "ready", "--", "sleep", "forever", "--ignore-term"}})
	h.WaitState(t, x.ID, "running", 10*time.Second)
	time.Sleep(200 * time.Millisecond) // let testbox install its signal handling
	grace := 2 * time.Second
	start := time.Now()
	rep := job.Run(context.Background(), jobdocker.Stop(c, jobdocker.StopOptions{Grace: &grace}), resolve(t, c, x.Name), job.RunOptions{})
	took := time.Since(start)
	require.Equal(t, job.ExitOK, rep.ExitCode(), "%v", rep.Errors())
	assert.GreaterOrEqual(t, took, grace, "the engine must wait the grace period before killing")
	assert.Less(t, took, grace+5*time.Second)
	ins, err := c.Inspect(context.Background(), x.ID, container.InspectOptions{})
	require.NoError(t, err)
	assert.Equal(t, 137, ins.ExitCode, "a container that ignores SIGTERM is killed after the grace")
}

func TestExecOutputAndExitCode(t *testing.T) {
	t.Parallel()
	h, c := engine(t)
	x := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	h.WaitState(t, x.ID, "running", 10*time.Second)
	var out, errb bytes.Buffer
	a := jobdocker.Exec(c, jobdocker.ExecOptions{Cmd: []string{"/testbox", "print", "hello", "--", "eprint", "oops", "--", "exit", "7"}, Stdout: &out, Stderr: &errb})
	rep := job.Run(context.Background(), a, resolve(t, c, x.Name), job.RunOptions{})
	require.NoError(t, rep.Errors())
	assert.Equal(t, 7, rep.Results[0].Outcome.ExitCode)
	assert.Equal(t, "hello\n", out.String())
	assert.Equal(t, "oops\n", errb.String())
	assert.Equal(t, job.ExitFailed, rep.ExitCode())
}

func TestExecInStoppedContainer(t *testing.T) {
	t.Parallel()
	h, c := engine(t)
	x := h.Run(t, dockertest.RunOptions{Args: []string{"exit", "0"}})
	h.WaitState(t, x.ID, "exited", 10*time.Second)
	rep := job.Run(context.Background(), jobdocker.Exec(c, jobdocker.ExecOptions{Cmd: []string{"/testbox", "print", "x"}}), resolve(t, c, x.Name), job.RunOptions{})
	require.Error(t, rep.Results[0].Err)
	assert.Contains(t, rep.Results[0].Err.Error(), "container is exited: exec needs a running container")
	assert.Equal(t, job.ExitFailed, rep.ExitCode())
}

// TestExecDeadlineKillsProcess proves the deadline really ends the process
// tree: the exec'd testbox spawns children, and after the deadline none of
// them is left in the container's process table.
func TestExecDeadlineKillsProcess(t *testing.T) {
	t.Parallel()
	h, c := engine(t)
	x := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	h.WaitState(t, x.ID, "running", 10*time.Second)
	ctx := context.Background()

	start := time.Now()
	res, err := c.Exec(ctx, x.ID, container.ExecOptions{
		Cmd:     []string{"/testbox", "spawn", "2", "--", "sleep", "forever", "--ignore-term"},
		Timeout: 500 * time.Millisecond, KillGrace: 300 * time.Millisecond,
	})
	took := time.Since(start)
	require.NoError(t, err)
	assert.True(t, res.TimedOut)
	assert.Equal(t, container.KilledHost, res.Killed, "a local engine is reached from the host")
	assert.Equal(t, 137, res.ExitCode, "SIGTERM is ignored, so SIGKILL ends it")
	assert.Less(t, took, 5*time.Second)

	top, err := c.Top(ctx, x.ID, container.TopOptions{})
	require.NoError(t, err)
	assert.Len(t, top.Processes, 1, "only the container's own process may remain: %v", top.Processes)
}

func TestExecCancelledContextKillsProcess(t *testing.T) {
	t.Parallel()
	h, c := engine(t)
	x := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	h.WaitState(t, x.ID, "running", 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	res, err := c.Exec(ctx, x.ID, container.ExecOptions{Cmd: []string{"/testbox", "sleep", "forever"}, KillGrace: time.Second})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, container.KilledHost, res.Killed)
	assert.NotEqual(t, -1, res.ExitCode)
	top, err := c.Top(context.Background(), x.ID, container.TopOptions{})
	require.NoError(t, err)
	assert.Len(t, top.Processes, 1)
}

func TestDownloadKeepsModesAndNeverOverwrites(t *testing.T) {
	t.Parallel()
	h, c := engine(t)
	x := h.Run(t, dockertest.RunOptions{Args: []string{"tree", "/data", "--", "exit", "0"}})
	h.WaitState(t, x.ID, "exited", 10*time.Second)
	dest := t.TempDir()
	ts := resolve(t, c, x.Name)

	var out bytes.Buffer
	utc := time.UTC
	rep := job.Run(context.Background(), jobdocker.Download(c, "/data/", dest, jobdocker.DownloadOptions{Out: &out, Location: utc}), ts, job.RunOptions{})
	require.NoError(t, rep.Errors())
	want := filepath.Join(dest, x.Name+"_data.tar")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Equal(t, want, lines[0], "the archive path comes first")
	assert.Regexp(t, `^drwxr-xr-x 0/0 0 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d data/$`, lines[1])
	joined := strings.Join(lines, "\n")
	assert.Regexp(t, `-rw------- 1000/1000 6 .* data/sub/b\.txt`, joined)
	assert.Regexp(t, `-rwxr-xr-x 0/0 10 .* data/exec\.sh`, joined)

	f, err := os.Open(want)
	require.NoError(t, err)
	defer f.Close()
	tr := tar.NewReader(f)
	modes := map[string]int64{}
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		modes[hd.Name] = hd.Mode & 0o7777
		if hd.Name == "data/a.txt" {
			b, _ := io.ReadAll(tr)
			assert.Equal(t, "alpha\n", string(b))
		}
	}
	assert.Equal(t, map[string]int64{"data/": 0o755, "data/a.txt": 0o644, "data/sub/": 0o750, "data/sub/b.txt": 0o600, "data/exec.sh": 0o755}, modes)

	// A second download never overwrites the first.
	out.Reset()
	rep = job.Run(context.Background(), jobdocker.Download(c, "/data/", dest, jobdocker.DownloadOptions{Out: &out}), ts, job.RunOptions{})
	require.NoError(t, rep.Errors())
	assert.Equal(t, filepath.Join(dest, x.Name+"_data-1.tar"), rep.Results[0].Outcome.Message)
	entries, _ := os.ReadDir(dest)
	assert.Len(t, entries, 2, "no partial files may be left behind")

	// A missing source fails for that container and leaves nothing behind.
	rep = job.Run(context.Background(), jobdocker.Download(c, "/nope", dest, jobdocker.DownloadOptions{}), ts, job.RunOptions{})
	require.Error(t, rep.Results[0].Err)
	assert.True(t, container.IsNotFound(rep.Results[0].Err), "%v", rep.Results[0].Err)
	entries, _ = os.ReadDir(dest)
	assert.Len(t, entries, 2)
}

func TestContainerRemovedMidOperation(t *testing.T) {
	t.Parallel()
	h, c := engine(t)
	x := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	h.WaitState(t, x.ID, "running", 10*time.Second)
	ts := resolve(t, c, x.Name)
	_, err := c.Remove(context.Background(), x.ID, container.RemoveOptions{Force: true})
	require.NoError(t, err)
	for _, a := range []job.Action{jobdocker.Start(c), jobdocker.Stop(c, jobdocker.StopOptions{}), jobdocker.Exec(c, jobdocker.ExecOptions{Cmd: []string{"x"}})} {
		rep := job.Run(context.Background(), a, ts, job.RunOptions{})
		require.Error(t, rep.Results[0].Err)
		assert.True(t, container.IsNotFound(rep.Results[0].Err), "%v", rep.Results[0].Err)
		assert.Equal(t, job.ExitFailed, rep.ExitCode())
	}
}

func TestUnreachableDaemon(t *testing.T) {
	t.Parallel()
	cfg := container.DefaultConfig()
	cfg.Host = dockertest.Unreachable(t)
	c, err := container.New(cfg)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Resolve(context.Background(), inventory.Selector{Names: []string{"x"}})
	assert.ErrorIs(t, err, container.ErrUnreachable)
	assert.Equal(t, job.ExitError, job.Failed(err).ExitCode())
}
