package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/minato-ops/minato/monitor"
)

// maxHeld bounds the (check, Target) pairs a FanOut remembers while it
// holds back a "no baseline yet" transition.
const maxHeld = 10000

// FanOutConfig tunes a [FanOut]. The zero FanOutConfig is the default.
type FanOutConfig struct {
	// NotifyNoBaseline passes on, in [FanOut.Transition], the change to
	// Unknown of an Evaluation that failed with [monitor.ErrNoBaseline]
	// (a rate's first sample after a start or a counter reset: no value
	// yet, nothing wrong with the target), and the change back that
	// follows it. By default (false) both are held back, so that a
	// restart of the agent does not page anyone.
	NotifyNoBaseline bool `json:"notify_no_baseline,omitempty"`
}

// NamedStats is the [Stats] of one notifier of a FanOut.
type NamedStats struct {
	// Name is the name given to [FanOut.Add].
	Name string `json:"name"`
	Stats
}

// FanOut hands every Evaluation to several named [Notifier]s: it is the
// one [monitor.Sink] and the one transition callback a Runner needs for
// all of them. A notifier that fails does not stop the others. Create it
// with [NewFanOut], [FanOut.Add] the notifiers, and Close it to close
// them all. Its methods are safe for concurrent use.
type FanOut struct {
	cfg FanOutConfig
	log *slog.Logger

	mu      sync.RWMutex
	entries []entry
	closed  bool

	heldMu sync.Mutex
	held   map[string]monitor.Status // by check and Target key: the status the notifiers last saw
}

type entry struct {
	name string
	n    Notifier
}

var _ monitor.Sink = (*FanOut)(nil)

// NewFanOut returns a FanOut with no notifier. Nothing in cfg can be
// invalid, so there is no error to return. [WithLogger] logs the
// notifications [FanOut.Transition] could not make.
func NewFanOut(cfg FanOutConfig, opts ...Option) *FanOut {
	return &FanOut{cfg: cfg, log: logger(opts), held: make(map[string]monitor.Status)}
}

// Add adds n under name, which names it in errors, logs and
// [FanOut.Stats]; the FanOut owns n from then on and closes it in
// [FanOut.Close]. It fails, without taking n, when name is empty or
// already used, n is nil, or the FanOut is closed. Notifiers are called
// in the order they were added.
func (f *FanOut) Add(name string, n Notifier) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.closed:
		return fmt.Errorf("notify: add %q: %w", name, ErrClosed)
	case name == "":
		return errors.New("notify: add: empty name")
	case n == nil:
		return fmt.Errorf("notify: add %q: nil notifier", name)
	case slices.ContainsFunc(f.entries, func(e entry) bool { return e.name == name }):
		return fmt.Errorf("notify: add %q: the name is already used", name)
	}
	f.entries = append(f.entries, entry{name, n})
	return nil
}

// list returns the notifiers.
func (f *FanOut) list() []entry {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.entries
}

// Write hands every Evaluation of evs to every notifier, even when some
// fail, and returns the failures joined, each prefixed with the
// notifier's name. Each failure is a message that notifier dropped and
// counted in its Stats.
func (f *FanOut) Write(ctx context.Context, evs []monitor.Evaluation) error {
	var errs []error
	for _, e := range f.list() {
		if err := notifyAll(ctx, e.n, evs); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.name, err))
		}
	}
	return errors.Join(errs...)
}

// Transition hands tr's Evaluation to every notifier: give it to a Runner
// with monitor.WithTransitions(f.Transition) to notify status changes
// only. Unless [FanOutConfig.NotifyNoBaseline] is set, a change to
// Unknown because a rate has no baseline yet is held back, and so is the
// next change of that check and Target when it only returns to the
// status the notifiers last saw (OK after a start); any other next
// change is passed on. Failures are logged at warn ([WithLogger]), as
// there is no caller to return them to; the notifiers count them.
func (f *FanOut) Transition(ctx context.Context, tr monitor.Transition) {
	if !f.cfg.NotifyNoBaseline && f.hold(tr) {
		return
	}
	for _, e := range f.list() {
		if err := e.n.Notify(ctx, tr.Evaluation); err != nil {
			f.log.WarnContext(ctx, "notify: notification failed", "notifier", e.name, "check", tr.Check, "target", tr.Target.String(), "status", tr.Status.String(), "error", err)
		}
	}
}

// hold reports whether tr is to be held back: a change to "no baseline
// yet", or the change back from one.
func (f *FanOut) hold(tr monitor.Transition) bool {
	key := tr.Check + "\x00" + tr.Target.Key()
	f.heldMu.Lock()
	defer f.heldMu.Unlock()
	seen, held := f.held[key]
	if errors.Is(tr.Err, monitor.ErrNoBaseline) {
		if !held && len(f.held) < maxHeld {
			f.held[key] = tr.From
		}
		return true
	}
	if !held {
		return false
	}
	delete(f.held, key)
	return tr.Status == seen
}

// Flush flushes every notifier concurrently (see [Notifier]) and returns
// their errors joined, each prefixed with the notifier's name.
func (f *FanOut) Flush(ctx context.Context) error {
	return f.each(func(n Notifier) error { return n.Flush(ctx) })
}

// Stats returns each notifier's counters, in the order they were added.
func (f *FanOut) Stats() []NamedStats {
	es := f.list()
	out := make([]NamedStats, len(es))
	for i, e := range es {
		out[i] = NamedStats{Name: e.name, Stats: e.n.Stats()}
	}
	return out
}

// Close closes every notifier concurrently with ctx, so that together
// they take no longer than ctx allows, and returns their errors joined,
// each prefixed with the notifier's name (an error wrapping
// [ErrUndelivered] says how many messages that notifier dropped). Stats
// still work afterwards. Close is idempotent: later calls return nil.
func (f *FanOut) Close(ctx context.Context) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	f.mu.Unlock()
	return f.each(func(n Notifier) error { return n.Close(ctx) })
}

// each calls do for every notifier concurrently and joins the errors.
func (f *FanOut) each(do func(n Notifier) error) error {
	es := f.list()
	errs := make([]error, len(es))
	var wg sync.WaitGroup
	for i, e := range es {
		wg.Go(func() {
			if err := do(e.n); err != nil {
				errs[i] = fmt.Errorf("%s: %w", e.name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
