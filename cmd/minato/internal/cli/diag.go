package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/minato-ops/minato/cmd/minato/internal/agent"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/diag"
	"github.com/minato-ops/minato/diag/bundle"
	ddocker "github.com/minato-ops/minato/diag/docker"
	dexplain "github.com/minato-ops/minato/diag/explain"
	"github.com/minato-ops/minato/diag/host"
	"github.com/minato-ops/minato/image"
	"github.com/minato-ops/minato/inventory"
	dockerinv "github.com/minato-ops/minato/inventory/docker"
	"github.com/minato-ops/minato/job/jobapi"
)

// Exit codes of "minato diag": the Monitoring Plugins' convention (OK,
// WARNING, CRITICAL, UNKNOWN), which Hinemos and Nagios read as they are.
// 1 and 2 say what was found; 3 says nothing could be found out.
const (
	diagExitOK       = 0 // nothing at warning or above; explained; bundle written; runbook passed
	diagExitWarning  = 1 // a warning (or a check that could not answer); unclassified text; bundle not written; a runbook step failed
	diagExitCritical = 2 // something critical; a runbook step failed with a critical finding
	diagExitUsage    = 3 // a usage error, or the command could not start (configuration, input, no such container)
)

// Defaults of the diag commands.
const (
	diagCheckTimeout    = 60 * time.Second
	diagBundleTimeout   = 10 * time.Minute
	diagStepTimeout     = 30 * time.Second
	diagProbeTimeout    = 5 * time.Second
	diagMaxExplainInput = 16 << 20
)

const diagUsage = `Usage: minato diag COMMAND [options]

Say what is wrong with a Docker engine and its containers, why, and what to
do, following the catalogues operators already use: the Container Service
FAQ's troubleshooting (its catalogue of problems D01-D35, the seven-step
link check, the log troubleshooting steps), JobCenter's start-up messages
and diagnostic collector, and the troubleshooting chapter of CLUSTERPRO's
AWS guide.

Commands:
  check     run the engine, container and host checks; findings with their fix
  explain   explain a pasted error text or log (arguments, or standard input)
  bundle    collect a support bundle (tar.gz) as JobCenter's collector does
  runbook   run an ordered procedure (connectivity, logs) and stop at the
            first failing step with its advice

Exit codes: 0 nothing wrong (or explained, written, passed); 1 a warning, an
unclassified text, a bundle not written or a failed runbook step; 2 something
critical; 3 a usage error or a command that could not start. Run
"minato diag COMMAND -h" for the options.
`

// runDiag dispatches "minato diag".
func runDiag(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, diagUsage)
		return diagExitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(env.Stdout, diagUsage)
		return diagExitOK
	case "check":
		return runDiagCheck(ctx, args[1:], env)
	case "explain":
		return runDiagExplain(ctx, args[1:], env)
	case "bundle":
		return runDiagBundle(ctx, args[1:], env)
	case "runbook":
		return runDiagRunbook(ctx, args[1:], env)
	}
	return diagFail(env, usagef("unknown diag command %q: want check, explain, bundle or runbook", args[0]), diagExitUsage)
}

// diagFail prints err as every command does and returns the exit code: 0
// for -h, diagExitUsage for a usage error, else code.
func diagFail(env Env, err error, code int) int {
	if report(env, err) == 0 {
		return diagExitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		return diagExitUsage
	}
	return code
}

// labelFlag collects repeatable KEY[=VALUE] selections.
type labelFlag map[string]string

func (l labelFlag) String() string {
	var parts []string
	for k, v := range l {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func (l labelFlag) Set(v string) error {
	k, val, _ := strings.Cut(v, "=")
	if strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t\n") {
		return fmt.Errorf("want KEY or KEY=VALUE, such as com.docker.compose.project=web")
	}
	l[k] = val
	return nil
}

// diagSelection registers -c/-n (through engineFlags) and --label.
type diagSelection struct {
	engineFlags
	labels labelFlag
}

func (d *diagSelection) register(fs *flag.FlagSet) {
	d.engineFlags.register(fs)
	d.labels = labelFlag{}
	fs.Var(d.labels, "label", "select containers by label `KEY[=VALUE]` (repeatable; all must match)")
}

// selector returns the containers selected; an invalid selection is a
// usage error.
func (d *diagSelection) selector() (inventory.Selector, error) {
	sel := d.engineFlags.selector()
	if len(d.labels) > 0 {
		sel.Labels = map[string]string(d.labels)
	}
	if err := sel.Validate(); err != nil {
		return sel, usagef("%s", explain(err))
	}
	return sel, nil
}

// selected reports whether the selection names containers.
func selected(sel inventory.Selector) bool {
	return len(sel.IDs)+len(sel.Names)+len(sel.Labels) > 0
}

// diagEngine is one engine "minato diag check" looks at.
type diagEngine struct {
	name string
	cfg  container.Config
}

// parsePorts parses "9080,2376" into ports.
func parsePorts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := strconv.Atoi(f)
		if err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("%q: want TCP/UDP port numbers from 1 to 65535, comma separated, such as 9080,2376,3376", f)
		}
		out = append(out, p)
	}
	return out, nil
}

// validDNSName checks a name --dns-name gives.
func validDNSName(n string) error {
	if n == "" || len(n) > 253 || strings.ContainsFunc(n, func(r rune) bool { return r <= ' ' || r == '/' || r > 126 }) {
		return fmt.Errorf("%q: want a host name such as registry.example.com", n)
	}
	return nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func runDiagCheck(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato diag check", "minato diag check [-i ADDRESS [-p PORT] | --config FILE [--engine NAME]] [-c ID[*] | -n NAME[*]] [--label K=V] [options]",
		"Run the checks an experienced operator runs first, on one engine (-i/-p,\n"+
			"DOCKER_HOST, else the local socket) or on the engines of an agent\n"+
			"configuration (--config), and print what is wrong, why and what to do:\n"+
			"  engine    reachable, API version, the warnings of docker info, storage and\n"+
			"            cgroup drivers, the clock against this machine (Container Service\n"+
			"            FAQ D30), DNS inside a container on a user network (D20, needs\n"+
			"            --probe-image), space held by dangling images and unused volumes\n"+
			"  container reserved and conflicting host ports (D03, D04), restart policy,\n"+
			"            memory limit, health check, init process (mandatory for JobCenter's\n"+
			"            containers), privileged mode, a mounted Docker socket, json-file logs\n"+
			"            without a size limit, OOM kills and restart loops\n"+
			"  host      (a local engine) rp_filter and arp_announce (D10, D11), IP\n"+
			"            forwarding, disk and inodes of the Docker data root (D21), clock\n"+
			"            synchronisation (D30), the kernels that make container removal fail\n"+
			"            with \"device or resource busy\" (D29)\n"+
			"  image     (--images) whether each container runs its tag's current image\n"+
			"            (D01), with a registry refusal explained (D31)\n"+
			"-c, -n and --label choose the containers judged (default: all). The report\n"+
			"goes to stdout (--format text, json or markdown); a progress line goes to\n"+
			"stderr when it is a terminal.\n\n"+
			"Exit 0 when nothing is at warning or above (info findings included), 1 for\n"+
			"a warning or a check that could not answer, 2 for something critical, 3 for\n"+
			"a usage error or a configuration that cannot be read.")
	var sel diagSelection
	sel.register(fs)
	format := fs.String("format", "text", "output `FORMAT`: text, json or markdown")
	verbose := fs.Bool("verbose", false, "with --format text: list every check with its outcome and duration")
	colour := fs.String("color", "auto", "`WHEN` to colour the text report: auto (stdout is a terminal and NO_COLOR is unset), always or never")
	reserved := fs.String("reserved-ports", "", "host `PORTS` no container may publish, comma separated (the Container Service reserves 9080,2376,3376)")
	probeImage := fs.String("probe-image", "", "an `IMAGE` already on the engine with getent or nslookup, for the DNS check (never pulled; default: DNS not checked)")
	var dnsNames listFlag
	fs.Var(&dnsNames, "dns-name", "a `NAME` outside the engine (a registry, a database host) the DNS check resolves from inside a container (repeatable)")
	cfgPath := fs.String("config", "", "the agent configuration `FILE` whose engines (and diag: section) to check")
	var engineNames listFlag
	fs.Var(&engineNames, "engine", "with --config, check only engine `NAME` (repeatable); without, the name the report gives the engine")
	images := fs.Bool("images", false, "also compare each container's running image with its tag's digest in the registry (Container Service FAQ D01; one HEAD request per distinct image, nothing pulled; credentials from the docker CLI's config)")
	dockerConfig := fs.String("docker-config", "", "with --images: the `DIRECTORY` of the docker CLI's config.json (default: $DOCKER_CONFIG, else ~/.docker)")
	noHost := fs.Bool("no-host", false, "leave out the host checks (they run when the engine is on this machine)")
	lb := fs.Bool("load-balanced", false, "a layer-4 load balancer forwards to this host: rp_filter and arp_announce findings become warnings")
	var timeout time.Duration
	durationVar(fs, &timeout, "timeout", diagCheckTimeout, true, "`DURATION` bound on the whole run (each check also stops after 30s)")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return diagFail(env, err, diagExitUsage)
	}
	if len(pos) > 0 {
		return diagFail(env, usagef("minato diag check takes no arguments, got %q", strings.Join(pos, " ")), diagExitUsage)
	}
	f, err := diag.ParseFormat(*format)
	if err != nil {
		return diagFail(env, usagef("--format %q: want text, json or markdown", *format), diagExitUsage)
	}
	useColour := false
	switch *colour {
	case "auto":
		useColour = isTerminal(env.Stdout) && env.Getenv("NO_COLOR") == ""
	case "always":
		useColour = true
	case "never":
	default:
		return diagFail(env, usagef("--color %q: want auto, always or never", *colour), diagExitUsage)
	}
	s, err := sel.selector()
	if err != nil {
		return diagFail(env, err, diagExitUsage)
	}
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	opts := ddocker.Options{Selector: s, ProbeImage: *probeImage, DNSNames: dnsNames}
	if opts.ReservedPorts, err = parsePorts(*reserved); err != nil {
		return diagFail(env, usagef("--reserved-ports %s", err), diagExitUsage)
	}
	for _, n := range dnsNames {
		if err := validDNSName(n); err != nil {
			return diagFail(env, usagef("--dns-name %s", err), diagExitUsage)
		}
	}
	engines, dc, err := diagEngines(fs, &sel.engineFlags, *cfgPath, engineNames, env)
	if err != nil {
		return diagFail(env, err, diagExitUsage)
	}
	if dc != nil {
		// The configuration's diag: section, unless the flags say otherwise.
		if !given["reserved-ports"] {
			opts.ReservedPorts = dc.ReservedPorts
		}
		if !given["probe-image"] {
			opts.ProbeImage = dc.ProbeImage
		}
		if !given["dns-name"] {
			opts.DNSNames = dc.DNSNames
		}
	}

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var checks []diag.Check
	hostDone := *noHost
	var names []string
	clients := make([]*container.Client, 0, len(engines))
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for _, e := range engines {
		c, err := container.New(e.cfg)
		if err != nil {
			return diagFail(env, fmt.Errorf("engine %s: %w", e.name, err), diagExitUsage)
		}
		clients = append(clients, c)
		o := opts
		o.Engine = e.name
		o.SkipHost = hostDone || !c.Local()
		if !o.SkipHost {
			o.Host = &host.Options{LoadBalanced: *lb}
			hostDone = true
		}
		checks = append(checks, ddocker.Checks(c, o)...)
		if *images {
			ic, err := image.New(c, image.Config{DockerConfig: *dockerConfig})
			if err != nil {
				return diagFail(env, fmt.Errorf("engine %s: %w", e.name, err), diagExitUsage)
			}
			checks = append(checks, ic.DiagCheck(image.CheckOptions{Selector: s}))
		}
		names = append(names, e.name)
	}
	if selected(s) {
		if err := anySelected(ctx, clients, names, s); err != nil {
			return diagFail(env, err, diagExitUsage)
		}
	}
	ro := diag.RunOptions{Timeout: min(diag.DefaultCheckTimeout, timeout)}
	progress := isTerminal(env.Stderr)
	if progress {
		ro.Progress = func(done, total int, r diag.CheckResult) {
			fmt.Fprintf(env.Stderr, "\r\x1b[Kchecking %d/%d: %s", done, total, r.Check.ID)
		}
	}
	rep := diag.Run(ctx, checks, ro)
	if progress {
		fmt.Fprint(env.Stderr, "\r\x1b[K")
	}
	rep.Scope = "engine " + strings.Join(names, ", ")
	if len(names) > 1 {
		rep.Scope = "engines " + strings.Join(names, ", ")
	}
	if err := diag.WriteReport(env.Stdout, rep, f, diag.TextOptions{Verbose: *verbose, Color: useColour}); err != nil {
		return diagFail(env, err, diagExitUsage)
	}
	return rep.ExitCode()
}

// anySelected fails when no engine that answers has a container the
// selection matches: a check of nothing would say all is well.
func anySelected(ctx context.Context, clients []*container.Client, names []string, s inventory.Selector) error {
	answered := 0
	for _, c := range clients {
		got, err := c.Select(ctx, s)
		if err != nil {
			continue // the engine checks report it
		}
		answered++
		if len(got) > 0 {
			return nil
		}
	}
	if answered == 0 {
		return nil
	}
	return fmt.Errorf("no container on engine %s matches %s: nothing to check (minato ps -a lists them)", strings.Join(names, ", "), describeSelector(s))
}

// describeSelector says what a selection asks for, for messages.
func describeSelector(s inventory.Selector) string {
	var parts []string
	for _, id := range s.IDs {
		parts = append(parts, "-c "+id)
	}
	for _, n := range s.Names {
		parts = append(parts, "-n "+n)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
		l := k
		if v := s.Labels[k]; v != "" {
			l += "=" + v
		}
		parts = append(parts, "--label "+l)
	}
	return strings.Join(parts, " ")
}

// diagEngines resolves the engines to check: those of --config (and its
// diag: section), or the one of -i/-p, DOCKER_HOST or the local socket.
func diagEngines(fs *flag.FlagSet, ef *engineFlags, cfgPath string, only []string, env Env) ([]diagEngine, *agent.DiagConfig, error) {
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	if cfgPath == "" {
		cc, err := ef.config(fs, env.Getenv)
		if err != nil {
			return nil, nil, err
		}
		if len(only) > 1 {
			return nil, nil, usagef("--engine names the one engine checked; several need --config FILE")
		}
		name := dockerinv.LocalName
		if ef.address != "" {
			name = ef.address
		}
		if len(only) == 1 {
			name = only[0]
		}
		return []diagEngine{{name: name, cfg: cc}}, nil, nil
	}
	if given["i"] || given["p"] {
		return nil, nil, usagef("-i/-p and --config: the configuration file names the engines; give one or the other")
	}
	cfg, err := agent.Load(cfgPath)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	var out []diagEngine
	if len(cfg.Engines) == 0 {
		cc := container.ConfigFromEnv(env.Getenv)
		if d := cfg.Docker; d != nil {
			if d.Host != "" {
				cc.Host = d.Host
			}
			if d.APIVersion != "" {
				cc.APIVersion = d.APIVersion
			}
			if d.TLS != nil {
				cc.TLS = d.TLS
			}
			if d.Timeout != 0 {
				cc.Timeout = d.Timeout
			}
		}
		name := dockerinv.LocalName
		if len(only) == 1 {
			name = only[0]
		} else if len(only) > 1 {
			return nil, nil, usagef("%s has one engine (docker:): --engine names it once", cfgPath)
		}
		out = append(out, diagEngine{name: name, cfg: cc})
	} else {
		var all []string
		for _, e := range cfg.Engines {
			all = append(all, e.Name)
			if len(only) > 0 && !slices.Contains(only, e.Name) {
				continue
			}
			cc := e.Container()
			if cc.Timeout == 0 {
				cc.Timeout = ef.timeout
			}
			out = append(out, diagEngine{name: e.Name, cfg: cc})
		}
		for _, n := range only {
			if !slices.Contains(all, n) {
				return nil, nil, usagef("--engine %s: %s has no such engine (it has %s)", n, cfgPath, strings.Join(all, ", "))
			}
		}
	}
	dc := cfg.Diag
	return out, &dc, nil
}

func runDiagExplain(_ context.Context, args []string, env Env) int {
	fs := newFlagSet("minato diag explain", "minato diag explain [--format text|json|markdown] [TEXT... | -]\n       minato diag explain --rules [--format text|json]",
		"Explain an error text or a log: the text given as arguments (joined by\n"+
			"spaces), or read from standard input when there is none or it is \"-\" (paste\n"+
			"it, then Ctrl-D; or pipe docker logs, journalctl, a CLUSTERPRO alert log).\n"+
			"Each known error found is told with its cause, its fix (in order, when the\n"+
			"fix has steps) and where it is described, with the matched text and its line.\n"+
			"Known texts are the Container Service FAQ's (the cluster-creation errors with\n"+
			"their step, RequestId, status and code; the RAM access key, Log Service ACL,\n"+
			"\"device or resource busy\" and container CIDR errors), JobCenter's start-up\n"+
			"and collector messages, every message of CLUSTERPRO's AWS troubleshooting\n"+
			"chapter, minato's own failover lines, and the Docker errors operators paste\n"+
			"most. A text nothing recognises is reported as unclassified: nothing is\n"+
			"guessed. --rules lists the catalogue.\n\n"+
			"Exit 0 when something was explained, 1 when the text is unclassified, 3 for\n"+
			"a usage error or unreadable input.")
	format := fs.String("format", "text", "output `FORMAT`: text, json or markdown")
	rules := fs.Bool("rules", false, "list the catalogue of known texts (ID, severity, title, reference) instead")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return diagFail(env, err, diagExitUsage)
	}
	f, err := diag.ParseFormat(*format)
	if err != nil {
		return diagFail(env, usagef("--format %q: want text, json or markdown", *format), diagExitUsage)
	}
	if *rules {
		if len(pos) > 0 {
			return diagFail(env, usagef("--rules lists the catalogue: it takes no text"), diagExitUsage)
		}
		return printRules(env, f)
	}
	var text string
	if len(pos) == 0 || (len(pos) == 1 && pos[0] == "-") {
		if env.Stdin == nil {
			return diagFail(env, usagef("nothing to explain: give the text as arguments or on standard input"), diagExitUsage)
		}
		if isTerminal(env.Stderr) && isTerminalReader(env.Stdin) {
			fmt.Fprintln(env.Stderr, "Paste the text, then press Ctrl-D on a line of its own.")
		}
		b, err := io.ReadAll(io.LimitReader(env.Stdin, diagMaxExplainInput))
		if err != nil {
			return diagFail(env, fmt.Errorf("reading standard input: %w", err), diagExitUsage)
		}
		text = string(b)
	} else {
		text = strings.Join(pos, " ")
	}
	if strings.TrimSpace(text) == "" {
		return diagFail(env, usagef("nothing to explain: the text is empty (give it as arguments, or on standard input)"), diagExitUsage)
	}
	es := dexplain.Default().Explain(text)
	if err := diag.WriteExplanations(env.Stdout, text, es, f); err != nil {
		return diagFail(env, err, diagExitUsage)
	}
	if len(es) == 0 {
		return diagExitWarning
	}
	return diagExitOK
}

// isTerminalReader reports whether r is a terminal.
func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// printRules lists the explanation catalogue.
func printRules(env Env, f diag.Format) int {
	rules := dexplain.Rules()
	switch f {
	case diag.FormatJSON:
		return printJSON(env, rules, diagExitOK)
	case diag.FormatMarkdown:
		fmt.Fprintln(env.Stdout, "| Rule | Severity | Title | Reference |")
		fmt.Fprintln(env.Stdout, "|---|---|---|---|")
		for _, r := range rules {
			fmt.Fprintf(env.Stdout, "| `%s` | %s | %s | %s |\n", r.ID, r.Severity, mdPipe(r.Title), mdPipe(r.Reference))
		}
	default:
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RULE\tSEVERITY\tTITLE\tREFERENCE")
		for _, r := range rules {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Severity, r.Title, r.Reference)
		}
		tw.Flush()
		fmt.Fprintf(env.Stdout, "\n%d rules\n", len(rules))
	}
	return diagExitOK
}

func mdPipe(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func runDiagBundle(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato diag bundle", "minato diag bundle [-i ADDRESS [-p PORT]] [-c ID[*] | -n NAME[*]] [--label K=V] [-o DIR] [options]",
		"Collect a support bundle as JobCenter's collector (jc_docker_getinfo.sh) does:\n"+
			"DIR/<prefix>_<MMDDhhmm>_<host>.tar.gz holding engine.info (docker version,\n"+
			"info, system df, images, volumes), daemon.json, net.info, system.info, and for\n"+
			"each selected container (default: all) container_<name>.info (inspect, log\n"+
			"tail, top, stats, its events up to now), network_<id>.info for its networks,\n"+
			"mount.info (<source>:<dest>) and ls_<path>.info listings of its directory\n"+
			"mounts; collect.log holds the progress and errors, REDACTIONS.txt what was\n"+
			"redacted. Passwords, tokens, keys and registry auths are replaced by\n"+
			"\""+bundle.Redacted+"\" everywhere, logs included. The progress messages go to stderr\n"+
			"in the collector's words and order; the archive's path goes to stdout. When\n"+
			"compression fails the directory is kept and named.\n\n"+
			"The agent's state (GET /api/v1/status, /api/v1/diag and /api/v1/ha) is added\n"+
			"as agent_*.json when the agent answers (--agent URL, else $MINATO_AGENT, else\n"+
			DefaultAgentURL+"; --no-agent leaves it out).\n\n"+
			"Exit 0 when the archive was written (some parts may be missing: see\n"+
			"collect.log), 1 when it was not, 3 for a usage error.")
	var sel diagSelection
	sel.register(fs)
	var af agentFlags
	af.register(fs)
	dir := fs.String("o", ".", "the `DIR` the bundle is written into (created when missing)")
	prefix := fs.String("prefix", bundle.DefaultPrefix, "`PREFIX` of the bundle's name, as jc_docker_data is JobCenter's")
	tail := fs.Int("tail", bundle.DefaultLogTail, "`LINES` of each container's log to keep")
	dockerConfig := fs.String("docker-config", "", "a docker CLI configuration `FILE` (~/.docker/config.json) to include, its auths redacted")
	noAgent := fs.Bool("no-agent", false, "do not ask the agent for its state")
	var timeout time.Duration
	durationVar(fs, &timeout, "timeout", diagBundleTimeout, true, "`DURATION` bound on the whole collection")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return diagFail(env, err, diagExitUsage)
	}
	if len(pos) > 0 {
		return diagFail(env, usagef("minato diag bundle takes no arguments, got %q", strings.Join(pos, " ")), diagExitUsage)
	}
	if *tail < 1 {
		return diagFail(env, usagef("--tail %d: want 1 or more lines", *tail), diagExitUsage)
	}
	s, err := sel.selector()
	if err != nil {
		return diagFail(env, err, diagExitUsage)
	}
	cc, err := sel.config(fs, env.Getenv)
	if err != nil {
		return diagFail(env, err, diagExitUsage)
	}
	o := bundle.Options{Prefix: *prefix, Dir: *dir, Selector: s, LogTail: *tail, DockerConfig: *dockerConfig,
		Progress: func(msg string) { fmt.Fprintln(env.Stderr, msg) }}
	if err := o.Validate(); err != nil {
		return diagFail(env, usagef("%s", strings.ReplaceAll(err.Error(), "bundle: ", "")), diagExitUsage)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !*noAgent {
		ac, err := af.client(env)
		if err != nil {
			return diagFail(env, err, diagExitUsage)
		}
		o.Extra = agentState(ctx, ac, env)
	}
	c, err := container.New(cc)
	if err != nil {
		return diagFail(env, err, diagExitUsage)
	}
	defer c.Close()
	res, err := bundle.Collect(ctx, c, o)
	if err != nil {
		if res.Dir != "" {
			fmt.Fprintf(env.Stderr, "minato: the collected files are kept in %s\n", res.Dir)
		}
		return diagFail(env, err, diagExitWarning)
	}
	if n := len(res.Errors); n > 0 {
		fmt.Fprintf(env.Stderr, "minato: %d parts could not be collected; collect.log in the bundle says which\n", n)
	}
	if n := len(res.Redactions); n > 0 {
		fmt.Fprintf(env.Stderr, "minato: %d secrets redacted; REDACTIONS.txt in the bundle lists them (never their values)\n", n)
	}
	fmt.Fprintln(env.Stdout, res.Path)
	return diagExitOK
}

// agentState asks the agent for its status, last diagnostics and HA view,
// as files for the bundle. An agent that does not answer is noted on
// stderr and left out.
func agentState(ctx context.Context, c *jobapi.Client, env Env) map[string][]byte {
	out := map[string][]byte{}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, p := range []struct{ path, file string }{{"/status", "agent_status.json"}, {"/diag", "agent_diag.json"}, {"/ha", "agent_ha.json"}} {
		var raw json.RawMessage
		err := c.Call(actx, http.MethodGet, p.path, nil, &raw)
		var ue *jobapi.UnreachableError
		switch {
		case errors.As(err, &ue):
			fmt.Fprintf(env.Stderr, "minato: no agent answers at %s (%v): the bundle holds no agent state (--no-agent skips asking)\n", ue.URL, ue.Err)
			return nil
		case err != nil:
			// A route this agent does not serve (no ha: section, diag
			// off) or a refusal: say so in the bundle.
			out[p.file] = mustJSON(map[string]string{"error": err.Error()})
		default:
			out[p.file] = raw
		}
	}
	return out
}

func mustJSON(v any) []byte {
	b, _ := json.MarshalIndent(v, "", "  ")
	return b
}

const runbookList = `Runbooks (minato diag runbook NAME -h for the options):
  connectivity  the Container Service FAQ's seven-step link check, from the web
                container outwards: 1 running, 2 service port answers, 3 health,
                4 page answers when asked directly (HTTP status < 400), 5 routing and
                6 load balancer (no counterpart here), 7 the domain resolves to the
                address clients use. Stops at the first failing step with its advice.
                minato diag runbook connectivity -n CONTAINER [--port P] [--path /health]
                  [--domain D [--address IP]]
  logs          the Container Service FAQ's log troubleshooting steps, those with a
                Docker counterpart: where the log driver puts the logs, whether the
                log destination is reachable, whether the container writes logs at
                all. Every step runs (the FAQ says not to skip any).
                minato diag runbook logs -n CONTAINER
`

func runDiagRunbook(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		fmt.Fprint(env.Stdout, runbookList)
		return diagExitOK
	}
	switch args[0] {
	case "-h", "--help", "help", "list":
		fmt.Fprint(env.Stdout, runbookList)
		return diagExitOK
	case diag.RunbookConnectivity:
		return runConnectivity(ctx, args[1:], env)
	case "logs", diag.RunbookLogCollection:
		return runLogsRunbook(ctx, args[1:], env)
	}
	return diagFail(env, usagef("unknown runbook %q: want connectivity or logs (minato diag runbook lists them)", args[0]), diagExitUsage)
}

// runbookTarget is the container a runbook looks at.
type runbookTarget struct {
	sum container.Summary
	ins container.InspectResult
	set container.Settings
	raw rawInspect
	// local says the engine runs on this machine: its containers' IPs
	// are reachable from here.
	local bool
	// engineHost is the engine's address for a tcp:// engine.
	engineHost string
}

// rawInspect is the part of the inspect document the runbooks read that
// container.InspectResult does not carry.
type rawInspect struct {
	Config struct {
		ExposedPorts map[string]struct{}
	}
	State struct {
		Health *struct {
			FailingStreak int
			Log           []struct {
				ExitCode int
				Output   string
			}
		}
	}
}

// runbookFlags are the options every runbook takes.
type runbookFlags struct {
	engineFlags
	format  string
	timeout time.Duration
}

func (r *runbookFlags) register(fs *flag.FlagSet) {
	r.engineFlags.register(fs)
	fs.StringVar(&r.format, "format", "text", "output `FORMAT`: text, json or markdown")
	durationVar(fs, &r.timeout, "timeout", diagStepTimeout, true, "`DURATION` bound on each step")
}

// target resolves -n/-c to exactly one container and inspects it. A
// container that does not exist is found == false.
func (r *runbookFlags) target(ctx context.Context, fs *flag.FlagSet, env Env) (c *container.Client, t runbookTarget, found bool, err error) {
	if len(r.ids)+len(r.names) != 1 {
		return nil, t, false, usagef("name one container: -n NAME or -c ID")
	}
	s := r.selector()
	if err := s.Validate(); err != nil {
		return nil, t, false, usagef("%s", explain(err))
	}
	cc, err := r.config(fs, env.Getenv)
	if err != nil {
		return nil, t, false, err
	}
	if c, err = container.New(cc); err != nil {
		return nil, t, false, err
	}
	got, err := c.Select(ctx, s)
	if err != nil {
		return c, t, false, err
	}
	switch len(got) {
	case 0:
		return c, t, false, nil
	case 1:
	default:
		var names []string
		for _, g := range got {
			names = append(names, g.Name)
		}
		return c, t, false, usagef("%s matches %d containers (%s): name one", describeSelector(s), len(got), strings.Join(names, ", "))
	}
	t.sum = got[0]
	if t.ins, err = c.Inspect(ctx, t.sum.ID, container.InspectOptions{}); err != nil {
		return c, t, false, err
	}
	if t.set, err = t.ins.Settings(); err != nil {
		return c, t, false, err
	}
	_ = json.Unmarshal(t.ins.Raw, &t.raw) // best effort: only the health log and exposed ports
	t.local = c.Local()
	if h, ok := strings.CutPrefix(c.Host(), "tcp://"); ok {
		if hh, _, err := net.SplitHostPort(h); err == nil {
			t.engineHost = hh
		}
	}
	return c, t, true, nil
}

func (t runbookTarget) subject() diag.Subject {
	return diag.Subject{Kind: diag.SubjectContainer, ID: t.ins.ID, Name: t.ins.Name}
}

// finding fills in the subject and reference of a runbook finding.
func (t runbookTarget) finding(code string, sev diag.Severity, title, detail, remedy, ref string, evidence ...string) diag.Finding {
	return diag.Finding{Code: code, Severity: sev, Subject: t.subject(), Title: title, Detail: detail, Remedy: remedy, Evidence: evidence, Reference: ref}
}

// endpoint is where a container's TCP port is reached from here.
type endpoint struct {
	addr string // host:port
	how  string // "container IP", "published port", "host network"
}

// ports are the container's TCP ports: port when given, else its
// published and exposed ones.
func (t runbookTarget) ports(port int) []int {
	if port > 0 {
		return []int{port}
	}
	var out []int
	for _, p := range t.sum.Ports {
		if p.Type == "tcp" && !slices.Contains(out, int(p.PrivatePort)) {
			out = append(out, int(p.PrivatePort))
		}
	}
	for k := range t.raw.Config.ExposedPorts {
		n, proto, _ := strings.Cut(k, "/")
		if p, err := strconv.Atoi(n); err == nil && (proto == "" || proto == "tcp") && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// endpointOf says where port is reached from this machine: the container's
// IP for a local engine, the host for host networking, else a published
// port on the engine's address.
func (t runbookTarget) endpointOf(port int) (endpoint, error) {
	if t.set.NetworkMode == "host" {
		h := cmp.Or(t.engineHost, "127.0.0.1")
		return endpoint{net.JoinHostPort(h, strconv.Itoa(port)), "host network"}, nil
	}
	if t.local && t.sum.IPAddress != "" {
		return endpoint{net.JoinHostPort(t.sum.IPAddress, strconv.Itoa(port)), "container IP"}, nil
	}
	for _, p := range t.sum.Ports {
		if int(p.PrivatePort) == port && p.PublicPort != 0 && p.Type == "tcp" {
			h := p.IP
			if h == "" || h == "0.0.0.0" || h == "::" {
				h = cmp.Or(t.engineHost, "127.0.0.1")
			}
			return endpoint{net.JoinHostPort(h, strconv.Itoa(int(p.PublicPort))), "published port"}, nil
		}
	}
	if t.sum.IPAddress == "" {
		return endpoint{}, fmt.Errorf("container %s has no IP address (network mode %q) and does not publish port %d", t.ins.Name, t.set.NetworkMode, port)
	}
	return endpoint{}, fmt.Errorf("the engine is not on this machine, so container %s's IP %s cannot be reached from here, and port %d is not published: run the runbook on the engine's host, or publish the port", t.ins.Name, t.sum.IPAddress, port)
}

const (
	refLink     = "Container Service FAQ §2.8"
	refLogs     = "Container Service FAQ §2.15"
	codeRunning = "D12"
	codeProbe   = "D13"
	codeDNS     = "D16"
	codeNoLogs  = "D27"
)

func runConnectivity(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato diag runbook connectivity", "minato diag runbook connectivity (-n NAME | -c ID) [--port PORT] [--path /health] [--domain NAME [--address IP]] [options]",
		"The Container Service FAQ's seven-step link check for a web container: a\n"+
			"request goes client > DNS > load balancer > routing > container, and a fault\n"+
			"anywhere stops it, so the steps start at the container and work outwards,\n"+
			"stopping at the first that fails with the FAQ's advice for it:\n"+
			"  1 the container is running\n"+
			"  2 the service answers: the Compose service's containers all run, and the\n"+
			"    port (--port, else the published and exposed TCP ports) accepts TCP\n"+
			"  3 the health check passes (the container's own; with --path, GET PATH\n"+
			"    must also answer 200 as a load balancer's health check requires)\n"+
			"  4 the page answers when asked directly, bypassing any routing: GET PATH\n"+
			"    (default /) on the container's IP gives an HTTP status below 400\n"+
			"  5 routing (HAProxy) and 6 the cloud load balancer: not applicable here\n"+
			"  7 with --domain, the name resolves (to --address when given: the address\n"+
			"    clients should reach, the load balancer's VIP in the FAQ)\n"+
			"The container's IP is probed from this machine when the engine is local, else\n"+
			"its published port on the engine's address.\n\n"+
			"Exit 0 when every step passed, 1 when one failed, 2 when one failed with a\n"+
			"critical finding (the container is not running, the page does not answer),\n"+
			"3 for a usage error.")
	var rf runbookFlags
	rf.register(fs)
	port := fs.Int("port", 0, "the service's TCP `PORT` inside the container (default: its published and exposed ports)")
	path := fs.String("path", "", "HTTP `PATH` of the page (step 4, default /) and of the health-check page (step 3: must answer 200)")
	domain := fs.String("domain", "", "the domain `NAME` clients use (step 7)")
	address := fs.String("address", "", "the `IP` --domain must resolve to (the load balancer's VIP, or the engine host's address)")
	var probeTimeout time.Duration
	durationVar(fs, &probeTimeout, "probe-timeout", diagProbeTimeout, true, "`DURATION` a port or page has to answer")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return diagFail(env, err, diagExitUsage)
	}
	if len(pos) > 0 {
		return diagFail(env, usagef("minato diag runbook connectivity takes no arguments, got %q", strings.Join(pos, " ")), diagExitUsage)
	}
	f, err := diag.ParseFormat(rf.format)
	if err != nil {
		return diagFail(env, usagef("--format %q: want text, json or markdown", rf.format), diagExitUsage)
	}
	if *port < 0 || *port > 65535 {
		return diagFail(env, usagef("--port %d: want a TCP port from 1 to 65535", *port), diagExitUsage)
	}
	if *path != "" && !strings.HasPrefix(*path, "/") {
		return diagFail(env, usagef("--path %q: want an absolute path such as /health", *path), diagExitUsage)
	}
	if *address != "" && *domain == "" {
		return diagFail(env, usagef("--address is what --domain must resolve to: give --domain too"), diagExitUsage)
	}
	if *address != "" && net.ParseIP(*address) == nil {
		return diagFail(env, usagef("--address %q: want an IP address such as 203.0.113.20", *address), diagExitUsage)
	}
	if *domain != "" {
		if err := validDNSName(*domain); err != nil {
			return diagFail(env, usagef("--domain %s", err), diagExitUsage)
		}
	}
	c, t, found, err := rf.target(ctx, fs, env)
	if c != nil {
		defer c.Close()
	}
	var steps [7]diag.Check
	switch {
	case err != nil && (c == nil || errors.As(err, new(usageError))):
		// A usage error, or no client (its configuration: TLS files).
		return diagFail(env, err, diagExitUsage)
	case err != nil:
		// The engine did not answer: step 1 cannot be answered.
		steps[0] = diag.NewCheck(diag.CheckInfo{ID: "runbook.container", Title: "Container running", Subject: diag.SubjectContainer},
			func(context.Context) ([]diag.Finding, error) { return nil, errors.New(explain(err)) })
	case !found:
		name := strings.Join(append(slices.Clone(rf.names), rf.ids...), "")
		steps[0] = diag.NewCheck(diag.CheckInfo{ID: "runbook.container", Title: "Container running", Subject: diag.SubjectContainer},
			func(context.Context) ([]diag.Finding, error) {
				return []diag.Finding{{Code: codeRunning, Severity: diag.Critical, Subject: diag.Subject{Kind: diag.SubjectContainer, Name: name},
					Title:     "No such container on " + c.Host(),
					Detail:    "The container was removed, or never created under this name.",
					Remedy:    "List the containers (minato ps -a, docker ps -a) and deploy or start the application's container again.",
					Reference: "Container Service FAQ D12 (§2.8 step 1)"}}, nil
			})
	default:
		pc := probeConfig{timeout: probeTimeout, path: *path}
		steps[0] = t.runningCheck()
		steps[1] = t.serviceCheck(c, *port, pc)
		steps[2] = t.healthCheck(*port, pc)
		steps[3] = t.probeCheck(*port, pc)
		if *domain != "" {
			steps[6] = dnsCheck(*domain, *address)
		}
	}
	rb := diag.Connectivity(steps[0], steps[1], steps[2], steps[3], steps[4], steps[5], steps[6])
	res := rb.Run(ctx, rf.timeout)
	if err := diag.WriteRunbook(env.Stdout, res, f); err != nil {
		return diagFail(env, err, diagExitUsage)
	}
	return res.ExitCode()
}

// probeConfig tunes the network probes of the connectivity runbook.
type probeConfig struct {
	timeout time.Duration
	path    string
}

func (t runbookTarget) runningCheck() diag.Check {
	return diag.NewCheck(diag.CheckInfo{ID: "runbook.container", Title: "Container running", Subject: diag.SubjectContainer, Reference: "D12"},
		func(context.Context) ([]diag.Finding, error) {
			ins := t.ins
			if ins.State == container.Running {
				ev := fmt.Sprintf("running since %s", ins.StartedAt.Format(time.RFC3339))
				if ins.RestartCount > 0 {
					ev += fmt.Sprintf(", restarted %d times by the engine", ins.RestartCount)
				}
				return []diag.Finding{t.finding("container.running", diag.OK, "The container is running", "", "", refLink, ev)}, nil
			}
			ev := []string{"state: " + string(ins.State)}
			if !ins.FinishedAt.IsZero() {
				ev = append(ev, fmt.Sprintf("exit code %d at %s", ins.ExitCode, ins.FinishedAt.Format(time.RFC3339)))
			}
			if ins.OOMKilled {
				ev = append(ev, "killed by the kernel's OOM killer: the memory limit is too low for it")
			}
			if ins.Error != "" {
				ev = append(ev, "engine error: "+ins.Error)
			}
			return []diag.Finding{t.finding(codeRunning, diag.Critical, "The container is not running ("+string(ins.State)+")",
				"A container that does not run serves nothing: every later step depends on it.",
				"Read why it stopped (docker logs "+ins.Name+", docker events --filter container="+ins.Name+"), fix it, then start it (docker start "+ins.Name+") and run this check again.",
				"Container Service FAQ D12 (§2.8 step 1)", ev...)}, nil
		})
}

// Compose's labels naming a container's project and service.
const (
	composeProject = "com.docker.compose.project"
	composeService = "com.docker.compose.service"
)

func (t runbookTarget) serviceCheck(c *container.Client, port int, pc probeConfig) diag.Check {
	return diag.NewCheck(diag.CheckInfo{ID: "runbook.service", Title: "Service ready", Subject: diag.SubjectContainer, Reference: "D12"},
		func(ctx context.Context) ([]diag.Finding, error) {
			var out []diag.Finding
			project, service := t.ins.Labels[composeProject], t.ins.Labels[composeService]
			if project != "" && service != "" {
				members, err := c.List(ctx, container.ListOptions{All: true, Labels: map[string]string{composeProject: project, composeService: service}})
				if err != nil {
					return nil, err
				}
				var stopped []string
				for _, m := range members.Containers {
					if m.State != container.Running {
						stopped = append(stopped, m.Name+" ("+string(m.State)+")")
					}
				}
				n := len(members.Containers)
				ev := fmt.Sprintf("Ready:%d Stop:%d", n-len(stopped), len(stopped))
				if len(stopped) > 0 {
					out = append(out, t.finding(codeRunning, diag.Critical,
						fmt.Sprintf("Service %s of project %s: %d of %d containers not running", service, project, len(stopped), n),
						"Every container of the service must run for it to be ready.",
						"Read the stopped containers' logs and events, then start them again (docker compose -p "+project+" up -d "+service+").",
						"Container Service FAQ D12 (§2.8 step 2)", append([]string{ev}, stopped...)...))
				} else {
					out = append(out, t.finding("service.ready", diag.OK, fmt.Sprintf("Service %s of project %s is ready: %s running", service, project, countNoun(n, "container")), "", "", refLink, ev))
				}
			}
			ports := t.ports(port)
			if len(ports) == 0 {
				return out, fmt.Errorf("container %s publishes and exposes no TCP port: give the service's port with --port", t.ins.Name)
			}
			for _, p := range ports {
				ep, err := t.endpointOf(p)
				if err != nil {
					return out, err
				}
				d := net.Dialer{Timeout: pc.timeout}
				conn, err := d.DialContext(ctx, "tcp", ep.addr)
				if err != nil {
					out = append(out, t.finding(codeRunning, diag.Critical,
						fmt.Sprintf("Port %d/tcp does not accept connections", p),
						"Nothing listens on the service's port, or it listens on 127.0.0.1 inside the container only.",
						"Check that the application listens on 0.0.0.0:"+strconv.Itoa(p)+" inside the container (docker exec "+t.ins.Name+" netstat -lnt, or its logs) and that --port names the service's port.",
						"Container Service FAQ D12 (§2.8 step 2)", fmt.Sprintf("%s (%s): %s", ep.addr, ep.how, oneLine(err.Error()))))
					continue
				}
				conn.Close()
				out = append(out, t.finding("service.port_open", diag.OK, fmt.Sprintf("Port %d/tcp accepts connections", p), "", "", refLink, ep.addr+" ("+ep.how+")"))
			}
			return out, nil
		})
}

func (t runbookTarget) healthCheck(port int, pc probeConfig) diag.Check {
	return diag.NewCheck(diag.CheckInfo{ID: "runbook.health", Title: "Health check passing", Subject: diag.SubjectContainer, Reference: "D12"},
		func(ctx context.Context) ([]diag.Finding, error) {
			var out []diag.Finding
			ref := "Container Service FAQ D12 (§2.8 step 3)"
			switch t.ins.Health {
			case "":
				if pc.path == "" {
					out = append(out, t.finding("container.no_healthcheck", diag.Info, "No health check configured",
						"", "Add a HEALTHCHECK (or --health-cmd) that requests the health page, or give --path to have this step request it.", ref))
				}
			case "healthy":
				out = append(out, t.finding("container.healthy", diag.OK, "Health check: healthy", "", "", ref))
			case "starting":
				out = append(out, t.finding(codeRunning, diag.Warning, "Health check still starting",
					"The engine has not yet seen the health check pass.", "Wait for the start period to end and run this check again; if it stays starting, read the container's logs.", ref))
			default:
				var ev []string
				if h := t.raw.State.Health; h != nil {
					ev = append(ev, fmt.Sprintf("failing streak: %d", h.FailingStreak))
					if n := len(h.Log); n > 0 {
						last := h.Log[n-1]
						ev = append(ev, fmt.Sprintf("last probe: exit %d: %s", last.ExitCode, truncate(oneLine(last.Output), 200)))
					}
				}
				out = append(out, t.finding(codeRunning, diag.Critical, "Health check failing ("+t.ins.Health+")",
					"The container's own health check fails: a load balancer or routing would take it out of service.",
					"Read the container's logs for error messages (docker logs "+t.ins.Name+") and the health probe's output (docker inspect --format '{{json .State.Health}}' "+t.ins.Name+").", ref, ev...))
			}
			if pc.path == "" {
				return out, nil
			}
			ports := t.ports(port)
			if len(ports) == 0 {
				return out, fmt.Errorf("container %s publishes and exposes no TCP port: give the service's port with --port", t.ins.Name)
			}
			ep, err := t.endpointOf(ports[0])
			if err != nil {
				return out, err
			}
			status, err := httpGet(ctx, ep.addr, pc)
			switch {
			case err != nil:
				out = append(out, t.finding(codeRunning, diag.Critical, "The health-check page does not answer", "",
					"Check that the application serves "+pc.path+" and read its logs.", ref, fmt.Sprintf("GET http://%s%s: %s", ep.addr, pc.path, oneLine(err.Error()))))
			case status != http.StatusOK:
				out = append(out, t.finding(codeRunning, diag.Critical, fmt.Sprintf("The health-check page answers %d, not 200", status),
					"A load balancer's health check needs exactly 200: any other status takes the container out of service.",
					"Make "+pc.path+" answer 200 when the application is well (no redirect), or point the health check at a page that does.", ref,
					fmt.Sprintf("GET http://%s%s: %d %s", ep.addr, pc.path, status, http.StatusText(status))))
			default:
				out = append(out, t.finding("container.health_page", diag.OK, "The health-check page answers 200", "", "", ref, fmt.Sprintf("GET http://%s%s: 200 OK", ep.addr, pc.path)))
			}
			return out, nil
		})
}

func (t runbookTarget) probeCheck(port int, pc probeConfig) diag.Check {
	return diag.NewCheck(diag.CheckInfo{ID: "runbook.probe", Title: "Page answers directly", Subject: diag.SubjectContainer, Reference: "D13"},
		func(ctx context.Context) ([]diag.Finding, error) {
			ports := t.ports(port)
			if len(ports) == 0 {
				return nil, fmt.Errorf("container %s publishes and exposes no TCP port: give the service's port with --port", t.ins.Name)
			}
			ep, err := t.endpointOf(ports[0])
			if err != nil {
				return nil, err
			}
			path := cmp.Or(pc.path, "/")
			ref := "Container Service FAQ D13 (§2.8 step 4)"
			status, err := httpGet(ctx, ep.addr, probeConfig{timeout: pc.timeout, path: path})
			url := "http://" + ep.addr + path
			switch {
			case err != nil:
				return []diag.Finding{t.finding(codeProbe, diag.Critical, "The web container's page does not answer",
					"The port accepts connections, but no HTTP answer came back: the application is stuck, or does not speak HTTP on this port.",
					"The fault is in the web application itself: read its logs (docker logs "+t.ins.Name+").", ref, "GET "+url+": "+oneLine(err.Error()))}, nil
			case status >= 400:
				return []diag.Finding{t.finding(codeProbe, diag.Critical, fmt.Sprintf("The web container's page answers %d %s", status, http.StatusText(status)),
					"An HTTP status of 400 or more means the page is broken (below 400, a 302 Found for example, is normal).",
					"The fault is in the web application itself: read its logs (docker logs "+t.ins.Name+").", ref, fmt.Sprintf("GET %s: %d", url, status))}, nil
			}
			return []diag.Finding{t.finding("container.page_ok", diag.OK, fmt.Sprintf("The page answers %d %s", status, http.StatusText(status)), "", "", ref, "GET "+url+" ("+ep.how+")")}, nil
		})
}

// httpGet requests path on addr without following redirects and returns
// the status.
func httpGet(ctx context.Context, addr string, pc probeConfig) (int, error) {
	cl := &http.Client{Timeout: pc.timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+pc.path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "minato-diag")
	resp, err := cl.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// dnsCheck is step 7: domain resolves (to address).
func dnsCheck(domain, address string) diag.Check {
	return diag.NewCheck(diag.CheckInfo{ID: "runbook.dns", Title: "Domain resolves to the entry address", Subject: diag.SubjectHost, Reference: "D16"},
		func(ctx context.Context) ([]diag.Finding, error) {
			subj := diag.Subject{Kind: diag.SubjectHost, Name: domain}
			ref := "Container Service FAQ D16 (§2.8 step 7)"
			addrs, err := net.DefaultResolver.LookupHost(ctx, domain)
			if err != nil {
				return []diag.Finding{{Code: codeDNS, Severity: diag.Critical, Subject: subj, Title: "Domain " + domain + " does not resolve",
					Remedy: "Create or correct the domain's DNS record (an A record to the load balancer's VIP or the host's address).", Evidence: []string{oneLine(err.Error())}, Reference: ref}}, nil
			}
			slices.Sort(addrs)
			ev := "resolves to " + strings.Join(addrs, ", ")
			if address == "" {
				return []diag.Finding{{Code: "dns.resolves", Severity: diag.OK, Subject: subj, Title: "Domain " + domain + " resolves", Evidence: []string{ev}, Reference: ref}}, nil
			}
			want := net.ParseIP(address)
			for _, a := range addrs {
				if ip := net.ParseIP(a); ip != nil && ip.Equal(want) {
					return []diag.Finding{{Code: "dns.resolves", Severity: diag.OK, Subject: subj, Title: "Domain " + domain + " resolves to " + address, Evidence: []string{ev}, Reference: ref}}, nil
				}
			}
			return []diag.Finding{{Code: codeDNS, Severity: diag.Critical, Subject: subj, Title: "Domain " + domain + " does not resolve to " + address,
				Detail: "Clients using the domain reach another address than the service's entry (the load balancer's VIP in the FAQ).",
				Remedy: "Correct the domain's DNS record to " + address + " (and wait for the old record's TTL to pass).", Evidence: []string{ev}, Reference: ref}}, nil
		})
}

// logDrivers the engine can read back with docker logs.
var readableLogDrivers = []string{"json-file", "local", "journald"}

// logAddressOptions are the log options naming where a driver ships logs.
var logAddressOptions = []string{"syslog-address", "fluentd-address", "gelf-address", "splunk-url", "loki-url"}

func runLogsRunbook(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato diag runbook logs", "minato diag runbook logs (-n NAME | -c ID) [options]",
		"The Container Service FAQ's troubleshooting of logs that do not arrive, with\n"+
			"the Docker counterpart of each step; every step runs, as the FAQ says not\n"+
			"to skip any:\n"+
			"  1 where the logs go: the container's log driver keeps them (json-file,\n"+
			"    local, journald) or ships them elsewhere; \"none\" discards them\n"+
			"  2 the log agent's version (ilogtail): not applicable here\n"+
			"  3 the log agent can reach its endpoint: the driver's TCP address\n"+
			"    (syslog-address, fluentd-address, gelf-address) accepts connections\n"+
			"  4 machine group and 5 access key (Log Service): not applicable here\n"+
			"  6 the application really writes logs: docker logs shows output\n\n"+
			"Exit 0 when every step passed, 1 when one failed, 2 when one failed with a\n"+
			"critical finding, 3 for a usage error or a container that does not exist.")
	var rf runbookFlags
	rf.register(fs)
	var probeTimeout time.Duration
	durationVar(fs, &probeTimeout, "probe-timeout", diagProbeTimeout, true, "`DURATION` the log endpoint has to answer")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return diagFail(env, err, diagExitUsage)
	}
	if len(pos) > 0 {
		return diagFail(env, usagef("minato diag runbook logs takes no arguments, got %q", strings.Join(pos, " ")), diagExitUsage)
	}
	f, err := diag.ParseFormat(rf.format)
	if err != nil {
		return diagFail(env, usagef("--format %q: want text, json or markdown", rf.format), diagExitUsage)
	}
	c, t, found, err := rf.target(ctx, fs, env)
	if c != nil {
		defer c.Close()
	}
	if err != nil {
		return diagFail(env, err, diagExitUsage)
	}
	if !found {
		return diagFail(env, fmt.Errorf("no container matches %s on %s (minato ps -a lists them)", describeSelector(rf.selector()), c.Host()), diagExitUsage)
	}
	var endpointCheck diag.Check
	if addr, opt := t.logEndpoint(); addr != "" {
		endpointCheck = t.logEndpointCheck(addr, opt, probeTimeout)
	}
	rb := diag.LogCollection(t.logDriverCheck(), nil, endpointCheck, nil, nil, t.logContentCheck(c))
	res := rb.Run(ctx, rf.timeout)
	if err := diag.WriteRunbook(env.Stdout, res, f); err != nil {
		return diagFail(env, err, diagExitUsage)
	}
	return res.ExitCode()
}

func (t runbookTarget) logDriverCheck() diag.Check {
	return diag.NewCheck(diag.CheckInfo{ID: "runbook.log_driver", Title: "Logs kept somewhere", Subject: diag.SubjectContainer},
		func(context.Context) ([]diag.Finding, error) {
			d := t.set.LogDriver
			ev := "log driver: " + cmp.Or(d, "(engine default)")
			switch {
			case d == "none":
				return []diag.Finding{t.finding("container.log_driver_none", diag.Critical, "The container discards its logs (log driver none)",
					"Nothing the application writes to stdout or stderr is kept or shipped.",
					"Recreate the container with a log driver (--log-driver json-file --log-opt max-size=10m, or the driver of your log service).", refLogs, ev)}, nil
			case slices.Contains(readableLogDrivers, d):
				return []diag.Finding{t.finding("container.log_driver", diag.OK, "Logs kept by the "+d+" driver: docker logs reads them", "", "", refLogs, ev)}, nil
			}
			return []diag.Finding{t.finding("container.log_driver", diag.Info, "Logs shipped by the "+d+" driver",
				"docker logs can read them back only when the engine's dual logging is on; look for them at the driver's destination.", "", refLogs, ev)}, nil
		})
}

// logEndpoint returns the TCP address the container's log driver ships
// to, and the option that names it; "" when there is none (or not TCP).
func (t runbookTarget) logEndpoint() (addr, option string) {
	for _, k := range logAddressOptions {
		v := t.set.LogOptions[k]
		if v == "" {
			continue
		}
		scheme, rest, ok := strings.Cut(v, "://")
		if !ok {
			rest, scheme = v, "tcp" // fluentd-address host:port
		}
		switch scheme {
		case "tcp", "tcp+tls", "http", "https":
		default:
			continue // udp, unix: no connection to test
		}
		rest, _, _ = strings.Cut(rest, "/")
		if _, _, err := net.SplitHostPort(rest); err != nil {
			port := map[string]string{"http": "80", "https": "443"}[scheme]
			if port == "" {
				continue
			}
			rest = net.JoinHostPort(strings.Trim(rest, "[]"), port)
		}
		if h, p, err := net.SplitHostPort(rest); err != nil || h == "" || p == "" {
			continue
		}
		return rest, k
	}
	return "", ""
}

func (t runbookTarget) logEndpointCheck(addr, option string, timeout time.Duration) diag.Check {
	return diag.NewCheck(diag.CheckInfo{ID: "runbook.log_endpoint", Title: "Log endpoint reachable", Subject: diag.SubjectContainer},
		func(ctx context.Context) ([]diag.Finding, error) {
			d := net.Dialer{Timeout: timeout}
			conn, err := d.DialContext(ctx, "tcp", addr)
			ev := option + ": " + addr
			if err != nil {
				return []diag.Finding{t.finding("container.log_endpoint_unreachable", diag.Critical, "The log destination "+addr+" does not accept connections",
					"The engine ships this container's logs over the network and cannot connect: the logs are lost or buffered.",
					"Restore the network path to "+addr+" (firewall, route, the collector running), checking from the engine's host: nc -vz "+strings.Replace(addr, ":", " ", 1)+".",
					refLogs+" step 3 (no network connection to the log endpoint)", ev, oneLine(err.Error()))}, nil
			}
			conn.Close()
			return []diag.Finding{t.finding("container.log_endpoint", diag.OK, "The log destination accepts connections", "", "", refLogs, ev)}, nil
		})
}

func (t runbookTarget) logContentCheck(c *container.Client) diag.Check {
	return diag.NewCheck(diag.CheckInfo{ID: "runbook.log_content", Title: "The application writes logs", Subject: diag.SubjectContainer, Reference: "D27"},
		func(ctx context.Context) ([]diag.Finding, error) {
			ref := "Container Service FAQ D27 (§2.15 step 6)"
			if t.set.LogDriver != "" && !slices.Contains(readableLogDrivers, t.set.LogDriver) {
				return []diag.Finding{t.finding("container.logs_unreadable", diag.Info, "docker logs cannot read the "+t.set.LogDriver+" driver's logs here",
					"", "Look at the driver's destination for the container's lines.", ref)}, nil
			}
			var w countWriter
			err := c.Logs(ctx, t.ins.ID, container.LogsOptions{Stdout: &w, Stderr: &w, Tail: "20", Tty: t.isTTY()})
			if err != nil {
				return nil, err
			}
			if w.n == 0 {
				return []diag.Finding{t.finding(codeNoLogs, diag.Warning, "The container has written nothing to its log",
					"The application writes nothing on standard output or standard error: its logs go to files inside the container, or nowhere.",
					"Confirm inside the container that the application really writes logs (docker exec "+t.ins.Name+" ls -l <log dir>); make it log to stdout/stderr, or collect its log files.", ref)}, nil
			}
			return []diag.Finding{t.finding("container.logs", diag.OK, "The container has written to its log", "", "", ref, fmt.Sprintf("%d bytes in its last 20 lines", w.n))}, nil
		})
}

// countNoun says "1 container", "3 containers".
func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// isTTY reports whether the container was created with a terminal.
func (t runbookTarget) isTTY() bool {
	var doc struct{ Config struct{ Tty bool } }
	_ = json.Unmarshal(t.ins.Raw, &doc)
	return doc.Config.Tty
}

// countWriter counts bytes written.
type countWriter struct{ n int }

func (w *countWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// truncate cuts s to n bytes at a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	b := []byte(s[:n])
	for len(b) > 0 && !isRuneStart(s, len(b)) {
		b = b[:len(b)-1]
	}
	return string(bytes.TrimRight(b, " ")) + " …"
}

func isRuneStart(s string, i int) bool { return i >= len(s) || s[i]&0xC0 != 0x80 }
