// Package etcd is an [ha.Lease] on etcd v3: the witness that gives
// exclusivity. At most one node holds a group's key at a time, each new
// hold carries a larger epoch (a fencing token), and a node that stops
// renewing loses its hold after the ttl, so that a partitioned holder
// cannot keep a group that the others moved: the approach vip-manager
// and Patroni take with a leader key, with CLUSTERPRO's vocabulary of
// holders and failover.
//
// A hold is the key Prefix+key (default prefix "minato/ha/") whose value
// is the holder's node name, attached to an etcd lease of the hold's ttl.
// Acquire creates it in a transaction only when it is absent (create
// revision 0), so that of two nodes racing exactly one wins, and the
// other gets a [*HeldError] (wrapping [ha.ErrHeld]) naming the holder.
// The epoch is the key's create revision: etcd's revision grows with
// every write to the cluster, so a new hold always has a larger epoch
// than any before it. Renew is a keep-alive of the lease followed by a
// check that the key is still held under it; Release revokes the lease,
// which deletes the key. A Grant's Valid is measured from before the
// request was sent, so it ends no later than etcd's own expiry of the
// hold, and a holder that acts only while time.Now() is before Valid
// never acts after another node could have taken over (clock rates
// apart).
//
// etcd must be reachable from every node through its own quorum: a
// cluster of three or five members, ideally one per availability zone.
// With etcd unreachable, the methods fail with errors that are neither
// [ha.ErrHeld] nor [ha.ErrLost]: the hold's fate is unknown, and the
// holder keeps acting only until Valid.
//
// This package was tested against etcd 3.4 (Debian's etcd-server).
//
// # Usage
//
//	cfg := etcd.DefaultConfig()
//	cfg.Endpoints = []string{"https://10.0.1.5:2379", "https://10.0.2.5:2379", "https://10.0.3.5:2379"}
//	cfg.CAFile = "/etc/minato/etcd-ca.pem"
//	lease, err := etcd.New(cfg)
//	if err != nil {
//		return err
//	}
//	defer lease.Close()
//	g, err := lease.Acquire(ctx, "web", "node-a", 10*time.Second)
//	if errors.Is(err, ha.ErrHeld) {
//		// another node runs the group
//	}
//	// ... act while g.Live(time.Now()); renew every few seconds:
//	g, err = lease.Renew(ctx, g)
package etcd
