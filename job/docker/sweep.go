package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/minato-ops/minato/container"
)

// DefaultSweepAge is SweepOptions.MinAge when it is zero.
const DefaultSweepAge = time.Minute

// SweepOptions tunes [SweepPrepared].
type SweepOptions struct {
	// MinAge is how old a created, never started container must be to be
	// removed, so that another process's container between its create and
	// its start is left alone; 0 means DefaultSweepAge.
	MinAge time.Duration
	// Keep reports whether the run with the ID will still use its prepared
	// containers (it is recorded and has not finished). An error leaves
	// that run's containers alone. Required.
	Keep func(ctx context.Context, runID string) (bool, error)
	// Logger logs each removal at info and each failure at warn; nil is
	// silent.
	Logger *slog.Logger
	// Owner keeps the sweep to the containers labelled LabelOwner=Owner
	// (and, when it is set, to those of an earlier minato that set no
	// owner): another scheduler's prepared containers, on the same
	// engine, are left alone.
	Owner string
}

// SweepResult is what [SweepPrepared] did.
type SweepResult struct {
	// Removed are the IDs of the containers removed.
	Removed []string
	// Kept counts the prepared containers left for runs that will use them
	// (or too young to judge).
	Kept int
}

// SweepPrepared removes the job containers that were prepared for a
// scheduled run (created by [AdoptableRun]'s Prepare, labelled LabelJob
// and LabelRun, never started) by a process that stopped before the run
// was due, when that run will not use them: Keep says no (the run is not
// recorded, so a scheduler prepares again or creates a container of its
// own; or it has ended). Run it before the scheduler starts, so that
// nothing is being prepared meanwhile. The error joins what could not be
// listed, asked or removed; the containers it concerns carry their run's
// labels, so nothing is lost: a later sweep or an operator removes them.
func SweepPrepared(ctx context.Context, c *container.Client, o SweepOptions) (SweepResult, error) {
	var res SweepResult
	if o.Keep == nil {
		return res, errors.New("jobdocker: sweep: SweepOptions.Keep is required")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	minAge := o.MinAge
	if minAge == 0 {
		minAge = DefaultSweepAge
	}
	list, err := c.List(ctx, container.ListOptions{States: []container.State{container.Created},
		Labels: map[string]string{LabelJob: "true", LabelRun: ""}})
	if err != nil {
		return res, fmt.Errorf("jobdocker: sweep: list prepared containers: %w", err)
	}
	var errs []error
	for _, ctr := range list.Containers {
		if owner, set := ctr.Labels[LabelOwner]; set && owner != o.Owner {
			continue // another scheduler's
		}
		run := ctr.Labels[LabelRun]
		if time.Since(ctr.Created) < minAge {
			res.Kept++
			continue
		}
		keep, err := o.Keep(ctx, run)
		if err != nil {
			res.Kept++
			errs = append(errs, fmt.Errorf("jobdocker: sweep: run %s: %w", run, err))
			continue
		}
		if keep {
			res.Kept++
			continue
		}
		if _, err := c.Remove(ctx, ctr.ID, container.RemoveOptions{Force: true, Volumes: true}); err != nil && !container.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("jobdocker: sweep: remove %s (run %s): %w", ctr.ID, run, err))
			log.Warn("removing a container prepared for a run that did not happen", "run", run, "container", ctr.ID, "err", err)
			continue
		}
		res.Removed = append(res.Removed, ctr.ID)
		log.Info("removed a container prepared for a run that did not happen", "run", run, "unit", ctr.Labels[LabelUnit], "container", ctr.ID)
	}
	return res, errors.Join(errs...)
}
