package app

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/minato-ops/minato/container"
)

// driftEvents are the container events that may mean drift.
var driftEvents = []string{"die", "destroy", "stop", "kill", "rename", "update", "pause"}

// Run keeps specs converged until ctx is done (it then returns nil). It
// applies them once, then follows the engine's events for containers
// labelled [LabelApp] (die, destroy, stop, kill, rename, update, pause)
// and re-applies the affected application once the events have been quiet
// for the debounce (200 ms by default, see [WithDebounce]), and makes a
// full pass every resync interval ([WithResyncInterval], 30 s by default)
// and after the event stream was lost. Failed passes are retried by the
// next event or pass; their errors are in [Reconciler.Status] and reported
// as [EventFailed] transitions, not returned. Invalid specs are returned
// as an error at once.
//
// Run replaces the Reconciler's declarations with specs; Apply, Scale and
// Delete called meanwhile change what it keeps converged (an application
// Apply declares is kept from then on). Applications not declared are
// left alone (Run never prunes).
func (r *Reconciler) Run(ctx context.Context, specs []Spec) error {
	if err := (File{Apps: specs}).Validate(); err != nil {
		return fmt.Errorf("app: run: %w", err)
	}
	r.mu.Lock()
	r.specs = map[string]Spec{}
	for _, s := range specs {
		r.specs[s.Name] = s
	}
	r.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	trigger := make(chan string, 1024)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		r.watch(ctx, trigger)
	}()
	defer func() { cancel(); <-watchDone }()

	resync := time.NewTicker(r.resync)
	defer resync.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	pending := map[string]bool{}
	full := true
	for {
		if full {
			r.pass(ctx, nil)
			full = false
			clear(pending)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-resync.C:
			full = true
		case name := <-trigger:
			if name == "" {
				full = true
				continue
			}
			pending[name] = true
			debounce.Reset(r.debounce)
		case <-debounce.C:
			names := slices.Sorted(maps.Keys(pending))
			clear(pending)
			r.pass(ctx, names)
		}
	}
}

// pass applies the named declared applications (all when names is nil).
func (r *Reconciler) pass(ctx context.Context, names []string) {
	r.mu.Lock()
	var specs []Spec
	for _, name := range slices.Sorted(maps.Keys(r.specs)) {
		if names == nil || slices.Contains(names, name) {
			specs = append(specs, r.specs[name])
		}
	}
	r.mu.Unlock()
	if len(specs) == 0 || ctx.Err() != nil {
		return
	}
	if _, err := r.Apply(ctx, specs, ApplyOptions{}); err != nil && ctx.Err() == nil {
		r.log.DebugContext(ctx, "reconcile pass failed", "apps", len(specs), "err", err)
	}
}

// watch follows the engine's events and sends the affected application's
// name to trigger ("" asks for a full pass, after the stream was lost).
func (r *Reconciler) watch(ctx context.Context, trigger chan<- string) {
	labels := []string{LabelApp}
	for k, v := range r.scope {
		if v == "" {
			labels = append(labels, k)
		} else {
			labels = append(labels, k+"="+v)
		}
	}
	send := func(name string) {
		select {
		case trigger <- name:
		default: // full: a pass is queued anyway
		}
	}
	for ctx.Err() == nil {
		since := time.Now()
		err := r.c.Events(ctx, container.EventsOptions{
			Since:   since,
			Filters: map[string][]string{"type": {"container"}, "label": labels, "event": driftEvents},
		}, func(e container.Event) error {
			if name := e.Attributes[LabelApp]; name != "" {
				send(name)
			}
			return nil
		})
		if ctx.Err() != nil {
			return
		}
		r.log.DebugContext(ctx, "event stream lost; resyncing", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		send("")
	}
}
