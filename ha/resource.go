package ha

import (
	"context"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// Resource is something a [Group] keeps on exactly one node at a time: a
// container, a script's service, a virtual IP, a DNS record. Its Check is
// the monitor CLUSTERPRO adds for every resource.
//
// Activate brings the resource up on node (this node, a Target of kind
// [inventory.KindNode]) and returns once it is usable, or an error; it is
// idempotent: activating an active resource succeeds without changing it.
// Deactivate takes it down on node; deactivating an inactive resource
// succeeds. Both honour ctx's deadline (the member's activate or deactivate
// timeout) and may read the holder's fencing epoch with [EpochFrom]: a
// resource that writes to a shared system should refuse to act when its
// epoch is older than one it has seen there. An error means the resource
// is not in the asked state, or its state is unknown; return a
// [*ResourceError] to give it CLUSTERPRO's numbered code.
//
// Check reports the resource's health on node: OK when it is active and
// healthy, Warning when degraded, Critical when it failed or is not
// active. A non-nil error means the state could not be learned (the API or
// service that tells was unreachable, the check timed out): the member's
// [RecoveryPolicy].OnUnreachable decides what follows, not the recovery.
//
// Methods may be called from several goroutines, but a Group never runs
// Activate and Deactivate of one resource at the same time.
type Resource interface {
	monitor.Monitor
	Activate(ctx context.Context, node inventory.Target) error
	Deactivate(ctx context.Context, node inventory.Target) error
}

// Epoch is a fencing token: it grows by at least one every time a group
// changes holder (or is started again after it stopped everywhere), so an
// action taken under an older epoch can be recognised and refused.
type Epoch uint64

type epochKey struct{}

// WithEpoch returns a context carrying the holder's epoch for the
// resource and job actions started under it.
func WithEpoch(ctx context.Context, e Epoch) context.Context {
	return context.WithValue(ctx, epochKey{}, e)
}

// EpochFrom returns the epoch ctx carries, and whether it carries one.
func EpochFrom(ctx context.Context) (Epoch, bool) {
	e, ok := ctx.Value(epochKey{}).(Epoch)
	return e, ok
}

// NodeTarget returns the Target of a cluster node named name.
func NodeTarget(name string) inventory.Target {
	return inventory.Target{Kind: inventory.KindNode, ID: name, Name: name}
}
