package container_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// createLabelled creates a container labelled for the harness and removes
// it at cleanup.
func createLabelled(t *testing.T, h *dockertest.Harness, c *container.Client, o container.CreateOptions) string {
	t.Helper()
	if o.Image == "" {
		o.Image = h.Image(t)
	}
	o.Labels = map[string]string{dockertest.LabelKey: h.RunID(), dockertest.NameLabelKey: t.Name()}
	res, err := c.Create(context.Background(), o)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := c.Remove(ctx, res.ID, container.RemoveOptions{Force: true, Volumes: true})
		if err != nil && !container.IsNotFound(err) {
			t.Errorf("cleanup: %v", err)
		}
	})
	return res.ID
}

func TestRealCreateStartWaitLogs(t *testing.T) {
	t.Parallel()
	h, c := realClient(t)
	ctx := context.Background()
	id := createLabelled(t, h, c, container.CreateOptions{
		Cmd: []string{"print", "hello", "--", "eprint", "oops", "--", "sleep", "300ms", "--", "print", "bye", "--", "env", "--", "exit", "3"},
		Env: []string{"MINATO_X=42"}, WorkingDir: "/tmp", StopSignal: "SIGINT",
	})
	ins, err := c.Inspect(ctx, id, container.InspectOptions{})
	require.NoError(t, err)
	assert.Equal(t, container.Created, ins.State)
	assert.Equal(t, h.RunID(), ins.Labels[dockertest.LabelKey])

	_, err = c.Start(ctx, id, container.StartOptions{})
	require.NoError(t, err)
	var out, errOut bytes.Buffer
	start := time.Now()
	require.NoError(t, c.Logs(ctx, id, container.LogsOptions{Follow: true, Stdout: &out, Stderr: &errOut}))
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "Follow waits for the container to stop")
	assert.True(t, strings.HasPrefix(out.String(), "hello\nbye\n"), out.String())
	assert.Contains(t, out.String(), "\nMINATO_X=42\n")
	assert.Equal(t, "oops\n", errOut.String())

	res, err := c.Wait(ctx, id, container.WaitOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, res.ExitCode)

	// Tail and Since on the finished container.
	out.Reset()
	require.NoError(t, c.Logs(ctx, id, container.LogsOptions{Stdout: &out, Tail: "1"}))
	assert.Equal(t, 1, strings.Count(out.String(), "\n"), out.String())
	out.Reset()
	require.NoError(t, c.Logs(ctx, id, container.LogsOptions{Stdout: &out, Since: time.Now().Add(time.Hour)}))
	assert.Empty(t, out.String())
}

func TestRealWaitNextExitBeforeStart(t *testing.T) {
	t.Parallel()
	h, c := realClient(t)
	ctx := context.Background()
	id := createLabelled(t, h, c, container.CreateOptions{Cmd: []string{"sleep", "200ms", "--", "exit", "5"}})
	got := make(chan container.WaitResult, 1)
	go func() {
		res, err := c.Wait(ctx, id, container.WaitOptions{Condition: container.WaitNextExit})
		assert.NoError(t, err)
		got <- res
	}()
	time.Sleep(100 * time.Millisecond) // let the wait reach the engine
	_, err := c.Start(ctx, id, container.StartOptions{})
	require.NoError(t, err)
	select {
	case res := <-got:
		assert.Equal(t, 5, res.ExitCode)
	case <-time.After(20 * time.Second):
		t.Fatal("Wait did not return")
	}

	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = c.Wait(wctx, id, container.WaitOptions{Condition: container.WaitNextExit})
	assert.ErrorIs(t, err, context.DeadlineExceeded, "no next exit of an exited container")
}

func TestRealCreateMissingImage(t *testing.T) {
	t.Parallel()
	h, c := realClient(t)
	name := "minato-test-noimage-" + h.RunID()
	_, err := c.Create(context.Background(), container.CreateOptions{Name: name, Image: "minato-no-such-image:never"})
	require.Error(t, err)
	assert.True(t, container.IsNotFound(err), "%v", err)
	assert.Contains(t, err.Error(), `image "minato-no-such-image:never" is not present on the engine and minato does not pull`)
	_, err = c.Inspect(context.Background(), name, container.InspectOptions{})
	assert.True(t, container.IsNotFound(err), "nothing created: %v", err)
}

func TestRealKill(t *testing.T) {
	t.Parallel()
	h, c := realClient(t)
	ctx := context.Background()
	id := createLabelled(t, h, c, container.CreateOptions{Cmd: []string{"print", "ready", "--", "sleep", "forever", "--ignore-term"}})
	_, err := c.Start(ctx, id, container.StartOptions{})
	require.NoError(t, err)
	// testbox ignores SIGTERM from before its first step: once "ready" is
	// printed, a SIGTERM cannot catch it during start-up.
	require.Eventually(t, func() bool {
		var out bytes.Buffer
		return c.Logs(ctx, id, container.LogsOptions{Stdout: &out, Stderr: io.Discard}) == nil && strings.Contains(out.String(), "ready")
	}, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, c.Kill(ctx, id, "SIGTERM"), "ignored by the container")
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = c.Wait(wctx, id, container.WaitOptions{})
	assert.ErrorIs(t, err, context.DeadlineExceeded, "still running after an ignored SIGTERM")

	require.NoError(t, c.Kill(ctx, id, ""))
	res, err := c.Wait(ctx, id, container.WaitOptions{})
	require.NoError(t, err)
	assert.Equal(t, 137, res.ExitCode)
	err = c.Kill(ctx, id, "")
	assert.True(t, container.IsConflict(err), "killing an exited container: %v", err)
}

func TestRealMemoryLimitOOM(t *testing.T) {
	t.Parallel()
	h, c := realClient(t)
	ctx := context.Background()
	id := createLabelled(t, h, c, container.CreateOptions{Cmd: []string{"sleep", "300ms", "--", "alloc", "64", "--", "sleep", "forever"}, Memory: 32 << 20})
	_, err := c.Start(ctx, id, container.StartOptions{})
	require.NoError(t, err)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := c.Wait(wctx, id, container.WaitOptions{})
	require.NoError(t, err)
	assert.Equal(t, 137, res.ExitCode)
	ins, err := c.Inspect(ctx, id, container.InspectOptions{})
	require.NoError(t, err)
	assert.True(t, ins.OOMKilled)
	assert.Equal(t, int64(32<<20), ins.MemoryLimit)
}
