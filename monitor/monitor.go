package monitor

import (
	"context"
	"fmt"

	"github.com/minato-ops/minato/inventory"
)

// Monitor measures one aspect of one Target.
//
// Check is called with ctx carrying the check's timeout. It must be safe to
// call concurrently for different Targets and must not retain ctx or t. A
// non-nil error means the value could not be obtained (the framework
// reports Unknown); wrap [ErrNoBaseline] or [ErrNotSupported] when that is
// the reason. A value beyond a threshold is not an error: return it in the
// Result and let thresholds judge it.
type Monitor interface {
	Check(ctx context.Context, t inventory.Target) (Result, error)
}

// MonitorFunc adapts a function to [Monitor].
type MonitorFunc func(ctx context.Context, t inventory.Target) (Result, error)

// Check calls f(ctx, t).
func (f MonitorFunc) Check(ctx context.Context, t inventory.Target) (Result, error) {
	return f(ctx, t)
}

// BatchMonitor is an optional fast path for monitors that can measure many
// Targets in one sweep (one list call, a parallel stats pool).
//
// CheckAll returns one Result and one error per Target, in the order of
// ts: errs[i] non-nil means ts[i] could not be measured. The returned
// error is for the sweep as a whole (engine unreachable); when it is
// non-nil the slices may be nil.
type BatchMonitor interface {
	Monitor
	CheckAll(ctx context.Context, ts []inventory.Target) (results []Result, errs []error, err error)
}

// Watcher is an optional capability for sources that push (engine events).
// Watch calls emit for every observation until ctx is done, then returns
// nil; any other return, and a nil return before ctx is done, is a failure
// of the stream. Neither the Target nor the Result may be modified after
// it was given to emit.
//
// A [Runner] runs a Check whose Monitor is a Watcher as a watch (see
// [Check.Interval] and [Runner.Run]): it calls Watch on a goroutine of its
// own, restarts it with backoff when it fails, and judges each emitted
// Result as it judges a polled one. Its emit writes the Sinks and calls
// the transition callbacks before it returns, so it blocks as long as
// they do; it is safe for concurrent use, and calls made after Watch
// returned are ignored. Such a Monitor's Check is never called by the
// Runner; it usually returns an error wrapping [ErrNotSupported].
type Watcher interface {
	Watch(ctx context.Context, emit func(inventory.Target, Result)) error
}

// WatchFunc adapts a function to a [Watcher] that is also a [Monitor], so
// that it can be the Monitor of a watched [Check].
type WatchFunc func(ctx context.Context, emit func(inventory.Target, Result)) error

// Watch calls f(ctx, emit).
func (f WatchFunc) Watch(ctx context.Context, emit func(inventory.Target, Result)) error {
	return f(ctx, emit)
}

// Check returns an error wrapping [ErrNotSupported]: a WatchFunc is
// watched, not polled.
func (f WatchFunc) Check(context.Context, inventory.Target) (Result, error) {
	return Result{}, errWatchedNotPolled
}

var errWatchedNotPolled = fmt.Errorf("%w: watched, not polled", ErrNotSupported)

// Describer is an optional capability: Describe lists the samples a
// Monitor can produce, so outputs (Prometheus HELP/TYPE, SNMP OIDs, docs)
// can declare them before the first Check.
type Describer interface {
	Describe() []SampleDesc
}

// SampleDesc describes one sample a Monitor produces.
type SampleDesc struct {
	// Name is the Sample.Name.
	Name string `json:"name"`
	// Unit is the Sample.Unit.
	Unit Unit `json:"unit"`
	// Kind says whether the value is a gauge or a counter.
	Kind Kind `json:"kind"`
	// Help is one sentence for operators.
	Help string `json:"help"`
	// Labels are the label keys the sample carries.
	Labels []string `json:"labels,omitempty"`
}

// Kind says how a sample's value behaves over time.
type Kind string

const (
	// Gauge values go up and down (a percentage, a count of processes).
	Gauge Kind = "gauge"
	// Counter values only grow, except on reset (bytes sent since start).
	Counter Kind = "counter"
)
