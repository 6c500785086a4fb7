// Command minato is the reference command-line tool of the minato toolkit.
// It is wiring and printing only: every capability it shows is importable
// from a library package.
//
//   - minato agent: the long-running mode: monitor checks on a schedule,
//     notifications of status changes, /metrics, the job scheduler and its
//     HTTP API.
//   - minato job start|stop|restart|rm|exec|download: the container jobs of
//     the Hinemos Docker job scripts, with their options, per-container
//     lines and exit codes (0, 9, 1).
//   - minato jobnet validate|run|submit|status|history|hold|release|skip|
//     stop|cancel|rerun|queue|list: job networks, in the foreground or on a
//     running agent.
//   - minato monitor host-status|cpu|memory|disk|network|process|
//     container-status|events: the Hinemos Docker monitoring scripts'
//     monitors, printing Hinemos custom monitor lines, or Nagios, JSON and
//     Prometheus output.
//   - minato ha status|move|suspend|resume|iam-policy|check: a failover
//     cluster's state and controls, and on AWS its IAM policy and a check
//     of the account.
//   - minato inventory: the estate of many engines as data, and the
//     Hinemos repository sync.
//   - minato diag check|explain|bundle|runbook: what is wrong, why and
//     what to do; a support bundle.
//   - minato ps: a container listing; minato version.
//
// Run "minato help" for the commands. docs/cli.md, docs/agent.md and
// docs/compatibility.md describe them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/minato-ops/minato/cmd/minato/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
