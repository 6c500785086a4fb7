package container

import (
	"context"
	"math"
	"time"

	"github.com/docker/docker/api/types/container"
)

// StartOptions tunes [Client.Start]. It has no fields yet.
type StartOptions struct{}

// StartResult is what [Client.Start] returns. It has no fields yet.
type StartResult struct{}

// Start starts a created or exited container. Starting a running container
// is a no-op on the engine and returns no error.
func (c *Client) Start(ctx context.Context, id string, _ StartOptions) (StartResult, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	return StartResult{}, c.wrap("start", id, c.api.ContainerStart(ctx, id, container.StartOptions{}))
}

// StopOptions tunes [Client.Stop] and [Client.Restart].
type StopOptions struct {
	// Grace is how long the engine waits after the stop signal before it
	// kills the container (docker stop -t; the Hinemos Docker job scripts'
	// -t WAIT). nil means the container's own StopTimeout, or the engine
	// default of 10 s. The engine counts whole seconds: a fraction is
	// rounded up, and a negative value is 0 (kill at once; minato never asks
	// the engine to wait forever).
	Grace *time.Duration
	// Signal overrides the container's stop signal ("SIGTERM" by default).
	// It needs API 1.42 (Docker 22.06) or later: older engines ignore it
	// and use the container's own stop signal.
	Signal string
}

// graceSeconds returns the API's t parameter, and how long the call may take
// on top of the normal timeout.
func (o StopOptions) graceSeconds() (*int, time.Duration) {
	if o.Grace == nil {
		return nil, 10 * time.Second // engine default; a container's own StopTimeout may be longer, see Stop
	}
	s := int(math.Ceil(o.Grace.Seconds()))
	if s < 0 {
		s = 0
	}
	return &s, time.Duration(s) * time.Second
}

// StopResult is what [Client.Stop] returns. It has no fields yet.
type StopResult struct{}

// Stop sends the stop signal, waits up to the grace period and then kills
// the container. Stopping a container that is not running is a no-op on
// the engine. The call's timeout is Config.Timeout plus the grace period.
func (c *Client) Stop(ctx context.Context, id string, o StopOptions) (StopResult, error) {
	t, extra := o.graceSeconds()
	ctx, cancel := c.withTimeout(ctx, extra)
	defer cancel()
	return StopResult{}, c.wrap("stop", id, c.api.ContainerStop(ctx, id, container.StopOptions{Timeout: t, Signal: o.Signal}))
}

// RestartResult is what [Client.Restart] returns. It has no fields yet.
type RestartResult struct{}

// Restart stops the container as [Client.Stop] does (if it is running) and
// starts it again.
func (c *Client) Restart(ctx context.Context, id string, o StopOptions) (RestartResult, error) {
	t, extra := o.graceSeconds()
	ctx, cancel := c.withTimeout(ctx, extra)
	defer cancel()
	return RestartResult{}, c.wrap("restart", id, c.api.ContainerRestart(ctx, id, container.StopOptions{Timeout: t, Signal: o.Signal}))
}

// RemoveOptions tunes [Client.Remove]; the fields are the -f, -v and -l of
// the Hinemos Docker job scripts' remove job (docker rm -f, -v, -l).
type RemoveOptions struct {
	// Force kills and removes a running container (docker rm -f).
	Force bool
	// Volumes also removes the container's anonymous volumes (docker rm -v).
	Volumes bool
	// Links removes the container's legacy link instead of the container
	// (docker rm -l): the container named must then be a link alias such
	// as "/web/db". The Hinemos scripts describe -l as "remove the linked
	// container"; the engine's meaning is this one (docs/compatibility.md).
	Links bool
}

// RemoveResult is what [Client.Remove] returns. It has no fields yet.
type RemoveResult struct{}

// Remove removes the container. Without Force the engine refuses a running
// or paused container with an error for which [IsConflict] is true.
func (c *Client) Remove(ctx context.Context, id string, o RemoveOptions) (RemoveResult, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	err := c.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: o.Force, RemoveVolumes: o.Volumes, RemoveLinks: o.Links})
	return RemoveResult{}, c.wrap("remove", id, err)
}
