package job

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minato-ops/minato/inventory"
)

// Gate limits the units that run at once across networks: a [Queue] is
// one. The Execution asks it for a slot before it starts a unit and gives
// the slot back when the unit ends.
type Gate interface {
	// TryAcquire takes a slot for the unit without blocking and returns
	// the function that gives it back (safe to call more than once), or
	// ok false when no slot is free (or the gate is stopped). With force,
	// it always takes a slot, beyond the limit if need be: for work that is
	// already running (adopted after a restart).
	TryAcquire(unit string, force bool) (release func(), ok bool)
	// Changed returns a channel that is closed at the next change that
	// may let TryAcquire succeed (a slot given back, the gate started).
	// Take the channel before calling TryAcquire, so no change is missed.
	Changed() <-chan struct{}
}

// StartOptions tunes [Network.Start].
type StartOptions struct {
	// Observer, when not nil, is told about every state change (see
	// [Observer]). An Adopter's Release runs only after the Observer
	// returned for the unit's final state, so an Observer that persists
	// the state makes the release safe.
	Observer Observer
	// Resume, when not nil, is an earlier report of this network to carry
	// on from (after a restart, or for a rerun): units in a final state
	// keep their report and do not run; held units stay held; units that
	// were running are adopted when their Action is an [Adopter] (and run
	// by Do when Adopt finds nothing), and are otherwise Failed with a
	// message saying their outcome is unknown, since running them again
	// could do their work twice. Units missing from Resume are pending.
	Resume *NetworkReport
	// Hold lists units to hold from the start (see [Execution.Hold]).
	Hold []string
	// Gate, when not nil, must grant a slot before each unit starts.
	Gate Gate
}

// errForceStopped is the cancellation cause of a unit force-stopped by
// an operator.
var errForceStopped = errors.New("force-stopped by an operator")

// Execution is a running [Network], started by [Network.Start], with the
// operator controls of JobCenter: hold and release a unit before it
// starts, skip it, force-stop it while it runs. Its methods are safe for
// concurrent use.
type Execution struct {
	n    *Network
	ctrl chan control
	done chan struct{}

	mu   sync.Mutex
	snap NetworkReport // the latest state; final once done is closed
}

type controlKind int

const (
	ctrlHold controlKind = iota
	ctrlRelease
	ctrlSkip
	ctrlStop
)

var (
	controlNames = [...]string{"hold", "release", "skip", "stop"}
	controlDone  = [...]string{"held", "released", "skipped", "force-stopped"}
)

type control struct {
	kind  controlKind
	unit  string
	reply chan error
}

// Start validates the network and starts running it in the background,
// returning the Execution that controls it; [Execution.Wait] returns the
// final report. It is the one way to run a Network. An error means the
// network (or an option naming a unit, wrapping [ErrInvalid]) is invalid,
// and nothing runs.
//
// A unit starts as soon as every unit it needs finished and its When
// condition holds, with at most Concurrency units running at once (and
// the Gate's slots, when StartOptions.Gate is set); among units ready at
// the same time, earlier-defined ones start first. A unit whose condition
// does not hold is Skipped, with a Message naming the condition and the
// needs that broke it. Each unit's Action runs as Chain(Action,
// Retry(*Retry), Timeout(Timeout)), so the timeout is per attempt, with
// ctx carrying the unit's output writer (see [Output]). Its final state:
// TimedOut when the last attempt timed out; Failed with the error text as
// Message when Do returned an error; Skipped for a Skipped Outcome;
// Succeeded for exit code 0 or an ignored code; else Failed.
// Outcome.Output, if any, is appended to the captured output.
//
// Output is captured per unit by a writer that is safe for concurrent
// use; it keeps the first OutputLimit bytes in memory and, once they are
// exceeded, writes the whole output (the kept prefix included) to a file
// in SpillDir named "<network>-<unit>-*.log" (see UnitReport.Output and
// OutputFile).
//
// When ctx ends, the running units' actions see it through their ctx and
// must end their work; the run waits for them. Units that had not started
// become Cancelled, and so does a running unit that ends without success;
// the report has State cancelled. When ctx's cause is [ErrDetached]
// instead, units not yet started stay pending, the running units' actions
// see the detachment (work that can outlive the process goes on, to be
// adopted by a later Start with Resume), their results are not reported
// to the Observer, and the final report has them still running, with
// State Running.
func (n *Network) Start(ctx context.Context, o StartOptions) (*Execution, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	if err := n.CheckUnits("hold", o.Hold); err != nil {
		return nil, err
	}
	e := &Execution{n: n, ctrl: make(chan control), done: make(chan struct{})}
	r := newNetworkRun(n, o)
	e.snap = r.snapshot()
	r.publish = func(rep NetworkReport) {
		e.mu.Lock()
		e.snap = rep
		e.mu.Unlock()
	}
	go func() {
		defer close(e.done)
		r.run(ctx, e.ctrl)
	}()
	return e, nil
}

// Done is closed when the run ended (or detached).
func (e *Execution) Done() <-chan struct{} { return e.done }

// Wait waits for the run to end and returns its final report.
func (e *Execution) Wait() NetworkReport {
	<-e.done
	return e.Report()
}

// Report returns the run's current state: a copy, safe to keep.
func (e *Execution) Report() NetworkReport {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.snap.Clone()
}

// Hold keeps a pending unit from starting until [Execution.Release]; the
// units that need it wait too. Holding a held unit does nothing. A unit
// that started or ended cannot be held: the error wraps [ErrState].
func (e *Execution) Hold(unit string) error { return e.send(ctrlHold, unit) }

// Release lets a held unit start once its needs finished. A unit that is
// not held is an error wrapping [ErrState].
func (e *Execution) Release(unit string) error { return e.send(ctrlRelease, unit) }

// Skip ends a pending or held unit without running it, as if it had
// succeeded (JobCenter's skip): its state is Succeeded with the Message
// "skipped by an operator", so the units that need it proceed. A unit
// that started or ended is an error wrapping [ErrState].
func (e *Execution) Skip(unit string) error { return e.send(ctrlSkip, unit) }

// Stop force-stops a running unit: its action's ctx is cancelled (a
// container is stopped with its stop signal and grace, an exec or host
// process ended) and the unit ends Failed with the Message
// "force-stopped by an operator", so failure branches run and a rerun
// runs it again. Stop returns once the stop is under way, not when the
// unit ended. A unit that is not running is an error wrapping [ErrState].
func (e *Execution) Stop(unit string) error { return e.send(ctrlStop, unit) }

func (e *Execution) send(k controlKind, unit string) error {
	reply := make(chan error, 1)
	select {
	case e.ctrl <- control{kind: k, unit: unit, reply: reply}:
		return <-reply
	case <-e.done:
		return StateErrorf("%s %s: the run has ended", controlNames[k], unit)
	}
}

// Clone returns a copy of r that shares no memory with it.
func (r NetworkReport) Clone() NetworkReport {
	r.Units = slices.Clone(r.Units)
	return r
}

// unitDone carries a finished unit's report from its goroutine.
type unitDone struct {
	i      int
	rep    UnitReport
	noExit bool
}

// networkRun is the coordinator's state; only the coordinator goroutine
// touches it.
type networkRun struct {
	n        *Network
	o        StartOptions
	rep      NetworkReport
	needs    [][]int // unit indices each unit needs
	noExit   []bool  // the unit ended without an exit code
	adopt    []bool  // the unit was running before a restart: adopt it
	cancel   []context.CancelCauseFunc
	release  []func() // gate slots held by running units
	index    map[string]int
	publish  func(NetworkReport)
	cleanups sync.WaitGroup
}

func newNetworkRun(n *Network, o StartOptions) *networkRun {
	r := &networkRun{
		n:       n,
		o:       o,
		rep:     NetworkReport{Name: n.Name, State: Running, Units: make([]UnitReport, len(n.Units))},
		needs:   make([][]int, len(n.Units)),
		noExit:  make([]bool, len(n.Units)),
		adopt:   make([]bool, len(n.Units)),
		cancel:  make([]context.CancelCauseFunc, len(n.Units)),
		release: make([]func(), len(n.Units)),
		index:   make(map[string]int, len(n.Units)),
	}
	for i, u := range n.Units {
		r.rep.Units[i] = UnitReport{Name: u.Name, State: Pending}
		r.index[u.Name] = i
	}
	for i, u := range n.Units {
		for _, need := range u.Needs {
			r.needs[i] = append(r.needs[i], r.index[need])
		}
	}
	if o.Resume != nil {
		for _, prev := range o.Resume.Units {
			i, ok := r.index[prev.Name]
			if !ok {
				continue
			}
			switch {
			case prev.State.Finished():
				r.rep.Units[i] = prev
				// An exit code is known only for units that ran to one.
				r.noExit[i] = prev.State != Succeeded && prev.State != StateFailed || prev.ExitCode < 0
			case prev.State == Held:
				r.rep.Units[i].State = Held
			case prev.State == Running:
				r.adopt[i] = true
				r.rep.Units[i].Started = prev.Started
				r.rep.Units[i].Attempts = prev.Attempts
			}
		}
	}
	for _, h := range o.Hold {
		if i := r.index[h]; r.rep.Units[i].State == Pending {
			r.rep.Units[i].State = Held
		}
	}
	return r
}

func (r *networkRun) snapshot() NetworkReport { return r.rep.Clone() }

func (r *networkRun) notify(i int) {
	if r.publish != nil {
		r.publish(r.snapshot())
	}
	if r.o.Observer != nil {
		r.o.Observer(r.rep.Units[i])
	}
}

// waiting reports whether unit i has not started: pending or held.
func (r *networkRun) waiting(i int) bool {
	s := r.rep.Units[i].State
	return s == Pending || s == Held
}

func (r *networkRun) run(ctx context.Context, ctrl <-chan control) {
	n := r.n
	limit := n.OutputLimit
	if limit == 0 {
		limit = DefaultOutputLimit
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan unitDone)
	ctxDone := ctx.Done()
	left, inFlight := 0, 0
	for i := range r.rep.Units {
		if !r.rep.Units[i].State.Finished() {
			left++
		}
	}
	detached := false

	// Units that were running when an earlier process stopped: adopt the
	// Adopters; the others' outcome is unknown.
	for i := range r.rep.Units {
		if !r.adopt[i] {
			continue
		}
		if _, ok := n.Units[i].Action.(Adopter); !ok {
			u := &r.rep.Units[i]
			u.State, u.ExitCode, u.Ended = StateFailed, -1, time.Now()
			u.Message = "interrupted: the process running the network stopped while the unit ran, and its outcome is unknown (rerun the network to run it again)"
			r.noExit[i] = true
			left--
			r.notify(i)
			continue
		}
		if r.o.Gate != nil {
			r.release[i], _ = r.o.Gate.TryAcquire(n.Units[i].Name, true)
		}
		r.rep.Units[i].State = Running
		r.rep.Units[i].Attempts = max(r.rep.Units[i].Attempts, 1)
		inFlight++
		r.notify(i)
		uctx, ucancel := context.WithCancelCause(runCtx)
		r.cancel[i] = ucancel
		go func() { done <- n.runUnit(uctx, i, limit, true) }()
	}

	for left > 0 {
		var gateCh <-chan struct{}
		gateBlocked := false
		if ctx.Err() != nil {
			if detached = Detached(ctx); detached {
				if inFlight == 0 {
					break
				}
			} else {
				for i := range r.rep.Units {
					if r.waiting(i) {
						r.rep.Units[i].State = Cancelled
						r.rep.Units[i].Message = "cancelled before it started: " + context.Cause(ctx).Error()
						left--
						r.notify(i)
					}
				}
			}
		} else {
			// Decide the conditions of the units whose needs all finished,
			// until skips stop making further units ready.
			for changed := true; changed; {
				changed = false
				for i := range r.rep.Units {
					if r.rep.Units[i].State != Pending || !r.ready(i) {
						continue
					}
					if why, ok := r.condition(i); !ok {
						r.rep.Units[i].State = Skipped
						r.rep.Units[i].Message = why
						r.rep.Units[i].Ended = time.Now()
						left--
						changed = true
						r.notify(i)
					}
				}
			}
			// Start the ready units in definition order.
			if r.o.Gate != nil {
				gateCh = r.o.Gate.Changed()
			}
			for i := range r.rep.Units {
				if n.Concurrency > 0 && inFlight >= n.Concurrency {
					break
				}
				if r.rep.Units[i].State != Pending || !r.ready(i) {
					continue
				}
				if r.o.Gate != nil {
					rel, ok := r.o.Gate.TryAcquire(n.Units[i].Name, false)
					if !ok {
						gateBlocked = true
						break
					}
					r.release[i] = rel
				}
				r.rep.Units[i].State = Running
				r.rep.Units[i].Started = time.Now()
				r.rep.Units[i].Attempts = 1 // the first; the final report has them all
				inFlight++
				r.notify(i)
				uctx, ucancel := context.WithCancelCause(runCtx)
				r.cancel[i] = ucancel
				go func() { done <- n.runUnit(uctx, i, limit, false) }()
			}
		}
		if left == 0 {
			break
		}
		if !gateBlocked {
			gateCh = nil
		}
		if inFlight == 0 && !gateBlocked && !r.anyHeld() && ctx.Err() == nil {
			break // cannot happen with a valid (acyclic) network
		}
		if ctx.Err() != nil && inFlight == 0 {
			break
		}
		select {
		case d := <-done:
			inFlight--
			if r.release[d.i] != nil {
				r.release[d.i]()
				r.release[d.i] = nil
			}
			r.cancel[d.i](nil)
			if detached || Detached(ctx) {
				continue // the work goes on; a later process reports it
			}
			left--
			d.rep.Name = r.rep.Units[d.i].Name
			d.rep.Started = r.rep.Units[d.i].Started
			if r.adopt[d.i] && d.rep.Attempts < r.rep.Units[d.i].Attempts {
				d.rep.Attempts = r.rep.Units[d.i].Attempts
			}
			r.rep.Units[d.i] = d.rep
			r.noExit[d.i] = d.noExit
			r.notify(d.i)
			if a, ok := n.Units[d.i].Action.(Adopter); ok {
				r.cleanups.Add(1)
				go func(t inventory.Target) {
					defer r.cleanups.Done()
					cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
					defer ccancel()
					_ = a.Release(cctx, t) // best effort: leftovers carry labels
				}(n.Units[d.i].Target)
			}
		case c := <-ctrl:
			finished, err := r.control(c)
			if finished {
				left--
			}
			c.reply <- err
		case <-gateCh:
		case <-ctxDone:
			ctxDone = nil // the next round cancels the pending units
		}
	}
	r.cleanups.Wait()

	if detached || (Detached(ctx) && left > 0) {
		r.rep.State = Running
		r.publish(r.snapshot())
		return
	}
	r.rep.State = Succeeded
	for _, u := range r.rep.Units {
		switch u.State {
		case Cancelled:
			r.rep.State = Cancelled
		case StateFailed, TimedOut:
			if r.rep.State != Cancelled {
				r.rep.State = StateFailed
			}
		}
	}
	if r.publish != nil {
		r.publish(r.snapshot())
	}
}

func (r *networkRun) anyHeld() bool {
	for i := range r.rep.Units {
		if r.rep.Units[i].State == Held {
			return true
		}
	}
	return false
}

// control applies an operator control in the coordinator; finished says
// it ended the unit.
func (r *networkRun) control(c control) (finished bool, err error) {
	i, ok := r.index[c.unit]
	if !ok {
		return false, fmt.Errorf("%s: %w", controlNames[c.kind], NotFound("unit", c.unit))
	}
	u := &r.rep.Units[i]
	bad := func(allowed string) error {
		return StateErrorf("%s %s: the unit is %s; only a %s unit can be %s", controlNames[c.kind], c.unit, u.State, allowed, controlDone[c.kind])
	}
	switch c.kind {
	case ctrlHold:
		switch u.State {
		case Held:
			return false, nil
		case Pending:
			u.State = Held
			r.notify(i)
			return false, nil
		}
		return false, bad("pending")
	case ctrlRelease:
		if u.State != Held {
			return false, bad("held")
		}
		u.State = Pending
		r.notify(i)
		return false, nil
	case ctrlSkip:
		if !r.waiting(i) {
			return false, bad("pending or held")
		}
		u.State, u.Message, u.Ended = Succeeded, "skipped by an operator", time.Now()
		r.noExit[i] = true
		r.notify(i)
		return true, nil
	case ctrlStop:
		if u.State != Running {
			return false, bad("running")
		}
		r.cancel[i](errForceStopped)
		return false, nil
	}
	return false, nil
}

// ready reports whether every unit i needs finished.
func (r *networkRun) ready(i int) bool {
	for _, j := range r.needs[i] {
		if !r.rep.Units[j].State.Finished() {
			return false
		}
	}
	return true
}

// condition evaluates unit i's When against its finished needs; when it
// does not hold, it says why.
func (r *networkRun) condition(i int) (string, bool) {
	w := r.n.Units[i].When
	var bad []string
	switch {
	case w.On == WhenAlways:
		return "", true
	case w.On == WhenFailure:
		for _, j := range r.needs[i] {
			if s := r.rep.Units[j].State; s == StateFailed || s == TimedOut {
				return "", true
			}
		}
		return "condition failure not met: no need failed or timed out", false
	case w.On == WhenExit || len(w.Codes) > 0:
		for _, j := range r.needs[i] {
			u := r.rep.Units[j]
			switch {
			case (u.State != Succeeded && u.State != StateFailed) || r.noExit[j]:
				if u.State == StateFailed {
					bad = append(bad, u.Name+" failed without an exit code")
				} else {
					bad = append(bad, u.Name+" "+string(u.State))
				}
			case !slices.Contains(w.Codes, u.ExitCode):
				bad = append(bad, fmt.Sprintf("%s exited %d", u.Name, u.ExitCode))
			}
		}
		if len(bad) > 0 {
			return fmt.Sprintf("condition exit codes %v not met: %s", w.Codes, strings.Join(bad, ", ")), false
		}
		return "", true
	default:
		for _, j := range r.needs[i] {
			if u := r.rep.Units[j]; u.State != Succeeded {
				bad = append(bad, u.Name+" "+string(u.State))
			}
		}
		if len(bad) > 0 {
			return "condition success not met: " + strings.Join(bad, ", "), false
		}
		return "", true
	}
}

// runUnit runs unit i's wrapped action with its output capture and turns
// the result into its report (without Name and Started). With adopt, it
// first adopts the work an earlier process started (the Action is an
// Adopter), and runs the action only when there is none.
func (n *Network) runUnit(ctx context.Context, i int, limit int64, adopt bool) unitDone {
	u := n.Units[i]
	var ws []Wrapper
	if u.Retry != nil {
		ws = append(ws, Retry(*u.Retry))
	}
	if u.Timeout > 0 {
		ws = append(ws, Timeout(u.Timeout))
	}
	c := newCapture(limit, n.SpillDir, n.Name, u.Name)
	var (
		out   Outcome
		err   error
		found bool
	)
	if adopt {
		out, found, err = u.Action.(Adopter).Adopt(WithOutput(ctx, c), u.Target)
	}
	if !found && err == nil {
		out, err = Chain(u.Action, ws...).Do(WithOutput(ctx, c), u.Target)
	}
	if err == nil && len(out.Output) > 0 {
		_, _ = c.Write(out.Output)
	}
	d := unitDone{i: i, rep: UnitReport{
		ExitCode: out.ExitCode,
		Attempts: max(out.Attempts, 1),
		Message:  out.Message,
	}}
	switch {
	case err != nil:
		d.rep.State, d.rep.ExitCode, d.rep.Message, d.noExit = StateFailed, -1, err.Error(), true
	case out.TimedOut:
		d.rep.State, d.noExit = TimedOut, true
	case out.Skipped:
		d.rep.State, d.noExit = Skipped, true
	case out.Succeeded():
		d.rep.State = Succeeded
	default:
		d.rep.State = StateFailed
	}
	if errors.Is(context.Cause(ctx), errForceStopped) && d.rep.State != Succeeded {
		d.rep.State, d.rep.Message, d.noExit = StateFailed, errForceStopped.Error(), err != nil
	} else if ctx.Err() != nil && (d.rep.State == StateFailed || d.rep.State == TimedOut) {
		d.rep.State, d.noExit = Cancelled, true
		if d.rep.Message == "" {
			d.rep.Message = "cancelled"
		} else {
			d.rep.Message = "cancelled: " + d.rep.Message
		}
	}
	d.rep.Output, d.rep.OutputFile = c.finish()
	d.rep.Ended = time.Now()
	return d
}
