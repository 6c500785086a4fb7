package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// Errors of an [Engine].
var (
	// ErrNoFailover is what a failover callback (see [WithFailover])
	// returns, wrapped, when the group cannot leave this node: no other
	// node can take it, or the cluster will not move it again. The engine
	// then takes the monitor's [FinalAction].
	ErrNoFailover = errors.New("ha: no failover possible")
	// ErrUnknownGroup: the engine was not given a group of that name.
	ErrUnknownGroup = errors.New("ha: no such group")
	// ErrNotStartable: this node is not one of the group's Nodes.
	ErrNotStartable = errors.New("ha: group cannot run on this node")
	// ErrSuperseded: an activation or a restart was stopped because
	// [Engine.Offline] (or [Engine.OfflineAll]) was called for its group.
	ErrSuperseded = errors.New("ha: stopped by a deactivation of the group")
)

// Internal bounds of an Engine.
const (
	// offlineParallel bounds how many groups OfflineAll deactivates at
	// once.
	offlineParallel = 4
	// callGrace is how long past its deadline the engine still waits for
	// an Activate, Deactivate or Check before it gives the call up as
	// timed out (code 6). A given-up Activate or Deactivate still holds
	// its member: the next call on that member waits for it to return.
	callGrace = 2 * time.Second
)

// EngineOption configures an optional collaborator of an [Engine].
type EngineOption func(*engineOptions)

type engineOptions struct {
	log         *slog.Logger
	events      func(Event)
	failover    func(ctx context.Context, group string, reason error) error
	stopService func(ctx context.Context, reason error)
}

// WithLogger sets the logger; nil (the default) discards. The engine logs
// every event at Debug and trouble it does not return (a failover the
// cluster could not carry out, a retried activation) at Warn.
func WithLogger(l *slog.Logger) EngineOption {
	return func(o *engineOptions) { o.log = l }
}

// WithEvents sets the callback that receives every [Event] the engine
// emits, synchronously, one at a time (never concurrently), in the order
// the engine emits them. It must not block long: it delays the group the
// event concerns. It may call [Engine.Status], [Engine.Suspend] and
// [Engine.Resume], but not Online, Offline or OfflineAll (those emit
// events themselves and would wait for the callback to return).
func WithEvents(f func(Event)) EngineOption {
	return func(o *engineOptions) { o.events = f }
}

// WithFailover sets what the engine calls when recovery decides a group
// must leave this node (a monitor's restarts are spent and it may still
// fail over). The cluster moves the group to another node and returns
// nil; the group leaves this node (if the callback did not take it
// offline here, the engine does). An error wrapping [ErrNoFailover] says
// no node can take it: the engine takes the monitor's FinalAction. Any
// other error says the move could not be carried out now: the group stays
// here, its monitors go on, and the next recovery tries again while the
// monitor's failovers last.
//
// The callback runs on the group's recovery goroutine with the context
// given to [Engine.Run]; it may call [Engine.Offline] for the group. Without
// this option no failover is possible: recovery goes from the restarts
// straight to the final action.
func WithFailover(f func(ctx context.Context, group string, reason error) error) EngineOption {
	return func(o *engineOptions) { o.failover = f }
}

// WithStopService sets what the engine calls for [FinalStopService], after
// it has taken every group offline: the program leaves the cluster
// (stops its cluster membership) so that the other nodes take over. ctx is
// the one given to [Engine.Run]; reason is the monitor's error.
func WithStopService(f func(ctx context.Context, reason error)) EngineOption {
	return func(o *engineOptions) { o.stopService = f }
}

// Engine is one node's side of its failover groups: it activates and
// deactivates their members on this node when told to ([Engine.Online],
// [Engine.Offline]), runs their monitors ([Engine.Run]) and recovers from
// what the monitors find: restart on this node, then failover through the
// cluster, then the final action. Which node holds a group is not its
// business: a cluster (ha/cluster) decides and calls Online and Offline.
//
// Create it with [NewEngine]. Its methods are safe for concurrent use.
// Activate and Deactivate of one member never run at the same time;
// recovery of one group never blocks another group's monitors.
type Engine struct {
	node    string
	nodeT   inventory.Target
	log     *slog.Logger
	opts    engineOptions
	groups  []*group
	byName  map[string]*group
	evMu    sync.Mutex
	running atomic.Bool
}

// NewEngine returns the engine of node (this node's name, as the groups'
// Nodes spell it) for groups. It validates every group ([Group.Validate]),
// that group names are unique, and that no group gives one name to two of
// its monitors (a member's own monitor is named after the member). A group
// whose Nodes do not include node is accepted and never started here.
// The Groups' Resources and Monitors are used, not copied: they must stay
// valid for the engine's life.
func NewEngine(node string, groups []Group, opts ...EngineOption) (*Engine, error) {
	e := &Engine{node: node, nodeT: NodeTarget(node), byName: map[string]*group{}}
	for _, o := range opts {
		o(&e.opts)
	}
	e.log = e.opts.log
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if node == "" {
		errs = append(errs, errors.New("node: give this node's name"))
	}
	for i, gd := range groups {
		if err := gd.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("groups[%d] (%s): %w", i, gd.Name, err))
			continue
		}
		if _, dup := e.byName[gd.Name]; dup {
			errs = append(errs, fmt.Errorf("groups[%d] (%s): name used twice", i, gd.Name))
			continue
		}
		g, err := newGroup(gd)
		if err != nil {
			errs = append(errs, fmt.Errorf("groups[%d] (%s): %w", i, gd.Name, err))
			continue
		}
		e.groups = append(e.groups, g)
		e.byName[gd.Name] = g
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ha: engine: %w", err)
	}
	return e, nil
}

// Node returns this node's name.
func (e *Engine) Node() string { return e.node }

func (e *Engine) group(name string) (*group, error) {
	g, ok := e.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownGroup, name)
	}
	return g, nil
}

// Online activates group on this node under epoch: every member in
// [Group.Order], each call bounded by the member's ActivateTimeout and
// given a ctx that carries epoch ([EpochFrom]); a failed activation is
// retried at once up to the member's ActivateRetries. When a member
// cannot be activated, Online emits [EventActivationFailed] with
// [ActivateMessage], deactivates in reverse order the members it
// activated (the failed one included, its state being unknown), leaves
// the group [Failed] and returns an error that wraps the member's
// [*ResourceError]: the cluster should then start the group elsewhere.
//
// On success the group is [Online] and its monitors start (under
// [Engine.Run]), each after its policy's StartWait. Online is idempotent:
// for a group already online here it only records epoch. It waits for an
// activation, deactivation or restart of the group in progress to end
// first (or for ctx to end). An [Engine.Offline] called meanwhile stops
// it: Online then returns an error wrapping [ErrSuperseded].
func (e *Engine) Online(ctx context.Context, name string, epoch Epoch) error {
	g, err := e.group(name)
	if err != nil {
		return err
	}
	if !slices.Contains(g.def.Nodes, e.node) {
		return fmt.Errorf("%w: %s is not one of the nodes of group %s", ErrNotStartable, e.node, name)
	}
	if err := g.acquire(ctx); err != nil {
		return fmt.Errorf("ha: group %s: %w", name, err)
	}
	defer g.release()

	g.mu.Lock()
	if g.state == Online {
		if g.epoch != epoch {
			e.log.Debug("ha: group already online, new epoch", "group", name, "from", g.epoch, "to", epoch)
		}
		g.epoch = epoch
		g.mu.Unlock()
		return nil
	}
	g.state = Starting
	g.epoch = epoch
	opCtx, cancel := context.WithCancelCause(ctx)
	g.opCancel = cancel
	g.mu.Unlock()
	defer g.endOp(cancel)

	for i, m := range g.members {
		err := e.activateMember(opCtx, g, m, epoch)
		if err == nil {
			continue
		}
		if superseded(opCtx) {
			g.setState(Failed)
			return fmt.Errorf("ha: group %s: %w", name, ErrSuperseded)
		}
		// Roll back even when the caller gave up: leave nothing half up.
		rb := context.WithoutCancel(opCtx)
		var rerrs []error
		for j := i; j >= 0; j-- {
			if g.memberState(g.members[j]) != memberInactive {
				if derr := e.deactivateMember(rb, g, g.members[j], epoch); derr != nil {
					rerrs = append(rerrs, derr)
				}
			}
		}
		g.setState(Failed)
		err = fmt.Errorf("ha: group %s: %w", name, err)
		if len(rerrs) > 0 {
			err = errors.Join(err, fmt.Errorf("ha: group %s: rolling back: %w", name, errors.Join(rerrs...)))
		}
		return err
	}

	g.mu.Lock()
	if superseded(opCtx) {
		g.state = Failed
		g.mu.Unlock()
		return fmt.Errorf("ha: group %s: %w", name, ErrSuperseded)
	}
	now := time.Now()
	g.state, g.starting = Online, true
	g.gen++
	g.monBase = now
	for _, m := range g.mons {
		m.activated()
	}
	g.mu.Unlock()
	e.emit(Event{Kind: EventActivated, Group: name, Epoch: epoch, Message: "Activating group " + name + " has completed."})
	g.mu.Lock()
	g.starting = false
	g.mu.Unlock()
	g.poke()
	return nil
}

// Offline deactivates group on this node: its monitors stop (results of
// checks still running are dropped), then every member that is or may be
// active is deactivated in reverse [Group.Order], each call bounded by
// its DeactivateTimeout. An activation or restart of the group in progress
// is stopped first (its ctx is cancelled) and waited for. A member that
// fails to deactivate is reported ([EventDeactivationFailed] with
// [DeactivateMessage]) and the others are still deactivated, the members
// it depends on included, so that as little as possible stays held here;
// the group is then [Failed] and the error joins every member's
// [*ResourceError]. Otherwise the group is [Offline]. Offline of an
// offline group does nothing and returns nil.
func (e *Engine) Offline(ctx context.Context, name string) error {
	g, err := e.group(name)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.leaving++
	if g.opCancel != nil {
		g.opCancel(ErrSuperseded)
	}
	g.mu.Unlock()
	g.poke()
	defer func() {
		g.mu.Lock()
		g.leaving--
		g.mu.Unlock()
		g.poke()
	}()
	if err := g.acquire(ctx); err != nil {
		return fmt.Errorf("ha: group %s: %w", name, err)
	}
	defer g.release()

	g.mu.Lock()
	held := false
	for _, m := range g.members {
		held = held || m.state != memberInactive
	}
	if !held && (g.state == Offline || g.state == Failed) {
		g.state = Offline
		g.mu.Unlock()
		return nil
	}
	g.state = Stopping
	epoch := g.epoch
	g.mu.Unlock()
	g.poke()

	var errs []error
	for _, m := range slices.Backward(g.members) {
		if g.memberState(m) == memberInactive {
			continue
		}
		if err := e.deactivateMember(ctx, g, m, epoch); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		g.setState(Failed)
		return fmt.Errorf("ha: group %s: %w", name, errors.Join(errs...))
	}
	g.setState(Offline)
	e.emit(Event{Kind: EventDeactivated, Group: name, Epoch: epoch, Message: "Deactivating group " + name + " has completed."})
	return nil
}

// OfflineAll takes every group offline on this node ([Engine.Offline]),
// a few groups at a time, and returns every failure joined. It is the
// self-fence of an isolated node and the first half of
// [FinalStopService].
func (e *Engine) OfflineAll(ctx context.Context) error {
	sem := make(chan struct{}, offlineParallel)
	errs := make([]error, len(e.groups))
	var wg sync.WaitGroup
	for i, g := range e.groups {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = e.Offline(ctx, g.def.Name)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Suspend pauses the monitoring and recovery of group (an operator's
// maintenance): its monitors stop, results of checks still running are
// dropped, and no new recovery starts (one in progress finishes its
// step). The resources are left as they are. It lasts until
// [Engine.Resume], across Offline and Online: a group brought online
// while suspended is not monitored. An online suspended group reports
// [Suspended]. Suspend does not block.
func (e *Engine) Suspend(group string) error {
	return e.setSuspended(group, true)
}

// Resume ends a [Engine.Suspend]: the monitors of an online group start
// again at once (or when their StartWait from the group's activation
// ends), with their failure rows and health streaks started afresh and
// their restart and failover counts as they were. Resume does not block.
func (e *Engine) Resume(group string) error {
	return e.setSuspended(group, false)
}

func (e *Engine) setSuspended(name string, v bool) error {
	g, err := e.group(name)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.suspended = v
	g.mu.Unlock()
	g.poke()
	return nil
}

// Run runs the monitors of the groups online here, and their recovery,
// until ctx ends; then it stops them, waits for them and returns nil. A
// restart in progress is cut short (its member may be left inactive, which
// is reported as an activation failure); a failover callback in progress
// sees ctx end.
// Online and Offline may be called before and during Run: a group
// brought online before Run is monitored from Run's start. Run does not
// deactivate anything when it returns (leaving the cluster cleanly is
// the cluster's part: it calls Offline). Only one Run may be active at
// a time; a second gets an error at once.
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("ha: engine: Run is already running")
	}
	defer e.running.Store(false)
	var wg sync.WaitGroup
	for _, g := range e.groups {
		wg.Go(func() { e.supervise(ctx, g) })
	}
	wg.Wait()
	return nil
}

// emit stamps and delivers one event.
func (e *Engine) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if ev.Node == "" {
		ev.Node = e.node
	}
	e.log.Debug("ha: "+string(ev.Kind), "group", ev.Group, "member", ev.Member, "monitor", ev.Monitor, "epoch", ev.Epoch, "message", ev.Message)
	if e.opts.events == nil {
		return
	}
	e.evMu.Lock()
	defer e.evMu.Unlock()
	e.opts.events(ev)
}

// superseded reports whether ctx was cancelled by Offline.
func superseded(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), ErrSuperseded)
}

// lineError is an error whose text is an operator's line and which
// wraps the error it reports.
type lineError struct {
	line string
	err  error
}

func (e *lineError) Error() string { return e.line }
func (e *lineError) Unwrap() error { return e.err }

// checkError turns what a Check returned without a verdict into a
// *ResourceError: itself when it is one; code 6 for a deadline (also when
// the check's own deadline passed whatever it returned); code 5 ("the
// command or API call that does the work failed") otherwise.
func checkError(err error, timedOut bool) *ResourceError {
	var re *ResourceError
	if errors.As(err, &re) {
		return re
	}
	if timedOut || errors.Is(err, context.DeadlineExceeded) {
		return &ResourceError{Code: CodeTimeout, Detail: "Timeout occurred.", Err: err}
	}
	return &ResourceError{Code: CodeFailed, Detail: err.Error(), Err: err}
}

// resultError is the *ResourceError a Result reports: its Code (5 when
// it has none) and its Message (the status when it has none).
func resultError(r monitor.Result) *ResourceError {
	code := r.Code
	if code == 0 {
		code = CodeFailed
	}
	detail := r.Message
	if detail == "" {
		detail = r.Status.String()
	}
	return &ResourceError{Code: code, Detail: detail}
}
