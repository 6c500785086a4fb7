package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/minato-ops/minato/ha"
)

// actor carries out one group's intent, one action at a time, so that the
// engine is never asked to start and stop the group at once.
func (c *Cluster) actor(ctx context.Context, g *group) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.wake:
		}
		for ctx.Err() == nil && c.step(ctx, g) {
		}
	}
}

// step starts the action g's intent calls for, if any, and reports
// whether to look again.
func (c *Cluster) step(ctx context.Context, g *group) bool {
	c.mu.Lock()
	now := time.Now()
	if !c.running || c.stoppingLocked() || c.fencing || c.isolated || g.busy {
		c.unlock()
		return false
	}
	waiting := g.local == ha.Failed && now.Before(g.retryAt)
	switch {
	case g.intent == takeOver && !now.Before(g.notBefore):
		return c.takeOver(ctx, g)
	case g.intent == release && c.mineLocked(g) && !waiting:
		return c.release(ctx, g)
	case g.intent == keep && g.local != ha.Online && g.local != ha.Starting && !waiting:
		// Held here but not online: a deactivation for a move failed.
		// Bring it back online rather than leave it half down.
		actx, cancel := c.startLocked(ctx, g)
		g.local = ha.Starting
		c.unlock()
		return c.activate(actx, cancel, g, g.claim.Epoch)
	case g.intent == idle && g.local != ha.Offline && !waiting:
		return c.demote(ctx, g)
	}
	c.unlock()
	return false
}

// startLocked marks g busy with an action and returns its context.
func (c *Cluster) startLocked(ctx context.Context, g *group) (context.Context, context.CancelFunc) {
	actx, cancel := context.WithCancel(ctx)
	g.busy, g.cancel = true, cancel
	return actx, cancel
}

// endLocked marks g's action ended.
func (c *Cluster) endLocked(g *group, cancel context.CancelFunc) {
	cancel()
	g.busy, g.cancel = false, nil
	c.notifyLocked()
	c.sendSoonLocked()
}

// takeOver makes this node g's holder: it acquires the lease (if any),
// claims g at a new epoch and brings it online. Called locked; unlocks.
func (c *Cluster) takeOver(ctx context.Context, g *group) bool {
	base := g.claim
	actx, cancel := c.startLocked(ctx, g)
	c.unlock()

	if !c.fenceHolder(actx, g, base, cancel) {
		return false
	}

	var grant ha.Grant
	var epoch ha.Epoch
	if c.o.lease != nil {
		gr, err := c.o.lease.Acquire(actx, g.key, c.cfg.Node, c.cfg.LeaseTTL)
		if err == nil && gr.Epoch <= base.Epoch {
			c.releaseGrants(actx, []ha.Grant{gr})
			err = fmt.Errorf("cluster: the lease gave epoch %d, not above the group's %d", gr.Epoch, base.Epoch)
		}
		if err == nil && !c.usable(gr, time.Now()) {
			err = fmt.Errorf("cluster: the lease hold of %s ended before it could be used", g.key)
		}
		if err != nil {
			c.mu.Lock()
			now := time.Now()
			// Retried at the next evaluation after half an interval: the
			// attempt itself took some of the interval, and waiting a
			// whole one from its end would skip a tick.
			g.notBefore = now.Add(c.cfg.Interval / 2)
			// A lease that says when the hold becomes takeable is asked
			// again right then, if that is sooner.
			var ra interface{ RetryAt() time.Time }
			if errors.As(err, &ra) {
				if t := ra.RetryAt(); t.After(now) && t.Before(g.notBefore) {
					g.notBefore = t
					// Evaluate right then, not at the next tick.
					time.AfterFunc(t.Sub(now), func() {
						c.mu.Lock()
						c.evaluateLocked(time.Now())
						c.unlock()
					})
				}
			}
			if !errors.Is(err, ha.ErrHeld) {
				g.noLeaseUntil = now.Add(c.cfg.Timeout)
			}
			c.endLocked(g, cancel)
			c.unlock()
			if errors.Is(err, ha.ErrHeld) {
				c.log.Debug("cluster: the lease is held by another node: not activating", "group", g.def.Name, "err", err)
			} else {
				c.log.Warn("cluster: could not acquire the lease: not activating", "group", g.def.Name, "err", err)
			}
			return false
		}
		grant, epoch = gr, gr.Epoch
		c.mu.Lock()
		g.noLeaseUntil = time.Time{}
		c.mu.Unlock()
	} else {
		epoch = nextEpoch(base.Epoch, time.Now())
	}

	c.mu.Lock()
	if g.intent != takeOver || g.claim != base || actx.Err() != nil || c.stoppingLocked() || c.fencing || c.isolated {
		c.endLocked(g, cancel)
		c.unlock()
		if grant.Key != "" {
			c.releaseGrants(ctx, []ha.Grant{grant})
		}
		return true
	}
	g.claim = claim{Holder: c.cfg.Node, Boot: c.boot, Epoch: epoch}
	g.claimedBy[c.cfg.Node] = epoch
	g.local, g.epoch, g.failed, g.lastErr = ha.Starting, epoch, false, nil
	g.failover, g.dropLease = false, false
	c.counters.Takeovers++
	if grant.Key != "" {
		c.startRenewLocked(g, grant)
	}
	c.announceLocked(g)
	c.notifyLocked()
	c.sendSoonLocked()
	c.unlock()
	return c.activate(actx, cancel, g, epoch)
}

// fenceHolder fences g's last holder before a takeover, when a Fencer is
// set and that holder is a peer declared down not yet fenced in this down
// episode. It reports whether the takeover may go on; when not, it has
// ended the action (the evaluation after an interval tries again).
func (c *Cluster) fenceHolder(ctx context.Context, g *group, base claim, cancel context.CancelFunc) bool {
	if c.o.fence == nil || base.Holder == "" || base.Holder == c.cfg.Node {
		return true
	}
	c.mu.Lock()
	p := c.byPeer[base.Holder]
	need := p != nil && p.state == NodeDown && !c.fenced[base.Holder]
	c.mu.Unlock()
	if !need {
		return true
	}
	t0 := time.Now()
	err := c.o.fence.Fence(ctx, base.Holder)
	c.mu.Lock()
	if err == nil {
		if c.fenced == nil {
			c.fenced = map[string]bool{}
		}
		c.fenced[base.Holder] = true
		c.emitLocked(ha.Event{Kind: ha.EventFenced, Node: base.Holder, Group: g.def.Name,
			Message: fmt.Sprintf("Node %s was fenced before its groups are taken over (%s).", base.Holder, time.Since(t0).Round(time.Millisecond))})
		c.unlock()
		return true
	}
	g.notBefore = time.Now().Add(c.cfg.Interval)
	c.emitLocked(ha.Event{Kind: ha.EventFenceFailed, Node: base.Holder, Group: g.def.Name, Err: err,
		Message: fmt.Sprintf("Fencing node %s has failed: %v; group %s is not taken over until it succeeds.", base.Holder, err, g.def.Name)})
	c.endLocked(g, cancel)
	c.unlock()
	return false
}

// activate brings g online here under epoch, in the action actx: an
// activation that fails marks g failed here and fails it over.
func (c *Cluster) activate(actx context.Context, cancel context.CancelFunc, g *group, epoch ha.Epoch) bool {
	err := c.engine.Online(actx, g.def.Name, epoch)

	c.mu.Lock()
	defer c.unlock()
	cancelled := actx.Err() != nil
	c.endLocked(g, cancel)
	switch {
	case err == nil:
		g.local = ha.Online
	case cancelled:
		// Stopped on purpose (fenced, leaving, lease lost, superseded):
		// its state is unknown until the next deactivation.
		g.local, g.lastErr = ha.Failed, err
	default:
		g.local, g.lastErr = ha.Failed, err
		g.failed, g.failover = true, true
		c.counters.Failovers++
		c.emitLocked(ha.Event{Kind: ha.EventFailover, Group: g.def.Name, Node: c.cfg.Node, Epoch: epoch, Err: err,
			Message: fmt.Sprintf("Group %s could not be activated on %s; it fails over.", g.def.Name, c.cfg.Node)})
	}
	c.evaluateLocked(time.Now())
	return true
}

// release deactivates g here, then releases its claim (to g.next) and its
// lease hold. A deactivation that fails keeps the claim (another node
// must not start what may still be active here) and is retried after
// Timeout. Called locked; unlocks.
func (c *Cluster) release(ctx context.Context, g *group) bool {
	next, epoch := g.next, g.claim.Epoch
	actx, cancel := c.startLocked(ctx, g)
	g.local = ha.Stopping
	c.sendSoonLocked()
	c.unlock()

	err := c.engine.Offline(actx, g.def.Name)

	c.mu.Lock()
	c.endLocked(g, cancel)
	if err != nil {
		g.local, g.lastErr, g.retryAt = ha.Failed, err, time.Now().Add(c.cfg.Timeout)
		c.unlock()
		c.log.Warn("cluster: could not deactivate the group: keeping it until a retry succeeds", "group", g.def.Name, "err", err)
		return false
	}
	g.local = ha.Offline
	if c.mineLocked(g) && g.claim.Epoch == epoch {
		g.claim.Released, g.claim.Next = true, next
	}
	g.failover, g.dropLease = false, false
	grant := c.dropGrantLocked(g)
	c.evaluateLocked(time.Now())
	c.unlock()
	if grant.Key != "" {
		c.releaseGrants(ctx, []ha.Grant{grant})
	}
	return true
}

// demote deactivates g here, where it is not held (any more). Called
// locked; unlocks.
func (c *Cluster) demote(ctx context.Context, g *group) bool {
	actx, cancel := c.startLocked(ctx, g)
	g.local = ha.Stopping
	c.unlock()

	err := c.engine.Offline(actx, g.def.Name)

	c.mu.Lock()
	c.endLocked(g, cancel)
	var grant ha.Grant
	if err != nil {
		g.local, g.lastErr, g.retryAt = ha.Failed, err, time.Now().Add(c.cfg.Timeout)
		c.log.Warn("cluster: could not deactivate a group this node does not hold", "group", g.def.Name, "err", err)
	} else {
		g.local = ha.Offline
		if !c.mineLocked(g) {
			grant = c.dropGrantLocked(g)
		}
	}
	c.unlock()
	if grant.Key != "" {
		c.releaseGrants(ctx, []ha.Grant{grant})
	}
	return err == nil
}

// leaseGuard is how long before a grant's Valid this node stops acting
// under it: a deactivation takes a moment, and clocks run at slightly
// different rates.
func (c *Cluster) leaseGuard() time.Duration { return c.cfg.LeaseTTL / 10 }

// usable reports whether gr may still be acted under at now.
func (c *Cluster) usable(gr ha.Grant, now time.Time) bool {
	return gr.Key != "" && now.Before(gr.Valid.Add(-c.leaseGuard()))
}

// dropGrantLocked stops renewing g's grant and returns it (to release).
func (c *Cluster) dropGrantLocked(g *group) ha.Grant {
	gr := g.grant
	g.grant = ha.Grant{}
	if g.stopRenew != nil {
		g.stopRenew()
		g.stopRenew = nil
	}
	return gr
}

// startRenewLocked holds gr for g and renews it until dropped.
func (c *Cluster) startRenewLocked(g *group, gr ha.Grant) {
	rs := c.rs
	ctx, cancel := context.WithCancel(rs.ctx)
	g.grant, g.stopRenew = gr, cancel
	rs.wg.Go(func() { c.renew(ctx, rs, g, gr) })
}

// renew renews gr every LeaseTTL/3. A renewal that fails, or that has not
// succeeded by the time the grant stops being usable (Valid minus the
// guard: also what a node frozen past it finds first when it resumes),
// loses the group here.
func (c *Cluster) renew(ctx context.Context, rs *runState, g *group, gr ha.Grant) {
	every := c.cfg.LeaseTTL / 3
	for {
		deadline := gr.Valid.Add(-c.leaseGuard())
		t := time.NewTimer(min(every, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if !time.Now().Before(deadline) {
			c.leaseLost(g, gr, errors.New("the hold expired before it was renewed"))
			return
		}
		type result struct {
			gr  ha.Grant
			err error
		}
		ch := make(chan result, 1)
		rctx, rcancel := context.WithDeadline(ctx, deadline)
		rs.wg.Go(func() {
			ng, err := c.o.lease.Renew(rctx, gr)
			ch <- result{ng, err}
		})
		expire := time.NewTimer(time.Until(deadline))
		var r result
		select {
		case <-ctx.Done():
			rcancel()
			expire.Stop()
			return
		case <-expire.C:
			r.err = errors.New("the renewal did not succeed before the hold expired")
		case r = <-ch:
			expire.Stop()
			if r.err == nil && !c.usable(r.gr, time.Now()) {
				r.err = errors.New("the renewed hold is already expired")
			}
		}
		rcancel()
		if r.err != nil {
			c.leaseLost(g, gr, r.err)
			return
		}
		c.mu.Lock()
		current := g.grant.Key == gr.Key && g.grant.ID == gr.ID && g.grant.Epoch == gr.Epoch
		if current {
			g.grant = r.gr
		}
		c.mu.Unlock()
		if !current {
			return
		}
		gr = r.gr
	}
}

// leaseLost takes g offline here at once: the hold gr is gone.
func (c *Cluster) leaseLost(g *group, gr ha.Grant, cause error) {
	c.mu.Lock()
	defer c.unlock()
	if g.grant.Key != gr.Key || g.grant.ID != gr.ID || g.grant.Epoch != gr.Epoch {
		return // released meanwhile
	}
	c.dropGrantLocked(g)
	g.dropLease = true
	g.noLeaseUntil = time.Now().Add(c.cfg.Timeout)
	if g.cancel != nil {
		g.cancel()
	}
	c.counters.LeasesLost++
	c.emitLocked(ha.Event{Kind: ha.EventLeaseLost, Group: g.def.Name, Node: c.cfg.Node, Epoch: gr.Epoch, Err: cause,
		Message: fmt.Sprintf("Group %s lost its lease on %s (%v); it is deactivated here.", g.def.Name, c.cfg.Node, cause)})
	c.notifyLocked()
	c.evaluateLocked(time.Now())
}
