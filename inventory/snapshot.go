package inventory

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// More kinds of Target that appear in a [Snapshot].
const (
	// KindNetwork is one engine network; its ID is the network ID.
	KindNetwork Kind = "network"
	// KindVolume is one engine volume; its ID is the volume name.
	KindVolume Kind = "volume"
)

// Inventory lists what exists now.
//
// Snapshot returns the Items sel matches, sorted by [Target.Key], so that
// two Snapshots are comparable and [Diff] is deterministic. It must be safe
// for concurrent use and must not modify sel. A source that covers several
// engines reports each in [Snapshot.Engines]; an engine that could not be
// asked is listed there with its error while the others' Items are
// returned, and the returned error is nil. A non-nil error means nothing
// could be listed at all (an invalid Selector, ctx expired before any
// answer); the Snapshot is then the zero value.
type Inventory interface {
	Snapshot(ctx context.Context, sel Selector) (Snapshot, error)
}

// InventoryFunc adapts a function to [Inventory].
type InventoryFunc func(ctx context.Context, sel Selector) (Snapshot, error)

// Snapshot calls f(ctx, sel).
func (f InventoryFunc) Snapshot(ctx context.Context, sel Selector) (Snapshot, error) {
	return f(ctx, sel)
}

// Snapshot is the estate as data at one moment: the engines asked and the
// things found on them. It is a value with exported fields that marshals to
// JSON and back without loss, so a Snapshot saved to a file can be compared
// later with [Diff].
type Snapshot struct {
	// Taken is when the listing started.
	Taken time.Time `json:"taken"`
	// Engines are the engines asked, sorted by Name, with their identity or
	// the error that kept them from answering.
	Engines []Engine `json:"engines"`
	// Items are the things found, sorted by [Target.Key].
	Items []Item `json:"items"`
}

// Engine is one Docker engine as a Snapshot saw it. Its identity is the
// configured Name together with the Endpoint: engines cloned from one
// machine image report the same Info ID, so ID alone does not tell them apart.
type Engine struct {
	// Name is the name the engine was configured with (for the Hinemos
	// repository sync, the host node's facility ID).
	Name string `json:"name"`
	// Endpoint is the address minato talks to ("unix:///var/run/docker.sock",
	// "tcp://10.0.0.5:2376"); it is the Engine field of the engine's Targets.
	Endpoint string `json:"endpoint"`
	// ID is the engine's own ID (docker info), informative only.
	ID string `json:"id,omitempty"`
	// Hostname, Version, APIVersion and OS describe the engine as it
	// reported itself; empty when it did not answer.
	Hostname   string `json:"hostname,omitempty"`
	Version    string `json:"version,omitempty"`
	APIVersion string `json:"api_version,omitempty"`
	OS         string `json:"os,omitempty"`
	// Took is how long the engine took to answer.
	Took time.Duration `json:"took"`
	// Error is why the engine could not be listed, empty when it answered.
	// A Snapshot with an engine in error holds none of that engine's Items.
	Error string `json:"error,omitempty"`
}

// Up reports whether the engine answered.
func (e Engine) Up() bool { return e.Error == "" }

// Item is one thing in a Snapshot: a container, image, network or volume.
type Item struct {
	// Target identifies the thing; Target.Engine is the engine's Endpoint.
	Target Target `json:"target"`
	// State is the container state ("running", "exited", ...), empty for
	// kinds that have none.
	State string `json:"state,omitempty"`
	// Attrs are the thing's properties, flattened to strings under stable
	// snake_case keys (see the Attr constants), so that [Diff] can name the
	// fields that changed and exports need no schema per kind. Lists are
	// joined with ", " in a stable order.
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Attribute keys used by the Docker inventory. Other sources may add their
// own keys; a key absent from Attrs means "not known", not "empty".
const (
	AttrImage        = "image"         // image reference the container was created from
	AttrImageID      = "image_id"      // image content ID
	AttrCommand      = "command"       // command line, as docker ps shows it
	AttrCreated      = "created"       // creation time, RFC 3339 UTC
	AttrStatus       = "status"        // the engine's status text ("Up 35 minutes")
	AttrPorts        = "ports"         // published ports, as docker ps shows them
	AttrNetworks     = "networks"      // network names the container is attached to
	AttrMounts       = "mounts"        // mounts as "source:destination[:ro]"
	AttrIPAddress    = "ip_address"    // first container IP address
	AttrSize         = "size_bytes"    // image size, or a container's writable layer
	AttrTags         = "tags"          // image repository tags
	AttrDriver       = "driver"        // network or volume driver
	AttrScope        = "scope"         // network scope (local, swarm)
	AttrMountpoint   = "mountpoint"    // volume mount point on the host
	AttrExitCode     = "exit_code"     // last exit code (inspect detail)
	AttrStartedAt    = "started_at"    // last start, RFC 3339 UTC (inspect detail)
	AttrFinishedAt   = "finished_at"   // last exit, RFC 3339 UTC (inspect detail)
	AttrOOMKilled    = "oom_killed"    // "true" when the last exit was an OOM kill (inspect detail)
	AttrRestartCount = "restart_count" // restarts by the engine's policy (inspect detail)
	AttrHealth       = "health"        // health check status (inspect detail)
	AttrPID          = "pid"           // main process ID on the host (inspect detail)
)

// Find returns the Item with the given Target key and whether it exists.
// Items must be sorted by key, as Snapshots are.
func (s Snapshot) Find(key string) (Item, bool) {
	i, ok := slices.BinarySearchFunc(s.Items, key, func(it Item, k string) int { return strings.Compare(it.Target.Key(), k) })
	if !ok {
		return Item{}, false
	}
	return s.Items[i], true
}

// Engine returns the engine with the given name and whether it was asked.
func (s Snapshot) Engine(name string) (Engine, bool) {
	for _, e := range s.Engines {
		if e.Name == name {
			return e, true
		}
	}
	return Engine{}, false
}

// Select returns the Items sel matches (Kind, IDs, Names, Labels and
// States; Scopes are ignored here, as a Snapshot knows no repository), in
// the Snapshot's order. It does not validate sel.
func (s Snapshot) Select(sel Selector) []Item {
	out := []Item{}
	for _, it := range s.Items {
		if sel.Match(it.Target) && sel.MatchState(it.State) {
			out = append(out, it)
		}
	}
	return out
}

// Sort puts Engines in name order and Items in [Target.Key] order, the
// order an [Inventory] returns. Sources that assemble a Snapshot call it last.
func (s *Snapshot) Sort() {
	slices.SortFunc(s.Engines, func(a, b Engine) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(s.Items, func(a, b Item) int { return strings.Compare(a.Target.Key(), b.Target.Key()) })
}

// AsResolver returns a Resolver that lists inv and returns the Targets of
// the matching Items. Engines in error are ignored when at least one
// answered; when every engine failed, their errors are returned. Selectors
// naming Scopes are passed to inv, which applies or refuses them.
func AsResolver(inv Inventory) Resolver {
	return ResolverFunc(func(ctx context.Context, sel Selector) ([]Target, error) {
		if err := sel.Validate(); err != nil {
			return nil, err
		}
		snap, err := inv.Snapshot(ctx, sel)
		if err != nil {
			return nil, err
		}
		if err := snap.AllDown(); err != nil {
			return nil, err
		}
		items := snap.Select(sel)
		out := make([]Target, len(items))
		for i, it := range items {
			out[i] = it.Target
		}
		return out, nil
	})
}

// EngineError is an engine that could not be listed.
type EngineError struct {
	// Engine is the engine's configured name; Endpoint its address.
	Engine, Endpoint string
	// Err is the reason, as the Snapshot recorded it.
	Err string
}

// Error returns "engine NAME (ENDPOINT): REASON".
func (e *EngineError) Error() string {
	return "engine " + e.Engine + " (" + e.Endpoint + "): " + e.Err
}

// Down returns one [*EngineError] per engine that did not answer, in the
// Snapshot's order, nil when all answered.
func (s Snapshot) Down() []error {
	var out []error
	for _, e := range s.Engines {
		if !e.Up() {
			out = append(out, &EngineError{Engine: e.Name, Endpoint: e.Endpoint, Err: e.Error})
		}
	}
	return out
}

// AllDown returns the joined [*EngineError]s when the Snapshot lists
// engines and none of them answered, nil otherwise.
func (s Snapshot) AllDown() error {
	down := s.Down()
	if len(s.Engines) == 0 || len(down) < len(s.Engines) {
		return nil
	}
	return errors.Join(down...)
}
