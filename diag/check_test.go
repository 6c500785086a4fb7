package diag_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minato-ops/minato/diag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func check(id string, run func(ctx context.Context) ([]diag.Finding, error)) diag.Check {
	return diag.NewCheck(diag.CheckInfo{ID: id, Title: "check " + id, Subject: diag.SubjectEngine}, run)
}

func finding(code string, sev diag.Severity, name string) diag.Finding {
	return diag.Finding{Code: code, Severity: sev, Subject: diag.Subject{Kind: diag.SubjectContainer, Name: name}, Title: code + " on " + name}
}

func returns(fs ...diag.Finding) func(context.Context) ([]diag.Finding, error) {
	return func(context.Context) ([]diag.Finding, error) { return fs, nil }
}

func TestRunHonoursConcurrency(t *testing.T) {
	const limit, n = 3, 12
	var inFlight, peak atomic.Int32
	gate := make(chan struct{})
	checks := make([]diag.Check, n)
	for i := range checks {
		checks[i] = check(fmt.Sprint(i), func(ctx context.Context) ([]diag.Finding, error) {
			cur := inFlight.Add(1)
			for {
				p := peak.Load()
				if cur <= p || peak.CompareAndSwap(p, cur) {
					break
				}
			}
			<-gate
			inFlight.Add(-1)
			return nil, nil
		})
	}
	done := make(chan diag.Report)
	go func() { done <- diag.Run(context.Background(), checks, diag.RunOptions{Concurrency: limit}) }()
	require.Eventually(t, func() bool { return inFlight.Load() == limit }, 5*time.Second, time.Millisecond)
	// Were the bound ignored, the other nine would start now.
	time.Sleep(50 * time.Millisecond)
	assert.EqualValues(t, limit, inFlight.Load())
	close(gate)
	rep := <-done
	assert.EqualValues(t, limit, peak.Load())
	assert.Len(t, rep.Results, n)
	assert.Empty(t, rep.Errors())
}

func TestRunDefaultConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int32
	gate := make(chan struct{})
	checks := make([]diag.Check, 20)
	for i := range checks {
		checks[i] = check(fmt.Sprint(i), func(ctx context.Context) ([]diag.Finding, error) {
			cur := inFlight.Add(1)
			for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
			}
			<-gate
			inFlight.Add(-1)
			return nil, nil
		})
	}
	done := make(chan diag.Report)
	go func() { done <- diag.Run(context.Background(), checks, diag.RunOptions{}) }()
	require.Eventually(t, func() bool { return inFlight.Load() == diag.DefaultConcurrency }, 5*time.Second, time.Millisecond)
	time.Sleep(30 * time.Millisecond)
	close(gate)
	<-done
	assert.EqualValues(t, diag.DefaultConcurrency, peak.Load())
}

func TestRunTimeout(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	checks := []diag.Check{
		check("polite", func(ctx context.Context) ([]diag.Finding, error) {
			<-ctx.Done()
			return nil, fmt.Errorf("engine call: %w", ctx.Err())
		}),
		// ignores its context: Run must not wait for it
		check("stuck", func(ctx context.Context) ([]diag.Finding, error) {
			<-stuck
			return nil, nil
		}),
		check("quick", returns(finding("x", diag.Info, "a"))),
	}
	start := time.Now()
	rep := diag.Run(context.Background(), checks, diag.RunOptions{Timeout: 50 * time.Millisecond})
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, "timed out after 50ms", rep.Results[0].Err)
	assert.Equal(t, "timed out after 50ms", rep.Results[1].Err)
	assert.Empty(t, rep.Results[2].Err)
	assert.Len(t, rep.Results[2].Findings, 1)
	assert.GreaterOrEqual(t, rep.Results[0].Duration, 50*time.Millisecond)
}

func TestRunPanicIsAnError(t *testing.T) {
	rep := diag.Run(context.Background(), []diag.Check{
		check("boom", func(ctx context.Context) ([]diag.Finding, error) { panic("nil map write") }),
		check("fine", returns(finding("y", diag.Warning, "b"))),
	}, diag.RunOptions{})
	assert.Equal(t, "the check failed (panic: nil map write)", rep.Results[0].Err)
	assert.Nil(t, rep.Results[0].Findings)
	assert.Equal(t, "boom", rep.Results[0].Check.ID)
	assert.Empty(t, rep.Results[1].Err)
	assert.Equal(t, diag.Warning, rep.Worst())
}

type panickyInfo struct{}

func (panickyInfo) Info() diag.CheckInfo                            { panic("no info") }
func (panickyInfo) Run(ctx context.Context) ([]diag.Finding, error) { return nil, nil }

func TestRunNilAndBrokenChecks(t *testing.T) {
	rep := diag.Run(context.Background(), []diag.Check{nil, diag.NewCheck(diag.CheckInfo{ID: "norun"}, nil), panickyInfo{}}, diag.RunOptions{})
	require.Len(t, rep.Results, 3)
	assert.Equal(t, "no check to run (nil Check)", rep.Results[0].Err)
	assert.Equal(t, "check norun has no function to run", rep.Results[1].Err)
	assert.Equal(t, "the check's Info failed (panic: no info)", rep.Results[2].Err)
	assert.Equal(t, 1, rep.ExitCode())
}

func TestRunKeepsOrder(t *testing.T) {
	var checks []diag.Check
	for i := range 10 {
		checks = append(checks, check(fmt.Sprint(i), func(ctx context.Context) ([]diag.Finding, error) {
			time.Sleep(time.Duration(10-i) * time.Millisecond) // later checks end first
			return []diag.Finding{finding(fmt.Sprint(i), diag.Info, "c")}, nil
		}))
	}
	rep := diag.Run(context.Background(), checks, diag.RunOptions{Concurrency: 10})
	for i, r := range rep.Results {
		assert.Equal(t, fmt.Sprint(i), r.Check.ID)
		assert.Equal(t, fmt.Sprint(i), r.Findings[0].Code)
	}
	assert.False(t, rep.Taken.IsZero())
	assert.Positive(t, rep.Duration)
}

func TestRunProgressOncePerCheck(t *testing.T) {
	const n = 25
	var checks []diag.Check
	for i := range n {
		checks = append(checks, check(fmt.Sprint(i), returns()))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var dones []int
	var busy, overlap atomic.Bool
	rep := diag.Run(context.Background(), checks, diag.RunOptions{Concurrency: 5, Progress: func(done, total int, r diag.CheckResult) {
		if !busy.CompareAndSwap(false, true) {
			overlap.Store(true)
		}
		defer busy.Store(false)
		time.Sleep(100 * time.Microsecond)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, n, total)
		seen[r.Check.ID]++
		dones = append(dones, done)
	}})
	assert.Len(t, rep.Results, n)
	assert.False(t, overlap.Load(), "Progress must be called one call at a time")
	assert.Len(t, seen, n)
	for id, c := range seen {
		assert.Equal(t, 1, c, id)
	}
	for i, d := range dones {
		assert.Equal(t, i+1, d)
	}
}

func TestRunContextDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep := diag.Run(ctx, []diag.Check{check("a", returns())}, diag.RunOptions{})
	assert.Equal(t, "not run: context canceled", rep.Results[0].Err)

	ctx, cancel = context.WithCancel(context.Background())
	started := make(chan struct{})
	go func() { <-started; cancel() }()
	rep = diag.Run(ctx, []diag.Check{check("b", func(ctx context.Context) ([]diag.Finding, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})}, diag.RunOptions{})
	assert.Equal(t, "interrupted: context canceled", rep.Results[0].Err)
}

func TestRunKeepsFindingsWithError(t *testing.T) {
	rep := diag.Run(context.Background(), []diag.Check{check("partial", func(ctx context.Context) ([]diag.Finding, error) {
		return []diag.Finding{finding("c1", diag.Critical, "web")}, errors.New("container db: inspect: no such container")
	})}, diag.RunOptions{})
	r := rep.Results[0]
	assert.Equal(t, "container db: inspect: no such container", r.Err)
	assert.Len(t, r.Findings, 1)
	assert.Equal(t, diag.Critical, rep.Worst())
}

func report(results ...diag.CheckResult) diag.Report { return diag.Report{Results: results} }

func result(id string, err string, fs ...diag.Finding) diag.CheckResult {
	return diag.CheckResult{Check: diag.CheckInfo{ID: id, Title: "check " + id}, Findings: fs, Err: err}
}

func TestReportWorstAndExitCode(t *testing.T) {
	cases := []struct {
		name  string
		rep   diag.Report
		worst diag.Severity
		exit  int
	}{
		{"empty", report(), diag.OK, 0},
		{"all good", report(result("a", ""), result("b", "")), diag.OK, 0},
		{"ok finding", report(result("a", "", finding("v", diag.OK, "e"))), diag.OK, 0},
		{"info", report(result("a", "", finding("i", diag.Info, "x"))), diag.Info, 0},
		{"error counts as warning", report(result("a", "engine unreachable"), result("b", "", finding("i", diag.Info, "x"))), diag.Warning, 1},
		{"warning", report(result("a", "", finding("w", diag.Warning, "x"), finding("i", diag.Info, "x"))), diag.Warning, 1},
		{"critical beats error", report(result("a", "boom"), result("b", "", finding("c", diag.Critical, "x"))), diag.Critical, 2},
		{"out of range is critical", report(result("a", "", finding("bad", diag.Severity(9), "x"))), diag.Critical, 2},
		{"negative is critical", report(result("a", "", finding("bad", diag.Severity(-1), "x"))), diag.Critical, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.worst, c.rep.Worst())
			assert.Equal(t, c.exit, c.rep.ExitCode())
			s := c.rep.Summary()
			assert.Equal(t, c.worst, s.Worst)
			assert.Equal(t, c.exit, s.ExitCode)
		})
	}
}

func TestReportFindingsOrder(t *testing.T) {
	rep := report(
		result("a", "", finding("b.code", diag.Info, "z"), finding("a.code", diag.Warning, "y")),
		result("b", "", finding("a.code", diag.Warning, "x"), finding("D21", diag.Critical, "h")),
		result("c", "", finding("a.code", diag.Warning, "x"), finding("a.code", diag.Info, "q")),
	)
	rep.Results[2].Findings[0].Title = "second of equals"
	var got []string
	for _, f := range rep.Findings() {
		got = append(got, f.Severity.String()+" "+f.Code+" "+f.Subject.String()+" "+f.Title)
	}
	assert.Equal(t, []string{
		"critical D21 container h D21 on h",
		"warning a.code container x a.code on x",
		"warning a.code container x second of equals",
		"warning a.code container y a.code on y",
		"info a.code container q a.code on q",
		"info b.code container z b.code on z",
	}, got)
	assert.Nil(t, report(result("a", "")).Findings())
}

func TestReportErrorsAndSummary(t *testing.T) {
	rep := report(
		result("a", "timed out after 30s"),
		result("b", "", finding("c", diag.Critical, "x"), finding("w", diag.Warning, "x"), finding("w", diag.Warning, "y"), finding("i", diag.Info, "x"), finding("o", diag.OK, "x")),
		result("c", "permission denied"),
	)
	errs := rep.Errors()
	require.Len(t, errs, 2)
	assert.Equal(t, "a", errs[0].Check.ID)
	assert.Equal(t, "c", errs[1].Check.ID)
	assert.Equal(t, diag.Summary{Checks: 3, Critical: 1, Warning: 2, Info: 1, OK: 1, Errors: 2, Worst: diag.Critical, ExitCode: 2}, rep.Summary())
}
