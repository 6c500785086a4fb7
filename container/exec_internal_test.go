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
