package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/jobfile"
)

const jobnetUsage = `Usage: minato jobnet COMMAND [ARGS] [options]

Job networks: units that run in containers, joined by needs and conditions.
FILE is YAML or JSON (see docs/jobs.md, or "go doc ./job/jobfile").

In the foreground, on the engine:
  validate FILE        check the definition; list every problem (exit 0 or 1)
  run FILE [--json]    run the network once in the foreground; one line per unit
                       "<unit> <state> exit=<code> attempts=<n> <duration>";
                       exit 0 when every unit that ran succeeded, 9 when a unit
                       failed or timed out (or Ctrl-C cancelled the run), 1 for a
                       bad definition or an unreachable engine

On a running "minato agent" (--agent URL, default $MINATO_AGENT or
http://127.0.0.1:9464; token from $MINATO_AGENT_TOKEN or --token-file FILE):
  submit FILE|NAME     run a job file, or a configured network, now; prints the
                       run ID [--hold UNIT]... [--id ID] [--wait] [--json]
  status RUNID         the run's state and one line per unit [--json]
  history [NAME]       the runs, newest first [--limit N] [--json]
  hold RUNID UNIT      keep a pending unit from starting
  release RUNID UNIT   let a held unit start
  skip RUNID UNIT      end a pending or held unit as if it succeeded
  stop RUNID UNIT      force-stop a running unit (it fails)
  cancel RUNID         end a run: running units are stopped, the others cancelled
  rerun RUNID          run the units of a finished run that did not succeed
  queue list|stop NAME|start NAME
                       the queues; a stopped queue starts no unit
  list                 the networks the agent runs: schedule, next due, queue

Run "minato jobnet COMMAND -h" for the options of a command.
`

func runJobnet(ctx context.Context, args []string, env Env) int {
	if code, done := groupHelp(args, env, jobnetUsage); done {
		return code
	}
	switch args[0] {
	case "validate":
		return jobnetValidate(args[1:], env)
	case "run":
		return jobnetRun(ctx, args[1:], env)
	case "submit":
		return jobnetSubmit(ctx, args[1:], env)
	case "status":
		return jobnetStatus(ctx, args[1:], env)
	case "history":
		return jobnetHistory(ctx, args[1:], env)
	case "hold", "release", "skip", "stop":
		return jobnetControl(ctx, args[0], args[1:], env)
	case "rerun":
		return jobnetRerun(ctx, args[1:], env)
	case "cancel":
		return jobnetCancel(ctx, args[1:], env)
	case "queue":
		return jobnetQueue(ctx, args[1:], env)
	case "list":
		return jobnetList(ctx, args[1:], env)
	}
	return report(env, usagef("unknown jobnet command %q: want validate, run, submit, status, history, hold, release, skip, stop, cancel, rerun, queue or list", args[0]))
}

func jobnetValidate(args []string, env Env) int {
	fs := newFlagSet("minato jobnet validate", "minato jobnet validate FILE", "Check a job network definition and list every problem.")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return report(env, err)
	}
	if len(pos) != 1 {
		return report(env, usagef("minato jobnet validate takes one FILE, got %d arguments", len(pos)))
	}
	def, err := jobfile.ParseFile(pos[0])
	if err != nil {
		printDefErrors(env, pos[0], err)
		return 1
	}
	fmt.Fprintf(env.Stdout, "%s: valid: network %s, %d units\n", pos[0], def.Name, len(def.Units))
	return 0
}

// printDefErrors prints one line per problem: "FILE: path: what".
func printDefErrors(env Env, file string, err error) {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			fmt.Fprintf(env.Stderr, "%s: %s\n", file, e)
		}
		return
	}
	fmt.Fprintf(env.Stderr, "%s: %s\n", file, err)
}

func jobnetRun(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato jobnet run", "minato jobnet run FILE [options]",
		"Run a job network once in the foreground. Ctrl-C cancels it cleanly: running\n"+
			"containers are stopped and removed, exec processes ended, and the report printed.")
	var ef engineFlags
	ef.register(fs)
	var asJSON bool
	var spill string
	fs.BoolVar(&asJSON, "json", false, "print the whole report as one JSON object instead of one line per unit")
	fs.StringVar(&spill, "spill-dir", "", "`DIR` for unit output beyond the in-memory limit (default: the system's temporary directory)")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return report(env, err)
	}
	if len(pos) != 1 {
		return report(env, usagef("minato jobnet run takes one FILE, got %d arguments", len(pos)))
	}
	def, err := jobfile.ParseFile(pos[0])
	if err != nil {
		printDefErrors(env, pos[0], err)
		return 1
	}
	cfg, err := ef.config(fs, env.Getenv)
	if err != nil {
		return report(env, err)
	}
	c, err := container.New(cfg)
	if err != nil {
		return report(env, err)
	}
	defer c.Close()
	if _, err := c.Ping(ctx); err != nil {
		return report(env, err)
	}
	net, err := jobfile.Build(def, c, jobfile.BuildOptions{RunID: runID(def.Name), SpillDir: spill})
	if err != nil {
		printDefErrors(env, pos[0], err)
		return 1
	}
	var (
		mu      sync.Mutex
		printed = map[string]bool{}
	)
	line := func(u job.UnitReport) {
		mu.Lock()
		defer mu.Unlock()
		if printed[u.Name] {
			return
		}
		printed[u.Name] = true
		fmt.Fprintln(env.Stdout, unitText(u))
	}
	obs := func(u job.UnitReport) {
		if asJSON || u.State == job.Pending || u.State == job.Running {
			return
		}
		line(u)
	}
	exec, err := net.Start(ctx, job.StartOptions{Observer: obs})
	if err != nil {
		return report(env, err)
	}
	rep := exec.Wait()
	if asJSON {
		return printJSON(env, rep, rep.ExitCode())
	}
	for _, u := range rep.Units {
		line(u) // anything the observer did not see finish
	}
	printFailures(env, rep)
	return rep.ExitCode()
}

// unitText is a unit's line: "<unit> <state> exit=<code> attempts=<n>
// <duration>"; a running unit's duration is how long it has run so far.
func unitText(u job.UnitReport) string {
	d := u.Duration()
	if u.State == job.Running && !u.Started.IsZero() {
		d = time.Since(u.Started)
	}
	return fmt.Sprintf("%s %s exit=%d attempts=%d %s", u.Name, u.State, u.ExitCode, u.Attempts, d.Round(time.Millisecond))
}

// printFailures prints the message of each failed or timed-out unit on
// stderr.
func printFailures(env Env, rep job.NetworkReport) {
	for _, u := range rep.Units {
		if u.Message != "" && (u.State == job.StateFailed || u.State == job.TimedOut) {
			fmt.Fprintf(env.Stderr, "minato: %s: %s\n", u.Name, oneLine(u.Message))
		}
	}
}

// runID names one run: the network's name, the start time and a random
// suffix, as it appears in the minato.run label of its containers.
func runID(name string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return strings.ReplaceAll(name, " ", "-") + "-" + time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}
