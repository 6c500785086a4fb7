package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
)

// DefaultKillGrace is HostOptions.KillGrace when it is zero.
const DefaultKillGrace = 5 * time.Second

// pipeGrace is how long [HostCommand] keeps reading output after the
// program exited, for processes it left behind that still hold its
// stdout or stderr.
const pipeGrace = 2 * time.Second

// HostOptions tunes [HostCommand].
type HostOptions struct {
	// Dir is the program's working directory; "" means minato's.
	Dir string
	// Env is added to minato's own environment as KEY=VALUE entries (an
	// entry for a key minato has replaces it). Values are never logged.
	Env []string
	// Stdout and Stderr receive the program's output streams in addition
	// to job.Output(ctx); nil adds nothing. They are shared by every
	// Target.
	Stdout, Stderr io.Writer
	// KillGrace is the time between SIGTERM and SIGKILL when ctx ends; 0
	// means DefaultKillGrace, negative means SIGKILL at once.
	KillGrace time.Duration
}

func (o HostOptions) killGrace() time.Duration {
	switch {
	case o.KillGrace == 0:
		return DefaultKillGrace
	case o.KillGrace < 0:
		return 0
	}
	return o.KillGrace
}

// HostCommand returns an Action that runs argv on minato's own host: argv[0]
// is looked up in PATH and started directly, without a shell (pass
// "sh", "-c", line for one). The Target is not used.
//
// The program's output goes to job.Output(ctx) and to o.Stdout and o.Stderr;
// its exit code is the Outcome's ExitCode (128+N when it was killed by
// signal N), not an error. A program that cannot be started (not found,
// not executable, bad Dir) is an error.
//
// On Unix the program runs in a process group of its own. When ctx ends
// first, SIGTERM goes to the whole group, then, after o.KillGrace while
// any member is left, SIGKILL; Do returns once the program has been
// reaped, with an error wrapping ctx.Err(). Processes it leaves behind
// when it exits on its own are not touched. Elsewhere only the program
// itself is killed, at once.
func HostCommand(argv []string, o HostOptions) job.Action {
	argv = append([]string(nil), argv...)
	env := append([]string(nil), o.Env...)
	return job.ActionFunc(func(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
		out := job.Outcome{Started: time.Now()}
		if len(argv) == 0 {
			return out, errors.New("host command: empty command")
		}
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("host command %s: %w", argv[0], err)
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = o.Dir
		if len(env) > 0 {
			cmd.Env = append(os.Environ(), env...)
		}
		cmd.Stdout = writers(job.Output(ctx), o.Stdout)
		cmd.Stderr = writers(job.Output(ctx), o.Stderr)
		cmd.WaitDelay = pipeGrace
		setProcessGroup(cmd)
		if err := cmd.Start(); err != nil {
			out.Ended = time.Now()
			return out, fmt.Errorf("host command: %w", err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()

		var waitErr, ctxErr error
		select {
		case waitErr = <-done:
		case <-ctx.Done():
			ctxErr = ctx.Err()
			waitErr = endGroup(cmd, done, o.killGrace())
		}
		out.Ended = time.Now()
		out.ExitCode = exitCode(cmd.ProcessState)
		var exitErr *exec.ExitError
		if waitErr != nil && !errors.As(waitErr, &exitErr) && !errors.Is(waitErr, exec.ErrWaitDelay) {
			return out, fmt.Errorf("host command %s: %w", argv[0], waitErr)
		}
		if ctxErr != nil {
			return out, fmt.Errorf("host command %s: ended: %w", argv[0], ctxErr)
		}
		return out, nil
	})
}
