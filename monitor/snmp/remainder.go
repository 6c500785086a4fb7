package snmp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
)

// The measures of a [HostRemainder] ([RemainderConfig.Measure]).
const (
	// RemainderMemory is the host's memory use outside containers.
	RemainderMemory = "memory"
	// RemainderCPU is the host's CPU use outside containers.
	RemainderCPU = "cpu"
)

// RemainderConfig configures a [HostRemainder]. It is plain data with json
// tags; start from [DefaultRemainderConfig].
type RemainderConfig struct {
	// Measure is "memory" (the default) or "cpu".
	Measure string `json:"measure,omitempty"`
	// CPUs is the number of CPUs of the host, by which the containers'
	// per-core percentages are divided (the engine's NCPU). Required for
	// "cpu"; unused for "memory".
	CPUs int `json:"cpus,omitempty"`
	// BaselineKey names the baseline that keeps the host's CPU counters
	// from one run to the next: 1 to 200 characters from A-Z a-z 0-9 . _
	// -, not starting with a dot. Required for "cpu"; unused for
	// "memory". Use one key per host and schedule, and a different one
	// from the containers' own baseline.
	BaselineKey string `json:"baseline_key,omitempty"`
}

// DefaultRemainderConfig returns a RemainderConfig for the memory measure,
// which needs nothing else.
func DefaultRemainderConfig() RemainderConfig {
	return RemainderConfig{Measure: RemainderMemory}
}

// Validate reports what is wrong with c: an unknown Measure, and for
// "cpu" a CPUs below 1 or an unusable BaselineKey. Problems are joined;
// each names its field.
func (c RemainderConfig) Validate() error {
	var errs []error
	switch c.Measure {
	case "", RemainderMemory:
	case RemainderCPU:
		if c.CPUs < 1 {
			errs = append(errs, fmt.Errorf("cpus: %d: want the host's number of CPUs, 1 or more", c.CPUs))
		}
		if err := baseline.CheckKey(c.BaselineKey); err != nil {
			errs = append(errs, fmt.Errorf("baseline_key: %w", err))
		}
	default:
		errs = append(errs, fmt.Errorf("measure: %q: want %q or %q", c.Measure, RemainderMemory, RemainderCPU))
	}
	return errors.Join(errs...)
}

// ContainerUsage reports what the containers of the host use, for a
// [HostRemainder] to subtract from the host's figures.
//
// Usage returns the current samples of every container running on the
// host, flattened in one slice; the HostRemainder sums their
// "cpu_percent" samples (100 = one core) for the cpu measure and their
// "memory_rss_bytes" samples for the memory measure, and ignores the
// others. A container that is not represented counts as using nothing.
// Usage may block; it must return once ctx is done. A non-nil error means
// the containers' use could not be had, and the HostRemainder reports no
// value. For CPU rates, return an error wrapping [monitor.ErrNoBaseline]
// when some running container has no rate yet (a first run, a new
// container), rather than leaving it out and overstating the host's
// remainder. Usage may be called concurrently when the HostRemainder is.
type ContainerUsage interface {
	Usage(ctx context.Context) ([]monitor.Sample, error)
}

// ContainerUsageFunc adapts a function to [ContainerUsage].
type ContainerUsageFunc func(ctx context.Context) ([]monitor.Sample, error)

// Usage calls f(ctx).
func (f ContainerUsageFunc) Usage(ctx context.Context) ([]monitor.Sample, error) { return f(ctx) }

// HostRemainder is a [monitor.Monitor] of what a Docker host uses outside
// its containers, the --with-host figure of the Hinemos Docker monitoring
// scripts: the host's memory or CPU use read over SNMP from the agent a
// [Client] polls, minus what the containers use ([ContainerUsage]).
//
//   - memory: [MemoryRemainder], (host used − Σ container memory_rss_bytes)
//     / host total × 100, never below 0, reported as memory_host_percent
//     and memory_limit_percent (a host has no limit but its memory, so,
//     as for a container without a limit, the two shares are the same
//     figure, and the containers' key sets print both);
//   - cpu: [CPURemainder], the host's busy share of all CPUs between
//     this run and the previous one ([CPUPercent] of the raw counters,
//     kept in a [baseline.Store] under RemainderConfig.BaselineKey) minus
//     Σ container cpu_percent / CPUs, never below 0, reported as
//     cpu_percent.
//
// The samples carry Unit % and Mode snmp, and keep the containers'
// sample names, so one output mapping (a Hinemos key set, a Nagios
// threshold) renders the containers and the host alike.
//
// A HostRemainder is safe for concurrent use, although two cpu Checks
// with the same baseline key at the same moment measure nearly nothing
// between them.
type HostRemainder struct {
	cfg        RemainderConfig
	c          *Client
	store      *baseline.Store
	containers ContainerUsage
	log        *slog.Logger
}

var (
	_ monitor.Monitor   = (*HostRemainder)(nil)
	_ monitor.Describer = (*HostRemainder)(nil)
)

// NewHostRemainder returns the monitor cfg describes, reading the host's
// figures through c and the containers' through containers. store keeps
// the host's CPU counters between runs; it is required for the cpu
// measure and may be nil for memory. The Client stays the caller's to
// close. [WithLogger] sets a logger for debug traces (a damaged baseline
// started over).
func NewHostRemainder(cfg RemainderConfig, c *Client, store *baseline.Store, containers ContainerUsage, opts ...Option) (*HostRemainder, error) {
	errs := []error{cfg.Validate()}
	if c == nil {
		errs = append(errs, errors.New("client: nil"))
	}
	if containers == nil {
		errs = append(errs, errors.New("containers: nil"))
	}
	if cfg.Measure == RemainderCPU && store == nil {
		errs = append(errs, errors.New("store: nil: the cpu measure keeps the host's counters between runs"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("snmp host remainder: %w", err)
	}
	if cfg.Measure == "" {
		cfg.Measure = RemainderMemory
	}
	o := options{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	return &HostRemainder{cfg: cfg, c: c, store: store, containers: containers, log: o.log}, nil
}

// Check measures the host, whatever t is (the monitor is bound to its
// Client's agent); the caller names the Target the Result belongs to,
// for instance {Kind: "host", Name: "host"}, which the Hinemos key sets
// print as cpu_usage:host and host_mem_usage:host.
//
// It asks the containers first, then the agent. An error means there is
// no value: the containers' or the agent's error (ErrTimeout, ...,
// monitor.ErrNotSupported when the agent lacks UCD-SNMP-MIB), or for cpu
// one wrapping [monitor.ErrNoBaseline] on the first run of the key, when
// the host's counters did not move since the previous run (net-snmp
// refreshes them every 5 seconds) or went backwards (a reboot), or when
// the containers had no rate yet. The host's counters are stored
// whenever the agent answered, so the next run has a baseline.
func (h *HostRemainder) Check(ctx context.Context, _ inventory.Target) (monitor.Result, error) {
	samples, cerr := h.containers.Usage(ctx)
	if cerr != nil && (h.cfg.Measure != RemainderCPU || !errors.Is(cerr, monitor.ErrNoBaseline)) {
		return monitor.Result{}, fmt.Errorf("snmp host remainder: containers: %w", cerr)
	}
	if h.cfg.Measure == RemainderCPU {
		return h.checkCPU(ctx, samples, cerr)
	}
	m, err := h.c.HostMemory(ctx)
	if err != nil {
		return monitor.Result{}, fmt.Errorf("snmp host remainder: host memory: %w", err)
	}
	v, err := MemoryRemainder(m, sum(samples, "memory_rss_bytes"))
	if err != nil {
		return monitor.Result{}, fmt.Errorf("snmp host remainder: %w", err)
	}
	return result(m.Time, v, "memory_host_percent", "memory_limit_percent"), nil
}

func (h *HostRemainder) checkCPU(ctx context.Context, samples []monitor.Sample, cerr error) (monitor.Result, error) {
	cur, err := h.c.HostCPU(ctx)
	if err != nil {
		return monitor.Result{}, fmt.Errorf("snmp host remainder: host cpu: %w", err)
	}
	var (
		host    float64
		hostErr error
	)
	err = h.store.Update(h.cfg.BaselineKey, func(old []byte) ([]byte, error) {
		var prev CPU
		if old == nil {
			hostErr = fmt.Errorf("%w for key %s", monitor.ErrNoBaseline, h.cfg.BaselineKey)
		} else if err := json.Unmarshal(old, &prev); err != nil {
			h.log.Debug("snmp host remainder: damaged baseline, starting over", "key", h.cfg.BaselineKey, "err", err)
			hostErr = fmt.Errorf("%w for key %s (the stored one was damaged)", monitor.ErrNoBaseline, h.cfg.BaselineKey)
		} else {
			host, hostErr = CPUPercent(prev, cur)
		}
		return json.Marshal(cur)
	})
	switch {
	case err != nil:
		return monitor.Result{}, fmt.Errorf("snmp host remainder: %w", err)
	case hostErr != nil:
		return monitor.Result{}, fmt.Errorf("snmp host remainder: host cpu: %w", hostErr)
	case cerr != nil:
		return monitor.Result{}, fmt.Errorf("snmp host remainder: containers: %w", cerr)
	}
	return result(cur.Time, CPURemainder(host, sum(samples, "cpu_percent"), h.cfg.CPUs), "cpu_percent"), nil
}

func sum(ss []monitor.Sample, name string) float64 {
	total := 0.0
	for _, s := range ss {
		if s.Name == name && !math.IsNaN(s.Value) && !math.IsInf(s.Value, 0) {
			total += s.Value
		}
	}
	return total
}

func result(at time.Time, v float64, names ...string) monitor.Result {
	r := monitor.Result{Time: at, Status: monitor.OK}
	for _, n := range names {
		r.Samples = append(r.Samples, monitor.Sample{Name: n, Value: v, Unit: monitor.Percent, Time: at, Mode: monitor.ModeSNMP})
	}
	return r
}

// MemoryRemainder returns the share of the host's memory in use outside
// containers, in percent: (m.UsedBytes() − containersRSS) / m.TotalBytes()
// × 100, never below 0 (the host and the containers are not read at the
// same instant). containersRSS is the containers' summed rss in bytes.
// The error wraps monitor.ErrNotSupported when the agent reports no
// memory total.
func MemoryRemainder(m Memory, containersRSS float64) (float64, error) {
	total := float64(m.TotalBytes())
	if total <= 0 {
		return 0, fmt.Errorf("the agent reports no memory total (memTotalReal 0): %w", monitor.ErrNotSupported)
	}
	return max((float64(m.UsedBytes())-containersRSS)/total*100, 0), nil
}

// CPURemainder returns the host's CPU use outside containers, in percent
// of all CPUs: hostPercent (the host's busy share of all CPUs, 0-100, as
// [CPUPercent] gives it) minus containersPercent (the containers' summed
// cpu_percent, where 100 is one core) divided by cpus, never below 0.
// A cpus below 1 counts as 1.
func CPURemainder(hostPercent, containersPercent float64, cpus int) float64 {
	return max(hostPercent-containersPercent/float64(max(cpus, 1)), 0)
}

// Describe lists the samples of the configured measure.
func (h *HostRemainder) Describe() []monitor.SampleDesc {
	if h.cfg.Measure == RemainderCPU {
		return []monitor.SampleDesc{{Name: "cpu_percent", Unit: monitor.Percent, Kind: monitor.Gauge,
			Help: "Host CPU used outside containers between two runs, in percent of all CPUs (SNMP)."}}
	}
	return []monitor.SampleDesc{
		{Name: "memory_host_percent", Unit: monitor.Percent, Kind: monitor.Gauge, Help: "Host memory used outside containers, in percent of the host's memory (SNMP)."},
		{Name: "memory_limit_percent", Unit: monitor.Percent, Kind: monitor.Gauge, Help: "The same figure: a host's limit is its memory (SNMP)."},
	}
}
