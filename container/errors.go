package container

import (
	"errors"
	"fmt"
	"io"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"
)

// ErrUnreachable matches (errors.Is) every error caused by failing to
// connect to the engine: no socket, connection refused, TLS handshake
// failure, DNS failure. Container jobs exit 1 for it, as the Hinemos
// Docker job scripts do.
var ErrUnreachable = errors.New("container: docker daemon unreachable")

// ErrExecNotKilled is returned by [Client.Exec] when its deadline passed and
// minato could not end the process (a remote engine whose container has no
// /bin/sh, kill, tr and grep). The process may still be running.
var ErrExecNotKilled = errors.New("container: exec deadline passed but the process could not be ended")

// IsNotFound reports whether err says the container (or exec) does not
// exist: removed, or never there.
func IsNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// IsConflict reports whether err says the engine refused because of the
// container's state (removing a running container without force, a name in
// use).
func IsConflict(err error) bool { return cerrdefs.IsConflict(err) }

// wrap adds the operation and container to err, keeping its class, and marks
// connection failures with ErrUnreachable.
func (c *Client) wrap(op, id string, err error) error {
	if err == nil {
		return nil
	}
	subject := op
	if id != "" {
		subject = op + " " + shortID(id)
	}
	if client.IsErrConnectionFailed(err) {
		return &unreachableError{subject: subject, host: c.cfg.host(), err: err}
	}
	return fmt.Errorf("%s: %w", subject, err)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF)
}

// unreachableError is a failure to connect; it matches ErrUnreachable and
// unwraps to the Docker client's error.
type unreachableError struct {
	subject, host string
	err           error
}

func (e *unreachableError) Error() string {
	msg := e.subject + ": cannot connect to the Docker daemon at " + e.host
	if cause := e.err.Error(); !strings.HasPrefix(cause, "Cannot connect to the Docker daemon") {
		msg += ": " + cause // TLS, permission and other specific causes
	}
	return msg
}

func (e *unreachableError) Is(target error) bool { return target == ErrUnreachable }

func (e *unreachableError) Unwrap() error { return e.err }
