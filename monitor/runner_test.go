package monitor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

// container returns a container Target whose ID repeats its name, so
// Targets sort by name.
func container(name string) inventory.Target {
	return inventory.Target{Kind: inventory.KindContainer, ID: strings.Repeat(name, 64)[:64], Name: name}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// newTextLogger logs text without timestamps to w, under mu.
func newTextLogger(mu *sync.Mutex, w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{mu, w}, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
}

var (
	tA = container("a")
	tB = container("b")
	tC = container("c")
)

// start runs r until the returned stop is called; stop checks Run's nil.
func start(t *testing.T, r *monitor.Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return func() {
		t.Helper()
		cancel()
		require.NoError(t, <-done)
	}
}

func newRunner(t *testing.T, cfg monitor.RunnerConfig, res inventory.Resolver, opts ...monitor.Option) *monitor.Runner {
	t.Helper()
	r, err := monitor.NewRunner(cfg, res, opts...)
	require.NoError(t, err)
	return r
}

// offsets returns the call times of m relative to t0.
func offsets(m *monitortest.Scripted, t0 time.Time) []time.Duration {
	var out []time.Duration
	for _, c := range m.Calls() {
		out = append(out, c.Time.Sub(t0))
	}
	return out
}

func TestRunnerIntervalAndStartDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		now := &monitortest.Scripted{}
		late := &monitortest.Scripted{}
		sink := &monitortest.RecordingSink{}
		r := newRunner(t, monitor.RunnerConfig{}, inventory.Static(tA), monitor.WithSink(sink))
		require.NoError(t, r.Add(monitor.Check{Name: "now", Monitor: now, Interval: time.Minute}))
		require.NoError(t, r.Add(monitor.Check{Name: "late", Monitor: late, Interval: time.Minute, StartDelay: 90 * time.Second}))
		stop := start(t, r)
		time.Sleep(3*time.Minute + time.Second)
		stop()
		assert.Equal(t, []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute}, offsets(now, t0))
		assert.Equal(t, []time.Duration{90 * time.Second, 150 * time.Second}, offsets(late, t0))
		assert.Len(t, sink.Writes(), 6)
		for _, ev := range sink.Evaluations() {
			assert.Equal(t, tA, ev.Target)
			assert.Equal(t, monitor.OK, ev.Status)
			assert.False(t, ev.Result.Time.IsZero(), "the Runner fills in Result.Time")
		}
	})
}

func TestRunnerOverrunningRoundDelaysTheNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		m := &monitortest.Scripted{Steps: []monitortest.Step{{Delay: 90 * time.Second}}}
		r := newRunner(t, monitor.RunnerConfig{}, inventory.Static(tA))
		require.NoError(t, r.Add(monitor.Check{Name: "slow", Monitor: m, Interval: time.Minute, Timeout: 2 * time.Minute}))
		stop := start(t, r)
		time.Sleep(4 * time.Minute)
		stop()
		// Rounds never overlap; the missed tick is taken at once, then the
		// ticker's own schedule resumes.
		assert.Equal(t, []time.Duration{0, 90 * time.Second, 180 * time.Second}, offsets(m, t0))
	})
}

func TestRunnerTimeout(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("monitor ignores ctx: %v", ignore), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := &monitortest.Scripted{Steps: []monitortest.Step{{Delay: time.Hour, IgnoreContext: ignore}}}
				sink := &monitortest.RecordingSink{}
				r := newRunner(t, monitor.RunnerConfig{DefaultTimeout: 5 * time.Second}, inventory.Static(tA), monitor.WithSink(sink))
				require.NoError(t, r.Add(monitor.Check{Name: "hang", Monitor: m, Interval: time.Minute}))
				stop := start(t, r)
				time.Sleep(10 * time.Second)
				evs := sink.Evaluations()
				require.Len(t, evs, 1)
				ev := evs[0]
				assert.Equal(t, monitor.Unknown, ev.Status)
				assert.ErrorIs(t, ev.Err, context.DeadlineExceeded)
				assert.Equal(t, "timed out after 5s", ev.Message)
				assert.Equal(t, 5*time.Second, ev.Took)
				stop()
				time.Sleep(time.Hour) // let an abandoned call finish inside the bubble
			})
		})
	}
}

func TestRunnerDefaultTimeoutIsMinOfIntervalAnd10s(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &monitortest.Scripted{Steps: []monitortest.Step{{Delay: time.Hour}}}
		sink := &monitortest.RecordingSink{}
		r := newRunner(t, monitor.RunnerConfig{}, inventory.Static(tA), monitor.WithSink(sink))
		require.NoError(t, r.Add(monitor.Check{Name: "short", Monitor: m, Interval: 3 * time.Second}))
		require.NoError(t, r.Add(monitor.Check{Name: "long", Monitor: m, Interval: time.Hour}))
		stop := start(t, r)
		time.Sleep(11 * time.Second)
		stop()
		took := map[string]time.Duration{}
		for _, ev := range sink.Evaluations() {
			took[ev.Check] = ev.Took
		}
		assert.Equal(t, map[string]time.Duration{"short": 3 * time.Second, "long": 10 * time.Second}, took)
	})
}

func TestRunnerThresholdsDampingAndTransitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &monitortest.Scripted{
			ByTarget: map[string][]monitortest.Step{
				"a": monitortest.Values("cpu_percent", monitor.Percent, 10, 95, 95, 95, 10, 10, 10),
				"b": monitortest.Values("cpu_percent", monitor.Percent, 95, 10, 95, 10, 95, 10, 95),
			},
		}
		sink := &monitortest.RecordingSink{}
		var mu sync.Mutex
		var transitions []string
		r := newRunner(t, monitor.RunnerConfig{}, inventory.Static(tA, tB), monitor.WithSink(sink),
			monitor.WithTransitions(func(_ context.Context, tr monitor.Transition) {
				mu.Lock()
				defer mu.Unlock()
				transitions = append(transitions, fmt.Sprintf("%s %s: %s -> %s (%s)", tr.Check, tr.Target.Name, tr.From, tr.Status, tr.Message))
			}))
		require.NoError(t, r.Add(monitor.Check{
			Name: "cpu", Monitor: m, Interval: time.Minute,
			Thresholds: []monitor.Threshold{{Sample: "cpu_percent", Warning: rng(t, "80"), Critical: rng(t, "90")}},
			Damping:    monitor.Damping{Raise: 2, Clear: 3},
		}))
		stop := start(t, r)
		time.Sleep(6*time.Minute + time.Second)
		stop()
		assert.Equal(t, []monitor.Status{O, O, C, C, C, C, O}, sink.Statuses("cpu", "a"))
		assert.Equal(t, []monitor.Status{O, O, O, O, O, O, O}, sink.Statuses("cpu", "b"), "flapping never raises")
		assert.Equal(t, []string{
			"cpu a: OK -> CRITICAL (cpu_percent=95% (critical 90))",
			"cpu a: CRITICAL -> OK ()",
		}, transitions)
		var observedB []monitor.Status
		for _, ev := range sink.Evaluations() {
			if ev.Target.Name == "b" {
				observedB = append(observedB, ev.Observed)
			}
		}
		assert.Equal(t, []monitor.Status{C, O, C, O, C, O, C}, observedB)
	})
}

func TestRunnerFirstEvaluationTransition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &monitortest.Scripted{ByTarget: map[string][]monitortest.Step{
			"a": {{Result: monitor.Result{Status: monitor.OK}}},
			"b": {{Result: monitor.Result{Status: monitor.Warning, Message: "restarting"}}},
			"c": {{Err: fmt.Errorf("cpu: %w", monitor.ErrNoBaseline)}},
		}}
		var got []monitor.Transition
		var mu sync.Mutex
		r := newRunner(t, monitor.RunnerConfig{}, inventory.Static(tA, tB, tC),
			monitor.WithTransitions(func(_ context.Context, tr monitor.Transition) { mu.Lock(); got = append(got, tr); mu.Unlock() }))
		require.NoError(t, r.Add(monitor.Check{Name: "state", Monitor: m, Interval: time.Minute}))
		stop := start(t, r)
		time.Sleep(time.Second)
		stop()
		require.Len(t, got, 2)
		byName := map[string]monitor.Transition{got[0].Target.Name: got[0], got[1].Target.Name: got[1]}
		assert.Equal(t, monitor.OK, byName["b"].From)
		assert.Equal(t, monitor.Warning, byName["b"].Status)
		assert.Equal(t, "restarting", byName["b"].Message)
		assert.Equal(t, monitor.Unknown, byName["c"].Status)
		assert.Equal(t, "no value yet: a rate needs the previous sample (the next run has one)", byName["c"].Message)
		assert.ErrorIs(t, byName["c"].Err, monitor.ErrNoBaseline)
	})
}

func TestRunnerConcurrencyBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ts []inventory.Target
		for i := range 10 {
			ts = append(ts, container(fmt.Sprintf("t%02d", i)))
		}
		m := &monitortest.Scripted{Steps: []monitortest.Step{{Delay: time.Second}}}
		m2 := &monitortest.Scripted{Steps: []monitortest.Step{{Delay: time.Second}}}
		sink := &monitortest.RecordingSink{}
		r := newRunner(t, monitor.RunnerConfig{MaxConcurrent: 3}, inventory.Static(ts...), monitor.WithSink(sink))
		require.NoError(t, r.Add(monitor.Check{Name: "one", Monitor: m, Interval: time.Hour}))
		require.NoError(t, r.Add(monitor.Check{Name: "two", Monitor: m2, Interval: time.Hour}))
		t0 := time.Now()
		stop := start(t, r)
		time.Sleep(30 * time.Second)
		stop()
		// 20 one-second calls, 3 at a time across both checks: 7 seconds.
		assert.LessOrEqual(t, m.MaxInFlight()+m2.MaxInFlight(), 3+3)
		all := append(m.Calls(), m2.Calls()...)
		require.Len(t, all, 20)
		perSecond := map[time.Duration]int{}
		var last time.Duration
		for _, c := range all {
			d := c.Time.Sub(t0)
			perSecond[d]++
			last = max(last, d)
		}
		for d, n := range perSecond {
			assert.LessOrEqual(t, n, 3, "calls started at +%s", d)
		}
		assert.Equal(t, 6*time.Second, last, "%v", perSecond)
		assert.Len(t, sink.Evaluations(), 20)
	})
}

func TestRunnerBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("inspect failed")
		b := &monitortest.ScriptedBatch{Scripted: monitortest.Scripted{
			Steps:    monitortest.Values("cpu_percent", monitor.Percent, 95),
			ByTarget: map[string][]monitortest.Step{"b": {{Err: boom}}},
		}}
		sink := &monitortest.RecordingSink{}
		r := newRunner(t, monitor.RunnerConfig{MaxConcurrent: 1}, inventory.Static(tA, tB, tC), monitor.WithSink(sink))
		require.NoError(t, r.Add(monitor.Check{Name: "cpu", Monitor: b, Interval: time.Minute,
			Thresholds: []monitor.Threshold{{Sample: "cpu_percent", Critical: rng(t, "90")}}}))
		stop := start(t, r)
		time.Sleep(90 * time.Second)
		stop()
		assert.Equal(t, 2, b.Sweeps(), "one CheckAll per round")
		assert.Equal(t, 3, b.MaxInFlight(), "all targets in one sweep despite MaxConcurrent 1")
		writes := sink.Writes()
		require.Len(t, writes, 2)
		got := map[string]monitor.Status{}
		for _, ev := range writes[0] {
			got[ev.Target.Name] = ev.Status
		}
		assert.Equal(t, map[string]monitor.Status{"a": C, "b": U, "c": C}, got)
	})
}

func TestRunnerBatchSweepErrorAndBadLength(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := errors.New("engine unreachable")
		b := &monitortest.ScriptedBatch{SweepErr: down}
		short := batchFunc(func(context.Context, []inventory.Target) ([]monitor.Result, []error, error) {
			return []monitor.Result{{}}, nil, nil
		})
		sink := &monitortest.RecordingSink{}
		r := newRunner(t, monitor.RunnerConfig{}, inventory.Static(tA, tB), monitor.WithSink(sink))
		require.NoError(t, r.Add(monitor.Check{Name: "sweep", Monitor: b, Interval: time.Minute}))
		require.NoError(t, r.Add(monitor.Check{Name: "short", Monitor: short, Interval: time.Minute}))
		stop := start(t, r)
		time.Sleep(time.Second)
		stop()
		for _, ev := range sink.Evaluations() {
			assert.Equal(t, monitor.Unknown, ev.Status)
			switch ev.Check {
			case "sweep":
				assert.ErrorIs(t, ev.Err, down)
			case "short":
				assert.EqualError(t, ev.Err, `monitor: check "short": batch monitor returned 1 results and 0 errors for 2 targets`)
			}
		}
		assert.Len(t, sink.Evaluations(), 4)
	})
}

type batchFunc func(ctx context.Context, ts []inventory.Target) ([]monitor.Result, []error, error)

func (f batchFunc) Check(ctx context.Context, t inventory.Target) (monitor.Result, error) {
	rs, errs, err := f(ctx, []inventory.Target{t})
	if err != nil {
		return monitor.Result{}, err
	}
	if errs != nil && errs[0] != nil {
		return monitor.Result{}, errs[0]
	}
	return rs[0], nil
}

func (f batchFunc) CheckAll(ctx context.Context, ts []inventory.Target) ([]monitor.Result, []error, error) {
	return f(ctx, ts)
}

func TestRunnerResolverErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := errors.New("daemon unreachable")
		var round atomic.Int32
		// Round 1 fails (no Target known yet), 2 works, 3 fails, 4 works
		// with b gone.
		res := inventory.ResolverFunc(func(ctx context.Context, sel inventory.Selector) ([]inventory.Target, error) {
			switch round.Add(1) {
			case 1, 3:
				return nil, down
			case 2:
				return []inventory.Target{tA, tB}, nil
			}
			return []inventory.Target{tA}, nil
		})
		m := &monitortest.Scripted{}
		sink := &monitortest.RecordingSink{}
		r := newRunner(t, monitor.RunnerConfig{}, res, monitor.WithSink(sink))
		require.NoError(t, r.Add(monitor.Check{Name: "c", Monitor: m, Interval: time.Minute, Targets: inventory.Selector{Names: []string{"*"}}}))
		stop := start(t, r)

		synctest.Wait()
		w := sink.Writes()
		require.Len(t, w, 1)
		assert.Equal(t, inventory.Target{}, w[0][0].Target, "no Target known yet: the zero Target")
		assert.Equal(t, monitor.Unknown, w[0][0].Status)
		assert.ErrorIs(t, w[0][0].Err, down)
		assert.Equal(t, "cannot resolve targets: daemon unreachable", w[0][0].Message)
		assert.Len(t, r.Evaluations(), 1)

		time.Sleep(time.Minute)
		synctest.Wait()
		evs := r.Evaluations()
		require.Len(t, evs, 2, "the zero Target is dropped once Targets are known")
		assert.Equal(t, []monitor.Status{O, O}, []monitor.Status{evs[0].Status, evs[1].Status})

		time.Sleep(time.Minute)
		synctest.Wait()
		w = sink.Writes()
		require.Len(t, w, 3)
		require.Len(t, w[2], 2, "the Targets last resolved get the error")
		for i, want := range []inventory.Target{tA, tB} {
			assert.Equal(t, want, w[2][i].Target)
			assert.ErrorIs(t, w[2][i].Err, down)
		}

		time.Sleep(time.Minute)
		synctest.Wait()
		evs = r.Evaluations()
		require.Len(t, evs, 1, "b is no longer resolved")
		assert.Equal(t, tA, evs[0].Target)
		assert.Equal(t, monitor.OK, evs[0].Status)
		stop()
		assert.Len(t, m.Calls(), 3)
	})
}

func TestRunnerErrorMessagesAndPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &monitortest.Scripted{ByTarget: map[string][]monitortest.Step{
			"a": {{Err: fmt.Errorf("percpu: %w", monitor.ErrNotSupported)}},
			"b": {{Err: errors.New("inspect web-1: no such container")}},
			"c": {{Err: fmt.Errorf("%w: the engine reports no per-core CPU counters (cgroup v2)", monitor.ErrNotSupported)}},
			"d": {{Err: monitor.ErrNotSupported}},
			"e": {{Err: fmt.Errorf("snmp: h: memTotalReal is absent: %w", monitor.ErrNotSupported)}},
			"f": {{Err: fmt.Errorf("x: %w: y", monitor.ErrNotSupported)}},
			"g": {{Err: fmt.Errorf("%w for key k1", monitor.ErrNoBaseline)}},
		}}
		boom := monitor.MonitorFunc(func(context.Context, inventory.Target) (monitor.Result, error) {
			var s []int
			_ = s[3]
			return monitor.Result{}, nil
		})
		sink := &monitortest.RecordingSink{}
		r := newRunner(t, monitor.RunnerConfig{}, inventory.Static(tA, tB, tC, container("d"), container("e"), container("f"), container("g")), monitor.WithSink(sink))
		require.NoError(t, r.Add(monitor.Check{Name: "m", Monitor: m, Interval: time.Minute}))
		require.NoError(t, r.Add(monitor.Check{Name: "panic", Monitor: boom, Interval: time.Minute, Targets: inventory.Selector{Names: []string{"a"}}}))
		stop := start(t, r)
		time.Sleep(time.Second)
		stop()
		msgs := map[string]string{}
		for _, ev := range sink.Evaluations() {
			assert.Equal(t, monitor.Unknown, ev.Status)
			msgs[ev.Check+"/"+ev.Target.Name] = ev.Message
		}
		assert.Equal(t, map[string]string{
			"m/a":     "unsupported: percpu",
			"m/b":     "inspect web-1: no such container",
			"m/c":     "unsupported: the engine reports no per-core CPU counters (cgroup v2)",
			"m/d":     "unsupported",
			"m/e":     "unsupported: snmp: h: memTotalReal is absent",
			"m/f":     "unsupported: x: y",
			"m/g":     "no value yet: a rate needs the previous sample (the next run has one)",
			"panic/a": "monitor: check panicked: runtime error: index out of range [3] with length 0",
		}, msgs)
	})
}

func TestRunnerEvaluationsSorted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRunner(t, monitor.RunnerConfig{}, inventory.Static(tC, tA, tB))
		for _, name := range []string{"zeta", "alpha"} {
			require.NoError(t, r.Add(monitor.Check{Name: name, Monitor: &monitortest.Scripted{}, Interval: time.Minute}))
		}
		assert.Empty(t, r.Evaluations())
		stop := start(t, r)
		synctest.Wait()
		var got []string
		for _, ev := range r.Evaluations() {
			got = append(got, ev.Check+"/"+ev.Target.Name)
		}
		stop()
		assert.Equal(t, []string{"alpha/a", "alpha/b", "alpha/c", "zeta/a", "zeta/b", "zeta/c"}, got)
	})
}

type closer struct {
	monitortest.Scripted
	closed *atomic.Int32
	err    error
}

func (c *closer) Close() error { c.closed.Add(1); return c.err }

func TestRunnerClosesMonitorsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n1, n2 atomic.Int32
		shared := &closer{closed: &n1}
		other := &closer{closed: &n2, err: errors.New("close failed")}
		r := newRunner(t, monitor.RunnerConfig{}, inventory.Static(tA))
		require.NoError(t, r.Add(monitor.Check{Name: "one", Monitor: shared, Interval: time.Minute}))
		require.NoError(t, r.Add(monitor.Check{Name: "two", Monitor: shared, Interval: time.Minute}))
		require.NoError(t, r.Add(monitor.Check{Name: "three", Monitor: other, Interval: time.Minute}))
		require.NoError(t, r.Add(monitor.Check{Name: "func", Monitor: monitor.MonitorFunc(func(context.Context, inventory.Target) (monitor.Result, error) {
			return monitor.Result{}, nil
		}), Interval: time.Minute}))
		stop := start(t, r)
		time.Sleep(time.Second)
		assert.Equal(t, int32(0), n1.Load())
		stop()
		assert.Equal(t, int32(1), n1.Load())
		assert.Equal(t, int32(1), n2.Load())

		err := r.Run(context.Background())
		assert.EqualError(t, err, "monitor: Runner.Run called more than once")
		err = r.Add(monitor.Check{Name: "late", Monitor: shared, Interval: time.Minute})
		assert.ErrorContains(t, err, "cannot add checks once Run has started")
	})
}

func TestRunnerWaitsForRunningCallsBeforeClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var closed atomic.Int32
		m := &closer{closed: &closed, Scripted: monitortest.Scripted{Steps: []monitortest.Step{{Delay: 3 * time.Second, IgnoreContext: true}}}}
		r := newRunner(t, monitor.RunnerConfig{}, inventory.Static(tA))
		require.NoError(t, r.Add(monitor.Check{Name: "c", Monitor: m, Interval: time.Minute}))
		t0 := time.Now()
		stop := start(t, r)
		time.Sleep(time.Second)
		stop()
		assert.Equal(t, 3*time.Second, time.Since(t0), "Run waited for the call ignoring ctx")
		assert.Equal(t, int32(1), closed.Load())
	})
}

func TestRunnerSinkErrorsDoNotStopIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := &monitortest.RecordingSink{Err: errors.New("disk full")}
		good := &monitortest.RecordingSink{}
		var logged strings.Builder
		var mu sync.Mutex
		log := newTextLogger(&mu, &logged)
		r := newRunner(t, monitor.RunnerConfig{}, inventory.Static(tA), monitor.WithSink(bad), monitor.WithSink(good), monitor.WithLogger(log))
		require.NoError(t, r.Add(monitor.Check{Name: "c", Monitor: &monitortest.Scripted{}, Interval: time.Minute}))
		stop := start(t, r)
		time.Sleep(2*time.Minute + time.Second)
		stop()
		assert.Len(t, bad.Writes(), 3)
		assert.Len(t, good.Writes(), 3)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, 3, strings.Count(logged.String(), `level=WARN msg="monitor sink failed" sink=0 check=c err="disk full"`))
	})
}

func TestRunnerCheckOnce(t *testing.T) {
	m := &monitortest.Scripted{ByTarget: map[string][]monitortest.Step{
		"a": monitortest.Values("cpu_percent", monitor.Percent, 95),
		"b": monitortest.Values("cpu_percent", monitor.Percent, 85),
	}}
	sink := &monitortest.RecordingSink{}
	r := newRunner(t, monitor.RunnerConfig{}, inventory.Static(tA, tB), monitor.WithSink(sink))
	require.NoError(t, r.Add(monitor.Check{
		Name: "cpu", Monitor: m, Interval: time.Minute, StartDelay: time.Hour,
		Thresholds: []monitor.Threshold{{Sample: "cpu_percent", Warning: rng(t, "80"), Critical: rng(t, "90")}},
		Damping:    monitor.Damping{Raise: 5},
	}))
	require.NoError(t, r.Add(monitor.Check{Name: "none", Monitor: m, Interval: time.Minute, Targets: inventory.Selector{Names: []string{"zz*"}}}))

	evs, err := r.CheckOnce(context.Background(), "cpu")
	require.NoError(t, err)
	require.Len(t, evs, 2)
	assert.Equal(t, monitor.Critical, evs[0].Status, "thresholds apply, damping does not")
	assert.Equal(t, "cpu_percent=95% (critical 90)", evs[0].Message)
	assert.Equal(t, monitor.Warning, evs[1].Status)
	assert.Empty(t, sink.Writes(), "CheckOnce writes no sink")
	assert.Empty(t, r.Evaluations(), "CheckOnce leaves the Runner's state alone")

	_, err = r.CheckOnce(context.Background(), "nope")
	assert.EqualError(t, err, `monitor: no check named "nope"`)
	_, err = r.CheckOnce(context.Background(), "none")
	assert.ErrorIs(t, err, inventory.ErrNoMatch)
	assert.EqualError(t, err, `monitor: check "none": inventory: no target matched: -n "zz*"`)

	failing := newRunner(t, monitor.RunnerConfig{}, inventory.ResolverFunc(func(context.Context, inventory.Selector) ([]inventory.Target, error) {
		return nil, errors.New("daemon unreachable")
	}))
	require.NoError(t, failing.Add(monitor.Check{Name: "x", Monitor: m, Interval: time.Minute}))
	_, err = failing.CheckOnce(context.Background(), "x")
	assert.EqualError(t, err, `monitor: check "x": resolve all: daemon unreachable`)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = r.CheckOnce(ctx, "cpu")
	assert.ErrorIs(t, err, context.Canceled)
}

func TestRunnerAddValidation(t *testing.T) {
	r := newRunner(t, monitor.RunnerConfig{}, inventory.Static())
	err := r.Add(monitor.Check{
		Timeout: -1, StartDelay: -1,
		Targets: inventory.Selector{IDs: []string{"zz"}},
		Thresholds: []monitor.Threshold{
			{Sample: "cpu_percent", Critical: &monitor.Range{Start: 9, End: 1}},
			{Sample: "mem", Warning: rng(t, "80"), Bands: &monitor.HinemosBands{Info: monitor.Band{Lower: 2, Upper: 1}}},
		},
		Damping: monitor.Damping{Raise: -1, Clear: -1},
	})
	for _, want := range []string{
		`monitor: check "": `,
		"name: empty",
		"monitor: nil",
		"interval: 0s: want a positive duration",
		"timeout: -1ns",
		"start_delay: -1ns",
		"targets: inventory: bad pattern",
		"thresholds[0] (cpu_percent): critical: monitor: bad range: start 9 is greater than end 1",
		"damping: raise: -1",
		"\ndamping: clear: -1",
		"\nthresholds[1] (mem): bands: set together with warning: ",
		"\nthresholds[1] (mem): bands.info: lower 2 is greater than upper 1",
	} {
		assert.ErrorContains(t, err, want)
	}
	ok := monitor.Check{Name: "cpu", Monitor: &monitortest.Scripted{}, Interval: time.Minute}
	require.NoError(t, r.Add(ok))
	assert.EqualError(t, r.Add(ok), `monitor: check "cpu": name: already added; check names must be unique`)
}

func TestNewRunnerValidation(t *testing.T) {
	_, err := monitor.NewRunner(monitor.RunnerConfig{MaxConcurrent: -1, DefaultTimeout: -time.Second, MaxWatchTargets: -1}, nil,
		monitor.WithSink(nil), monitor.WithTransitions(nil))
	for _, want := range []string{"max_concurrent: -1", "default_timeout: -1s", "max_watch_targets: -1: want 0 (default 10000) or more", "resolver: nil", "WithSink: nil sink", "WithTransitions: nil callback"} {
		assert.ErrorContains(t, err, want)
	}
	assert.NoError(t, monitor.DefaultRunnerConfig().Validate())
	assert.Equal(t, monitor.RunnerConfig{MaxConcurrent: 10, DefaultTimeout: 10 * time.Second, MaxWatchTargets: 10000}, monitor.DefaultRunnerConfig())
}

type describedMonitor struct {
	monitortest.Scripted
	descs []monitor.SampleDesc
}

func (d *describedMonitor) Describe() []monitor.SampleDesc { return d.descs }

func TestRunnerDescribe(t *testing.T) {
	r := newRunner(t, monitor.RunnerConfig{}, inventory.Static())
	cpu := monitor.SampleDesc{Name: "cpu_percent", Unit: monitor.Percent, Kind: monitor.Gauge, Help: "CPU."}
	mem := monitor.SampleDesc{Name: "memory_bytes", Unit: monitor.Bytes, Kind: monitor.Gauge, Help: "Memory."}
	require.NoError(t, r.Add(monitor.Check{Name: "a", Monitor: &describedMonitor{descs: []monitor.SampleDesc{mem, cpu}}, Interval: time.Minute}))
	require.NoError(t, r.Add(monitor.Check{Name: "b", Monitor: &describedMonitor{descs: []monitor.SampleDesc{{Name: "cpu_percent", Help: "dup"}}}, Interval: time.Minute}))
	require.NoError(t, r.Add(monitor.Check{Name: "c", Monitor: &monitortest.Scripted{}, Interval: time.Minute}))
	assert.Equal(t, []monitor.SampleDesc{cpu, mem}, r.Describe())
}

func TestUnmeasured(t *testing.T) {
	down := errors.New("engine down")
	assert.NoError(t, monitor.Unmeasured(nil))
	assert.NoError(t, monitor.Unmeasured([]monitor.Evaluation{{Err: down}, {}}), "something was measured")
	assert.NoError(t, monitor.Unmeasured([]monitor.Evaluation{{Err: fmt.Errorf("x: %w", monitor.ErrNoBaseline)}}), "no value yet is not a failure")
	assert.ErrorIs(t, monitor.Unmeasured([]monitor.Evaluation{{Err: down}, {Err: errors.New("other")}}), down)
}

func TestRunnerPerCheckResolver(t *testing.T) {
	// Two checks, one per engine: each resolves through its own Resolver,
	// and a failing one does not touch the other.
	runnerWide := inventory.ResolverFunc(func(ctx context.Context, sel inventory.Selector) ([]inventory.Target, error) {
		return nil, errors.New("the runner's resolver must not be asked")
	})
	engineA := inventory.Static(tA)
	engineB := inventory.ResolverFunc(func(ctx context.Context, sel inventory.Selector) ([]inventory.Target, error) {
		return nil, errors.New("engine b down")
	})
	m := &monitortest.Scripted{}
	r := newRunner(t, monitor.RunnerConfig{}, runnerWide)
	require.NoError(t, r.Add(monitor.Check{Name: "cpu@a", Monitor: m, Interval: time.Minute, Resolver: engineA}))
	require.NoError(t, r.Add(monitor.Check{Name: "cpu@b", Monitor: m, Interval: time.Minute, Resolver: engineB}))
	evs, err := r.CheckOnce(context.Background(), "cpu@a")
	require.NoError(t, err)
	require.Len(t, evs, 1)
	assert.Equal(t, tA, evs[0].Target)
	_, err = r.CheckOnce(context.Background(), "cpu@b")
	assert.ErrorContains(t, err, "engine b down")
}
