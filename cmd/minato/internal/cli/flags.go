package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
)

var errHelp = errors.New("help shown")

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// engineFlags are the Hinemos scripts' -i/-p plus the selection -c/-n shared by every
// container command.
type engineFlags struct {
	address string
	port    int
	ids     listFlag
	names   listFlag
	timeout time.Duration
}

func (e *engineFlags) register(fs *flag.FlagSet) {
	e.registerEngine(fs)
	fs.Var(&e.ids, "c", "select containers by `ID`: full or 12-character ID, or a prefix ending in * (repeatable; not with -n)")
	fs.Var(&e.names, "n", "select containers by `NAME`: exact, or a prefix ending in * (repeatable; not with -c)")
}

// registerEngine registers only the engine's flags (-i, -p,
// --api-timeout), for commands that select no containers.
func (e *engineFlags) registerEngine(fs *flag.FlagSet) {
	fs.StringVar(&e.address, "i", "", "Docker Engine `ADDRESS`: the engine is then tcp://ADDRESS:PORT (default: DOCKER_HOST, or the local socket)")
	fs.IntVar(&e.port, "p", container.DefaultPort, "Docker Engine API `PORT`, used with -i")
	durationVar(fs, &e.timeout, "api-timeout", container.DefaultTimeout, true, "bound on each engine call that should return promptly")
}

// config builds the engine Config; fs tells which flags were given.
func (e *engineFlags) config(fs *flag.FlagSet, getenv func(string) string) (container.Config, error) {
	cfg := container.ConfigFromEnv(getenv)
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if given["p"] && e.address == "" {
		return cfg, usagef("-p %d given without -i ADDRESS: -p sets the port of the engine at -i", e.port)
	}
	if e.port < 1 || e.port > 65535 {
		return cfg, usagef("-p %d: want a TCP port from 1 to 65535", e.port)
	}
	if e.timeout <= 0 {
		return cfg, usagef("--api-timeout %s: want a positive duration such as 30s", e.timeout)
	}
	cfg.Timeout = e.timeout
	if e.address != "" {
		if strings.Contains(e.address, "://") || strings.ContainsAny(e.address, "/ ") {
			return cfg, usagef("-i %q: want a host name or IP address (use -p for the port, DOCKER_HOST for other endpoints)", e.address)
		}
		cfg.Host = container.TCPHost(e.address, e.port)
		if cfg.TLS != nil && !strings.HasPrefix(getenv("DOCKER_HOST"), "tcp://") && getenv("DOCKER_TLS_VERIFY") == "" {
			cfg.TLS = nil
		}
	}
	return cfg, nil
}

func (e *engineFlags) selector() inventory.Selector {
	return inventory.Selector{Kind: inventory.KindContainer, IDs: e.ids, Names: e.names}
}

// parse parses args with flags allowed before and after positional
// arguments ("--" ends flag parsing). -h prints usage and returns errHelp.
func parse(fs *flag.FlagSet, args []string, out io.Writer) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(out)
			fs.Usage()
			return nil, errHelp
		}
		if err != nil {
			return nil, usagef("%s", strings.TrimSpace(err.Error()))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// fs.Parse stops at "--" (consumed) or at the first positional.
		if consumedDashDash(args, rest) {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func consumedDashDash(args, rest []string) bool {
	i := len(args) - len(rest) - 1
	return i >= 0 && args[i] == "--"
}

// graceFlag is the Hinemos scripts' -t WAIT: whole seconds.
type graceFlag struct {
	set bool
	d   time.Duration
}

func (g *graceFlag) String() string {
	if !g.set {
		return ""
	}
	return strconv.Itoa(int(g.d / time.Second))
}

func (g *graceFlag) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return fmt.Errorf("want whole seconds ≥ 0, such as -t 10")
	}
	g.set, g.d = true, time.Duration(n)*time.Second
	return nil
}

func (g *graceFlag) ptr() *time.Duration {
	if !g.set {
		return nil
	}
	return &g.d
}

// durationFlag is a duration option that refuses negative values and
// says which forms are allowed.
type durationFlag struct {
	d        *time.Duration
	positive bool // 0 refused too
}

// durationVar registers a duration option with its default.
func durationVar(fs *flag.FlagSet, d *time.Duration, name string, def time.Duration, positive bool, usage string) {
	*d = def
	fs.Var(durationFlag{d: d, positive: positive}, name, usage)
}

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(v string) error {
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		return fmt.Errorf("want a duration such as 30s, 1m30s or 2h (units ns, us, ms, s, m, h)")
	case d < 0:
		return fmt.Errorf("want a duration of 0 or more, such as 30s")
	case d == 0 && f.positive:
		return fmt.Errorf("want a duration greater than 0, such as 30s")
	}
	*f.d = d
	return nil
}
