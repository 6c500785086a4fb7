package monitor

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/minato-ops/minato/inventory"
)

// Evaluation is one judged measurement of one Target by one Check: what
// the Runner hands to Sinks and returns from [Runner.CheckOnce].
type Evaluation struct {
	// Check is the Check's Name.
	Check string
	// Target is what was measured. It is the zero Target for an error
	// that concerns no particular Target (the first resolve of a check
	// failed, the stream of a watched check failed) and for the OK
	// Evaluation that clears a stream failure.
	Target inventory.Target
	// Result is what the Monitor returned, with Time filled in; the zero
	// Result when Err is set.
	Result Result
	// Status is the final, reported status: Observed after [Damping].
	Status Status
	// Observed is the status before damping: [EvaluateThresholds] of
	// Result, or Unknown when Err is set.
	Observed Status
	// Message is one operator-facing line. For an error it is
	// "no value yet: a rate needs the previous sample (the next run has
	// one)" ([ErrNoBaseline]), "unsupported: <detail>" ([ErrNotSupported];
	// the detail is the error's own text without the sentinel's), "timed
	// out after 10s", "cannot resolve targets: ...", "stream failed: ..."
	// (a watched check) or the error text; otherwise the threshold reasons
	// and Result.Message joined by "; ". Outputs and command-line tools
	// print it as it is.
	Message string
	// Err is why the value could not be obtained; Observed is then
	// Unknown.
	Err error
	// Took is how long the Check (or the whole CheckAll) call took; 0
	// for an observation of a watched check.
	Took time.Duration
}

// Transition is an Evaluation whose reported Status differs from the
// previous one for the same check and Target. The first Evaluation of a
// (check, Target) is a Transition from OK when its Status is not OK.
type Transition struct {
	Evaluation
	// From is the previously reported status.
	From Status
}

// Sink receives each round's Evaluations.
//
// A [Runner] calls Write once per round of a polled Check with that
// round's Evaluations, sorted by Target key, and once per observation of
// a watched Check (a one-element slice). It never calls Write
// concurrently (sinks need no locking of their own for one Runner). Write may block;
// it delays the next round of that Check, so slow sinks should buffer.
// Neither evs nor anything it references may be modified; it may be
// retained. A non-nil error is logged by the Runner, which goes on.
type Sink interface {
	Write(ctx context.Context, evs []Evaluation) error
}

// SinkFunc adapts a function to [Sink].
type SinkFunc func(ctx context.Context, evs []Evaluation) error

// Write calls f(ctx, evs).
func (f SinkFunc) Write(ctx context.Context, evs []Evaluation) error { return f(ctx, evs) }

// noValueYet is the one operator-facing text for [ErrNoBaseline].
const noValueYet = "no value yet: a rate needs the previous sample (the next run has one)"

// errorMessage is the operator-facing text for a measurement error.
func errorMessage(err error) string {
	switch {
	case errors.Is(err, ErrNoBaseline):
		return noValueYet
	case errors.Is(err, ErrNotSupported):
		if d := detail(err, ErrNotSupported); d != "" {
			return "unsupported: " + d
		}
		return "unsupported"
	}
	var te *timeoutError
	if errors.As(err, &te) {
		return "timed out after " + te.after.String()
	}
	return err.Error()
}

// timeoutError is returned when a Check call outlives the check's timeout.
// It matches context.DeadlineExceeded and, when the monitor returned one,
// the monitor's own error.
type timeoutError struct {
	after time.Duration
	err   error // the monitor's error, if it returned before the Runner gave up
}

func (e *timeoutError) Error() string {
	msg := "monitor: check timed out after " + e.after.String()
	if e.err != nil {
		msg += ": " + e.err.Error()
	}
	return msg
}

func (e *timeoutError) Unwrap() []error {
	if e.err == nil {
		return []error{context.DeadlineExceeded}
	}
	return []error{context.DeadlineExceeded, e.err}
}

// detail returns what err says besides sentinel's own text: for
// "monitor: not supported here: the engine reports no per-core CPU
// counters" the part after the sentinel, for "snmp: memTotalReal is
// absent: monitor: not supported here" the part before it; otherwise
// err's text without a leading "monitor: ". It is "" when err says
// nothing more than sentinel.
func detail(err, sentinel error) string {
	s, st := err.Error(), sentinel.Error()
	switch {
	case s == st:
		return ""
	case strings.HasPrefix(s, st+": "):
		s = s[len(st)+2:]
	case strings.HasSuffix(s, ": "+st):
		s = s[:len(s)-len(st)-2]
	case strings.Contains(s, ": "+st+": "):
		s = strings.Replace(s, ": "+st+": ", ": ", 1)
	}
	return strings.TrimPrefix(s, "monitor: ")
}

func joinMessages(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

// Unmeasured returns the error of a round in which nothing could be
// measured: when every Evaluation of evs failed, and not merely for want
// of a previous sample (ErrNoBaseline: no value yet is not a failure), it
// returns the first one's error; otherwise nil. One-shot binaries exit
// with an error then (a Hinemos custom monitor exits 1), as they do when
// the engine is down, rather than print nothing as if all were well.
func Unmeasured(evs []Evaluation) error {
	for _, ev := range evs {
		if ev.Err == nil || errors.Is(ev.Err, ErrNoBaseline) {
			return nil
		}
	}
	if len(evs) == 0 {
		return nil
	}
	return evs[0].Err
}
