package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
	mdocker "github.com/minato-ops/minato/monitor/docker"
	"github.com/minato-ops/minato/monitor/snmp"
)

// The monitor names. The first group are the Hinemos Docker monitoring
// scripts' monitors, under the CLI's subcommand names.
const (
	CPU             = "cpu"              // container CPU use between two samples
	Memory          = "memory"           // container memory against the host or the limit
	Disk            = "disk"             // container block I/O between two samples
	Network         = "network"          // container network I/O between two samples
	Process         = "process"          // processes matching a pattern, per container
	ContainerStatus = "container-status" // container state
	HostStatus      = "host-status"      // engine health
	HostCount       = "host-count"       // containers per state
	HostSize        = "host-size"        // disk used by images and containers
	PIDs            = "pids"             // tasks per container against pids.max
)

// Names lists the monitor names, in the order help texts show them.
var Names = []string{CPU, Memory, Disk, Network, PIDs, Process, ContainerStatus, HostStatus, HostCount, HostSize}

// aliases are the names older agent configurations used.
var aliases = map[string]string{"blkio": Disk, "state": ContainerStatus, "count": HostCount}

// Canonical returns the monitor name that name means (itself, or what an
// older alias stands for: blkio is disk, state is container-status, count
// is host-count), and false for an unknown name.
func Canonical(name string) (string, bool) {
	if a, ok := aliases[name]; ok {
		return a, true
	}
	return name, slices.Contains(Names, name)
}

// Params are a check's monitor settings, from command-line flags or the
// agent's configuration.
type Params struct {
	// Pattern is the process monitor's regular expression, matched
	// unanchored against each process's command line (default ".*").
	Pattern string `json:"pattern,omitempty"`
	// WithHost adds, for cpu and memory, the host's use outside the
	// containers, read over SNMP from the host's UCD-SNMP-MIB (the
	// Hinemos scripts' --with-host).
	WithHost *snmp.Config `json:"with_host,omitempty"`
}

// Validate reports what is wrong with p for the monitor name (which must
// be canonical); problems are joined, each naming its field. WithHost's
// own fields are snmp.Config's to validate (Build does).
func (p Params) Validate(name string) error {
	var errs []error
	if p.Pattern != "" && name != Process {
		errs = append(errs, fmt.Errorf("pattern: only the process monitor takes a pattern"))
	}
	if name == Process {
		if _, err := mdocker.NewProcesses(nil, p.pattern()); err != nil {
			errs = append(errs, fmt.Errorf("pattern: %w", err))
		}
	}
	if p.WithHost != nil && name != CPU && name != Memory {
		errs = append(errs, errors.New("with_host: only cpu and memory measure the host outside the containers"))
	}
	return errors.Join(errs...)
}

func (p Params) pattern() string {
	if p.Pattern == "" {
		return mdocker.DefaultProcessPattern
	}
	return p.Pattern
}

// Deps are the collaborators monitors are built with.
type Deps struct {
	// Client is the engine; required.
	Client *container.Client
	// Collector samples container resources; required by cpu, memory,
	// disk, network and pids.
	Collector *mdocker.Collector
	// Baseline keeps the previous samples of rates under Key; nil keeps
	// none (rates then have no value).
	Baseline *baseline.Store
	// Key is the check's baseline key (the Hinemos scripts' -k KEY_ID).
	Key string
}

// Built is a monitor ready for a [monitor.Check].
type Built struct {
	// Name is the canonical monitor name.
	Name string
	// Monitor measures.
	Monitor monitor.Monitor
	// Targets is the selection to check: the caller's, with the monitor's
	// kind and, for resource and process monitors, running containers
	// unless the caller chose states.
	Targets inventory.Selector
	// Primary names the samples the monitor is about: the ones thresholds
	// given without a sample name apply to, and that Nagios perfdata
	// shows.
	Primary []string
	// Host, with Params.WithHost, measures the host outside the
	// containers: check it on the engine's Target (Kind host) after the
	// containers, with the same primary samples.
	Host monitor.Monitor
	// Closers release what Build opened (the SNMP client); the caller
	// closes them after the checks.
	Closers []io.Closer
}

// kinds maps the resource monitors to their sample families.
var kinds = map[string]mdocker.Kind{CPU: mdocker.CPU, Memory: mdocker.Memory, Disk: mdocker.BlockIO, Network: mdocker.Network, PIDs: mdocker.PIDs}

// Build returns the monitor name stands for (an alias is accepted), with
// the caller's selection completed by the monitor's defaults.
func Build(name string, p Params, sel inventory.Selector, d Deps) (Built, error) {
	canon, ok := Canonical(name)
	if !ok {
		return Built{}, fmt.Errorf("monitor %q: want one of %s", name, strings.Join(Names, ", "))
	}
	if err := p.Validate(canon); err != nil {
		return Built{}, err
	}
	b := Built{Name: canon, Targets: sel}
	running := func() {
		b.Targets.Kind = inventory.KindContainer
		if len(b.Targets.States) == 0 {
			b.Targets.States = []string{"running"}
		}
	}
	engine := func() { b.Targets = inventory.Selector{Kind: inventory.KindHost} }
	var err error
	switch canon {
	case CPU, Memory, Disk, Network, PIDs:
		running()
		store := d.Baseline
		if canon == Memory || canon == PIDs {
			store = nil // instantaneous: no baseline
		}
		b.Monitor, err = mdocker.NewResources(d.Collector, store, d.Key, kinds[canon])
		b.Primary = primary[canon]
		if err == nil && p.WithHost != nil {
			err = b.withHost(canon, p, d)
		}
	case Process:
		running()
		b.Monitor, err = mdocker.NewProcesses(d.Client, p.pattern())
		b.Primary = []string{"processes"}
	case ContainerStatus:
		b.Targets.Kind = inventory.KindContainer
		b.Monitor, b.Primary = mdocker.NewState(d.Client), []string{"container_running"}
	case HostStatus:
		engine()
		b.Monitor, b.Primary = mdocker.NewHostStatus(d.Client), []string{"engine_status"}
	case HostCount:
		engine()
		b.Monitor, b.Primary = mdocker.NewContainerCount(d.Client), []string{"containers"}
	case HostSize:
		engine()
		b.Monitor, b.Primary = mdocker.NewDiskUsage(d.Client), []string{"disk_images_bytes"}
	}
	if err != nil {
		for _, c := range b.Closers {
			_ = c.Close()
		}
		return Built{}, err
	}
	return b, nil
}

// primary are the resource monitors' primary samples: what the Hinemos
// scripts print.
var primary = map[string][]string{
	CPU:     {"cpu_percent"},
	Memory:  {"memory_host_percent"},
	Disk:    {"disk_read_bytes", "disk_write_bytes"},
	Network: {"network_rx_bytes", "network_tx_bytes", "network_rx_packets", "network_tx_packets"},
	PIDs:    {"pids_current"},
}

// withHost builds the host-outside-containers monitor: the host's figures
// over SNMP minus the containers' own, measured by a monitor of their own
// (with its own baseline, "<key>.host", so that it does not disturb the
// check's rates).
func (b *Built) withHost(canon string, p Params, d Deps) error {
	sc, err := snmp.New(*p.WithHost)
	if err != nil {
		return fmt.Errorf("with_host: %w", err)
	}
	b.Closers = append(b.Closers, sc)
	cfg := snmp.RemainderConfig{Measure: snmp.RemainderMemory}
	var store *baseline.Store
	if canon == CPU {
		if d.Baseline == nil {
			return errors.New("with_host: the host's CPU use is a rate: it needs a baseline key")
		}
		store = d.Baseline
		// CPUs 1: the containers' usage below is already a share of all
		// the engine's CPUs (the engine's CPU count is known once the
		// collector sampled).
		cfg = snmp.RemainderConfig{Measure: snmp.RemainderCPU, CPUs: 1, BaselineKey: d.Key + ".snmp-cpu"}
	}
	inner, err := mdocker.NewResources(d.Collector, store, d.Key+".host", kinds[canon])
	if err != nil {
		return err
	}
	usage := snmp.ContainerUsageFunc(func(ctx context.Context) ([]monitor.Sample, error) {
		ts, err := d.Client.Resolve(ctx, inventory.Selector{Kind: inventory.KindContainer, States: []string{"running"}})
		if err != nil || len(ts) == 0 {
			return nil, err
		}
		res, errs, err := inner.CheckAll(ctx, ts)
		if err != nil {
			return nil, err
		}
		ncpu := float64(max(d.Collector.Info().NCPU, 1))
		var out []monitor.Sample
		for i := range res {
			if errs[i] != nil {
				continue // a container seen for the first time counts from its second sample
			}
			for _, s := range res[i].Samples {
				if s.Name == "cpu_percent" {
					s.Value /= ncpu // 100 = one core → 100 = every core
				}
				out = append(out, s)
			}
		}
		return out, nil
	})
	b.Host, err = snmp.NewHostRemainder(cfg, sc, store, usage)
	return err
}

// Resolver resolves selectors on c's engine: Kind host is the engine
// itself ([mdocker.EngineTarget]), anything else its containers.
func Resolver(c *container.Client) inventory.Resolver {
	engine := mdocker.EngineTarget(c)
	return inventory.ResolverFunc(func(ctx context.Context, sel inventory.Selector) ([]inventory.Target, error) {
		if sel.Kind == inventory.KindHost {
			return []inventory.Target{engine}, nil
		}
		return c.Resolve(ctx, sel)
	})
}

// OpenOptions tune [Open].
type OpenOptions struct {
	// Collect is the resource collection mode; "" = auto.
	Collect string
	// StateDir holds the baselines; "" = the user's state directory.
	StateDir string
	// Key is the baseline key (Deps.Key).
	Key string
	// Baseline opens the baseline store even without a Key.
	Baseline bool
	// Logger logs the collector's mode decisions; nil is silent.
	Logger *slog.Logger
}

// Open returns the Deps of the checks of one engine: a resource Collector
// and, with a Key or Baseline, the baseline store. close releases them.
func Open(c *container.Client, o OpenOptions) (d Deps, close func(), err error) {
	ccfg := mdocker.DefaultCollectorConfig()
	if o.Collect != "" {
		ccfg.Mode = o.Collect
	}
	var opts []mdocker.CollectorOption
	if o.Logger != nil {
		opts = append(opts, mdocker.WithCollectorLogger(o.Logger))
	}
	col, err := mdocker.NewCollector(c, ccfg, opts...)
	if err != nil {
		return Deps{}, nil, err
	}
	d = Deps{Client: c, Collector: col, Key: o.Key}
	if o.Baseline || o.Key != "" {
		dir := o.StateDir
		if dir == "" {
			dir, err = baseline.DefaultDir()
		}
		if err == nil {
			d.Baseline, err = baseline.Open(dir)
		}
		if err != nil {
			_ = col.Close()
			return Deps{}, nil, err
		}
	}
	return d, func() { _ = col.Close() }, nil
}

// Checks returns the Checks of b: tmpl (its schedule, thresholds and
// damping) with b's Monitor and Targets, and, with WithHost, the host's
// named "<name>-host" on the engine's Target. A threshold without a
// sample applies to b's primary samples.
func (b Built) Checks(tmpl monitor.Check) []monitor.Check {
	var ths []monitor.Threshold
	for _, th := range tmpl.Thresholds {
		if th.Sample != "" {
			ths = append(ths, th)
			continue
		}
		for _, s := range b.Primary {
			th.Sample = s
			ths = append(ths, th)
		}
	}
	c := tmpl
	c.Monitor, c.Targets, c.Thresholds = b.Monitor, b.Targets, ths
	out := []monitor.Check{c}
	if b.Host != nil {
		c.Name, c.Monitor, c.Targets = tmpl.Name+"-host", b.Host, inventory.Selector{Kind: inventory.KindHost}
		out = append(out, c)
	}
	return out
}
