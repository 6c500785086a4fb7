package agent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/boltrepo"
	dockerinv "github.com/minato-ops/minato/inventory/docker"
	"github.com/minato-ops/minato/inventory/hinemos"
	"github.com/minato-ops/minato/inventory/hinemos/rest"
	"github.com/minato-ops/minato/job/jobfile"
)

// DefaultResync is InventoryConfig.Resync's default: the Hinemos scripts'
// cron period, kept as a safety net beside the events.
const DefaultResync = 5 * time.Minute

// containerActions are the container events that change what the
// repository holds: existence, name, state, and so the managed flag.
var containerActions = []string{"create", "start", "restart", "die", "stop", "kill", "pause", "unpause", "destroy", "rename", "oom"}

// follower keeps the repository in step with one engine's containers: a
// sync at start, after every burst of container events, after the event
// stream comes back, and every Resync.
type follower struct {
	engine *dockerinv.Engine
	syncer *hinemos.Syncer
	resync time.Duration
	log    *slog.Logger

	syncs, failures atomic.Uint64
	lastOK          atomic.Int64 // Unix nanoseconds of the last successful sync
	// synced is closed and replaced after every sync (for tests that wait
	// for the repository to follow an event).
	mu     sync.Mutex
	synced chan struct{}
}

// newFollower builds the follower of engine e, writing to repo.
func newFollower(e *dockerinv.Engine, address string, repo inventory.Repository, cfg InventoryConfig, log *slog.Logger) (*follower, error) {
	addr := address
	if addr == "" {
		var ok bool
		if addr, ok = hinemos.AddressFromEndpoint(e.Endpoint()); !ok {
			addr = "127.0.0.1" // the scripts' default -i
		}
	}
	lang := cfg.Lang
	if lang == "" {
		lang = hinemos.LangEnglish
	}
	f := &follower{engine: e, resync: cfg.Resync, log: log.With("engine", e.Name()), synced: make(chan struct{})}
	if f.resync == 0 {
		f.resync = DefaultResync
	}
	s, err := hinemos.New(hinemos.Config{HostFacilityID: e.Name(), HostAddress: addr, Lang: lang}, repo,
		hinemos.WithLog(logWriter{f.log}))
	if err != nil {
		return nil, err
	}
	f.syncer = s
	return f, nil
}

// run follows the engine until ctx ends.
func (f *follower) run(ctx context.Context) {
	dirty := make(chan struct{}, 1)
	mark := func() {
		select {
		case dirty <- struct{}{}:
		default:
		}
	}
	mark() // the first sync
	go f.watch(ctx, mark)
	tick := time.NewTicker(f.resync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-dirty:
		case <-tick.C:
		}
		f.sync(ctx)
	}
}

// watch streams the engine's container events, marking the repository
// dirty on each; when the stream breaks it reconnects with backoff and
// marks it dirty again (events were lost meanwhile).
func (f *follower) watch(ctx context.Context, mark func()) {
	backoff := time.Second
	for ctx.Err() == nil {
		start := time.Now()
		err := f.engine.Client().Events(ctx, container.EventsOptions{Filters: map[string][]string{"type": {"container"}, "event": containerActions}},
			func(container.Event) error { mark(); return nil })
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = time.Second
		}
		f.log.Warn("inventory: engine event stream ended, reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
		mark()
	}
}

// sync lists the engine's containers and runs add, delete and update.
func (f *follower) sync(ctx context.Context) {
	defer f.signal()
	f.syncs.Add(1)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	snap, err := f.engine.Snapshot(sctx, inventory.Selector{Kind: inventory.KindContainer})
	var items []inventory.Item
	if err == nil {
		items, err = hinemos.EngineItems(snap, f.engine.Name())
	}
	if err == nil {
		var rep hinemos.Report
		rep, err = f.syncer.Sync(sctx, items)
		if err == nil {
			f.lastOK.Store(time.Now().UnixNano())
			if len(rep.Created)+len(rep.Deleted)+len(rep.Updated)+len(rep.Assigned) > 0 {
				f.log.Info("inventory: repository synced", "report", rep.String())
			}
			return
		}
	}
	f.failures.Add(1)
	if ctx.Err() == nil {
		f.log.Warn("inventory: sync failed; the repository is unchanged for this engine", "err", err)
	}
}

func (f *follower) signal() {
	f.mu.Lock()
	close(f.synced)
	f.synced = make(chan struct{})
	f.mu.Unlock()
}

// logWriter turns the Syncer's log lines into debug records.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	if line := bytes.TrimRight(p, "\n"); len(line) > 0 {
		w.log.Debug("inventory: " + string(line))
	}
	return len(p), nil
}

// openRepository opens the Hinemos manager's repository, or the embedded
// file.
func (a *Agent) openRepository() (inventory.Repository, error) {
	if h := a.cfg.Inventory.Hinemos; h != nil {
		c, err := rest.New(*h, rest.WithLogger(a.log))
		if err != nil {
			return nil, fmt.Errorf("inventory.hinemos: %w", err)
		}
		a.closers = append(a.closers, closerFunc(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = c.Logout(ctx)
		}))
		return c, nil
	}
	path := a.cfg.Inventory.Repository
	if path == "" {
		var err error
		if path, err = boltrepo.DefaultPath(); err != nil {
			return nil, fmt.Errorf("inventory.repository: %w", err)
		}
	}
	repo, err := boltrepo.Open(path, boltrepo.Options{})
	if err != nil {
		return nil, fmt.Errorf("inventory.repository: %w", err)
	}
	return repo, nil
}

// jobScopes lets job network container units select by scope on every
// engine, when the agent has engines and a repository.
func (a *Agent) jobScopes() jobfile.LoaderOptions {
	if a.repo == nil || a.engines[0].name == "" {
		return jobfile.LoaderOptions{}
	}
	byName := map[string]*container.Client{}
	byEndpoint := map[string]*container.Client{}
	for _, e := range a.engines {
		byName[e.name], byEndpoint[e.client.Host()] = e.client, e.client
	}
	res, err := hinemos.NewResolver(a.repo, func(host string) (inventory.Resolver, bool) {
		c, ok := byName[host]
		if !ok {
			return nil, false
		}
		return c, true
	})
	if err != nil {
		return jobfile.LoaderOptions{}
	}
	return jobfile.LoaderOptions{Scopes: res, Engines: func(ep string) (*container.Client, bool) {
		c, ok := byEndpoint[ep]
		return c, ok
	}}
}

// inventory opens the repository when the configuration uses it, and
// builds a follower per engine when it syncs it.
func (a *Agent) inventory() error {
	if !a.cfg.usesRepository() {
		return nil
	}
	repo, err := a.openRepository()
	if err != nil {
		return err
	}
	a.repo = repo
	if !a.cfg.Inventory.Sync {
		return nil
	}
	for _, e := range a.engines {
		f, err := newFollower(e.inv, e.address, repo, a.cfg.Inventory, a.log)
		if err != nil {
			return fmt.Errorf("inventory: engine %s: %w", e.name, err)
		}
		a.follow = append(a.follow, f)
	}
	return nil
}
