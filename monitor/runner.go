package monitor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/minato-ops/minato/inventory"
)

// Runner defaults.
const (
	// DefaultMaxConcurrent is RunnerConfig.MaxConcurrent's default: as many
	// calls in flight as check_docker's default thread pool.
	DefaultMaxConcurrent = 10
	// DefaultCheckTimeout is RunnerConfig.DefaultTimeout's default, the
	// customary Monitoring Plugins runtime limit.
	DefaultCheckTimeout = 10 * time.Second
	// DefaultMaxWatchTargets is RunnerConfig.MaxWatchTargets' default.
	DefaultMaxWatchTargets = 10000
)

// RunnerConfig is the data part of a [Runner]'s settings.
type RunnerConfig struct {
	// MaxConcurrent bounds the Check and CheckAll calls in flight at once,
	// across all checks (one CheckAll call counts once). Zero means
	// DefaultMaxConcurrent (10).
	MaxConcurrent int `json:"max_concurrent,omitempty"`
	// DefaultTimeout is the per-call timeout of checks that set none: a
	// Check's timeout defaults to min(Interval, DefaultTimeout). It also
	// bounds how long Run waits for calls still running before it closes
	// the monitors. Zero means DefaultCheckTimeout (10 s).
	DefaultTimeout time.Duration `json:"default_timeout,omitempty"`
	// MaxWatchTargets bounds how many Targets a watched check keeps the
	// latest Evaluation and damping state of: beyond it the least
	// recently observed Target is forgotten (its next observation starts
	// afresh, from OK), so that a stream of short-lived containers cannot
	// grow memory without end. Zero means DefaultMaxWatchTargets (10 000).
	MaxWatchTargets int `json:"max_watch_targets,omitempty"`
}

// DefaultRunnerConfig returns the RunnerConfig with every default spelled
// out.
func DefaultRunnerConfig() RunnerConfig {
	return RunnerConfig{MaxConcurrent: DefaultMaxConcurrent, DefaultTimeout: DefaultCheckTimeout, MaxWatchTargets: DefaultMaxWatchTargets}
}

// Validate reports negative values; all problems are joined, each naming
// its json field.
func (c RunnerConfig) Validate() error {
	var errs []error
	if c.MaxConcurrent < 0 {
		errs = append(errs, fmt.Errorf("max_concurrent: %d: want 0 (default %d) or more", c.MaxConcurrent, DefaultMaxConcurrent))
	}
	if c.DefaultTimeout < 0 {
		errs = append(errs, fmt.Errorf("default_timeout: %s: want 0 (default %s) or a positive duration", c.DefaultTimeout, DefaultCheckTimeout))
	}
	if c.MaxWatchTargets < 0 {
		errs = append(errs, fmt.Errorf("max_watch_targets: %d: want 0 (default %d) or more", c.MaxWatchTargets, DefaultMaxWatchTargets))
	}
	return errors.Join(errs...)
}

func (c RunnerConfig) withDefaults() RunnerConfig {
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
	if c.DefaultTimeout == 0 {
		c.DefaultTimeout = DefaultCheckTimeout
	}
	if c.MaxWatchTargets == 0 {
		c.MaxWatchTargets = DefaultMaxWatchTargets
	}
	return c
}

// Option configures an optional collaborator of a [Runner].
type Option func(*runnerOptions)

type runnerOptions struct {
	log         *slog.Logger
	sinks       []Sink
	transitions []func(context.Context, Transition)
}

// WithLogger sets the logger; nil (the default) discards. The Runner logs
// rounds at Debug, and failing sinks and failed watches at Warn.
func WithLogger(l *slog.Logger) Option {
	return func(o *runnerOptions) { o.log = l }
}

// WithSink adds a Sink; repeat it for several. Sinks are written in the
// order they were given.
func WithSink(s Sink) Option {
	return func(o *runnerOptions) { o.sinks = append(o.sinks, s) }
}

// WithTransitions adds a callback for reported status changes; repeat it
// for several, called in the order given. A callback runs on the check's
// goroutine after the round's Sinks were written (for a watched check,
// within the Watcher's emit, after the observation was written): it is
// never called concurrently for one check, but may be for different
// checks, and it delays that check's next round (or observation), so slow
// work (a recovery job) belongs on its own goroutine. ctx is the one given
// to [Runner.Run].
func WithTransitions(f func(context.Context, Transition)) Option {
	return func(o *runnerOptions) { o.transitions = append(o.transitions, f) }
}

// Runner schedules Checks: it resolves their Targets, calls their Monitors
// with bounded concurrency and a timeout (or runs their Watch, for a
// [Watcher]), judges the Results with thresholds and damping, writes
// Evaluations to Sinks and reports Transitions. Create it with [NewRunner], [Runner.Add] the checks, then
// call [Runner.Run] once. Its methods are safe for concurrent use.
type Runner struct {
	cfg         RunnerConfig
	res         inventory.Resolver
	log         *slog.Logger
	sinks       []Sink
	transitions []func(context.Context, Transition)
	sem         chan struct{}

	mu      sync.Mutex
	checks  []*runCheck
	byName  map[string]*runCheck
	started bool
	latest  map[string][]Evaluation // by check name

	// sinks serialises Sink writes.
	sinkGate gate
}

// runCheck is a Check plus its scheduling state; dampers and known are
// owned by the check's goroutine in Run. watch is set for a watched check
// and used instead of dampers, known and Runner.latest.
type runCheck struct {
	Check
	timeout time.Duration
	dampers map[string]*Damper
	known   []inventory.Target
	watch   *watchState
}

// NewRunner returns a Runner that resolves Targets with res. It fails when
// cfg is invalid, res is nil or a nil Sink or callback was given.
func NewRunner(cfg RunnerConfig, res inventory.Resolver, opts ...Option) (*Runner, error) {
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if res == nil {
		errs = append(errs, errors.New("resolver: nil"))
	}
	var o runnerOptions
	for _, opt := range opts {
		opt(&o)
	}
	if slices.Contains(o.sinks, nil) {
		errs = append(errs, errors.New("WithSink: nil sink"))
	}
	if slices.ContainsFunc(o.transitions, func(f func(context.Context, Transition)) bool { return f == nil }) {
		errs = append(errs, errors.New("WithTransitions: nil callback"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("monitor: new runner: %w", err)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	return &Runner{
		cfg:         cfg,
		res:         res,
		log:         o.log,
		sinks:       o.sinks,
		transitions: o.transitions,
		sem:         make(chan struct{}, cfg.MaxConcurrent),
		byName:      map[string]*runCheck{},
		latest:      map[string][]Evaluation{},
		sinkGate:    newGate(),
	}, nil
}

// Add registers a Check. It fails when [Check.Validate] does, when the
// name is already taken, or once Run has started. The Runner keeps its own
// copy of c.Thresholds.
func (r *Runner) Add(c Check) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("monitor: check %q: %w", c.Name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return fmt.Errorf("monitor: check %q: cannot add checks once Run has started", c.Name)
	}
	if _, dup := r.byName[c.Name]; dup {
		return fmt.Errorf("monitor: check %q: name: already added; check names must be unique", c.Name)
	}
	c.Thresholds = slices.Clone(c.Thresholds)
	rc := &runCheck{Check: c, timeout: c.timeout(r.cfg.DefaultTimeout), dampers: map[string]*Damper{}}
	if c.watched() {
		rc.watch = newWatchState(r.cfg.MaxWatchTargets)
	}
	r.checks = append(r.checks, rc)
	r.byName[c.Name] = rc
	return nil
}

// Run runs every added Check until ctx is done, then returns nil.
//
// Each Check runs on its own schedule: the first round after StartDelay,
// then one round every Interval (a round that overruns the Interval is
// followed at once by the next, and missed rounds are dropped). A round
// resolves the Check's Targets, measures them (one CheckAll call for a
// [BatchMonitor], else one Check call per Target, all within
// MaxConcurrent and the Check's timeout), judges each Result with
// [EvaluateThresholds] and then the (check, Target) [Damper], writes the
// round's Evaluations to every Sink and calls the transition callbacks for
// reported status changes. A failed Resolve yields error Evaluations for
// the Targets last resolved (or one for the zero Target) and the Runner
// carries on. A call that outlives the timeout is reported Unknown ("timed
// out after ...") when the timeout expires, even if the Monitor ignores
// ctx. A round cut short by ctx is discarded. Damping state is dropped for
// Targets that are no longer resolved.
//
// A watched check (its Monitor is a [Watcher]) has no rounds: after
// StartDelay, Run calls Watch on a goroutine of its own. Each emitted
// Target that Targets matches, with its Result, is judged like a polled
// one ([EvaluateThresholds], then the (check, Target) Damper), kept as
// that Target's latest Evaluation (for at most MaxWatchTargets Targets,
// the least recently observed forgotten first), written to every Sink as
// a one-element slice, and reported as a Transition when the reported
// status changed. When Watch returns before ctx is done (with an error,
// or nil: the stream ended), Run logs the error at Warn, judges one
// Unknown Evaluation of the zero Target, "stream failed: <error>
// (restarting in 1s)", through that Target's Damper like any other, and
// restarts Watch after a delay of 1 s, doubling up to 30 s. A Watch that
// has then run for a minute resets the delay, and clears a reported
// failure with an OK Evaluation of the zero Target ("stream running
// again", not damped, a Transition if the failure had been reported),
// after which the zero Target is forgotten. A panic in Watch is a
// failure like an error. Watch calls do not count against MaxConcurrent.
//
// When ctx is done Run waits up to DefaultTimeout for calls (and Watch
// calls) still running, calls Close on every Monitor that implements
// io.Closer (each once; errors are logged) and returns nil. Run may be
// called only once; a second call returns an error.
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return errors.New("monitor: Runner.Run called more than once")
	}
	r.started = true
	checks := slices.Clone(r.checks)
	r.mu.Unlock()

	var wg sync.WaitGroup
	for _, c := range checks {
		if c.watch != nil {
			wg.Go(func() { r.watchLoop(ctx, c) })
		} else {
			wg.Go(func() { r.loop(ctx, c) })
		}
	}
	wg.Wait()
	r.drain()
	r.closeMonitors(checks)
	return nil
}

func (r *Runner) loop(ctx context.Context, c *runCheck) {
	if c.StartDelay > 0 && !sleep(ctx, c.StartDelay) {
		return
	}
	tick := time.NewTicker(c.Interval)
	defer tick.Stop()
	for {
		r.round(ctx, c)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// round runs one round of c on c's goroutine.
func (r *Runner) round(ctx context.Context, c *runCheck) {
	start := time.Now()
	var evs []Evaluation
	targets, err := r.resolve(ctx, c)
	if err != nil {
		evs = resolveFailed(c, err)
	} else {
		c.known = targets
		evs = r.measure(ctx, c, targets)
	}
	if ctx.Err() != nil {
		return
	}
	var transitions []Transition
	seen := make(map[string]bool, len(evs))
	for i := range evs {
		key := evs[i].Target.Key()
		seen[key] = true
		d := c.dampers[key]
		if d == nil {
			d = NewDamper(c.Damping)
			c.dampers[key] = d
		}
		from := d.Reported()
		st, changed := d.Observe(evs[i].Observed)
		evs[i].Status = st
		if changed {
			transitions = append(transitions, Transition{Evaluation: evs[i], From: from})
		}
	}
	for key := range c.dampers {
		if !seen[key] {
			delete(c.dampers, key)
		}
	}
	r.mu.Lock()
	r.latest[c.Name] = evs
	r.mu.Unlock()
	r.log.Debug("monitor round", "check", c.Name, "evaluations", len(evs), "transitions", len(transitions), "took", time.Since(start))
	r.write(ctx, evs)
	for _, t := range transitions {
		r.transition(ctx, t)
	}
}

func (r *Runner) resolve(ctx context.Context, c *runCheck) ([]inventory.Target, error) {
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res := r.res
	if c.Resolver != nil {
		res = c.Resolver
	}
	ts, err := res.Resolve(rctx, c.Targets)
	if err != nil {
		return nil, fmt.Errorf("monitor: check %q: resolve %s: %w", c.Name, c.Targets, err)
	}
	return ts, nil
}

// resolveFailed returns the error Evaluations of a round whose Resolve
// failed.
func resolveFailed(c *runCheck, err error) []Evaluation {
	targets := c.known
	if len(targets) == 0 {
		targets = []inventory.Target{{}}
	}
	evs := make([]Evaluation, len(targets))
	for i, t := range targets {
		evs[i] = Evaluation{Check: c.Name, Target: t, Status: Unknown, Observed: Unknown, Err: err,
			Message: "cannot resolve targets: " + errors.Unwrap(err).Error()}
	}
	return evs
}

func (r *Runner) write(ctx context.Context, evs []Evaluation) {
	if len(evs) == 0 {
		return
	}
	r.sinkGate.lock()
	defer r.sinkGate.unlock()
	for i, s := range r.sinks {
		if err := s.Write(ctx, evs); err != nil {
			r.log.Warn("monitor sink failed", "sink", i, "check", evs[0].Check, "err", err)
		}
	}
}

// measure checks targets and judges the Results with c's thresholds; the
// Evaluations' Status is Observed (no damping).
func (r *Runner) measure(ctx context.Context, c *runCheck, targets []inventory.Target) []Evaluation {
	if len(targets) == 0 {
		return nil
	}
	evs := make([]Evaluation, len(targets))
	if bm, ok := c.Monitor.(BatchMonitor); ok {
		type batch struct {
			results []Result
			errs    []error
		}
		ts := slices.Clone(targets)
		b, took, err := call(ctx, r, c.timeout, func(cctx context.Context) (batch, error) {
			rs, es, err := bm.CheckAll(cctx, ts)
			return batch{rs, es}, err
		})
		if err == nil && (len(b.results) != len(targets) || (b.errs != nil && len(b.errs) != len(targets))) {
			err = fmt.Errorf("monitor: check %q: batch monitor returned %d results and %d errors for %d targets", c.Name, len(b.results), len(b.errs), len(targets))
		}
		for i, t := range targets {
			switch {
			case err != nil:
				evs[i] = judge(c, t, Result{}, took, err)
			case b.errs != nil:
				evs[i] = judge(c, t, b.results[i], took, b.errs[i])
			default:
				evs[i] = judge(c, t, b.results[i], took, nil)
			}
		}
		return evs
	}
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			res, took, err := call(ctx, r, c.timeout, func(cctx context.Context) (Result, error) {
				return c.Monitor.Check(cctx, t)
			})
			evs[i] = judge(c, t, res, took, err)
		})
	}
	wg.Wait()
	return evs
}

// call runs fn in a slot of the concurrency bound with a timeout. It
// returns when fn does or when the timeout expires, whichever is first;
// the slot is released only when fn returns, so calls that ignore ctx
// still count against MaxConcurrent. A panic in fn becomes an error.
func call[T any](ctx context.Context, r *Runner, timeout time.Duration, fn func(context.Context) (T, error)) (T, time.Duration, error) {
	var zero T
	if err := r.acquire(ctx); err != nil {
		return zero, 0, err
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type out struct {
		v   T
		err error
	}
	ch := make(chan out, 1)
	start := time.Now()
	go func() {
		defer r.release()
		var o out
		func() {
			defer func() {
				if p := recover(); p != nil {
					o = out{err: fmt.Errorf("monitor: check panicked: %v", p)}
				}
			}()
			o.v, o.err = fn(cctx)
		}()
		ch <- o
	}()
	var o out
	abandoned := false
	select {
	case o = <-ch:
	case <-cctx.Done():
		select {
		case o = <-ch:
		default:
			abandoned = true
		}
	}
	took := time.Since(start)
	timedOut := ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded)
	switch {
	case abandoned && timedOut:
		return zero, took, &timeoutError{after: timeout}
	case abandoned:
		return zero, took, ctx.Err()
	case o.err != nil && timedOut:
		return zero, took, &timeoutError{after: timeout, err: o.err}
	}
	return o.v, took, o.err
}

func (r *Runner) acquire(ctx context.Context) error {
	select {
	case r.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Runner) release() { <-r.sem }

// judge builds the Evaluation of one measurement, before damping.
func judge(c *runCheck, t inventory.Target, res Result, took time.Duration, err error) Evaluation {
	ev := Evaluation{Check: c.Name, Target: t, Took: took}
	if err != nil {
		ev.Err, ev.Observed, ev.Status, ev.Message = err, Unknown, Unknown, errorMessage(err)
		return ev
	}
	if res.Time.IsZero() {
		res.Time = time.Now()
	}
	st, why := EvaluateThresholds(res, c.Thresholds)
	ev.Result, ev.Observed, ev.Status, ev.Message = res, st, st, joinMessages(why, res.Message)
	return ev
}

// drain waits, up to DefaultTimeout, until no call holds a slot.
func (r *Runner) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.DefaultTimeout)
	defer cancel()
	held := 0
	for range cap(r.sem) {
		if r.acquire(ctx) != nil {
			r.log.Warn("monitor calls still running after shutdown; closing monitors anyway", "running", cap(r.sem)-held)
			break
		}
		held++
	}
	for range held {
		r.release()
	}
}

func (r *Runner) closeMonitors(checks []*runCheck) {
	var closed []io.Closer
	for _, c := range checks {
		cl, ok := c.Monitor.(io.Closer)
		if !ok || slices.ContainsFunc(closed, func(x io.Closer) bool { return same(x, cl) }) {
			continue
		}
		closed = append(closed, cl)
		if err := cl.Close(); err != nil {
			r.log.Warn("monitor close failed", "check", c.Name, "err", err)
		}
	}
}

// same reports a == b, and false for incomparable dynamic types.
func same(a, b io.Closer) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return a == b
}

// CheckOnce runs one round of the named Check now and returns its
// Evaluations, for one-shot binaries (a Nagios plugin, a Hinemos custom
// monitor). Thresholds are applied; damping is not (Status equals
// Observed), StartDelay is ignored, no Sink or callback is called and the
// Runner's state ([Runner.Evaluations]) is not touched. Calls share the
// MaxConcurrent bound with Run.
//
// The error is for the round as a whole: no such check, a watched check
// (a Watcher has no one-shot round), the Resolve failed, no Target matched
// (wrapping [inventory.ErrNoMatch]) or ctx is done. Per-Target failures
// are Evaluations with Err set.
func (r *Runner) CheckOnce(ctx context.Context, name string) ([]Evaluation, error) {
	r.mu.Lock()
	c, ok := r.byName[name]
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("monitor: no check named %q", name)
	}
	if c.watch != nil {
		return nil, fmt.Errorf("monitor: check %q: watchers have no one-shot round: its Monitor streams observations while Run runs", name)
	}
	targets, err := r.resolve(ctx, c)
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("monitor: check %q: %w: %s", name, inventory.ErrNoMatch, c.Targets)
	}
	evs := r.measure(ctx, c, targets)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return evs, nil
}

// Evaluations returns the latest Evaluation of every (check, Target) that
// Run has evaluated, sorted by check name and then Target key, for status
// APIs and scrape handlers. Targets no longer resolved are left out, and
// so are the Targets a watched check has forgotten (see
// RunnerConfig.MaxWatchTargets). The slice is the caller's; the Results it
// references must not be modified.
func (r *Runner) Evaluations() []Evaluation {
	r.mu.Lock()
	var out []Evaluation
	for _, evs := range r.latest {
		out = append(out, evs...)
	}
	var watched []*watchState
	for _, c := range r.checks {
		if c.watch != nil {
			watched = append(watched, c.watch)
		}
	}
	r.mu.Unlock()
	for _, ws := range watched {
		out = append(out, ws.evaluations()...)
	}
	slices.SortStableFunc(out, func(a, b Evaluation) int {
		return cmp.Or(cmp.Compare(a.Check, b.Check), cmp.Compare(a.Target.Key(), b.Target.Key()))
	})
	return out
}

// Describe returns the SampleDescs of every added Check's Monitor that
// implements [Describer], one per sample name (the first wins), sorted by
// name: what a Prometheus or SNMP output declares up front.
func (r *Runner) Describe() []SampleDesc {
	r.mu.Lock()
	checks := slices.Clone(r.checks)
	r.mu.Unlock()
	var out []SampleDesc
	seen := map[string]bool{}
	for _, c := range checks {
		d, ok := c.Monitor.(Describer)
		if !ok {
			continue
		}
		for _, sd := range d.Describe() {
			if !seen[sd.Name] {
				seen[sd.Name] = true
				out = append(out, sd)
			}
		}
	}
	slices.SortFunc(out, func(a, b SampleDesc) int { return cmp.Compare(a.Name, b.Name) })
	return out
}
