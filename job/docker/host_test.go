package docker_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	jobdocker "github.com/minato-ops/minato/job/docker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHostCommandOutputAndExitCode(t *testing.T) {
	t.Parallel()
	var all, out, errOut syncBuffer
	ctx := job.WithOutput(context.Background(), &all)
	a := jobdocker.HostCommand([]string{"sh", "-c", "echo out; echo err >&2; exit 4"}, jobdocker.HostOptions{Stdout: &out, Stderr: &errOut})
	res, err := a.Do(ctx, inventory.Target{})
	require.NoError(t, err, "a non-zero exit is an outcome")
	assert.Equal(t, 4, res.ExitCode)
	assert.Equal(t, "out\n", out.String())
	assert.Equal(t, "err\n", errOut.String())
	assert.Contains(t, all.String(), "out\n")
	assert.Contains(t, all.String(), "err\n")
	assert.False(t, res.Ended.Before(res.Started))

	res, err = jobdocker.HostCommand([]string{"true"}, jobdocker.HostOptions{}).Do(context.Background(), inventory.Target{})
	require.NoError(t, err)
	assert.True(t, res.Succeeded())
}

func TestHostCommandDirAndEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out syncBuffer
	a := jobdocker.HostCommand([]string{"sh", "-c", `pwd; echo "$MINATO_HOST_X"; test -n "$PATH" && echo path`}, jobdocker.HostOptions{Dir: dir, Env: []string{"MINATO_HOST_X=yes"}, Stdout: &out})
	res, err := a.Do(context.Background(), inventory.Target{})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	real, _ := filepath.EvalSymlinks(dir)
	assert.Equal(t, real+"\nyes\npath\n", out.String(), "Env adds to minato's environment")
}

func TestHostCommandCannotStart(t *testing.T) {
	t.Parallel()
	_, err := jobdocker.HostCommand([]string{"minato-no-such-program"}, jobdocker.HostOptions{}).Do(context.Background(), inventory.Target{})
	assert.ErrorContains(t, err, "minato-no-such-program")
	_, err = jobdocker.HostCommand(nil, jobdocker.HostOptions{}).Do(context.Background(), inventory.Target{})
	assert.ErrorContains(t, err, "empty command")
	_, err = jobdocker.HostCommand([]string{"true"}, jobdocker.HostOptions{Dir: filepath.Join(t.TempDir(), "missing")}).Do(context.Background(), inventory.Target{})
	assert.Error(t, err)
	if _, err := os.Stat("/bin/sh"); err == nil {
		_, err = jobdocker.HostCommand([]string{"/bin/sh"}, jobdocker.HostOptions{}).Do(canceled(), inventory.Target{})
		assert.ErrorIs(t, err, context.Canceled, "not started when ctx is already done")
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestHostCommandDeadline(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := jobdocker.HostCommand([]string{"sleep", "30"}, jobdocker.HostOptions{}).Do(ctx, inventory.Target{})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 128+15, res.ExitCode, "ended by SIGTERM")
	assert.Less(t, time.Since(start), 3*time.Second)
}
