package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	dockerinv "github.com/minato-ops/minato/inventory/docker"
	"github.com/minato-ops/minato/inventory/hinemos"
	"github.com/minato-ops/minato/job"
	jobdocker "github.com/minato-ops/minato/job/docker"
	"github.com/minato-ops/minato/job/jobfile"
)

const jobUsage = `Usage: minato job COMMAND (-c ID[*] | -n NAME[*] | --scope SCOPE) [options] [ARGS]

The Hinemos Docker job scripts' container jobs. Each prints one line per selected container,
"<id12> <name> Success", "<id12> <name> Skipped (<state>)" or
"<id12> <name> Failed: <reason>", and exits 0 when every container succeeded
or had nothing to do, 9 when at least one failed, 1 on a usage error, an
unreachable engine, or when nothing matched.

Commands:
  start     start exited or created containers
  stop      stop running containers (-t WAIT seconds before SIGKILL)
  restart   restart running containers (-t WAIT)
  rm        remove stopped containers; -f also running ones, -v volumes, -l links
  exec      run "COMMAND" in running containers; exits with the command's code
  download  copy SOURCE out of the container as a tar into DESTINATION

Run "minato job COMMAND -h" for the options of a command.
`

func runJob(ctx context.Context, args []string, env Env) int {
	if code, done := groupHelp(args, env, jobUsage); done {
		return code
	}
	switch args[0] {
	case "start", "stop", "restart", "rm":
		return runLifecycle(ctx, args[0], args[1:], env)
	case "exec":
		return runExec(ctx, args[1:], env)
	case "download":
		return runDownload(ctx, args[1:], env)
	}
	return report(env, usagef("unknown job %q: want start, stop, restart, rm, exec or download", args[0]))
}

func newFlagSet(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: %s\n\n%s\n\nOptions:\n", synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// scopeFlags select containers by repository scope, on every engine.
type scopeFlags struct {
	scopes   listFlag
	repo     string
	config   string
	facility string
}

func (sf *scopeFlags) register(fs *flag.FlagSet) {
	fs.Var(&sf.scopes, "scope", "select the containers whose nodes are in repository `SCOPE` (or a scope below it), on the engines of --config (or --engine); -c/-n then narrow (repeatable)")
	fs.StringVar(&sf.repo, "repo", "", "the repository `FILE` for --scope (default: the configuration's, else $XDG_STATE_HOME/minato/inventory.db)")
	fs.StringVar(&sf.config, "config", "", "the agent configuration `FILE` whose engines --scope may reach")
	fs.StringVar(&sf.facility, "engine", "", "with --scope: the `NAME` (host facility ID) of the engine at -i/DOCKER_HOST, or of one engine of --config")
}

// jobConn is the engines a container job acts on.
type jobConn struct {
	// c is the engine of -i/-p or DOCKER_HOST, or the first configured.
	c     *container.Client
	fleet *dockerinv.Fleet // with --scope
	// partial is why some of the scope's containers could not be
	// selected (an engine down): the job then exits 9 at best.
	partial error
}

// exitCode is code, or 9 when code is 0 and part of the selection was
// missed.
func (j *jobConn) exitCode(code int) int {
	if code == 0 && j.partial != nil {
		return job.ExitFailed
	}
	return code
}

// action returns the Action mk makes, on the engine of each Target.
func (j *jobConn) action(mk func(*container.Client) job.Action) job.Action {
	if j.fleet == nil {
		return mk(j.c)
	}
	return jobfile.Route(j.c, func(ep string) (*container.Client, bool) {
		for _, e := range j.fleet.Engines() {
			if e.Endpoint() == ep {
				return e.Client(), true
			}
		}
		return nil, false
	}, mk)
}

func (j *jobConn) Close() {
	if j.fleet != nil {
		_ = j.fleet.Close()
		return
	}
	_ = j.c.Close()
}

// connect validates the selection, builds the client(s) and resolves the
// containers: on the one engine, or with --scope through the repository on
// every engine. Every error here is exit code 1.
func connect(ctx context.Context, fs *flag.FlagSet, ef *engineFlags, sf *scopeFlags, env Env, required bool) (*jobConn, []inventory.Target, error) {
	sel := ef.selector()
	if sf != nil {
		sel.Scopes = sf.scopes
	}
	if required && len(sel.IDs) == 0 && len(sel.Names) == 0 && len(sel.Scopes) == 0 {
		return nil, nil, usagef("select the containers with -c ID or -n NAME (a trailing * selects by prefix), or --scope SCOPE")
	}
	if err := sel.Validate(); err != nil {
		return nil, nil, err
	}
	if len(sel.Scopes) > 0 {
		return connectScopes(ctx, fs, ef, sf, env, sel)
	}
	cfg, err := ef.config(fs, env.Getenv)
	if err != nil {
		return nil, nil, err
	}
	c, err := container.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	ts, err := c.Resolve(ctx, sel)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	if required && len(ts) == 0 {
		c.Close()
		return nil, nil, fmt.Errorf("no container matches %s on %s", sel, c.Host())
	}
	return &jobConn{c: c}, ts, nil
}

// connectScopes resolves a selection by scope on the configured engines.
func connectScopes(ctx context.Context, fs *flag.FlagSet, ef *engineFlags, sf *scopeFlags, env Env, sel inventory.Selector) (*jobConn, []inventory.Target, error) {
	if sf.config == "" && sf.facility == "" {
		return nil, nil, usagef("--scope needs the engines the repository's nodes are on: give --config FILE (its engines:), or --engine HOST_FACILITY_ID naming the engine at -i/DOCKER_HOST")
	}
	ff := fleetFlags{engine: *ef, facility: sf.facility, config: sf.config}
	spec, err := ff.resolve(fs, env, true)
	if err != nil {
		return nil, nil, err
	}
	rf := repoFlags{path: sf.repo}
	repo, done, err := rf.open(ctx, spec.agent)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	fleet, err := dockerinv.New(spec.cfg)
	if err != nil {
		return nil, nil, err
	}
	res, err := hinemos.NewResolver(repo, func(host string) (inventory.Resolver, bool) {
		e, ok := fleet.Engine(host)
		if !ok {
			return nil, false
		}
		return e, true
	})
	if err != nil {
		fleet.Close()
		return nil, nil, err
	}
	ts, err := res.Resolve(ctx, sel)
	if err != nil && len(ts) == 0 {
		fleet.Close()
		return nil, nil, err
	}
	if err != nil {
		// Some engines answered: act on their containers, say what was
		// missed, and exit 9 at best.
		fmt.Fprintf(env.Stderr, "minato: some containers of %s could not be selected: %s\n", sel, explain(err))
	}
	if len(ts) == 0 {
		fleet.Close()
		return nil, nil, fmt.Errorf("no container matches %s", sel)
	}
	return &jobConn{c: fleet.Engines()[0].Client(), fleet: fleet, partial: err}, ts, nil
}

func runLifecycle(ctx context.Context, op string, args []string, env Env) int {
	about := map[string]string{
		"start":   "Start the selected containers that are exited or created; others are skipped.",
		"stop":    "Stop the selected containers that are running; others are skipped.",
		"restart": "Restart the selected containers that are running; others are skipped.",
		"rm":      "Remove the selected containers that are stopped (exited, created, dead).\nWithout -f a running container is not touched and counts as failed.",
	}[op]
	fs := newFlagSet("minato job "+op, "minato job "+op+" (-c ID[*] | -n NAME[*] | --scope SCOPE) [options]", about)
	var ef engineFlags
	ef.register(fs)
	var sf scopeFlags
	sf.register(fs)
	var grace graceFlag
	var force, volumes, links bool
	parallel := 4
	if op == "stop" || op == "restart" {
		fs.Var(&grace, "t", "`WAIT` seconds between the stop signal and the kill (default: the container's own, or 10)")
	}
	if op == "rm" {
		fs.BoolVar(&force, "f", false, "force: also remove running containers (killing them)")
		fs.BoolVar(&force, "force", false, "same as -f")
		fs.BoolVar(&volumes, "v", false, "also remove the containers' anonymous volumes")
		fs.BoolVar(&volumes, "volumes", false, "same as -v")
		fs.BoolVar(&links, "l", false, "remove the legacy link named by -n (\"/web/db\") instead of a container")
		fs.BoolVar(&links, "link", false, "same as -l")
	}
	fs.IntVar(&parallel, "parallel", parallel, "how many containers to work on at once (1 = one after another)")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return report(env, err)
	}
	if len(pos) > 0 {
		return report(env, usagef("minato job %s takes no arguments, got %q", op, strings.Join(pos, " ")))
	}
	if parallel < 1 {
		return report(env, usagef("--parallel %d: want 1 or more", parallel))
	}
	jc, ts, err := connect(ctx, fs, &ef, &sf, env, true)
	if err != nil {
		return report(env, err)
	}
	defer jc.Close()
	var mk func(c *container.Client) job.Action
	switch op {
	case "start":
		mk = jobdocker.Start
	case "stop":
		mk = func(c *container.Client) job.Action {
			return jobdocker.Stop(c, jobdocker.StopOptions{Grace: grace.ptr()})
		}
	case "restart":
		mk = func(c *container.Client) job.Action {
			return jobdocker.Restart(c, jobdocker.StopOptions{Grace: grace.ptr()})
		}
	case "rm":
		mk = func(c *container.Client) job.Action {
			return jobdocker.Remove(c, container.RemoveOptions{Force: force, Volumes: volumes, Links: links})
		}
	}
	a := jc.action(mk)
	rep := job.Run(ctx, a, ts, job.RunOptions{Concurrency: parallel})
	printResults(env, rep)
	return jc.exitCode(rep.ExitCode())
}

func printResults(env Env, rep job.Report) {
	for _, r := range rep.Results {
		fmt.Fprintf(env.Stdout, "%s %s %s\n", r.Target.ShortID(), r.Target.Name, oneLine(r.Verdict()))
	}
}

// oneLine keeps a result on its line: engine messages can hold newlines.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func runExec(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato job exec", `minato job exec (-c ID[*] | -n NAME[*] | --scope SCOPE) [options] "COMMAND"`,
		"Run COMMAND in each selected running container, one after another, relaying its\n"+
			"stdout and stderr. COMMAND is split into words like a shell does (quotes and\n"+
			"backslashes) and run directly, without a shell; --shell runs it with sh -c.\n"+
			"The exit code is the command's (with several containers, the first one's);\n"+
			"9 when no command could be run in a selected container; 1 on other errors.")
	var ef engineFlags
	ef.register(fs)
	var sf scopeFlags
	sf.register(fs)
	var shell, tty bool
	var user, workdir string
	var envs listFlag
	var timeout, grace time.Duration
	fs.BoolVar(&shell, "shell", false, "run COMMAND through /bin/sh -c (the image must have a shell)")
	fs.StringVar(&user, "user", "", "run as `USER` (name or uid[:gid]); default: the container's user")
	fs.StringVar(&workdir, "workdir", "", "run in `DIR`; default: the container's working directory")
	fs.Var(&envs, "env", "set `KEY=VALUE` for the command (repeatable)")
	fs.BoolVar(&tty, "tty", false, "allocate a terminal (stdout and stderr merge)")
	durationVar(fs, &timeout, "timeout", 0, false, "end the command (its whole process tree) after `DURATION`, e.g. 30s; 0 = no limit")
	durationVar(fs, &grace, "kill-grace", container.DefaultKillGrace, false, "`DURATION` between SIGTERM and SIGKILL when --timeout ends the command")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return report(env, err)
	}
	if len(pos) != 1 {
		return report(env, usagef(`minato job exec takes exactly one COMMAND argument (quote it: "ls -l /tmp"), got %d`, len(pos)))
	}
	for _, e := range envs {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return report(env, usagef("--env %q: want KEY=VALUE", e))
		}
	}
	var argv []string
	if shell {
		argv = []string{"/bin/sh", "-c", pos[0]}
	} else if argv, err = SplitCommand(pos[0]); err != nil {
		return report(env, usagef("COMMAND %q: %v", pos[0], err))
	}
	if len(argv) == 0 {
		return report(env, usagef("COMMAND is empty"))
	}
	jc, ts, err := connect(ctx, fs, &ef, &sf, env, true)
	if err != nil {
		return report(env, err)
	}
	defer jc.Close()
	a := jc.action(func(c *container.Client) job.Action {
		return jobdocker.Exec(c, jobdocker.ExecOptions{
			Cmd: argv, Env: envs, User: user, WorkingDir: workdir, Tty: tty,
			Stdout: env.Stdout, Stderr: env.Stderr, Timeout: timeout, KillGrace: grace,
		})
	})
	rep := job.Run(ctx, a, ts, job.RunOptions{Concurrency: 1})
	code, ran := 0, false
	for _, r := range rep.Results {
		if r.Err != nil {
			fmt.Fprintf(env.Stderr, "%s %s Failed: %s\n", r.Target.ShortID(), r.Target.Name, oneLine(r.Err.Error()))
			continue
		}
		if r.Outcome.Message != "" {
			fmt.Fprintf(env.Stderr, "%s %s %s\n", r.Target.ShortID(), r.Target.Name, r.Outcome.Message)
		}
		if !ran {
			code, ran = r.Outcome.ExitCode, true
		}
	}
	if !ran {
		return job.ExitFailed
	}
	return jc.exitCode(code)
}

func runDownload(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato job download", "minato job download (-c ID[*] | -n NAME[*] | --scope SCOPE) [options] SOURCE DESTINATION",
		"Copy the file or directory SOURCE out of each selected container (running or\n"+
			"not) into the existing directory DESTINATION as a tar archive, owners, modes\n"+
			"and times kept. The archive is named <container>_<source>.tar (\"/\" in the\n"+
			"source becomes \"_\"; -1, -2, ... is added when the name is taken, so nothing\n"+
			"is overwritten). Prints the archive path, then a tar -tv style listing.")
	var ef engineFlags
	ef.register(fs)
	var sf scopeFlags
	sf.register(fs)
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return report(env, err)
	}
	if len(pos) != 2 {
		return report(env, usagef("minato job download takes SOURCE and DESTINATION, got %d argument(s)", len(pos)))
	}
	jc, ts, err := connect(ctx, fs, &ef, &sf, env, true)
	if err != nil {
		return report(env, err)
	}
	defer jc.Close()
	a := jc.action(func(c *container.Client) job.Action {
		return jobdocker.Download(c, pos[0], pos[1], jobdocker.DownloadOptions{Out: env.Stdout})
	})
	rep := job.Run(ctx, a, ts, job.RunOptions{Concurrency: 1})
	for _, r := range rep.Results {
		if r.Err != nil {
			fmt.Fprintf(env.Stderr, "%s %s Failed: %s\n", r.Target.ShortID(), r.Target.Name, oneLine(r.Err.Error()))
		}
	}
	return jc.exitCode(rep.ExitCode())
}
