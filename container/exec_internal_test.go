package container

import (
	"context"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExecDeadlineWithoutHostAccess takes the remote path: the host's
// processes are not visible (an empty proc directory), so minato must try
// the in-container kill. The test image has no /bin/sh, so that fails and
// Exec says so at once, instead of hanging or claiming success.
func TestExecDeadlineWithoutHostAccess(t *testing.T) {
	h := dockertest.New(t)
	x := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	h.WaitState(t, x.ID, "running", 10*time.Second)
	cfg := DefaultConfig()
	cfg.Host = h.Host
	c, err := New(cfg, withProcDir(t.TempDir()))
	require.NoError(t, err)
	defer c.Close()

	start := time.Now()
	res, err := c.Exec(context.Background(), x.ID, ExecOptions{Cmd: []string{"/testbox", "sleep", "forever"}, Timeout: 300 * time.Millisecond, KillGrace: -1})
	assert.ErrorIs(t, err, ErrExecNotKilled)
	assert.True(t, res.TimedOut)
	assert.Equal(t, KilledNone, res.Killed)
	assert.Equal(t, -1, res.ExitCode)
	assert.Less(t, time.Since(start), 10*time.Second)
}

// TestExecDeadlineInContainer takes the remote path on an image that has a
// shell: with the host's processes invisible, the second exec inside the
// container must end the whole tagged process tree.
func TestExecDeadlineInContainer(t *testing.T) {
	h := dockertest.New(t)
	x := h.Run(t, dockertest.RunOptions{Image: h.ShellImage(t), Args: []string{"sleep", "forever"}})
	h.WaitState(t, x.ID, "running", 10*time.Second)
	cfg := DefaultConfig()
	cfg.Host = h.Host
	c, err := New(cfg, withProcDir(t.TempDir()))
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()

	res, err := c.Exec(ctx, x.ID, ExecOptions{Cmd: []string{"/testbox", "spawn", "2", "--", "sleep", "forever", "--ignore-term"}, Timeout: 500 * time.Millisecond, KillGrace: 500 * time.Millisecond})
	require.NoError(t, err)
	assert.True(t, res.TimedOut)
	assert.Equal(t, KilledInContainer, res.Killed)
	assert.Equal(t, 137, res.ExitCode, "SIGTERM is ignored, so the in-container SIGKILL ends it")
	require.Eventually(t, func() bool {
		top, err := c.Top(ctx, x.ID, TopOptions{})
		return err == nil && len(top.Processes) == 1
	}, 5*time.Second, 50*time.Millisecond, "only the container's own process may remain")

	// A polite command ends at SIGTERM, within the grace.
	res, err = c.Exec(ctx, x.ID, ExecOptions{Cmd: []string{"/bin/sleep", "600"}, Timeout: 300 * time.Millisecond, KillGrace: 5 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, KilledInContainer, res.Killed)
	assert.Equal(t, 143, res.ExitCode)
}
