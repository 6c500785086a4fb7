package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minato-ops/minato/container"
)

// ErrUnknownApp is wrapped by [Reconciler.Scale] for an application this
// Reconciler has not applied (it needs the declaration to create replicas).
var ErrUnknownApp = errors.New("app: application not applied by this reconciler")

// GateFunc decides whether a new replica (container id) is fit to replace
// the old one. It blocks until it knows: it returns a short description of
// why it passed ("healthy", "running for 5s"), or an error saying why not.
// ctx carries the update's deadline (Update.Timeout); the gate must return
// when it is done.
type GateFunc func(ctx context.Context, id string) (string, error)

// EventKind names an application transition.
type EventKind string

// The transitions a Reconciler reports.
const (
	// EventDegraded: replicas were found missing, stopped or dead.
	EventDegraded EventKind = "degraded"
	// EventReplaced: a missing, stopped or dead replica was put back.
	EventReplaced EventKind = "replica_replaced"
	// EventRecovered: after a degraded one, every replica is as declared.
	EventRecovered EventKind = "recovered"
	// EventRolledBack: an update's gate failed and the old replica was
	// restored.
	EventRolledBack EventKind = "rolled_back"
	// EventFailed: an apply of the application failed (Reason says why).
	EventFailed EventKind = "failed"
)

// Event is one transition of an application.
type Event struct {
	// Time is when it was seen.
	Time time.Time `json:"time"`
	// App is the application; Kind what happened.
	App  string    `json:"app"`
	Kind EventKind `json:"kind"`
	// Replica and Container name the replica concerned (0 and "" for the
	// application as a whole).
	Replica   int    `json:"replica,omitempty"`
	Container string `json:"container,omitempty"`
	// Reason says why, in words.
	Reason string `json:"reason,omitempty"`
}

// Option configures optional collaborators of a Reconciler.
type Option func(*Reconciler)

// WithLogger sets the logger (debug traces of actions); the default
// discards everything. Environment values are never logged.
func WithLogger(l *slog.Logger) Option { return func(r *Reconciler) { r.log = l } }

// WithGate replaces the built-in gate (healthy when the replica has a
// health check, else running without restart for Update.StableFor).
func WithGate(g GateFunc) Option { return func(r *Reconciler) { r.gate = g } }

// WithTransitions has fn called, synchronously and in order, with every
// transition. fn must not block for long nor call the Reconciler.
func WithTransitions(fn func(Event)) Option { return func(r *Reconciler) { r.onEvent = fn } }

// WithResyncInterval sets how often [Reconciler.Run] makes a full pass
// besides reacting to events; the default is 30 s.
func WithResyncInterval(d time.Duration) Option { return func(r *Reconciler) { r.resync = d } }

// WithDebounce sets how long [Reconciler.Run] waits after an engine event
// for more before it re-applies the application; the default is 200 ms.
func WithDebounce(d time.Duration) Option { return func(r *Reconciler) { r.debounce = d } }

// WithLabels scopes the Reconciler: labels are set on everything it
// creates, and it sees (plans, prunes, deletes, reports) only containers,
// networks and volumes that carry all of them. Use it to run independent
// reconcilers on one engine.
func WithLabels(labels map[string]string) Option {
	return func(r *Reconciler) { r.scope = maps.Clone(labels) }
}

// Reconciler keeps declared applications converged on one engine. It is
// safe for concurrent use; applies are serialised (one at a time).
type Reconciler struct {
	c       *container.Client
	log     *slog.Logger
	gate    GateFunc
	onEvent func(Event)
	// emitMu keeps onEvent calls one at a time; resMu the creation of
	// networks and volumes, which applications may share.
	emitMu   sync.Mutex
	resMu    sync.Mutex
	resync   time.Duration
	debounce time.Duration
	scope    map[string]string

	applyMu sync.Mutex // one apply at a time

	mu    sync.Mutex
	specs map[string]Spec      // last applied declarations
	state map[string]*appState // per application
}

type appState struct {
	applied  bool // applied once: later missing replicas are drift
	degraded bool
	lastErr  string
}

// New returns a Reconciler for the engine c talks to. It does not contact
// the engine.
func New(c *container.Client, opts ...Option) (*Reconciler, error) {
	if c == nil {
		return nil, errors.New("app: New: nil container client")
	}
	r := &Reconciler{
		c: c, log: slog.New(slog.DiscardHandler), resync: 30 * time.Second, debounce: 200 * time.Millisecond,
		specs: map[string]Spec{}, state: map[string]*appState{},
	}
	for _, o := range opts {
		o(r)
	}
	if r.resync <= 0 {
		return nil, fmt.Errorf("app: resync interval %v: want more than 0", r.resync)
	}
	if r.debounce < 0 {
		return nil, fmt.Errorf("app: debounce %v: want 0 or more", r.debounce)
	}
	for k := range r.scope {
		if strings.HasPrefix(k, LabelApp) {
			return nil, fmt.Errorf("app: WithLabels: key %q: keys starting with %q are set by minato", k, LabelApp)
		}
	}
	return r, nil
}

// ApplyOptions tunes [Reconciler.Apply].
type ApplyOptions struct {
	// Prune deletes (in cascade, as [Reconciler.Delete]) the applications
	// found on the engine that are not in specs.
	Prune bool
	// DryRun computes the plan and changes nothing.
	DryRun bool
}

// ApplyResult says what an apply did. Container names are "<app>-<n>".
type ApplyResult struct {
	// Plan is what was planned (all of it, also for a dry run).
	Plan Plan `json:"plan"`
	// Created, Recreated, Started and Removed list the containers acted on
	// successfully.
	Created   []string `json:"created,omitempty"`
	Recreated []string `json:"recreated,omitempty"`
	Started   []string `json:"started,omitempty"`
	Removed   []string `json:"removed,omitempty"`
	// RolledBack lists replicas whose update failed its gate and that run
	// their old container again.
	RolledBack []string `json:"rolled_back,omitempty"`
	// Pruned lists the applications deleted by Prune.
	Pruned []string `json:"pruned,omitempty"`
}

func (r *Reconciler) appLabels() map[string]string {
	l := maps.Clone(r.scope)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelApp] = ""
	return l
}

// Apply makes the engine match specs: it validates them (an invalid set
// changes nothing and returns the validation error), re-reads their env
// files, plans ([NewPlan]) and carries the plan out application by
// application: leftovers and extra replicas are removed (highest index
// first), stopped replicas started, missing ones created (with their
// networks and volumes) and started, changed ones recreated Update.Batch at
// a time, each batch gated within Update.Timeout and rolled back when the
// gate fails (then later batches are not attempted). When nothing differs
// it makes no write call to the engine. Specs with Backend "swarm" are
// refused: [ApplySwarm] runs them.
//
// The result holds what was done even when err is not nil; err joins the
// failures of every application (a rolled-back update is one).
func (r *Reconciler) Apply(ctx context.Context, specs []Spec, o ApplyOptions) (ApplyResult, error) {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	return r.apply(ctx, specs, o)
}

func (r *Reconciler) apply(ctx context.Context, specs []Spec, o ApplyOptions) (ApplyResult, error) {
	if err := (File{Apps: specs}).Validate(); err != nil {
		return ApplyResult{}, fmt.Errorf("app: apply: %w", err)
	}
	specs = slices.Clone(specs)
	var errs []error
	for i := range specs {
		s := &specs[i]
		if s.Backend == "swarm" {
			errs = append(errs, fmt.Errorf("app %s: backend swarm: the engine reconciler does not run Swarm services (ApplySwarm does, on a Swarm manager)", s.Name))
			continue
		}
		if len(s.EnvFiles) > 0 {
			if err := s.LoadEnvFiles(""); err != nil {
				errs = append(errs, fmt.Errorf("app %s: %w", s.Name, err))
			}
		}
		*s = s.WithDefaults()
	}
	if len(errs) > 0 {
		return ApplyResult{}, errors.Join(errs...)
	}
	list, err := r.c.List(ctx, container.ListOptions{All: true, Labels: r.appLabels()})
	if err != nil {
		return ApplyResult{}, fmt.Errorf("app: apply: %w", err)
	}
	res := ApplyResult{Plan: NewPlan(specs, list.Containers, PlanOptions{Prune: o.Prune})}
	if o.DryRun {
		return res, nil
	}
	r.mu.Lock()
	for _, s := range specs {
		r.specs[s.Name] = s
	}
	r.mu.Unlock()
	byName := map[string]*Spec{}
	for i := range specs {
		byName[specs[i].Name] = &specs[i]
	}
	for _, ap := range res.Plan.Apps {
		if !ap.Declared {
			if _, err := r.delete(ctx, ap.App); err != nil {
				errs = append(errs, err)
			} else {
				res.Pruned = append(res.Pruned, ap.App)
			}
		}
	}
	// The declared applications are independent of each other: they are
	// carried out applyConcurrency at a time (as docker compose starts
	// services in parallel), each into a result of its own, merged in plan
	// order afterwards.
	type appRun struct {
		res ApplyResult
		err error
	}
	runs := make([]appRun, len(res.Plan.Apps))
	sem := make(chan struct{}, applyConcurrency)
	var wg sync.WaitGroup
	for i, ap := range res.Plan.Apps {
		if !ap.Declared {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			err := r.applyApp(ctx, byName[ap.App], ap, &runs[i].res)
			runs[i].err = err
			r.mu.Lock()
			st := r.stateOf(ap.App)
			st.applied = true
			if err != nil {
				st.lastErr = err.Error()
			} else {
				st.lastErr = ""
			}
			r.mu.Unlock()
			if err != nil {
				r.emit(Event{App: ap.App, Kind: EventFailed, Reason: err.Error()})
			}
		})
	}
	wg.Wait()
	for _, run := range runs {
		res.Created = append(res.Created, run.res.Created...)
		res.Recreated = append(res.Recreated, run.res.Recreated...)
		res.Started = append(res.Started, run.res.Started...)
		res.Removed = append(res.Removed, run.res.Removed...)
		res.RolledBack = append(res.RolledBack, run.res.RolledBack...)
		if run.err != nil {
			errs = append(errs, run.err)
		}
	}
	return res, errors.Join(errs...)
}

// applyConcurrency bounds the applications an Apply carries out at once;
// replicaConcurrency the replicas of one application created or started
// at once.
const (
	applyConcurrency   = 8
	replicaConcurrency = 4
)

// stateOf returns the app's state; r.mu must be held.
func (r *Reconciler) stateOf(app string) *appState {
	st := r.state[app]
	if st == nil {
		st = &appState{}
		r.state[app] = st
	}
	return st
}

// emit calls the transitions callback, one event at a time (applications
// are applied concurrently; the callback never is).
func (r *Reconciler) emit(e Event) {
	if r.onEvent == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	r.onEvent(e)
}

// applyApp carries out one application's plan.
func (r *Reconciler) applyApp(ctx context.Context, s *Spec, ap AppPlan, res *ApplyResult) error {
	if !ap.Changed() {
		r.mu.Lock()
		st := r.stateOf(s.Name)
		was := st.degraded
		st.degraded = false
		r.mu.Unlock()
		if was {
			r.emit(Event{App: s.Name, Kind: EventRecovered, Reason: "every replica as declared"})
		}
		return nil
	}
	r.mu.Lock()
	st := r.stateOf(s.Name)
	drift := st.applied
	r.mu.Unlock()
	var repairs []string
	for _, step := range ap.Steps {
		if step.Action == ActionCreate || step.Action == ActionStart || (step.Action == ActionRecreate && len(step.Changes) == 0) {
			repairs = append(repairs, step.Container+" "+step.Reason)
		}
	}
	if drift && len(repairs) > 0 {
		r.mu.Lock()
		st.degraded = true
		r.mu.Unlock()
		r.emit(Event{App: s.Name, Kind: EventDegraded, Reason: strings.Join(repairs, "; ")})
	}
	var errs []error
	needRes := slices.ContainsFunc(ap.Steps, func(st Step) bool { return st.Action == ActionCreate || st.Action == ActionRecreate })
	if needRes {
		r.resMu.Lock()
		err := r.ensureResources(ctx, s)
		r.resMu.Unlock()
		if err != nil {
			return fmt.Errorf("app %s: %w", s.Name, err)
		}
	}
	for _, step := range ap.Steps {
		if step.Action != ActionRemove {
			continue
		}
		if _, err := r.c.Remove(ctx, step.ID, container.RemoveOptions{Force: true, Volumes: true}); err != nil && !container.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("app %s: remove %s: %w", s.Name, step.Container, err))
			continue
		}
		res.Removed = append(res.Removed, step.Container)
	}
	// Missing replicas are created and stopped ones started a few at a
	// time: they are independent, and the engine's create and start calls
	// are mostly waiting.
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, replicaConcurrency)
	for _, step := range ap.Steps {
		if step.Action != ActionStart && step.Action != ActionCreate {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var err error
			if step.Action == ActionStart {
				_, err = r.c.Start(ctx, step.ID, container.StartOptions{})
			} else {
				_, err = r.createReplica(ctx, s, step.Replica)
			}
			mu.Lock()
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("app %s: %s %s: %w", s.Name, step.Action, step.Container, err))
			case step.Action == ActionStart:
				res.Started = append(res.Started, step.Container)
			default:
				res.Created = append(res.Created, step.Container)
			}
			mu.Unlock()
			if err == nil && drift {
				r.emit(Event{App: s.Name, Kind: EventReplaced, Replica: step.Replica, Container: step.Container, Reason: string(step.Action) + ": " + step.Reason})
			}
		})
	}
	wg.Wait()
	slices.Sort(res.Started)
	slices.Sort(res.Created)
	var recreate []Step
	for _, step := range ap.Steps {
		if step.Action == ActionRecreate {
			recreate = append(recreate, step)
		}
	}
	for b := 0; b < len(recreate); b += s.Update.Batch {
		batch := recreate[b:min(b+s.Update.Batch, len(recreate))]
		done, err := r.updateBatch(ctx, s, batch, res)
		res.Recreated = append(res.Recreated, done...)
		if err != nil {
			errs = append(errs, err)
			break
		}
	}
	if len(errs) == 0 {
		r.mu.Lock()
		was := st.degraded
		st.degraded = false
		r.mu.Unlock()
		if was {
			r.emit(Event{App: s.Name, Kind: EventRecovered, Reason: "every replica as declared"})
		}
	}
	return errors.Join(errs...)
}

// ensureResources creates the app's missing networks and owned volumes.
func (r *Reconciler) ensureResources(ctx context.Context, s *Spec) error {
	labels := r.ownLabels(s.Name)
	if len(s.Networks) > 0 {
		have, err := r.c.Networks(ctx, nil)
		if err != nil {
			return err
		}
		for _, n := range s.Networks {
			if slices.ContainsFunc(have, func(o container.NamedObject) bool { return o.Name == n || o.ID == n }) {
				continue
			}
			if _, err := r.c.CreateNetwork(ctx, container.CreateNetworkOptions{Name: n, Labels: labels}); err != nil && !container.IsConflict(err) {
				return err
			}
		}
	}
	for _, v := range s.Volumes {
		if err := r.c.CreateVolume(ctx, v, labels); err != nil {
			return err
		}
	}
	return nil
}

func (r *Reconciler) ownLabels(app string) map[string]string {
	l := maps.Clone(r.scope)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelApp] = app
	return l
}

// createReplica creates and starts replica i under its name.
func (r *Reconciler) createReplica(ctx context.Context, s *Spec, i int) (string, error) {
	o := r.createOptions(s, i)
	res, err := r.c.CreateSpec(ctx, o)
	if err != nil {
		return "", err
	}
	if _, err := r.c.Start(ctx, res.ID, container.StartOptions{}); err != nil {
		_, _ = r.c.Remove(context.WithoutCancel(ctx), res.ID, container.RemoveOptions{Force: true, Volumes: true})
		return "", err
	}
	r.log.DebugContext(ctx, "replica created", "app", s.Name, "replica", i, "container", res.ID)
	return res.ID, nil
}

func (r *Reconciler) createOptions(s *Spec, i int) container.CreateSpecOptions {
	labels := maps.Clone(s.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, r.scope)
	maps.Copy(labels, s.meteringLabels())
	labels[LabelApp] = s.Name
	labels[LabelReplica] = strconv.Itoa(i)
	labels[LabelSpec] = s.Hash()
	labels[LabelConfig] = s.recordLabel()
	env := s.Environment()
	envList := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		envList = append(envList, k+"="+env[k])
	}
	o := container.CreateSpecOptions{
		CreateOptions: container.CreateOptions{
			Name: ReplicaName(s.Name, i), Image: s.Image, Cmd: s.Command, Entrypoint: s.Entrypoint,
			Env: envList, Labels: labels, NanoCPUs: int64(s.Resources.CPUs * 1e9),
		},
		Networks: s.Networks,
	}
	if s.Resources.Memory != "" {
		o.Memory, _ = ParseSize(s.Resources.Memory)
	}
	for _, p := range s.Ports {
		m, _ := ParsePort(p)
		o.Ports = append(o.Ports, container.PortSpec{HostIP: m.HostIP, HostPort: m.ForReplica(i), ContainerPort: m.ContainerPort, Protocol: m.Protocol})
	}
	for _, m := range s.Mounts {
		o.Mounts = append(o.Mounts, container.MountSpec{Type: m.Type, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	o.RestartPolicy, o.MaxRetries, _ = parseRestart(s.Restart)
	if h := s.Healthcheck; h != nil {
		o.Health = &container.HealthSpec{Test: h.test(), Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
	return o
}

// swapped is one replica of a batch being updated.
type swapped struct {
	step    Step
	prev    string // previous container's ID (renamed to name+PrevSuffix)
	running bool   // the previous container ran before the update
	newID   string
}

// updateBatch replaces the batch's replicas, gates them and rolls the
// whole batch back when one fails. It returns the replicas replaced.
func (r *Reconciler) updateBatch(ctx context.Context, s *Spec, batch []Step, res *ApplyResult) ([]string, error) {
	var (
		sw   []*swapped
		errs []error
	)
	for _, step := range batch {
		x := &swapped{step: step, prev: step.ID}
		if in, err := r.c.Inspect(ctx, step.ID, container.InspectOptions{}); err == nil {
			x.running = in.State == container.Running || in.State == container.Restarting
		}
		name := ReplicaName(s.Name, step.Replica)
		if s.Update.Order != "start-first" && x.running {
			if _, err := r.c.Stop(ctx, step.ID, container.StopOptions{}); err != nil && !container.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("stop %s: %w", step.Container, err))
				break
			}
		}
		if err := r.c.Rename(ctx, step.ID, name+PrevSuffix); err != nil {
			errs = append(errs, fmt.Errorf("rename %s: %w", step.Container, err))
			r.restore(ctx, x, name)
			break
		}
		id, err := r.createReplica(ctx, s, step.Replica)
		if err != nil {
			errs = append(errs, fmt.Errorf("create %s: %w", name, err))
			r.restore(ctx, x, name)
			break
		}
		x.newID = id
		sw = append(sw, x)
	}
	if len(errs) == 0 {
		gctx, cancel := context.WithTimeout(ctx, s.Update.Timeout)
		gate := r.gate
		if gate == nil {
			gate = r.defaultGate(s.Update.StableFor)
		}
		var wg sync.WaitGroup
		gerrs := make([]error, len(sw))
		for i, x := range sw {
			wg.Add(1)
			go func() {
				defer wg.Done()
				why, err := gate(gctx, x.newID)
				if err != nil {
					gerrs[i] = fmt.Errorf("%s: gate failed: %w", ReplicaName(s.Name, x.step.Replica), err)
				} else {
					r.log.DebugContext(ctx, "gate passed", "app", s.Name, "replica", x.step.Replica, "why", why)
				}
			}()
		}
		wg.Wait()
		cancel()
		errs = append(errs, gerrs...)
	}
	if err := errors.Join(errs...); err != nil {
		for _, x := range sw {
			name := ReplicaName(s.Name, x.step.Replica)
			if _, rerr := r.c.Remove(context.WithoutCancel(ctx), x.newID, container.RemoveOptions{Force: true, Volumes: true}); rerr != nil && !container.IsNotFound(rerr) {
				err = errors.Join(err, fmt.Errorf("rollback: remove new %s: %w", name, rerr))
			}
			r.restore(ctx, x, name)
			res.RolledBack = append(res.RolledBack, name)
			r.emit(Event{App: s.Name, Kind: EventRolledBack, Replica: x.step.Replica, Container: name, Reason: err.Error()})
		}
		return nil, fmt.Errorf("app %s: update rolled back: %w", s.Name, err)
	}
	var done []string
	for _, x := range sw {
		if _, err := r.c.Remove(ctx, x.prev, container.RemoveOptions{Force: true, Volumes: true}); err != nil && !container.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove previous %s: %w", x.step.Container, err))
		}
		done = append(done, ReplicaName(s.Name, x.step.Replica))
	}
	if err := errors.Join(errs...); err != nil {
		return done, fmt.Errorf("app %s: %w", s.Name, err)
	}
	return done, nil
}

// restore gives the previous container its name back and starts it if it
// ran before. Failures are logged: the next apply repairs what is left.
func (r *Reconciler) restore(ctx context.Context, x *swapped, name string) {
	ctx = context.WithoutCancel(ctx)
	if err := r.c.Rename(ctx, x.prev, name); err != nil && !container.IsConflict(err) {
		r.log.WarnContext(ctx, "rollback: rename back failed", "container", name, "err", err)
	}
	if x.running {
		if _, err := r.c.Start(ctx, x.prev, container.StartOptions{}); err != nil {
			r.log.WarnContext(ctx, "rollback: start failed", "container", name, "err", err)
		}
	}
}

// gatePoll is how often the built-in gate inspects.
const gatePoll = 200 * time.Millisecond

// defaultGate passes a replica that is healthy (with a health check) or
// has been running for stableFor without restarting (without one).
func (r *Reconciler) defaultGate(stableFor time.Duration) GateFunc {
	return func(ctx context.Context, id string) (string, error) {
		last := "not inspected yet"
		t := time.NewTicker(gatePoll)
		defer t.Stop()
		for {
			in, err := r.c.Inspect(ctx, id, container.InspectOptions{})
			switch {
			case err != nil && ctx.Err() == nil:
				return "", err
			case err != nil:
			case in.State == container.Exited || in.State == container.Dead:
				return "", fmt.Errorf("container %s (exit code %d)", in.State, in.ExitCode)
			case in.Health == "healthy":
				return "healthy", nil
			case in.Health == "unhealthy":
				return "", errors.New("health check says unhealthy")
			case in.Health != "":
				last = "health " + in.Health
			case in.State != container.Running:
				last = "state " + string(in.State)
			default:
				up := time.Since(in.StartedAt)
				if up >= stableFor {
					return "running for " + up.Round(time.Second).String(), nil
				}
				last = "running for " + up.Round(100*time.Millisecond).String()
			}
			select {
			case <-ctx.Done():
				return "", fmt.Errorf("not ready before the update timeout (%s): %w", last, ctx.Err())
			case <-t.C:
			}
		}
	}
}

// Scale sets the replica count of an application applied earlier and
// applies it. An application this Reconciler has not applied is an error
// wrapping [ErrUnknownApp].
func (r *Reconciler) Scale(ctx context.Context, name string, n int) (ApplyResult, error) {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	r.mu.Lock()
	s, ok := r.specs[name]
	r.mu.Unlock()
	if !ok {
		return ApplyResult{}, fmt.Errorf("app %s: scale: %w (apply its declaration first)", name, ErrUnknownApp)
	}
	if n < 0 || n > 9999 {
		return ApplyResult{}, fmt.Errorf("app %s: scale to %d: want 0 to 9999 replicas", name, n)
	}
	s.Replicas = &n
	return r.apply(ctx, []Spec{s}, ApplyOptions{})
}

// DeleteResult says what [Reconciler.Delete] removed.
type DeleteResult struct {
	// Containers, Networks and Volumes are the names removed.
	Containers []string `json:"containers,omitempty"`
	Networks   []string `json:"networks,omitempty"`
	Volumes    []string `json:"volumes,omitempty"`
}

// Delete removes the application in cascade: every container labelled
// with it (force, with anonymous volumes), then the networks and volumes
// it created (labelled with it), and forgets its declaration. Deleting an
// application that has nothing on the engine is not an error. A network
// another container still uses is an error (the rest is still removed).
func (r *Reconciler) Delete(ctx context.Context, name string) (DeleteResult, error) {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	return r.delete(ctx, name)
}

func (r *Reconciler) delete(ctx context.Context, name string) (DeleteResult, error) {
	if err := ValidateName(name); err != nil {
		return DeleteResult{}, fmt.Errorf("app: delete: name: %w", err)
	}
	r.mu.Lock()
	delete(r.specs, name)
	delete(r.state, name)
	r.mu.Unlock()
	labels := r.ownLabels(name)
	var res DeleteResult
	list, err := r.c.List(ctx, container.ListOptions{All: true, Labels: labels})
	if err != nil {
		return res, fmt.Errorf("app %s: delete: %w", name, err)
	}
	var errs []error
	cs := list.Containers
	sortReplicas(cs)
	for _, c := range slices.Backward(cs) {
		if _, err := r.c.Remove(ctx, c.ID, container.RemoveOptions{Force: true, Volumes: true}); err != nil && !container.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		res.Containers = append(res.Containers, c.Name)
	}
	nets, err := r.c.Networks(ctx, labels)
	if err != nil {
		errs = append(errs, err)
	}
	for _, n := range nets {
		if err := r.c.RemoveNetwork(ctx, n.ID); err != nil && !container.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		res.Networks = append(res.Networks, n.Name)
	}
	vols, err := r.c.Volumes(ctx, labels)
	if err != nil {
		errs = append(errs, err)
	}
	for _, v := range vols {
		if err := r.c.RemoveVolume(ctx, v.Name); err != nil && !container.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		res.Volumes = append(res.Volumes, v.Name)
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("app %s: delete: %w", name, errors.Join(errs...))
	}
	return res, nil
}

// ReplicaStatus is one container of an application.
type ReplicaStatus struct {
	// Replica is the index; Container and ID name the container.
	Replica   int    `json:"replica"`
	Container string `json:"container"`
	ID        string `json:"id"`
	// State is the container's state; Health "healthy", "unhealthy",
	// "starting" or "" (no health check).
	State  container.State `json:"state"`
	Health string          `json:"health,omitempty"`
	// Status is the engine's status text ("Up 3 minutes (healthy)").
	Status string `json:"status"`
	// Current says the container runs the declared spec (its hash label
	// matches); false for an undeclared application.
	Current bool `json:"current"`
}

// AppStatus is one application's state on the engine.
type AppStatus struct {
	// App is the application; Declared says this Reconciler knows its
	// declaration.
	App      string `json:"app"`
	Declared bool   `json:"declared"`
	// Desired is the declared replica count (0 when not declared);
	// Running counts running replicas, Healthy those of them that are
	// healthy or have no health check.
	Desired int `json:"desired"`
	Running int `json:"running"`
	Healthy int `json:"healthy"`
	// Replicas are by index.
	Replicas []ReplicaStatus `json:"replicas"`
	// LastError is the last apply's error for this application, "" when
	// it succeeded.
	LastError string `json:"last_error,omitempty"`
}

// Converged reports whether Desired replicas run the declared spec and
// are healthy (or have no health check).
func (a AppStatus) Converged() bool {
	cur := 0
	for _, r := range a.Replicas {
		if r.Current && r.State == container.Running {
			cur++
		}
	}
	return a.Declared && a.Desired == len(a.Replicas) && cur == a.Desired && a.Healthy == a.Desired
}

// Status reports every application declared to this Reconciler and every
// one found on the engine (within its WithLabels scope), by name.
func (r *Reconciler) Status(ctx context.Context) ([]AppStatus, error) {
	list, err := r.c.List(ctx, container.ListOptions{All: true, Labels: r.appLabels()})
	if err != nil {
		return nil, fmt.Errorf("app: status: %w", err)
	}
	r.mu.Lock()
	specs := maps.Clone(r.specs)
	lastErr := map[string]string{}
	for k, v := range r.state {
		lastErr[k] = v.lastErr
	}
	r.mu.Unlock()
	byApp := map[string]*AppStatus{}
	for name, s := range specs {
		byApp[name] = &AppStatus{App: name, Declared: true, Desired: s.ReplicaCount(), LastError: lastErr[name]}
	}
	for _, c := range list.Containers {
		name := c.Labels[LabelApp]
		a := byApp[name]
		if a == nil {
			a = &AppStatus{App: name}
			byApp[name] = a
		}
		rs := ReplicaStatus{Replica: replicaOf(c), Container: c.Name, ID: c.ID, State: c.State, Health: healthOf(c.Status), Status: c.Status}
		if s, ok := specs[name]; ok {
			rs.Current = c.Labels[LabelSpec] == s.Hash()
		}
		a.Replicas = append(a.Replicas, rs)
		if c.State == container.Running {
			a.Running++
			if rs.Health == "" || rs.Health == "healthy" {
				a.Healthy++
			}
		}
	}
	out := make([]AppStatus, 0, len(byApp))
	for _, name := range slices.Sorted(maps.Keys(byApp)) {
		a := byApp[name]
		slices.SortFunc(a.Replicas, func(x, y ReplicaStatus) int {
			if x.Replica != y.Replica {
				return x.Replica - y.Replica
			}
			return strings.Compare(x.Container, y.Container)
		})
		out = append(out, *a)
	}
	return out, nil
}

// healthOf reads the health from docker ps's status text.
func healthOf(status string) string {
	switch {
	case strings.Contains(status, "(healthy)"):
		return "healthy"
	case strings.Contains(status, "(unhealthy)"):
		return "unhealthy"
	case strings.Contains(status, "(health: starting)"):
		return "starting"
	}
	return ""
}
