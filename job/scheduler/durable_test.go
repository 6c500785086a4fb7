package scheduler_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errFull is the error of failingStore's writes.
var errFull = errors.New("write jobs.db: no space left on device")

// failingStore is a Store whose writes (PutRun, CreateRun, DeleteRun,
// DeleteRuns, PutValue) fail with errFull while full is set, as on a full
// disk; reads go on. It counts the writes that failed.
type failingStore struct {
	scheduler.Store
	full   atomic.Bool
	failed atomic.Int32
}

func (f *failingStore) fail() error {
	if f.full.Load() {
		f.failed.Add(1)
		return errFull
	}
	return nil
}

func (f *failingStore) PutRun(ctx context.Context, rec scheduler.RunRecord) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.PutRun(ctx, rec)
}

func (f *failingStore) CreateRun(ctx context.Context, rec scheduler.RunRecord) (bool, error) {
	if err := f.fail(); err != nil {
		return false, err
	}
	return f.Store.CreateRun(ctx, rec)
}

func (f *failingStore) DeleteRun(ctx context.Context, id string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.DeleteRun(ctx, id)
}

func (f *failingStore) DeleteRuns(ctx context.Context, before time.Time) (int, error) {
	if err := f.fail(); err != nil {
		return 0, err
	}
	return f.Store.DeleteRuns(ctx, before)
}

func (f *failingStore) PutValue(ctx context.Context, key string, v []byte) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.PutValue(ctx, key, v)
}

// unitIn returns the unit's report in the run as the Store has it.
func (h *schedHarness) unitIn(id, unit string) job.UnitReport {
	h.t.Helper()
	rec, err := h.store.GetRun(context.Background(), id)
	require.NoError(h.t, err)
	u, ok := rec.Report.Unit(unit)
	require.True(h.t, ok, "unit %s of %s", unit, id)
	return u
}

// TestSchedulerStopsWhileStoreFails: a unit ends (exit 3) while the Store
// cannot write; the scheduler says so, refuses new work, keeps retrying,
// and keeps the unit's work. It stops before the Store recovers: the next
// scheduler adopts the kept work and records the real exit code.
func TestSchedulerStopsWhileStoreFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSchedHarness(t)
		fs := &failingStore{Store: h.store}
		h.store = fs
		h.d["u"], h.code["u"] = time.Minute, 3
		e := h.entry("n", nil, "u")
		s, stop := h.start(scheduler.Config{}, e)
		ctx := context.Background()
		rec, _, err := s.Submit(ctx, "n", scheduler.SubmitOptions{})
		require.NoError(t, err)
		key := rec.ID + "/u"
		time.Sleep(30 * time.Second)
		require.NoError(t, s.Health())

		fs.full.Store(true)
		time.Sleep(time.Minute) // u ends at 00:01 with exit 3
		err = s.Health()
		require.ErrorIs(t, err, scheduler.ErrUnavailable)
		require.ErrorIs(t, err, errFull, "Health carries the store's error")
		assert.Contains(t, err.Error(), "the job store has failed to write since 2000-01-01T00:01:00Z")
		assert.Equal(t, job.Running, h.unitIn(rec.ID, "u").State, "the result is not in the store")
		assert.True(t, h.work.Running(key), "the unit's work (its container) is kept until its result is recorded")
		assert.Greater(t, fs.failed.Load(), int32(5), "the result's write is retried")

		_, _, err = s.Submit(ctx, "n", scheduler.SubmitOptions{ID: "n@refused"})
		require.ErrorIs(t, err, scheduler.ErrUnavailable, "no new run while the store fails")
		require.ErrorIs(t, s.StopQueue(ctx, scheduler.DefaultQueue), scheduler.ErrUnavailable)
		_, err = h.store.GetRun(ctx, "n@refused")
		require.ErrorIs(t, err, job.ErrNotFound)

		stop() // the agent stops; the disk is still full
		assert.True(t, h.work.Running(key), "kept after the scheduler stopped")
		assert.Equal(t, job.Running, h.unitIn(rec.ID, "u").State)

		fs.full.Store(false) // space freed; the agent starts again
		s, stop = h.start(scheduler.Config{}, e)
		defer stop()
		require.NoError(t, s.Health())
		u := h.unitIn(rec.ID, "u")
		assert.Equal(t, job.StateFailed, u.State)
		assert.Equal(t, 3, u.ExitCode, "the real exit code, read from the kept work")
		assert.NotContains(t, u.Message, "interrupted")
		got, err := h.store.GetRun(ctx, rec.ID)
		require.NoError(t, err)
		assert.Equal(t, job.StateFailed, got.Report.State)
		assert.Len(t, h.startsOf(key), 1, "adopted, not run again")
		assert.Equal(t, 1, h.adopted[key])
		assert.False(t, h.work.Running(key), "released once its result is recorded")
	})
}

// TestSchedulerRetriesUntilStoreWrites: the Store fails while a unit ends
// and writes again five minutes later: the scheduler records the real
// result within the retry backoff, turns healthy, releases the work and
// admits new runs; the run-ended hook hears of the run once, after its
// record is written.
func TestSchedulerRetriesUntilStoreWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSchedHarness(t)
		fs := &failingStore{Store: h.store}
		h.store = fs
		h.d["a"], h.d["b"], h.code["b"] = time.Minute, time.Minute, 3
		e := h.entry("n", nil, "a", "b")
		var ended atomic.Int32
		s, err := newScheduler(scheduler.Config{}, fs, scheduler.WithRunEnded(func(r scheduler.RunRecord) {
			ended.Add(1)
			stored, err := fs.Store.GetRun(context.Background(), r.ID)
			assert.NoError(t, err)
			assert.True(t, stored.Finished(), "told after the record is in the store")
		}))
		require.NoError(t, err)
		require.NoError(t, s.Add(e))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		defer func() { cancel(); require.NoError(t, <-done) }()
		synctest.Wait()

		rec, _, err := s.Submit(ctx, "n", scheduler.SubmitOptions{})
		require.NoError(t, err)
		time.Sleep(30 * time.Second)
		fs.full.Store(true)
		time.Sleep(5 * time.Minute) // a ends at 00:01
		require.ErrorIs(t, s.Health(), scheduler.ErrUnavailable)
		require.ErrorIs(t, s.Hold(ctx, rec.ID, "b"), scheduler.ErrUnavailable, "a control could not be recorded")
		assert.Empty(t, h.startsOf(rec.ID+"/b"), "b waits: a's result is not recorded")
		assert.True(t, h.work.Running(rec.ID+"/a"), "a's work is kept")
		assert.Equal(t, job.Running, h.unitIn(rec.ID, "a").State)
		assert.Zero(t, ended.Load())

		fs.full.Store(false)
		time.Sleep(10 * time.Second) // the backoff's longest wait
		require.NoError(t, s.Health())
		assert.Equal(t, job.Succeeded, h.unitIn(rec.ID, "a").State)
		assert.False(t, h.work.Running(rec.ID+"/a"), "released once recorded")
		time.Sleep(2 * time.Minute)
		b := h.unitIn(rec.ID, "b")
		assert.Equal(t, job.StateFailed, b.State)
		assert.Equal(t, 3, b.ExitCode)
		got, err := h.store.GetRun(ctx, rec.ID)
		require.NoError(t, err)
		assert.Equal(t, job.StateFailed, got.Report.State)
		assert.Equal(t, int32(1), ended.Load())
		_, _, err = s.Submit(ctx, "n", scheduler.SubmitOptions{})
		require.NoError(t, err, "admitted again")
	})
}

// TestSchedulerDueTimesWhileStoreFails: due times that fall while the
// Store fails are not run then; when it writes again the latest one runs
// if that is within the network's catch-up window, and is missed
// otherwise.
func TestSchedulerDueTimesWhileStoreFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSchedHarness(t)
		fs := &failingStore{Store: h.store}
		h.store = fs
		h.d["u"] = time.Minute
		hourly := h.entry("hourly", cron(t, "0 * * * *"), "u")
		hourly.CatchUp = 30 * time.Minute
		strict := h.entry("strict", cron(t, "0 * * * *"), "u") // CatchUp 0
		s, stop := h.start(scheduler.Config{}, hourly, strict)
		defer stop()

		time.Sleep(30 * time.Minute)
		fs.full.Store(true) // 00:30 to 01:10
		time.Sleep(40 * time.Minute)
		require.ErrorIs(t, s.Health(), scheduler.ErrUnavailable, "the 01:00 runs could not be recorded")
		fs.full.Store(false)
		time.Sleep(10 * time.Second) // a probe finds the store writing again
		require.NoError(t, s.Health())
		synctest.Wait()

		time.Sleep(45 * time.Minute) // 02:00 falls in the next outage
		fs.full.Store(true)          // 01:55:10 to 02:45:10
		time.Sleep(50 * time.Minute)
		fs.full.Store(false)
		time.Sleep(30 * time.Minute) // 03:00 runs as usual

		runs := h.history("hourly")
		late := runs[scheduler.ScheduledRunID("hourly", at("01:00"))]
		assert.Equal(t, scheduler.TriggerCatchUp, late.Trigger, "run late, within its catch-up window")
		assert.Equal(t, job.Succeeded, late.Report.State)
		starts := h.startsOf(late.ID + "/u")
		require.Len(t, starts, 1)
		assert.WithinRange(t, starts[0], at("01:10"), at("01:10").Add(10*time.Second))
		assert.NotContains(t, runs, scheduler.ScheduledRunID("hourly", at("02:00")), "beyond its catch-up window when the store wrote again: missed")
		assert.Contains(t, runs, scheduler.ScheduledRunID("hourly", at("03:00")))
		assert.Len(t, runs, 2)

		strictRuns := h.history("strict")
		assert.NotContains(t, strictRuns, scheduler.ScheduledRunID("strict", at("01:00")), "no catch-up window: missed")
		assert.Contains(t, strictRuns, scheduler.ScheduledRunID("strict", at("03:00")))
		assert.Len(t, strictRuns, 1)
	})
}

// TestSchedulerPrunesOnlyInsideSpillDir: pruning removes a pruned unit's
// output file only when it is a regular file inside Config.SpillDir; a
// record naming a file elsewhere (an /etc/passwd of the test's own), a
// path that leaves the directory with "..", a file reached through a
// symlink that points out, or a symlink, is left alone.
func TestSchedulerPrunesOnlyInsideSpillDir(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		spill, outside := filepath.Join(dir, "spill"), filepath.Join(dir, "etc")
		require.NoError(t, os.Mkdir(spill, 0o700))
		require.NoError(t, os.Mkdir(outside, 0o700))
		require.NoError(t, os.Symlink(outside, filepath.Join(spill, "etc-link")))
		require.NoError(t, os.Symlink(spill, filepath.Join(dir, "spill-link"))) // the configured path
		write := func(p string) string {
			require.NoError(t, os.WriteFile(p, []byte("root:x:0:0"), 0o600))
			return p
		}
		passwd := write(filepath.Join(outside, "passwd"))
		shadow := write(filepath.Join(outside, "shadow"))
		group := write(filepath.Join(outside, "group"))
		hosts := write(filepath.Join(outside, "hosts"))
		require.NoError(t, os.Symlink(hosts, filepath.Join(spill, "hosts.log")))
		inside := write(filepath.Join(spill, "n-u-1.log"))
		viaLink := write(filepath.Join(spill, "n-u-2.log"))
		sub := filepath.Join(spill, "sub")
		require.NoError(t, os.Mkdir(sub, 0o700))
		nested := write(filepath.Join(sub, "n-u-3.log"))
		files := map[string]string{
			"absolute":           passwd,
			"dot-dot":            filepath.Join(spill, "..", "etc", "shadow"),
			"through a symlink":  filepath.Join(spill, "etc-link", "group"),
			"a symlink":          filepath.Join(spill, "hosts.log"),
			"inside":             inside,
			"inside via link":    filepath.Join(dir, "spill-link", "n-u-2.log"),
			"inside, nested":     nested,
			"gone":               filepath.Join(spill, "n-u-4.log"),
			"the directory":      spill,
			"relative, escaping": "../../etc/passwd",
		}

		run := func(cfg scheduler.Config) {
			h := newSchedHarness(t)
			ctx := context.Background()
			time.Sleep(72 * time.Hour)
			for name, f := range files {
				require.NoError(t, h.store.PutRun(ctx, scheduler.RunRecord{ID: "n@" + name, Network: "n", Created: time.Now().Add(-50 * time.Hour), Ended: time.Now().Add(-49 * time.Hour),
					Report: job.NetworkReport{Name: "n", State: job.StateFailed, Units: []job.UnitReport{{Name: "u", State: job.StateFailed, OutputFile: f}}}}))
			}
			_, stop := h.start(cfg, h.entry("n", nil, "u"))
			stop()
			assert.Empty(t, h.history("n"), "the runs are pruned, whatever happens to their files")
		}

		run(scheduler.Config{Retention: 48 * time.Hour}) // no SpillDir: no file is removed
		for _, f := range []string{passwd, shadow, group, hosts, inside, viaLink, nested} {
			assert.FileExists(t, f)
		}

		run(scheduler.Config{Retention: 48 * time.Hour, SpillDir: filepath.Join(dir, "spill-link")})
		for _, f := range []string{passwd, shadow, group, hosts} {
			assert.FileExists(t, f, "outside the spill directory, or not a regular file: kept")
		}
		_, err := os.Lstat(filepath.Join(spill, "hosts.log"))
		assert.NoError(t, err, "a symlink is not a spilled output file: kept")
		for _, f := range []string{inside, viaLink, nested} {
			assert.NoFileExists(t, f, "inside the spill directory: removed")
		}
		assert.DirExists(t, spill)
		assert.True(t, strings.HasPrefix(viaLink, spill))
	})
}
