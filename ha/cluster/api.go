package cluster

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/minato-ops/minato/ha"
)

// Move moves group to node (an operator's group move) and returns once
// node holds it online, at a new epoch: the holder deactivates it, then
// node activates it. It may be called on any node. A move to a node where
// the group failed is allowed: it clears the failure there. Move to the
// node that already holds it returns nil at once.
//
// Errors: [ha.ErrUnknownGroup]; [ha.ErrNotStartable] (node is not one of
// the group's Nodes); [ErrNodeDown] (node is not up, or went down); and
// [ErrMoveFailed] when the holder could not deactivate it, or node could
// not activate it (the group then goes where the cluster's rules put it);
// [ErrNotRunning], [ErrIsolated]; ctx's error when it ends first (the
// move may still complete).
func (c *Cluster) Move(ctx context.Context, group, node string) error {
	fail := func(err error) error { return fmt.Errorf("cluster: move %s to %s: %w", group, node, err) }
	c.mu.Lock()
	g := c.byName[group]
	switch {
	case g == nil:
		c.unlock()
		return fail(ha.ErrUnknownGroup)
	case !slices.Contains(g.def.Nodes, node):
		c.unlock()
		return fail(ha.ErrNotStartable)
	}
	if done, err := c.moveStateLocked(g, node, g.claim.Epoch); done {
		c.unlock()
		if err != nil {
			return fail(err)
		}
		return nil
	}
	start := g.claim.Epoch
	g.move, g.moveEpoch = node, start
	c.log.Debug("cluster: move requested", "group", group, "to", node, "epoch", start)
	c.evaluateLocked(time.Now())
	c.sendSoonLocked()
	c.unlock()
	defer func() {
		c.mu.Lock()
		if g.move == node {
			g.move, g.moveEpoch = "", 0
			c.sendSoonLocked()
		}
		c.unlock()
	}()
	for {
		c.mu.Lock()
		done, err := c.moveStateLocked(g, node, start)
		if !done && g.move == node && g.claim.Epoch > g.moveEpoch && g.claimedBy[node] <= start {
			// The group changed hands meanwhile (or this node had not
			// heard of the last change yet): ask its new holder.
			g.moveEpoch = g.claim.Epoch
			c.evaluateLocked(time.Now())
			c.sendSoonLocked()
		}
		ch := c.changed
		c.mu.Unlock()
		if done {
			if err != nil {
				return fail(err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-ch:
		}
	}
}

// moveStateLocked reports whether a move of g to node, asked when g's
// epoch was start, is over, and how.
func (c *Cluster) moveStateLocked(g *group, node string, start ha.Epoch) (bool, error) {
	cl := g.claim
	switch {
	case !c.running:
		return true, ErrNotRunning
	case c.isolated:
		return true, ErrIsolated
	case !c.nodeUpLocked(node, g):
		return true, fmt.Errorf("%w: %s", ErrNodeDown, node)
	case cl.Holder == node && !cl.Released && c.liveLocked(g) && c.groupStateLocked(g, node) == ha.Online:
		return true, nil
	case g.claimedBy[node] > start && (cl.Holder != node || cl.Released):
		// node took it over after the request, and holds it no more.
		return true, fmt.Errorf("%w: %s could not activate it", ErrMoveFailed, node)
	case cl.Holder != node && !cl.Released && c.liveLocked(g) && c.groupStateLocked(g, cl.Holder) == ha.Failed:
		return true, fmt.Errorf("%w: %s could not deactivate it", ErrMoveFailed, cl.Holder)
	}
	return false, nil
}

// nodeUpLocked reports whether node is up and knows g.
func (c *Cluster) nodeUpLocked(node string, g *group) bool {
	if node == c.cfg.Node {
		return !c.isolated
	}
	p := c.byPeer[node]
	if p == nil || p.state != NodeUp {
		return false
	}
	_, knows := p.facts[g.def.Name]
	return knows
}

// groupStateLocked is node's state of g, as node last said.
func (c *Cluster) groupStateLocked(g *group, node string) ha.GroupState {
	if node == c.cfg.Node {
		return g.local
	}
	if p := c.byPeer[node]; p != nil {
		if f, ok := p.facts[g.def.Name]; ok {
			return f.state
		}
	}
	return ha.Offline
}

// Failover is what the engine calls (see [ha.WithFailover]) when recovery
// gives group up on this node: the group is marked failed here, this node
// deactivates it and releases it, and the highest-priority node that is
// up and where it has not failed takes it over at a new epoch. Failover
// returns once that is decided, without waiting for the deactivation
// (which runs on the cluster's goroutine, so the engine may call Offline
// itself meanwhile). It returns an error wrapping [ha.ErrNoFailover] when
// no other node can take the group (none up, or it failed on all of
// them), and another error when this node does not hold group (or the
// cluster is not running): then nothing changes.
func (c *Cluster) Failover(ctx context.Context, group string, reason error) error {
	c.mu.Lock()
	defer c.unlock()
	g := c.byName[group]
	switch {
	case g == nil:
		return fmt.Errorf("cluster: failover %s: %w", group, ha.ErrUnknownGroup)
	case !c.running:
		return fmt.Errorf("cluster: failover %s: %w", group, ErrNotRunning)
	case !c.mineLocked(g) || c.isolated:
		return fmt.Errorf("cluster: failover %s: this node does not hold it", group)
	}
	s := c.situationLocked(g)
	s.Failed[c.cfg.Node] = true
	s.Live, s.Claim.Released, s.Claim.Next, s.Moves = false, true, "", nil
	next := want(s)
	if next == "" || next == c.cfg.Node {
		return fmt.Errorf("cluster: failover %s: %w: no other node is up where it has not failed", group, ha.ErrNoFailover)
	}
	g.failed, g.failover = true, true
	c.counters.Failovers++
	c.log.Warn("cluster: failing the group over", "group", group, "from", c.cfg.Node, "to", next, "reason", reason)
	c.evaluateLocked(time.Now())
	c.notifyLocked()
	return nil
}

// Holds reports whether this node holds group now, and under which
// epoch: it claimed it, the engine brought it online here, this node is
// not isolated or leaving, and, with a lease, the hold is live (it ends a
// tenth of the lease TTL before the grant's Valid, and at once when a
// renewal fails). Jobs that must run on the active node only, and
// resources fencing their writes, ask this.
func (c *Cluster) Holds(group string) (ha.Epoch, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.byName[group]
	if g == nil || !c.running || c.leaving || c.isolated || c.fencing || !c.mineLocked(g) ||
		g.local != ha.Online || g.epoch != g.claim.Epoch {
		return 0, false
	}
	if c.o.lease != nil && (g.dropLease || !c.usable(g.grant, time.Now())) {
		return 0, false
	}
	return g.claim.Epoch, true
}

// NodeState is a node's state as this node sees it.
type NodeState string

// Node states.
const (
	// NodeUp: heard on at least one network within Timeout (this node:
	// running and not isolated).
	NodeUp NodeState = "up"
	// NodeDown: silent for Timeout, and the witness answered (or none is
	// configured, or another node is still heard), or it left the
	// cluster.
	NodeDown NodeState = "down"
	// NodeIsolated: this node hears no other node and cannot reach the
	// witness; it has deactivated its groups.
	NodeIsolated NodeState = "isolated"
	// NodeUnknown: not heard since this node started (for up to
	// Timeout), silent while the witness is asked, or not judged while
	// this node is isolated or not running.
	NodeUnknown NodeState = "unknown"
)

// Status is a snapshot of the cluster as this node sees it.
type Status struct {
	Cluster string `json:"cluster"`
	// Node is this node's name; Running whether Run is running.
	Node    string `json:"node"`
	Running bool   `json:"running"`
	// Nodes are every node, this one included, in configuration order.
	Nodes []NodeStatus `json:"nodes"`
	// Groups are the groups in the order given to New.
	Groups   []GroupStatus `json:"groups"`
	Counters Counters      `json:"counters"`
}

// NodeStatus is one node.
type NodeStatus struct {
	Name  string    `json:"name"`
	Self  bool      `json:"self,omitempty"`
	State NodeState `json:"state"`
	// Networks are the node's heartbeat networks, in order.
	Networks []NetworkStatus `json:"networks"`
}

// NetworkStatus is one heartbeat network of one node.
type NetworkStatus struct {
	Address string `json:"address"`
	// LastHeard is when a heartbeat of the node last arrived on this
	// network (zero: not yet; always zero for this node).
	LastHeard time.Time `json:"last_heard,omitzero"`
	// RTT is the last round-trip time measured on this network (zero:
	// not yet), in nanoseconds in JSON.
	RTT time.Duration `json:"rtt,omitempty"`
}

// GroupStatus is one group.
type GroupStatus struct {
	Name string `json:"name"`
	// Holder is the node holding the group, "" when none does (it was
	// released, or never started); Epoch is the newest epoch known.
	Holder string   `json:"holder,omitempty"`
	Epoch  ha.Epoch `json:"epoch,omitempty"`
	// State is the holder's state of the group, as it last said (offline
	// when no node holds it, or its holder is not up).
	State ha.GroupState `json:"state"`
	// Local is this node's state of the group; LocalError the error of
	// this node's last activation or deactivation of it that failed
	// (cleared when this node takes it over again).
	Local      ha.GroupState `json:"local"`
	LocalError string        `json:"local_error,omitempty"`
	// FailedOn are the nodes where the group failed (activation failed
	// or recovery gave it up), as each last said, in configuration order.
	FailedOn []string `json:"failed_on,omitempty"`
}

// Counters count since [New].
type Counters struct {
	// HeartbeatsSent counts datagrams sent (one per network and peer).
	HeartbeatsSent uint64 `json:"heartbeats_sent"`
	// HeartbeatsReceived counts datagrams accepted.
	HeartbeatsReceived uint64 `json:"heartbeats_received"`
	// HeartbeatsRejected counts datagrams rejected, for the reasons in
	// Rejected.
	HeartbeatsRejected uint64     `json:"heartbeats_rejected"`
	Rejected           Rejections `json:"rejected"`
	// Takeovers counts groups this node took over; Failovers the groups
	// that left this node because they failed here.
	Takeovers uint64 `json:"takeovers"`
	Failovers uint64 `json:"failovers"`
	// Isolations counts self-fences; LeasesLost the lease holds lost.
	Isolations uint64 `json:"isolations"`
	LeasesLost uint64 `json:"leases_lost"`
}

// Rejections counts rejected heartbeats by reason.
type Rejections struct {
	// MAC: the HMAC did not match (wrong key, tampered).
	MAC uint64 `json:"mac"`
	// Malformed: too short, too long or undecodable, or sent for another
	// network.
	Malformed uint64 `json:"malformed"`
	// Cluster: authenticated, but for another cluster.
	Cluster uint64 `json:"cluster"`
	// Sender: not from another node of this cluster.
	Sender uint64 `json:"sender"`
	// Stale: the send time is outside the freshness window.
	Stale uint64 `json:"stale"`
	// Replay: the sequence is not newer than the last from that boot, or
	// it is from a boot older than the newest one heard.
	Replay uint64 `json:"replay"`
}

// Status returns a snapshot of the cluster as this node sees it.
func (c *Cluster) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Status{Cluster: c.cfg.Cluster, Node: c.cfg.Node, Running: c.running, Counters: c.counters}
	for _, n := range c.cfg.Nodes {
		ns := NodeStatus{Name: n.Name}
		if n.Name == c.cfg.Node {
			ns.Self = true
			switch {
			case !c.running:
				ns.State = NodeUnknown
			case c.isolated:
				ns.State = NodeIsolated
			default:
				ns.State = NodeUp
			}
			for _, a := range n.Addresses {
				ns.Networks = append(ns.Networks, NetworkStatus{Address: a})
			}
		} else {
			p := c.byPeer[n.Name]
			ns.State = p.state
			if !c.running || c.isolated {
				ns.State = NodeUnknown
			}
			for i, a := range p.addrs {
				ns.Networks = append(ns.Networks, NetworkStatus{Address: a, LastHeard: p.heard[i], RTT: p.rtt[i]})
			}
		}
		st.Nodes = append(st.Nodes, ns)
	}
	for _, g := range c.groups {
		gs := GroupStatus{Name: g.def.Name, Epoch: g.claim.Epoch, State: ha.Offline, Local: g.local}
		if g.lastErr != nil {
			gs.LocalError = g.lastErr.Error()
		}
		if !g.claim.Released {
			gs.Holder = g.claim.Holder
		}
		if c.liveLocked(g) {
			gs.State = c.groupStateLocked(g, g.claim.Holder)
		}
		for _, n := range c.cfg.Nodes {
			failed := g.failed
			if n.Name != c.cfg.Node {
				failed = c.byPeer[n.Name].facts[g.def.Name].failed
			}
			if failed {
				gs.FailedOn = append(gs.FailedOn, n.Name)
			}
		}
		st.Groups = append(st.Groups, gs)
	}
	return st
}
