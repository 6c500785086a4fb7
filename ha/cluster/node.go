package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/minato-ops/minato/ha"
)

// handle authenticates one datagram and applies it.
func (c *Cluster) handle(d Datagram, now time.Time) {
	m, err := open(c.key, d.Data)
	c.mu.Lock()
	defer c.unlock()
	if !c.running {
		return
	}
	reject := func(n *uint64, why string, args ...any) {
		*n++
		c.counters.HeartbeatsRejected++
		c.log.Debug("cluster: heartbeat rejected: "+why, append([]any{"from", d.From, "network", d.Network}, args...)...)
	}
	switch {
	case errors.Is(err, errMAC):
		reject(&c.counters.Rejected.MAC, "bad MAC")
		return
	case err != nil:
		reject(&c.counters.Rejected.Malformed, "malformed", "err", err)
		return
	case m.Cluster != c.cfg.Cluster:
		reject(&c.counters.Rejected.Cluster, "another cluster", "cluster", m.Cluster)
		return
	case int(m.Network) != d.Network || d.Network < 0 || d.Network >= c.nets:
		reject(&c.counters.Rejected.Malformed, "sent for another network", "for", m.Network)
		return
	}
	p := c.byPeer[m.Sender]
	if p == nil {
		reject(&c.counters.Rejected.Sender, "not from another node of the cluster", "sender", m.Sender)
		return
	}
	if at, w := now.UnixNano(), int64(c.cfg.MaxClockSkew); m.Sent < at-w || m.Sent > at+w {
		reject(&c.counters.Rejected.Stale, "send time outside the freshness window", "sender", m.Sender, "sent", time.Unix(0, m.Sent))
		return
	}
	net := int(m.Network)
	if !p.bootKnown || m.Boot != p.boot {
		if p.bootKnown && m.Sent <= p.lastSent {
			reject(&c.counters.Rejected.Replay, "an older boot's", "sender", m.Sender)
			return
		}
		if p.bootKnown {
			c.log.Debug("cluster: node restarted", "node", p.name)
		}
		p.boot, p.bootKnown, p.left = m.Boot, true, false
		clear(p.lastSeq)
		clear(p.echoSeq)
		clear(p.echoAt)
	} else if m.Seq <= p.lastSeq[net] {
		reject(&c.counters.Rejected.Replay, "sequence not newer", "sender", m.Sender, "seq", m.Seq, "last", p.lastSeq[net])
		return
	}
	p.lastSeq[net] = m.Seq
	p.lastSent = max(p.lastSent, m.Sent)
	p.heard[net] = now
	p.echoSeq[net], p.echoAt[net] = m.Seq, now
	c.counters.HeartbeatsReceived++
	for _, e := range m.Echoes {
		if e.Node != c.cfg.Node || e.Boot != c.boot {
			continue
		}
		for _, s := range c.sent[net] {
			if s.seq == e.Seq {
				if rtt := now.Sub(s.at) - e.Held; rtt >= 0 {
					p.rtt[net] = rtt
				}
				break
			}
		}
	}

	p.facts = make(map[string]facts, len(m.Groups))
	for _, v := range m.Groups {
		g := c.byName[v.Name]
		if g == nil {
			continue
		}
		p.facts[v.Name] = facts{state: v.State, failed: v.Failed, noLease: v.NoLease, move: v.Move, moveEpoch: v.MoveEpoch}
		c.mergeLocked(g, v.Claim)
	}
	switch {
	case m.Leaving || p.left:
		// After its leaving heartbeat, a heartbeat of the same boot that
		// arrives late on another network does not bring it back.
		p.left = true
		if p.state != NodeDown {
			c.downLocked(p, "it left the cluster")
		}
	case p.state != NodeUp:
		c.upLocked(p, now)
	}
	c.notifyLocked()
	c.evaluateLocked(now)
}

// mergeLocked adopts in when it supersedes g's claim.
func (c *Cluster) mergeLocked(g *group, in claim) {
	if !newer(in, g.claim, g.def.Nodes) {
		return
	}
	if c.mineLocked(g) && (in.Holder != c.cfg.Node || in.Boot != c.boot) {
		c.log.Warn("cluster: another node holds the group at a newer epoch: deactivating it here",
			"group", g.def.Name, "holder", in.Holder, "epoch", in.Epoch, "was", g.claim.Epoch)
	}
	g.claim = in
	g.claimedBy[in.Holder] = max(g.claimedBy[in.Holder], in.Epoch)
	c.announceLocked(g)
}

// announceLocked reports a new holder.
func (c *Cluster) announceLocked(g *group) {
	cl := g.claim
	if cl.Released || cl.Holder == "" || (cl.Holder == g.announced.Holder && cl.Epoch == g.announced.Epoch) {
		return
	}
	g.announced = cl
	c.emitLocked(ha.Event{Kind: ha.EventHolderChanged, Group: g.def.Name, Node: cl.Holder, Epoch: cl.Epoch,
		Message: fmt.Sprintf("Group %s is held by %s from epoch %d.", g.def.Name, cl.Holder, cl.Epoch)})
}

// upLocked records that p is heard: up, and the end of an isolation.
func (c *Cluster) upLocked(p *peer, now time.Time) {
	p.state, p.silent = NodeUp, false
	delete(c.fenced, p.name)
	c.emitLocked(ha.Event{Kind: ha.EventNodeUp, Node: p.name, Message: fmt.Sprintf("Node %s is up: its heartbeats arrive.", p.name)})
	if c.isolated {
		c.isolated = false
		for _, q := range c.peers {
			if q.state != NodeUp {
				q.state, q.silent, q.since = NodeUnknown, false, now
			}
		}
		c.log.Warn("cluster: no longer isolated: a node is heard again", "node", p.name)
	}
}

// downLocked records that p is down.
func (c *Cluster) downLocked(p *peer, why string) {
	p.state, p.silent = NodeDown, false
	c.emitLocked(ha.Event{Kind: ha.EventNodeDown, Node: p.name, Message: fmt.Sprintf("Node %s is down: %s.", p.name, why)})
}

// checkPeersLocked finds the peers silent for Timeout and resolves them:
// down when another node is still heard or no witness is configured,
// else by probing the witness.
func (c *Cluster) checkPeersLocked(now time.Time) {
	if c.isolated || c.fencing {
		return
	}
	anyUp := false
	var silent []*peer
	for _, p := range c.peers {
		switch p.state {
		case NodeUp:
			if now.Sub(p.lastHeard()) >= c.cfg.Timeout {
				p.state, p.silent, p.since = NodeUnknown, true, now
				c.log.Warn("cluster: node silent on every network", "node", p.name, "timeout", c.cfg.Timeout)
			}
		case NodeUnknown:
			if !p.silent && now.Sub(p.since) >= c.cfg.Timeout {
				p.silent = true
			}
		}
		anyUp = anyUp || p.state == NodeUp
		if p.silent {
			silent = append(silent, p)
		}
	}
	switch {
	case len(silent) == 0:
	case anyUp:
		for _, p := range silent {
			c.downLocked(p, "silent for "+c.cfg.Timeout.String()+" while another node is heard")
		}
		c.notifyLocked()
	case c.o.witness == nil:
		for _, p := range silent {
			c.downLocked(p, "silent for "+c.cfg.Timeout.String()+" (no witness configured)")
		}
		c.notifyLocked()
	case !c.probing:
		c.probing = true
		rs := c.rs
		rs.wg.Go(func() { c.probe(rs.ctx) })
	}
}

// probe asks the witness and resolves the peers still silent.
func (c *Cluster) probe(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, c.cfg.WitnessTimeout)
	err := c.o.witness.Probe(pctx)
	cancel()
	c.mu.Lock()
	defer c.unlock()
	c.probing = false
	if !c.running || c.stoppingLocked() || ctx.Err() != nil || c.isolated {
		return
	}
	now := time.Now()
	anyUp := false
	var silent []*peer
	for _, p := range c.peers {
		anyUp = anyUp || p.state == NodeUp
		if p.silent {
			silent = append(silent, p)
		}
	}
	switch {
	case len(silent) == 0:
		return
	case err == nil || anyUp:
		for _, p := range silent {
			c.downLocked(p, "silent for "+c.cfg.Timeout.String()+", and the witness answers")
		}
	default:
		c.isolateLocked(err)
	}
	c.notifyLocked()
	c.evaluateLocked(now)
}

// isolateLocked self-fences: this node hears nobody and cannot reach the
// witness. Actions in progress are cancelled and every group is taken
// offline here; nothing is taken over until a node is heard again.
func (c *Cluster) isolateLocked(cause error) {
	c.isolated, c.fencing = true, true
	c.counters.Isolations++
	for _, p := range c.peers {
		p.silent = false
	}
	c.emitLocked(ha.Event{Kind: ha.EventIsolated, Node: c.cfg.Node, Err: cause,
		Message: fmt.Sprintf("Node %s is isolated: it hears no other node and cannot reach the witness (%v); it deactivates its groups.", c.cfg.Node, cause)})
	busy := map[*group]bool{}
	for _, g := range c.groups {
		if g.busy {
			busy[g] = true
			g.cancel()
		}
		if g.stopRenew != nil {
			g.stopRenew()
			g.stopRenew = nil
		}
		g.intent = idle
	}
	rs := c.rs
	rs.wg.Go(func() { c.fence(rs.ctx, busy) })
}

// fence takes every group offline here (OfflineAll), then, once the
// actions that were in progress have ended, deactivates again any group
// one of them brought online, and releases the claims and leases held.
func (c *Cluster) fence(ctx context.Context, busy map[*group]bool) {
	err := c.engine.OfflineAll(ctx)
	c.waitIdle(ctx)
	c.mu.Lock()
	var again []*group
	var grants []ha.Grant
	for _, g := range c.groups {
		switch {
		case busy[g] && g.local != ha.Offline:
			again = append(again, g)
		case err != nil:
			g.local = ha.Failed
		default:
			g.local = ha.Offline
		}
		if c.mineLocked(g) {
			g.claim.Released, g.claim.Next = true, ""
		}
		if g.grant.Key != "" {
			grants = append(grants, g.grant)
			g.grant = ha.Grant{}
		}
	}
	c.unlock()
	if err != nil {
		c.log.Warn("cluster: self-fence: not every group went offline", "err", err)
	}
	for _, g := range again {
		err := c.engine.Offline(ctx, g.def.Name)
		c.mu.Lock()
		g.local = ha.Offline
		if err != nil {
			g.local, g.lastErr, g.retryAt = ha.Failed, err, time.Now().Add(c.cfg.Timeout)
		}
		c.mu.Unlock()
	}
	c.releaseGrants(ctx, grants)
	c.mu.Lock()
	defer c.unlock()
	c.fencing = false
	c.notifyLocked()
	c.sendSoonLocked()
	c.evaluateLocked(time.Now())
}

// waitIdle waits until no group has an action in progress, or ctx ends.
func (c *Cluster) waitIdle(ctx context.Context) {
	for {
		c.mu.Lock()
		busy := false
		for _, g := range c.groups {
			busy = busy || g.busy
		}
		ch := c.changed
		c.mu.Unlock()
		if !busy {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

// mineLocked reports whether this node holds g's live claim.
func (c *Cluster) mineLocked(g *group) bool {
	return g.claim.Holder == c.cfg.Node && g.claim.Boot == c.boot && !g.claim.Released
}

// liveLocked reports whether g's claim is held by a node up in the boot
// that made it.
func (c *Cluster) liveLocked(g *group) bool {
	cl := g.claim
	switch {
	case cl.Holder == "" || cl.Released:
		return false
	case cl.Holder == c.cfg.Node:
		return cl.Boot == c.boot && !c.isolated
	}
	p := c.byPeer[cl.Holder]
	return p != nil && p.state == NodeUp && p.bootKnown && p.boot == cl.Boot
}

// settledLocked reports whether every peer is known up or down: before
// that, this node takes nothing over (a peer not heard yet may hold it).
func (c *Cluster) settledLocked() bool {
	for _, p := range c.peers {
		if p.state == NodeUnknown {
			return false
		}
	}
	return true
}

// situationLocked is what this node knows of g.
func (c *Cluster) situationLocked(g *group) situation {
	s := situation{Nodes: g.def.Nodes, AutoFailback: g.def.AutoFailback, Claim: g.claim, Live: c.liveLocked(g),
		Up: map[string]bool{}, Failed: map[string]bool{}, NoLease: map[string]bool{}}
	for _, n := range c.cfg.Nodes {
		if n.Name == c.cfg.Node {
			if !c.isolated {
				s.Up[n.Name], s.Failed[n.Name], s.NoLease[n.Name] = true, g.failed, time.Now().Before(g.noLeaseUntil)
				if g.move != "" && g.moveEpoch == g.claim.Epoch {
					s.Moves = append(s.Moves, g.move)
				}
			}
			continue
		}
		p := c.byPeer[n.Name]
		f, knows := p.facts[g.def.Name]
		if p.state != NodeUp || !knows {
			continue
		}
		s.Up[p.name], s.Failed[p.name], s.NoLease[p.name] = true, f.failed, f.noLease
		if f.move != "" && f.moveEpoch == g.claim.Epoch {
			s.Moves = append(s.Moves, f.move)
		}
	}
	return s
}

// evaluateLocked decides what this node should do about every group and
// wakes the groups' actors.
func (c *Cluster) evaluateLocked(now time.Time) {
	if !c.running || c.stoppingLocked() || c.fencing || c.isolated {
		return
	}
	settled := c.settledLocked()
	for _, g := range c.groups {
		w := want(c.situationLocked(g))
		mine := c.mineLocked(g)
		switch {
		case mine && (g.failover || g.dropLease):
			g.intent, g.next = release, ""
		case mine && w != c.cfg.Node:
			g.intent, g.next = release, w
		case mine:
			g.intent, g.next = keep, ""
		case w == c.cfg.Node && settled && !c.liveLocked(g) && (!now.Before(g.notBefore) || (g.busy && g.intent == takeOver)):
			// (A takeover in flight keeps its intent: were it set to idle
			// until notBefore, the attempt would end by releasing the hold
			// it has just acquired.)
			g.intent, g.next = takeOver, ""
		default:
			g.intent, g.next = idle, ""
		}
		select {
		case g.wake <- struct{}{}:
		default:
		}
	}
}
