package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/strictyaml"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/snmptrap"
	"github.com/minato-ops/minato/monitor/output/syslog"
	"github.com/minato-ops/minato/monitor/output/webhook"
)

// DefaultListen is where the agent serves HTTP by default: loopback only.
const DefaultListen = "127.0.0.1:9464"

// Monitors lists the monitor names a check may use.
var Monitors = []string{"cpu", "memory", "blkio", "network", "pids", "process", "state", "host-status", "count", "disk"}

// Config is the agent's configuration file (YAML or JSON).
type Config struct {
	// Listen is the HTTP address (host:port); default DefaultListen.
	Listen string `json:"listen"`
	// Docker says how to reach the engine; absent fields come from
	// DOCKER_HOST and friends.
	Docker *container.Config `json:"docker,omitempty"`
	// StateDir holds the rate baselines (default: the user's state dir).
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
	// Notify lists where status transitions go.
	Notify []NotifyConfig `json:"notify,omitempty"`
	// Jobnets are the job network files the scheduler runs; Load makes
	// relative paths relative to the config file's directory.
	Jobnets []string `json:"jobnets,omitempty"`
	// Queues are the named queues; scheduler.DefaultQueue always exists (with
	// no concurrency limit unless listed).
	Queues []scheduler.QueueConfig `json:"queues,omitempty"`
	// Calendars are the business calendars jobnet schedules name.
	Calendars []CalendarConfig `json:"calendars,omitempty"`
	// Jobs configures the scheduler's store.
	Jobs JobsConfig `json:"jobs"`
	// API secures the job control API.
	API APIConfig `json:"api"`
}

// CalendarConfig is one named business calendar, as written in the file:
// weekdays are names ("mon", "Monday") or cron numbers 0-7, dates are
// YYYY-MM-DD.
type CalendarConfig struct {
	Name     string   `json:"name"`
	Weekdays []string `json:"weekdays,omitempty"`
	Holidays []string `json:"holidays,omitempty"`
	Workdays []string `json:"workdays,omitempty"`
}

// JobsConfig says where the scheduler keeps its runs.
type JobsConfig struct {
	// Store is the run store file (default boltstore.DefaultPath()).
	Store string `json:"store,omitempty"`
	// Retention is how long finished runs are kept (default
	// scheduler.DefaultRetention, 30 days).
	Retention time.Duration `json:"retention,omitempty"`
	// SpillDir holds unit output beyond 1 MiB (default: the store's
	// directory's "output").
	SpillDir string `json:"spill_dir,omitempty"`
}

// APIConfig secures the HTTP job controls.
type APIConfig struct {
	// TokenFile holds the bearer token every POST to /api/v1 must carry.
	TokenFile string `json:"token_file,omitempty"`
}

// CheckConfig is one check.
type CheckConfig struct {
	Name       string            `json:"name"`
	Monitor    string            `json:"monitor"`
	Targets    TargetsConfig     `json:"targets"`
	Interval   time.Duration     `json:"interval"`
	Timeout    time.Duration     `json:"timeout,omitempty"`
	StartDelay time.Duration     `json:"start_delay,omitempty"`
	Thresholds []ThresholdConfig `json:"thresholds,omitempty"`
	Damping    monitor.Damping   `json:"damping"`
	// Pattern is the process monitor's regular expression.
	Pattern string `json:"pattern,omitempty"`
}

// TargetsConfig selects containers (ignored by engine-level monitors).
type TargetsConfig struct {
	Names  []string          `json:"names,omitempty"`
	IDs    []string          `json:"ids,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	States []string          `json:"states,omitempty"`
}

// ThresholdConfig is a threshold with Monitoring Plugins ranges.
type ThresholdConfig struct {
	Sample   string            `json:"sample"`
	Labels   map[string]string `json:"labels,omitempty"`
	Warning  string            `json:"warning,omitempty"`
	Critical string            `json:"critical,omitempty"`
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

// FileConfig names a file that notifications are appended to.
type FileConfig struct {
	Path string `json:"path"`
}

// Default is the configuration with no file: CPU, memory and state checks
// on every running container every 10 s, events on, HTTP on loopback.
func Default() Config {
	return Config{
		Listen: DefaultListen,
		Checks: []CheckConfig{
			{Name: "cpu", Monitor: "cpu", Interval: 10 * time.Second},
			{Name: "memory", Monitor: "memory", Interval: 10 * time.Second},
			{Name: "state", Monitor: "state", Interval: 10 * time.Second},
		},
		Events: EventsConfig{Enabled: true},
	}
}

// Load reads a configuration file over the defaults for Listen and Events
// (Checks in a file replace the default checks) and validates it.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{Listen: DefaultListen}
	if err := strictyaml.Unmarshal(b, &cfg); err != nil {
		return Config{}, err
	}
	dir := filepath.Dir(path)
	for i, p := range cfg.Jobnets {
		if p != "" && !filepath.IsAbs(p) {
			cfg.Jobnets[i] = filepath.Join(dir, p)
		}
	}
	return cfg, cfg.Validate()
}

// Validate checks every field and returns every problem, joined, each with
// its key path and what is allowed.
func (c Config) Validate() error {
	var errs []error
	add := func(path, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, a...)))
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen", "%q: want HOST:PORT such as %s", c.Listen, DefaultListen)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		add("listen", "%q: port must be 0 to 65535", c.Listen)
	}
	if c.Docker != nil {
		if err := c.Docker.Validate(); err != nil {
			add("docker", "%v", err)
		}
	}
	switch c.Collect {
	case "", "auto", "oneshot", "stream", "twosample", "direct":
	default:
		add("collect", "%q: want auto, oneshot, stream, twosample or direct", c.Collect)
	}
	if c.MaxConcurrent < 0 {
		add("max_concurrent", "%d: want 0 (default 10) or more", c.MaxConcurrent)
	}
	if len(c.Checks) == 0 && !c.Events.Enabled && len(c.Jobnets) == 0 {
		add("checks", "nothing to do: give checks, enable events or list jobnets")
	}
	names := map[string]int{}
	for i, ch := range c.Checks {
		p := fmt.Sprintf("checks[%d]", i)
		if ch.Name == "" {
			add(p+".name", "required")
		} else if j, dup := names[ch.Name]; dup {
			add(p+".name", "%q is also the name of checks[%d]", ch.Name, j)
		} else {
			names[ch.Name] = i
		}
		if !slices.Contains(Monitors, ch.Monitor) {
			add(p+".monitor", "%q: want one of %s", ch.Monitor, strings.Join(Monitors, ", "))
		}
		if ch.Interval <= 0 {
			add(p+".interval", "required: a duration greater than 0, such as 10s")
		}
		if len(ch.Targets.Names) > 0 && len(ch.Targets.IDs) > 0 {
			add(p+".targets", "give names or ids, not both")
		}
		for j, th := range ch.Thresholds {
			tp := fmt.Sprintf("%s.thresholds[%d]", p, j)
			if th.Sample == "" {
				add(tp+".sample", "required: the sample name, such as cpu_percent")
			}
			for k, r := range map[string]string{"warning": th.Warning, "critical": th.Critical} {
				if r == "" {
					continue
				}
				if _, err := monitor.ParseRange(r); err != nil {
					add(tp+"."+k, "%q: %v", r, err)
				}
			}
		}
		if err := ch.Damping.Validate(); err != nil {
			add(p+".damping", "%v", err)
		}
	}
	for i, n := range c.Notify {
		p := fmt.Sprintf("notify[%d]", i)
		set := 0
		if n.Syslog != nil {
			set++
			if err := n.Syslog.Validate(); err != nil {
				add(p+".syslog", "%v", err)
			}
		}
		if n.SNMPTrap != nil {
			set++
			if err := n.SNMPTrap.Validate(); err != nil {
				add(p+".snmp_trap", "%v", err)
			}
		}
		if n.Webhook != nil {
			set++
			if err := n.Webhook.Validate(); err != nil {
				add(p+".webhook", "%v", err)
			}
		}
		if n.JSONL != nil {
			set++
			if n.JSONL.Path == "" {
				add(p+".jsonl.path", "required")
			}
		}
		if n.Stdout != nil {
			set++
		}
		if set != 1 {
			add(p, "give exactly one of syslog, snmp_trap, webhook, jsonl or stdout")
		}
	}
	_, jobErrs := c.compileJobs()
	errs = append(errs, jobErrs...)
	return errors.Join(errs...)
}
