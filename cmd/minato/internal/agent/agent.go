package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	haaws "github.com/minato-ops/minato/ha/aws"

	"github.com/minato-ops/minato/cmd/minato/internal/catalog"
	"github.com/minato-ops/minato/cmd/minato/internal/console"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/httpserve"
	"github.com/minato-ops/minato/inventory"
	dockerinv "github.com/minato-ops/minato/inventory/docker"
	"github.com/minato-ops/minato/inventory/hinemos"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/minato-ops/minato/monitor"
	mdocker "github.com/minato-ops/minato/monitor/docker"
	"github.com/minato-ops/minato/monitor/output/jsonout"
	"github.com/minato-ops/minato/monitor/output/notify"
	"github.com/minato-ops/minato/monitor/output/snmptrap"
	"github.com/minato-ops/minato/monitor/output/syslog"
	"github.com/minato-ops/minato/monitor/output/webhook"
)

// ShutdownTimeout bounds a clean stop after SIGTERM: the HTTP server, the
// checks, the scheduler's detach and the notifiers' flush together.
const ShutdownTimeout = 5 * time.Second

// EventsCheck is the name of the engine event stream's check.
const EventsCheck = "events"

// Agent is a configured, not yet running agent. It is wiring only: every
// part it runs is a library package's.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	client  *container.Client // the first engine's: the job scheduler's
	aws     *haaws.Clients    // the ha: section's AWS clients, when it has AWS parts
	engines []engine
	inv     inventory.Inventory  // every engine, for /api/v1/inventory
	repo    inventory.Repository // nil unless inventory.sync or a check selects by scope
	follow  []*follower
	ha      *haRuntime // nil without an ha: section
	// haCancel stops the HA part (the final action "stop the service").
	haCancel   context.CancelCauseFunc
	haStopOnce sync.Once
	runner     *monitor.Runner
	fan        *notify.FanOut
	jobs       *jobs // nil when the job scheduler does not run
	closers    []io.Closer
	ready      chan string // the address the HTTP server listens on
	started    time.Time
	events     atomic.Uint64 // engine events received, for /metrics

	diag *diagRunner // nil unless diag.enabled
	// images is nil unless images.enabled.
	images *imagesRunner
	// meter is nil unless metering.enabled.
	meter *meter
	// apps is nil unless the apps: section runs.
	apps *appsRunner

	// consoleRec keeps the console's sparklines and events timeline (a
	// Sink of the runner); consoleDefs its parsed job network graphs;
	// consoleChg is bumped by every evaluation (engine events included)
	// and job run end, so that open console pages wait for changes.
	consoleRec  *console.Recorder
	consoleDefs console.Definitions
	consoleChg  *console.Changes
}

// engine is one engine the agent watches. name is empty for the single
// engine of a configuration without engines: its checks keep their
// names.
type engine struct {
	name    string
	address string // the host node's IPv4 address, when configured
	client  *container.Client
	inv     *dockerinv.Engine
}

// suffix is what the engine's checks' names end with.
func (e engine) suffix() string {
	if e.name == "" {
		return ""
	}
	return "@" + e.name
}

// New builds the agent: the engine clients, the checks, the notifiers,
// the repository and, when enabled, the job scheduler with its store
// (opened now, so that a store another agent holds stops this one at
// start). It contacts the engine only to sweep job containers prepared for
// runs that will not happen.
func New(cfg Config, getenv func(string) string, log *slog.Logger) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: log, ready: make(chan string, 1), fan: notify.NewFanOut(notify.FanOutConfig{}, notify.WithLogger(log)),
		consoleRec: console.NewRecorder(0, 0), consoleChg: &console.Changes{}}
	if len(cfg.Engines) > 0 {
		fleet, err := dockerinv.New(dockerinv.Config{Engines: cfg.Engines}, dockerinv.WithClientOptions(container.WithLogger(log)))
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, fleet)
		addr := map[string]string{}
		for _, ec := range cfg.Engines {
			addr[ec.Name] = ec.Address
		}
		for _, e := range fleet.Engines() {
			a.engines = append(a.engines, engine{name: e.Name(), address: addr[e.Name()], client: e.Client(), inv: e})
		}
		a.inv = fleet
	} else {
		c, err := singleClient(cfg, getenv, log)
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, c)
		e, err := dockerinv.NewEngine(dockerinv.LocalName, c)
		if err != nil {
			a.Close()
			return nil, err
		}
		a.engines = []engine{{client: c, inv: e}}
		a.inv = e
	}
	a.client = a.engines[0].client
	if err := a.build(); err != nil {
		a.Close() // what was opened so far, the engine clients included
		return nil, err
	}
	return a, nil
}

// singleClient connects to the engine of docker: (over DOCKER_HOST and
// friends).
func singleClient(cfg Config, getenv func(string) string, log *slog.Logger) (*container.Client, error) {
	dcfg := container.ConfigFromEnv(getenv)
	if d := cfg.Docker; d != nil {
		if d.Host != "" {
			dcfg.Host = d.Host
		}
		if d.APIVersion != "" {
			dcfg.APIVersion = d.APIVersion
		}
		if d.TLS != nil {
			dcfg.TLS = d.TLS
		}
		if d.Timeout != 0 {
			dcfg.Timeout = d.Timeout
		}
	}
	return container.New(dcfg, container.WithLogger(log))
}

// build opens the notifiers, the repository and the job scheduler and
// adds the checks.
func (a *Agent) build() error {
	if err := a.notifiers(); err != nil {
		return err
	}
	if err := a.inventory(); err != nil {
		return err
	}
	if err := a.buildHA(); err != nil {
		return err
	}
	if a.cfg.jobsEnabled() {
		var opts []scheduler.Option
		if a.ha != nil {
			opts = append(opts, scheduler.WithGate(haGate{a}))
		}
		j, err := openJobs(a.cfg, a.client, a.log, a.jobScopes(), opts...)
		if err != nil {
			return err
		}
		a.jobs, j.notify, j.changed = j, a.notifyJob, a.consoleChg.Bump
		a.closers = append(a.closers, j)
	}
	a.buildDiag()
	if err := a.buildImages(); err != nil {
		return err
	}
	if a.cfg.Metering.Enabled {
		m, err := newMeter(a.cfg.Metering, a.engines, a.log)
		if err != nil {
			return err
		}
		a.meter = m
	}
	if err := a.buildApps(); err != nil {
		return err
	}
	return a.checks()
}

// checks builds the Runner and adds the configured checks (and the event
// stream's) from the catalogue, once per engine.
func (a *Agent) checks() error {
	rc := monitor.DefaultRunnerConfig()
	if a.cfg.MaxConcurrent > 0 {
		rc.MaxConcurrent = a.cfg.MaxConcurrent
	}
	var err error
	a.runner, err = monitor.NewRunner(rc, catalog.Resolver(a.client), monitor.WithLogger(a.log),
		monitor.WithTransitions(a.transition), monitor.WithSink(monitor.SinkFunc(a.countEvents)), monitor.WithSink(a.consoleRec),
		monitor.WithSink(monitor.SinkFunc(func(context.Context, []monitor.Evaluation) error { a.consoleChg.Bump(); return nil })))
	if err != nil {
		return err
	}
	for _, e := range a.engines {
		if err := a.engineChecks(e); err != nil {
			if e.name != "" {
				return fmt.Errorf("engine %s: %w", e.name, err)
			}
			return err
		}
	}
	return nil
}

// engineChecks adds the checks of one engine.
func (a *Agent) engineChecks(e engine) error {
	deps, closeDeps, err := catalog.Open(e.client, catalog.OpenOptions{Collect: a.cfg.Collect, StateDir: a.cfg.StateDir, Baseline: true, Logger: a.log})
	if err != nil {
		return err
	}
	a.closers = append(a.closers, closerFunc(closeDeps))
	for i, ch := range a.cfg.Checks {
		if err := a.addCheck(ch, deps, e); err != nil {
			return fmt.Errorf("checks[%d] (%s): %w", i, ch.Name, err)
		}
	}
	if a.cfg.Events.Enabled {
		stream, err := mdocker.NewEventStream(e.client, deps.Baseline, "agent-events"+sanitize(e.suffix()), mdocker.EventStreamOptions{Logger: a.log})
		if err != nil {
			return fmt.Errorf("events: %w", err)
		}
		w := mdocker.NewEventWatcher(stream, mdocker.AnalyzerConfig{})
		if err := a.runner.Add(monitor.Check{Name: EventsCheck + e.suffix(), Monitor: w}); err != nil {
			return fmt.Errorf("events: %w", err)
		}
	}
	return nil
}

// addCheck adds a configured check (and its host check) on engine e to
// the Runner. Rate baselines are kept under "agent-<name>[@<engine>]".
// With several engines each check resolves its targets on its own engine
// only; a check whose targets name scopes resolves them through the
// repository, on that engine.
func (a *Agent) addCheck(ch CheckConfig, deps catalog.Deps, e engine) error {
	deps.Key = "agent-" + sanitize(ch.Name+e.suffix())
	b, err := catalog.Build(ch.Monitor, catalog.Params{Pattern: ch.Pattern, WithHost: ch.WithHost}, ch.Targets, deps)
	if err != nil {
		return err
	}
	a.closers = append(a.closers, b.Closers...)
	var res inventory.Resolver
	if e.name != "" {
		res = catalog.Resolver(e.client)
	}
	if len(ch.Targets.Scopes) > 0 {
		own := catalog.Resolver(e.client)
		if res, err = hinemos.NewResolver(a.repo, func(host string) (inventory.Resolver, bool) { return own, host == e.name }, hinemos.OnlyHosts(e.name)); err != nil {
			return err
		}
	}
	ths := make([]monitor.Threshold, len(ch.Thresholds))
	for i, th := range ch.Thresholds {
		ths[i] = monitor.Threshold(th)
	}
	for _, c := range b.Checks(monitor.Check{Name: ch.Name + e.suffix(), Interval: ch.Interval, Timeout: ch.Timeout,
		StartDelay: ch.StartDelay, Thresholds: ths, Damping: ch.Damping}) {
		switch {
		case c.Targets.Kind != inventory.KindHost:
			c.Resolver = res
		case e.name != "":
			c.Resolver = catalog.Resolver(e.client) // this engine, not the first
		}
		if err := a.runner.Add(c); err != nil {
			return err
		}
	}
	return nil
}

// closerFunc adapts a func to io.Closer.
type closerFunc func()

func (f closerFunc) Close() error { f(); return nil }

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// notifiers opens the configured destinations into the fan-out.
func (a *Agent) notifiers() error {
	for i, n := range a.cfg.Notify {
		var (
			nt   notify.Notifier
			kind string
			err  error
		)
		switch {
		case n.Syslog != nil:
			kind = "syslog"
			var w *syslog.Writer
			if w, err = syslog.New(*n.Syslog, syslog.WithLogger(a.log)); err == nil {
				nt = syslog.NewNotifier(w, syslog.SinkOptions{All: true})
			}
		case n.SNMPTrap != nil:
			kind = "snmp_trap"
			var s *snmptrap.Sender
			if s, err = snmptrap.New(*n.SNMPTrap); err == nil {
				nt = snmptrap.NewNotifier(s, snmptrap.SinkOptions{Recoveries: true})
			}
		case n.Webhook != nil:
			kind = "webhook"
			var s *webhook.Sender
			if s, err = webhook.New(*n.Webhook, webhook.WithLogger(a.log)); err == nil {
				nt = webhook.NewNotifier(s)
			}
		case n.JSONL != nil:
			kind = "jsonl"
			nt, err = jsonout.NewFileNotifier(n.JSONL.Path)
		case n.Stdout != nil:
			kind, nt = "stdout", jsonout.NewLineNotifier(os.Stdout)
		}
		if err == nil {
			err = a.fan.Add(fmt.Sprintf("%d-%s", i, kind), nt)
		}
		if err != nil {
			return fmt.Errorf("notify[%d].%s: %w", i, kind, err)
		}
	}
	return nil
}

// transition logs a reported status change and hands it to the
// notifiers.
func (a *Agent) transition(ctx context.Context, tr monitor.Transition) {
	a.log.InfoContext(ctx, "status changed", "check", tr.Check, "target", tr.Target.String(), "from", tr.From.String(), "to", tr.Status.String(), "message", tr.Message)
	a.fan.Transition(ctx, tr)
}

// countEvents counts the engine events the event stream's check received.
func (a *Agent) countEvents(_ context.Context, evs []monitor.Evaluation) error {
	for _, ev := range evs {
		if (ev.Check == EventsCheck || strings.HasPrefix(ev.Check, EventsCheck+"@")) && ev.Err == nil {
			a.events.Add(1)
		}
	}
	return nil
}

// notifyJob sends a job network's changed outcome to every notifier.
func (a *Agent) notifyJob(ev monitor.Evaluation) {
	a.log.Info("job network outcome changed", "network", ev.Target.Name, "status", ev.Status.String(), "message", ev.Message)
	if err := a.fan.Write(context.Background(), []monitor.Evaluation{ev}); err != nil {
		a.log.Warn("job outcome notification failed", "network", ev.Target.Name, "err", err)
	}
}

// Addr returns the HTTP address once the server listens (for tests).
func (a *Agent) Addr() <-chan string { return a.ready }

// Run runs the checks, the scheduler and the HTTP server until ctx ends,
// then stops within ShutdownTimeout. It returns nil on a clean stop.
func (a *Agent) Run(ctx context.Context) error {
	a.started = time.Now()
	srvCfg := httpserve.Config{}
	if t := a.cfg.TLS; t != nil {
		tc, err := httpserve.TLSFiles(t.CertFile, t.KeyFile, t.ClientCAFile)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		srvCfg.TLS = tc
	}
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := httpserve.New(a.handler(), srvCfg, a.log)
	a.ready <- ln.Addr().String()
	a.log.Info("agent started", "listen", ln.Addr().String(), "tls", srvCfg.TLS != nil, "engines", len(a.engines), "checks", len(a.cfg.Checks), "jobs", a.jobs != nil, "inventory_sync", len(a.follow) > 0, "metering", a.meter != nil)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	})
	wg.Go(func() {
		if err := a.runner.Run(runCtx); err != nil {
			errc <- fmt.Errorf("runner: %w", err)
		}
	})
	for _, f := range a.follow {
		wg.Go(func() { f.run(runCtx) })
	}
	if a.diag != nil {
		wg.Go(func() { a.diag.run(runCtx) })
	}
	if a.images != nil {
		wg.Go(func() { a.images.run(runCtx) })
	}
	if a.meter != nil {
		wg.Go(func() { a.meter.run(runCtx) })
	}
	if a.apps != nil {
		wg.Go(func() { a.apps.run(runCtx) })
	}
	if a.ha != nil {
		wg.Go(func() {
			if err := a.runHA(runCtx); err != nil {
				errc <- fmt.Errorf("ha: %w", err)
			}
		})
	}
	if a.jobs != nil {
		wg.Go(func() {
			// When runCtx ends the scheduler detaches from running units:
			// their containers run on, and the next agent adopts them.
			if err := a.jobs.sched.Run(runCtx); err != nil {
				errc <- fmt.Errorf("jobs: %w", err)
			}
		})
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	cancel()
	a.consoleChg.Close() // console pages waiting for a change answer now
	// The whole stop fits in ShutdownTimeout, with a margin for exit.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), a.stopBudget()-250*time.Millisecond)
	defer scancel()
	_ = srv.Shutdown(sctx)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		a.log.Warn("agent: checks or the scheduler still stopping at the shutdown deadline")
	}
	a.closeWithin(sctx)
	a.log.Info("agent stopped")
	return runErr
}

// Close releases the notifiers (flushing them for up to ShutdownTimeout),
// the scheduler's store and the engine client.
func (a *Agent) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	a.closeWithin(ctx)
}

// closeWithin closes everything, flushing the notifiers until ctx ends;
// what a notifier could not deliver is logged with its count.
func (a *Agent) closeWithin(ctx context.Context) {
	if err := a.fan.Close(ctx); err != nil {
		a.log.Warn("notifications not delivered at shutdown", "err", err)
	}
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i].Close(); err != nil {
			a.log.Warn("closing", "err", err)
		}
	}
	a.closers = nil
}
