package image

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/minato-ops/minato/container"
)

// Labels giving a container's default update hooks, each a shell line run
// as `sh -c "<value>"` in the container (so the image needs a shell).
// UpdateOptions.PreHook and PostHook, when set, take precedence.
const (
	PreHookLabel  = "minato.update.pre"
	PostHookLabel = "minato.update.post"
)

// HookSkipExitCode is the exit code of a pre hook that asks to skip the
// update of its container (EX_TEMPFAIL, as watchtower uses it).
const HookSkipExitCode = 75

// hookTimeout bounds one hook (watchtower's default too). A hook still
// running then is ended (see container.Client.Exec) and counts as failed.
const hookTimeout = time.Minute

// hookCommand returns the hook to run: the option when set, else the
// label's shell line, else nil (no hook).
func hookCommand(opt []string, labels map[string]string, label string) []string {
	if len(opt) > 0 {
		return opt
	}
	if s := strings.TrimSpace(labels[label]); s != "" {
		return []string{"sh", "-c", s}
	}
	return nil
}

// hookResult is the outcome of one hook.
type hookResult struct {
	exitCode int
	// output is the hook's output, trimmed to one line of at most 300
	// bytes, for messages.
	output string
}

// runHook runs cmd in the running container id, bounded by hookTimeout.
// A non-zero exit is a result; the error means it could not be run or
// ended in time.
func (c *Client) runHook(ctx context.Context, id string, cmd []string) (hookResult, error) {
	var out bytes.Buffer
	w := &updLimitedWriter{w: &out, n: 2048}
	res, err := c.cc.Exec(ctx, id, container.ExecOptions{Cmd: cmd, Stdout: w, Stderr: w, Timeout: hookTimeout})
	hr := hookResult{exitCode: res.ExitCode, output: updTruncate(strings.Join(strings.Fields(out.String()), " "), 300)}
	if err != nil {
		return hr, fmt.Errorf("hook %s: %w", cmd[0], err)
	}
	if res.TimedOut {
		return hr, fmt.Errorf("hook %s: still running after %s, ended", cmd[0], hookTimeout)
	}
	return hr, nil
}

// describe renders a hook's exit for an error or an event.
func (h hookResult) describe(cmd []string) string {
	s := fmt.Sprintf("%s exited with code %d", cmd[0], h.exitCode)
	if h.output != "" {
		s += ": " + h.output
	}
	return s
}
