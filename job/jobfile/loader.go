package jobfile

import (
	"fmt"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/schedule"
	"github.com/minato-ops/minato/job/scheduler"
)

// LoaderOptions tunes a [Loader].
type LoaderOptions struct {
	// SpillDir is where unit output beyond the in-memory limit is written
	// ("" = the system's temporary directory).
	SpillDir string
	// Calendars are the named calendars schedules may refer to.
	Calendars map[string]*schedule.Calendar
	// Owner labels the containers of the runs (see BuildOptions.Owner):
	// the scheduler's identity, so that jobdocker.SweepPrepared with the
	// same Owner removes only its own leftovers.
	Owner string
	// Scopes and Engines are BuildOptions.Scopes and Engines: container
	// units that select by repository scope, on any engine.
	Scopes  inventory.Resolver
	Engines func(endpoint string) (*container.Client, bool)
}

// Loader turns job files into a [scheduler.Scheduler]'s Entries, with
// units that run in containers of one engine and outlive the process
// (adoptable runs, see [BuildOptions].Adoptable). It is the scheduler's
// [scheduler.Definitions], for submitted job files and the recorded
// definitions of runs to resume. Safe for concurrent use; it does no I/O
// until a unit runs.
type Loader struct {
	c *container.Client
	o LoaderOptions
}

var _ scheduler.Definitions = (*Loader)(nil)

// NewLoader returns a Loader whose units act on the engine c talks to.
func NewLoader(c *container.Client, o LoaderOptions) *Loader {
	return &Loader{c: c, o: o}
}

// Build parses def and builds the network of one run, its units labelled
// with runID: every Entry's Build.
func (l *Loader) Build(def []byte, runID string) (*job.Network, error) {
	d, err := Parse(def)
	if err != nil {
		return nil, err
	}
	return Build(d, l.c, BuildOptions{RunID: runID, SpillDir: l.o.SpillDir, Adoptable: true, Owner: l.o.Owner, Scopes: l.o.Scopes, Engines: l.o.Engines})
}

// Entry implements [scheduler.Definitions]: the Entry of a network
// submitted as a job file, or recorded by a run, which the scheduler was
// not configured with. It has no schedule (its file's schedule, if any,
// applies only to configured networks), overlap allow, and the queue the
// file names. The error lists every problem of the file.
func (l *Loader) Entry(def []byte) (scheduler.Entry, error) {
	d, err := l.check(def)
	if err != nil {
		return scheduler.Entry{}, err
	}
	return scheduler.Entry{Name: d.Name, Overlap: scheduler.OverlapAllow, Queue: d.Queue, Group: d.Group, Definition: def, Build: l.Build}, nil
}

// Configured returns the Entry of a configured job file: its schedule (on
// its calendar, inline or named in the Loader's Calendars), overlap,
// catch-up window and queue. The error lists every problem of the file.
func (l *Loader) Configured(def []byte) (scheduler.Entry, error) {
	d, err := l.check(def)
	if err != nil {
		return scheduler.Entry{}, err
	}
	e := scheduler.Entry{Name: d.Name, Queue: d.Queue, Group: d.Group, Definition: def, Build: l.Build}
	if s := d.Schedule; s != nil {
		if e.Schedule, err = s.Schedule(l.o.Calendars); err != nil {
			return scheduler.Entry{}, err
		}
		e.Overlap, e.CatchUp = s.Overlap, s.CatchUp
	}
	return e, nil
}

// check parses def and builds it once, so that every problem is found
// before the scheduler takes it.
func (l *Loader) check(def []byte) (*Definition, error) {
	d, err := Parse(def)
	if err != nil {
		return nil, err
	}
	if !scheduler.ValidName(d.Name) {
		return nil, fmt.Errorf("name: %q: want letters, digits, '.', '_' or '-' (the name starts its run IDs)", d.Name)
	}
	if _, err := Build(d, l.c, BuildOptions{RunID: "check", Adoptable: true}); err != nil {
		return nil, err
	}
	return d, nil
}
