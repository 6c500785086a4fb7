package cluster

import (
	"slices"
	"time"

	"github.com/minato-ops/minato/ha"
)

// newer reports whether claim a supersedes claim b for a group whose
// nodes, in priority order, are prio. The order is total, so every node
// that has seen the same claims keeps the same one: a higher epoch wins;
// at the same epoch the holder's release supersedes its hold; two holders
// at the same epoch (a split brain without a lease) are ordered by the
// group's priority, then by name, then by boot.
func newer(a, b claim, prio []string) bool {
	if a.Epoch != b.Epoch {
		return a.Epoch > b.Epoch
	}
	if a.Holder == b.Holder && a.Boot == b.Boot {
		return a.Released && !b.Released
	}
	if pa, pb := rank(prio, a.Holder), rank(prio, b.Holder); pa != pb {
		return pa < pb
	}
	if a.Holder != b.Holder {
		return a.Holder < b.Holder
	}
	return a.Boot > b.Boot
}

// rank is n's position in prio, or len(prio) when absent.
func rank(prio []string, n string) int {
	if i := slices.Index(prio, n); i >= 0 {
		return i
	}
	return len(prio)
}

// situation is what one node knows of one group when it decides.
type situation struct {
	// Nodes are the group's nodes in priority order.
	Nodes []string
	// AutoFailback is the group's.
	AutoFailback bool
	// Claim is the newest claim known; Live says its holder is up in the
	// boot that claimed it and has not released it.
	Claim claim
	Live  bool
	// Up holds the nodes up (from this node's view, itself included
	// unless isolated) that run the group; Failed those where it failed;
	// NoLease those that could not reach the lease store lately.
	Up, Failed, NoLease map[string]bool
	// Moves are the targets of pending move requests of up nodes, made
	// at Claim's epoch, in configuration order of the requesters.
	Moves []string
}

// want returns the node that should hold the group now, "" for none:
//
//   - a live holder keeps it, unless a move request names another up node
//     (that node), or AutoFailback is set and an up node of higher
//     priority where it has not failed exists (the first such node);
//   - otherwise: the node a released claim handed it to (Next) if up; else
//     the target of a move request if up; else the first node of Nodes
//     that is up and where the group has not failed.
//
// A node that could not reach the lease store lately counts as not up.
// An operator's move (Next, Moves) may name a node where the group failed:
// that is how an operator clears a failure.
func want(s situation) string {
	up := func(n string) bool { return n != "" && s.Up[n] && !s.NoLease[n] && slices.Contains(s.Nodes, n) }
	eligible := func(n string) bool { return up(n) && !s.Failed[n] }
	if s.Live {
		h := s.Claim.Holder
		for _, t := range s.Moves {
			if t != h && up(t) {
				return t
			}
		}
		if s.AutoFailback {
			for _, n := range s.Nodes {
				if n == h {
					break
				}
				if eligible(n) {
					return n
				}
			}
			if !slices.Contains(s.Nodes, h) {
				if i := slices.IndexFunc(s.Nodes, eligible); i >= 0 {
					return s.Nodes[i]
				}
			}
		}
		return h
	}
	if s.Claim.Released && up(s.Claim.Next) {
		return s.Claim.Next
	}
	for _, t := range s.Moves {
		if up(t) {
			return t
		}
	}
	if i := slices.IndexFunc(s.Nodes, eligible); i >= 0 {
		return s.Nodes[i]
	}
	return ""
}

// nextEpoch is the epoch of a takeover without a lease: one more than the
// highest seen; when none was seen (a cluster started afresh, where no
// node remembers the last epoch), the start's time in seconds shifted
// left 16 bits, so epochs keep growing across restarts of the whole
// cluster as long as clocks move forward.
func nextEpoch(highest ha.Epoch, now time.Time) ha.Epoch {
	if highest > 0 {
		return highest + 1
	}
	if s := now.Unix(); s > 0 {
		return ha.Epoch(s) << 16
	}
	return 1
}
