package monitor

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minato-ops/minato/inventory"
)

// How a Runner restarts a failed watch: after watchBackoffMin, doubling
// after each failure up to watchBackoffMax; a watch that has run for
// watchHealthy resets the delay and clears a reported failure.
const (
	watchBackoffMin = time.Second
	watchBackoffMax = 30 * time.Second
	watchHealthy    = time.Minute
)

// errWatchEnded is the failure of a Watch that returned nil before its
// ctx was done.
var errWatchEnded = errors.New("monitor: the watch ended on its own")

// watchState is what a Runner keeps of a watched check: the latest
// Evaluation and the Damper of each Target emitted, most recently
// observed first, at most max of them.
type watchState struct {
	max int
	// emitMu serialises the judging of observations, the Sink writes
	// and the transition callbacks of the check.
	emitMu gate
	// mu guards byKey and lru, which Evaluations reads.
	mu    sync.Mutex
	byKey map[string]*list.Element
	lru   *list.List // of *watchEntry
}

type watchEntry struct {
	key    string
	ev     Evaluation
	damper *Damper
}

func newWatchState(max int) *watchState {
	return &watchState{max: max, emitMu: newGate(), byKey: map[string]*list.Element{}, lru: list.New()}
}

// evaluations returns a copy of the latest Evaluations.
func (ws *watchState) evaluations() []Evaluation {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	out := make([]Evaluation, 0, ws.lru.Len())
	for el := ws.lru.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*watchEntry).ev)
	}
	return out
}

// watchLoop runs c's watch until ctx is done: it starts the Watch after
// StartDelay and restarts it with backoff when it fails.
func (r *Runner) watchLoop(ctx context.Context, c *runCheck) {
	if !sleep(ctx, c.StartDelay) {
		return
	}
	w := c.Monitor.(Watcher)
	delay := watchBackoffMin
	failing := false
	healthy := func() {
		delay = watchBackoffMin
		if failing {
			failing = false
			r.watchRecovered(ctx, c)
		}
	}
	for {
		err := r.watchOnce(ctx, c, w, healthy)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errWatchEnded
		}
		r.log.Warn("monitor watch failed; restarting", "check", c.Name, "in", delay, "err", err)
		r.watchFailed(ctx, c, err, delay)
		failing = true
		if !sleep(ctx, delay) {
			return
		}
		delay = min(2*delay, watchBackoffMax)
	}
}

// watchOnce runs one Watch call and returns its error, or ctx's error
// once ctx is done (after waiting up to DefaultTimeout for the Watch to
// return). healthy is called once, on this goroutine, if the Watch is
// still running after watchHealthy.
func (r *Runner) watchOnce(ctx context.Context, c *runCheck, w Watcher, healthy func()) error {
	e := &watchEmitter{r: r, c: c, ctx: ctx}
	defer e.closed.Store(true)
	done := make(chan error, 1)
	go func() { done <- safeWatch(ctx, w, e.emit) }()
	r.log.Debug("monitor watch started", "check", c.Name)
	t := time.NewTimer(watchHealthy)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-t.C:
			healthy()
		case <-ctx.Done():
			grace := time.NewTimer(r.cfg.DefaultTimeout)
			defer grace.Stop()
			select {
			case <-done:
			case <-grace.C:
				r.log.Warn("monitor watch still running after shutdown; going on without it", "check", c.Name)
			}
			return ctx.Err()
		}
	}
}

// safeWatch calls w.Watch, turning a panic into an error.
func safeWatch(ctx context.Context, w Watcher, emit func(inventory.Target, Result)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("monitor: watch panicked: %v", p)
		}
	}()
	return w.Watch(ctx, emit)
}

// watchEmitter is the emit of one Watch call.
type watchEmitter struct {
	r      *Runner
	c      *runCheck
	ctx    context.Context
	closed atomic.Bool // the Watch call returned: ignore further calls
}

func (e *watchEmitter) emit(t inventory.Target, res Result) {
	if e.closed.Load() || e.ctx.Err() != nil || !e.c.Targets.Match(t) {
		return
	}
	ev := judge(e.c, t, res, 0, nil)
	ws := e.c.watch
	ws.emitMu.lock()
	defer ws.emitMu.unlock()
	if e.closed.Load() || e.ctx.Err() != nil {
		return
	}
	e.r.observeWatched(e.ctx, e.c, ev)
}

// watchFailed reports a failed Watch as an Unknown Evaluation of the zero
// Target.
func (r *Runner) watchFailed(ctx context.Context, c *runCheck, err error, restartIn time.Duration) {
	ev := Evaluation{Check: c.Name, Observed: Unknown, Status: Unknown, Err: err,
		Message: fmt.Sprintf("stream failed: %s (restarting in %s)", strings.TrimPrefix(errorMessage(err), "monitor: "), restartIn)}
	c.watch.emitMu.lock()
	defer c.watch.emitMu.unlock()
	r.observeWatched(ctx, c, ev)
}

// watchRecovered reports that a restarted Watch has run for watchHealthy:
// an OK Evaluation of the zero Target, not damped (no further
// observation of the stream would clear it), after which the zero
// Target's state is dropped.
func (r *Runner) watchRecovered(ctx context.Context, c *runCheck) {
	ws := c.watch
	ws.emitMu.lock()
	defer ws.emitMu.unlock()
	from := OK
	ws.mu.Lock()
	if el := ws.byKey[inventory.Target{}.Key()]; el != nil {
		from = el.Value.(*watchEntry).damper.Reported()
		ws.lru.Remove(el)
		delete(ws.byKey, inventory.Target{}.Key())
	}
	ws.mu.Unlock()
	ev := Evaluation{Check: c.Name, Result: Result{Time: time.Now()}, Observed: OK, Status: OK,
		Message: "stream running again"}
	r.log.Debug("monitor watch running again", "check", c.Name)
	r.write(ctx, []Evaluation{ev})
	if from != OK {
		r.transition(ctx, Transition{Evaluation: ev, From: from})
	}
}

// observeWatched damps ev (whose Status is its Observed status), stores
// it as the latest of its Target, writes it to the Sinks and reports a
// Transition if the reported status changed. The caller holds
// c.watch.emitMu.
func (r *Runner) observeWatched(ctx context.Context, c *runCheck, ev Evaluation) {
	ws := c.watch
	key := ev.Target.Key()
	ws.mu.Lock()
	el := ws.byKey[key]
	if el == nil {
		el = ws.lru.PushFront(&watchEntry{key: key, damper: NewDamper(c.Damping)})
		ws.byKey[key] = el
		if ws.lru.Len() > ws.max {
			old := ws.lru.Back().Value.(*watchEntry)
			ws.lru.Remove(ws.lru.Back())
			delete(ws.byKey, old.key)
			r.log.Debug("monitor watch forgot the least recently observed target", "check", c.Name, "target", old.ev.Target.String(), "kept", ws.max)
		}
	} else {
		ws.lru.MoveToFront(el)
	}
	e := el.Value.(*watchEntry)
	from := e.damper.Reported()
	st, changed := e.damper.Observe(ev.Observed)
	ev.Status = st
	e.ev = ev
	ws.mu.Unlock()
	r.write(ctx, []Evaluation{ev})
	if changed {
		r.transition(ctx, Transition{Evaluation: ev, From: from})
	}
}

// transition calls the transition callbacks.
func (r *Runner) transition(ctx context.Context, t Transition) {
	for _, f := range r.transitions {
		f(ctx, t)
	}
}

// sleep waits d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// gate is a mutex made of a channel, for the locks held while Sinks and
// callbacks run: unlike waiting for a sync.Mutex, waiting for a gate is
// durably blocking in a testing/synctest bubble, so a Sink that sleeps
// while other writers wait does not stall a test's fake clock.
type gate chan struct{}

func newGate() gate { return make(gate, 1) }

func (g gate) lock() { g <- struct{}{} }

func (g gate) unlock() { <-g }
