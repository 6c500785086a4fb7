package dockerinv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"golang.org/x/sync/errgroup"
)

// Defaults of [Config].
const (
	// DefaultConcurrency is how many engines a Fleet asks at once.
	DefaultConcurrency = 8
	// DefaultTimeout is how long a Fleet waits for one engine.
	DefaultTimeout = 10 * time.Second
)

// Config describes a [Fleet]: the engines and how to ask them. It is data
// with json tags, decoded from the agent's configuration (an "engines:"
// list); durations are written "10s" in configuration files.
type Config struct {
	// Engines are the engines to ask; at least one, with unique names and
	// endpoints.
	Engines []EngineConfig `json:"engines"`
	// Concurrency is how many engines are asked at once. Zero means
	// DefaultConcurrency (8).
	Concurrency int `json:"concurrency,omitempty"`
	// Timeout bounds the time one engine gets to answer a snapshot, its
	// detail inspections included; an engine that takes longer is
	// reported with an error and the others' answers are returned. Zero
	// means DefaultTimeout (10 s).
	Timeout time.Duration `json:"timeout,omitempty"`
	// Detail inspects every selected container (see [WithDetail]).
	Detail bool `json:"detail,omitempty"`
	// DetailConcurrency is how many containers of one engine are
	// inspected at once when Detail is set. Zero means
	// DefaultDetailConcurrency (8).
	DetailConcurrency int `json:"detail_concurrency,omitempty"`
}

// EngineConfig is one engine of a Fleet: its name and how to reach it.
// The connection fields are those of [container.Config], flat, so that a
// configuration file lists "name", "host" and "tls" side by side.
type EngineConfig struct {
	// Name identifies the engine in Snapshots; for the Hinemos repository
	// sync it is the host node's facility ID, so it must pass
	// [inventory.ValidFacilityID] (letters, digits, "-", "_", ".", "@").
	Name string `json:"name"`
	// Host is the engine endpoint: "unix:///var/run/docker.sock" (the
	// default when empty), "tcp://10.0.0.5:2376".
	Host string `json:"host,omitempty"`
	// APIVersion pins the Engine API version ("1.41"); empty negotiates.
	APIVersion string `json:"api_version,omitempty"`
	// TLS names the PEM files for a tcp:// engine that speaks TLS:
	// ca_file, cert_file, key_file.
	TLS *container.TLSConfig `json:"tls,omitempty"`
	// Timeout bounds each call to this engine ([container.Config].Timeout).
	// Zero means the Fleet's Timeout.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Address is the engine host's IPv4 address as a repository records it
	// for the host node and its containers (the Hinemos scripts' -i).
	// Empty means the endpoint's IP address, or 127.0.0.1 for a socket or
	// a host name.
	Address string `json:"address,omitempty"`
}

// Container returns the [container.Config] for the engine.
func (c EngineConfig) Container() container.Config {
	return container.Config{Host: c.Host, APIVersion: c.APIVersion, TLS: c.TLS, Timeout: c.Timeout}
}

// endpoint is the engine address as its Client will report it.
func (c EngineConfig) endpoint() string {
	if c.Host == "" {
		return container.DefaultHost
	}
	return c.Host
}

// Validate checks the name and the connection fields; each problem starts
// with the field's name ("name: ...", `host "...": ...`).
func (c EngineConfig) Validate() error {
	var errs []error
	if err := inventory.ValidFacilityID(c.Name); err != nil {
		errs = append(errs, fmt.Errorf("name: %w", err))
	}
	errs = append(errs, splitJoined(c.Container().Validate())...)
	if c.Address != "" {
		if ip := net.ParseIP(c.Address); ip == nil || ip.To4() == nil {
			errs = append(errs, fmt.Errorf("address: %q: want an IPv4 address such as 10.0.0.5", c.Address))
		}
	}
	return errors.Join(errs...)
}

// splitJoined takes a joined error apart (nil gives nothing).
func splitJoined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// DefaultConfig returns a Config with the defaults and no engines (see
// [FromEnv] and [FromContexts] for ways to fill Engines).
func DefaultConfig() Config {
	return Config{Concurrency: DefaultConcurrency, Timeout: DefaultTimeout, DetailConcurrency: DefaultDetailConcurrency}
}

// Validate reports every problem of the Config, joined, each prefixed
// with its field path ("engines[1].name: ...").
func (c Config) Validate() error {
	var errs []error
	if len(c.Engines) == 0 {
		errs = append(errs, errors.New("engines: at least one engine is needed"))
	}
	names, endpoints := map[string]int{}, map[string]int{}
	for i, e := range c.Engines {
		path := fmt.Sprintf("engines[%d]", i)
		for _, err := range splitJoined(e.Validate()) {
			errs = append(errs, fmt.Errorf("%s.%w", path, err))
		}
		if j, dup := names[e.Name]; dup && e.Name != "" {
			errs = append(errs, fmt.Errorf("%s.name: %q is already the name of engines[%d]", path, e.Name, j))
		} else {
			names[e.Name] = i
		}
		if j, dup := endpoints[e.endpoint()]; dup {
			errs = append(errs, fmt.Errorf("%s.host: %q is already the endpoint of engines[%d] (%s)", path, e.endpoint(), j, c.Engines[j].Name))
		} else {
			endpoints[e.endpoint()] = i
		}
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency: %d: want 0 (default %d) or more", c.Concurrency, DefaultConcurrency))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: %v: want 0 (default %v) or more", c.Timeout, DefaultTimeout))
	}
	if c.DetailConcurrency < 0 {
		errs = append(errs, fmt.Errorf("detail_concurrency: %d: want 0 (default %d) or more", c.DetailConcurrency, DefaultDetailConcurrency))
	}
	return errors.Join(errs...)
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.DetailConcurrency == 0 {
		c.DetailConcurrency = DefaultDetailConcurrency
	}
	return c
}

// Fleet is many Docker engines seen as one [inventory.Inventory]. It is
// safe for concurrent use; create it with [New] and release it with
// [Fleet.Close].
type Fleet struct {
	cfg     Config
	engines []*Engine // sorted by name
	clients []*container.Client
	log     *slog.Logger
}

// New creates one [container.Client] and one [Engine] per configured
// engine. It validates cfg and contacts no engine (an unreachable engine
// shows in the first Snapshot). On failure it closes what it opened.
// Options apply to every engine ([WithDetail] given here overrides
// Config.Detail) and, with [WithClientOptions], to every client.
func New(cfg Config, opts ...Option) (*Fleet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dockerinv: invalid config: %w", err)
	}
	cfg = cfg.withDefaults()
	o := buildOptions(opts)
	var engineOpts []Option
	if cfg.Detail {
		engineOpts = append(engineOpts, WithDetail(cfg.DetailConcurrency))
	}
	engineOpts = append(engineOpts, opts...)
	f := &Fleet{cfg: cfg, log: o.log}
	for i, ec := range cfg.Engines {
		cc := ec.Container()
		if cc.Timeout == 0 {
			cc.Timeout = cfg.Timeout
		}
		c, err := container.New(cc, o.clientOpts...)
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("dockerinv: engines[%d] (%s): %w", i, ec.Name, err)
		}
		f.clients = append(f.clients, c)
		e, err := NewEngine(ec.Name, c, engineOpts...)
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("dockerinv: engines[%d]: %w", i, err)
		}
		f.engines = append(f.engines, e)
	}
	slices.SortFunc(f.engines, func(a, b *Engine) int { return strings.Compare(a.name, b.name) })
	return f, nil
}

// Engines returns the configured engines, sorted by name. The slice is
// the caller's; the Engines are the Fleet's (closed with it).
func (f *Fleet) Engines() []*Engine {
	return slices.Clone(f.engines)
}

// Engine returns the engine with that name, and whether there is one.
func (f *Fleet) Engine(name string) (*Engine, bool) {
	i, ok := slices.BinarySearchFunc(f.engines, name, func(e *Engine, n string) int { return strings.Compare(e.name, n) })
	if !ok {
		return nil, false
	}
	return f.engines[i], true
}

// Client returns the client of the engine with that name, and whether
// there is one. The client belongs to the Fleet: do not close it.
func (f *Fleet) Client(name string) (*container.Client, bool) {
	e, ok := f.Engine(name)
	if !ok {
		return nil, false
	}
	return e.c, true
}

// Close closes every client. Snapshots in flight fail; the Fleet must not
// be used afterwards.
func (f *Fleet) Close() error {
	var errs []error
	for _, c := range f.clients {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Snapshot asks every engine, at most Config.Concurrency at a time and
// each within Config.Timeout, and returns their answers as one
// [inventory.Snapshot]: every engine in Engines (with its identity, or the
// error that kept it from answering), and the selected Items of the
// engines that answered. Selection is as for [Engine.Snapshot].
//
// An engine that does not answer in time is reported as such when its
// timeout passes, even if its client is still waiting (a connection that
// accepts and never answers, an API version negotiation): that call is
// left to finish in the background, bounded by the engine's own call
// timeout. The error is non-nil only for an invalid Selector (or Scopes,
// [inventory.ErrScopes]), or when ctx ended before any engine answered.
func (f *Fleet) Snapshot(ctx context.Context, sel inventory.Selector) (inventory.Snapshot, error) {
	if err := checkSelector(sel); err != nil {
		return inventory.Snapshot{}, err
	}
	if err := ctx.Err(); err != nil {
		return inventory.Snapshot{}, fmt.Errorf("dockerinv: snapshot: %w", err)
	}
	taken := time.Now()
	type answer struct {
		eng   inventory.Engine
		items []inventory.Item
	}
	answers := make([]answer, len(f.engines))
	var g errgroup.Group
	g.SetLimit(f.cfg.Concurrency)
	for i, e := range f.engines {
		g.Go(func() error {
			answers[i].eng, answers[i].items = f.ask(ctx, e, sel)
			return nil
		})
	}
	_ = g.Wait() // the workers return no error: failures are data
	snap := inventory.Snapshot{Taken: taken, Engines: make([]inventory.Engine, 0, len(answers)), Items: []inventory.Item{}}
	up := 0
	for _, a := range answers {
		snap.Engines = append(snap.Engines, a.eng)
		snap.Items = append(snap.Items, a.items...)
		if a.eng.Up() {
			up++
		}
	}
	if up == 0 && ctx.Err() != nil {
		return inventory.Snapshot{}, fmt.Errorf("dockerinv: snapshot: %w", ctx.Err())
	}
	snap.Sort()
	return snap, nil
}

// ask asks one engine within the Fleet's timeout.
func (f *Fleet) ask(ctx context.Context, e *Engine, sel inventory.Selector) (inventory.Engine, []inventory.Item) {
	start := time.Now()
	ectx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	type result struct {
		eng   inventory.Engine
		items []inventory.Item
	}
	done := make(chan result, 1) // the worker never blocks, even when abandoned
	go func() {
		eng, items, _ := e.collect(ectx, sel)
		done <- result{eng, items}
	}()
	select {
	case r := <-done:
		return r.eng, r.items
	case <-ectx.Done():
	}
	select {
	case r := <-done: // answered (or failed) at the deadline
		return r.eng, r.items
	default:
	}
	e.forgetIdentity()
	reason := fmt.Sprintf("no answer within %v", f.cfg.Timeout)
	if ctx.Err() != nil {
		reason = "snapshot abandoned: " + ctx.Err().Error()
	}
	f.log.DebugContext(ctx, "engine did not answer in time", "engine", e.name, "endpoint", e.Endpoint(), "timeout", f.cfg.Timeout)
	return inventory.Engine{Name: e.name, Endpoint: e.Endpoint(), Took: time.Since(start), Error: reason}, []inventory.Item{}
}

// Resolve returns the Targets sel selects across all engines, as an
// [inventory.Resolver]; an empty Kind means containers. Engines that did
// not answer are left out while at least one answered; when none did, the
// error joins their [*inventory.EngineError]s. An invalid Selector and
// Scopes ([inventory.ErrScopes]) are errors too.
func (f *Fleet) Resolve(ctx context.Context, sel inventory.Selector) ([]inventory.Target, error) {
	return resolve(ctx, f, sel)
}

var (
	_ inventory.Inventory = (*Fleet)(nil)
	_ inventory.Resolver  = (*Fleet)(nil)
)
