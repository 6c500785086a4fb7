package script

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// Codes of the script resource, in [ha.ResourceError].Code and in the Code
// of a non-OK [monitor.Result] from Check, besides the shared
// [ha.CodeFailed] (5: the command exited with a non-zero status or was
// killed by a signal; Check: it reported Critical), [ha.CodeTimeout] (6:
// it outlived its timeout or ctx's deadline and was killed) and
// [ha.CodeInternal] (99).
const (
	// CodeNotRun: the command could not be run at all (program not
	// found or not executable, working directory missing).
	CodeNotRun = 7
	// CodeInactive: Check without a check command, when no Activate has
	// succeeded since the last Deactivate.
	CodeInactive = 8
)

// drainAfterExit is how long a finished command's output is still read
// from processes it left behind holding it (a daemon started in the
// background without redirecting its output) before the pipe is closed.
const drainAfterExit = 500 * time.Millisecond

// Option sets an optional collaborator of a [Resource].
type Option func(*options)

type options struct {
	log     *slog.Logger
	environ func() []string
}

// WithLogger makes the resource log each command it runs (at Debug) and
// each start and stop (at Info). Errors it returns are not logged. The
// default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithEnviron replaces the environment commands inherit, os.Environ by
// default; environ is called for every command and must be safe for
// concurrent use. Pass func() []string { return nil } for commands that
// get only Config.Env, Command.Env and minato's variables.
func WithEnviron(environ func() []string) Option {
	return func(o *options) {
		if environ != nil {
			o.environ = environ
		}
	}
}

// Resource is a service started, stopped and checked by commands, as an
// [ha.Resource]. Its methods are safe for concurrent use; Check may run
// while Activate or Deactivate does.
type Resource struct {
	cfg     Config
	log     *slog.Logger
	environ func() []string
	// active is what the last successful Activate (true) or Deactivate
	// (false) left; Check reports it when there is no check command.
	active atomic.Bool
}

var _ ha.Resource = (*Resource)(nil)

// New returns the Resource cfg describes. It validates cfg; it does not
// look for the programs (a missing one fails its call with CodeNotRun).
func New(cfg Config, opts ...Option) (*Resource, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ha/script: invalid config: %w", err)
	}
	o := options{log: slog.New(slog.DiscardHandler), environ: os.Environ}
	for _, opt := range opts {
		opt(&o)
	}
	cfg = cfg.withDefaults()
	log := o.log
	if cfg.Name != "" {
		log = log.With("resource", cfg.Name)
	}
	return &Resource{cfg: cfg, log: log, environ: o.environ}, nil
}

// Config returns the resource's configuration with its defaults filled
// in.
func (r *Resource) Config() Config { return r.cfg }

// Activate runs the start command and succeeds when it exits with status
// 0. It is as idempotent as the start command is: CLUSTERPRO's rule holds,
// a start script must succeed when the service already runs. Failures are
// *[ha.ResourceError]: 5 for a non-zero exit status (the detail gives it
// and the last line of output), 6 for a timeout, 7 when the command could
// not be run.
func (r *Resource) Activate(ctx context.Context, node inventory.Target) error {
	if _, err := r.runOK(ctx, "start", r.cfg.Start, node); err != nil {
		return err
	}
	r.active.Store(true)
	return nil
}

// Deactivate runs the stop command, when there is one, and succeeds when
// it exits with status 0 (a stop script must succeed when the service is
// stopped already). Failures are as for Activate.
func (r *Resource) Deactivate(ctx context.Context, node inventory.Target) error {
	if !r.cfg.Stop.IsZero() {
		if _, err := r.runOK(ctx, "stop", r.cfg.Stop, node); err != nil {
			return err
		}
	}
	r.active.Store(false)
	return nil
}

// Check runs the check command and judges it by its exit status as
// Monitoring Plugins do: 0 OK, 1 Warning, 2 Critical, other statuses
// Critical too; the Result's Message is the first line of its output
// (without performance data after "|"), and its Code is 5 when Critical.
// Status 3 (Unknown), a timeout and a command that cannot be run are
// errors (*ha.ResourceError with code 5, 6 or 7): the state could not be
// learned, so the member's OnUnreachable applies.
//
// Without a check command, Check reports what Activate and Deactivate
// left: OK after a successful Activate, Critical (CodeInactive) before
// one or after a successful Deactivate.
func (r *Resource) Check(ctx context.Context, node inventory.Target) (monitor.Result, error) {
	if r.cfg.Check.IsZero() {
		if r.active.Load() {
			return monitor.Result{Time: time.Now(), Status: monitor.OK, Message: "active (no check command: as the last activation left it)"}, nil
		}
		return monitor.Result{Time: time.Now(), Status: monitor.Critical, Code: CodeInactive, Message: "not active (no check command: as the last deactivation left it)"}, nil
	}
	res, err := r.run(ctx, "check", r.cfg.Check, node)
	if err != nil {
		return monitor.Result{}, err
	}
	msg := checkMessage(res.output)
	if msg == "" {
		msg = "check " + res.state
	}
	out := monitor.Result{Time: time.Now(), Message: msg}
	switch res.code {
	case 0:
		out.Status = monitor.OK
	case 1:
		out.Status = monitor.Warning
	case 3:
		return monitor.Result{}, &ha.ResourceError{Code: ha.CodeFailed, Detail: "check reported UNKNOWN: " + msg, Err: res.exitErr()}
	default:
		out.Status, out.Code = monitor.Critical, ha.CodeFailed
	}
	return out, nil
}

// ran is what a command that ran did.
type ran struct {
	// code is the exit status, -1 when a signal ended the command.
	code int
	// state says so in words: "exited with status 3", "ended by signal:
	// terminated".
	state string
	// output is the bounded output, standard output and error together.
	output string
	took   time.Duration
}

func (r ran) exitErr() error { return &ExitError{Code: r.code, State: r.state, Output: r.output} }

// ExitError is the cause (the Err of the *ha.ResourceError) when a command
// ran but failed: its exit status and its bounded output, standard output
// and error together.
type ExitError struct {
	// Code is the exit status, -1 when a signal ended the command.
	Code int
	// State says how it ended: "exited with status 3", "ended by signal:
	// terminated".
	State string
	// Output is what it wrote, at most Config.MaxOutputBytes of it.
	Output string
}

// Error returns State.
func (e *ExitError) Error() string { return "command " + e.State }

// runOK runs c and fails unless it exited with status 0.
func (r *Resource) runOK(ctx context.Context, action string, c Command, node inventory.Target) (ran, error) {
	res, err := r.run(ctx, action, c, node)
	if err != nil {
		return res, err
	}
	if res.code != 0 {
		detail := action + " command " + res.state
		if line := lastLine(res.output); line != "" {
			detail += ": " + line
		}
		return res, &ha.ResourceError{Code: ha.CodeFailed, Detail: detail, Err: res.exitErr()}
	}
	r.log.InfoContext(ctx, action+" command succeeded", "took", res.took)
	return res, nil
}

// run runs c to its end and returns how it ended. The error is a
// *ha.ResourceError when it could not be run (7), outlived its timeout or
// ctx's deadline (6) or was cancelled (5); a command that ran and failed
// is not an error here.
func (r *Resource) run(ctx context.Context, action string, c Command, node inventory.Target) (ran, error) {
	cctx, cancel := ctx, context.CancelFunc(func() {})
	if c.Timeout > 0 {
		cctx, cancel = context.WithTimeout(ctx, c.Timeout)
	}
	defer cancel()

	out := newCapture(r.cfg.MaxOutputBytes)
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	if cmd.Dir == "" {
		cmd.Dir = r.cfg.Dir
	}
	cmd.Env = r.env(ctx, action, c, node)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = drainAfterExit
	ownGroup(cmd)

	start := time.Now()
	r.log.DebugContext(ctx, "running "+action+" command", "argv", c.Argv, "dir", cmd.Dir)
	if err := cmd.Start(); err != nil {
		return ran{}, &ha.ResourceError{Code: CodeNotRun, Detail: fmt.Sprintf("%s command %q could not be run: %v", action, c.Argv[0], err), Err: err}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var waitErr error
	timedOut := false
	select {
	case waitErr = <-done:
	case <-cctx.Done():
		select {
		case waitErr = <-done: // it ended as the time ran out
		default:
			timedOut = true
			signal(cmd, r.cfg.KillGrace == 0)
			select {
			case <-done:
			case <-time.After(r.cfg.KillGrace):
				signal(cmd, true)
				<-done
			}
		}
	}
	res := ran{code: cmd.ProcessState.ExitCode(), state: describe(cmd.ProcessState), output: out.String(), took: time.Since(start)}
	if timedOut {
		return res, r.ended(ctx, cctx, action, c, res)
	}
	if errors.Is(waitErr, exec.ErrWaitDelay) {
		r.log.DebugContext(ctx, action+" command left processes holding its output; stopped reading it", "after", drainAfterExit)
	}
	r.log.DebugContext(ctx, action+" command "+res.state, "took", res.took)
	return res, nil
}

// ended is the error of a command ended because its timeout or ctx did.
func (r *Resource) ended(ctx, cctx context.Context, action string, c Command, res ran) error {
	detail := fmt.Sprintf("%s command %q", action, c.Argv[0])
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return &ha.ResourceError{Code: ha.CodeFailed, Detail: detail + " was cancelled and ended (" + res.state + ")", Err: err}
	}
	limit := "the caller's deadline"
	if ctx.Err() == nil {
		limit = c.Timeout.String()
	}
	detail = "Timeout occurred. " + detail + " did not finish within " + limit + " and was ended (" + res.state + ")"
	if line := lastLine(res.output); line != "" {
		detail += ": " + line
	}
	return &ha.ResourceError{Code: ha.CodeTimeout, Detail: detail, Err: cctx.Err()}
}

// describe says how a process ended.
func describe(ps *os.ProcessState) string {
	if ps == nil {
		return "did not end"
	}
	if code := ps.ExitCode(); code >= 0 {
		return "exited with status " + strconv.Itoa(code)
	}
	return "ended by " + ps.String()
}

// env builds a command's environment: inherited (without MINATO_HA_
// variables), then Config.Env, then Command.Env, then minato's variables;
// later entries win.
func (r *Resource) env(ctx context.Context, action string, c Command, node inventory.Target) []string {
	var env []string
	for _, kv := range r.environ() {
		if !strings.HasPrefix(kv, envPrefix) { // never an outer minato's
			env = append(env, kv)
		}
	}
	for _, m := range []map[string]string{r.cfg.Env, c.Env} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			env = append(env, k+"="+m[k])
		}
	}
	env = append(env, EnvAction+"="+action, EnvNode+"="+node.Name)
	if e, ok := ha.EpochFrom(ctx); ok {
		env = append(env, EnvEpoch+"="+strconv.FormatUint(uint64(e), 10))
	}
	if r.cfg.Group != "" {
		env = append(env, EnvGroup+"="+r.cfg.Group)
	}
	if r.cfg.Name != "" {
		env = append(env, EnvResource+"="+r.cfg.Name)
	}
	return env
}
