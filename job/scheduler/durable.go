package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
)

// The backoff of writes retried while the Store fails: the first retry
// after retryMin, each next one after twice the wait, at most retryMax.
const (
	retryMin = 250 * time.Millisecond
	retryMax = 10 * time.Second
)

// probeKey is the StateStore key the Scheduler writes to find out whether
// a failing Store writes again, when no other write is being retried.
const probeKey = "scheduler/probe"

// Health reports whether the Scheduler can record its work: nil while the
// Store's writes succeed, and while they fail an error wrapping
// [ErrUnavailable] and the Store's last error, saying since when. It turns
// nil again at the first write that succeeds (the Scheduler retries its
// pending writes, or probes the StateStore, with a backoff of up to 10
// seconds while Run runs). While it is not nil, [Scheduler.Submit] and
// [Scheduler.Rerun] refuse new runs with that error, due times are not run
// (see [Entry.CatchUp] for what happens to them), no unit starts (its start
// cannot be recorded), and operator controls of running units are refused.
// It does not block and is safe for concurrent use; a program serves it as
// its health check (an agent's /healthz).
func (s *Scheduler) Health() error {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	if s.herr == nil {
		return nil
	}
	return fmt.Errorf("%w: the job store has failed to write since %s: %w", ErrUnavailable, s.hsince.UTC().Format(time.RFC3339), s.herr)
}

// wrote records the outcome of a write to the Store for Health. An error
// of ctx itself (the caller gave up) says nothing about the Store.
func (s *Scheduler) wrote(ctx context.Context, err error) {
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return
	}
	s.hmu.Lock()
	failing := s.herr != nil
	switch {
	case err == nil && failing:
		s.log.Info("the job store writes again: new runs are admitted", "failed_for", time.Since(s.hsince).Round(time.Millisecond))
		s.herr = nil
	case err != nil && !failing:
		s.log.Error("the job store fails to write: new runs are refused and results are kept until it writes again", "err", err)
		s.herr, s.hsince = err, time.Now()
	case err != nil:
		s.herr = err
	}
	changed := failing != (err != nil)
	s.hmu.Unlock()
	if changed {
		s.notifyLoop() // admit deferred due times, or start probing
	}
}

// unavailable wraps a failed write's err for the caller of an operation:
// the Store failed, so the Scheduler is unavailable, not the request bad.
func unavailable(err error) error {
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// retry calls write until it succeeds, waiting between attempts with a
// growing backoff, or until stop ends: then it makes one last attempt. It
// reports whether a write succeeded. Every attempt counts for Health;
// while it retries, the Run loop does not probe the Store.
func (s *Scheduler) retry(stop context.Context, what string, write func(ctx context.Context) error, attrs ...any) bool {
	ctx := context.WithoutCancel(stop)
	delay := retryMin
	failing := false
	defer func() {
		if failing {
			s.retrying.Add(-1)
		}
	}()
	for {
		err := write(ctx)
		s.wrote(ctx, err)
		if err == nil {
			if failing {
				s.log.Info(what+": written after retries", attrs...)
			}
			return true
		}
		if !failing {
			failing = true
			s.retrying.Add(1)
			s.log.Warn(what+": the job store fails; retrying until it writes again or the scheduler stops", append(attrs, "err", err)...)
		}
		if stop.Err() != nil {
			return false
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-stop.Done(): // one last attempt
			t.Stop()
		}
		delay = min(2*delay, retryMax)
	}
}

// persist writes ar's latest record until a write succeeds or stop ends
// (see retry), and reports whether it did. Writes of one run are
// serialised, each taking the record as it is when it starts, so a later
// state is never overwritten by an earlier one.
func (s *Scheduler) persist(stop context.Context, ar *activeRun) bool {
	ar.wmu.Lock()
	defer ar.wmu.Unlock()
	return s.retry(stop, "recording run state", func(ctx context.Context) error {
		rec := ar.snapshot()
		if err := s.store.PutRun(ctx, rec); err != nil {
			return err
		}
		ar.markSaved(rec)
		return nil
	}, "run", ar.rec.ID)
}

// finish records the final state of a run that ends without executing
// (skipped, cancelled while it waited, not built, a refused rerun) and
// tells the run-ended hook once the record is written; s.mu is held. The
// first write is made at once; while the Store fails, the write is
// retried in the background until it succeeds or the Scheduler stops, and
// Get answers with the record meanwhile.
func (s *Scheduler) finish(ar *activeRun) {
	stop := s.stopCtx()
	ctx := context.WithoutCancel(stop)
	rec := ar.snapshot()
	err := s.store.PutRun(ctx, rec)
	s.wrote(ctx, err)
	if err == nil {
		ar.markSaved(rec)
		s.ended(rec)
		return
	}
	if stop.Err() != nil {
		s.log.Warn("a run's final state could not be recorded before the scheduler stopped", "run", rec.ID, "state", rec.Report.State, "err", err)
		return
	}
	s.ending[rec.ID] = ar
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ok := s.persist(stop, ar)
		s.mu.Lock()
		delete(s.ending, rec.ID)
		s.mu.Unlock()
		if ok {
			s.ended(ar.snapshot())
		}
	}()
}

// stopCtx is the ctx that ends when the Scheduler stops: the runs' base
// ctx, or an ended one before Run; s.mu is held.
func (s *Scheduler) stopCtx() context.Context {
	if s.baseCtx != nil {
		return s.baseCtx
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// probe writes a small value to the StateStore to find out whether a
// failing Store writes again.
func (s *Scheduler) probe(ctx context.Context) {
	b, _ := time.Now().UTC().MarshalText()
	ctx = context.WithoutCancel(ctx)
	s.wrote(ctx, s.state.PutValue(ctx, probeKey, b))
}

// deferDue remembers a due time whose run could not be recorded because
// the Store fails: the latest such due time of the network is run when
// the Store writes again, if that is within the network's CatchUp window.
func (s *Scheduler) deferDue(e *entry, due time.Time, err error) {
	s.mu.Lock()
	if !e.unrecorded.IsZero() {
		e.unrecordedMissed++
	}
	e.unrecorded = due
	s.discardPrepared(ScheduledRunID(e.Name, due))
	s.mu.Unlock()
	s.log.Warn("due run not recorded: the job store fails to write; it runs when the store writes again if that is within the network's catch-up window",
		"network", e.Name, "due", due, "catch_up", e.CatchUp, "err", err)
}

// runDeferred handles the due times deferred while the Store failed, now
// that it writes again: the latest one runs (trigger catch_up) if it is
// within the network's CatchUp window, and is missed otherwise.
func (s *Scheduler) runDeferred(ctx, base context.Context, now time.Time) {
	type deferred struct {
		e      *entry
		due    time.Time
		missed int
	}
	var ds []deferred
	s.mu.Lock()
	for _, name := range s.order {
		e := s.entries[name]
		if !e.unrecorded.IsZero() {
			ds = append(ds, deferred{e, e.unrecorded, e.unrecordedMissed})
			e.unrecorded, e.unrecordedMissed = time.Time{}, 0
		}
	}
	s.mu.Unlock()
	for _, d := range ds {
		if d.e.CatchUp > 0 && !d.due.Before(now.Add(-d.e.CatchUp)) {
			if d.missed > 0 {
				s.log.Warn("due times missed while the job store failed", "network", d.e.Name, "missed", d.missed)
			}
			s.fire(ctx, base, d.e, d.due, TriggerCatchUp)
			continue
		}
		s.log.Warn("due times missed while the job store failed", "network", d.e.Name, "missed", d.missed+1, "catch_up", d.e.CatchUp)
		d.e.last = d.due
		s.saveLast(ctx, d.e)
	}
}

// guardAdopters returns a copy of n whose Adopter units release their work
// (remove their containers) only once the unit's final state is in the
// Store: a unit whose result could not be recorded before the Scheduler
// stopped keeps its work, which the next Scheduler adopts to read the
// real outcome.
func guardAdopters(n *job.Network, ar *activeRun) *job.Network {
	cp := *n
	cp.Units = make([]job.Unit, len(n.Units))
	copy(cp.Units, n.Units)
	for i, u := range cp.Units {
		if a, ok := u.Action.(job.Adopter); ok {
			cp.Units[i].Action = &guardedAdopter{Adopter: a, ar: ar, unit: u.Name}
		}
	}
	return &cp
}

// guardedAdopter is a unit's Adopter whose Release waits for the unit's
// result to be recorded.
type guardedAdopter struct {
	job.Adopter
	ar   *activeRun
	unit string
}

// Release implements [job.Adopter]: it releases the work only when the
// unit's final state was written to the Store, and keeps it otherwise.
func (g *guardedAdopter) Release(ctx context.Context, t inventory.Target) error {
	if !g.ar.finalSaved(g.unit) {
		return nil // kept: the next scheduler adopts it and reads its outcome
	}
	return g.Adopter.Release(ctx, t)
}

// markSaved notes which units' final states the written rec holds.
func (ar *activeRun) markSaved(rec RunRecord) {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	if ar.saved == nil {
		ar.saved = map[string]bool{}
	}
	for _, u := range rec.Report.Units {
		ar.saved[u.Name] = u.State.Finished()
	}
}

// finalSaved reports whether the unit's final state is in the Store.
func (ar *activeRun) finalSaved(unit string) bool {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return ar.saved[unit]
}
