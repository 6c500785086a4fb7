package ha

import (
	"context"
	"errors"
	"time"
)

// Witness resolves network partitions the way CLUSTERPRO's network
// partition resolution does: a node that stops hearing a peer probes a
// device both can reach. Reachable, the node concludes the peer is down;
// unreachable, that it is itself isolated, and it deactivates its groups.
// A Witness proves reachability, not exclusivity: two nodes cut from each
// other that both reach it both conclude the other is down. Use a [Lease]
// for exclusivity.
//
// Probe returns nil when the witness answered as healthy within ctx's
// deadline, an error saying why not otherwise. It must be safe for
// concurrent use.
type Witness interface {
	Probe(ctx context.Context) error
}

// WitnessFunc adapts a function to [Witness].
type WitnessFunc func(ctx context.Context) error

// Probe calls f(ctx).
func (f WitnessFunc) Probe(ctx context.Context) error { return f(ctx) }

// Lease is an exclusive, expiring hold on a key in a store all nodes
// share (etcd), the witness that gives exclusivity: at most one node holds
// a group's key at a time, and each new hold carries a larger [Epoch].
//
// Acquire makes node the holder of key for ttl when nobody holds it (or
// node already does), returning the Grant; it returns an error wrapping
// [ErrHeld] with the current holder when another node holds it, and
// another error when the store could not be asked. Renew extends a Grant
// for another ttl, failing with [ErrLost] when the hold is gone (expired,
// taken after expiry, or the store says so). Release gives the hold up
// (a Grant already lost is not an error). Holder returns who holds key
// now ("" and 0 when nobody does).
//
// Implementations must be safe for concurrent use. A Grant's Valid time is
// measured on the local monotonic clock from before the request was sent,
// so it ends no later than the store's own expiry: a node frozen past it
// must consider the hold lost, whatever it last heard.
type Lease interface {
	Acquire(ctx context.Context, key, node string, ttl time.Duration) (Grant, error)
	Renew(ctx context.Context, g Grant) (Grant, error)
	Release(ctx context.Context, g Grant) error
	Holder(ctx context.Context, key string) (node string, epoch Epoch, err error)
}

// Grant is a hold on a [Lease] key.
type Grant struct {
	// Key and Node are what was acquired and by whom.
	Key, Node string
	// Epoch grows with every new hold of Key (renewals keep it).
	Epoch Epoch
	// Valid is when the hold ends unless renewed, on this process's
	// monotonic clock: act under it only while time.Now() is before Valid.
	Valid time.Time
	// ID is the store's handle of the hold (an etcd lease ID).
	ID int64
}

// Live reports whether the hold is still valid at now.
func (g Grant) Live(now time.Time) bool { return g.Key != "" && now.Before(g.Valid) }

// Errors of a [Lease].
var (
	// ErrHeld: another node holds the key.
	ErrHeld = errors.New("ha: held by another node")
	// ErrLost: the hold expired or was taken.
	ErrLost = errors.New("ha: hold lost")
)
