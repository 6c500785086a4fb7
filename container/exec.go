package container

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// ExecMarkerEnv is the environment variable [Client.Exec] sets on every
// process it starts, with a value unique to that exec. Child processes
// inherit it, which is how minato finds the whole process tree to end when a
// deadline passes.
const ExecMarkerEnv = "MINATO_EXEC_ID"

// DefaultKillGrace is the default time between the polite and the hard
// signal when an exec's deadline passes.
const DefaultKillGrace = 2 * time.Second

// ExecOptions describes a command to run in a running container.
type ExecOptions struct {
	// Cmd is the argv to run, not a shell line: Cmd[0] is looked up in
	// the container's PATH. Required.
	Cmd []string
	// Env adds KEY=VALUE variables. Values are never logged.
	Env []string
	// User runs the command as this user ("1000", "app:app"); empty means
	// the container's user.
	User string
	// WorkingDir is the command's directory; empty means the container's.
	WorkingDir string
	// Privileged gives the process extended privileges.
	Privileged bool
	// Tty allocates a terminal; stdout and stderr then arrive merged on
	// Stdout.
	Tty bool
	// Stdin, when set, is copied to the process's standard input, which is
	// closed at io.EOF.
	Stdin io.Reader
	// Stdout and Stderr receive the process's output as it arrives; nil
	// discards it.
	Stdout, Stderr io.Writer
	// Timeout, when positive, is how long the command may run. When it
	// passes, the process tree is ended (see [Client.Exec]) and the result
	// has TimedOut set. Zero means no limit other than ctx.
	Timeout time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL when the process is
	// ended; zero means DefaultKillGrace, negative means SIGKILL at once.
	KillGrace time.Duration
}

// KillMethod says how an exec's process tree was ended.
type KillMethod string

// How [Client.Exec] can end a process tree.
const (
	// KilledNone: the process was not ended by minato.
	KilledNone KillMethod = ""
	// KilledHost: signals sent from this machine to the host PIDs (local engine).
	KilledHost KillMethod = "host"
	// KilledInContainer: signals sent by a second exec inside the container.
	KilledInContainer KillMethod = "in-container"
)

// ExecResult is the outcome of [Client.Exec].
type ExecResult struct {
	// ID is the engine's exec ID.
	ID string `json:"id"`
	// ExitCode is the command's exit status (126/127 when it could not be
	// run, 128+N after signal N). -1 if the engine never reported one.
	ExitCode int `json:"exit_code"`
	// TimedOut says Timeout passed and the process was ended.
	TimedOut bool `json:"timed_out"`
	// Killed says how the process was ended, if minato ended it.
	Killed KillMethod `json:"killed,omitempty"`
	// Started and Ended bracket the run as seen from minato.
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
}

// Exec runs a command in a running container, relays its output to
// o.Stdout and o.Stderr, waits for it to finish and returns its exit code.
// A non-zero exit code is a result, not an error; an error means the
// command could not be run or waited for: the container is not running
// ([IsConflict]) or gone ([IsNotFound]), the engine is unreachable, or the
// deadline passed and the process could not be ended ([ErrExecNotKilled]).
//
// # Deadlines
//
// The Engine API cannot kill an exec: closing the connection leaves the
// process running. Exec therefore tags the process with a unique
// [ExecMarkerEnv] variable, which its children inherit, and when o.Timeout
// passes or ctx is cancelled it ends every process carrying the tag:
//
//  1. On a local engine (unix socket) whose processes this machine can see
//     in /proc, minato sends SIGTERM to each tagged host PID, waits up to
//     KillGrace, then sends SIGKILL. This needs the right to signal the
//     engine's processes (root, or the same user for rootless engines).
//  2. Otherwise a second exec, run as root in the container, does the same
//     with /bin/sh, tr, grep, kill and sleep. Containers without them (FROM scratch
//     images) cannot be reached this way, and Exec returns
//     [ErrExecNotKilled].
//
// Either way Exec then waits for the stream to end and reports the exit
// code (137 for SIGKILL, 143 for SIGTERM when the command does not handle
// it). When ctx was cancelled, the result is returned with ctx's error.
func (c *Client) Exec(ctx context.Context, id string, o ExecOptions) (ExecResult, error) {
	res := ExecResult{ExitCode: -1}
	if len(o.Cmd) == 0 {
		return res, fmt.Errorf("exec %s: empty command", shortID(id))
	}
	marker := ExecMarkerEnv + "=" + randomHex(16)
	env := append(append([]string(nil), o.Env...), marker)

	createCtx, cancel := c.withTimeout(ctx, 0)
	created, err := c.api.ContainerExecCreate(createCtx, id, container.ExecOptions{
		User: o.User, Privileged: o.Privileged, Tty: o.Tty, WorkingDir: o.WorkingDir,
		AttachStdin: o.Stdin != nil, AttachStdout: true, AttachStderr: true,
		Env: env, Cmd: o.Cmd,
	})
	cancel()
	if err != nil {
		return res, c.wrap("exec", id, err)
	}
	res.ID = created.ID
	res.Started = time.Now()
	hj, err := c.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{Tty: o.Tty})
	if err != nil {
		return res, c.wrap("exec start", id, err)
	}
	defer hj.Close()
	c.log.DebugContext(ctx, "exec started", "container", shortID(id), "exec", shortID(created.ID), "argv0", o.Cmd[0])

	if o.Stdin != nil {
		go func() {
			_, _ = io.Copy(hj.Conn, o.Stdin)
			_ = hj.CloseWrite()
		}()
	}
	streamDone := make(chan error, 1)
	go func() {
		stdout, stderr := orDiscard(o.Stdout), orDiscard(o.Stderr)
		var err error
		if o.Tty {
			_, err = io.Copy(stdout, hj.Reader)
		} else {
			_, err = stdcopy.StdCopy(stdout, stderr, hj.Reader)
		}
		streamDone <- err
	}()

	var deadline <-chan time.Time
	if o.Timeout > 0 {
		t := time.NewTimer(o.Timeout)
		defer t.Stop()
		deadline = t.C
	}
	var ctxErr, killErr error
	select {
	case err := <-streamDone:
		if err != nil && ctx.Err() == nil {
			return res, fmt.Errorf("exec %s: reading output: %w", shortID(id), err)
		}
		ctxErr = ctx.Err()
	case <-deadline:
		res.TimedOut = true
	case <-ctx.Done():
		ctxErr = ctx.Err()
	}
	// Work after this point must finish even though ctx may be done.
	bg := context.WithoutCancel(ctx)
	if res.TimedOut || ctxErr != nil {
		res.Killed, killErr = c.killExec(bg, id, created.ID, marker, o.killGrace())
		if killErr != nil {
			// The process may still run: do not wait for it.
			res.Ended = time.Now()
			return res, fmt.Errorf("exec %s: %w", shortID(id), killErr)
		}
		// The stream ends once every process holding the output is gone.
		select {
		case <-streamDone:
		case <-time.After(o.killGrace() + 10*time.Second):
			_ = hj.CloseWrite()
			hj.Close()
		}
	}
	res.Ended = time.Now()
	code, err := c.execExitCode(bg, created.ID)
	if err != nil {
		return res, c.wrap("exec inspect", id, err)
	}
	res.ExitCode = code
	return res, ctxErr
}

func (o ExecOptions) killGrace() time.Duration {
	switch {
	case o.KillGrace == 0:
		return DefaultKillGrace
	case o.KillGrace < 0:
		return 0
	}
	return o.KillGrace
}

// execExitCode waits briefly for the engine to record the exec's exit: the
// output stream can end a moment before the engine marks the exec finished.
func (c *Client) execExitCode(ctx context.Context, execID string) (int, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	for delay := 5 * time.Millisecond; ; delay = min(delay*2, 200*time.Millisecond) {
		ins, err := c.api.ContainerExecInspect(ctx, execID)
		if err != nil {
			return -1, err
		}
		if !ins.Running {
			return ins.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("exec %s still running: %w", shortID(execID), ctx.Err())
		case <-time.After(delay):
		}
	}
}

// killExec ends every process carrying marker: from the host when the engine
// is local and its processes are visible, otherwise from inside the container.
func (c *Client) killExec(ctx context.Context, containerID, execID, marker string, grace time.Duration) (KillMethod, error) {
	if c.local() {
		pids := c.markedPIDs(marker)
		if len(pids) > 0 {
			c.log.DebugContext(ctx, "ending exec from the host", "exec", shortID(execID), "pids", len(pids))
			signalPIDs(pids, grace, c.procDir, marker)
			return KilledHost, nil
		}
		ins, err := c.api.ContainerExecInspect(ctx, execID)
		if err == nil && !ins.Running {
			return KilledNone, nil // it finished on its own meanwhile
		}
	}
	// k SIG signals every tagged process; k alone reports whether any is
	// left. Poll every 0.1 s (1 s where sleep takes whole seconds only)
	// until the tree is gone or the grace has passed, then SIGKILL.
	steps := int(grace / (100 * time.Millisecond))
	script := fmt.Sprintf(`k() { n=1; for d in /proc/[0-9]*; do if tr '\0' '\n' < "$d/environ" 2>/dev/null | grep -qx '%s'; then n=0; [ -n "$1" ] && kill -s "$1" "${d#/proc/}" 2>/dev/null; fi; done; return $n; }; k TERM; i=0; while [ $i -lt %d ] && k; do sleep 0.1 2>/dev/null || sleep 1; i=$((i+1)); done; k KILL; exit 0`, marker, steps)
	res, err := c.Exec(ctx, containerID, ExecOptions{Cmd: []string{"/bin/sh", "-c", script}, User: "0", Timeout: grace + 30*time.Second, KillGrace: -1})
	if err != nil || res.ExitCode != 0 {
		if err == nil {
			err = fmt.Errorf("in-container kill exited with code %d", res.ExitCode)
		}
		return KilledNone, fmt.Errorf("%w: %w", ErrExecNotKilled, err)
	}
	return KilledInContainer, nil
}

// markedPIDs returns the host PIDs whose environment holds marker exactly.
func (c *Client) markedPIDs(marker string) []int {
	dirs, _ := filepath.Glob(filepath.Join(c.procDir, "[0-9]*"))
	want := []byte(marker)
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if hasEnv(filepath.Join(d, "environ"), want) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func hasEnv(path string, entry []byte) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for _, e := range bytes.Split(b, []byte{0}) {
		if bytes.Equal(e, entry) {
			return true
		}
	}
	return false
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
