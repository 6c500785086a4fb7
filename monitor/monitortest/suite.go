package monitortest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// Option tunes [TestMonitor].
type Option func(*suite)

// Concurrency sets how many goroutines call Check at once in the
// concurrency part of the suite; the default is 8.
func Concurrency(n int) Option { return func(s *suite) { s.concurrency = max(n, 1) } }

// PromptWithin sets how soon Check (or Watch) must return once its ctx is
// cancelled; the default is 2 s.
func PromptWithin(d time.Duration) Option { return func(s *suite) { s.prompt = d } }

// CheckTimeout sets the timeout of the ordinary Check calls the suite
// makes; the default is 30 s.
func CheckTimeout(d time.Duration) Option { return func(s *suite) { s.timeout = d } }

// ObserveWithin sets how long [TestWatcher] waits for the first
// observation after the trigger; the default is 30 s.
func ObserveWithin(d time.Duration) Option { return func(s *suite) { s.observe = d } }

type suite struct {
	concurrency int
	prompt      time.Duration
	timeout     time.Duration
	observe     time.Duration
}

type outcome struct {
	res monitor.Result
	err error
}

// TestMonitor is a conformance suite for a [monitor.Monitor]: adapter
// authors, including users writing their own monitors, call it from a
// test with a Target the monitor can measure. It reports every problem
// with tb.Errorf (it never stops early) and checks that:
//
//   - Check returns within PromptWithin when its ctx is already cancelled,
//     and when ctx is cancelled while it runs;
//   - Check is safe to call from several goroutines at once (run the
//     test with -race) and does not panic;
//   - every Sample is well formed: a snake_case name; a unit suffix
//     consistent with Unit ("_percent" with %, "_bytes" with B,
//     "_seconds" with s, each optionally followed by "_total"; unit c
//     requires "_total"; no other units); a finite value; label keys
//     that are valid Prometheus label names; no two samples with the
//     same name and labels; a Result.Status of at most Unknown;
//   - if the monitor is a [monitor.Describer], its descriptions are well
//     formed and unique, and describe every sample name produced, with
//     the same unit and every label key used.
//
// A first call that fails with [monitor.ErrNoBaseline] is expected of rate
// monitors; the suite calls Check again. When no call succeeds and every
// error wraps ErrNoBaseline or [monitor.ErrNotSupported], the sample
// checks are skipped (logged); any other error on every call is a
// failure. Whether errors wrap those sentinels where they should cannot
// be checked from outside, so it is not.
//
// TestMonitor takes a testing.TB so that it can run in benchmarks and be
// tested itself; it may be called from any goroutine. A Monitor that is a
// [monitor.Watcher] is watched, not polled: test it with [TestWatcher].
func TestMonitor(tb testing.TB, m monitor.Monitor, target inventory.Target, opts ...Option) {
	tb.Helper()
	s := suite{concurrency: 8, prompt: 2 * time.Second, timeout: 30 * time.Second}
	for _, o := range opts {
		o(&s)
	}
	var outs []outcome

	// Sequential warm-up: a rate monitor has its baseline after the first.
	for range 2 {
		outs = append(outs, s.call(tb, "sequential Check", m, target))
	}

	// Cancelled ctx, before and during the call.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.prompted(tb, "Check with an already cancelled ctx", func() { _, _ = m.Check(ctx, target) })
	s.prompted(tb, "Check whose ctx is cancelled while it runs", func() {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = safeCheck(ctx, m, target)
		}()
		time.Sleep(min(s.prompt/10, 20*time.Millisecond))
		cancel()
		<-done
	})

	// Concurrent calls.
	conc := make([]outcome, s.concurrency)
	var wg sync.WaitGroup
	for i := range conc {
		wg.Go(func() { conc[i] = s.call(tb, fmt.Sprintf("concurrent Check %d", i), m, target) })
	}
	wg.Wait()
	outs = append(outs, conc...)

	var ok []monitor.Result
	var errs []error
	for _, o := range outs {
		if o.err != nil {
			errs = append(errs, o.err)
		} else {
			ok = append(ok, o.res)
		}
	}
	if len(ok) == 0 {
		expected := !slices.ContainsFunc(errs, func(err error) bool {
			return !errors.Is(err, monitor.ErrNoBaseline) && !errors.Is(err, monitor.ErrNotSupported)
		})
		if expected {
			tb.Logf("monitortest: no Check of %s succeeded (%v); sample checks skipped", target, errs[0])
		} else {
			tb.Errorf("monitortest: no Check of %s succeeded; first error: %v", target, errs[0])
		}
		return
	}
	var problems []string
	for _, res := range ok {
		problems = append(problems, resultProblems(res)...)
	}
	for _, p := range dedupe(problems) {
		tb.Errorf("monitortest: %s", p)
	}
	if d, isDescriber := m.(monitor.Describer); isDescriber {
		for _, p := range describeProblems(d.Describe(), ok) {
			tb.Errorf("monitortest: Describe: %s", p)
		}
	}
}

// call makes one ordinary Check call, turning a panic into a failure.
func (s suite) call(tb testing.TB, what string, m monitor.Monitor, t inventory.Target) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	res, err := safeCheck(ctx, m, t)
	var p panicError
	if errors.As(err, &p) {
		tb.Errorf("monitortest: %s panicked: %v", what, p.v)
	}
	return outcome{res, err}
}

type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprintf("panic: %v", p.v) }

func safeCheck(ctx context.Context, m monitor.Monitor, t inventory.Target) (res monitor.Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError{v}
		}
	}()
	return m.Check(ctx, t)
}

// prompted fails tb when f does not return within s.prompt. f keeps
// running in the background if it hangs.
func (s suite) prompted(tb testing.TB, what string, f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				tb.Errorf("monitortest: %s panicked: %v", what, v)
			}
		}()
		f()
	}()
	t := time.NewTimer(s.prompt)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		tb.Errorf("monitortest: %s did not return within %s: Check must honour ctx", what, s.prompt)
	}
}

var (
	snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

var unitSuffixes = []struct {
	suffix string
	unit   monitor.Unit
}{{"_percent", monitor.Percent}, {"_bytes", monitor.Bytes}, {"_seconds", monitor.Seconds}}

// nameProblems checks a sample name against its unit.
func nameProblems(name string, unit monitor.Unit) []string {
	var ps []string
	if !snakeCase.MatchString(name) {
		ps = append(ps, fmt.Sprintf("sample name %q is not snake_case (lower-case letters, digits, single underscores)", name))
	}
	base := strings.TrimSuffix(name, "_total")
	switch unit {
	case monitor.None, monitor.Percent, monitor.Bytes, monitor.Seconds:
	case monitor.Count:
		if !strings.HasSuffix(name, "_total") {
			ps = append(ps, fmt.Sprintf("sample %q has unit c (counter) but its name does not end in _total", name))
		}
	default:
		ps = append(ps, fmt.Sprintf("sample %q: unit %q: want one of \"\", %%, B, s, c", name, unit))
	}
	for _, us := range unitSuffixes {
		has := strings.HasSuffix(base, us.suffix)
		switch {
		case has && unit != us.unit:
			ps = append(ps, fmt.Sprintf("sample %q ends in %s but has unit %q, want %q", name, us.suffix, unit, us.unit))
		case !has && unit == us.unit:
			ps = append(ps, fmt.Sprintf("sample %q has unit %q but its name does not end in %s (optionally followed by _total)", name, unit, us.suffix))
		}
	}
	return ps
}

func resultProblems(r monitor.Result) []string {
	var ps []string
	if r.Status > monitor.Unknown {
		ps = append(ps, fmt.Sprintf("Result.Status %d is not OK, Warning, Critical or Unknown", r.Status))
	}
	seen := map[string]bool{}
	for _, s := range r.Samples {
		ps = append(ps, nameProblems(s.Name, s.Unit)...)
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			ps = append(ps, fmt.Sprintf("sample %q has value %v: report a missing value as an error (ErrNoBaseline, ErrNotSupported), never NaN or Inf", s.Name, s.Value))
		}
		keys := make([]string, 0, len(s.Labels))
		for k := range s.Labels {
			keys = append(keys, k)
			if !labelName.MatchString(k) || strings.HasPrefix(k, "__") {
				ps = append(ps, fmt.Sprintf("sample %q: label key %q is not a valid label name", s.Name, k))
			}
		}
		slices.Sort(keys)
		id := s.Name
		for _, k := range keys {
			id += "\x00" + k + "\x00" + s.Labels[k]
		}
		if seen[id] {
			ps = append(ps, fmt.Sprintf("sample %q with labels %v appears twice in one Result", s.Name, s.Labels))
		}
		seen[id] = true
	}
	return ps
}

func describeProblems(descs []monitor.SampleDesc, results []monitor.Result) []string {
	var ps []string
	byName := map[string]monitor.SampleDesc{}
	for _, d := range descs {
		if _, dup := byName[d.Name]; dup {
			ps = append(ps, fmt.Sprintf("sample %q is described twice", d.Name))
		}
		byName[d.Name] = d
		ps = append(ps, nameProblems(d.Name, d.Unit)...)
		if d.Kind != monitor.Gauge && d.Kind != monitor.Counter {
			ps = append(ps, fmt.Sprintf("sample %q: kind %q: want gauge or counter", d.Name, d.Kind))
		}
		if strings.TrimSpace(d.Help) == "" {
			ps = append(ps, fmt.Sprintf("sample %q has no help text", d.Name))
		}
	}
	reported := map[string]bool{}
	for _, r := range results {
		for _, s := range r.Samples {
			d, ok := byName[s.Name]
			switch {
			case !ok:
				if !reported[s.Name] {
					ps = append(ps, fmt.Sprintf("sample %q is produced but not described", s.Name))
				}
				reported[s.Name] = true
				continue
			case d.Unit != s.Unit:
				ps = append(ps, fmt.Sprintf("sample %q has unit %q but is described with %q", s.Name, s.Unit, d.Unit))
			}
			for k := range s.Labels {
				if !slices.Contains(d.Labels, k) {
					ps = append(ps, fmt.Sprintf("sample %q carries label %q, which its description does not list", s.Name, k))
				}
			}
		}
	}
	return dedupe(ps)
}

func dedupe(ps []string) []string {
	seen := map[string]bool{}
	return slices.DeleteFunc(ps, func(p string) bool {
		if seen[p] {
			return true
		}
		seen[p] = true
		return false
	})
}
