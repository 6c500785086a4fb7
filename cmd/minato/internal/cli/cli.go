package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
)

// Version is the minato version the binary reports.
var Version = "0.1.0-dev"

// Env is the process environment the CLI runs in, injected for tests.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads environment variables (os.Getenv).
	Getenv func(string) string
}

// usageError is a mistake in the command line: exit code 1 with the usage
// hint, as the Hinemos scripts do (they use 1 for every error).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

const topUsage = `minato: agentless operation of Docker containers

Usage:
  minato agent [--config FILE]       long-running checks, notifications, /metrics, job scheduler
  minato job start|stop|restart|rm   (-c ID[*] | -n NAME[*]) [options]
  minato job exec     (-c ID[*] | -n NAME[*]) [options] "COMMAND"
  minato job download (-c ID[*] | -n NAME[*]) [options] SOURCE DESTINATION
  minato jobnet validate|run FILE [--json]
  minato jobnet submit|status|history|rerun|list ...   job networks on a running agent
  minato jobnet hold|release|skip|stop RUNID UNIT
  minato jobnet queue list|stop NAME|start NAME
  minato monitor host-status|cpu|memory|disk|network|process|container-status|events [options]
  minato inventory add|delete|update -f HOST_FACILITY_ID [-i ADDRESS [-p PORT]]   the Hinemos repository scripts
  minato inventory sync|show|diff|export|scope ...   many engines as data, the repository, scopes
  minato ha status|move GROUP NODE|suspend GROUP|resume GROUP   a running agent's failover cluster
  minato ha iam-policy|check --config FILE   the IAM policy for, and a read-only check of, the ha: section's AWS parts
  minato diag check|explain|bundle|runbook ...   what is wrong, why and what to do; a support bundle
  minato image pull|build|tag|push|ls|rm|prune|df   images, with the docker CLI's registry credentials
  minato image check|update [--dry-run]   is the tag's current image running? health-gated update with rollback
  minato app apply|plan|status|scale|delete|ls -f FILE   applications kept as declared (deploy, update, delete)
  minato ps [-c ID[*] | -n NAME[*]] [--state STATE]
  minato healthcheck [--url URL]     exit 0 when the agent's /healthz answers 200 (the image's HEALTHCHECK)
  minato version

Run "minato job -h" or "minato job start -h" for the options of a command.
The engine is DOCKER_HOST (default unix:///var/run/docker.sock), or
tcp://ADDRESS:PORT with -i ADDRESS [-p PORT].
`

// Main runs the command line args (without the program name) and returns
// the process exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, topUsage)
		return 1
	}
	var err error
	switch args[0] {
	case "job":
		return runJob(ctx, args[1:], env)
	case "monitor":
		return runMonitor(ctx, args[1:], env)
	case "jobnet":
		return runJobnet(ctx, args[1:], env)
	case "agent":
		return runAgent(ctx, args[1:], env)
	case "inventory":
		return runInventory(ctx, args[1:], env)
	case "ha":
		return runHA(ctx, args[1:], env)
	case "diag":
		return runDiag(ctx, args[1:], env)
	case "image":
		return runImage(ctx, args[1:], env)
	case "app":
		return runApp(ctx, args[1:], env)
	case "ps":
		err = runPS(ctx, args[1:], env)
	case "healthcheck":
		return runHealthcheck(ctx, args[1:], env)
	case "version", "--version":
		fmt.Fprintln(env.Stdout, "minato", Version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, topUsage)
		return 0
	default:
		err = usagef("unknown command %q: want agent, app, diag, ha, healthcheck, image, inventory, job, jobnet, monitor, ps or version", args[0])
	}
	return report(env, err)
}

// report prints err (if any) and maps it to an exit code: nil → 0,
// help → 0, anything else → 1.
func report(env Env, err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	}
	fmt.Fprintln(env.Stderr, "minato: "+explain(err))
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(env.Stderr, `Run "minato help" for usage.`)
	}
	return 1
}

// explain turns library errors into operator text: what was wrong and what
// to do.
func explain(err error) string {
	switch {
	case errors.Is(err, container.ErrUnreachable):
		return err.Error() + "\n  check that the daemon is running and that -i/-p or DOCKER_HOST point at it"
	case errors.Is(err, inventory.ErrIDAndName):
		return "-c and -n cannot be used together: select containers by ID (-c) or by name (-n)"
	case errors.Is(err, inventory.ErrBadPattern):
		return strings.ReplaceAll(err.Error(), "inventory: ", "")
	}
	return err.Error()
}

// groupHelp answers a command group (job, jobnet, monitor) called without
// a command (its usage on stderr, exit 1) or with -h (on stdout, exit 0);
// done is false otherwise.
func groupHelp(args []string, env Env, usage string) (code int, done bool) {
	switch {
	case len(args) == 0:
		fmt.Fprint(env.Stderr, usage)
		return 1, true
	case args[0] == "-h" || args[0] == "--help" || args[0] == "help":
		fmt.Fprint(env.Stdout, usage)
		return 0, true
	}
	return 0, false
}
