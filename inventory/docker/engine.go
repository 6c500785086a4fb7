package dockerinv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"golang.org/x/sync/errgroup"
)

// DefaultIdentityTTL is how long an engine's identity (docker info: ID,
// host name, version) is reused before it is asked again.
const DefaultIdentityTTL = 5 * time.Minute

// DefaultDetailConcurrency is how many containers of one engine are
// inspected at once when detail is on and no concurrency is given.
const DefaultDetailConcurrency = 8

// Option configures optional behaviour of an [Engine] or a [Fleet].
type Option func(*options)

type options struct {
	log        *slog.Logger
	detail     int // inspect concurrency; 0 = no detail
	ttl        time.Duration
	clientOpts []container.Option
}

func buildOptions(opts []Option) options {
	o := options{log: slog.New(slog.DiscardHandler), ttl: DefaultIdentityTTL}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithLogger sets the logger for debug-level traces (an engine that did
// not answer, an identity refreshed). The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithDetail makes snapshots inspect every selected container, at most
// concurrency at a time per engine (DefaultDetailConcurrency when
// concurrency <= 0), and add the inspect attributes: exit_code,
// started_at, finished_at, oom_killed, restart_count, health and pid. It
// costs one engine call per container.
func WithDetail(concurrency int) Option {
	return func(o *options) {
		if concurrency <= 0 {
			concurrency = DefaultDetailConcurrency
		}
		o.detail = concurrency
	}
}

// WithIdentityTTL sets how long an engine's identity is reused
// (DefaultIdentityTTL by default); zero or less asks for it at every
// snapshot. An engine that fails a snapshot is asked again at the next one
// whatever the TTL.
func WithIdentityTTL(d time.Duration) Option {
	return func(o *options) { o.ttl = d }
}

// WithClientOptions passes options to every [container.Client] that [New]
// creates (container.WithHTTPClient in tests, container.WithLogger). It has
// no effect on [NewEngine], which is given its client.
func WithClientOptions(opts ...container.Option) Option {
	return func(o *options) { o.clientOpts = append(o.clientOpts, opts...) }
}

// Engine is one Docker engine seen as an [inventory.Inventory]: its
// containers, images, networks and volumes. It is safe for concurrent use.
//
// A snapshot costs one list call per kind asked for (one for containers
// alone, see [Engine.Snapshot]) plus, with [WithDetail], one inspect per
// selected container. The engine's identity (docker info) is asked for on
// the first snapshot and then reused for [DefaultIdentityTTL].
type Engine struct {
	name   string
	c      *container.Client
	detail int
	ttl    time.Duration
	log    *slog.Logger

	mu    sync.Mutex
	ident identity
	at    time.Time // when ident was fetched; zero when it must be fetched
}

// identity is what an engine says about itself.
type identity struct {
	id, hostname, version, apiVersion, os string
}

// NewEngine returns the engine c talks to under the given name. The name
// identifies the engine in Snapshots and, for the Hinemos repository sync,
// is the host node's facility ID, so it must pass
// [inventory.ValidFacilityID]. NewEngine does not contact the engine. The
// caller keeps ownership of c (the Engine never closes it).
func NewEngine(name string, c *container.Client, opts ...Option) (*Engine, error) {
	if err := inventory.ValidFacilityID(name); err != nil {
		return nil, fmt.Errorf("dockerinv: engine name: %w", err)
	}
	if c == nil {
		return nil, errors.New("dockerinv: engine " + name + ": nil container client")
	}
	o := buildOptions(opts)
	return &Engine{name: name, c: c, detail: o.detail, ttl: o.ttl, log: o.log}, nil
}

// Name returns the engine's configured name.
func (e *Engine) Name() string { return e.name }

// Endpoint returns the engine's address, the Engine field of its Targets.
func (e *Engine) Endpoint() string { return e.c.Host() }

// Client returns the engine's client.
func (e *Engine) Client() *container.Client { return e.c }

// Snapshot lists what the engine holds now and sel selects, as an
// [inventory.Inventory]: the engine itself in Snapshot.Engines (with its
// identity, or with the error that kept it from answering, and then no
// Items), and the selected Items sorted by Target key.
//
// The Selector's Kind restricts what is listed: containers (all of them,
// running or not), images, networks or volumes; an empty Kind lists all
// four, and a Selector with States lists containers only, since nothing
// else has a state. Labels are filtered by the engine, IDs, names and
// states here. A Selector naming Scopes is refused with an error wrapping
// [inventory.ErrScopes]; an invalid one with its validation error. The
// error is also non-nil when ctx ended before the engine answered; an
// engine that is unreachable or fails is reported in the Snapshot, with a
// nil error.
func (e *Engine) Snapshot(ctx context.Context, sel inventory.Selector) (inventory.Snapshot, error) {
	if err := checkSelector(sel); err != nil {
		return inventory.Snapshot{}, err
	}
	taken := time.Now()
	eng, items, err := e.collect(ctx, sel)
	if err != nil && ctx.Err() != nil {
		return inventory.Snapshot{}, fmt.Errorf("dockerinv: engine %s: %w (%v)", e.name, ctx.Err(), err)
	}
	snap := inventory.Snapshot{Taken: taken, Engines: []inventory.Engine{eng}, Items: items}
	snap.Sort()
	return snap, nil
}

// Resolve returns the Targets sel selects on the engine, as an
// [inventory.Resolver]; an empty Kind means containers. It fails when the
// engine did not answer (an [*inventory.EngineError]), for an invalid
// Selector, and for Scopes ([inventory.ErrScopes]).
func (e *Engine) Resolve(ctx context.Context, sel inventory.Selector) ([]inventory.Target, error) {
	return resolve(ctx, e, sel)
}

var (
	_ inventory.Inventory = (*Engine)(nil)
	_ inventory.Resolver  = (*Engine)(nil)
)

// checkSelector validates sel and refuses Scopes.
func checkSelector(sel inventory.Selector) error {
	if err := sel.Validate(); err != nil {
		return err
	}
	if len(sel.Scopes) > 0 {
		return fmt.Errorf("dockerinv: select %s: %w (configure one with the inventory repository)", sel, inventory.ErrScopes)
	}
	return nil
}

// resolve is Resolve for an Engine or a Fleet: containers unless the
// Selector names another kind.
func resolve(ctx context.Context, inv inventory.Inventory, sel inventory.Selector) ([]inventory.Target, error) {
	if sel.Kind == "" {
		sel.Kind = inventory.KindContainer
	}
	return inventory.AsResolver(inv).Resolve(ctx, sel)
}

// kinds says which lists a Selector needs.
type kinds struct{ containers, images, networks, volumes bool }

func kindsFor(sel inventory.Selector) kinds {
	if len(sel.States) > 0 {
		// Only containers have a state.
		return kinds{containers: sel.Kind == "" || sel.Kind == inventory.KindContainer}
	}
	switch sel.Kind {
	case "":
		return kinds{true, true, true, true}
	case inventory.KindContainer:
		return kinds{containers: true}
	case inventory.KindImage:
		return kinds{images: true}
	case inventory.KindNetwork:
		return kinds{networks: true}
	case inventory.KindVolume:
		return kinds{volumes: true}
	}
	return kinds{}
}

// collect asks the engine for what sel needs. It returns the engine as
// the Snapshot reports it (with Error set when err is not nil) and the
// selected Items, unsorted and never nil.
func (e *Engine) collect(ctx context.Context, sel inventory.Selector) (inventory.Engine, []inventory.Item, error) {
	start := time.Now()
	endpoint := e.c.Host()
	eng := inventory.Engine{Name: e.name, Endpoint: endpoint}
	want := kindsFor(sel)

	var (
		ident   identity
		haveID  bool
		ctrs    container.ListResult
		images  container.ListImagesResult
		nets    container.ListNetworksResult
		volumes container.ListVolumesResult
	)
	ident, haveID = e.cachedIdentity()
	// Every call runs to its end (no cancellation on the first failure),
	// and the reported failure is the first in this order, so that an
	// engine that is down is always described the same way.
	var errs [5]error
	var g errgroup.Group
	if want.containers {
		g.Go(func() error {
			ctrs, errs[0] = e.c.List(ctx, container.ListOptions{All: true, Labels: sel.Labels})
			return nil
		})
	}
	if want.images {
		g.Go(func() error {
			images, errs[1] = e.c.ListImages(ctx, container.ListImagesOptions{Labels: sel.Labels})
			return nil
		})
	}
	if want.networks {
		g.Go(func() error {
			nets, errs[2] = e.c.ListNetworks(ctx, container.ListNetworksOptions{Labels: sel.Labels})
			return nil
		})
	}
	if want.volumes {
		g.Go(func() error {
			volumes, errs[3] = e.c.ListVolumes(ctx, container.ListVolumesOptions{Labels: sel.Labels})
			return nil
		})
	}
	if !haveID {
		g.Go(func() error { ident, errs[4] = e.fetchIdentity(ctx); return nil })
	}
	_ = g.Wait()
	var err error
	for _, callErr := range errs {
		if callErr != nil {
			err = callErr
			break
		}
	}
	items := []inventory.Item{}
	if err == nil {
		keep := func(it inventory.Item) {
			if sel.Match(it.Target) && sel.MatchState(it.State) {
				items = append(items, it)
			}
		}
		for _, s := range ctrs.Containers {
			keep(containerItem(s, endpoint))
		}
		for _, im := range images.Images {
			keep(imageItem(im, endpoint))
		}
		for _, n := range nets.Networks {
			keep(networkItem(n, endpoint))
		}
		for _, v := range volumes.Volumes {
			keep(volumeItem(v, endpoint))
		}
		if e.detail > 0 {
			items, err = e.addDetail(ctx, items)
		}
	}
	eng.Took = time.Since(start)
	if err != nil {
		e.forgetIdentity()
		eng.Error = err.Error()
		e.log.DebugContext(ctx, "engine did not answer", "engine", e.name, "endpoint", endpoint, "took", eng.Took, "error", err)
		return eng, []inventory.Item{}, err
	}
	if !haveID {
		e.storeIdentity(ident)
	}
	eng.ID, eng.Hostname, eng.Version, eng.APIVersion, eng.OS = ident.id, ident.hostname, ident.version, ident.apiVersion, ident.os
	return eng, items, nil
}

func (e *Engine) cachedIdentity() (identity, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.at.IsZero() || e.ttl <= 0 || time.Since(e.at) >= e.ttl {
		return identity{}, false
	}
	return e.ident, true
}

func (e *Engine) storeIdentity(id identity) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ident, e.at = id, time.Now()
}

func (e *Engine) forgetIdentity() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.at = time.Time{}
}

// fetchIdentity asks the engine for its info and, through /_ping, the
// highest API version it speaks.
func (e *Engine) fetchIdentity(ctx context.Context) (identity, error) {
	info, err := e.c.Info(ctx)
	if err != nil {
		return identity{}, err
	}
	ping, err := e.c.Ping(ctx)
	if err != nil {
		return identity{}, err
	}
	e.log.DebugContext(ctx, "engine identity", "engine", e.name, "id", info.ID, "hostname", info.Name, "version", info.ServerVersion)
	return identity{id: info.ID, hostname: info.Name, version: info.ServerVersion, apiVersion: ping.APIVersion, os: info.OSType}, nil
}

// addDetail inspects the container Items, e.detail at a time, and adds the
// inspect attributes. A container removed since the list is dropped; any
// other failure fails the engine.
func (e *Engine) addDetail(ctx context.Context, items []inventory.Item) ([]inventory.Item, error) {
	gone := make([]bool, len(items))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.detail)
	for i := range items {
		if items[i].Target.Kind != inventory.KindContainer {
			continue
		}
		g.Go(func() error {
			r, err := e.c.Inspect(gctx, items[i].Target.ID, container.InspectOptions{})
			switch {
			case container.IsNotFound(err):
				gone[i] = true
				return nil
			case err != nil:
				return err
			}
			addInspect(items[i].Attrs, r)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := items[:0]
	for i, it := range items {
		if !gone[i] {
			out = append(out, it)
		}
	}
	return out, nil
}
