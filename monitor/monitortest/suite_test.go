package monitortest_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/monitortest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var web = inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57" + strings.Repeat("0", 52), Name: "web-1"}

// goodMonitor measures quickly, honours ctx and describes its samples.
type goodMonitor struct {
	mu sync.Mutex
	n  int
}

func (g *goodMonitor) Check(ctx context.Context, _ inventory.Target) (monitor.Result, error) {
	g.mu.Lock()
	g.n++
	first := g.n == 1
	g.mu.Unlock()
	if first {
		return monitor.Result{}, fmt.Errorf("cpu: %w", monitor.ErrNoBaseline)
	}
	select {
	case <-ctx.Done():
		return monitor.Result{}, ctx.Err()
	case <-time.After(time.Millisecond):
	}
	return monitor.Result{Samples: []monitor.Sample{
		{Name: "cpu_percent", Value: 12.5, Unit: monitor.Percent, Mode: monitor.ModeOneShot},
		{Name: "cpu_percent", Value: 3, Unit: monitor.Percent, Labels: map[string]string{"core": "0"}},
		{Name: "memory_working_set_bytes", Value: 1 << 20, Unit: monitor.Bytes},
		{Name: "network_rx_bytes_total", Value: 1854, Unit: monitor.Bytes},
		{Name: "network_rx_packets_total", Value: 23, Unit: monitor.Count},
		{Name: "pids_current", Value: 4},
	}}, nil
}

func (g *goodMonitor) Describe() []monitor.SampleDesc {
	return []monitor.SampleDesc{
		{Name: "cpu_percent", Unit: monitor.Percent, Kind: monitor.Gauge, Help: "CPU.", Labels: []string{"core"}},
		{Name: "memory_working_set_bytes", Unit: monitor.Bytes, Kind: monitor.Gauge, Help: "Memory."},
		{Name: "network_rx_bytes_total", Unit: monitor.Bytes, Kind: monitor.Counter, Help: "Bytes received."},
		{Name: "network_rx_packets_total", Unit: monitor.Count, Kind: monitor.Counter, Help: "Packets received."},
		{Name: "pids_current", Kind: monitor.Gauge, Help: "Tasks."},
	}
}

// badMonitor ignores ctx, produces malformed samples and under-describes.
type badMonitor struct{ sleep time.Duration }

func (b badMonitor) Check(context.Context, inventory.Target) (monitor.Result, error) {
	time.Sleep(b.sleep)
	return monitor.Result{Status: 7, Samples: []monitor.Sample{
		{Name: "CPU-Usage", Value: 1},
		{Name: "memory_bytes", Value: 1, Unit: monitor.Percent},
		{Name: "uptime", Value: 1, Unit: monitor.Seconds},
		{Name: "restarts", Value: 1, Unit: monitor.Count},
		{Name: "latency_ms", Value: 1, Unit: "ms"},
		{Name: "disk_percent", Value: math.NaN(), Unit: monitor.Percent},
		{Name: "pids_current", Value: 1, Labels: map[string]string{"bad-key": "x"}},
		{Name: "pids_current", Value: 1, Labels: map[string]string{"bad-key": "x"}},
	}}, nil
}

func (badMonitor) Describe() []monitor.SampleDesc {
	return []monitor.SampleDesc{
		{Name: "memory_bytes", Unit: monitor.Bytes, Kind: "summary"},
		{Name: "memory_bytes", Unit: monitor.Bytes, Kind: monitor.Gauge, Help: "x"},
	}
}

// fakeTB records failures instead of failing the real test.
type fakeTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
	logs []string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Error(args ...any) { f.Errorf("%s", fmt.Sprint(args...)) }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }
func (f *fakeTB) FailNow()          { f.Fatalf("FailNow") }
func (f *fakeTB) Fail()             { f.Errorf("Fail") }
func (f *fakeTB) Failed() bool      { f.mu.Lock(); defer f.mu.Unlock(); return len(f.errs) > 0 }
func (f *fakeTB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Log(args ...any) { f.Logf("%s", fmt.Sprint(args...)) }

// run runs fn with a fake TB on its own goroutine (so Goexit is safe).
func run(t *testing.T, fn func(tb testing.TB)) *fakeTB {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

func TestSuitePassesGoodMonitor(t *testing.T) {
	monitortest.TestMonitor(t, &goodMonitor{}, web)
	f := run(t, func(tb testing.TB) { monitortest.TestMonitor(tb, &goodMonitor{}, web, monitortest.Concurrency(4)) })
	assert.Empty(t, f.errs)
}

func TestSuitePassesScripted(t *testing.T) {
	m := &monitortest.Scripted{Steps: monitortest.Values("cpu_percent", monitor.Percent, 1, 2, 3)}
	monitortest.TestMonitor(t, m, web)
	assert.Len(t, m.Calls(), 2+2+8)
}

func TestSuiteFailsBadMonitor(t *testing.T) {
	f := run(t, func(tb testing.TB) {
		monitortest.TestMonitor(tb, badMonitor{sleep: 200 * time.Millisecond}, web,
			monitortest.PromptWithin(50*time.Millisecond), monitortest.Concurrency(2))
	})
	require.True(t, f.Failed())
	all := strings.Join(f.errs, "\n")
	for _, want := range []string{
		"Check with an already cancelled ctx did not return within 50ms",
		"Check whose ctx is cancelled while it runs did not return within 50ms",
		"Result.Status 7",
		`"CPU-Usage" is not snake_case`,
		`"memory_bytes" ends in _bytes but has unit "%", want "B"`,
		`"uptime" has unit "s" but its name does not end in _seconds`,
		`"restarts" has unit c (counter) but its name does not end in _total`,
		`"latency_ms": unit "ms"`,
		`"disk_percent" has value NaN`,
		`label key "bad-key" is not a valid label name`,
		`"pids_current" with labels map[bad-key:x] appears twice`,
		`Describe: sample "memory_bytes" is described twice`,
		`Describe: sample "memory_bytes": kind "summary"`,
		`Describe: sample "memory_bytes" has no help text`,
		`Describe: sample "uptime" is produced but not described`,
		`Describe: sample "memory_bytes" has unit "%" but is described with "B"`,
	} {
		assert.Contains(t, all, want)
	}
	// Each problem is reported once, however many results showed it.
	assert.Equal(t, 1, strings.Count(all, `"CPU-Usage" is not snake_case`))
}

func TestSuiteErrors(t *testing.T) {
	t.Run("only no-baseline and unsupported: skipped", func(t *testing.T) {
		m := &monitortest.Scripted{Steps: []monitortest.Step{{Err: monitor.ErrNotSupported}}}
		f := run(t, func(tb testing.TB) { monitortest.TestMonitor(tb, m, web) })
		assert.Empty(t, f.errs)
		require.NotEmpty(t, f.logs)
		assert.Contains(t, f.logs[0], "sample checks skipped")
	})
	t.Run("other errors fail", func(t *testing.T) {
		m := &monitortest.Scripted{Steps: []monitortest.Step{{Err: errors.New("engine unreachable")}}}
		f := run(t, func(tb testing.TB) { monitortest.TestMonitor(tb, m, web) })
		require.Len(t, f.errs, 1)
		assert.Contains(t, f.errs[0], "no Check of container web-1 (0e0d8cdf3a57) succeeded; first error: engine unreachable")
	})
	t.Run("panics are failures", func(t *testing.T) {
		m := monitor.MonitorFunc(func(context.Context, inventory.Target) (monitor.Result, error) {
			var s []int
			_ = s[3]
			return monitor.Result{}, nil
		})
		f := run(t, func(tb testing.TB) { monitortest.TestMonitor(tb, m, web, monitortest.Concurrency(1)) })
		require.NotEmpty(t, f.errs)
		assert.Contains(t, f.errs[0], "sequential Check panicked: runtime error: index out of range")
	})
}

func TestScripted(t *testing.T) {
	boom := errors.New("boom")
	m := &monitortest.Scripted{
		Steps:    monitortest.Values("x_percent", monitor.Percent, 1, 2),
		ByTarget: map[string][]monitortest.Step{"db": {{Err: boom}}},
	}
	ctx := context.Background()
	other := inventory.Target{ID: "2", Name: "web-2"}
	for _, want := range []float64{1, 2, 2} {
		r, err := m.Check(ctx, web)
		require.NoError(t, err)
		assert.Equal(t, want, r.Samples[0].Value)
	}
	r, _ := m.Check(ctx, other) // its own position
	assert.Equal(t, 1.0, r.Samples[0].Value)
	_, err := m.Check(ctx, inventory.Target{ID: "3", Name: "db"})
	assert.ErrorIs(t, err, boom)
	assert.Len(t, m.Calls(), 5)
	assert.Equal(t, 1, m.MaxInFlight())

	empty := &monitortest.Scripted{}
	r, err = empty.Check(ctx, web)
	require.NoError(t, err)
	assert.Equal(t, monitor.Result{}, r)

	slow := &monitortest.Scripted{Steps: []monitortest.Step{{Delay: time.Hour}}}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = slow.Check(cctx, web)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestScriptedBatch(t *testing.T) {
	b := &monitortest.ScriptedBatch{Scripted: monitortest.Scripted{Steps: monitortest.Values("x_percent", monitor.Percent, 5)}}
	rs, errs, err := b.CheckAll(context.Background(), []inventory.Target{web, {ID: "2"}})
	require.NoError(t, err)
	assert.Len(t, rs, 2)
	assert.Equal(t, []error{nil, nil}, errs)
	assert.Equal(t, 1, b.Sweeps())
	assert.Equal(t, 2, b.MaxInFlight())
	b.SweepErr = errors.New("down")
	_, _, err = b.CheckAll(context.Background(), []inventory.Target{web})
	assert.EqualError(t, err, "down")
}

func TestRecordingSink(t *testing.T) {
	var s monitortest.RecordingSink
	ev := monitor.Evaluation{Check: "cpu", Target: web, Status: monitor.Warning}
	require.NoError(t, s.Write(context.Background(), []monitor.Evaluation{ev}))
	s.Err = errors.New("full")
	assert.EqualError(t, s.Write(context.Background(), []monitor.Evaluation{ev, ev}), "full")
	assert.Len(t, s.Writes(), 2)
	assert.Len(t, s.Evaluations(), 3)
	assert.Equal(t, []monitor.Status{monitor.Warning, monitor.Warning, monitor.Warning}, s.Statuses("cpu", "web-1"))
}

func TestParseRangeHelper(t *testing.T) {
	assert.Equal(t, &monitor.Range{Start: 10, End: 20}, monitortest.ParseRange(t, "10:20"))
	f := run(t, func(tb testing.TB) { monitortest.ParseRange(tb, "20:10") })
	require.Len(t, f.errs, 1)
	assert.Contains(t, f.errs[0], `"20:10": start 20 is greater than end 10`)
}
