package container

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// AttachOptions tunes [Client.Attach].
type AttachOptions struct {
	// Stdout and Stderr receive the container's output streams; nil
	// discards that stream (it is not requested unless both are nil).
	Stdout, Stderr io.Writer
	// Tty says the container was created with a terminal: its output is
	// one raw stream, all of which goes to Stdout.
	Tty bool
}

// Attachment is a live connection to a container's output, returned by
// [Client.Attach]. Its methods are safe for concurrent use.
type Attachment struct {
	done   chan struct{}
	err    error
	once   sync.Once
	cancel context.CancelFunc
	closer func()
}

// Attach connects to the container's output streams the way docker run
// does, and copies them to o.Stdout and o.Stderr in the background (each
// stream in order, from one goroutine) until the container's streams close
// when it exits, ctx ends, or [Attachment.Close] is called.
//
// Attach returns once the engine has accepted the connection. Attaching to
// a created container before starting it is the only way to be sure to get
// all of its output, whatever the log driver: the engine's log reader can
// lose the last of a large output when the container exits. The engine
// does not buffer for an attached client, so a slow writer slows the
// container's output down rather than losing any of it.
func (c *Client) Attach(ctx context.Context, id string, o AttachOptions) (*Attachment, error) {
	c.ready(ctx)
	opts := container.AttachOptions{Stream: true, Stdout: o.Stdout != nil, Stderr: o.Stderr != nil}
	if !opts.Stdout && !opts.Stderr {
		opts.Stdout, opts.Stderr = true, true
	}
	ctx, cancel := context.WithCancel(ctx)
	hj, err := c.api.ContainerAttach(ctx, id, opts)
	if err != nil {
		cancel()
		return nil, c.wrap("attach", id, err)
	}
	a := &Attachment{done: make(chan struct{}), cancel: cancel, closer: hj.Close}
	go func() {
		defer close(a.done)
		defer hj.Close()
		stdout, stderr := orDiscard(o.Stdout), orDiscard(o.Stderr)
		var err error
		if o.Tty {
			_, err = io.Copy(stdout, hj.Reader)
		} else {
			_, err = stdcopy.StdCopy(stdout, stderr, hj.Reader)
		}
		if err != nil && ctx.Err() == nil && !isEOF(err) {
			a.err = fmt.Errorf("attach %s: %w", shortID(id), err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			a.Close()
		case <-a.done:
		}
	}()
	return a, nil
}

// Done is closed when copying has ended.
func (a *Attachment) Done() <-chan struct{} { return a.done }

// Wait blocks until copying has ended and returns what ended it: nil when
// the container's streams closed or the attachment was closed or its ctx
// ended; otherwise the reading or writing error.
func (a *Attachment) Wait() error {
	<-a.done
	return a.err
}

// Close ends the attachment; output not yet copied is dropped. It does not
// wait for the copying goroutine (use Wait) and is safe to call more than
// once.
func (a *Attachment) Close() {
	a.once.Do(func() {
		a.cancel()
		a.closer()
	})
}
