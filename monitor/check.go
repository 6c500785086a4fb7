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
// Check has no json tags because Monitor is a value, not data; binaries
// decode their own check configuration and build Checks from it.
type Check struct {
	// Name is unique within a [Runner] and stable: outputs and state keys
	// use it.
	Name string
	// Monitor does the measuring.
	Monitor Monitor
	// Targets selects the Targets, resolved again every Interval.
	Targets inventory.Selector
	// Interval is the time between the starts of two rounds; required.
	// A round that overruns it delays the next one; rounds never overlap.
	Interval time.Duration
	// Timeout bounds each Check call (one CheckAll call for a
	// [BatchMonitor]) and the Resolve call. Zero means
	// min(Interval, RunnerConfig.DefaultTimeout).
	Timeout time.Duration
	// StartDelay postpones the first round (CLUSTERPRO "wait time to
	// start monitoring"); zero starts at once.
	StartDelay time.Duration
	// Thresholds judge each Result; see [EvaluateThresholds].
	Thresholds []Threshold
	// Damping delays reported status changes per Target.
	Damping Damping
}

// Validate reports what is wrong with c on its own (uniqueness is the
// Runner's business): empty Name, nil Monitor, Interval not positive,
// negative Timeout or StartDelay, an invalid Selector, Threshold or
// Damping. Problems are joined; each names its field.
func (c Check) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("name: empty: every check needs a unique name"))
	}
	if c.Monitor == nil {
		errs = append(errs, errors.New("monitor: nil"))
	}
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("interval: %s: want a positive duration", c.Interval))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: %s: want 0 (default) or a positive duration", c.Timeout))
	}
	if c.StartDelay < 0 {
		errs = append(errs, fmt.Errorf("start_delay: %s: want 0 or a positive duration", c.StartDelay))
	}
	if err := c.Targets.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("targets: %w", err))
	}
	for i, th := range c.Thresholds {
		if err := th.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("thresholds[%d] (%s): %w", i, th.Sample, err))
		}
	}
	if err := c.Damping.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("damping: %w", err))
	}
	return errors.Join(errs...)
}

// timeout returns the effective per-call timeout.
func (c Check) timeout(def time.Duration) time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return min(c.Interval, def)
}
