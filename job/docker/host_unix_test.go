//go:build linux

package docker_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	jobdocker "github.com/minato-ops/minato/job/docker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// liveInGroup lists the PIDs of non-zombie processes in process group pgid.
func liveInGroup(t *testing.T, pgid int) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	require.NoError(t, err)
	var pids []int
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) < 3 || fields[0] == "Z" || fields[0] == "X" {
			continue
		}
		if pg, _ := strconv.Atoi(fields[2]); pg == pgid {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			pids = append(pids, pid)
		}
	}
	return pids
}

// runGroup starts script under HostCommand, waits for it to print its PID
// (= its process group), cancels after the children are up, and returns
// the group, the elapsed time after cancel, the outcome and error.
func runGroup(t *testing.T, script string, grace time.Duration) (int, time.Duration, job.Outcome, error) {
	t.Helper()
	var out syncBuffer
	ctx, cancel := context.WithCancel(job.WithOutput(context.Background(), &out))
	defer cancel()
	type result struct {
		o   job.Outcome
		err error
	}
	got := make(chan result, 1)
	go func() {
		o, err := jobdocker.HostCommand([]string{"sh", "-c", script}, jobdocker.HostOptions{KillGrace: grace}).Do(ctx, inventory.Target{})
		got <- result{o, err}
	}()
	var pgid int
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if line, ok := strings.CutSuffix(out.String(), "\n"); ok {
			pgid, _ = strconv.Atoi(line)
			if len(liveInGroup(t, pgid)) >= 3 { // sh and both sleeps
				break
			}
		}
	}
	require.NotZero(t, pgid, "script printed no PID: %q", out.String())
	require.GreaterOrEqual(t, len(liveInGroup(t, pgid)), 3)
	start := time.Now()
	cancel()
	select {
	case r := <-got:
		return pgid, time.Since(start), r.o, r.err
	case <-time.After(grace + 10*time.Second):
		t.Fatal("Do did not return after cancel")
	}
	return 0, 0, job.Outcome{}, nil
}

func TestHostCommandCancelKillsProcessGroup(t *testing.T) {
	t.Parallel()
	pgid, elapsed, res, err := runGroup(t, "echo $$; sleep 30 & sleep 30", 5*time.Second)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 128+15, res.ExitCode, "sh ended by SIGTERM")
	assert.Less(t, elapsed, 2*time.Second, "SIGTERM suffices: no need to wait for the grace")
	assert.Empty(t, liveInGroup(t, pgid), "the background sleep is gone too")
}

func TestHostCommandCancelKillsAfterGrace(t *testing.T) {
	t.Parallel()
	// SIGTERM is ignored by sh and (inherited) by both sleeps.
	pgid, elapsed, res, err := runGroup(t, `trap "" TERM; echo $$; sleep 30 & sleep 30`, 500*time.Millisecond)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 128+9, res.ExitCode, "SIGKILLed")
	assert.GreaterOrEqual(t, elapsed, 500*time.Millisecond)
	assert.Less(t, elapsed, 3*time.Second)
	assert.Empty(t, liveInGroup(t, pgid))
}
