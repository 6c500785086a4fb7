package scheduler_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/jobtest"
	"github.com/minato-ops/minato/job/schedule"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// schedHarness runs Schedulers over one Store, as agents restarting over
// one database, with actions that record what ran.
type schedHarness struct {
	t     *testing.T
	store scheduler.Store
	work  *jobtest.Work

	mu      sync.Mutex
	starts  map[string][]time.Time // unit key "run/unit" -> start times of Do
	adopted map[string]int
	d       map[string]time.Duration // unit -> duration
	code    map[string]int           // unit -> exit code
}

func newSchedHarness(t *testing.T) *schedHarness {
	return &schedHarness{t: t, store: scheduler.NewMemStore(), work: jobtest.NewWork(),
		starts: map[string][]time.Time{}, adopted: map[string]int{}, d: map[string]time.Duration{}, code: map[string]int{}}
}

// harnessAction is an Adopter keyed by run and unit that records when
// it started and what it adopted.
type harnessAction struct {
	h *schedHarness
	jobtest.Adopter
}

func (a *harnessAction) Do(ctx context.Context, t inventory.Target) (job.Outcome, error) {
	a.h.mu.Lock()
	a.h.starts[a.Key] = append(a.h.starts[a.Key], time.Now().UTC().Round(0))
	a.h.mu.Unlock()
	return a.Adopter.Do(ctx, t)
}

func (a *harnessAction) Adopt(ctx context.Context, t inventory.Target) (job.Outcome, bool, error) {
	if !a.Work.Running(a.Key) {
		return job.Outcome{}, false, nil
	}
	a.h.mu.Lock()
	a.h.adopted[a.Key]++
	a.h.mu.Unlock()
	return a.Adopter.Adopt(ctx, t)
}

// entry returns an Entry whose network has the units, each needing the
// one before.
func (h *schedHarness) entry(name string, sched schedule.Schedule, units ...string) scheduler.Entry {
	return scheduler.Entry{Name: name, Schedule: sched, Definition: []byte("def of " + name),
		Build: func(def []byte, runID string) (*job.Network, error) {
			n := &job.Network{Name: name}
			for i, u := range units {
				h.mu.Lock()
				a := &harnessAction{h: h, Adopter: jobtest.Adopter{Work: h.work, Key: runID + "/" + u, D: h.d[u], Code: h.code[u], Quiet: true}}
				h.mu.Unlock()
				unit := job.Unit{Name: u, Action: a}
				if i > 0 {
					unit.Needs = []string{units[i-1]}
				}
				n.Units = append(n.Units, unit)
			}
			return n, nil
		}}
}

func (h *schedHarness) startsOf(key string) []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.starts[key]...)
}

// start runs a Scheduler with the entries until the returned stop is
// called (which detaches it, as an agent's SIGTERM does).
func (h *schedHarness) start(cfg scheduler.Config, entries ...scheduler.Entry) (*scheduler.Scheduler, func()) {
	h.t.Helper()
	s, err := newScheduler(cfg, h.store)
	require.NoError(h.t, err)
	for _, e := range entries {
		require.NoError(h.t, s.Add(e))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	synctest.Wait()
	return s, func() {
		cancel()
		require.NoError(h.t, <-done)
	}
}

func cron(t *testing.T, spec string) *schedule.Cron {
	t.Helper()
	c, err := schedule.ParseCron(spec, time.UTC)
	require.NoError(t, err)
	return c
}

func (h *schedHarness) history(network string) map[string]scheduler.RunRecord {
	h.t.Helper()
	recs, err := h.store.ListRuns(context.Background(), scheduler.RunFilter{Network: network})
	require.NoError(h.t, err)
	out := map[string]scheduler.RunRecord{}
	for _, r := range recs {
		out[r.ID] = r
	}
	return out
}

func at(hhmm string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", "2000-01-01 "+hhmm)
	if err != nil {
		return time.Time{}
	}
	return t
}

func TestSchedulerRunsOnSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		require.Equal(t, at("00:00"), time.Now().UTC(), "the bubble starts at midnight UTC")
		h := newSchedHarness(t)
		h.d["u"] = time.Minute
		s, stop := h.start(scheduler.Config{}, h.entry("five", cron(t, "*/5 * * * *"), "u"))
		assert.Equal(t, at("00:05"), s.Networks()[0].Next.UTC())
		time.Sleep(17 * time.Minute)
		stop()
		runs := h.history("five")
		require.Len(t, runs, 3)
		for _, due := range []string{"00:05", "00:10", "00:15"} {
			id := scheduler.ScheduledRunID("five", at(due))
			r, ok := runs[id]
			require.True(t, ok, "run %s", id)
			assert.Equal(t, scheduler.TriggerSchedule, r.Trigger)
			assert.Equal(t, job.Succeeded, r.Report.State)
			assert.True(t, at(due).Equal(r.Due))
			assert.Equal(t, []time.Time{at(due)}, h.startsOf(id+"/u"), "started exactly at the due time")
			assert.Equal(t, []byte("def of five"), r.Definition)
		}
		assert.Equal(t, "five@20000101T000500Z", scheduler.ScheduledRunID("five", at("00:05")))
	})
}

func TestSchedulerOverlap(t *testing.T) {
	for _, tc := range []struct {
		policy scheduler.Overlap
		// the second run (due 00:10): its state and when its unit started
		state job.UnitState
		start string
		first job.UnitState
	}{
		{scheduler.OverlapSkip, job.Skipped, "", job.Succeeded},
		{scheduler.OverlapQueue, job.Succeeded, "00:12", job.Succeeded},
		{scheduler.OverlapReplace, job.Succeeded, "00:10", job.Cancelled},
		{scheduler.OverlapAllow, job.Succeeded, "00:10", job.Succeeded},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newSchedHarness(t)
				h.d["u"] = 7 * time.Minute
				e := h.entry("n", cron(t, "5,10 0 * * *"), "u")
				e.Overlap = tc.policy
				_, stop := h.start(scheduler.Config{}, e)
				time.Sleep(20 * time.Minute)
				synctest.Wait()
				stop()
				runs := h.history("n")
				first, second := runs[scheduler.ScheduledRunID("n", at("00:05"))], runs[scheduler.ScheduledRunID("n", at("00:10"))]
				assert.Equal(t, tc.first, first.Report.State, "the first run")
				assert.Equal(t, tc.state, second.Report.State, "the second run")
				starts := h.startsOf(second.ID + "/u")
				if tc.start == "" {
					assert.Empty(t, starts)
					assert.Equal(t, "skipped: run n@20000101T000500Z had not finished (overlap: skip)", second.Message)
				} else {
					assert.Equal(t, []time.Time{at(tc.start)}, starts)
				}
			})
		})
	}
}

func TestSchedulerCatchUpOnceAfterDowntime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSchedHarness(t)
		h.d["u"] = time.Minute
		mk := func(catchUp time.Duration) scheduler.Entry {
			e := h.entry("hourly", cron(t, "0 * * * *"), "u")
			e.CatchUp = catchUp
			return e
		}
		_, stop := h.start(scheduler.Config{}, mk(time.Hour))
		time.Sleep(time.Minute)
		stop()
		time.Sleep(2 * time.Hour) // down over 01:00 and 02:00
		_, stop = h.start(scheduler.Config{}, mk(time.Hour))
		synctest.Wait()
		stop()
		runs := h.history("hourly")
		require.Len(t, runs, 1, "only the latest missed due time runs")
		r := runs[scheduler.ScheduledRunID("hourly", at("02:00"))]
		assert.Equal(t, scheduler.TriggerCatchUp, r.Trigger)
		assert.Equal(t, []time.Time{at("02:01")}, h.startsOf(r.ID+"/u"), "run at the restart")
		// Restarting again does not run it twice.
		_, stop = h.start(scheduler.Config{}, mk(time.Hour))
		time.Sleep(2 * time.Minute)
		stop()
		assert.Len(t, h.history("hourly"), 1)
		assert.Len(t, h.startsOf(r.ID+"/u"), 1)

		// Beyond the window nothing is caught up.
		time.Sleep(3*time.Hour + 30*time.Minute)
		_, stop = h.start(scheduler.Config{}, mk(30*time.Minute))
		synctest.Wait()
		stop()
		assert.Len(t, h.history("hourly"), 1, "at 05:33, 05:00 is beyond a 30 min window")
	})
}

func TestSchedulerResumesAfterStopWithoutRunningTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSchedHarness(t)
		h.d["a"], h.d["b"], h.d["c"] = time.Minute, 10*time.Minute, time.Minute
		e := h.entry("n", nil, "a", "b", "c")
		s, stop := h.start(scheduler.Config{}, e)
		rec, created, err := s.Submit(context.Background(), "n", scheduler.SubmitOptions{})
		require.NoError(t, err)
		require.True(t, created)
		time.Sleep(3 * time.Minute) // a done, b running
		stop()
		mid, err := h.store.GetRun(context.Background(), rec.ID)
		require.NoError(t, err)
		assert.Equal(t, job.Running, mid.Report.State)
		assert.Equal(t, job.Succeeded, mid.Report.Units[0].State)
		assert.Equal(t, job.Running, mid.Report.Units[1].State)
		assert.Equal(t, job.Pending, mid.Report.Units[2].State)

		time.Sleep(time.Minute) // down while b runs
		s2, stop := h.start(scheduler.Config{}, e)
		time.Sleep(15 * time.Minute)
		got, err := s2.Get(context.Background(), rec.ID)
		require.NoError(t, err)
		stop()
		assert.Equal(t, job.Succeeded, got.Report.State)
		assert.Len(t, h.startsOf(rec.ID+"/a"), 1)
		assert.Len(t, h.startsOf(rec.ID+"/b"), 1, "b was adopted, not started again")
		assert.Equal(t, 1, h.adopted[rec.ID+"/b"])
		assert.Len(t, h.startsOf(rec.ID+"/c"), 1)
		b, _ := got.Report.Unit("b")
		assert.Equal(t, 10*time.Minute, b.Duration(), "b ended when its work ended")
		assert.False(t, got.Ended.IsZero())
	})
}

func TestSchedulerRerunRunsOnlyFailedUnits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSchedHarness(t)
		h.d["a"], h.d["b"] = time.Minute, time.Minute
		h.code["b"] = 3
		s, stop := h.start(scheduler.Config{}, h.entry("n", nil, "a", "b"))
		defer stop()
		ctx := context.Background()
		rec, _, err := s.Submit(ctx, "n", scheduler.SubmitOptions{})
		require.NoError(t, err)
		_, err = s.Rerun(ctx, rec.ID)
		require.ErrorIs(t, err, job.ErrState, "a running run cannot be rerun")
		time.Sleep(3 * time.Minute)
		done, err := s.Get(ctx, rec.ID)
		require.NoError(t, err)
		require.Equal(t, job.StateFailed, done.Report.State)

		h.mu.Lock()
		h.code["b"] = 0
		h.mu.Unlock()
		re, err := s.Rerun(ctx, rec.ID)
		require.NoError(t, err)
		assert.Equal(t, rec.ID+".rerun1", re.ID)
		assert.Equal(t, scheduler.TriggerRerun, re.Trigger)
		assert.Equal(t, rec.ID, re.RerunOf)
		time.Sleep(3 * time.Minute)
		got, err := s.Get(ctx, re.ID)
		require.NoError(t, err)
		assert.Equal(t, job.Succeeded, got.Report.State)
		assert.Empty(t, h.startsOf(re.ID+"/a"), "a succeeded: not rerun")
		assert.Len(t, h.startsOf(re.ID+"/b"), 1)
		a, _ := got.Report.Unit("a")
		oldA, _ := done.Report.Unit("a")
		assert.Equal(t, oldA, a, "a keeps its result")
		_, err = s.Rerun(ctx, re.ID)
		assert.ErrorIs(t, err, job.ErrState, "nothing to rerun in a run that succeeded")
	})
}

func TestSchedulerQueueStopSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSchedHarness(t)
		h.d["u"] = time.Minute
		cfg := scheduler.Config{Queues: []scheduler.QueueConfig{{Name: "batch", Concurrency: 1}}}
		e := h.entry("n", nil, "u")
		e.Queue, e.Overlap = "batch", scheduler.OverlapAllow
		s, stop := h.start(cfg, e)
		ctx := context.Background()
		require.NoError(t, s.StopQueue(ctx, "batch"))
		require.ErrorIs(t, s.StopQueue(ctx, "nope"), job.ErrNotFound)
		stop()

		s, stop = h.start(cfg, e)
		defer stop()
		assert.Equal(t, []scheduler.QueueStatus{{Name: "batch", Concurrency: 1, Stopped: true}, {Name: "default"}}, s.Queues())
		r1, _, err := s.Submit(ctx, "n", scheduler.SubmitOptions{})
		require.NoError(t, err)
		r2, _, err := s.Submit(ctx, "n", scheduler.SubmitOptions{})
		require.NoError(t, err)
		time.Sleep(10 * time.Minute)
		assert.Empty(t, h.startsOf(r1.ID+"/u"), "a stopped queue holds the work")
		startedAt := time.Now().UTC().Round(0)
		require.NoError(t, s.StartQueue(ctx, "batch"))
		time.Sleep(5 * time.Minute)
		s1, s2 := h.startsOf(r1.ID+"/u"), h.startsOf(r2.ID+"/u")
		require.Len(t, s1, 1)
		require.Len(t, s2, 1)
		first, second := s1[0], s2[0]
		if second.Before(first) {
			first, second = second, first
		}
		assert.Equal(t, []time.Time{startedAt, startedAt.Add(time.Minute)}, []time.Time{first, second}, "one at a time")
	})
}

func TestSchedulerSubmitAndControls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSchedHarness(t)
		h.d["a"], h.d["b"] = time.Minute, time.Minute
		e := h.entry("n", nil, "a", "b")
		e.Overlap = scheduler.OverlapQueue
		s, stop := h.start(scheduler.Config{}, e)
		defer stop()
		ctx := context.Background()
		_, _, err := s.Submit(ctx, "nope", scheduler.SubmitOptions{})
		require.ErrorIs(t, err, job.ErrNotFound)
		_, _, err = s.Submit(ctx, "n", scheduler.SubmitOptions{Hold: []string{"zz"}})
		require.EqualError(t, err, `submit n: hold: network n has no unit "zz" (units: a, b)`)
		require.ErrorIs(t, err, job.ErrInvalid, "a bad request, not a server failure")

		r1, created, err := s.Submit(ctx, "n", scheduler.SubmitOptions{ID: "n@mine", Hold: []string{"b"}})
		require.NoError(t, err)
		require.True(t, created)
		again, created, err := s.Submit(ctx, "n", scheduler.SubmitOptions{ID: "n@mine"})
		require.NoError(t, err)
		assert.False(t, created, "an existing ID is not submitted twice")
		assert.Equal(t, r1.ID, again.ID)

		r2, _, err := s.Submit(ctx, "n", scheduler.SubmitOptions{}) // waits: overlap queue
		require.NoError(t, err)
		require.NoError(t, s.Hold(ctx, r2.ID, "a"), "a unit of a waiting run can be held")
		require.ErrorIs(t, s.Stop(ctx, r2.ID, "a"), job.ErrState)
		require.EqualError(t, s.Skip(ctx, r1.ID, "a"), "skip a: the unit is running; only a pending or held unit can be skipped")
		time.Sleep(5 * time.Minute)
		got, _ := s.Get(ctx, r1.ID)
		b, _ := got.Report.Unit("b")
		assert.Equal(t, job.Held, b.State, "held from the submission")
		require.NoError(t, s.Skip(ctx, r1.ID, "b"))
		time.Sleep(time.Minute)
		got, _ = s.Get(ctx, r1.ID)
		assert.Equal(t, job.Succeeded, got.Report.State)
		assert.ErrorIs(t, s.Skip(ctx, r1.ID, "b"), job.ErrState, "the run ended")

		time.Sleep(5 * time.Minute)
		got2, _ := s.Get(ctx, r2.ID)
		a, _ := got2.Report.Unit("a")
		assert.Equal(t, job.Held, a.State, "the hold made while it waited holds")
		require.NoError(t, s.Release(ctx, r2.ID, "a"))
		time.Sleep(3 * time.Minute)
		got2, _ = s.Get(ctx, r2.ID)
		assert.Equal(t, job.Succeeded, got2.Report.State)
		hist, err := s.History(ctx, scheduler.RunFilter{Network: "n"})
		require.NoError(t, err)
		assert.Len(t, hist, 2)
	})
}

func TestSchedulerConfigErrors(t *testing.T) {
	_, err := newScheduler(scheduler.Config{Queues: []scheduler.QueueConfig{{Name: "a b"}, {Name: "q", Concurrency: -1}}}, scheduler.NewMemStore())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `queues[0].name: "a b"`)
	assert.Contains(t, err.Error(), "queues[1].concurrency: must not be negative")
	s, err := newScheduler(scheduler.Config{}, scheduler.NewMemStore())
	require.NoError(t, err)
	err = s.Add(scheduler.Entry{Name: "x@y", Queue: "nope", Overlap: "sometimes", CatchUp: -1})
	require.Error(t, err)
	for _, want := range []string{`network "x@y": name`, "build: nil", `queue: "nope" is not defined (queues: default)`, `overlap: "sometimes"`, "catch_up: must not be negative"} {
		assert.Contains(t, err.Error(), want)
	}
	ok := scheduler.Entry{Name: "ok", Build: func([]byte, string) (*job.Network, error) { return nil, nil }}
	require.NoError(t, s.Add(ok))
	assert.ErrorContains(t, s.Add(ok), "added twice")
}

// TestSchedulerDSTAndCalendar runs two scheduled networks over the US
// spring-forward night of 2000-04-02 and a long weekend: a daily 02:30 in
// New York (a wall time that does not exist on the change night), and a
// business-day 09:00 UTC whose Monday is a holiday, shifted to the next
// business day.
func TestSchedulerDSTAndCalendar(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(time.Date(2000, 3, 30, 12, 0, 0, 0, time.UTC)))
		h := newSchedHarness(t)
		dst, err := schedule.ParseCron("30 2 * * *", ny)
		require.NoError(t, err)
		nine, err := schedule.ParseCron("0 9 * * *", time.UTC)
		require.NoError(t, err)
		cal := &schedule.Calendar{Name: "biz", Holidays: []schedule.Date{{Year: 2000, Month: time.April, Day: 3}}}
		biz, err := schedule.OnCalendar(nine, cal, schedule.ShiftNext)
		require.NoError(t, err)
		_, stop := h.start(scheduler.Config{}, h.entry("dst", dst, "u"), h.entry("biz", biz, "u"))
		time.Sleep(time.Until(time.Date(2000, 4, 5, 0, 0, 0, 0, time.UTC)))
		stop()

		ids := func(network string) []string {
			var out []string
			for id, r := range h.history(network) {
				require.Equal(t, job.Succeeded, r.Report.State, id)
				require.Equal(t, []time.Time{r.Due.UTC()}, h.startsOf(id+"/u"), "%s started at its due time", id)
				out = append(out, id)
			}
			slices.Sort(out)
			return out
		}
		assert.Equal(t, []string{
			"dst@20000331T073000Z", // 02:30 EST
			"dst@20000401T073000Z",
			"dst@20000402T073000Z", // 02:30 does not exist: 03:30 EDT
			"dst@20000403T063000Z", // 02:30 EDT
			"dst@20000404T063000Z",
		}, ids("dst"))
		assert.Equal(t, []string{
			"biz@20000331T090000Z", // Friday
			"biz@20000404T090000Z", // Saturday to the holiday Monday shift to Tuesday, merged with Tuesday's own
		}, ids("biz"))
	})
}

// prepAction is a Preparer and Adopter that records when it was prepared,
// run and released.
type prepAction struct {
	mu       *sync.Mutex
	log      *[]string
	name     string
	prepared bool
}

func (p *prepAction) note(what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*p.log = append(*p.log, time.Now().UTC().Format("15:04:05")+" "+p.name+" "+what)
}

func (p *prepAction) Prepare(context.Context, inventory.Target) { p.prepared = true; p.note("prepare") }
func (p *prepAction) Do(context.Context, inventory.Target) (job.Outcome, error) {
	if p.prepared {
		p.note("start prepared")
	} else {
		p.note("create and start")
	}
	return job.Outcome{}, nil
}
func (p *prepAction) Adopt(context.Context, inventory.Target) (job.Outcome, bool, error) {
	return job.Outcome{}, false, nil
}
func (p *prepAction) Release(context.Context, inventory.Target) error { p.note("release"); return nil }

func TestSchedulerPreparesFirstUnitsAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var log []string
		store := scheduler.NewMemStore()
		s, err := newScheduler(scheduler.Config{}, store)
		require.NoError(t, err)
		require.NoError(t, s.Add(scheduler.Entry{Name: "n", Schedule: cron(t, "*/5 * * * *"), Build: func(def []byte, runID string) (*job.Network, error) {
			mk := func(u string) *prepAction {
				return &prepAction{mu: &mu, log: &log, name: strings.TrimPrefix(runID, "n@20000101T") + "/" + u}
			}
			return &job.Network{Name: "n", Units: []job.Unit{
				{Name: "first", Action: mk("first")},
				{Name: "second", Action: mk("second"), Needs: []string{"first"}},
			}}, nil
		}}))
		// The run due at 00:10 exists already (another scheduler ran it).
		_, err = store.CreateRun(context.Background(), scheduler.RunRecord{ID: "n@20000101T001000Z", Network: "n",
			Report: job.NetworkReport{Name: "n", State: job.Succeeded}, Created: time.Now(), Ended: time.Now()})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		time.Sleep(12 * time.Minute)
		cancel()
		require.NoError(t, <-done)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, log, 7)
		assert.Equal(t, []string{"00:04:58 000500Z/first prepare", "00:05:00 000500Z/first start prepared"}, log[:2])
		assert.ElementsMatch(t, []string{ // releases run concurrently
			"00:04:58 000500Z/first prepare",
			"00:05:00 000500Z/first start prepared",
			"00:05:00 000500Z/second create and start", // only first units are prepared
			"00:05:00 000500Z/first release",
			"00:05:00 000500Z/second release",
			"00:09:58 001000Z/first prepare",
			"00:10:00 001000Z/first release", // the run existed: what was prepared is removed
		}, log)
	})
}

func TestSchedulerPrunesHistoryAndSpilledOutput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSchedHarness(t)
		ctx := context.Background()
		dir := t.TempDir()
		old, recent := filepath.Join(dir, "old.log"), filepath.Join(dir, "recent.log")
		for _, f := range []string{old, recent} {
			require.NoError(t, os.WriteFile(f, []byte("output"), 0o600))
		}
		put := func(id string, ended time.Time, file string) {
			require.NoError(t, h.store.PutRun(ctx, scheduler.RunRecord{ID: id, Network: "n", Created: ended, Ended: ended,
				Report: job.NetworkReport{Name: "n", State: job.StateFailed, Units: []job.UnitReport{{Name: "u", State: job.StateFailed, OutputFile: file}}}}))
		}
		time.Sleep(72 * time.Hour)
		put("n@old", time.Now().Add(-49*time.Hour), old)
		put("n@recent", time.Now().Add(-47*time.Hour), recent)
		_, stop := h.start(scheduler.Config{Retention: 48 * time.Hour, SpillDir: dir}, h.entry("n", nil, "u"))
		stop()
		runs := h.history("n")
		assert.NotContains(t, runs, "n@old")
		assert.Contains(t, runs, "n@recent")
		assert.NoFileExists(t, old, "a pruned run's spilled output goes with it")
		assert.FileExists(t, recent)
	})
}

func TestSchedulerRunEndedHookOncePerRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSchedHarness(t)
		h.d["u"] = 7 * time.Minute
		h.code["u"] = 4
		var mu sync.Mutex
		ended := map[string][]job.UnitState{}
		s, err := newScheduler(scheduler.Config{}, h.store, scheduler.WithRunEnded(func(r scheduler.RunRecord) {
			mu.Lock()
			ended[r.ID] = append(ended[r.ID], r.Report.State)
			mu.Unlock()
		}))
		require.NoError(t, err)
		require.NoError(t, s.Add(h.entry("n", cron(t, "5,10 0 * * *"), "u")))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		time.Sleep(9 * time.Minute)
		_, _, err = s.Submit(ctx, "n", scheduler.SubmitOptions{ID: "n@refused"})
		require.ErrorIs(t, err, job.ErrState, "overlap skip refuses a submission")
		_, err = h.store.GetRun(ctx, "n@refused")
		require.ErrorIs(t, err, job.ErrNotFound, "a refused submission leaves no record, so a retry with its ID is a new submission")
		time.Sleep(10 * time.Minute)
		rec, created, err := s.Submit(ctx, "n", scheduler.SubmitOptions{ID: "n@refused"})
		require.NoError(t, err, "the retry after the runs ended")
		assert.True(t, created)
		assert.Equal(t, "n@refused", rec.ID)
		time.Sleep(10 * time.Minute)
		cancel()
		require.NoError(t, <-done)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, map[string][]job.UnitState{
			"n@20000101T000500Z": {job.StateFailed},
			"n@20000101T001000Z": {job.Skipped},
			"n@refused":          {job.StateFailed},
		}, ended, "the refused submission is not a run; its retry is")
	})
}

func TestSchedulerNextDueKnownBeforeRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := newScheduler(scheduler.Config{}, scheduler.NewMemStore())
		require.NoError(t, err)
		require.NoError(t, s.Add(scheduler.Entry{Name: "n", Schedule: cron(t, "30 2 * * *"), Build: func([]byte, string) (*job.Network, error) { return nil, nil }}))
		require.NoError(t, s.Add(scheduler.Entry{Name: "manual", Build: func([]byte, string) (*job.Network, error) { return nil, nil }}))
		st := s.Networks()
		require.Len(t, st, 2)
		assert.Equal(t, at("02:30"), st[0].Next.UTC(), "an agent's API answers with the next due time from the start")
		assert.Equal(t, "30 2 * * *", st[0].Schedule)
		assert.True(t, st[1].Next.IsZero(), "not scheduled")
		assert.Equal(t, scheduler.OverlapSkip, st[1].Overlap)
	})
}

func TestSchedulerCancelRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSchedHarness(t)
		h.d["a"], h.d["b"] = 10*time.Minute, time.Minute
		e := h.entry("n", nil, "a", "b")
		e.Overlap = scheduler.OverlapQueue
		s, stop := h.start(scheduler.Config{}, e)
		defer stop()
		ctx := context.Background()
		r1, _, err := s.Submit(ctx, "n", scheduler.SubmitOptions{})
		require.NoError(t, err)
		r2, _, err := s.Submit(ctx, "n", scheduler.SubmitOptions{}) // waits behind r1
		require.NoError(t, err)
		r3, _, err := s.Submit(ctx, "n", scheduler.SubmitOptions{}) // waits too
		require.NoError(t, err)
		time.Sleep(time.Minute)

		require.NoError(t, s.Cancel(ctx, r2.ID), "a waiting run")
		got2, err := s.Get(ctx, r2.ID)
		require.NoError(t, err)
		assert.Equal(t, job.Cancelled, got2.Report.State)
		require.NoError(t, s.Cancel(ctx, r1.ID), "a running run")
		time.Sleep(time.Second)
		got1, err := s.Get(ctx, r1.ID)
		require.NoError(t, err)
		assert.Equal(t, job.Cancelled, got1.Report.State)
		a, _ := got1.Report.Unit("a")
		b, _ := got1.Report.Unit("b")
		assert.Equal(t, job.Cancelled, a.State)
		assert.Contains(t, a.Message, "cancelled by an operator")
		assert.Equal(t, job.Cancelled, b.State)
		assert.Equal(t, "cancelled before it started: cancelled by an operator", b.Message)
		assert.Equal(t, 9, got1.Report.ExitCode())
		assert.ErrorIs(t, s.Cancel(ctx, r1.ID), job.ErrState, "it has ended")

		time.Sleep(12 * time.Minute)
		got3, err := s.Get(ctx, r3.ID)
		require.NoError(t, err)
		assert.Equal(t, job.Succeeded, got3.Report.State, "the next waiting run went on")
		assert.Empty(t, h.startsOf(r2.ID+"/a"), "the cancelled waiting run never started")
	})
}

// harnessDefs is a Definitions whose definitions are "<network>" or
// "<network> queue=<queue>"; "bad" does not build.
type harnessDefs struct {
	h     *schedHarness
	asked map[string]int
}

func (d *harnessDefs) Entry(def []byte) (scheduler.Entry, error) {
	name, queue, _ := strings.Cut(string(def), " queue=")
	d.asked[name]++
	if name == "bad" {
		return scheduler.Entry{}, errors.New("units[0].run.image: required")
	}
	e := d.h.entry(name, nil, "u")
	e.Definition, e.Overlap, e.Queue = def, scheduler.OverlapAllow, queue
	return e, nil
}

func TestSchedulerDefinitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSchedHarness(t)
		h.d["u"] = time.Minute
		h.code["u"] = 5
		defs := &harnessDefs{h: h, asked: map[string]int{}}
		mk := func(opts ...scheduler.Option) (*scheduler.Scheduler, func()) {
			s, err := newScheduler(scheduler.Config{}, h.store, opts...)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			synctest.Wait()
			return s, func() { cancel(); require.NoError(t, <-done) }
		}
		ctx := context.Background()

		// Without Definitions, a definition cannot be submitted.
		s, stop := mk()
		_, _, err := s.Submit(ctx, "", scheduler.SubmitOptions{Definition: []byte("adhoc")})
		require.ErrorIs(t, err, job.ErrInvalid)
		stop()

		s, stop = mk(scheduler.WithDefinitions(defs))
		rec, _, err := s.Submit(ctx, "", scheduler.SubmitOptions{Definition: []byte("adhoc")})
		require.NoError(t, err, "the submission's definition adds the network")
		assert.Equal(t, "adhoc", rec.Network, "named by the definition")
		assert.Equal(t, []byte("adhoc"), rec.Definition)
		_, _, err = s.Submit(ctx, "", scheduler.SubmitOptions{Definition: []byte("bad")})
		require.ErrorIs(t, err, job.ErrInvalid)
		assert.EqualError(t, err, "submit: definition: units[0].run.image: required")
		_, _, err = s.Submit(ctx, "", scheduler.SubmitOptions{Definition: []byte("q queue=nope")})
		require.ErrorIs(t, err, job.ErrInvalid, "a queue the scheduler does not have")
		assert.Contains(t, err.Error(), `queue: "nope" is not defined (queues: default)`)
		_, _, err = s.Submit(ctx, "other", scheduler.SubmitOptions{Definition: []byte("adhoc")})
		require.ErrorIs(t, err, job.ErrInvalid, "network and definition disagree")
		time.Sleep(30 * time.Second)
		stop() // detached mid-unit

		// A new scheduler resumes the run of the network it was never told
		// about, and reruns it.
		s, stop = mk(scheduler.WithDefinitions(defs))
		defer stop()
		time.Sleep(time.Minute)
		got, err := s.Get(ctx, rec.ID)
		require.NoError(t, err)
		assert.Equal(t, job.StateFailed, got.Report.State, "resumed and finished")
		assert.Len(t, h.startsOf(rec.ID+"/u"), 1, "adopted, not started again")
		re, err := s.Rerun(ctx, rec.ID)
		require.NoError(t, err)
		assert.Equal(t, []byte("adhoc"), re.Definition)
		assert.Equal(t, 3, defs.asked["adhoc"], "asked for each submission and once by the scheduler that resumed it")
	})
}

// newScheduler is scheduler.New over one Store for runs and state.
func newScheduler(cfg scheduler.Config, st scheduler.Store, opts ...scheduler.Option) (*scheduler.Scheduler, error) {
	return scheduler.New(cfg, st, st, opts...)
}
