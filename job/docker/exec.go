package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
)

// ExecOptions describes the command [Exec] runs.
type ExecOptions struct {
	// Cmd is the argv to run (not a shell line). Required.
	Cmd []string
	// Env, User, WorkingDir and Tty are as in [container.ExecOptions].
	Env        []string
	User       string
	WorkingDir string
	Tty        bool
	// Stdout and Stderr receive the command's output as it arrives, in
	// addition to job.Output(ctx); nil adds nothing. They are shared by
	// every Target: run several Targets with Concurrency 1 so that outputs
	// do not interleave.
	Stdout, Stderr io.Writer
	// Timeout, when positive, ends the command's process tree after this
	// long (see [container.Client.Exec]); KillGrace is the time between
	// SIGTERM and SIGKILL.
	Timeout   time.Duration
	KillGrace time.Duration
}

// Exec returns an Action that runs a command in the container and reports
// its exit code in the Outcome. A container that is not running is an
// error for that Target ("container is exited: exec needs a running
// container"). A command ended by the deadline has a Message saying so
// and the exit code the engine reports for it (137 after SIGKILL).
//
// The output goes to job.Output(ctx) as well as to o.Stdout and o.Stderr.
// When ctx ends (a job Timeout's deadline) the command's process tree is
// ended the same way, and the error returned wraps ctx.Err(), so that
// errors.Is(err, context.DeadlineExceeded) holds.
func Exec(c *container.Client, o ExecOptions) job.Action {
	return job.ActionFunc(func(ctx context.Context, t inventory.Target) (job.Outcome, error) {
		out := job.Outcome{Started: time.Now()}
		if len(o.Cmd) == 0 {
			return out, fmt.Errorf("exec: empty command")
		}
		ins, err := c.Inspect(ctx, t.ID, container.InspectOptions{})
		if err != nil {
			return out, err
		}
		if ins.State != container.Running {
			return out, fmt.Errorf("container is %s: exec needs a running container", ins.State)
		}
		res, err := c.Exec(ctx, t.ID, container.ExecOptions{
			Cmd: o.Cmd, Env: o.Env, User: o.User, WorkingDir: o.WorkingDir, Tty: o.Tty,
			Stdout: writers(job.Output(ctx), o.Stdout), Stderr: writers(job.Output(ctx), o.Stderr),
			Timeout: o.Timeout, KillGrace: o.KillGrace,
		})
		out.Started, out.Ended, out.ExitCode = res.Started, res.Ended, res.ExitCode
		if res.TimedOut {
			out.Message = fmt.Sprintf("timed out after %s; process ended (%s)", o.Timeout, res.Killed)
			if out.ExitCode == 0 {
				out.ExitCode = 124 // as timeout(1) does, should the process have exited 0 while being ended
			}
		}
		if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			// Ended by ctx (a job Timeout): keep its error visible so the
			// unit is reported as timed out or cancelled.
			err = errors.Join(err, ctx.Err())
		}
		return out, err
	})
}
