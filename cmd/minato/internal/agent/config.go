package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/cmd/minato/internal/catalog"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/httpguard"
	"github.com/minato-ops/minato/internal/strictyaml"
	"github.com/minato-ops/minato/inventory"
	dockerinv "github.com/minato-ops/minato/inventory/docker"
	"github.com/minato-ops/minato/inventory/hinemos/rest"
	"github.com/minato-ops/minato/job/jobfile"
	"github.com/minato-ops/minato/job/schedule"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/snmptrap"
	"github.com/minato-ops/minato/monitor/output/syslog"
	"github.com/minato-ops/minato/monitor/output/webhook"
	"github.com/minato-ops/minato/monitor/snmp"
)

// DefaultListen is where the agent serves HTTP by default: loopback only.
const DefaultListen = "127.0.0.1:9464"

// maxFileSize bounds the files a configuration names (job files, the
// token file): they are read whole.
const maxFileSize = 4 << 20

// Config is the agent's configuration file (YAML or JSON), decoded
// strictly: an unknown key is an error naming it and the keys allowed.
// Load reads the files it names; Validate reads nothing.
type Config struct {
	// Listen is the HTTP address (host:port); default DefaultListen.
	Listen string `json:"listen"`
	// TLS serves HTTPS. Required on a non-loopback Listen when the job
	// scheduler runs, unless Insecure.
	TLS *TLSConfig `json:"tls,omitempty"`
	// Insecure allows plain HTTP on a non-loopback Listen with the job
	// scheduler: job output and the token then cross the network in the
	// clear. For isolated management networks only.
	Insecure bool `json:"insecure,omitempty"`
	// Docker says how to reach the engine; absent fields come from
	// DOCKER_HOST and friends. Not with Engines.
	Docker *container.Config `json:"docker,omitempty"`
	// Engines are the Docker engines to watch, each with a name (for the
	// Hinemos repository, the host node's facility ID) and how to reach
	// it. With engines, every check and the event stream run once per
	// engine, as "<check>@<engine>", so an engine that is down never
	// stalls the others. Not with Docker.
	Engines []dockerinv.EngineConfig `json:"engines,omitempty"`
	// Inventory keeps a repository of nodes and scopes in step with the
	// engines' containers, and names the repository that scopes in check
	// targets are looked up in.
	Inventory InventoryConfig `json:"inventory"`
	// StateDir holds the rate baselines and the event checkpoint
	// (default: the user's state directory). Like every path of the file
	// (jobnets, jobs.store, jobs.spill_dir, api.token_file, tls, jsonl), a
	// relative one is relative to the config file's directory.
	StateDir string `json:"state_dir,omitempty"`
	// Collect is the resource collection mode (auto, oneshot, stream,
	// twosample, direct); default auto.
	Collect string `json:"collect,omitempty"`
	// MaxConcurrent bounds the checks running at once (default 10).
	MaxConcurrent int `json:"max_concurrent,omitempty"`
	// Checks are the monitors to run.
	Checks []CheckConfig `json:"checks"`
	// Events configures the engine event stream.
	Events EventsConfig `json:"events"`
	// Notify lists where status changes go.
	Notify []NotifyConfig `json:"notify,omitempty"`
	// Jobnets are the job network files the scheduler runs; Load reads
	// them, relative to the config file's directory.
	Jobnets []string `json:"jobnets,omitempty"`
	// Queues are the named queues; the queue "default" always exists
	// (with no concurrency limit unless listed).
	Queues []scheduler.QueueConfig `json:"queues,omitempty"`
	// Calendars are the business calendars jobnet schedules name.
	Calendars []schedule.Calendar `json:"calendars,omitempty"`
	// Jobs configures the job scheduler and its store.
	Jobs JobsConfig `json:"jobs"`
	// API secures the HTTP API.
	API APIConfig `json:"api"`
	// HA makes this agent a node of a failover cluster.
	HA *HAConfig `json:"ha,omitempty"`
	// Diag runs the diagnostics of minato diag check on every engine on
	// a schedule and notifies new findings (see DiagConfig).
	Diag DiagConfig `json:"diag"`
	// Images detects containers whose image tag moved in the registry
	// (or whose redeploy did not take effect) on a schedule, and notifies
	// them (see ImagesConfig).
	Images ImagesConfig `json:"images"`
	// Metering scrapes the replicas of metered applications and serves
	// /metrics/apps (see MeteringConfig).
	Metering MeteringConfig `json:"metering"`
	// Apps are declared applications kept converged on the engines (see
	// AppsConfig).
	Apps AppsConfig `json:"apps"`

	// What Load read from the files named above.
	jobnetData [][]byte
	token      string
}

// TLSConfig are the PEM files of the HTTPS listener, relative to the config
// file's directory. The certificate and key are read again when they
// change, so a renewal needs no restart.
type TLSConfig struct {
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
	// ClientCAFile, when set, requires client certificates signed by
	// these CAs (mutual TLS).
	ClientCAFile string `json:"client_ca_file,omitempty"`
}

// InventoryConfig configures the repository of nodes and scopes.
type InventoryConfig struct {
	// Repository is the embedded repository file (default: the user's
	// state directory's minato/inventory.db), shared with the minato
	// inventory commands; relative to the config file's directory.
	Repository string `json:"repository,omitempty"`
	// Sync keeps the repository in step with every engine's containers
	// as the Hinemos repository scripts do (add, delete, update), within
	// a second of each container event instead of every 5 minutes.
	Sync bool `json:"sync,omitempty"`
	// Resync is the period of a full sync of every engine besides the
	// events (default 5m), which also catches what an engine's event
	// stream lost while it was down.
	Resync time.Duration `json:"resync,omitempty"`
	// Lang is the language of the sync's log lines in the agent's log
	// (en, the default, or ja: the scripts' Japanese lines).
	Lang string `json:"lang,omitempty"`
	// Hinemos, when set, is the Hinemos 7 manager whose repository is
	// used (over its REST API) instead of the embedded file.
	Hinemos *rest.Config `json:"hinemos,omitempty"`
}

// JobsConfig configures the job scheduler.
type JobsConfig struct {
	// Enabled runs the scheduler (and its API) even without jobnets, for
	// submitted job files. It runs whenever Jobnets are listed, and, with
	// no configuration file, by default.
	Enabled bool `json:"enabled,omitempty"`
	// Store is the run store file (default: the user's state directory's
	// minato/jobs.db). One agent holds it at a time.
	Store string `json:"store,omitempty"`
	// Retention is how long finished runs are kept (default 30 days).
	Retention time.Duration `json:"retention,omitempty"`
	// SpillDir holds unit output beyond 1 MiB (default: the store's
	// directory's "output"). Pruning removes files inside it only.
	SpillDir string `json:"spill_dir,omitempty"`
}

// APIConfig secures the HTTP API.
type APIConfig struct {
	// TokenFile holds the bearer token every API request must carry
	// (reads included: runs hold their units' output); relative to the
	// config file's directory. It must be readable by its owner only (mode
	// 0600 or 0400). Without it, the API answers only on loopback, for a
	// loopback Host.
	TokenFile string `json:"token_file,omitempty"`
}

// CheckConfig is one check: a monitor of the catalogue on a selection, on
// a schedule, judged by thresholds.
type CheckConfig struct {
	// Name is unique; it names the check in every output.
	Name string `json:"name"`
	// Monitor is a catalogue name: cpu, memory, disk, network, pids,
	// process, container-status, host-status, host-count, host-size
	// (older names: blkio, state, count).
	Monitor string `json:"monitor"`
	// Pattern is the process monitor's regular expression.
	Pattern string `json:"pattern,omitempty"`
	// WithHost adds, for cpu and memory, a second check, "<name>-host",
	// of the host's use outside the containers over SNMP.
	WithHost *snmp.Config `json:"with_host,omitempty"`
	// Targets selects the containers (engine monitors ignore it).
	Targets inventory.Selector `json:"targets"`
	// Interval is the time between two rounds; required.
	Interval time.Duration `json:"interval"`
	// Timeout bounds each round (default min(interval, 10s)).
	Timeout time.Duration `json:"timeout,omitempty"`
	// StartDelay postpones the first round.
	StartDelay time.Duration `json:"start_delay,omitempty"`
	// Thresholds judge the samples: Monitoring Plugins ranges (warning,
	// critical) or Hinemos bands (bands: {info, warning}). A threshold
	// without a sample applies to the monitor's primary samples (cpu:
	// cpu_percent, memory: memory_host_percent, ...).
	Thresholds []Threshold `json:"thresholds,omitempty"`
	// Damping delays reported status changes.
	Damping monitor.Damping `json:"damping"`
}

// Threshold is a monitor.Threshold whose sample may be left out: it then
// applies to the monitor's primary samples.
type Threshold monitor.Threshold

// validate checks the threshold as monitor.Threshold does, a missing
// sample apart.
func (th Threshold) validate() error {
	t := monitor.Threshold(th)
	if t.Sample == "" {
		t.Sample = "primary"
	}
	return t.Validate()
}

// EventsConfig turns the engine event stream on or off.
type EventsConfig struct {
	Enabled bool `json:"enabled"`
}

// NotifyConfig is one notifier; exactly one field is set.
type NotifyConfig struct {
	Syslog   *syslog.Config   `json:"syslog,omitempty"`
	SNMPTrap *snmptrap.Config `json:"snmp_trap,omitempty"`
	Webhook  *webhook.Config  `json:"webhook,omitempty"`
	JSONL    *FileConfig      `json:"jsonl,omitempty"`
	Stdout   *struct{}        `json:"stdout,omitempty"`
}

// FileConfig names a file that notifications are appended to (mode
// 0600), relative to the config file's directory.
type FileConfig struct {
	Path string `json:"path"`
}

// Default is the configuration without a file, for an agent listening on
// listen ("" means DefaultListen): CPU, memory and state checks on every
// running container every 10 s, and events on; the job scheduler too when
// listen is loopback (elsewhere it would need a token and TLS, which only a
// file gives: the agent is then a Prometheus exporter whose API answers on
// loopback only).
func Default(listen string) Config {
	if listen == "" {
		listen = DefaultListen
	}
	return Config{
		Listen: listen,
		Checks: []CheckConfig{
			{Name: "cpu", Monitor: catalog.CPU, Interval: 10 * time.Second},
			{Name: "memory", Monitor: catalog.Memory, Interval: 10 * time.Second},
			{Name: "state", Monitor: catalog.ContainerStatus, Interval: 10 * time.Second},
		},
		Events: EventsConfig{Enabled: true},
		Jobs:   JobsConfig{Enabled: httpguard.LoopbackListen(listen)},
	}
}

// Load reads a configuration file over the defaults for Listen (Checks
// in a file replace the default checks), reads the files it names (job
// networks, relative to the file's directory, and the token file) and
// validates it. The error joins every problem, each with its key path.
func Load(path string) (Config, error) {
	b, err := readFile(path)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{Listen: DefaultListen}
	dir := filepath.Dir(path)
	err = strictyaml.Options{Validate: func() error {
		rel := func(p *string) {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(dir, *p)
			}
		}
		for i := range cfg.Jobnets {
			rel(&cfg.Jobnets[i])
		}
		rel(&cfg.API.TokenFile)
		rel(&cfg.StateDir)
		rel(&cfg.Jobs.Store)
		rel(&cfg.Jobs.SpillDir)
		rel(&cfg.Inventory.Repository)
		for i := range cfg.Apps.Files {
			rel(&cfg.Apps.Files[i])
		}
		if h := cfg.HA; h != nil {
			rel(&h.KeyFile)
			if w := h.Witness.HTTP; w != nil {
				rel(&w.CAFile)
			}
			if e := h.Witness.Etcd; e != nil {
				rel(&e.CAFile)
				rel(&e.CertFile)
				rel(&e.KeyFile)
				rel(&e.PasswordFile)
			}
		}
		if h := cfg.Inventory.Hinemos; h != nil {
			rel(&h.PasswordFile)
			rel(&h.CAFile)
		}
		for i := range cfg.Engines {
			if t := cfg.Engines[i].TLS; t != nil {
				rel(&t.CAFile)
				rel(&t.CertFile)
				rel(&t.KeyFile)
			}
		}
		for _, n := range cfg.Notify {
			if n.JSONL != nil {
				rel(&n.JSONL.Path)
			}
		}
		if cfg.TLS != nil {
			rel(&cfg.TLS.CertFile)
			rel(&cfg.TLS.KeyFile)
			rel(&cfg.TLS.ClientCAFile)
		}
		// The decoder validated the nested values (docker, targets,
		// thresholds, notifiers, calendars) as it read them.
		return errors.Join(append(cfg.readFiles(), cfg.validate(false))...)
	}}.Unmarshal(b, &cfg)
	return cfg, err
}

// readFiles reads the job network files and the token file.
func (c *Config) readFiles() []error {
	var errs []error
	c.jobnetData = make([][]byte, len(c.Jobnets))
	for i, p := range c.Jobnets {
		if p == "" {
			continue // Validate reports it
		}
		b, err := readFile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("jobnets[%d]: %w", i, err))
		}
		c.jobnetData[i] = b
	}
	if p := c.API.TokenFile; p != "" {
		tok, err := readToken(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("api.token_file: %w", err))
		}
		c.token = tok
	}
	errs = append(errs, c.Apps.load()...)
	return errs
}

// readFile reads a file of at most maxFileSize bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes: not a configuration or job file", path, maxFileSize)
	}
	return b, nil
}

// readToken reads a token file: one line, no spaces, readable by its
// owner only (as ssh insists of private keys).
func readToken(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if m := st.Mode().Perm(); m&0o077 != 0 {
		return "", fmt.Errorf("%s: mode %04o lets others read the token: chmod 600 %s", path, m, path)
	}
	b, err := readFile(path)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") || len(tok) > 4096 {
		return "", fmt.Errorf("%s: want one line holding the token, with no spaces", path)
	}
	return tok, nil
}

// usesRepository reports whether the agent needs the repository: to sync
// it, or to resolve scopes (of checks, or of the job units of an agent
// with engines).
func (c Config) usesRepository() bool {
	if c.Inventory.Sync || c.Inventory.Hinemos != nil || c.Inventory.Repository != "" {
		return true
	}
	if len(c.Engines) > 0 && c.jobsEnabled() {
		return true // job units may select by scope
	}
	for _, ch := range c.Checks {
		if len(ch.Targets.Scopes) > 0 {
			return true
		}
	}
	return false
}

// jobsEnabled reports whether the job scheduler runs.
func (c Config) jobsEnabled() bool { return c.Jobs.Enabled || len(c.Jobnets) > 0 }

// Validate checks every field and returns every problem, joined, each
// with its key path and what is allowed. It reads no file: the job
// networks are checked as Load read them.
func (c Config) Validate() error { return c.validate(true) }

// validate checks the agent's own rules, and with nested the values of
// library types it holds too (their own Validate).
func (c Config) validate(nested bool) error {
	var errs []error
	add := func(path, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, a...)))
	}
	addAll := func(path string, err error) {
		for _, e := range flatten(err) {
			errs = append(errs, subPath(path, e))
		}
	}
	if _, port, err := splitListen(c.Listen); err != nil {
		add("listen", "%q: want HOST:PORT such as %s", c.Listen, DefaultListen)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		add("listen", "%q: port must be 0 to 65535", c.Listen)
	} else if !httpguard.LoopbackListen(c.Listen) && (c.jobsEnabled() || c.HA != nil) {
		if c.API.TokenFile == "" {
			add("api.token_file", "required when listen (%s) is not loopback and the job scheduler or HA runs: without a token their API answers on loopback only", c.Listen)
		}
		if c.TLS == nil && !c.Insecure {
			add("tls", "required when listen (%s) is not loopback and the job scheduler or HA runs: job output, controls and the token would cross the network in the clear (set insecure: true only on an isolated management network)", c.Listen)
		}
	}
	if c.TLS != nil {
		if c.TLS.CertFile == "" || c.TLS.KeyFile == "" {
			add("tls", "give cert_file and key_file (PEM)")
		}
	}
	if c.Docker != nil && nested {
		addAll("docker", c.Docker.Validate())
	}
	if len(c.Engines) > 0 {
		if c.Docker != nil {
			add("docker", "give either docker (one engine) or engines (several), not both")
		}
		errs = append(errs, flatten(dockerinv.Config{Engines: c.Engines}.Validate())...)
	}
	if len(c.Engines) == 0 {
		if c.Inventory.Sync {
			add("inventory.sync", "needs engines: each engine's name is the facility ID of its host node in the repository")
		}
		for i, ch := range c.Checks {
			if len(ch.Targets.Scopes) > 0 {
				add(fmt.Sprintf("checks[%d].targets.scopes", i), "needs engines: the repository's container nodes name their engine (DOCKER_HOST) by the engine's name")
			}
		}
	}
	if c.Inventory.Hinemos != nil {
		if c.Inventory.Repository != "" {
			add("inventory", "give either repository (the embedded file) or hinemos (a manager's repository), not both")
		}
		if nested {
			addAll("inventory.hinemos", c.Inventory.Hinemos.Validate())
		}
	}
	if c.Inventory.Resync < 0 {
		add("inventory.resync", "%s: want a duration of 0 (default 5m) or more", c.Inventory.Resync)
	}
	switch c.Inventory.Lang {
	case "", "en", "ja":
	default:
		add("inventory.lang", "%q: want en or ja", c.Inventory.Lang)
	}
	switch c.Collect {
	case "", "auto", "oneshot", "stream", "twosample", "direct":
	default:
		add("collect", "%q: want auto, oneshot, stream, twosample or direct", c.Collect)
	}
	if c.MaxConcurrent < 0 {
		add("max_concurrent", "%d: want 0 (default 10) or more", c.MaxConcurrent)
	}
	if c.HA != nil {
		errs = append(errs, c.HA.validate()...)
	}
	errs = append(errs, c.Diag.validate()...)
	errs = append(errs, c.Images.validate()...)
	errs = append(errs, c.Apps.validate(c)...)
	if nested {
		addAll("metering", c.Metering.Validate())
	}
	if len(c.Checks) == 0 && !c.Events.Enabled && !c.jobsEnabled() && !c.Inventory.Sync && c.HA == nil && !c.Diag.Enabled && !c.Images.Enabled && !c.Metering.Enabled && !c.Apps.on() {
		add("checks", "nothing to do: give checks, enable events, the job scheduler, the inventory sync, diag, images, metering or apps, or list jobnets")
	}
	names := map[string]int{}
	for i, ch := range c.Checks {
		p := fmt.Sprintf("checks[%d]", i)
		switch j, dup := names[ch.Name]; {
		case ch.Name == "":
			add(p+".name", "required")
		case dup:
			add(p+".name", "%q is also the name of checks[%d]", ch.Name, j)
		default:
			names[ch.Name] = i
		}
		addAll(p, ch.validate(nested))
	}
	for i, n := range c.Notify {
		addAll(fmt.Sprintf("notify[%d]", i), n.validate(nested))
	}
	errs = append(errs, c.validateJobs(nested)...)
	return errors.Join(errs...)
}

func splitListen(listen string) (host, port string, err error) {
	i := strings.LastIndexByte(listen, ':')
	if i < 0 {
		return "", "", errors.New("no port")
	}
	return strings.Trim(listen[:i], "[]"), listen[i+1:], nil
}

// validate checks one check without building it; errors are prefixed with
// the field.
func (ch CheckConfig) validate(nested bool) error {
	var errs []error
	canon, ok := catalog.Canonical(ch.Monitor)
	if !ok {
		errs = append(errs, fmt.Errorf("monitor: %q: want one of %s", ch.Monitor, strings.Join(catalog.Names, ", ")))
	} else if err := (catalog.Params{Pattern: ch.Pattern, WithHost: ch.WithHost}).Validate(canon); err != nil {
		errs = append(errs, err)
	}
	if ch.Interval <= 0 {
		errs = append(errs, errors.New("interval: required: a duration greater than 0, such as 10s"))
	}
	if ch.Timeout < 0 || ch.StartDelay < 0 {
		errs = append(errs, errors.New("timeout and start_delay: want a duration of 0 or more"))
	}
	for j, th := range ch.Thresholds {
		for _, e := range flatten(th.validate()) {
			errs = append(errs, subPath(fmt.Sprintf("thresholds[%d]", j), e))
		}
	}
	if !nested {
		return errors.Join(errs...)
	}
	if err := ch.Targets.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("targets: %w", err))
	}
	if ch.WithHost != nil {
		if err := ch.WithHost.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("with_host: %w", err))
		}
	}
	if err := ch.Damping.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("damping: %w", err))
	}
	return errors.Join(errs...)
}

func (n NotifyConfig) validate(nested bool) error {
	var errs []error
	set := 0
	each := func(name string, on bool, v interface{ Validate() error }) {
		if !on {
			return
		}
		set++
		if err := v.Validate(); err != nil && nested {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	each("syslog", n.Syslog != nil, n.Syslog)
	each("snmp_trap", n.SNMPTrap != nil, n.SNMPTrap)
	each("webhook", n.Webhook != nil, n.Webhook)
	if n.JSONL != nil {
		set++
		if n.JSONL.Path == "" {
			errs = append(errs, errors.New("jsonl.path: required"))
		}
	}
	if n.Stdout != nil {
		set++
	}
	if set != 1 {
		errs = append(errs, errors.New("give exactly one of syslog, snmp_trap, webhook, jsonl or stdout"))
	}
	return errors.Join(errs...)
}

// validateJobs checks the scheduler's keys: queues (as the scheduler
// does), calendars, and the job network files as Load read them.
func (c Config) validateJobs(nested bool) []error {
	var errs []error
	add := func(path string, err error) {
		for _, e := range flatten(err) {
			errs = append(errs, fmt.Errorf("%s: %w", path, e))
		}
	}
	st := scheduler.NewMemStore()
	_, err := scheduler.New(scheduler.Config{Queues: c.Queues}, st, st)
	errs = append(errs, flatten(err)...)
	queues := []string{scheduler.DefaultQueue}
	for _, q := range c.Queues {
		if scheduler.ValidName(q.Name) && !slices.Contains(queues, q.Name) {
			queues = append(queues, q.Name)
		}
	}
	cals, bad, index := map[string]*schedule.Calendar{}, map[string]bool{}, map[string]int{}
	for i := range c.Calendars {
		cal := &c.Calendars[i]
		p := fmt.Sprintf("calendars[%d]", i)
		if j, dup := index[cal.Name]; dup {
			add(p+".name", fmt.Errorf("%q is also the name of calendars[%d]", cal.Name, j))
		} else if !scheduler.ValidName(cal.Name) {
			add(p+".name", fmt.Errorf("%q: want letters, digits, '.', '_' or '-'", cal.Name))
		} else {
			index[cal.Name] = i
		}
		if err := cal.Validate(); err != nil {
			if nested {
				add(p, err)
			}
			bad[cal.Name] = true
		}
		if cals[cal.Name] == nil {
			cals[cal.Name] = cal // known even when invalid: schedules naming it are not checked again
		}
	}
	networks := map[string]int{}
	for i, path := range c.Jobnets {
		p := fmt.Sprintf("jobnets[%d]: %s", i, path)
		if path == "" {
			add(fmt.Sprintf("jobnets[%d]", i), errors.New("empty: want the path of a job network file"))
			continue
		}
		if i >= len(c.jobnetData) || c.jobnetData[i] == nil {
			continue // not read: Load reported why
		}
		def, err := jobfile.Parse(c.jobnetData[i])
		if err != nil {
			add(p, err)
			continue
		}
		if !scheduler.ValidName(def.Name) {
			add(p, fmt.Errorf("name: %q: want letters, digits, '.', '_' or '-' (the name starts its run IDs)", def.Name))
		} else if j, dup := networks[def.Name]; dup {
			add(p, fmt.Errorf("name: network %q is also defined by jobnets[%d] (%s)", def.Name, j, c.Jobnets[j]))
		} else {
			networks[def.Name] = i
		}
		if def.Queue != "" && !slices.Contains(queues, def.Queue) {
			add(p, fmt.Errorf("queue: %q is not defined in queues (have %s)", def.Queue, strings.Join(queues, ", ")))
		}
		if s := def.Schedule; s != nil && (s.Calendar == nil || !bad[s.Calendar.Name]) {
			if _, err := s.Schedule(cals); err != nil {
				add(p, err)
			}
		}
		if def.Group != "" && !c.hasGroup(def.Group) {
			add(p, fmt.Errorf("group: %q is not a group of this agent's ha: section: the network would run nowhere", def.Group))
		}
	}
	return errs
}

// hasGroup reports whether the ha: section has the group.
func (c Config) hasGroup(name string) bool {
	if c.HA == nil {
		return false
	}
	return slices.ContainsFunc(c.HA.Groups, func(g GroupConfig) bool { return g.Name == name })
}

// calendars returns the named calendars.
func (c Config) calendars() map[string]*schedule.Calendar {
	m := make(map[string]*schedule.Calendar, len(c.Calendars))
	for i := range c.Calendars {
		m[c.Calendars[i].Name] = &c.Calendars[i]
	}
	return m
}

// subPath puts e under path: "checks[0]" and "monitor: ..." make
// "checks[0].monitor: ..."; an error that does not start with a key is
// put after "path: ".
func subPath(path string, e error) error {
	msg := e.Error()
	if k, _, ok := strings.Cut(msg, ": "); ok && k != "" && !strings.ContainsAny(k, " \"'") {
		if k[0] == '[' {
			return errors.New(path + msg)
		}
		return errors.New(path + "." + msg)
	}
	return fmt.Errorf("%s: %w", path, e)
}

// flatten returns the errors a joined error holds, recursively.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
