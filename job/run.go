package job

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/minato-ops/minato/inventory"
)

// The aggregate exit codes of the container jobs, those of the Hinemos Docker
// job scripts (a Hinemos job's end value).
const (
	// ExitOK: every Target succeeded or had nothing to do.
	ExitOK = 0
	// ExitError: the job could not run: a usage error, an unreachable
	// engine, or no Target matched.
	ExitError = 1
	// ExitFailed: the action failed on at least one Target.
	ExitFailed = 9
)

// RunOptions tunes [Run].
type RunOptions struct {
	// Concurrency is how many Targets are worked on at once; values below
	// 1 mean 1 (one after another, in order).
	Concurrency int
	// StopOnFailure stops starting new Targets once one failed; the rest
	// are reported as not run (error [ErrNotRun]).
	StopOnFailure bool
}

// ErrNotRun is the error of a Result whose Target was never worked on
// because the run stopped early (ctx done, or StopOnFailure).
var ErrNotRun = errors.New("job: not run")

// Result is the outcome for one Target.
type Result struct {
	Target  inventory.Target `json:"target"`
	Outcome Outcome          `json:"outcome"`
	// Err is set when the action could not be performed on this Target.
	Err error `json:"-"`
}

// Failed reports whether the Result counts as a failure: an error, or an
// Outcome that is neither success nor skip (a non-zero exit code that was
// not ignored, or a timeout).
func (r Result) Failed() bool {
	return r.Err != nil || (!r.Outcome.Skipped && !r.Outcome.Succeeded())
}

// Verdict renders the Result as the word that follows the ID and name in
// the per-container lines of the Hinemos Docker job scripts: "Success",
// or minato's "Skipped (<message>)" and "Failed: <reason>". A timed-out
// Outcome is "Failed: <message>" ("Failed: timed out" without one); an
// ignored exit code is "Success".
func (r Result) Verdict() string {
	switch {
	case r.Err != nil:
		return "Failed: " + r.Err.Error()
	case r.Outcome.Skipped:
		return "Skipped (" + r.Outcome.Message + ")"
	case r.Outcome.TimedOut:
		if r.Outcome.Message != "" {
			return "Failed: " + r.Outcome.Message
		}
		return "Failed: timed out"
	case r.Outcome.ExitCode != 0 && !r.Outcome.Ignored:
		if r.Outcome.Message != "" {
			return "Failed: " + r.Outcome.Message
		}
		return fmt.Sprintf("Failed: exit code %d", r.Outcome.ExitCode)
	}
	return "Success"
}

// Report is the outcome of a whole job.
type Report struct {
	// Results has one entry per Target, in the order the Targets were given.
	Results []Result `json:"results"`
	// Err is set when the job could not run at all (usage error,
	// unreachable engine, nothing matched); Results is then usually empty.
	Err error `json:"-"`
}

// Failed returns a Report for a job that could not run; its ExitCode is 1.
func Failed(err error) Report { return Report{Err: err} }

// ExitCode sums the Report into the container jobs' code: 1 when Err is
// set, 9 when any Result failed, else 0.
func (r Report) ExitCode() int {
	if r.Err != nil {
		return ExitError
	}
	for _, res := range r.Results {
		if res.Failed() {
			return ExitFailed
		}
	}
	return ExitOK
}

// Errors returns the per-Target errors joined, nil when there are none.
func (r Report) Errors() error {
	var errs []error
	for _, res := range r.Results {
		if res.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", res.Target, res.Err))
		}
	}
	return errors.Join(errs...)
}

// Run applies a to every Target with at most o.Concurrency at once and
// returns one Result per Target, in the order given. It returns when all
// started actions have returned; when ctx is done, Targets not yet started
// get [ErrNotRun] joined with ctx's error.
func Run(ctx context.Context, a Action, ts []inventory.Target, o RunOptions) Report {
	n := max(o.Concurrency, 1)
	rep := Report{Results: make([]Result, len(ts))}
	var (
		wg     sync.WaitGroup
		sem    = make(chan struct{}, n)
		mu     sync.Mutex
		failed bool
	)
	for i, t := range ts {
		rep.Results[i].Target = t
		mu.Lock()
		stop := failed && o.StopOnFailure
		mu.Unlock()
		if stop {
			rep.Results[i].Err = ErrNotRun
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			rep.Results[i].Err = errors.Join(ErrNotRun, ctx.Err())
			continue
		}
		if ctx.Err() != nil {
			<-sem
			rep.Results[i].Err = errors.Join(ErrNotRun, ctx.Err())
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			start := time.Now()
			out, err := a.Do(ctx, t)
			if out.Started.IsZero() {
				out.Started = start
			}
			if out.Ended.IsZero() {
				out.Ended = time.Now()
			}
			r := Result{Target: t, Outcome: out, Err: err}
			if r.Failed() {
				mu.Lock()
				failed = true
				mu.Unlock()
			}
			rep.Results[i] = r
		}()
		if n == 1 {
			// Sequential: let the failure flag settle before the next Target.
			wg.Wait()
		}
	}
	wg.Wait()
	return rep
}
