package scheduler_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/boltstore"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loudAdopter is a job.Adopter whose work, kept in work under key as a
// container outlives the process that started it, writes size bytes of
// output, lasts d and exits with code. Release forgets the work.
type loudAdopter struct {
	work *sync.Map // key -> end time
	key  string
	size int
	d    time.Duration
	code int
}

func (a *loudAdopter) wait(ctx context.Context, end time.Time) (job.Outcome, error) {
	_, _ = io.WriteString(job.Output(ctx), strings.Repeat("x", a.size))
	select {
	case <-time.After(time.Until(end)):
		return job.Outcome{ExitCode: a.code}, nil
	case <-ctx.Done():
		if !job.Detached(ctx) {
			a.work.Delete(a.key)
		}
		return job.Outcome{ExitCode: 143}, context.Cause(ctx)
	}
}

func (a *loudAdopter) Do(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
	end := time.Now().Add(a.d)
	a.work.Store(a.key, end)
	return a.wait(ctx, end)
}

func (a *loudAdopter) Adopt(ctx context.Context, _ inventory.Target) (job.Outcome, bool, error) {
	end, ok := a.work.Load(a.key)
	if !ok {
		return job.Outcome{}, false, nil
	}
	out, err := a.wait(ctx, end.(time.Time))
	return out, true, err
}

func (a *loudAdopter) Release(context.Context, inventory.Target) error {
	a.work.Delete(a.key)
	return nil
}

// TestSchedulerOnFullDisk runs a real boltstore on a 256 KiB tmpfs that
// fills up while a unit runs: its result (exit 3, 96 KiB of output)
// cannot be written, the scheduler reports ENOSPC in Health and stops
// with the disk still full; once space is freed, the next scheduler
// adopts the kept work and records the real exit code and output.
func TestSchedulerOnFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "minato-test", dir).CombinedOutput(); err != nil {
		t.Skipf("skipped: a full disk needs a small tmpfs, and mounting one is not permitted here (mount -t tmpfs: %v: %s); TestSchedulerStopsWhileStoreFails covers the same path with a failing store", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	st, err := boltstore.Open(filepath.Join(dir, "jobs.db"), boltstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, st.Close()) }) // before the umount

	synctest.Test(t, func(t *testing.T) {
		work := &sync.Map{}
		entry := scheduler.Entry{Name: "n", Build: func(_ []byte, runID string) (*job.Network, error) {
			return &job.Network{Name: "n", Units: []job.Unit{{Name: "u",
				Action: &loudAdopter{work: work, key: runID + "/u", size: 96 << 10, d: time.Minute, code: 3}}}}, nil
		}}
		start := func() (*scheduler.Scheduler, func()) {
			s, err := scheduler.New(scheduler.Config{}, st, st)
			require.NoError(t, err)
			require.NoError(t, s.Add(entry))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			synctest.Wait()
			return s, func() { cancel(); require.NoError(t, <-done) }
		}
		ctx := context.Background()

		s, stop := start()
		rec, _, err := s.Submit(ctx, "n", scheduler.SubmitOptions{})
		require.NoError(t, err)
		key := rec.ID + "/u"
		time.Sleep(30 * time.Second)
		filler := fill(t, dir)

		time.Sleep(time.Minute) // u ends with exit 3 and 96 KiB of output
		err = s.Health()
		require.ErrorIs(t, err, scheduler.ErrUnavailable)
		require.ErrorIs(t, err, syscall.ENOSPC, "Health carries the store's error")
		t.Logf("Health: %v", err)
		got, err := st.GetRun(ctx, rec.ID)
		require.NoError(t, err, "reads go on when the disk is full")
		u, _ := got.Report.Unit("u")
		assert.Equal(t, job.Running, u.State, "the result could not be written")
		_, kept := work.Load(key)
		assert.True(t, kept, "the work is kept until its result is written")
		stop() // the agent stops with the disk still full

		require.NoError(t, os.Remove(filler))
		s, stop = start()
		defer stop()
		require.NoError(t, s.Health())
		got, err = st.GetRun(ctx, rec.ID)
		require.NoError(t, err)
		u, _ = got.Report.Unit("u")
		assert.Equal(t, job.StateFailed, u.State)
		assert.Equal(t, 3, u.ExitCode, "the real exit code, read from the kept work")
		assert.Len(t, u.Output, 96<<10, "and its output")
		assert.Equal(t, job.StateFailed, got.Report.State)
		_, kept = work.Load(key)
		assert.False(t, kept, "released once the result is written")
	})
}

// fill writes a file in dir until the file system is full and returns
// its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			require.True(t, errors.Is(err, syscall.ENOSPC), "filling the disk: %v", err)
			return path
		}
	}
}
