package container

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// LogsOptions tunes [Client.Logs].
type LogsOptions struct {
	// Follow keeps the stream open and relays new output until the
	// container stops (docker logs -f).
	Follow bool
	// Stdout and Stderr receive the container's output streams. A nil
	// writer's stream is not requested (when both are nil, both are
	// requested and discarded, which still lets Follow wait for the end).
	Stdout, Stderr io.Writer
	// Since, when not zero, skips output logged before it.
	Since time.Time
	// Tail is the number of lines to show from the end ("10"); "" or
	// "all" means everything.
	Tail string
	// Timestamps prefixes every line with its RFC 3339 time.
	Timestamps bool
	// Tty says the container was created with a terminal: its output is
	// one raw stream, all of which goes to Stdout.
	Tty bool
}

// Logs copies the container's logged output to o.Stdout and o.Stderr,
// demultiplexing the engine's stream; each writer gets its stream in order,
// from a single goroutine (the writers need not be safe for concurrent use
// unless they are the same writer shared elsewhere). It needs a log driver
// the engine can read back (json-file, local, journald).
//
// Without Follow it returns once the logged output has been copied. With
// Follow it returns when the container stops and everything it logged has
// been copied (the stream ends), or when ctx ends, which then is not an
// error (nil). On a container that is not running, Follow is ignored by the
// engine: everything logged so far is copied and Logs returns. The log
// itself can lack the end of a large burst of output written just before
// the container exited (Docker 20.10 stops copying to the log driver 2 s
// after the exit); to get all output of a container, [Client.Attach] to it
// before starting it. Logs is
// bounded by ctx only, not by Config.Timeout. An error from a writer ends
// the copy and is returned.
func (c *Client) Logs(ctx context.Context, id string, o LogsOptions) error {
	c.ready(ctx)
	opts := container.LogsOptions{
		ShowStdout: o.Stdout != nil, ShowStderr: o.Stderr != nil,
		Follow: o.Follow, Tail: o.Tail, Timestamps: o.Timestamps,
	}
	if !opts.ShowStdout && !opts.ShowStderr {
		opts.ShowStdout, opts.ShowStderr = true, true
	}
	if !o.Since.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", o.Since.Unix(), o.Since.Nanosecond())
	}
	rc, err := c.api.ContainerLogs(ctx, id, opts)
	if err != nil {
		if o.Follow && ctx.Err() != nil {
			return nil
		}
		return c.wrap("logs", id, err)
	}
	defer rc.Close()
	stdout, stderr := orDiscard(o.Stdout), orDiscard(o.Stderr)
	if o.Tty {
		_, err = io.Copy(stdout, rc)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, rc)
	}
	if err != nil {
		if ctx.Err() != nil {
			if o.Follow {
				return nil
			}
			return fmt.Errorf("logs %s: %w", shortID(id), ctx.Err())
		}
		return fmt.Errorf("logs %s: %w", shortID(id), err)
	}
	return nil
}
