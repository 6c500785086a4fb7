package ha

import (
	"errors"
	"fmt"
	"time"
)

// FinalAction is what a monitor's recovery does once restarts and
// failovers are spent.
type FinalAction string

// Final actions.
const (
	// FinalNone does nothing more: the failure is reported and the group
	// stays as it is (CLUSTERPRO's "No operation", its default).
	FinalNone FinalAction = "none"
	// FinalStopGroup deactivates the group on this node and starts it
	// nowhere else.
	FinalStopGroup FinalAction = "stop_group"
	// FinalStopService deactivates every group on this node and leaves
	// the cluster (CLUSTERPRO's "stop the cluster service"): the others
	// see the node go down and take over what they can.
	FinalStopService FinalAction = "stop_service"
)

// UnreachableAction is what a monitor does when it cannot learn the
// state (its Check returns an error: an API endpoint down, a timeout), as
// opposed to learning that the resource failed. CLUSTERPRO calls it the
// "action when the AWS CLI command fails to respond" and recommends not
// recovering, so that a cloud API outage does not fail services over.
type UnreachableAction string

// Unreachable actions.
const (
	// UnreachableWarn reports a warning (code + WarnOffset) and does not
	// recover. The default.
	UnreachableWarn UnreachableAction = "warn"
	// UnreachableSilent reports nothing and does not recover.
	UnreachableSilent UnreachableAction = "silent"
	// UnreachableRecover treats it as a failure: recovery runs.
	UnreachableRecover UnreachableAction = "recover"
)

// Defaults of [RecoveryPolicy].
const (
	DefaultInterval  = 10 * time.Second
	DefaultTimeout   = 10 * time.Second
	DefaultRetries   = 1
	DefaultRestarts  = 3
	DefaultFailovers = 1
)

// RecoveryPolicy is how one monitor watches and recovers, as CLUSTERPRO
// configures a monitor resource: every Interval the Check runs (bounded by
// Timeout, first after StartWait from the group's activation); after
// Retries+1 failures in a row the recovery begins: the recovery target is
// restarted (deactivated, activated) on this node up to Restarts times,
// then the group fails over to the next startable node up to Failovers
// times, then FinalAction is taken. The counts start again once the
// monitor has seen the resource healthy for ResetAfter.
//
// The zero value means the defaults; durations are written "10s" in
// configuration files.
type RecoveryPolicy struct {
	// Interval between two checks; default 10 s.
	Interval time.Duration `json:"interval,omitempty"`
	// Timeout of one check; default 10 s. A check that times out counts
	// as unreachable (see OnUnreachable), not as failed.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Retries is how many failed checks in a row are tolerated before
	// recovery; default 1 (recovery on the second). -1 means 0.
	Retries int `json:"retries,omitempty"`
	// StartWait delays the first check after the group's activation
	// (CLUSTERPRO's "wait time to start monitoring"): for resources that
	// take time to settle, such as a DNS record.
	StartWait time.Duration `json:"start_wait,omitempty"`
	// Restarts is the most reactivations of the recovery target on this
	// node before failing over; default 3; -1 means none.
	Restarts int `json:"restarts,omitempty"`
	// Failovers is the most failovers of the group this monitor causes
	// before its final action; default 1; -1 means none.
	Failovers int `json:"failovers,omitempty"`
	// FinalAction once restarts and failovers are spent; default none.
	FinalAction FinalAction `json:"final_action,omitempty"`
	// OnUnreachable: what a Check error does; default warn.
	OnUnreachable UnreachableAction `json:"on_unreachable,omitempty"`
	// ResetAfter is how long the monitor must see the resource healthy
	// for the restart and failover counts to start again; default 10
	// times Interval.
	ResetAfter time.Duration `json:"reset_after,omitempty"`
}

// WithDefaults returns the policy with its zero fields set to the
// defaults and -1 counts set to 0.
func (p RecoveryPolicy) WithDefaults() RecoveryPolicy {
	if p.Interval == 0 {
		p.Interval = DefaultInterval
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultTimeout
	}
	p.Retries = count(p.Retries, DefaultRetries)
	p.Restarts = count(p.Restarts, DefaultRestarts)
	p.Failovers = count(p.Failovers, DefaultFailovers)
	if p.FinalAction == "" {
		p.FinalAction = FinalNone
	}
	if p.OnUnreachable == "" {
		p.OnUnreachable = UnreachableWarn
	}
	if p.ResetAfter == 0 {
		p.ResetAfter = 10 * p.Interval
	}
	return p
}

func count(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Validate reports every problem, joined, each naming its field.
func (p RecoveryPolicy) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"interval", p.Interval}, {"timeout", p.Timeout}, {"start_wait", p.StartWait}, {"reset_after", p.ResetAfter}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s: %s: want a duration of 0 (the default) or more", d.name, d.v))
		}
	}
	for _, c := range []struct {
		name string
		v    int
	}{{"retries", p.Retries}, {"restarts", p.Restarts}, {"failovers", p.Failovers}} {
		if c.v < -1 {
			errs = append(errs, fmt.Errorf("%s: %d: want -1 (none), 0 (the default) or more", c.name, c.v))
		}
	}
	switch p.FinalAction {
	case "", FinalNone, FinalStopGroup, FinalStopService:
	default:
		errs = append(errs, fmt.Errorf("final_action: %q: want none, stop_group or stop_service", p.FinalAction))
	}
	switch p.OnUnreachable {
	case "", UnreachableWarn, UnreachableSilent, UnreachableRecover:
	default:
		errs = append(errs, fmt.Errorf("on_unreachable: %q: want warn, silent or recover", p.OnUnreachable))
	}
	return errors.Join(errs...)
}
