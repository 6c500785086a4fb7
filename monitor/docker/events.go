package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
)

// EngineEventBuffer is the number of events the Docker Engine keeps for
// since/until replays (moby's eventsLimit): older events are gone, and a
// restart of the engine empties the buffer.
const EngineEventBuffer = 256

// The synthetic events an [EventStream] adds to the engine's.
const (
	// EventTypeMinato is the Type of the events minato makes up.
	EventTypeMinato = "minato"
	// ActionGap says events may have been lost since the checkpoint. Its
	// ActorID is the engine ID; Attributes "since" (RFC 3339, the
	// checkpoint's time) and "reason".
	ActionGap = "gap"
	// ActionReconcile follows a gap, once per container of a fresh
	// listing. Its ActorID is the container ID; Attributes "name",
	// "image", "state" (running, exited, ...) and "status" (docker ps's
	// text).
	ActionReconcile = "reconcile"
)

// Checkpoint is how far an [EventStream] has handled the engine's events,
// kept as JSON in the baseline store under "<key>.events".
type Checkpoint struct {
	// Time is the engine time (Unix nanoseconds) of the newest event
	// handled; the next run replays from it (the engine's since is
	// inclusive).
	Time int64 `json:"time"`
	// Keys are the [EventKey]s of the events handled at exactly Time:
	// the replayed ones among them are dropped, and finding one of them
	// again proves that nothing was lost in between. Empty when no event
	// was handled since the key's first run or since the last gap.
	Keys []string `json:"keys,omitempty"`
	// EngineID is the engine's ID (docker info): another ID means another
	// engine, or one whose state was wiped, so a gap.
	EngineID string `json:"engine_id,omitempty"`
	// Filters is the canonical form of the engine filters the events were
	// read with; with other filters the boundary proof does not apply.
	Filters string `json:"filters,omitempty"`
}

// EventKey identifies an event for deduplication: its time in
// nanoseconds, type, actor ID and action.
func EventKey(e container.Event) string {
	return strconv.FormatInt(e.Time.UnixNano(), 10) + "|" + e.Type + "|" + e.ActorID + "|" + e.Action
}

// Seen reports whether e was already handled: it is at exactly c.Time and
// its key is among c.Keys. Events older than c.Time are not replayed by
// the engine (since is c.Time), so they are new when they arrive (a live
// stream can deliver events a few nanoseconds out of order).
func (c Checkpoint) Seen(e container.Event) bool {
	return e.Time.UnixNano() == c.Time && slices.Contains(c.Keys, EventKey(e))
}

// Advance records e as handled: a newer event moves Time and restarts
// Keys, one at Time joins Keys, an older one changes nothing.
func (c *Checkpoint) Advance(e container.Event) {
	ns, k := e.Time.UnixNano(), EventKey(e)
	switch {
	case ns > c.Time:
		c.Time, c.Keys = ns, []string{k}
	case ns == c.Time && !slices.Contains(c.Keys, k):
		c.Keys = append(c.Keys, k)
	}
}

// CanonicalFilters renders engine filters as a stable string:
// "key=v1,v2;key2=v3", keys and values sorted.
func CanonicalFilters(f map[string][]string) string {
	keys := make([]string, 0, len(f))
	for k, vs := range f {
		if len(vs) > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		vs := slices.Clone(f[k])
		sort.Strings(vs)
		parts = append(parts, k+"="+strings.Join(vs, ","))
	}
	return strings.Join(parts, ";")
}

// EventStreamOptions configure an [EventStream].
type EventStreamOptions struct {
	// Filters are the engine's event filters ("type", "event",
	// "container", "image", "label", ...): values of one key are ORed,
	// keys ANDed. Note that the engine matches "container" (ID or name)
	// by prefix.
	Filters map[string][]string
	// Match, when set, is a further filter applied here: events it
	// rejects are handled (the checkpoint moves past them) but not given
	// to fn. It also sees the reconcile events (Type "minato", ActorID the
	// container ID), not the gap events.
	Match func(container.Event) bool
	// Start is where the first run of a key begins. Zero means now: a
	// new key forwards nothing that happened before its first run.
	Start time.Time
	// SaveEvery is how many handled events may be held in memory before
	// the checkpoint is written (it is also written at the end of a run
	// and when fn fails). After a crash (SIGKILL, power loss) up to
	// SaveEvery events are delivered again. Default 1.
	SaveEvery int
	// Sync, when set, is called before each checkpoint write, to make the
	// sink durable first (fsync a file, drain a queue); when it fails the
	// checkpoint is not written and the error is returned.
	Sync func(context.Context) error
	// Backoff and MaxBackoff bound Follow's reconnection delay, which
	// doubles after each failure. Defaults 100 ms and 5 s.
	Backoff, MaxBackoff time.Duration
	// Logger receives Follow's reconnections and the gaps; default none.
	Logger *slog.Logger
}

// EventStream forwards the engine's events exactly once across runs:
// each run resumes from the checkpoint kept in a [baseline.Store], drops
// the events the engine replays at the since boundary, and tells when
// events were probably lost.
//
// Continuity: the engine's since is inclusive, so a replay from the
// checkpoint's Time returns the last event handled — as long as the
// engine still has it. Not finding it means the engine's 256-event buffer
// overflowed or the engine restarted: a gap. A gap is also declared when
// the engine ID changed, and, for a checkpoint without a boundary event
// (no event handled yet), when the engine holds 256 or more events since
// the checkpoint. A gap is delivered as one synthetic event (Type
// "minato", Action "gap") followed by one "reconcile" event per container
// of a fresh listing, before the events that follow.
//
// Delivery is at least once toward fn and exactly once as long as fn
// succeeds: the checkpoint moves past an event only after fn returned nil
// for it. Runs of the same key take turns (an exclusive lock on the key
// is held for the whole run, across processes).
type EventStream struct {
	c     *container.Client
	store *baseline.Store
	key   string
	o     EventStreamOptions
	fp    string
	mu    sync.Mutex
}

// NewEventStream returns the stream of c's events checkpointed in store
// under key (the file is "<key>.events.json").
func NewEventStream(c *container.Client, store *baseline.Store, key string, o EventStreamOptions) (*EventStream, error) {
	if c == nil || store == nil {
		return nil, errors.New("docker: event stream: nil client or store")
	}
	if err := baseline.CheckKey(key + ".events-run"); err != nil { // the longest name the stream uses
		return nil, fmt.Errorf("docker: event stream: %w", err)
	}
	if o.SaveEvery <= 0 {
		o.SaveEvery = 1
	}
	if o.Backoff <= 0 {
		o.Backoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.Backoff {
		o.MaxBackoff = max(5*time.Second, o.Backoff)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &EventStream{c: c, store: store, key: key + ".events", o: o, fp: CanonicalFilters(o.Filters)}, nil
}

// Checkpoint returns the stored checkpoint; ok is false when the key has
// never run.
func (s *EventStream) Checkpoint() (cp Checkpoint, ok bool, err error) {
	b, err := s.store.Get(s.key)
	if err != nil || b == nil {
		return Checkpoint{}, false, err
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		return Checkpoint{}, false, fmt.Errorf("docker: event checkpoint %s: %w", s.key, err)
	}
	return cp, true, nil
}

// errRunDone tells the run lock's Update to write nothing.
var errRunDone = errors.New("run done")

// locked runs fn under the key's cross-process run lock.
func (s *EventStream) locked(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	uerr := s.store.Update(s.key+"-run", func([]byte) ([]byte, error) {
		err = fn()
		return nil, errRunDone
	})
	if uerr != nil && !errors.Is(uerr, errRunDone) {
		return uerr
	}
	return err
}

// Forward delivers to fn, in order, every event from the checkpoint up to
// until (zero means now), then returns: the cron mode. fn's error stops
// the run; what was delivered before it is checkpointed, and the failed
// event is delivered again by the next run. When ctx ends first the
// checkpoint is saved and ctx's error returned.
//
// The first run of a key delivers nothing before Options.Start (default:
// now), so it only sets the checkpoint.
func (s *EventStream) Forward(ctx context.Context, until time.Time, fn func(container.Event) error) error {
	if until.IsZero() {
		until = time.Now()
	}
	return s.locked(func() error {
		r, err := s.newRun()
		if err != nil {
			return err
		}
		if err := r.reconnect(ctx); err != nil {
			return err
		}
		err = r.bounded(ctx, until, fn)
		if err := r.finish(ctx, err); err != nil {
			return err
		}
		return ctx.Err()
	})
}

// Follow delivers the events from the checkpoint on and keeps streaming
// until ctx ends (it then saves the checkpoint and returns nil) or fn
// fails (that error, the checkpoint saved). A dropped connection or an
// engine that cannot be reached is retried with backoff, resuming from
// the checkpoint without duplicates; an engine restart shows as a gap.
func (s *EventStream) Follow(ctx context.Context, fn func(container.Event) error) error {
	return s.locked(func() error {
		r, err := s.newRun()
		if err != nil {
			return err
		}
		delay := s.o.Backoff
		for ctx.Err() == nil {
			err := r.reconnect(ctx)
			if err == nil {
				// Catch up to now with a bounded replay, which decides any
				// gap (and reconciles) promptly, then stream from there.
				if err = r.bounded(ctx, time.Now(), fn); err == nil && ctx.Err() == nil {
					delivered := r.delivered
					err = r.live(ctx, fn)
					if r.delivered > delivered {
						delay = s.o.Backoff
					}
				}
			}
			var fe fnError
			if errors.As(err, &fe) {
				return r.finish(ctx, err)
			}
			if serr := r.save(ctx); serr != nil {
				return serr
			}
			if ctx.Err() != nil {
				break
			}
			if err == nil {
				err = errors.New("event stream ended")
			}
			s.o.Logger.Warn("docker events: reconnecting", "after", delay, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(delay):
			}
			delay = min(2*delay, s.o.MaxBackoff)
		}
		return r.save(context.WithoutCancel(ctx))
	})
}

// fnError marks an error returned by the caller's fn.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }
func (e fnError) Unwrap() error { return e.err }

// eventRun is one Forward or Follow: the checkpoint in memory and the
// gap decision of the current pass.
type eventRun struct {
	s        *EventStream
	cp       Checkpoint
	first    bool // no checkpoint was stored
	engineID string
	unsaved  int
	dirty    bool

	delivered int

	// per pass
	decided, proved, needBoundary bool
	boundary                      int64
	reason                        string
	held                          []container.Event
}

func (s *EventStream) newRun() (*eventRun, error) {
	cp, ok, err := s.Checkpoint()
	if err != nil {
		return nil, err
	}
	r := &eventRun{s: s, cp: cp, first: !ok}
	if !ok {
		start := s.o.Start
		if start.IsZero() {
			start = time.Now()
		}
		r.cp = Checkpoint{Time: start.UnixNano(), Filters: s.fp}
		r.dirty = true
	}
	return r, nil
}

// reconnect reads the engine ID.
func (r *eventRun) reconnect(ctx context.Context) error {
	info, err := r.s.c.Info(ctx)
	if err != nil {
		return err
	}
	r.engineID = info.ID
	if r.first && r.cp.EngineID == "" {
		r.cp.EngineID = info.ID
	}
	return nil
}

// startPass prepares the gap decision of one replay from r.cp.Time.
func (r *eventRun) startPass(ctx context.Context, until time.Time, probe bool) error {
	r.decided, r.proved, r.held, r.reason = false, false, nil, ""
	r.boundary = r.cp.Time
	sameFilters := r.cp.Filters == r.s.fp
	r.needBoundary = !r.first && len(r.cp.Keys) > 0 && sameFilters
	switch {
	case r.first:
	case r.cp.EngineID != "" && r.cp.EngineID != r.engineID:
		r.reason = fmt.Sprintf("engine ID changed from %s to %s", r.cp.EngineID, r.engineID)
		r.needBoundary = false
	case !r.needBoundary && probe:
		n, err := r.countSince(ctx, until)
		if err != nil {
			return err
		}
		if n >= EngineEventBuffer {
			r.reason = fmt.Sprintf("%d or more events since the checkpoint: the engine keeps only the last %d", n, EngineEventBuffer)
		}
	}
	return nil
}

// countSince counts all events (no filters) the engine holds from the
// checkpoint to until.
func (r *eventRun) countSince(ctx context.Context, until time.Time) (int, error) {
	n := 0
	err := r.s.c.Events(ctx, container.EventsOptions{Since: time.Unix(0, r.cp.Time), Until: until}, func(container.Event) error {
		n++
		return nil
	})
	return n, err
}

// bounded replays from the checkpoint to until.
func (r *eventRun) bounded(ctx context.Context, until time.Time, fn func(container.Event) error) error {
	if err := r.startPass(ctx, until, true); err != nil {
		return err
	}
	if until.UnixNano() < r.cp.Time {
		return nil
	}
	err := r.s.c.Events(ctx, container.EventsOptions{Since: time.Unix(0, r.cp.Time), Until: until, Filters: r.s.o.Filters}, r.handler(ctx, fn))
	if err != nil || ctx.Err() != nil {
		return err
	}
	if !r.decided {
		if err := r.decide(ctx, fn); err != nil {
			return err
		}
	}
	if len(r.cp.Keys) == 0 && r.cp.Time <= until.UnixNano() {
		// Nothing handled since the first run or the gap: everything up
		// to until has been seen.
		r.cp.Time, r.dirty = until.UnixNano()+1, true
	}
	r.cp.Filters, r.first = r.s.fp, false
	return nil
}

// live streams from the checkpoint with no end.
func (r *eventRun) live(ctx context.Context, fn func(container.Event) error) error {
	if err := r.startPass(ctx, time.Time{}, false); err != nil {
		return err
	}
	return r.s.c.Events(ctx, container.EventsOptions{Since: time.Unix(0, r.cp.Time), Filters: r.s.o.Filters}, r.handler(ctx, fn))
}

func (r *eventRun) handler(ctx context.Context, fn func(container.Event) error) func(container.Event) error {
	return func(e container.Event) error {
		if r.cp.Seen(e) {
			r.proved = true
			return nil
		}
		if !r.decided {
			if r.needBoundary && e.Time.UnixNano() <= r.boundary {
				r.held = append(r.held, e) // new, at the boundary: wait for the proof
				return nil
			}
			if err := r.decide(ctx, fn); err != nil {
				return err
			}
		}
		return r.deliver(ctx, fn, e)
	}
}

// decide delivers the gap and reconcile events if events were probably
// lost, then the events held at the boundary.
func (r *eventRun) decide(ctx context.Context, fn func(container.Event) error) error {
	r.decided = true
	reason := r.reason
	if reason == "" && r.needBoundary && !r.proved {
		reason = fmt.Sprintf("the last event handled is no longer in the engine's buffer: more than %d events since it, or the engine restarted", EngineEventBuffer)
	}
	if reason != "" {
		r.s.o.Logger.Warn("docker events: probable gap", "since", time.Unix(0, r.cp.Time), "reason", reason)
		if err := r.reconcile(ctx, fn, reason); err != nil {
			return err
		}
		r.cp.Keys, r.dirty = nil, true
	}
	if r.cp.EngineID != r.engineID {
		r.cp.EngineID, r.dirty = r.engineID, true
	}
	held := r.held
	r.held = nil
	for _, e := range held {
		if err := r.deliver(ctx, fn, e); err != nil {
			return err
		}
	}
	return nil
}

func (r *eventRun) reconcile(ctx context.Context, fn func(container.Event) error, reason string) error {
	now := time.Now()
	gap := container.Event{Time: now, Type: EventTypeMinato, Action: ActionGap, ActorID: r.engineID,
		Attributes: map[string]string{"since": time.Unix(0, r.cp.Time).UTC().Format(time.RFC3339Nano), "reason": reason}}
	if err := fn(gap); err != nil {
		return fnError{err}
	}
	if types := r.s.o.Filters["type"]; len(types) > 0 && !slices.Contains(types, "container") {
		return nil
	}
	lo := container.ListOptions{All: true}
	for _, l := range r.s.o.Filters["label"] {
		if lo.Labels == nil {
			lo.Labels = map[string]string{}
		}
		k, v, _ := strings.Cut(l, "=")
		lo.Labels[k] = v
	}
	list, err := r.s.c.List(ctx, lo)
	if err != nil {
		return err
	}
	now = time.Now()
	ctrs := r.s.o.Filters["container"]
	for _, c := range list.Containers {
		if len(ctrs) > 0 && !slices.ContainsFunc(ctrs, func(p string) bool { return strings.HasPrefix(c.ID, p) || strings.HasPrefix(c.Name, p) }) {
			continue // the engine's container filter: ID or name prefix
		}
		e := ReconcileEvent(now, c)
		if r.s.o.Match != nil && !r.s.o.Match(e) {
			continue
		}
		if err := fn(e); err != nil {
			return fnError{err}
		}
	}
	return nil
}

// ReconcileEvent is the synthetic event that reports c's state after a
// gap.
func ReconcileEvent(t time.Time, c container.Summary) container.Event {
	return container.Event{Time: t, Type: EventTypeMinato, Action: ActionReconcile, ActorID: c.ID,
		Attributes: map[string]string{"name": c.Name, "image": c.Image, "state": string(c.State), "status": c.Status}}
}

func (r *eventRun) deliver(ctx context.Context, fn func(container.Event) error, e container.Event) error {
	if r.s.o.Match == nil || r.s.o.Match(e) {
		if err := fn(e); err != nil {
			return fnError{err}
		}
		r.delivered++
	}
	r.cp.Advance(e)
	r.dirty = true
	r.unsaved++
	if r.unsaved >= r.s.o.SaveEvery {
		return r.save(ctx)
	}
	return nil
}

// save writes the checkpoint if it changed.
func (r *eventRun) save(ctx context.Context) error {
	if !r.dirty {
		return nil
	}
	if r.s.o.Sync != nil {
		if err := r.s.o.Sync(ctx); err != nil {
			return fmt.Errorf("docker: events: sync before checkpoint: %w", err)
		}
	}
	b, err := json.Marshal(r.cp)
	if err != nil {
		return err
	}
	if err := r.s.store.Update(r.s.key, func([]byte) ([]byte, error) { return b, nil }); err != nil {
		return err
	}
	r.dirty, r.unsaved = false, 0
	return nil
}

// finish saves the checkpoint after a run that ended with err and returns
// the error to report: fn's own error unwrapped, else err, else a save
// failure.
func (r *eventRun) finish(ctx context.Context, err error) error {
	serr := r.save(context.WithoutCancel(ctx))
	var fe fnError
	if errors.As(err, &fe) {
		return fe.err
	}
	if err != nil {
		return err
	}
	return serr
}

// FindingKind says what an [EventAnalyzer] found.
type FindingKind string

// The findings derived from events.
const (
	// FindingDied: a container died; the message has its exit code.
	FindingDied FindingKind = "died"
	// FindingOOM: the kernel OOM killer struck in a container (the oom
	// event, or a die whose container's State.OOMKilled is set).
	FindingOOM FindingKind = "oom_kill"
	// FindingRestartLoop: a container went from die to start too often
	// within the window.
	FindingRestartLoop FindingKind = "restart_loop"
	// FindingHealth: a container's health status changed.
	FindingHealth FindingKind = "health"
	// FindingGap: events were probably lost.
	FindingGap FindingKind = "gap"
)

// Finding is one conclusion drawn from an event and those before it.
type Finding struct {
	Kind    FindingKind    `json:"kind"`
	Status  monitor.Status `json:"status"`
	Message string         `json:"message"`
}

// AnalyzerConfig tunes an [EventAnalyzer].
type AnalyzerConfig struct {
	// RestartWindow and RestartThreshold define a restart loop:
	// RestartThreshold die→start transitions of one container within
	// RestartWindow. Defaults 60 s and 3.
	RestartWindow    time.Duration
	RestartThreshold int
}

// EventAnalyzer derives findings from a container's events: restart loops
// as a rate (not RestartCount, which the engine resets), OOM kills, health
// transitions and deaths with their exit code. It is pure (event times,
// no clock, no engine) and not safe for concurrent use.
type EventAnalyzer struct {
	cfg  AnalyzerConfig
	ctrs map[string]*ctrTrack
}

type ctrTrack struct {
	lastDie, lastOOM, lastKill time.Time
	killSignal                 string
	restarts                   []time.Time
	health                     string
}

// killWindow is how long after a kill request (docker stop, docker kill)
// a die counts as requested.
const killWindow = time.Minute

// NewEventAnalyzer returns an analyzer; zero fields of cfg take their
// defaults.
func NewEventAnalyzer(cfg AnalyzerConfig) *EventAnalyzer {
	if cfg.RestartWindow <= 0 {
		cfg.RestartWindow = time.Minute
	}
	if cfg.RestartThreshold <= 0 {
		cfg.RestartThreshold = 3
	}
	return &EventAnalyzer{cfg: cfg, ctrs: map[string]*ctrTrack{}}
}

// Observe takes the next event (in time order) and returns what it
// reveals; nil for most events.
func (a *EventAnalyzer) Observe(e container.Event) []Finding {
	if e.Type == EventTypeMinato && e.Action == ActionGap {
		return []Finding{{FindingGap, monitor.Warning, "events may have been lost since " + e.Attributes["since"] + ": " + e.Attributes["reason"]}}
	}
	if e.Type != "container" {
		return nil
	}
	tr := a.ctrs[e.ActorID]
	if tr == nil {
		tr = &ctrTrack{}
		a.ctrs[e.ActorID] = tr
	}
	within := func(t time.Time, d time.Duration) bool { return !t.IsZero() && !e.Time.Before(t) && e.Time.Sub(t) <= d }
	action, detail, _ := strings.Cut(e.Action, ": ")
	switch action {
	case "destroy":
		delete(a.ctrs, e.ActorID)
	case "kill":
		tr.lastKill, tr.killSignal = e.Time, e.Attributes["signal"]
	case "oom":
		tr.lastOOM = e.Time
		return []Finding{{FindingOOM, monitor.Critical, "out of memory: the kernel OOM killer killed a process in the container"}}
	case "die":
		tr.lastDie = e.Time
		code := e.Attributes["exitCode"]
		oom := e.Attributes["oomKilled"] == "true" || within(tr.lastOOM, a.cfg.RestartWindow)
		switch {
		case oom:
			return []Finding{{FindingOOM, monitor.Critical, "died with exit code " + code + ", OOM killed"}}
		case within(tr.lastKill, killWindow):
			msg := "stopped on request, exit code " + code
			if tr.killSignal != "" {
				msg = "stopped on request (signal " + tr.killSignal + "), exit code " + code
			}
			return []Finding{{FindingDied, monitor.OK, msg}}
		case code != "" && code != "0":
			return []Finding{{FindingDied, monitor.Critical, "died with exit code " + code}}
		}
		return []Finding{{FindingDied, monitor.OK, "exited with code 0"}}
	case "start":
		if !within(tr.lastDie, a.cfg.RestartWindow) {
			return nil
		}
		tr.restarts = append(tr.restarts, e.Time)
		keep := tr.restarts[:0]
		for _, t := range tr.restarts {
			if within(t, a.cfg.RestartWindow) {
				keep = append(keep, t)
			}
		}
		tr.restarts = keep
		if n := len(keep); n >= a.cfg.RestartThreshold {
			return []Finding{{FindingRestartLoop, monitor.Critical, fmt.Sprintf("restart loop: %d restarts in %s", n, fmtWindow(a.cfg.RestartWindow))}}
		}
	case "health_status":
		prev := tr.health
		tr.health = detail
		if prev == "" {
			prev = "unknown"
		}
		st := monitor.OK
		if detail == "unhealthy" {
			st = monitor.Warning
		}
		return []Finding{{FindingHealth, st, "health: " + prev + " → " + detail}}
	}
	return nil
}

func fmtWindow(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.Itoa(int(d/time.Second)) + "s"
	}
	return d.String()
}

// EventStatus is the verdict for an event on its own: a die with a
// non-zero exit code and an oom are Critical, an unhealthy health status
// and a pause Warning, a gap Warning, a reconcile the state's
// ([StateStatus]), everything else OK.
func EventStatus(e container.Event) monitor.Status {
	switch e.Type {
	case EventTypeMinato:
		switch e.Action {
		case ActionGap:
			return monitor.Warning
		case ActionReconcile:
			if st, ok := StateStatus[container.State(e.Attributes["state"])]; ok {
				return st
			}
			return monitor.Unknown
		}
	case "container":
		switch {
		case e.Action == "oom":
			return monitor.Critical
		case e.Action == "die":
			if c := e.Attributes["exitCode"]; c != "" && c != "0" {
				return monitor.Critical
			}
		case e.Action == "health_status: unhealthy", e.Action == "pause":
			return monitor.Warning
		}
	}
	return monitor.OK
}

// EventTarget returns what e is about: the container (container and
// reconcile events), the image, else the engine.
func EventTarget(e container.Event, engine string) inventory.Target {
	switch {
	case e.Type == "container" || e.Type == EventTypeMinato && e.Action == ActionReconcile:
		return inventory.Target{Kind: inventory.KindContainer, ID: e.ActorID, Name: e.Attributes["name"], Engine: engine}
	case e.Type == "image":
		return inventory.Target{Kind: inventory.KindImage, ID: e.ActorID, Name: e.Attributes["name"], Engine: engine}
	}
	return inventory.Target{Kind: inventory.KindHost, ID: engine, Name: engine, Engine: engine}
}

// EventWatcher is a [monitor.Watcher] over an [EventStream]: one Result
// per event, its Status the worst of [EventStatus] and the
// [EventAnalyzer]'s findings (whose messages it carries).
//
// It is also a [monitor.Monitor] and a [monitor.Describer], so that it can
// be the Monitor of a watched [monitor.Check] (Interval 0): the Runner runs
// Watch, restarts it when it fails, judges each Result with the Check's
// thresholds and damping per container, and reports the Transitions. Its
// Check is never called there and returns an error wrapping
// monitor.ErrNotSupported. Run one Watch at a time: the analyzer it feeds
// is not safe for concurrent use.
type EventWatcher struct {
	s *EventStream
	a *EventAnalyzer
	// InspectOnDie reads State.OOMKilled of a container that died with a
	// non-zero code and no oom event, to tell an OOM kill (default true).
	InspectOnDie bool
}

var (
	_ monitor.Watcher   = (*EventWatcher)(nil)
	_ monitor.Monitor   = (*EventWatcher)(nil)
	_ monitor.Describer = (*EventWatcher)(nil)
)

// errWatched is what EventWatcher.Check returns.
var errWatched = fmt.Errorf("%w: events are watched, not polled", monitor.ErrNotSupported)

// Check returns an error wrapping monitor.ErrNotSupported ("events are
// watched, not polled"): events arrive through Watch.
func (w *EventWatcher) Check(context.Context, inventory.Target) (monitor.Result, error) {
	return monitor.Result{}, errWatched
}

// Describe lists the samples Watch's Results carry.
func (w *EventWatcher) Describe() []monitor.SampleDesc {
	return []monitor.SampleDesc{
		{Name: "container_exit_code", Kind: monitor.Gauge, Help: "Exit code of a container that died, from its die event."},
		{Name: "container_oom_killed", Kind: monitor.Gauge, Help: "1 when a container that died was killed for running out of memory (State.OOMKilled)."},
	}
}

// NewEventWatcher returns the watcher of s's events.
func NewEventWatcher(s *EventStream, cfg AnalyzerConfig) *EventWatcher {
	return &EventWatcher{s: s, a: NewEventAnalyzer(cfg), InspectOnDie: true}
}

// Watch follows the events until ctx ends ([EventStream.Follow]).
//
// A death is reported as soon as its event arrives. When it had a non-zero
// exit code and no oom event came before it, the container is inspected
// afterwards, off the stream (Engine 20.10 answers an inspect of a dying
// container only after its cleanup, 50-150 ms later), and an OOM kill found
// there is reported as a second Result. emit is never called concurrently.
func (w *EventWatcher) Watch(ctx context.Context, emit func(inventory.Target, monitor.Result)) error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	defer wg.Wait()
	send := func(t inventory.Target, r monitor.Result) {
		mu.Lock()
		defer mu.Unlock()
		emit(t, r)
	}
	return w.s.Follow(ctx, func(e container.Event) error {
		t, r := w.Result(e)
		send(t, r)
		if w.InspectOnDie && e.Type == "container" && e.Action == "die" && e.Attributes["exitCode"] != "0" && !strings.Contains(r.Message, "OOM") {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ins, err := w.s.c.Inspect(ctx, e.ActorID, container.InspectOptions{})
				if err != nil || !ins.OOMKilled {
					return
				}
				now := time.Now()
				send(t, monitor.Result{Time: now, Status: monitor.Critical,
					Message: "container die: OOM-killed (State.OOMKilled, exit code " + e.Attributes["exitCode"] + ")",
					Samples: []monitor.Sample{{Name: "container_oom_killed", Value: 1, Time: now, Mode: monitor.ModeAPI}}})
			}()
		}
		return nil
	})
}

// Result judges e (feeding the analyzer) and returns its target and
// Result.
func (w *EventWatcher) Result(e container.Event) (inventory.Target, monitor.Result) {
	fs := w.a.Observe(e)
	st := EventStatus(e)
	var msgs []string
	if len(fs) > 0 {
		st = fs[0].Status
		for _, f := range fs {
			st = monitor.Worst(st, f.Status)
			msgs = append(msgs, f.Message)
		}
	}
	msg := e.Type + " " + e.Action
	if len(msgs) > 0 {
		msg += ": " + strings.Join(msgs, "; ")
	}
	r := monitor.Result{Time: e.Time, Status: st, Message: msg}
	if c, err := strconv.Atoi(e.Attributes["exitCode"]); err == nil && e.Action == "die" {
		r.Samples = append(r.Samples, monitor.Sample{Name: "container_exit_code", Value: float64(c), Time: e.Time, Mode: monitor.ModeAPI})
	}
	return EventTarget(e, w.s.c.Host()), r
}
