package monitor

import (
	"errors"
	"fmt"
	"time"

	"github.com/minato-ops/minato/inventory"
)

// Check is the framework-owned configuration of one scheduled measurement
// (the role of Telegraf's InputConfig): which Monitor, which Targets, how
// often, how long to wait, how to judge and how to damp. The Monitor never
// sees it.
//
// A Check whose Monitor is a [Watcher] is a watched check: the Runner
// runs the Monitor's Watch instead of polling its Check, so Interval and
// Timeout stay 0, and Targets filters the Targets the Watcher emits
// instead of being resolved.
//
// Check has no json tags because Monitor is a value, not data; binaries
// decode their own check configuration and build Checks from it.
type Check struct {
	// Name is unique within a [Runner] and stable: outputs and state keys
	// use it.
	Name string
	// Monitor does the measuring.
	Monitor Monitor
	// Targets selects the Targets, resolved again every Interval. For a
	// watched check it filters the emitted Targets instead
	// ([inventory.Selector.Match]; the zero Selector keeps every one), and
	// States must be empty, since an emitted Target carries no state.
	Targets inventory.Selector
	// Resolver, when set, resolves Targets for this check instead of the
	// Runner's resolver: a check bound to one engine among several, or to
	// a repository's scopes. It must be safe for concurrent use.
	Resolver inventory.Resolver
	// Interval is the time between the starts of two rounds; required
	// (positive) for a polled check. A round that overruns it delays the
	// next one; rounds never overlap. A watched check (Monitor is a
	// [Watcher]) has no rounds and must leave Interval 0: Validate
	// refuses a Watcher with an Interval rather than guess whether it is
	// meant to be polled (to poll one, wrap its Check in a [MonitorFunc]).
	Interval time.Duration
	// Timeout bounds each Check call (one CheckAll call for a
	// [BatchMonitor]) and the Resolve call. Zero means
	// min(Interval, RunnerConfig.DefaultTimeout). A watched check has no
	// calls to bound and must leave it 0.
	Timeout time.Duration
	// StartDelay postpones the first round, or the start of the watch
	// (CLUSTERPRO "wait time to start monitoring"); zero starts at once.
	StartDelay time.Duration
	// Thresholds judge each Result; see [EvaluateThresholds].
	Thresholds []Threshold
	// Damping delays reported status changes per Target.
	Damping Damping
}

// Validate reports what is wrong with c on its own (uniqueness is the
// Runner's business): empty Name, nil Monitor, Interval not positive (a
// polled check) or not 0 (a watched check), negative Timeout (or any
// Timeout for a watched check), negative StartDelay, an invalid Selector
// (or one with States for a watched check), Threshold or Damping.
// Problems are joined; each names its field.
func (c Check) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("name: empty: every check needs a unique name"))
	}
	if c.Monitor == nil {
		errs = append(errs, errors.New("monitor: nil"))
	}
	if c.watched() {
		if c.Interval != 0 {
			errs = append(errs, fmt.Errorf("interval: %s: the monitor is a Watcher, which streams its observations: leave interval 0 (to poll it instead, wrap its Check in a MonitorFunc)", c.Interval))
		}
		if c.Timeout != 0 {
			errs = append(errs, fmt.Errorf("timeout: %s: a watched check makes no calls to time out: leave timeout 0", c.Timeout))
		}
		if len(c.Targets.States) > 0 {
			errs = append(errs, errors.New("targets: states: a watched check cannot select by state (emitted targets carry none): leave states empty"))
		}
	} else {
		if c.Interval <= 0 {
			errs = append(errs, fmt.Errorf("interval: %s: want a positive duration (only a Watcher's interval is 0)", c.Interval))
		}
		if c.Timeout < 0 {
			errs = append(errs, fmt.Errorf("timeout: %s: want 0 (default) or a positive duration", c.Timeout))
		}
	}
	if c.StartDelay < 0 {
		errs = append(errs, fmt.Errorf("start_delay: %s: want 0 or a positive duration", c.StartDelay))
	}
	if err := c.Targets.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("targets: %w", err))
	}
	for i, th := range c.Thresholds {
		errs = append(errs, prefixed(fmt.Sprintf("thresholds[%d] (%s): ", i, th.Sample), th.Validate())...)
	}
	errs = append(errs, prefixed("damping: ", c.Damping.Validate())...)
	return errors.Join(errs...)
}

// timeout returns the effective per-call timeout.
func (c Check) timeout(def time.Duration) time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return min(c.Interval, def)
}

// watched reports whether c runs as a watch: its Monitor is a [Watcher].
func (c Check) watched() bool {
	_, ok := c.Monitor.(Watcher)
	return ok
}
