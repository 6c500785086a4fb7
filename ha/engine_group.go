package ha

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// group is an Engine's runtime copy of one Group.
type group struct {
	def     Group
	members []*member   // in activation order
	mons    []*monState // members' own monitors first, then the group's
	op      chan struct{}
	wake    chan struct{}
	recov   chan recoveryRequest

	mu        sync.Mutex
	state     GroupState // Offline, Starting, Online, Stopping or Failed
	suspended bool
	leaving   int  // Offline calls under way: no monitoring, no recovery
	starting  bool // Online is announcing the group: monitors wait for it
	epoch     Epoch
	gen       uint64    // bumped by every successful activation
	session   uint64    // bumped by every start of the monitors
	monBase   time.Time // when monitoring is counted from (activation, restart)
	opCancel  context.CancelCauseFunc
}

type memberState int

const (
	memberInactive memberState = iota
	memberActive
	memberUnknown // an Activate or Deactivate failed
)

type member struct {
	def Member
	// guarded by group.mu
	state   memberState
	lastErr string
	// guarded by the group's op semaphore: closed when a given-up call
	// returns
	busy chan struct{}
}

func newGroup(gd Group) (*group, error) {
	order, err := gd.Order()
	if err != nil {
		return nil, err
	}
	g := &group{
		def:   gd,
		op:    make(chan struct{}, 1),
		wake:  make(chan struct{}, 1),
		recov: make(chan recoveryRequest),
		state: Offline,
	}
	byName := map[string]Member{}
	for _, m := range gd.Members {
		byName[m.Name] = m
	}
	names := map[string]bool{}
	for _, n := range order {
		md := byName[n]
		if md.ActivateTimeout == 0 {
			md.ActivateTimeout = DefaultActivateTimeout
		}
		if md.DeactivateTimeout == 0 {
			md.DeactivateTimeout = DefaultDeactivateTimeout
		}
		g.members = append(g.members, &member{def: md})
		g.mons = append(g.mons, newMonState(md.Monitor(), n, n, md.Resource, inventory.Target{}, md.Policy))
		names[n] = true
		names[md.Monitor()] = true
	}
	var errs []error
	for i, gm := range gd.Monitors {
		if names[gm.Name] {
			errs = append(errs, fmt.Errorf("monitors[%d] (%s): name already used by a member or another monitor", i, gm.Name))
			continue
		}
		names[gm.Name] = true
		g.mons = append(g.mons, newMonState(gm.Name, "", gm.Recover, gm.Monitor, gm.Target, gm.Policy))
	}
	return g, errors.Join(errs...)
}

// acquire takes the group's operation slot: one activation, deactivation
// or restart of the group at a time.
func (g *group) acquire(ctx context.Context) error {
	select {
	case g.op <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *group) release() { <-g.op }

// endOp forgets the cancel of the operation that is ending.
func (g *group) endOp(cancel context.CancelCauseFunc) {
	g.mu.Lock()
	g.opCancel = nil
	g.mu.Unlock()
	cancel(nil)
}

// poke wakes the group's supervisor (without blocking).
func (g *group) poke() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// monitored reports whether g's monitors should run and its recoveries
// go on; g.mu is held.
func (g *group) monitored() bool {
	return g.state == Online && !g.suspended && g.leaving == 0 && !g.starting
}

func (g *group) setState(s GroupState) {
	g.mu.Lock()
	g.state = s
	g.mu.Unlock()
}

func (g *group) memberState(m *member) memberState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return m.state
}

// restartSet returns the members a restart of target touches, in
// activation order: target and every member that depends on it, directly
// or not; every member when target is "".
func (g *group) restartSet(target string) []*member {
	if target == "" {
		return g.members
	}
	in := map[string]bool{target: true}
	var out []*member
	for _, m := range g.members {
		if m.def.Name == target || slices.ContainsFunc(m.def.DependsOn, func(d string) bool { return in[d] }) {
			in[m.def.Name] = true
			out = append(out, m)
		}
	}
	return out
}

// activateMember activates m under epoch, retrying at once up to its
// ActivateRetries, and records and reports the outcome. Failure events
// are not emitted when Offline stopped the activation.
func (e *Engine) activateMember(ctx context.Context, g *group, m *member, epoch Epoch) error {
	var err error
	for attempt := 0; attempt <= m.def.ActivateRetries; attempt++ {
		if attempt > 0 {
			if ctx.Err() != nil {
				break
			}
			e.log.Warn("ha: activation failed, retrying", "group", g.def.Name, "member", m.def.Name, "attempt", attempt, "err", err)
		}
		err = e.call(ctx, m, m.def.ActivateTimeout, epoch, m.def.Resource.Activate)
		if err == nil {
			break
		}
	}
	g.mu.Lock()
	if err == nil {
		m.state, m.lastErr = memberActive, ""
		g.mu.Unlock()
		e.emit(Event{Kind: EventActivated, Group: g.def.Name, Member: m.def.Name, Epoch: epoch,
			Message: "Activating " + m.def.Name + " resource has completed."})
		return nil
	}
	line := ActivateMessage(m.def.Name, err)
	if f, ok := m.def.Resource.(MessageFormatter); ok {
		line = f.ActivateMessage(m.def.Name, err)
	}
	m.state, m.lastErr = memberUnknown, line
	g.mu.Unlock()
	err = &lineError{line: line, err: AsResourceError(err)}
	if !superseded(ctx) {
		e.emit(Event{Kind: EventActivationFailed, Group: g.def.Name, Member: m.def.Name, Epoch: epoch, Message: line, Err: err})
	}
	return err
}

// deactivateMember deactivates m, and records and reports the outcome.
func (e *Engine) deactivateMember(ctx context.Context, g *group, m *member, epoch Epoch) error {
	err := e.call(ctx, m, m.def.DeactivateTimeout, epoch, m.def.Resource.Deactivate)
	g.mu.Lock()
	if err == nil {
		m.state, m.lastErr = memberInactive, ""
		g.mu.Unlock()
		e.emit(Event{Kind: EventDeactivated, Group: g.def.Name, Member: m.def.Name, Epoch: epoch,
			Message: "Deactivating " + m.def.Name + " resource has completed."})
		return nil
	}
	line := DeactivateMessage(m.def.Name, err)
	if f, ok := m.def.Resource.(MessageFormatter); ok {
		line = f.DeactivateMessage(m.def.Name, err)
	}
	m.state, m.lastErr = memberUnknown, line
	g.mu.Unlock()
	err = &lineError{line: line, err: AsResourceError(err)}
	if !superseded(ctx) {
		e.emit(Event{Kind: EventDeactivationFailed, Group: g.def.Name, Member: m.def.Name, Epoch: epoch, Message: line, Err: err})
	}
	return err
}

// call runs one Activate or Deactivate of m, bounded by timeout, with
// epoch in its ctx. The caller holds the group's op slot. A call that
// outlives its deadline by callGrace is given up as timed out; m stays
// busy until it returns, and the next call on m waits for that (within
// its own deadline) so that two calls on one member never overlap.
func (e *Engine) call(ctx context.Context, m *member, timeout time.Duration, epoch Epoch, fn func(context.Context, inventory.Target) error) error {
	cctx, cancel := context.WithTimeout(WithEpoch(ctx, epoch), timeout)
	defer cancel()
	if m.busy != nil {
		select {
		case <-m.busy:
			m.busy = nil
		case <-cctx.Done():
			return callError(cctx, fmt.Errorf("an earlier call has not returned: %w", cctx.Err()))
		}
	}
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = fn(cctx, e.nodeT)
	}()
	select {
	case <-done:
		return callError(cctx, err)
	case <-cctx.Done():
	}
	grace := time.NewTimer(callGrace)
	defer grace.Stop()
	select {
	case <-done:
		return callError(cctx, err)
	case <-grace.C:
		m.busy = done
		return callError(cctx, cctx.Err())
	}
}

// callError gives a call's error the timeout code when the call's own
// deadline passed and the resource did not give a code itself.
func callError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var re *ResourceError
	if !errors.As(err, &re) && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &ResourceError{Code: CodeTimeout, Detail: "Timeout occurred.", Err: err}
	}
	return err
}

// GroupStatus is a group as this node sees it, from [Engine.Status].
type GroupStatus struct {
	Group string     `json:"group"`
	State GroupState `json:"state"`
	// Epoch is the epoch the group was last brought online under here.
	Epoch    Epoch           `json:"epoch,omitempty"`
	Members  []MemberStatus  `json:"members"`
	Monitors []MonitorStatus `json:"monitors"`
}

// MemberStatus is one member of a [GroupStatus], in activation order.
type MemberStatus struct {
	Name string `json:"name"`
	// Active: the last Activate succeeded and no Deactivate followed.
	Active bool `json:"active"`
	// LastErr is the line of the last failed Activate or Deactivate
	// ([ActivateMessage], [DeactivateMessage]); empty after a success.
	LastErr string `json:"last_err,omitempty"`
}

// MonitorStatus is one monitor of a [GroupStatus]: the members' own
// monitors first (named after their member, in activation order), then the
// group's.
type MonitorStatus struct {
	Name string `json:"name"`
	// Status is the last check's verdict: OK, Warning (a Warning result,
	// or a check that could not learn the state under OnUnreachable
	// warn), Critical (a failure), Unknown (not checked since the group
	// came online, or could not learn the state under silent).
	Status monitor.Status `json:"status"`
	// Failures is how many checks in a row failed.
	Failures int `json:"failures"`
	// Restarts and Failovers are the recovery steps this monitor has
	// taken since its counts last started again.
	Restarts  int `json:"restarts"`
	Failovers int `json:"failovers"`
	// Message is the last check's line: the Result's message when OK,
	// else the error or warning line.
	Message string `json:"message,omitempty"`
}

// Status returns every group's state, members and monitors, in the order
// the groups were given to [NewEngine]. It does not block on operations
// in progress.
func (e *Engine) Status() []GroupStatus {
	out := make([]GroupStatus, 0, len(e.groups))
	for _, g := range e.groups {
		g.mu.Lock()
		st := GroupStatus{Group: g.def.Name, State: g.state, Epoch: g.epoch}
		if g.state == Online && g.suspended {
			st.State = Suspended
		}
		for _, m := range g.members {
			st.Members = append(st.Members, MemberStatus{Name: m.def.Name, Active: m.state == memberActive, LastErr: m.lastErr})
		}
		for _, m := range g.mons {
			st.Monitors = append(st.Monitors, MonitorStatus{Name: m.name, Status: m.status, Failures: m.failures,
				Restarts: m.restarts, Failovers: m.failovers, Message: m.message})
		}
		g.mu.Unlock()
		out = append(out, st)
	}
	return out
}
