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
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
	mdocker "github.com/minato-ops/minato/monitor/docker"
	"github.com/minato-ops/minato/monitor/output/jsonout"
	"github.com/minato-ops/minato/monitor/output/prom"
	"github.com/minato-ops/minato/monitor/output/snmptrap"
	"github.com/minato-ops/minato/monitor/output/syslog"
	"github.com/minato-ops/minato/monitor/output/webhook"
)

// ShutdownTimeout bounds a clean stop after SIGTERM.
const ShutdownTimeout = 5 * time.Second

// Agent is a configured, not yet running agent.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	client  *container.Client
	col     *mdocker.Collector
	runner  *monitor.Runner
	events  *mdocker.EventWatcher
	descs   []monitor.SampleDesc
	sinks   []monitor.Sink
	closers []io.Closer
	// counters report what each notifier sent and dropped, for /metrics.
	counters []notifierStats
	ready    chan string // the address the HTTP server listens on
	started  time.Time
	// jobs is the job scheduler; token, when set, is the bearer token
	// of the job controls (never logged).
	jobs  *jobs
	token string
}

// New builds the agent: the engine client, the checks and the notifiers.
// It contacts nothing yet; Run does.
func New(cfg Config, getenv func(string) string, log *slog.Logger) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dcfg := container.ConfigFromEnv(getenv)
	if cfg.Docker != nil {
		if cfg.Docker.Host != "" {
			dcfg.Host = cfg.Docker.Host
		}
		if cfg.Docker.APIVersion != "" {
			dcfg.APIVersion = cfg.Docker.APIVersion
		}
		if cfg.Docker.TLS != nil {
			dcfg.TLS = cfg.Docker.TLS
		}
		if cfg.Docker.Timeout != 0 {
			dcfg.Timeout = cfg.Docker.Timeout
		}
	}
	c, err := container.New(dcfg, container.WithLogger(log))
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: log, client: c, ready: make(chan string, 1)}
	a.closers = append(a.closers, c)
	if err := a.setupJobs(); err != nil {
		a.Close()
		return nil, err
	}
	ccfg := mdocker.DefaultCollectorConfig()
	if cfg.Collect != "" {
		ccfg.Mode = cfg.Collect
	}
	if a.col, err = mdocker.NewCollector(c, ccfg, mdocker.WithCollectorLogger(log)); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.col)
	dir := cfg.StateDir
	if dir == "" {
		if dir, err = baseline.DefaultDir(); err != nil {
			return nil, err
		}
	}
	store, err := baseline.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := a.notifiers(); err != nil {
		a.Close()
		return nil, err
	}
	rc := monitor.DefaultRunnerConfig()
	if cfg.MaxConcurrent > 0 {
		rc.MaxConcurrent = cfg.MaxConcurrent
	}
	a.runner, err = monitor.NewRunner(rc, a.resolver(), monitor.WithLogger(log), monitor.WithTransitions(a.notify))
	if err != nil {
		a.Close()
		return nil, err
	}
	for i, ch := range cfg.Checks {
		check, err := a.check(ch, store)
		if err == nil {
			err = a.runner.Add(check)
		}
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("checks[%d] (%s): %w", i, ch.Name, err)
		}
	}
	a.descs = a.runner.Describe()
	if cfg.Events.Enabled {
		stream, err := mdocker.NewEventStream(c, store, "agent-events", mdocker.EventStreamOptions{Logger: log})
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("events: %w", err)
		}
		a.events = mdocker.NewEventWatcher(stream, mdocker.AnalyzerConfig{})
	}
	return a, nil
}

// resolver routes engine-level selectors (Kind host) to the engine itself
// and container selectors to the engine's containers.
func (a *Agent) resolver() inventory.Resolver {
	engine := mdocker.EngineTarget(a.client)
	return inventory.ResolverFunc(func(ctx context.Context, sel inventory.Selector) ([]inventory.Target, error) {
		if sel.Kind == inventory.KindHost {
			return []inventory.Target{engine}, nil
		}
		return a.client.Resolve(ctx, sel)
	})
}

func (a *Agent) check(ch CheckConfig, store *baseline.Store) (monitor.Check, error) {
	c := monitor.Check{Name: ch.Name, Interval: ch.Interval, Timeout: ch.Timeout, StartDelay: ch.StartDelay, Damping: ch.Damping}
	sel := inventory.Selector{Kind: inventory.KindContainer, Names: ch.Targets.Names, IDs: ch.Targets.IDs, Labels: ch.Targets.Labels, States: ch.Targets.States}
	var err error
	key := "agent-" + sanitize(ch.Name)
	switch ch.Monitor {
	case "cpu", "memory", "blkio", "network", "pids":
		if len(sel.States) == 0 {
			sel.States = []string{"running"}
		}
		kind := map[string]mdocker.Kind{"cpu": mdocker.CPU, "memory": mdocker.Memory, "blkio": mdocker.BlockIO, "network": mdocker.Network, "pids": mdocker.PIDs}[ch.Monitor]
		c.Monitor, err = mdocker.NewResources(a.col, store, key, kind)
	case "process":
		if len(sel.States) == 0 {
			sel.States = []string{"running"}
		}
		c.Monitor, err = mdocker.NewProcesses(a.client, ch.Pattern)
	case "state":
		c.Monitor = mdocker.NewState(a.client)
	case "host-status":
		c.Monitor, sel = mdocker.NewHostStatus(a.client), inventory.Selector{Kind: inventory.KindHost}
	case "count":
		c.Monitor, sel = mdocker.NewContainerCount(a.client), inventory.Selector{Kind: inventory.KindHost}
	case "disk":
		c.Monitor, sel = mdocker.NewDiskUsage(a.client), inventory.Selector{Kind: inventory.KindHost}
	}
	if err != nil {
		return c, err
	}
	c.Targets = sel
	for _, th := range ch.Thresholds {
		t := monitor.Threshold{Sample: th.Sample, Labels: th.Labels}
		if th.Warning != "" {
			r, _ := monitor.ParseRange(th.Warning) // validated
			t.Warning = &r
		}
		if th.Critical != "" {
			r, _ := monitor.ParseRange(th.Critical)
			t.Critical = &r
		}
		c.Thresholds = append(c.Thresholds, t)
	}
	return c, nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// notifierStats is one notifier's delivery counts.
type notifierStats struct {
	name  string
	stats func() (sent, dropped uint64)
}

// notifiers opens the configured destinations.
func (a *Agent) notifiers() error {
	for i, n := range a.cfg.Notify {
		switch {
		case n.Syslog != nil:
			w, err := syslog.New(*n.Syslog, syslog.WithLogger(a.log))
			if err != nil {
				return fmt.Errorf("notify[%d].syslog: %w", i, err)
			}
			a.closers = append(a.closers, w)
			a.sinks = append(a.sinks, syslog.NewSink(w, syslog.SinkOptions{All: true}))
			a.counters = append(a.counters, notifierStats{fmt.Sprintf("%d-syslog", i), func() (uint64, uint64) { s, d, _ := w.Stats(); return s, d }})
		case n.SNMPTrap != nil:
			ts, err := snmptrap.New(*n.SNMPTrap)
			if err != nil {
				return fmt.Errorf("notify[%d].snmp_trap: %w", i, err)
			}
			a.closers = append(a.closers, ts)
			a.sinks = append(a.sinks, snmptrap.NewSink(ts, snmptrap.SinkOptions{Recoveries: true}))
			a.counters = append(a.counters, notifierStats{fmt.Sprintf("%d-snmp_trap", i), ts.Stats})
		case n.Webhook != nil:
			ws, err := webhook.New(*n.Webhook, webhook.WithLogger(a.log))
			if err != nil {
				return fmt.Errorf("notify[%d].webhook: %w", i, err)
			}
			a.closers = append(a.closers, ws)
			a.sinks = append(a.sinks, webhook.NewSink(ws))
			a.counters = append(a.counters, notifierStats{fmt.Sprintf("%d-webhook", i), func() (uint64, uint64) { s, d, _ := ws.Stats(); return s, d }})
		case n.JSONL != nil:
			f, err := os.OpenFile(n.JSONL.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
			if err != nil {
				return fmt.Errorf("notify[%d].jsonl: %w", i, err)
			}
			a.closers = append(a.closers, f)
			a.sinks = append(a.sinks, jsonout.NewLineSink(f))
		case n.Stdout != nil:
			a.sinks = append(a.sinks, jsonout.NewLineSink(os.Stdout))
		}
	}
	return nil
}

// notify sends a status transition to every notifier. Failures are
// logged; the notifiers count what they could not deliver.
func (a *Agent) notify(ctx context.Context, tr monitor.Transition) {
	if errors.Is(tr.Err, monitor.ErrNoBaseline) {
		return // a rate's first sample after start: not news
	}
	a.log.InfoContext(ctx, "status changed", "check", tr.Check, "target", tr.Target.String(), "from", tr.From.String(), "to", tr.Status.String())
	for _, s := range a.sinks {
		if err := s.Write(ctx, []monitor.Evaluation{tr.Evaluation}); err != nil {
			a.log.WarnContext(ctx, "notification failed", "check", tr.Check, "err", err)
		}
	}
}

// event notifies what the event stream found: deaths with a non-zero
// exit code, OOM kills, restart loops, health changes, gaps. Routine
// events (start, a requested stop) are not news.
func (a *Agent) event(t inventory.Target, r monitor.Result) {
	if r.Status == monitor.OK {
		return
	}
	ev := monitor.Evaluation{Check: "events", Target: t, Result: r, Status: r.Status, Observed: r.Status, Message: r.Message}
	a.log.Info("event", "target", t.String(), "status", r.Status.String(), "message", r.Message)
	for _, s := range a.sinks {
		if err := s.Write(context.Background(), []monitor.Evaluation{ev}); err != nil {
			a.log.Warn("notification failed", "check", "events", "err", err)
		}
	}
}

// notifyJob sends a job network's changed outcome to every notifier.
func (a *Agent) notifyJob(ev monitor.Evaluation) {
	a.log.Info("job network outcome changed", "network", ev.Target.Name, "status", ev.Status.String(), "message", ev.Message)
	for _, s := range a.sinks {
		if err := s.Write(context.Background(), []monitor.Evaluation{ev}); err != nil {
			a.log.Warn("notification failed", "check", ev.Check, "err", err)
		}
	}
}

// Addr returns the HTTP address once the server listens (for tests).
func (a *Agent) Addr() <-chan string { return a.ready }

// Run runs the checks and the HTTP server until ctx ends, then stops
// within ShutdownTimeout. It returns nil on a clean stop.
func (a *Agent) Run(ctx context.Context) error {
	a.started = time.Now()
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 5 * time.Second}
	a.ready <- ln.Addr().String()
	a.log.Info("agent started", "listen", ln.Addr().String(), "engine", a.client.Host(), "checks", len(a.cfg.Checks))

	var wg sync.WaitGroup
	errc := make(chan error, 4)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.jobs.start(runCtx, errc)
	go func() {
		defer wg.Done()
		if err := a.runner.Run(runCtx); err != nil {
			errc <- fmt.Errorf("runner: %w", err)
		}
	}()
	if a.events != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.events.Watch(runCtx, a.event); err != nil {
				errc <- fmt.Errorf("events: %w", err)
			}
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer scancel()
	_ = srv.Shutdown(sctx)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		a.log.Warn("agent: checks still running at shutdown")
	}
	// The scheduler detaches from the running units: their containers
	// run on, and the next agent with this store adopts them.
	select {
	case <-a.jobs.stop():
	case <-sctx.Done():
		a.log.Warn("agent: job scheduler still detaching at shutdown")
	}
	a.Close()
	a.log.Info("agent stopped")
	return runErr
}

// Close releases the engine client and the notifiers, flushing them; what
// a notifier could not deliver is logged with its count.
func (a *Agent) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i].Close(); err != nil {
			a.log.Warn("closing", "err", err)
		}
	}
	a.closers = nil
	for _, c := range a.counters {
		if sent, dropped := c.stats(); dropped > 0 {
			a.log.Warn("notifications dropped", "notifier", c.name, "sent", sent, "dropped", dropped)
		}
	}
}

// writeNotifierMetrics appends the notifiers' counts to the exposition, so
// that nothing a destination refused goes unnoticed.
func (a *Agent) writeNotifierMetrics(w io.Writer) {
	if len(a.counters) == 0 {
		return
	}
	fmt.Fprintln(w, "# HELP minato_notifications_sent_total Notifications a notifier delivered.")
	fmt.Fprintln(w, "# TYPE minato_notifications_sent_total counter")
	for _, c := range a.counters {
		sent, _ := c.stats()
		fmt.Fprintf(w, "minato_notifications_sent_total{notifier=%q} %d\n", c.name, sent)
	}
	fmt.Fprintln(w, "# HELP minato_notifications_dropped_total Notifications a notifier could not deliver (buffer full, retries exhausted, refused).")
	fmt.Fprintln(w, "# TYPE minato_notifications_dropped_total counter")
	for _, c := range a.counters {
		_, dropped := c.stats()
		fmt.Fprintf(w, "minato_notifications_dropped_total{notifier=%q} %d\n", c.name, dropped)
	}
}

func (a *Agent) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			w.Header().Set("Content-Type", "application/json")
			_ = jsonout.Write(w, a.runner.Evaluations())
			return
		}
		w.Header().Set("Content-Type", prom.ContentType)
		if err := prom.WriteText(w, a.runner.Evaluations(), a.descs); err != nil {
			a.log.Warn("metrics", "err", err)
			return
		}
		a.writeNotifierMetrics(w)
		a.jobs.writeMetrics(w)
	})
	mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = jsonout.Write(w, a.runner.Evaluations())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if _, err := a.client.Ping(ctx); err != nil {
			http.Error(w, "engine unreachable: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "ok: up %s, engine %s\n", time.Since(a.started).Round(time.Second), a.client.Host())
	})
	a.jobsAPI(mux)
	return mux
}
