package monitor

import (
	"errors"
	"fmt"
)

// Damping delays status changes until they persist: the reported status
// changes only after the same new status was observed on that many
// consecutive results. This is Hinemos "初回通知までの回数" (times before
// the first notification) and Nagios max_check_attempts, with separate
// counts for the two directions (hysteresis).
//
// The zero Damping reports every change at once.
type Damping struct {
	// Raise is how many consecutive results at a worse status (by
	// [Worst]'s order: Critical > Warning > Unknown > OK) are needed before
	// the reported status rises to it. 0 and 1 both mean at once.
	Raise int `json:"raise,omitempty"`
	// Clear is the same for a better status (recovery). 0 and 1 both mean
	// at once.
	Clear int `json:"clear,omitempty"`
}

// Validate reports whether both counts are non-negative.
func (d Damping) Validate() error {
	var errs []error
	if d.Raise < 0 {
		errs = append(errs, fmt.Errorf("raise: %d: want 0 or more consecutive results", d.Raise))
	}
	if d.Clear < 0 {
		errs = append(errs, fmt.Errorf("clear: %d: want 0 or more consecutive results", d.Clear))
	}
	return errors.Join(errs...)
}

// Damper is the state of [Damping] for one check of one Target: a pure
// state machine fed one observed status per result. It starts out
// reporting OK, so a first non-OK observation is a change (once damping
// lets it through).
//
// A status counts only while it repeats: a different status restarts the
// count, so W, C, W, C with Raise 2 never rises (use Raise 0 or 1, or
// judge on a single level, if alternating bad levels must alert).
// Observing the reported status again cancels a pending change.
//
// The zero Damper is usable and reports every change at once. A Damper is
// not safe for concurrent use.
type Damper struct {
	damping   Damping
	reported  Status
	candidate Status
	count     int
}

// NewDamper returns a Damper for d, reporting OK.
func NewDamper(d Damping) *Damper {
	return &Damper{damping: d}
}

// Reported returns the status the Damper currently reports.
func (d *Damper) Reported() Status { return d.reported }

// Observe feeds one observed status and returns the status to report and
// whether it differs from the one reported before.
func (d *Damper) Observe(s Status) (reported Status, changed bool) {
	if s == d.reported {
		d.count = 0
		return d.reported, false
	}
	if d.count > 0 && s == d.candidate {
		d.count++
	} else {
		d.candidate, d.count = s, 1
	}
	need := d.damping.Clear
	if s.severity() > d.reported.severity() {
		need = d.damping.Raise
	}
	if d.count < need {
		return d.reported, false
	}
	d.reported, d.count = s, 0
	return s, true
}
