// Package cluster is one node's membership in a minato HA cluster of two
// or three nodes: it exchanges heartbeats with the other nodes over one
// or more networks, decides with them which node holds each failover
// group, and drives this node's group engine ([ha.Engine], through the
// narrow [Engine] interface): Online where this node takes a group over,
// Offline where it gives one up, OfflineAll when it finds itself
// isolated. It plays the part of CLUSTERPRO's heartbeat, network
// partition resolution and group placement; the engine does the rest
// (activation order, monitors, recovery).
//
// # Usage
//
//	key, err := os.ReadFile("/etc/minato/cluster.key") // >= 32 random bytes, mode 0600
//	...
//	var c *cluster.Cluster
//	eng, err := ha.NewEngine(cfg.Node, groups,
//		ha.WithFailover(func(ctx context.Context, g string, reason error) error {
//			return c.Failover(ctx, g, reason)
//		}),
//		ha.WithStopService(func(ctx context.Context, reason error) { stopCluster() }))
//	c, err = cluster.New(cfg, key, groups, eng,
//		cluster.WithWitness(httpWitness), // CLUSTERPRO's HTTP network partition resolution
//		cluster.WithLease(etcdLease),     // optional: exclusivity
//		cluster.WithEvents(notify), cluster.WithLogger(log))
//	go eng.Run(ctx)
//	err = c.Run(ctx) // until ctx ends; then every group here goes offline
//
// Every node has the same [Config] (but its Node), key and groups.
//
// # Heartbeats
//
// Every Interval each node sends one datagram (UDP by default) to every
// other node on every network. A datagram carries: the cluster name, the
// sender, its boot ID (random at every [Cluster.Run]), a sequence number
// (growing within the boot), its network index, the send time (wall
// clock), a "leaving" flag, an echo per peer (the last sequence received
// from it on this network and how long ago, which gives round-trip
// times), and the sender's view of every group: the claim it knows
// (holder, the holder's boot, epoch, released, and the node it was
// released to) and its own facts (its state of the group, whether the
// group failed on it, whether it could not reach the lease store, and a
// pending move request with the epoch it was made at). The failed-on set
// of a group is the union of these flags: each node speaks only for
// itself, so no two nodes ever disagree about the same fact.
//
// The encoding is binary and canonical ("MNHB", version 1, big-endian,
// names length-prefixed), at most [MaxDatagram] bytes, followed by an
// HMAC-SHA256 of everything before it under the shared key. A receiver
// rejects, and counts in [Counters].Rejected, a datagram that is too short
// or long or malformed, whose MAC is wrong, of another cluster, not from
// another node of this cluster, sent for another network, whose send time
// is further than MaxClockSkew from the receiver's clock (an old
// capture), whose sequence is not newer than the last from that boot on
// that network (a replay), or from an older boot than the newest heard (a
// replay of a previous run's datagrams). Clocks must agree within
// MaxClockSkew (NTP); nothing else depends on them.
//
// A peer is up while a heartbeat of it arrived on any network within
// Timeout. It is unknown from this node's start until first heard (for
// at most Timeout: until every peer is up or down this node takes no
// group over, since one not heard yet may hold it), and while it is
// silent and the witness has not answered yet.
//
// # Holders and epochs
//
// A claim is the record "node N, in boot B, holds group G since epoch
// E" (or released it). Every node keeps the newest claim it has seen of
// each group and sends it on: a higher epoch wins; at the same epoch a
// holder's release wins over its hold; two holders at the same epoch (a
// split brain without a lease) are ordered by the group's priority, then
// name. The order is total, so every node that has heard the same claims
// keeps the same one. A claim is live while its holder is up in the boot
// that made it and has not released it.
//
// From its view every node computes the node that should hold each group
// (the same on every node with the same view):
//
//   - a live holder keeps it (no failback), unless an operator's move
//     names another up node, or the group's AutoFailback is set and an
//     up node of higher priority where it has not failed exists;
//   - otherwise the node the released claim names (a move, a failback),
//     or the target of a pending move, or else the first node of the
//     group's Nodes that is up, where it has not failed and that could
//     reach the lease store lately.
//
// Only the holder releases (it deactivates the group, then publishes the
// release) and only the chosen node takes over: it claims the group at
// the highest epoch seen plus one, publishes the claim, then calls
// Online. A node whose claim is superseded (a newer one from the other
// side of a healed partition) deactivates the group. Without a lease the
// first epoch of a group no node remembers is the time in seconds
// shifted left 16 bits, so epochs keep growing across restarts of the
// whole cluster as long as clocks do; with a lease the epoch is the
// lease's (etcd's revision of the hold).
//
// An activation that fails (Online returns an error) marks the group
// failed here and releases it: the next node takes it. [Cluster.Failover]
// (the engine's recovery giving the group up here) does the same. A
// deactivation that fails keeps the claim, so that no other node starts
// what may still be active here; it is retried after Timeout, and the
// holder then brings the group back online. [Cluster.Move] asks the
// holder to release the group to a node; a move to a node where the group
// failed clears the failure there. A node that starts again (a new boot)
// is a new node: claims of its old boot are not live, and the group is
// taken over again at a new epoch.
//
// # Decision table
//
// When a peer P has been silent on every network for Timeout, this node
// N decides:
//
//	row | situation                                  | witness      | N concludes     | N does
//	----+--------------------------------------------+--------------+-----------------+------------------------------------------
//	 1  | P heard on at least one network            | not asked    | P up            | nothing changes
//	 2  | P silent, another peer heard (3 nodes)     | not asked    | P down          | takes over what P held, by priority
//	 3  | P silent, no peer heard                    | reachable    | P down          | takes over what P held, by priority
//	 4  | P silent, no peer heard                    | unreachable  | N isolated      | Engine.OfflineAll (self-fence), releases
//	    |                                            |              |                 | its claims and leases, takes nothing over
//	    |                                            |              |                 | until a peer is heard again
//	 5  | P silent                                   | none set     | P down          | takes over: split brain prone, see below
//	 6  | P's last heartbeat says it leaves          | not asked    | P down at once  | takes over without waiting for Timeout
//	 7  | lease: the group's key is held by another  | -            | -               | never activates; tries again every
//	    |                                            |              |                 | Interval; follows the holder's claim
//	 8  | lease: a renewal fails, or the hold is     | -            | -               | Engine.Offline at once (lease_lost),
//	    | within LeaseTTL/10 of its Valid unrenewed  |              |                 | releases; no candidate for Timeout
//	 9  | N isolated hears a peer again              | -            | not isolated    | follows the claims it hears; peers still
//	    |                                            |              |                 | silent are unknown for another Timeout
//
// The witness is probed once, when peers fall silent (bounded by
// WitnessTimeout), not while they stay silent: a witness outage after a
// peer is known down does not stop the survivor. An isolated node
// stays isolated until it hears a peer: if every other node is down too,
// nothing runs, as with CLUSTERPRO.
//
// With a lease ([WithLease], key "<cluster>/<group>" under the store's prefix), taking
// a group over requires acquiring its key; the holder renews every
// LeaseTTL/3 and stops acting under a hold LeaseTTL/10 before its Valid
// time, which is measured on the local monotonic clock from before the
// request: a node that was frozen (SIGSTOP) and resumes finds its hold
// stale first, and deactivates; [Cluster.Holds] says false from that
// instant.
//
// # Guarantees, and what is not guaranteed
//
// With a lease, at most one node holds a group's key at a time, and a
// node activates a group only under a live hold: two nodes never run a
// group at once, provided deactivations finish within LeaseTTL/10 and
// the lease store keeps its promise. Every change of holder has a
// greater epoch than every earlier one, and resources can fence their
// writes with it ([ha.EpochFrom]).
//
// Without a lease nothing is exclusive. A witness tells a dead peer from
// this node's isolation, but two nodes cut from each other that both
// reach the witness both take the other for down and both hold its
// groups (split brain; the standby at the next epoch, or both at one
// epoch when neither held the group); without a witness every cut does
// that. The split ends when the nodes hear each other again: the claim
// first in the order above wins and the other node deactivates. A node
// cut from its peer and from the witness fences itself only when its
// witness probe times out, while the peer, whose probe answers at once,
// has taken over: the two overlap for up to Config.WitnessTimeout. Use a
// lease, or resources that fence on the epoch, where that matters.
//
// # Events
//
// [WithEvents] receives node_up, node_down, isolated, holder_changed (on
// every node that learns of a new holder), failover (an activation that
// failed here; the failover the engine asks for is reported by the
// engine) and lease_lost, as [ha.Event]s.
//
// # Tests
//
// [MemNetwork] is an in-memory network, with partitions and delays, that
// works inside testing/synctest bubbles: clusters of several nodes run in
// one test process on the bubble's clock.
package cluster
