package docker

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
)

// StopOptions tunes [Stop] and [Restart].
type StopOptions struct {
	// Grace is the time between the stop signal and the kill (the Hinemos
	// Docker job scripts' -t WAIT); nil means the container's own setting or
	// the engine's 10 s.
	Grace *time.Duration
}

// StartStates are the states [Start] acts on; other states are skipped.
var StartStates = []container.State{container.Exited, container.Created}

// StopStates are the states [Stop] and [Restart] act on.
var StopStates = []container.State{container.Running}

// RemoveStates are the states [Remove] acts on without Force. The Hinemos
// Docker job scripts name only exited; created and dead containers are
// stopped too and the engine removes them without force, so minato accepts
// them as well.
var RemoveStates = []container.State{container.Exited, container.Created, container.Dead}

// Start returns an Action that starts the container when it is exited or
// created, and skips it otherwise (Outcome.Message is the state).
func Start(c *container.Client) job.Action {
	return stateGated(c, StartStates, false, func(ctx context.Context, id string) error {
		_, err := c.Start(ctx, id, container.StartOptions{})
		return err
	})
}

// Stop returns an Action that stops the container when it is running, and
// skips it otherwise.
func Stop(c *container.Client, o StopOptions) job.Action {
	return stateGated(c, StopStates, false, func(ctx context.Context, id string) error {
		_, err := c.Stop(ctx, id, container.StopOptions{Grace: o.Grace})
		return err
	})
}

// Restart returns an Action that restarts the container when it is running,
// and skips it otherwise.
func Restart(c *container.Client, o StopOptions) job.Action {
	return stateGated(c, StopStates, false, func(ctx context.Context, id string) error {
		_, err := c.Restart(ctx, id, container.StopOptions{Grace: o.Grace})
		return err
	})
}

// Remove returns an Action that removes the container. Without o.Force a
// container in a state outside [RemoveStates] is not touched and its
// Outcome is a failure (exit code 1) saying so (the Hinemos scripts "output
// an error"); with Force any container is removed.
func Remove(c *container.Client, o container.RemoveOptions) job.Action {
	states := RemoveStates
	if o.Force {
		states = nil
	}
	return stateGated(c, states, true, func(ctx context.Context, id string) error {
		_, err := c.Remove(ctx, id, o)
		return err
	})
}

// stateGated inspects the container and runs act when its state is in
// states; nil states means act without looking. A container in another
// state is skipped, or failed when refuse is set.
func stateGated(c *container.Client, states []container.State, refuse bool, act func(context.Context, string) error) job.Action {
	return job.ActionFunc(func(ctx context.Context, t inventory.Target) (job.Outcome, error) {
		out := job.Outcome{Started: time.Now()}
		if states != nil {
			ins, err := c.Inspect(ctx, t.ID, container.InspectOptions{})
			if err != nil {
				return out, err
			}
			if !slices.Contains(states, ins.State) {
				if refuse {
					out.ExitCode = 1
					out.Message = fmt.Sprintf("container is %s; only stopped containers are removed without -f", ins.State)
				} else {
					out.Skipped = true
					out.Message = string(ins.State)
				}
				out.Ended = time.Now()
				return out, nil
			}
		}
		err := act(ctx, t.ID)
		out.Ended = time.Now()
		return out, err
	})
}
