package job

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/minato-ops/minato/inventory"
)

// Wrapper decorates an Action with cross-cutting behaviour (a deadline,
// retries, overlap control), the way robfig/cron's JobWrapper decorates a
// Job. A Wrapper must return an Action that keeps the [Action] contract:
// safe for concurrent use for different Targets, honouring ctx.
type Wrapper func(Action) Action

// Chain applies the wrappers to a, the first one outermost:
// Chain(a, w1, w2) is w1(w2(a)), as robfig/cron's Chain. So
// Chain(a, Retry(p), Timeout(d)) retries attempts that each have their own
// deadline. Nil wrappers are skipped.
func Chain(a Action, ws ...Wrapper) Action {
	for i := len(ws) - 1; i >= 0; i-- {
		if ws[i] != nil {
			a = ws[i](a)
		}
	}
	return a
}

// timeoutCause marks the deadline a Timeout set, so it can be told apart
// from the caller's own deadline or cancellation.
type timeoutCause struct{ d time.Duration }

func (c *timeoutCause) Error() string { return fmt.Sprintf("job: timed out after %s", c.d) }

// Timeout returns a Wrapper that runs the action with a deadline d from
// the start of each Do. When the deadline ended the action (Do returned
// after the deadline passed, with an error or without one), the Outcome
// has TimedOut set, Message "timed out after <d>", the action's Started,
// Ended and (when it returned no error) ExitCode, and the error is nil. The
// wrapper waits for Do to return: an action that honours ctx returns
// promptly at the deadline. A deadline or cancellation of the caller's ctx
// is not a timeout: the action's result is passed on as it is. d <= 0
// returns the action unchanged.
func Timeout(d time.Duration) Wrapper {
	return func(a Action) Action {
		if d <= 0 {
			return a
		}
		return ActionFunc(func(ctx context.Context, t inventory.Target) (Outcome, error) {
			cause := &timeoutCause{d: d}
			tctx, cancel := context.WithTimeoutCause(ctx, d, cause)
			out, err := a.Do(tctx, t)
			cancel() // from here on, Cause says whether the deadline came first
			if context.Cause(tctx) != cause {
				return out, err
			}
			if err != nil {
				out = Outcome{Started: out.Started, Ended: out.Ended, Attempts: out.Attempts}
			}
			out.TimedOut = true
			out.Skipped = false
			out.Message = fmt.Sprintf("timed out after %s", d)
			return out, nil
		})
	}
}

// Decision is what a [RetryPolicy] does with a non-zero exit code.
type Decision string

// The decisions of a RetryPolicy.
const (
	// DecideRetry runs the action again, while the Limit allows.
	DecideRetry Decision = "retry"
	// DecideFail stops retrying: the Outcome is the failure as it is.
	DecideFail Decision = "fail"
	// DecideIgnore stops retrying and treats the code as success: the
	// Outcome keeps the ExitCode and has Ignored set.
	DecideIgnore Decision = "ignore"
)

func (d Decision) valid() bool {
	return d == DecideRetry || d == DecideFail || d == DecideIgnore
}

// RetryPolicy says when and how often [Retry] runs an action again. It is
// data with json tags so job definitions can carry it; the zero value
// never retries.
type RetryPolicy struct {
	// Limit is how many retries may follow the first attempt; 0 means none.
	Limit int `json:"limit"`
	// Delay is the wait before the first retry; 0 retries at once.
	Delay time.Duration `json:"delay"`
	// Backoff multiplies the delay for each further retry (retry n waits
	// Delay × Backoff^(n-1)); 0 or 1 keeps it constant. Values between 0
	// and 1 are invalid.
	Backoff float64 `json:"backoff"`
	// MaxDelay caps the delay; 0 means no cap.
	MaxDelay time.Duration `json:"max_delay"`
	// OnExit decides per non-zero exit code: retry, fail (stop retrying) or
	// ignore (stop, and count the Outcome as succeeded with Ignored set).
	OnExit map[int]Decision `json:"on_exit"`
	// Default decides for non-zero exit codes not in OnExit; "" means retry.
	Default Decision `json:"default"`
	// RetryErrors also retries attempts whose Do returned an error; by
	// default an error ends the retries at once.
	RetryErrors bool `json:"retry_errors"`
}

// Validate reports every problem with the policy, joined; each names its
// field by its json name ("limit: must not be negative, got -1").
func (p RetryPolicy) Validate() error {
	var errs []error
	for _, s := range p.problems() {
		errs = append(errs, errors.New(s))
	}
	return errors.Join(errs...)
}

// problems lists the policy's problems as "field: text" lines.
func (p RetryPolicy) problems() []string {
	var ps []string
	if p.Limit < 0 {
		ps = append(ps, fmt.Sprintf("limit: must not be negative, got %d", p.Limit))
	}
	if p.Delay < 0 {
		ps = append(ps, fmt.Sprintf("delay: must not be negative, got %s", p.Delay))
	}
	if math.IsNaN(p.Backoff) || math.IsInf(p.Backoff, 0) || p.Backoff < 0 || (p.Backoff > 0 && p.Backoff < 1) {
		ps = append(ps, fmt.Sprintf("backoff: must be 0 or at least 1, got %v", p.Backoff))
	}
	if p.MaxDelay < 0 {
		ps = append(ps, fmt.Sprintf("max_delay: must not be negative, got %s", p.MaxDelay))
	}
	codes := make([]int, 0, len(p.OnExit))
	for c := range p.OnExit {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	for _, c := range codes {
		if c == 0 {
			ps = append(ps, "on_exit[0]: exit code 0 is success and is never decided")
		}
		if d := p.OnExit[c]; !d.valid() {
			ps = append(ps, fmt.Sprintf("on_exit[%d]: unknown decision %q (want retry, fail or ignore)", c, d))
		}
	}
	if p.Default != "" && !p.Default.valid() {
		ps = append(ps, fmt.Sprintf("default: unknown decision %q (want retry, fail or ignore)", p.Default))
	}
	return ps
}

// decide returns the decision for a non-zero exit code.
func (p RetryPolicy) decide(code int) Decision {
	if d, ok := p.OnExit[code]; ok {
		return d
	}
	if p.Default != "" {
		return p.Default
	}
	return DecideRetry
}

// delay returns the wait before retry n (1 for the first retry).
func (p RetryPolicy) delay(n int) time.Duration {
	d := float64(p.Delay)
	if p.Backoff > 1 {
		d *= math.Pow(p.Backoff, float64(n-1))
	}
	if p.MaxDelay > 0 && d > float64(p.MaxDelay) {
		return p.MaxDelay
	}
	if d >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(d)
}

// Retry returns a Wrapper that runs the action until it succeeds, a
// decision ends the retries, Limit retries were made, or ctx is done. What
// ends an attempt:
//
//   - exit code 0 (or an Outcome already Ignored), or a Skipped Outcome:
//     returned at once;
//   - a non-zero exit code: p's decision for it: retry, fail (returned as
//     it is) or ignore (returned with Ignored set, so it succeeds);
//   - a TimedOut Outcome (from a [Timeout] inside Retry): retried like a
//     failure, whatever its exit code;
//   - an error from Do: returned at once, unless p.RetryErrors.
//
// Before each retry it waits p's delay, and gives up when ctx is done
// during the wait. It returns the last attempt's Outcome and error, with
// Attempts set to the attempts made and Started set to the first
// attempt's start. The policy is not validated here: call
// [RetryPolicy.Validate] first (Network does); a negative Limit means no
// retries.
func Retry(p RetryPolicy) Wrapper {
	return func(a Action) Action {
		return ActionFunc(func(ctx context.Context, t inventory.Target) (Outcome, error) {
			begun := time.Now()
			var first time.Time
			for attempt := 1; ; attempt++ {
				out, err := a.Do(ctx, t)
				if first.IsZero() {
					first = out.Started
					if first.IsZero() {
						first = begun
					}
				}
				out.Started = first
				out.Attempts = attempt
				again := false
				switch {
				case err != nil:
					again = p.RetryErrors
				case out.Skipped || out.Ignored:
				case out.TimedOut:
					again = true
				case out.ExitCode != 0:
					switch p.decide(out.ExitCode) {
					case DecideIgnore:
						out.Ignored = true
					case DecideRetry:
						again = true
					}
				}
				if !again || attempt > p.Limit || ctx.Err() != nil {
					return out, err
				}
				if d := p.delay(attempt); d > 0 {
					timer := time.NewTimer(d)
					select {
					case <-timer.C:
					case <-ctx.Done():
						timer.Stop()
						return out, err
					}
				}
			}
		})
	}
}

// SkipIfRunning returns a Wrapper that lets at most one Do per Target run
// at a time, as robfig/cron's SkipIfStillRunning and ofelia's no-overlap:
// while a previous Do for the same Target.Key() is still running, Do
// returns at once Outcome{Skipped: true, Message: "still running"} and no
// error. Each Action the Wrapper is applied to keeps its own record, so
// two wrapped Actions do not skip each other.
func SkipIfRunning() Wrapper {
	return func(a Action) Action {
		var (
			mu      sync.Mutex
			running = map[string]bool{}
		)
		return ActionFunc(func(ctx context.Context, t inventory.Target) (Outcome, error) {
			key := t.Key()
			mu.Lock()
			if running[key] {
				mu.Unlock()
				now := time.Now()
				return Outcome{Skipped: true, Message: "still running", Started: now, Ended: now}, nil
			}
			running[key] = true
			mu.Unlock()
			defer func() {
				mu.Lock()
				delete(running, key)
				mu.Unlock()
			}()
			return a.Do(ctx, t)
		})
	}
}
