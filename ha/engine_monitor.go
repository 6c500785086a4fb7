package ha

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// monState is one monitor of a group: a member's own Check or a
// GroupMonitor, with its policy and counts. Fields below pol are guarded
// by group.mu.
type monState struct {
	name    string
	member  string // the member whose own monitor it is; "" for a group monitor
	recover string // the member a restart restarts; "" for the whole group
	mon     monitor.Monitor
	target  inventory.Target // zero: this node
	pol     RecoveryPolicy   // with defaults

	status       monitor.Status
	message      string
	failures     int
	restarts     int
	failovers    int
	givenUp      bool      // the final action was taken; nothing more until healthy
	lastCheck    time.Time // when the last check started
	healthySince time.Time // start of the current run of OK checks
	lastWarn     string    // the warning line last emitted
	alerted      bool      // an error or a warning was emitted since the last OK
}

func newMonState(name, member, recover string, m monitor.Monitor, t inventory.Target, p RecoveryPolicy) *monState {
	return &monState{name: name, member: member, recover: recover, mon: m, target: t, pol: p.WithDefaults(),
		status: monitor.Unknown, message: "not checked yet"}
}

// activated starts a monitor's per-activation state afresh (the restart
// and failover counts are kept).
func (m *monState) activated() {
	m.status, m.message = monitor.Unknown, "not checked yet"
	m.failures, m.givenUp, m.alerted = 0, false, false
	m.healthySince, m.lastWarn = time.Time{}, ""
}

// session identifies one run of a group's monitors: results of another
// are dropped.
type session struct {
	gen, id uint64
}

type recoveryRequest struct {
	mon    *monState
	s      session
	reason error // wraps the monitor's *ResourceError; its text is the error line
}

// supervise runs one group's monitors while the group is online here and
// not suspended, and carries out their recovery requests one at a time,
// with the monitors stopped, until ctx ends.
func (e *Engine) supervise(ctx context.Context, g *group) {
	var (
		stopMonitors func() // nil while the monitors are not running
		runGen       uint64
	)
	stop := func() {
		if stopMonitors != nil {
			stopMonitors()
			stopMonitors = nil
		}
	}
	for {
		g.mu.Lock()
		want := g.monitored()
		if stopMonitors != nil && (!want || g.gen != runGen) {
			g.mu.Unlock()
			stop()
			g.mu.Lock()
			want = g.monitored()
		}
		if want && stopMonitors == nil {
			runGen = g.gen
			stopMonitors = e.startMonitors(ctx, g)
		}
		g.mu.Unlock()

		select {
		case <-ctx.Done():
			stop()
			return
		case <-g.wake:
		case req := <-g.recov:
			stop()
			e.recover(ctx, g, req)
		}
	}
}

// startMonitors starts a new session of g's monitors, each first checking
// StartWait after the group's activation (or last restart), and never
// sooner than Interval after its previous check; g.mu is held. The
// returned func stops them and waits for them.
func (e *Engine) startMonitors(ctx context.Context, g *group) func() {
	g.session++
	s := session{gen: g.gen, id: g.session}
	mctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, m := range g.mons {
		m.failures, m.healthySince = 0, time.Time{}
		first := g.monBase.Add(m.pol.StartWait)
		if next := m.lastCheck.Add(m.pol.Interval); !m.lastCheck.IsZero() && next.After(first) {
			first = next
		}
		wg.Go(func() { e.watch(mctx, g, m, s, first) })
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// watch runs one monitor's checks from first, every Interval, until ctx
// ends or the monitor asks for recovery.
func (e *Engine) watch(ctx context.Context, g *group, m *monState, s session, first time.Time) {
	next := first
	for {
		if d := time.Until(next); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return
		}
		start := time.Now()
		out := e.check(ctx, m)
		if ctx.Err() != nil {
			return
		}
		req, evs := e.record(g, m, s, out, start)
		for _, ev := range evs {
			e.emit(ev)
		}
		if req != nil {
			select {
			case g.recov <- *req:
			case <-ctx.Done():
			}
			return
		}
		next = start.Add(m.pol.Interval)
	}
}

// checkOutcome is what one Check returned, and whether its deadline
// passed (which makes any error a timeout).
type checkOutcome struct {
	res      monitor.Result
	err      error
	timedOut bool
}

// check runs one Check bounded by the policy's Timeout; a Check that
// outlives its deadline by callGrace is given up as timed out.
func (e *Engine) check(ctx context.Context, m *monState) checkOutcome {
	cctx, cancel := context.WithTimeout(ctx, m.pol.Timeout)
	defer cancel()
	t := m.target
	if t.Kind == "" && t.ID == "" && t.Name == "" {
		t = e.nodeT
	}
	done := make(chan checkOutcome, 1)
	go func() {
		r, err := m.mon.Check(cctx, t)
		done <- checkOutcome{res: r, err: err}
	}()
	var o checkOutcome
	select {
	case o = <-done:
	case <-cctx.Done():
		grace := time.NewTimer(callGrace)
		select {
		case o = <-done:
		case <-grace.C:
			o = checkOutcome{err: cctx.Err()}
		}
		grace.Stop()
	}
	o.timedOut = errors.Is(cctx.Err(), context.DeadlineExceeded)
	return o
}

// record judges one check's outcome under the monitor's policy, updates
// its state and returns the events to emit and, when the failures in a
// row reach Retries+1, the recovery to ask for. Outcomes of a stale
// session, or of a group no longer online or now suspended, are dropped.
func (e *Engine) record(g *group, m *monState, s session, o checkOutcome, at time.Time) (*recoveryRequest, []Event) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m.lastCheck = at
	if g.gen != s.gen || g.session != s.id || !g.monitored() {
		return nil, nil
	}
	ev := func(kind EventKind, msg string, err error) Event {
		return Event{Kind: kind, Group: g.def.Name, Member: m.member, Monitor: m.name, Epoch: g.epoch, Message: msg, Err: err}
	}
	res := o.res
	var re *ResourceError // what failed, for a failure or a warning
	unreachable := false
	switch {
	case o.err != nil:
		re, unreachable = checkError(o.err, o.timedOut), true
	case res.Status == monitor.OK:
	case res.Status == monitor.Warning, res.Status == monitor.Critical:
		re = resultError(res)
	default: // Unknown: the resource could not tell
		re, unreachable = resultError(res), true
	}

	var evs []Event
	warn := func(line string, breakRow bool) {
		m.status, m.message = monitor.Warning, line
		m.healthySince = time.Time{}
		if breakRow {
			m.failures = 0
		}
		if line != m.lastWarn {
			m.lastWarn, m.alerted = line, true
			evs = append(evs, ev(EventMonitorWarn, line, re))
		}
	}
	switch {
	case re == nil: // OK
		m.status, m.message = monitor.OK, res.Message
		m.failures, m.givenUp, m.lastWarn = 0, false, ""
		if m.alerted {
			m.alerted = false
			evs = append(evs, ev(EventMonitorRecovered, "Monitoring "+m.name+" is normal again.", nil))
		}
		if m.healthySince.IsZero() {
			m.healthySince = at
		} else if at.Sub(m.healthySince) >= m.pol.ResetAfter && (m.restarts > 0 || m.failovers > 0) {
			e.log.Debug("ha: monitor healthy long enough, counts start again", "group", g.def.Name, "monitor", m.name,
				"restarts", m.restarts, "failovers", m.failovers)
			m.restarts, m.failovers = 0, 0
		}
		return nil, evs
	case unreachable && m.pol.OnUnreachable == UnreachableWarn:
		warn(MonitorWarnMessage(m.name, re.Code+WarnOffset, re.Detail), false)
		return nil, evs
	case unreachable && m.pol.OnUnreachable == UnreachableSilent:
		m.status, m.message = monitor.Unknown, MonitorWarnMessage(m.name, re.Code+WarnOffset, re.Detail)
		m.healthySince = time.Time{}
		return nil, evs
	case !unreachable && res.Status == monitor.Warning:
		warn(MonitorWarnMessage(m.name, re.Code, re.Detail), true)
		return nil, evs
	}
	// A failure: a Critical result, or unreachable under recover.
	line := MonitorErrorMessage(m.name, re)
	m.status, m.message = monitor.Critical, line
	m.healthySince, m.lastWarn = time.Time{}, ""
	m.failures++
	if m.givenUp || m.failures < m.pol.Retries+1 {
		return nil, evs
	}
	m.alerted = true
	reason := &lineError{line: line, err: re}
	evs = append(evs, ev(EventMonitorError, line, reason))
	return &recoveryRequest{mon: m, s: s, reason: reason}, evs
}

type step int

const (
	stepNone step = iota
	stepRestart
	stepFailover
	stepFinal
)

// nextStep picks and counts the next recovery step of m; stepNone when
// the request is stale.
func (g *group) nextStep(m *monState, s session, restartOK bool) (step, Epoch) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gen != s.gen || !g.monitored() {
		return stepNone, 0
	}
	m.failures = 0
	switch {
	case restartOK && m.restarts < m.pol.Restarts:
		m.restarts++
		return stepRestart, g.epoch
	case m.failovers < m.pol.Failovers:
		m.failovers++
		return stepFailover, g.epoch
	}
	return stepFinal, g.epoch
}

// recover carries out one recovery request: restart the recovery target
// while restarts last, else fail the group over while failovers last,
// else the final action. A restart that fails goes on to the failover
// at once.
func (e *Engine) recover(ctx context.Context, g *group, req recoveryRequest) {
	m := req.mon
	st, epoch := g.nextStep(m, req.s, true)
	ev := func(kind EventKind, msg string, err error) Event {
		return Event{Kind: kind, Group: g.def.Name, Member: m.recover, Monitor: m.name, Epoch: epoch, Message: msg, Err: err}
	}
	if st == stepRestart {
		what := "group " + g.def.Name
		if m.recover != "" {
			what = m.recover + " resource"
		}
		g.mu.Lock()
		n := m.restarts
		g.mu.Unlock()
		e.emit(ev(EventRestart, fmt.Sprintf("Restarting %s because an error was detected in monitoring %s (restart %d of %d).",
			what, m.name, n, m.pol.Restarts), req.reason))
		switch e.restart(ctx, g, m.recover) {
		case restartDone, restartStopped:
			return
		}
		st, epoch = g.nextStep(m, req.s, false)
	}
	if st == stepFailover {
		err := ErrNoFailover
		if e.opts.failover != nil {
			err = e.opts.failover(ctx, g.def.Name, req.reason)
		}
		switch {
		case err == nil:
			e.emit(ev(EventFailover, fmt.Sprintf("Group %s failed over from %s because an error was detected in monitoring %s.",
				g.def.Name, e.node, m.name), req.reason))
			g.mu.Lock()
			still := g.gen == req.s.gen && g.state == Online
			g.mu.Unlock()
			if still {
				if err := e.Offline(ctx, g.def.Name); err != nil {
					e.log.Warn("ha: the group failed over but did not go offline here", "group", g.def.Name, "err", err)
				}
			}
			return
		case !errors.Is(err, ErrNoFailover):
			e.log.Warn("ha: failover failed, the group stays", "group", g.def.Name, "monitor", m.name, "err", err)
			e.emit(ev(EventFailover, fmt.Sprintf("Failing over group %s from %s has failed: %v; the group stays here.",
				g.def.Name, e.node, err), err))
			return
		}
		e.final(ctx, g, m, epoch, fmt.Errorf("%w: %w", req.reason, err))
		return
	}
	if st == stepFinal {
		e.final(ctx, g, m, epoch, req.reason)
	}
}

// final takes m's final action.
func (e *Engine) final(ctx context.Context, g *group, m *monState, epoch Epoch, reason error) {
	ev := Event{Kind: EventFinalAction, Group: g.def.Name, Monitor: m.name, Epoch: epoch, Err: reason}
	why := "an error was detected in monitoring " + m.name + " and its recovery is spent"
	switch m.pol.FinalAction {
	case FinalStopGroup:
		ev.Message = "Stopping group " + g.def.Name + " (final action stop_group): " + why + "."
		e.emit(ev)
		if err := e.Offline(ctx, g.def.Name); err != nil {
			e.log.Warn("ha: final action stop_group: the group did not go offline", "group", g.def.Name, "err", err)
		}
	case FinalStopService:
		ev.Message = "Stopping the cluster service on " + e.node + " (final action stop_service): " + why + "."
		e.emit(ev)
		if err := e.OfflineAll(ctx); err != nil {
			e.log.Warn("ha: final action stop_service: groups did not go offline", "err", err)
		}
		if e.opts.stopService != nil {
			e.opts.stopService(ctx, reason)
		}
	default:
		g.mu.Lock()
		m.givenUp = true
		g.mu.Unlock()
		ev.Message = "No final action for group " + g.def.Name + " (final action none): " + why + "; the group stays as it is."
		e.emit(ev)
	}
}

type restartResult int

const (
	restartDone    restartResult = iota
	restartFailed                // a member could not be deactivated or activated
	restartStopped               // Offline stopped it, or the group is no longer online
)

// restart deactivates the members of target's restart set in reverse
// order and activates them again in order, under the group's epoch.
func (e *Engine) restart(ctx context.Context, g *group, target string) restartResult {
	if g.acquire(ctx) != nil {
		return restartStopped
	}
	defer g.release()
	g.mu.Lock()
	if g.state != Online || g.leaving > 0 {
		g.mu.Unlock()
		return restartStopped
	}
	opCtx, cancel := context.WithCancelCause(ctx)
	g.opCancel = cancel
	epoch := g.epoch
	g.mu.Unlock()
	defer g.endOp(cancel)

	set := g.restartSet(target)
	for i := len(set) - 1; i >= 0; i-- {
		if err := e.deactivateMember(opCtx, g, set[i], epoch); err != nil {
			if superseded(opCtx) || ctx.Err() != nil {
				return restartStopped
			}
			return restartFailed
		}
	}
	for _, m := range set {
		if err := e.activateMember(opCtx, g, m, epoch); err != nil {
			if superseded(opCtx) || ctx.Err() != nil {
				return restartStopped
			}
			return restartFailed
		}
	}
	g.mu.Lock()
	g.monBase = time.Now()
	g.mu.Unlock()
	return restartDone
}
