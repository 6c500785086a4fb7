package job

import (
	"context"
	"time"

	"github.com/minato-ops/minato/inventory"
)

// Action performs one operation on one Target.
//
// Do must be safe to call concurrently for different Targets, must honour
// ctx, and must not retain ctx or t after it returns. A process that ran
// and exited non-zero is reported in the Outcome, as is "nothing to do"
// (Outcome.Skipped) and a refusal by policy (ExitCode non-zero with a
// Message). A non-nil error means the action could not be performed: the
// Outcome returned with it is ignored except for its times.
type Action interface {
	Do(ctx context.Context, t inventory.Target) (Outcome, error)
}

// ActionFunc adapts a function to [Action].
type ActionFunc func(ctx context.Context, t inventory.Target) (Outcome, error)

// Do calls f(ctx, t).
func (f ActionFunc) Do(ctx context.Context, t inventory.Target) (Outcome, error) {
	return f(ctx, t)
}

// Outcome is what an Action did to one Target.
type Outcome struct {
	// ExitCode is the process's exit code for actions that run one, and
	// otherwise 0 for success and non-zero (1) for a refusal by policy.
	ExitCode int `json:"exit_code"`
	// Skipped says the action had nothing to do (starting a running
	// container); Message then says why, usually the current state.
	Skipped bool `json:"skipped,omitempty"`
	// Message is one operator-facing line: the skip reason or the failure.
	Message string `json:"message,omitempty"`
	// Output is captured output, for actions that capture it.
	Output []byte `json:"output,omitempty"`
	// Started and Ended bracket the action.
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
	// TimedOut says the action was ended by a [Timeout]: it returned after
	// the Timeout's deadline passed. A timed-out Outcome never succeeds,
	// whatever its ExitCode.
	TimedOut bool `json:"timed_out,omitempty"`
	// Attempts is how many times [Retry] ran the action (1 when it was not
	// retried); 0 when no Retry wrapped it.
	Attempts int `json:"attempts,omitempty"`
	// Ignored says a [RetryPolicy] decided to ignore the non-zero ExitCode:
	// the code is reported as is, but the Outcome counts as success.
	Ignored bool `json:"ignored,omitempty"`
}

// Succeeded reports whether the Outcome counts as success for the exit
// code: not skipped, not timed out, and exit code 0 or an ignored exit
// code. Skipped outcomes neither succeed nor fail.
func (o Outcome) Succeeded() bool {
	return !o.Skipped && !o.TimedOut && (o.ExitCode == 0 || o.Ignored)
}
