package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
	mdocker "github.com/minato-ops/minato/monitor/docker"
	"github.com/minato-ops/minato/monitor/output/jsonout"
	"github.com/minato-ops/minato/monitor/output/nagios"
	"github.com/minato-ops/minato/monitor/output/prom"
)

const monitorUsage = `Usage: minato monitor COMMAND [options]

Seed 002's agentless monitors. By default each prints Hinemos custom-monitor
"key,value" lines (values with two decimals) and exits 0, or 1 when it could
not measure. --format nagios prints a Monitoring Plugins status line with
performance data and exits 0/1/2/3 (--warning/--critical take ranges such as
80, 10:, ~:10, 10:20, @10:20); --format json and --format prometheus print
machine-readable output.

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
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, monitorUsage)
		return 1
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(env.Stdout, monitorUsage)
		return 0
	case "host-status", "cpu", "memory", "disk", "network", "process", "container-status":
		return monitorCommand(ctx, args[0], args[1:], env)
	case "events":
		return runEvents(ctx, args[1:], env)
	}
	return report(env, usagef("unknown monitor %q: want host-status, cpu, memory, disk, network, process, container-status or events", args[0]))
}

// monitorFlags are the options every monitor command shares.
type monitorFlags struct {
	engineFlags
	format   string
	warning  string
	critical string
	stateDir string
	key      string
	collect  string
}

func (m *monitorFlags) register(fs *flag.FlagSet, withKey bool) {
	m.engineFlags.register(fs)
	fs.StringVar(&m.format, "format", "hinemos", "output `FORMAT`: hinemos (key,value lines), nagios, json or prometheus")
	fs.StringVar(&m.warning, "warning", "", "with --format nagios: warning `RANGE` (Monitoring Plugins syntax)")
	fs.StringVar(&m.critical, "critical", "", "with --format nagios: critical `RANGE`")
	fs.StringVar(&m.collect, "collect", "auto", "how to sample resources: auto, oneshot, stream, twosample or direct")
	if withKey {
		fs.StringVar(&m.key, "k", "", "`KEY_ID` under which the previous sample is kept (required; unique per monitor setting)")
		fs.StringVar(&m.stateDir, "state-dir", "", "`DIR` for the -k baselines (default $XDG_STATE_HOME/minato/baseline or ~/.local/state/minato/baseline)")
	}
}

// line is one Hinemos key,value output line.
type line struct {
	key   string
	value float64
	dec   int
}

func (l line) String() string {
	if l.dec == 0 {
		return l.key + "," + strconv.FormatFloat(l.value, 'f', 0, 64)
	}
	return l.key + "," + strconv.FormatFloat(l.value, 'f', l.dec, 64)
}

// monitorRun is what a monitor command measured, ready for any format.
type monitorRun struct {
	check   string
	evals   []monitor.Evaluation
	lines   []line   // hinemos format
	raw     []string // hinemos format lines that are not key,value (container-status)
	notes   []string // said on stderr in the hinemos format
	primary []monitor.Threshold
	descs   []monitor.SampleDesc
}

func monitorCommand(ctx context.Context, name string, args []string, env Env) int {
	withKey := name == "cpu" || name == "disk" || name == "network"
	fs := newFlagSet("minato monitor "+name, "minato monitor "+name+" [options]", monitorAbout[name])
	var mf monitorFlags
	mf.register(fs, withKey || name == "memory")
	o := &monitorOpts{}
	o.register(fs, name)
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return report(env, err)
	}
	if len(pos) > 0 {
		return report(env, usagef("minato monitor %s takes no arguments, got %q", name, strings.Join(pos, " ")))
	}
	if err := mf.validate(name, withKey, o); err != nil {
		return report(env, err)
	}
	if err := o.validate(name, &mf); err != nil {
		return report(env, err)
	}
	cfg, err := mf.config(fs, env.Getenv)
	if err != nil {
		return report(env, err)
	}
	c, err := container.New(cfg)
	if err != nil {
		return report(env, err)
	}
	defer c.Close()
	slw, err := o.syslog.open()
	if err != nil {
		return report(env, err)
	}
	if slw != nil {
		defer slw.Close()
	}
	run, err := measure(ctx, name, c, &mf, o)
	if err != nil {
		return report(env, err)
	}
	var slErr error
	if slw != nil {
		slErr = sendStates(ctx, slw, run.evals) // before output, which may re-judge the statuses
	}
	code := output(env, &mf, run)
	if slErr != nil {
		report(env, slErr)
		return max(code, 1)
	}
	return code
}

var monitorAbout = map[string]string{
	"host-status":      "Seed 002's Docker host monitor: engine health (Status,0 normal, 1 abnormal; an\nunreachable engine is Status,1 with exit 0), containers per state, or disk use.",
	"cpu":              "Container CPU usage between this run and the previous run of -k KEY:\nΔcpu time / Δwall time × 100 (100 = one core). Lines cpu_usage:<name>,<v>.",
	"memory":           "Container memory (rss) against the host's memory, or with --container against\nthe container's limit (host memory when unlimited). Lines host_mem_usage:<id8>,<v>.",
	"disk":             "Bytes each container read and wrote since the previous run of -k KEY.\nLines disk_read:<id8>,<v> and disk_write:<id8>,<v>.",
	"network":          "Bytes (--kb) or packets (--pck) each container received (--rx) and sent (--tx)\nsince the previous run of -k KEY. Lines nw_rxkb:<id8>,<v> (bytes, despite kb).",
	"process":          "Number of processes in each container whose command line matches -prog\n(a regular expression, unanchored; -args is appended after a space).",
	"container-status": "One line per container: \"YYYY-MM-DD HH:MM:SS <id12> <state>\". With -s HOST:PORT each\nstate is also sent to syslog (default UDP, RFC 3164), HOSTNAME the container ID.",
}

// monitorOpts are the per-command flags.
type monitorOpts struct {
	status, count, size       bool
	all, core, withHost       bool
	containerLimit            bool
	read, write               bool
	kb, pck, rx, tx           bool
	prog, args                string
	snmpVer, snmpCom, snmpAdr string
	snmpPort                  int
	syslog                    syslogFlags // container-status -s
}

func (o *monitorOpts) register(fs *flag.FlagSet, name string) {
	switch name {
	case "host-status":
		fs.BoolVar(&o.status, "status", false, "engine health: Status,0 (normal) or Status,1 (abnormal); the default")
		fs.BoolVar(&o.count, "count", false, "containers per state")
		fs.BoolVar(&o.size, "size", false, "disk used by images (layers counted once) and by containers per state, in bytes")
	case "cpu":
		fs.BoolVar(&o.all, "all", false, "CPU usage per container (the default)")
		fs.BoolVar(&o.core, "core", false, "CPU usage per container and core (cgroup v1 engines)")
		o.registerSNMP(fs, "also print cpu_usage:host, the host's CPU usage outside containers (SNMP; not with -c, -n, --core)")
	case "memory":
		fs.BoolVar(&o.containerLimit, "container", false, "usage against the container's memory limit (host memory when unlimited)")
		fs.BoolVar(&o.all, "all", false, "print every memory statistic of the container")
		o.registerSNMP(fs, "also print host_mem_usage:host, the host's memory usage outside containers (SNMP)")
	case "disk":
		fs.BoolVar(&o.read, "read", false, "print bytes read (default: read and write)")
		fs.BoolVar(&o.write, "write", false, "print bytes written (default: read and write)")
	case "network":
		fs.BoolVar(&o.kb, "kb", false, "print bytes (default: bytes and packets)")
		fs.BoolVar(&o.pck, "pck", false, "print packets")
		fs.BoolVar(&o.rx, "rx", false, "print received (default: received and sent)")
		fs.BoolVar(&o.tx, "tx", false, "print sent")
	case "process":
		fs.StringVar(&o.prog, "prog", "", "`PATTERN` for the command (regular expression; default .* = every process)")
		fs.StringVar(&o.args, "args", "", "`ARGS` pattern, appended to -prog after a space")
	case "container-status":
		o.syslog.register(fs)
	}
}

func (o *monitorOpts) registerSNMP(fs *flag.FlagSet, help string) {
	fs.BoolVar(&o.withHost, "with-host", false, help)
	fs.StringVar(&o.snmpVer, "sv", "1", "SNMP `VERSION` for --with-host: 1, 2c or 3")
	fs.StringVar(&o.snmpCom, "sc", "public", "SNMP `COMMUNITY` for --with-host")
	fs.IntVar(&o.snmpPort, "sp", 161, "SNMP `PORT` for --with-host")
	fs.StringVar(&o.snmpAdr, "snmp-address", "", "SNMP agent `ADDRESS` for --with-host (default: -i, else 127.0.0.1)")
}

func (mf *monitorFlags) validate(name string, withKey bool, o *monitorOpts) error {
	switch mf.format {
	case "hinemos", "nagios", "json", "prometheus":
	default:
		return usagef("--format %q: want hinemos, nagios, json or prometheus", mf.format)
	}
	if (mf.warning != "" || mf.critical != "") && mf.format != "nagios" && mf.format != "json" {
		return usagef("--warning and --critical apply to --format nagios (and json); Hinemos judges thresholds itself")
	}
	for flagName, v := range map[string]string{"--warning": mf.warning, "--critical": mf.critical} {
		if v == "" {
			continue
		}
		if _, err := monitor.ParseRange(v); err != nil {
			return usagef("%s %q: %v", flagName, v, err)
		}
	}
	switch mf.collect {
	case "auto", "oneshot", "stream", "twosample", "direct":
	default:
		return usagef("--collect %q: want auto, oneshot, stream, twosample or direct", mf.collect)
	}
	if withKey && mf.key == "" {
		return usagef("minato monitor %s needs -k KEY_ID: the previous sample is kept under it (use a different key per monitor setting)", name)
	}
	if mf.key != "" {
		if err := baseline.CheckKey(mf.key); err != nil {
			return usagef("-k: %s", strings.TrimPrefix(err.Error(), "baseline: "))
		}
	}
	return nil
}

func (o *monitorOpts) validate(name string, mf *monitorFlags) error {
	n := 0
	for _, b := range []bool{o.status, o.count, o.size} {
		if b {
			n++
		}
	}
	if n > 1 {
		return usagef("give one of --status, --count or --size")
	}
	if name == "cpu" && o.all && o.core {
		return usagef("--all and --core cannot be used together")
	}
	if o.withHost && (len(mf.ids) > 0 || len(mf.names) > 0 || o.core || o.all && name == "memory") {
		return usagef("--with-host cannot be used with -c, -n, --core or memory's --all: the host figure subtracts every container")
	}
	if o.withHost && o.snmpVer != "1" && o.snmpVer != "2c" && o.snmpVer != "3" {
		return usagef("-sv %q: want 1, 2c or 3", o.snmpVer)
	}
	if o.withHost && (o.snmpPort < 1 || o.snmpPort > 65535) {
		return usagef("-sp %d: want a UDP port from 1 to 65535", o.snmpPort)
	}
	if name == "container-status" {
		if err := o.syslog.validate(); err != nil {
			return err
		}
	}
	if name == "process" {
		if _, err := mdocker.NewProcesses(nil, o.pattern()); err != nil {
			return usagef("-prog/-args: %v", err)
		}
	}
	return nil
}

func (o *monitorOpts) pattern() string {
	p := o.prog
	if p == "" {
		p = mdocker.DefaultProcessPattern
	}
	if o.args != "" {
		p += " " + o.args
	}
	return p
}

// selectRunning resolves the containers a resource monitor looks at: the
// -c/-n selection, or every container, limited to running ones.
func selectRunning(ctx context.Context, c *container.Client, mf *monitorFlags, states ...string) ([]inventory.Target, error) {
	sel := mf.selector()
	if len(states) == 0 {
		states = []string{"running"}
	}
	sel.States = states
	return c.Resolve(ctx, sel)
}

func measure(ctx context.Context, name string, c *container.Client, mf *monitorFlags, o *monitorOpts) (*monitorRun, error) {
	switch name {
	case "host-status":
		return measureHost(ctx, c, o)
	case "container-status":
		return measureStatus(ctx, c, mf)
	case "process":
		return measureProcess(ctx, c, mf, o)
	}
	return measureResources(ctx, name, c, mf, o)
}

func eval(check string, t inventory.Target, r monitor.Result, err error) monitor.Evaluation {
	ev := monitor.Evaluation{Check: check, Target: t, Result: r, Status: r.Status, Observed: r.Status, Message: r.Message, Err: err}
	if err != nil {
		ev.Status, ev.Observed, ev.Message = monitor.Unknown, monitor.Unknown, explainEval(err)
	}
	return ev
}

func measureHost(ctx context.Context, c *container.Client, o *monitorOpts) (*monitorRun, error) {
	t := mdocker.EngineTarget(c)
	switch {
	case o.count:
		m := mdocker.NewContainerCount(c)
		r, err := m.Check(ctx, t)
		if err != nil {
			return nil, err
		}
		run := &monitorRun{check: "host_count", evals: []monitor.Evaluation{eval("host_count", t, r, nil)}, descs: m.Describe()}
		for _, s := range r.Samples {
			run.lines = append(run.lines, line{key: s.Labels["state"], value: s.Value})
		}
		run.primary = []monitor.Threshold{{Sample: "containers"}}
		return run, nil
	case o.size:
		m := mdocker.NewDiskUsage(c)
		r, err := m.Check(ctx, t)
		if err != nil {
			return nil, err
		}
		run := &monitorRun{check: "host_size", evals: []monitor.Evaluation{eval("host_size", t, r, nil)}, descs: m.Describe()}
		for _, s := range r.Samples {
			switch s.Name {
			case "disk_images_bytes":
				run.lines = append(run.lines, line{key: "image", value: s.Value})
			case "disk_containers_bytes":
				run.lines = append(run.lines, line{key: s.Labels["state"], value: s.Value})
			}
		}
		run.primary = []monitor.Threshold{{Sample: "disk_images_bytes"}}
		return run, nil
	}
	m := mdocker.NewHostStatus(c)
	r, err := m.Check(ctx, t)
	if err != nil {
		return nil, err
	}
	st, _ := r.Sample("engine_status", nil)
	return &monitorRun{check: "host_status", evals: []monitor.Evaluation{eval("host_status", t, r, nil)}, descs: m.Describe(),
		lines: []line{{key: "Status", value: st.Value}}, primary: []monitor.Threshold{{Sample: "engine_status"}}}, nil
}

func measureStatus(ctx context.Context, c *container.Client, mf *monitorFlags) (*monitorRun, error) {
	ts, err := c.Resolve(ctx, mf.selector())
	if err != nil {
		return nil, err
	}
	m := mdocker.NewState(c)
	run := &monitorRun{check: "container_status", descs: m.Describe(), primary: []monitor.Threshold{{Sample: "container_running"}}}
	stamp := time.Now().Format(time.DateTime)
	for _, t := range ts {
		r, err := m.Check(ctx, t)
		run.evals = append(run.evals, eval("container_status", t, r, err))
		if err == nil {
			run.raw = append(run.raw, stamp+" "+t.ShortID()+" "+r.Message)
		}
	}
	return run, nil
}

func measureProcess(ctx context.Context, c *container.Client, mf *monitorFlags, o *monitorOpts) (*monitorRun, error) {
	ts, err := selectRunning(ctx, c, mf)
	if err != nil {
		return nil, err
	}
	m, err := mdocker.NewProcesses(c, o.pattern())
	if err != nil {
		return nil, err
	}
	run := &monitorRun{check: "process", descs: m.Describe(), primary: []monitor.Threshold{{Sample: "processes"}}}
	for _, t := range ts {
		r, err := m.Check(ctx, t)
		run.evals = append(run.evals, eval("process", t, r, err))
		if err == nil {
			s, _ := r.Sample("processes", nil)
			run.lines = append(run.lines, line{key: m.Pattern() + ":" + t.ShortID(), value: s.Value})
		}
	}
	return run, nil
}

func id8(t inventory.Target) string {
	if len(t.ID) > 8 {
		return t.ID[:8]
	}
	return t.ID
}

func measureResources(ctx context.Context, name string, c *container.Client, mf *monitorFlags, o *monitorOpts) (*monitorRun, error) {
	ts, err := selectRunning(ctx, c, mf)
	if err != nil {
		return nil, err
	}
	ccfg := mdocker.DefaultCollectorConfig()
	ccfg.Mode = mf.collect
	col, err := mdocker.NewCollector(c, ccfg)
	if err != nil {
		return nil, err
	}
	defer col.Close()
	var store *baseline.Store
	if mf.key != "" {
		dir := mf.stateDir
		if dir == "" {
			if dir, err = baseline.DefaultDir(); err != nil {
				return nil, err
			}
		}
		if store, err = baseline.Open(dir); err != nil {
			return nil, err
		}
	}
	kind := map[string]mdocker.Kind{"cpu": mdocker.CPU, "memory": mdocker.Memory, "disk": mdocker.BlockIO, "network": mdocker.Network}[name]
	if name == "memory" {
		store = nil // memory is instantaneous: no baseline
	}
	m, err := mdocker.NewResources(col, store, mf.key, kind)
	if err != nil {
		return nil, err
	}
	run := &monitorRun{check: name, descs: m.Describe()}
	if len(ts) == 0 {
		return run, nil
	}
	results, errs, err := m.CheckAll(ctx, ts)
	if err != nil {
		return nil, err
	}
	for i, t := range ts {
		run.evals = append(run.evals, eval(name, t, results[i], errs[i]))
	}
	switch name {
	case "cpu":
		if run, err = cpuLines(run, o); err != nil || !o.withHost {
			return run, err
		}
		v, ok, err := hostCPU(ctx, o, mf, store, run.evals, col.Info().NCPU)
		if err != nil {
			return nil, err
		}
		if ok {
			run.lines = append(run.lines, line{key: "cpu_usage:host", value: v, dec: 2})
			run.evals = append(run.evals, hostEval(name, "cpu_percent", v, c.Host()))
		} else {
			run.notes = append(run.notes, "host: no value yet: the host's CPU counters need a previous run of this key")
		}
		return run, nil
	case "memory":
		if run, err = memoryLines(run, o); err != nil || !o.withHost {
			return run, err
		}
		v, err := hostMemory(ctx, o, mf, run.evals)
		if err != nil {
			return nil, err
		}
		run.lines = append(run.lines, line{key: "host_mem_usage:host", value: v, dec: 2})
		run.evals = append(run.evals, hostEval(name, run.primary[0].Sample, v, c.Host()))
		return run, nil
	case "disk":
		return diskLines(run, o), nil
	case "network":
		return networkLines(run, o), nil
	}
	return run, nil
}

func cpuLines(run *monitorRun, o *monitorOpts) (*monitorRun, error) {
	run.primary = []monitor.Threshold{{Sample: "cpu_percent"}}
	if o.core {
		run.primary = []monitor.Threshold{{Sample: "cpu_core_percent"}}
	}
	unsupported := 0
	for _, ev := range run.evals {
		if ev.Err != nil {
			continue
		}
		if !o.core {
			if s, ok := ev.Result.Sample("cpu_percent", nil); ok {
				run.lines = append(run.lines, line{key: "cpu_usage:" + ev.Target.Name, value: s.Value, dec: 2})
			}
			continue
		}
		n := 0
		for _, s := range ev.Result.Samples {
			if s.Name == "cpu_core_percent" {
				run.lines = append(run.lines, line{key: "cpu_usage#" + s.Labels["core"] + ":" + ev.Target.Name, value: s.Value, dec: 2})
				n++
			}
		}
		if _, ok := ev.Result.Sample("cpu_percent", nil); ok && n == 0 {
			unsupported++
		}
	}
	if unsupported > 0 {
		return nil, fmt.Errorf("%w: per-core CPU needs cgroup v1 (this engine reports no per-core counters)", monitor.ErrNotSupported)
	}
	return run, nil
}

func memoryLines(run *monitorRun, o *monitorOpts) (*monitorRun, error) {
	sample := "memory_host_percent"
	if o.containerLimit {
		sample = "memory_limit_percent"
	}
	run.primary = []monitor.Threshold{{Sample: sample}}
	ok := 0
	for _, ev := range run.evals {
		if ev.Err == nil {
			ok++
		}
	}
	for _, ev := range run.evals {
		if ev.Err != nil {
			continue
		}
		if o.all {
			for _, s := range ev.Result.Samples {
				if s.Name != "memory_stat" {
					continue
				}
				key := s.Labels["key"]
				if ok > 1 {
					key += ":" + id8(ev.Target)
				}
				run.lines = append(run.lines, line{key: key, value: s.Value})
			}
			continue
		}
		if s, found := ev.Result.Sample(sample, nil); found {
			run.lines = append(run.lines, line{key: "host_mem_usage:" + id8(ev.Target), value: s.Value, dec: 2})
		}
	}
	return run, nil
}

func diskLines(run *monitorRun, o *monitorOpts) *monitorRun {
	read, write := o.read || !o.write, o.write || !o.read
	for _, ev := range run.evals {
		if ev.Err != nil {
			continue
		}
		if s, ok := ev.Result.Sample("disk_read_bytes", nil); ok && read {
			run.lines = append(run.lines, line{key: "disk_read:" + id8(ev.Target), value: s.Value, dec: 2})
		}
		if s, ok := ev.Result.Sample("disk_write_bytes", nil); ok && write {
			run.lines = append(run.lines, line{key: "disk_write:" + id8(ev.Target), value: s.Value, dec: 2})
		}
	}
	if read {
		run.primary = append(run.primary, monitor.Threshold{Sample: "disk_read_bytes"})
	}
	if write {
		run.primary = append(run.primary, monitor.Threshold{Sample: "disk_write_bytes"})
	}
	return run
}

func networkLines(run *monitorRun, o *monitorOpts) *monitorRun {
	kb, pck := o.kb || !o.pck, o.pck || !o.kb
	rx, tx := o.rx || !o.tx, o.tx || !o.rx
	type item struct {
		on     bool
		key    string
		sample string
	}
	items := []item{
		{kb && rx, "nw_rxkb", "network_rx_bytes"}, {kb && tx, "nw_txkb", "network_tx_bytes"},
		{pck && rx, "nw_rxpck", "network_rx_packets"}, {pck && tx, "nw_txpck", "network_tx_packets"},
	}
	for _, it := range items {
		if it.on {
			run.primary = append(run.primary, monitor.Threshold{Sample: it.sample})
		}
	}
	for _, ev := range run.evals {
		if ev.Err != nil {
			continue
		}
		for _, it := range items {
			if s, ok := ev.Result.Sample(it.sample, nil); ok && it.on {
				run.lines = append(run.lines, line{key: it.key + ":" + id8(ev.Target), value: s.Value, dec: 2})
			}
		}
	}
	return run
}

// output prints the run in the chosen format and returns the exit code.
func output(env Env, mf *monitorFlags, run *monitorRun) int {
	switch mf.format {
	case "hinemos":
		return outputHinemos(env.Stdout, env.Stderr, run)
	}
	return outputOther(env, mf, run)
}

func outputHinemos(out, errw io.Writer, run *monitorRun) int {
	for _, l := range run.lines {
		fmt.Fprintln(out, l)
	}
	for _, r := range run.raw {
		fmt.Fprintln(out, r)
	}
	for _, ev := range run.evals {
		if ev.Err != nil {
			fmt.Fprintf(errw, "minato: %s %s: %s\n", ev.Target.ShortID(), ev.Target.Name, oneLine(explainEval(ev.Err)))
		}
	}
	for _, n := range run.notes {
		fmt.Fprintln(errw, "minato: "+n)
	}
	return 0
}

func explainEval(err error) string {
	switch {
	case errors.Is(err, monitor.ErrNoBaseline):
		return "no value yet: " + strings.TrimPrefix(err.Error(), "monitor: ") + " (the next run will have one)"
	case errors.Is(err, monitor.ErrNotSupported):
		return "unsupported: " + strings.TrimPrefix(err.Error(), "monitor: ")
	}
	return err.Error()
}

// thresholds returns the command's primary thresholds with the ranges of
// --warning and --critical.
func (mf *monitorFlags) thresholds(run *monitorRun) []monitor.Threshold {
	var w, c *monitor.Range
	if mf.warning != "" {
		r, _ := monitor.ParseRange(mf.warning) // validated already
		w = &r
	}
	if mf.critical != "" {
		r, _ := monitor.ParseRange(mf.critical)
		c = &r
	}
	out := make([]monitor.Threshold, len(run.primary))
	for i, t := range run.primary {
		t.Warning, t.Critical = w, c
		out[i] = t
	}
	return out
}

// judge applies the thresholds to every evaluation that has a value.
func judge(evs []monitor.Evaluation, ths []monitor.Threshold) {
	for i := range evs {
		if evs[i].Err != nil {
			continue
		}
		st, why := monitor.EvaluateThresholds(evs[i].Result, ths)
		evs[i].Status, evs[i].Observed = st, st
		if why != "" {
			evs[i].Message = why
		}
	}
}

// primaryOnly keeps, for Nagios perfdata, only the samples the command is
// about (cpu_percent for cpu, ...), so the line stays readable.
func primaryOnly(evs []monitor.Evaluation, ths []monitor.Threshold) []monitor.Evaluation {
	out := make([]monitor.Evaluation, len(evs))
	for i, ev := range evs {
		var keep []monitor.Sample
		for _, s := range ev.Result.Samples {
			for _, t := range ths {
				if t.Matches(s) {
					keep = append(keep, s)
					break
				}
			}
		}
		ev.Result.Samples = keep
		out[i] = ev
	}
	return out
}

func outputOther(env Env, mf *monitorFlags, run *monitorRun) int {
	ths := mf.thresholds(run)
	judge(run.evals, ths)
	switch mf.format {
	case "nagios":
		text, code := nagios.Format(strings.ToUpper(strings.ReplaceAll(run.check, "_", "-")), primaryOnly(run.evals, ths), ths)
		fmt.Fprintln(env.Stdout, text)
		return code
	case "json":
		if err := jsonout.Write(env.Stdout, run.evals); err != nil {
			return report(env, err)
		}
		return 0
	case "prometheus":
		if err := prom.WriteText(env.Stdout, run.evals, run.descs); err != nil {
			return report(env, err)
		}
		return 0
	}
	return report(env, usagef("--format %q: want hinemos, nagios, json or prometheus", mf.format))
}
