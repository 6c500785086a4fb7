package diag

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// CheckInfo describes a [Check].
type CheckInfo struct {
	// ID is stable ("engine.reachable", "host.rp_filter").
	ID string `json:"id"`
	// Title is the question in a few words ("Engine reachable").
	Title string `json:"title"`
	// Subject is what the check asks about.
	Subject SubjectKind `json:"subject"`
	// Reference names the catalogue entry it implements, if any.
	Reference string `json:"reference,omitempty"`
}

// Check is one question about an engine, a host, a container or a cloud
// resource. Run returns what it found wrong (none: all good), or an error
// when the question could not be answered (the engine is unreachable, a
// permission is missing): that is not a finding, as the answer is unknown.
// Run honours ctx and may be called from several goroutines; Info is cheap
// and does no I/O.
type Check interface {
	Info() CheckInfo
	Run(ctx context.Context) ([]Finding, error)
}

type funcCheck struct {
	info CheckInfo
	run  func(context.Context) ([]Finding, error)
}

func (c funcCheck) Info() CheckInfo { return c.info }
func (c funcCheck) Run(ctx context.Context) ([]Finding, error) {
	if c.run == nil {
		return nil, fmt.Errorf("check %s has no function to run", c.info.ID)
	}
	return c.run(ctx)
}

// NewCheck returns a Check of info that calls run. A nil run makes a check
// whose Run returns an error.
func NewCheck(info CheckInfo, run func(ctx context.Context) ([]Finding, error)) Check {
	return funcCheck{info: info, run: run}
}

// Defaults of [RunOptions].
const (
	DefaultConcurrency  = 8
	DefaultCheckTimeout = 30 * time.Second
)

// RunOptions tune [Run].
type RunOptions struct {
	// Concurrency is how many checks run at once; default 8.
	Concurrency int
	// Timeout bounds each check; default 30 s.
	Timeout time.Duration
	// Progress, when set, is called once per check as it ends (from the
	// goroutine that ran it, one call at a time, done counting from 1 to
	// total).
	Progress func(done, total int, r CheckResult)
}

// CheckResult is one check's outcome in a [Report].
type CheckResult struct {
	Check    CheckInfo `json:"check"`
	Findings []Finding `json:"findings,omitempty"`
	// Err says why the check could not answer ("" when it did).
	Err      string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Report is the outcome of a set of checks.
type Report struct {
	// Scope names what was checked ("engine local", "engine prod-1 and
	// host web1"), for the writers' first line. [Run] leaves it empty:
	// the caller that chose the checks sets it.
	Scope    string        `json:"scope,omitempty"`
	Taken    time.Time     `json:"taken"`
	Duration time.Duration `json:"duration_ns"`
	Results  []CheckResult `json:"results"`
}

// Run runs checks concurrently (at most o.Concurrency at once) and returns
// their results in the order of checks. Each check gets a context bounded
// by o.Timeout; one that has not answered by then is reported as "timed out
// after <timeout>" even if it ignores its context (it is then abandoned and
// no longer holds a slot). A check that panics is reported as an error, not
// propagated; a nil check is an error too. When ctx ends, the checks not
// yet started are reported as not run. Run never fails: what could not be
// answered is in the results' Err.
func Run(ctx context.Context, checks []Check, o RunOptions) Report {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultCheckTimeout
	}
	start := time.Now()
	rep := Report{Taken: start, Results: make([]CheckResult, len(checks))}
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			r := runOne(ctx, c, o.Timeout)
			<-sem
			rep.Results[i] = r
			if o.Progress != nil {
				mu.Lock()
				defer mu.Unlock()
				done++
				o.Progress(done, len(checks), r)
			}
		}()
	}
	wg.Wait()
	rep.Duration = time.Since(start)
	return rep
}

// checkInfo returns c's info, or an error when c is nil or Info panics.
func checkInfo(c Check) (info CheckInfo, err error) {
	if c == nil {
		return info, errors.New("no check to run (nil Check)")
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the check's Info failed (panic: %v)", p)
		}
	}()
	return c.Info(), nil
}

type outcome struct {
	findings []Finding
	err      error
	panicked any
}

// runOne runs c bounded by timeout, turning panics, timeouts and a done
// ctx into the result's Err.
func runOne(ctx context.Context, c Check, timeout time.Duration) (r CheckResult) {
	t0 := time.Now()
	defer func() { r.Duration = time.Since(t0) }()
	info, err := checkInfo(c)
	r.Check = info
	if err != nil {
		r.Err = err.Error()
		return r
	}
	if err := ctx.Err(); err != nil {
		r.Err = fmt.Sprintf("not run: %v", err)
		return r
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ch := make(chan outcome, 1)
	go func() {
		var o outcome
		defer func() {
			if p := recover(); p != nil {
				o = outcome{panicked: p}
			}
			ch <- o
		}()
		o.findings, o.err = c.Run(cctx)
	}()
	var o outcome
	select {
	case o = <-ch:
	case <-cctx.Done():
		select {
		case o = <-ch: // answered at the deadline: keep the answer
		default:
			o.err = cctx.Err()
		}
	}
	timedOut := ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded)
	switch {
	case o.panicked != nil:
		r.Err = fmt.Sprintf("the check failed (panic: %v)", o.panicked)
		return r
	case o.err != nil && timedOut:
		r.Err = fmt.Sprintf("timed out after %s", timeout)
	case o.err != nil && ctx.Err() != nil && errors.Is(o.err, ctx.Err()):
		r.Err = fmt.Sprintf("interrupted: %v", ctx.Err())
	case o.err != nil:
		r.Err = o.err.Error()
	}
	r.Findings = o.findings
	return r
}

// Summary counts a [Report]'s outcomes.
type Summary struct {
	// Checks is how many checks ran (or were meant to).
	Checks int `json:"checks"`
	// Critical, Warning, Info and OK count findings by severity.
	Critical int `json:"critical"`
	Warning  int `json:"warning"`
	Info     int `json:"info"`
	OK       int `json:"ok"`
	// Errors counts the checks that could not answer.
	Errors int `json:"errors"`
	// Worst and ExitCode are [Report.Worst] and [Report.ExitCode].
	Worst    Severity `json:"worst"`
	ExitCode int      `json:"exit_code"`
}

// Summary counts r's findings by severity and its checks that could not
// answer. A finding whose severity is out of range counts as Critical.
func (r Report) Summary() Summary {
	s := Summary{Checks: len(r.Results), Worst: r.Worst(), ExitCode: r.ExitCode()}
	for _, res := range r.Results {
		if res.Err != "" {
			s.Errors++
		}
		for _, f := range res.Findings {
			switch f.Severity {
			case OK:
				s.OK++
			case Info:
				s.Info++
			case Warning:
				s.Warning++
			default:
				s.Critical++
			}
		}
	}
	return s
}

// Findings returns every finding of the report, the most serious first,
// then by code and subject; findings that compare equal keep the order of
// the checks that returned them.
func (r Report) Findings() []Finding {
	var out []Finding
	for _, res := range r.Results {
		out = append(out, res.Findings...)
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(clampSeverity(b.Severity), clampSeverity(a.Severity)), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Subject.String(), b.Subject.String()))
	})
	return out
}

// Errors returns the results of the checks that could not answer, in the
// order of the checks.
func (r Report) Errors() []CheckResult {
	var out []CheckResult
	for _, res := range r.Results {
		if res.Err != "" {
			out = append(out, res)
		}
	}
	return out
}

// Worst returns the most serious severity of the findings (OK when there
// are none); a check that could not answer counts as a Warning (something
// is not known), and a severity out of range as Critical.
func (r Report) Worst() Severity {
	w := OK
	for _, res := range r.Results {
		if res.Err != "" {
			w = max(w, Warning)
		}
		for _, f := range res.Findings {
			w = max(w, clampSeverity(f.Severity))
		}
	}
	return w
}

// clampSeverity maps a severity out of range to Critical, so that a
// corrupt value is never taken for less than it may be.
func clampSeverity(s Severity) Severity {
	if s < OK || s > Critical {
		return Critical
	}
	return s
}

// ExitCode is the exit status a command reports for r: 0 when the worst
// is OK or Info, 1 for Warning (a check that could not answer included),
// 2 for Critical.
func (r Report) ExitCode() int {
	switch r.Worst() {
	case Critical:
		return 2
	case Warning:
		return 1
	}
	return 0
}
