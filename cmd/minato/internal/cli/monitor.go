package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/minato-ops/minato/cmd/minato/internal/catalog"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
	mdocker "github.com/minato-ops/minato/monitor/docker"
	"github.com/minato-ops/minato/monitor/output/hinemos"
	"github.com/minato-ops/minato/monitor/output/jsonout"
	"github.com/minato-ops/minato/monitor/output/nagios"
	"github.com/minato-ops/minato/monitor/output/prom"
	"github.com/minato-ops/minato/monitor/snmp"
)

const monitorUsage = `Usage: minato monitor COMMAND [options]

The Hinemos Docker monitoring scripts' agentless monitors. By default each
prints Hinemos custom-monitor "key,value" lines (values with two decimals)
and exits 0, or 1 when it could not measure or nothing matched. --format
nagios prints a Monitoring Plugins status line with performance data and
exits 0/1/2/3 (--warning/--critical take ranges such as 80, 80%, 10:, ~:10,
10:20, @10:20; --hinemos-info/--hinemos-warning take a Hinemos monitor
setting's judgement bands, LOWER:UPPER); --format json and --format
prometheus print machine-readable output.

Commands:
  host-status       engine health (--status, default), containers per state (--count), disk (--size)
  cpu               CPU usage per container (--all, default) or per core (--core); needs -k KEY
  memory            memory usage against the host, or the limit (--container); --all dumps every stat
  disk              disk read/write bytes since the previous run of -k KEY (--read, --write)
  network           network bytes (--kb) or packets (--pck) since the previous run (--rx, --tx)
  process           number of processes matching -prog PATTERN [-args ARGS]
  container-status  "YYYY-MM-DD HH:MM:SS <id12> <state>" per container; -s HOST:PORT also
                    sends each state to syslog (HOSTNAME = container ID)
  events            Docker events since the previous run of -k KEY to syslog (-s HOST:PORT) or
                    a file (-f FILE), each once; --follow keeps streaming

Containers are selected with -c ID[*] or -n NAME[*] (default: every running
container). The engine is -i ADDRESS [-p PORT], else DOCKER_HOST, else the
local socket. Rates need the previous sample, kept under -k KEY in
--state-dir: the first run of a key prints no value for it.
`

func runMonitor(ctx context.Context, args []string, env Env) int {
	if code, done := groupHelp(args, env, monitorUsage); done {
		return code
	}
	switch args[0] {
	case "host-status", "cpu", "memory", "disk", "network", "process", "container-status":
		return monitorCommand(ctx, args[0], args[1:], env)
	case "events":
		return runEvents(ctx, args[1:], env)
	}
	return report(env, usagef("unknown monitor %q: want host-status, cpu, memory, disk, network, process, container-status or events", args[0]))
}

var monitorAbout = map[string]string{
	"host-status":      "Docker host monitor: engine health (Status,0 normal, 1 abnormal; an\nunreachable engine is Status,1 with exit 0), containers per state, or disk use.",
	"cpu":              "Container CPU usage between this run and the previous run of -k KEY:\nΔcpu time / Δwall time × 100 (100 = one core). Lines cpu_usage:<name>,<v>.",
	"memory":           "Container memory (rss) against the host's memory, or with --container against\nthe container's limit (host memory when unlimited). Lines host_mem_usage:<id8>,<v>.",
	"disk":             "Bytes each container read and wrote since the previous run of -k KEY.\nLines disk_read:<id8>,<v> and disk_write:<id8>,<v>.",
	"network":          "Bytes (--kb) or packets (--pck) each container received (--rx) and sent (--tx)\nsince the previous run of -k KEY. Lines nw_rxkb:<id8>,<v> (bytes, despite kb).",
	"process":          "Number of processes in each container whose command line matches -prog\n(a regular expression, unanchored; -args is appended after a space).",
	"container-status": "One line per container: \"YYYY-MM-DD HH:MM:SS <id12> <state>\". With -s HOST:PORT each\nstate is also sent to syslog (default UDP, RFC 3164), HOSTNAME the container ID.",
}

// monitorFlags are a monitor command's options.
type monitorFlags struct {
	engineFlags
	format, collect, stateDir, key string
	warning, critical              string
	info, warnBand                 string
	status, count, size, cpuAll    bool
	keys                           hinemos.Options // --core, --container, --all, --read, ...
	prog, args                     string
	withHost                       bool
	snmpVer, snmpCom, snmpAdr      string
	snmpPort                       int
	syslog                         syslogFlags
	last                           measured // what measure built, for output
}

func (m *monitorFlags) register(fs *flag.FlagSet, name string) {
	m.engineFlags.register(fs)
	fs.StringVar(&m.format, "format", "hinemos", "output `FORMAT`: hinemos (key,value lines), nagios, json or prometheus")
	fs.StringVar(&m.warning, "warning", "", "with --format nagios or json: warning `RANGE` (Monitoring Plugins syntax; a trailing % is ignored)")
	fs.StringVar(&m.critical, "critical", "", "with --format nagios or json: critical `RANGE`")
	fs.StringVar(&m.info, "hinemos-info", "", "with --format nagios or json: the Hinemos info band `LOWER:UPPER` (judged OK; lower ≤ v < upper)")
	fs.StringVar(&m.warnBand, "hinemos-warning", "", "with --hinemos-info: the Hinemos warning band `LOWER:UPPER`; anything outside both is critical")
	fs.StringVar(&m.collect, "collect", "auto", "how to sample resources: auto, oneshot, stream, twosample or direct")
	if name == "cpu" || name == "disk" || name == "network" || name == "memory" {
		fs.StringVar(&m.key, "k", "", "`KEY_ID` under which the previous sample is kept (required by cpu, disk and network; unique per monitor setting)")
		fs.StringVar(&m.stateDir, "state-dir", "", "`DIR` for the -k baselines (default $XDG_STATE_HOME/minato/baseline or ~/.local/state/minato/baseline)")
	}
	withHost := func(help string) {
		fs.BoolVar(&m.withHost, "with-host", false, help)
		fs.StringVar(&m.snmpVer, "sv", "1", "SNMP `VERSION` for --with-host: 1, 2c or 3")
		fs.StringVar(&m.snmpCom, "sc", "public", "SNMP `COMMUNITY` for --with-host")
		fs.IntVar(&m.snmpPort, "sp", 161, "SNMP `PORT` for --with-host")
		fs.StringVar(&m.snmpAdr, "snmp-address", "", "SNMP agent `ADDRESS` for --with-host (default: -i, else 127.0.0.1)")
	}
	k := &m.keys
	switch name {
	case "host-status":
		fs.BoolVar(&m.status, "status", false, "engine health: Status,0 (normal) or Status,1 (abnormal); the default")
		fs.BoolVar(&m.count, "count", false, "containers per state")
		fs.BoolVar(&m.size, "size", false, "disk used by images (layers counted once) and by containers per state, in bytes")
	case "cpu":
		fs.BoolVar(&m.cpuAll, "all", false, "CPU usage per container (the default)")
		fs.BoolVar(&k.Core, "core", false, "CPU usage per container and core (cgroup v1 engines)")
		withHost("also print cpu_usage:host, the host's CPU usage outside containers (SNMP; not with -c, -n, --core)")
	case "memory":
		fs.BoolVar(&k.Limit, "container", false, "usage against the container's memory limit (host memory when unlimited)")
		fs.BoolVar(&k.All, "all", false, "print every memory statistic of the container")
		withHost("also print host_mem_usage:host, the host's memory usage outside containers (SNMP)")
	case "disk":
		fs.BoolVar(&k.Read, "read", false, "print bytes read (default: read and write)")
		fs.BoolVar(&k.Write, "write", false, "print bytes written (default: read and write)")
	case "network":
		fs.BoolVar(&k.Bytes, "kb", false, "print bytes (default: bytes and packets)")
		fs.BoolVar(&k.Packets, "pck", false, "print packets")
		fs.BoolVar(&k.Rx, "rx", false, "print received (default: received and sent)")
		fs.BoolVar(&k.Tx, "tx", false, "print sent")
	case "process":
		fs.StringVar(&m.prog, "prog", "", "`PATTERN` for the command (regular expression; default .* = every process)")
		fs.StringVar(&m.args, "args", "", "`ARGS` pattern, appended to -prog after a space")
	case "container-status":
		m.syslog.register(fs)
	}
}

// params are the catalogue monitor and parameters the flags give.
func (m *monitorFlags) params(name string) (string, catalog.Params) {
	var p catalog.Params
	switch {
	case m.count:
		name = catalog.HostCount
	case m.size:
		name = catalog.HostSize
	case m.prog != "" || m.args != "":
		p.Pattern = strings.TrimSpace(cmp.Or(m.prog, mdocker.DefaultProcessPattern) + " " + m.args)
	}
	m.keys.Pattern = cmp.Or(p.Pattern, mdocker.DefaultProcessPattern)
	if m.withHost {
		cfg := snmp.DefaultConfig()
		cfg.Version, cfg.Community, cfg.Port = m.snmpVer, m.snmpCom, m.snmpPort
		cfg.Address = cmp.Or(m.snmpAdr, m.address, snmp.DefaultAddress)
		p.WithHost = &cfg
	}
	return name, p
}

func (m *monitorFlags) validate(name string) error {
	judged := m.warning+m.critical+m.info+m.warnBand != ""
	check := func(bad bool, format string, a ...any) error {
		if bad {
			return usagef(format, a...)
		}
		return nil
	}
	canon, params := m.params(name)
	err := firstErr(
		check(!slices.Contains([]string{"hinemos", "nagios", "json", "prometheus"}, m.format), "--format %q: want hinemos, nagios, json or prometheus", m.format),
		check(judged && m.format != "nagios" && m.format != "json", "--warning, --critical and the --hinemos bands apply to --format nagios (and json); Hinemos judges thresholds itself"),
		check(!slices.Contains([]string{"auto", "oneshot", "stream", "twosample", "direct"}, m.collect), "--collect %q: want auto, oneshot, stream, twosample or direct", m.collect),
		check(m.key == "" && (name == "cpu" || name == "disk" || name == "network"), "minato monitor %s needs -k KEY_ID: the previous sample is kept under it (use a different key per monitor setting)", name),
		check(countTrue(m.status, m.count, m.size) > 1, "give one of --status, --count or --size"),
		check(m.cpuAll && m.keys.Core, "--all and --core cannot be used together"),
		check(m.withHost && (len(m.ids) > 0 || len(m.names) > 0 || m.keys.Core || m.keys.All), "--with-host cannot be used with -c, -n, --core or memory's --all: the host figure subtracts every container"),
		check(m.withHost && !slices.Contains([]string{"1", "2c", "3"}, m.snmpVer), "-sv %q: want 1, 2c or 3", m.snmpVer),
		check(m.withHost && m.snmpVer == "3", "-sv 3 needs a user and passphrases, which these options cannot carry; use the agent's config file (with_host) for SNMPv3"),
		check(m.withHost && (m.snmpPort < 1 || m.snmpPort > 65535), "-sp %d: want a UDP port from 1 to 65535", m.snmpPort),
	)
	if err != nil {
		return err
	}
	if _, err := m.thresholds(nil); err != nil {
		return err
	}
	if m.key != "" {
		if err := baseline.CheckKey(m.key); err != nil {
			return usagef("-k: %s", strings.TrimPrefix(err.Error(), "baseline: "))
		}
	}
	if name == "container-status" {
		if err := m.syslog.validate(); err != nil {
			return err
		}
	}
	if err := params.Validate(canon); err != nil {
		return usagef("-prog/-args: %v", strings.TrimPrefix(err.Error(), "pattern: "))
	}
	return nil
}

// firstErr returns the first non-nil error: the first problem, as flag
// parsing reports.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func countTrue(bs ...bool) (n int) {
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// thresholds returns one threshold per sample with the ranges or bands
// the flags give, or nil when none are given.
func (m *monitorFlags) thresholds(samples []string) ([]monitor.Threshold, error) {
	if m.warning+m.critical+m.info+m.warnBand == "" {
		return nil, nil
	}
	th, err := monitor.ParseThreshold("", m.warning, m.critical, m.info, m.warnBand)
	if err != nil {
		opt, _, _ := strings.Cut(err.Error(), ":")
		flags := map[string]string{"warning": "--warning " + m.warning, "critical": "--critical " + m.critical, "info": "--hinemos-info " + m.info, "band": "--hinemos-warning " + m.warnBand}
		if flags[opt] == "" {
			return nil, usagef("give --warning/--critical or --hinemos-info/--hinemos-warning, not both")
		}
		return nil, usagef("%s: %s", flags[opt], strings.TrimPrefix(err.Error(), opt+": "))
	}
	out := make([]monitor.Threshold, len(samples))
	for i, s := range samples {
		out[i] = th
		out[i].Sample = s
	}
	return out, nil
}

func monitorCommand(ctx context.Context, name string, args []string, env Env) int {
	fs := newFlagSet("minato monitor "+name, "minato monitor "+name+" [options]", monitorAbout[name])
	var m monitorFlags
	m.register(fs, name)
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return report(env, err)
	}
	if len(pos) > 0 {
		return report(env, usagef("minato monitor %s takes no arguments, got %q", name, strings.Join(pos, " ")))
	}
	if err := m.validate(name); err != nil {
		return report(env, err)
	}
	if err := m.selector().Validate(); err != nil {
		return report(env, err)
	}
	cfg, err := m.config(fs, env.Getenv)
	if err != nil {
		return report(env, err)
	}
	c, err := container.New(cfg)
	if err != nil {
		return report(env, err)
	}
	defer c.Close()
	slw, err := m.syslog.open()
	if err != nil {
		return report(env, err)
	}
	evs, host, err := m.measure(ctx, name, c)
	var slErr error
	if slw != nil {
		slErr = sendStates(ctx, slw, evs)
	}
	code := m.output(env, name, c, evs, host, err)
	if slErr != nil {
		report(env, slErr)
		return max(code, 1)
	}
	return code
}

// measured is what measure built, for the output.
type measured struct {
	built      catalog.Built
	keys       []hinemos.Key
	thresholds []monitor.Threshold
	descs      []monitor.SampleDesc
}

// measure builds the catalogue's monitor and runs one round through a
// Runner's CheckOnce, then one of the host's use outside the containers
// with --with-host.
func (m *monitorFlags) measure(ctx context.Context, name string, c *container.Client) (evs, host []monitor.Evaluation, err error) {
	d, closeDeps, err := catalog.Open(c, catalog.OpenOptions{Collect: m.collect, StateDir: m.stateDir, Key: m.key})
	if err != nil {
		return nil, nil, err
	}
	defer closeDeps()
	canon, params := m.params(name)
	b, err := catalog.Build(canon, params, m.selector(), d)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		for _, cl := range b.Closers {
			_ = cl.Close()
		}
	}()
	// The samples judged and shown are those the printed keys name.
	m.last = measured{built: b, keys: hinemos.Keys(canon, m.keys)}
	primary := b.Primary
	if len(m.last.keys) > 0 && !m.keys.All {
		primary = nil
		for _, k := range m.last.keys {
			primary = append(primary, k.Sample)
		}
	}
	m.last.thresholds, _ = m.thresholds(primary) // validated already
	if ds, ok := b.Monitor.(monitor.Describer); ok {
		m.last.descs = ds.Describe()
	}
	r, err := monitor.NewRunner(monitor.DefaultRunnerConfig(), catalog.Resolver(c))
	if err != nil {
		return nil, nil, err
	}
	checks := b.Checks(monitor.Check{Name: strings.ReplaceAll(b.Name, "-", "_"), Interval: time.Minute, Thresholds: m.last.thresholds})
	for _, ch := range checks {
		if err := r.Add(ch); err != nil {
			return nil, nil, err
		}
	}
	if evs, err = r.CheckOnce(ctx, checks[0].Name); err != nil || len(checks) == 1 {
		return evs, nil, err
	}
	host, err = r.CheckOnce(ctx, checks[1].Name)
	if err == nil && host[0].Err != nil && !errors.Is(host[0].Err, monitor.ErrNoBaseline) {
		err = fmt.Errorf("--with-host: host %s over SNMP: %w", b.Name, host[0].Err)
	}
	return evs, host, err
}

// output prints the measurement in the chosen format and returns the exit
// code: Nagios' 0-3, else 0, or 1 when nothing could be measured.
func (m *monitorFlags) output(env Env, name string, c *container.Client, evs, host []monitor.Evaluation, err error) int {
	all := append(evs, host...)
	if errors.Is(err, inventory.ErrNoMatch) {
		what := string(m.last.built.Targets.Kind)
		if slices.Contains(m.last.built.Targets.States, "running") {
			what = "running " + what
		}
		err = fmt.Errorf("no %s matches %s on %s: nothing to measure", what, m.selection(), c.Host())
	}
	if m.format == "nagios" {
		// A plugin that cannot measure says UNKNOWN, exit 3.
		text, code := nagios.Format(strings.ToUpper(name), all, m.last.thresholds)
		if err != nil {
			text, code = strings.ToUpper(name)+" UNKNOWN: "+oneLine(explain(err)), int(monitor.Unknown)
		}
		fmt.Fprintln(env.Stdout, text)
		return code
	}
	if err == nil {
		err = monitor.Unmeasured(evs)
	}
	if err == nil {
		switch m.format {
		case "json":
			err = jsonout.Write(env.Stdout, all)
		case "prometheus":
			err = prom.WriteText(env.Stdout, all, m.last.descs)
		default:
			err = m.outputHinemos(env.Stdout, evs, host)
			for _, p := range hinemos.Problems(all) {
				fmt.Fprintln(env.Stderr, "minato: "+oneLine(p))
			}
		}
	}
	if err != nil {
		return report(env, err)
	}
	return 0
}

func (m *monitorFlags) outputHinemos(w io.Writer, evs, host []monitor.Evaluation) error {
	b := m.last.built
	if b.Name == catalog.ContainerStatus {
		return hinemos.WriteStates(w, evs)
	}
	for _, ev := range evs {
		_, total := ev.Result.Sample("cpu_percent", nil)
		if _, core := ev.Result.Sample("cpu_core_percent", nil); m.keys.Core && total && !core {
			return fmt.Errorf("%w: per-core CPU needs cgroup v1 (this engine reports no per-core counters)", monitor.ErrNotSupported)
		}
	}
	if err := hinemos.Write(w, evs, m.last.keys); err != nil {
		return err
	}
	return hinemos.Write(w, host, hinemos.HostKeys(b.Name))
}

// selection says which containers were asked for.
func (m *monitorFlags) selection() string {
	if s := m.selector(); len(s.IDs)+len(s.Names) > 0 {
		return strings.ReplaceAll(s.String(), `"`, "")
	}
	return "the selection (every container)"
}
