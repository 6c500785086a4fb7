package docker

import (
	"context"
	"errors"
	"fmt"

	"github.com/minato-ops/minato/ha"
)

// Codes of the container resource, in [ha.ResourceError].Code and in the
// Code of a Critical [monitor.Result] from Check. They add to the codes
// every resource shares: [ha.CodeFailed] (5, an engine call failed or was
// refused; errors.Is(err, container.ErrUnreachable) tells an engine that
// could not be reached), [ha.CodeTimeout] (6) and [ha.CodeInternal] (99).
const (
	// CodeImageMissing: the image to create the container from is not
	// on the engine (minato never pulls).
	CodeImageMissing = 7
	// CodeExited: the container exited (or went into a restart loop)
	// while it was being started; Check: it has exited. The detail gives
	// the exit code.
	CodeExited = 8
	// CodeUnhealthy: the container's health check reports unhealthy.
	CodeUnhealthy = 9
	// CodeMissing: no container of that name exists (activation with
	// Config.Existing; Check).
	CodeMissing = 10
	// CodeForeign: a container of that name exists that was not created
	// for this resource (its LabelResource or LabelGroup label differs),
	// so minato does not touch it.
	CodeForeign = 11
	// CodeNotRunning: the container is created, paused or being removed
	// rather than running.
	CodeNotRunning = 12
	// CodeStaleEpoch: the container was created under a newer epoch than
	// the one the activation carries: a newer holder has been here, and
	// this activation is refused (fencing).
	CodeStaleEpoch = 13
)

// engineError turns a failed engine call into a ResourceError: code 6 for
// a deadline (the call's or the activation's), 5 otherwise. The error is
// kept, so container.ErrUnreachable and the engine's error classes still
// match.
func engineError(err error) *ha.ResourceError {
	if errors.Is(err, context.DeadlineExceeded) {
		return &ha.ResourceError{Code: ha.CodeTimeout, Detail: "Timeout occurred. " + err.Error(), Err: err}
	}
	return &ha.ResourceError{Code: ha.CodeFailed, Detail: err.Error(), Err: err}
}

// resErr returns a ResourceError with a formatted detail and no cause.
func resErr(code int, format string, a ...any) *ha.ResourceError {
	return &ha.ResourceError{Code: code, Detail: fmt.Sprintf(format, a...)}
}
