package job

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The error classes of job and of the packages built on it (the
// scheduler, the job API). Errors wrap one of them, so that a caller can
// tell a missing thing from a refused control from a bad request with
// [errors.Is], and an HTTP API can map them to 404, 409 and 400.
var (
	// ErrNotFound is wrapped by errors about a network, run, unit or queue
	// that does not exist; see [NotFoundError].
	ErrNotFound = errors.New("job: not found")
	// ErrState is wrapped by an operator control or a submission that the
	// current state does not allow: holding a unit that already started,
	// rerunning a run that has not finished, submitting to a network whose
	// overlap policy skips while it runs. The message says which state was
	// found and what is allowed.
	ErrState = errors.New("job: not allowed in the current state")
	// ErrInvalid is wrapped by errors about a request that can never
	// succeed as given: an option naming a unit the network does not have,
	// a definition that does not build, a queue that is not configured.
	// The message names what was wrong and what is allowed.
	ErrInvalid = errors.New("job: invalid request")
)

// NotFoundError says which thing was not found. It wraps [ErrNotFound].
type NotFoundError struct {
	// What is "network", "run", "unit" or "queue".
	What string
	// Name is the name or ID that was looked up.
	Name string
}

// Error returns `job: no <what> "<name>"`.
func (e *NotFoundError) Error() string { return "job: no " + e.What + " " + quote(e.Name) }

// Unwrap returns [ErrNotFound].
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// NotFound returns a [NotFoundError].
func NotFound(what, name string) error { return &NotFoundError{What: what, Name: name} }

// StateError is an [ErrState] with an operator-facing message of its own
// (errors.Is(err, ErrState) is true; its text does not repeat ErrState's).
type StateError struct{ Msg string }

// Error returns the message.
func (e *StateError) Error() string { return e.Msg }

// Is reports whether target is [ErrState].
func (e *StateError) Is(target error) bool { return target == ErrState }

// StateErrorf returns a [StateError] with a formatted message.
func StateErrorf(format string, a ...any) error {
	return &StateError{Msg: fmt.Sprintf(format, a...)}
}

// InvalidError is an [ErrInvalid] with an operator-facing message of its
// own (errors.Is(err, ErrInvalid) is true).
type InvalidError struct{ Msg string }

// Error returns the message.
func (e *InvalidError) Error() string { return e.Msg }

// Is reports whether target is [ErrInvalid].
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Invalidf returns an [InvalidError] with a formatted message.
func Invalidf(format string, a ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, a...)}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }
