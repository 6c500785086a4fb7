package job

import (
	"context"
	"errors"

	"github.com/minato-ops/minato/inventory"
)

// ErrDetached is the cause (see context.Cause) of the ctx a unit's action
// runs with when the process running the network is stopping but the work
// should go on: the [Scheduler] detaches from running units at shutdown so
// that the next scheduler adopts them (see [Adopter]). An action that sees
// it should return promptly without ending work that can outlive the
// process: a container keeps running, and is neither stopped nor removed.
// Actions that cannot outlive the process end their work as for any other
// cancellation.
var ErrDetached = errors.New("job: detached: the work goes on without this process")

// Detached reports whether ctx ended because the run was detached (its
// cause is [ErrDetached]).
func Detached(ctx context.Context) bool {
	return ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrDetached)
}

// Adopter is an Action whose work can outlive the process that started it
// (a container), identified so that a later process can find it again.
// The [Scheduler] uses it to resume runs after a restart or a crash without
// running anything twice: a unit recorded as running when the scheduler
// stopped is adopted rather than started again.
//
// The identification is the Adopter's own (container labels naming the
// network, run and unit): an Adopter is built for one run of one unit.
type Adopter interface {
	Action
	// Adopt finds the work an earlier Do of this Adopter started and waits
	// for it to end, relaying its output (all of it, from the start) to
	// Output(ctx) and returning its Outcome as Do would. found is false,
	// with a zero Outcome and a nil error, when no such work exists: it was
	// never started, and the caller may run Do. Work that was created but
	// never started is started and waited for. When several attempts'
	// work exists, Adopt takes the newest. Like Do, Adopt ends the work
	// when ctx ends, unless [Detached](ctx).
	Adopt(ctx context.Context, t inventory.Target) (out Outcome, found bool, err error)
	// Release removes what Do and Adopt left behind so that Adopt could
	// find it (finished containers). The Scheduler calls it once the
	// unit's final state is in its Store; until then a crash loses nothing.
	// Release of nothing is not an error. It is idempotent.
	Release(ctx context.Context, t inventory.Target) error
}

// Preparer is an Action that can get its work ready ahead of time (create
// a container) so that Do, at the due time, only has to start it. The
// [Scheduler] prepares the first units of a scheduled run shortly before
// it is due (SchedulerConfig.PrepareAhead), which takes the engine's
// create call out of the time from the due time to the start.
type Preparer interface {
	Action
	// Prepare starts the preparation for t and returns at once; it goes on
	// in the background, bounded by ctx. A later Do of the same value uses
	// what was prepared, waiting for the preparation to end if need be,
	// and does all of the work itself when the preparation failed. Calls
	// after the first, or after Do, do nothing. Work prepared but never
	// run is removed by the Adopter's Release, which waits for the
	// preparation to end first.
	Prepare(ctx context.Context, t inventory.Target)
}
