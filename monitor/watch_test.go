package monitor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/monitortest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// transitionLog records transitions as "target: FROM -> TO (message)".
type transitionLog struct {
	mu  sync.Mutex
	got []string
}

func (l *transitionLog) record(_ context.Context, tr monitor.Transition) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, fmt.Sprintf("%s: %s -> %s (%s)", tr.Target.Name, tr.From, tr.Status, tr.Message))
}

func (l *transitionLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

func cpuResult(v float64) monitor.Result {
	return monitor.Result{Samples: []monitor.Sample{{Name: "cpu_percent", Value: v, Unit: monitor.Percent}}}
}

func TestRunnerWatchJudgesEachObservation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		w := &monitortest.ScriptedWatcher{Runs: []monitortest.WatchRun{{Emissions: []monitortest.Emission{
			{Delay: time.Second, Target: tA, Result: cpuResult(95)},
			{Delay: time.Second, Target: tB, Result: cpuResult(10)},
			{Delay: time.Second, Target: tC, Result: cpuResult(99)}, // not selected
			{Delay: time.Second, Target: tA, Result: cpuResult(95)},
			{Delay: time.Second, Target: tB, Result: cpuResult(85)},
			{Delay: time.Second, Target: tA, Result: monitor.Result{Time: t0, Samples: cpuResult(10).Samples, Message: "calm"}},
		}}}}
		sink := &monitortest.RecordingSink{}
		var trs transitionLog
		r := newRunner(t, monitor.RunnerConfig{}, inventory.Static(), monitor.WithSink(sink), monitor.WithTransitions(trs.record))
		require.NoError(t, r.Add(monitor.Check{
			Name: "events", Monitor: w, StartDelay: time.Minute,
			Targets:    inventory.Selector{Names: []string{"a", "b"}},
			Thresholds: []monitor.Threshold{{Sample: "cpu_percent", Warning: rng(t, "80"), Critical: rng(t, "90")}},
			Damping:    monitor.Damping{Raise: 2},
		}))
		stop := start(t, r)
		time.Sleep(time.Minute + 10*time.Second)

		assert.Equal(t, []time.Time{t0.Add(time.Minute)}, w.Starts(), "Watch starts after StartDelay, once")
		writes := sink.Writes()
		require.Len(t, writes, 5, "one Write per selected observation")
		for _, w := range writes {
			assert.Len(t, w, 1)
		}
		assert.Equal(t, []monitor.Status{O, C, O}, sink.Statuses("events", "a"), "damped: the second critical is reported")
		assert.Equal(t, []monitor.Status{O, O}, sink.Statuses("events", "b"))
		last := writes[4][0]
		assert.Equal(t, tA, last.Target)
		assert.Equal(t, "calm", last.Message)
		assert.Equal(t, t0, last.Result.Time, "the Result's own time is kept")
		assert.Equal(t, time.Duration(0), last.Took)
		assert.False(t, writes[0][0].Result.Time.IsZero(), "the Runner fills in Result.Time")
		assert.Equal(t, []string{
			"a: OK -> CRITICAL (cpu_percent=95% (critical 90))",
			"a: CRITICAL -> OK (calm)",
		}, trs.all())

		evs := r.Evaluations()
		require.Len(t, evs, 2, "the latest per Target")
		assert.Equal(t, []inventory.Target{tA, tB}, []inventory.Target{evs[0].Target, evs[1].Target})
		assert.Equal(t, monitor.Warning, evs[1].Observed)
		assert.Equal(t, monitor.OK, evs[1].Status, "b's warning is not yet reported (Raise 2)")

		_, err := r.CheckOnce(context.Background(), "events")
		assert.EqualError(t, err, `monitor: check "events": watchers have no one-shot round: its Monitor streams observations while Run runs`)
		stop()
		assert.Equal(t, 0, w.Running(), "Run returns after Watch did")
	})
}

func TestRunnerWatchRestartBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		boom := errors.New("connection reset")
		fail := monitortest.WatchRun{Err: boom}
		w := &monitortest.ScriptedWatcher{Runs: []monitortest.WatchRun{
			fail, fail, fail, fail, fail, fail, fail,
			// Healthy for 90 s, then fails again.
			{Emissions: []monitortest.Emission{{Delay: 90 * time.Second, Target: tA}}, Err: boom},
			// Ends on its own, without an error.
			{End: true},
			{},
		}}
		sink := &monitortest.RecordingSink{}
		var trs transitionLog
		var logged strings.Builder
		var mu sync.Mutex
		r := newRunner(t, monitor.RunnerConfig{}, inventory.Static(), monitor.WithSink(sink),
			monitor.WithTransitions(trs.record), monitor.WithLogger(newTextLogger(&mu, &logged)))
		require.NoError(t, r.Add(monitor.Check{Name: "events", Monitor: w}))
		stop := start(t, r)

		time.Sleep(70 * time.Second)
		evs := r.Evaluations()
		require.Len(t, evs, 1)
		assert.Equal(t, inventory.Target{}, evs[0].Target, "the stream's failure is the zero Target's")
		assert.Equal(t, monitor.Unknown, evs[0].Status)
		assert.ErrorIs(t, evs[0].Err, boom)
		assert.Equal(t, "stream failed: connection reset (restarting in 30s)", evs[0].Message)

		time.Sleep(230 * time.Second)
		stop()

		var starts []time.Duration
		for _, s := range w.Starts() {
			starts = append(starts, s.Sub(t0))
		}
		sec := time.Second
		assert.Equal(t, []time.Duration{0, 1 * sec, 3 * sec, 7 * sec, 15 * sec, 31 * sec, 61 * sec, 91 * sec, 182 * sec, 184 * sec}, starts,
			"1 s doubling to 30 s; reset after a healthy minute")

		var msgs []string
		for _, ev := range sink.Evaluations() {
			msgs = append(msgs, fmt.Sprintf("%s %q %s", ev.Status, ev.Target.Name, ev.Message))
		}
		assert.Equal(t, []string{
			`UNKNOWN "" stream failed: connection reset (restarting in 1s)`,
			`UNKNOWN "" stream failed: connection reset (restarting in 2s)`,
			`UNKNOWN "" stream failed: connection reset (restarting in 4s)`,
			`UNKNOWN "" stream failed: connection reset (restarting in 8s)`,
			`UNKNOWN "" stream failed: connection reset (restarting in 16s)`,
			`UNKNOWN "" stream failed: connection reset (restarting in 30s)`,
			`UNKNOWN "" stream failed: connection reset (restarting in 30s)`,
			`OK "" stream running again`,
			`OK "a" `,
			`UNKNOWN "" stream failed: connection reset (restarting in 1s)`,
			`UNKNOWN "" stream failed: the watch ended on its own (restarting in 2s)`,
			`OK "" stream running again`,
		}, msgs)
		assert.Equal(t, []string{
			": OK -> UNKNOWN (stream failed: connection reset (restarting in 1s))",
			": UNKNOWN -> OK (stream running again)",
			": OK -> UNKNOWN (stream failed: connection reset (restarting in 1s))",
			": UNKNOWN -> OK (stream running again)",
		}, trs.all())
		evs = r.Evaluations()
		require.Len(t, evs, 1, "the zero Target is forgotten once the stream runs again")
		assert.Equal(t, tA, evs[0].Target)

		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, 9, strings.Count(logged.String(), `level=WARN msg="monitor watch failed; restarting" check=events`))
		assert.Contains(t, logged.String(), `level=WARN msg="monitor watch failed; restarting" check=events in=1s err="connection reset"`)
		assert.Contains(t, logged.String(), `level=WARN msg="monitor watch failed; restarting" check=events in=2s err="monitor: the watch ended on its own"`)
	})
}

func TestRunnerWatchForgetsLeastRecentlyObserved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crit := monitor.Result{Status: monitor.Critical}
		emit := func(ts ...inventory.Target) []monitortest.Emission {
			var es []monitortest.Emission
			for _, t := range ts {
				es = append(es, monitortest.Emission{Delay: time.Second, Target: t, Result: crit})
			}
			return es
		}
		w := &monitortest.ScriptedWatcher{Runs: []monitortest.WatchRun{{Emissions: emit(tA, tA, tB, tC, tA)}}}
		sink := &monitortest.RecordingSink{}
		r := newRunner(t, monitor.RunnerConfig{MaxWatchTargets: 2}, inventory.Static(), monitor.WithSink(sink))
		require.NoError(t, r.Add(monitor.Check{Name: "events", Monitor: w, Damping: monitor.Damping{Raise: 2}}))
		stop := start(t, r)
		time.Sleep(4*time.Second + time.Millisecond)
		var names []string
		for _, ev := range r.Evaluations() {
			names = append(names, ev.Target.Name)
		}
		assert.Equal(t, []string{"b", "c"}, names, "a, the least recently observed, is forgotten")
		time.Sleep(time.Second)
		stop()
		assert.Equal(t, []monitor.Status{O, C, O}, sink.Statuses("events", "a"),
			"a forgotten starts afresh: its damping count begins again")
	})
}

func TestRunnerWatchEmitIsSerialisedAndEndsWithWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inFlight, maxInFlight atomic.Int32
		sink := monitor.SinkFunc(func(ctx context.Context, evs []monitor.Evaluation) error {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			if n > maxInFlight.Load() {
				maxInFlight.Store(n)
			}
			time.Sleep(time.Millisecond)
			return nil
		})
		rec := &monitortest.RecordingSink{}
		var lateEmit func(inventory.Target, monitor.Result)
		w := monitor.WatchFunc(func(ctx context.Context, emit func(inventory.Target, monitor.Result)) error {
			var wg sync.WaitGroup
			for i := range 10 {
				wg.Go(func() { emit(container(fmt.Sprintf("t%d", i)), monitor.Result{}) })
			}
			wg.Wait()
			lateEmit = emit
			<-ctx.Done()
			return nil
		})
		panicky := monitor.WatchFunc(func(ctx context.Context, emit func(inventory.Target, monitor.Result)) error {
			panic("boom")
		})
		// hung ignores ctx: Run gives up on it after DefaultTimeout.
		hung := monitor.WatchFunc(func(ctx context.Context, emit func(inventory.Target, monitor.Result)) error {
			<-ctx.Done()
			time.Sleep(time.Hour)
			emit(tA, monitor.Result{})
			return nil
		})
		r := newRunner(t, monitor.RunnerConfig{DefaultTimeout: 5 * time.Second}, inventory.Static(), monitor.WithSink(sink), monitor.WithSink(rec))
		require.NoError(t, r.Add(monitor.Check{Name: "many", Monitor: w}))
		require.NoError(t, r.Add(monitor.Check{Name: "panic", Monitor: panicky}))
		require.NoError(t, r.Add(monitor.Check{Name: "hung", Monitor: hung}))
		t0 := time.Now()
		stop := start(t, r)
		time.Sleep(500 * time.Millisecond)
		assert.Equal(t, int32(1), maxInFlight.Load(), "sinks are never written concurrently")
		var many int
		for _, ev := range rec.Evaluations() {
			switch ev.Check {
			case "many":
				many++
			case "panic":
				assert.Equal(t, "stream failed: watch panicked: boom (restarting in 1s)", ev.Message)
			}
		}
		assert.Equal(t, 10, many)
		stop()
		assert.Equal(t, 5*time.Second+500*time.Millisecond, time.Since(t0), "Run waited DefaultTimeout for the hung Watch")
		n := len(rec.Evaluations())
		lateEmit(tA, monitor.Result{})
		time.Sleep(time.Hour) // the hung Watch emits, too late
		assert.Len(t, rec.Evaluations(), n, "emissions after Watch returned or Run ended are ignored")
		_, err := w.Check(context.Background(), tA)
		assert.ErrorIs(t, err, monitor.ErrNotSupported)
		assert.EqualError(t, err, "monitor: not supported here: watched, not polled")
	})
}

func TestRunnerWatchValidation(t *testing.T) {
	r := newRunner(t, monitor.RunnerConfig{}, inventory.Static())
	w := &monitortest.ScriptedWatcher{}
	err := r.Add(monitor.Check{Name: "events", Monitor: w, Interval: time.Minute, Timeout: time.Second,
		Targets: inventory.Selector{States: []string{"running"}}})
	for _, want := range []string{
		"interval: 1m0s: the monitor is a Watcher, which streams its observations: leave interval 0 (to poll it instead, wrap its Check in a MonitorFunc)",
		"timeout: 1s: a watched check makes no calls to time out: leave timeout 0",
		"targets: states: a watched check cannot select by state (emitted targets carry none): leave states empty",
	} {
		assert.ErrorContains(t, err, want)
	}
	assert.ErrorContains(t, r.Add(monitor.Check{Name: "poll", Monitor: &monitortest.Scripted{}}),
		"interval: 0s: want a positive duration (only a Watcher's interval is 0)")
	require.NoError(t, r.Add(monitor.Check{Name: "events", Monitor: w}))
}
