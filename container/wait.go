package container

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/container"
)

// Conditions [Client.Wait] can wait for.
const (
	// WaitNotRunning returns as soon as the container is not running; at
	// once, with the last exit code, when it is created or exited.
	WaitNotRunning = "not-running"
	// WaitNextExit returns at the container's next exit: start waiting
	// before starting the container.
	WaitNextExit = "next-exit"
	// WaitRemoved returns when the container has been removed.
	WaitRemoved = "removed"
)

// WaitOptions tunes [Client.Wait].
type WaitOptions struct {
	// Condition is WaitNotRunning (the default when ""), WaitNextExit or
	// WaitRemoved.
	Condition string
}

// WaitResult is what [Client.Wait] returns.
type WaitResult struct {
	// ExitCode is the container's exit code (128+N after signal N).
	ExitCode int `json:"exit_code"`
	// Error is the engine's error for the exit, if it reported one.
	Error string `json:"error,omitempty"`
}

// Wait blocks until the container meets o.Condition or ctx ends, without
// polling: the engine answers a single long request when the condition is
// met. It is bounded by ctx only, not by Config.Timeout. When ctx ends
// first it returns an error wrapping ctx.Err(). A missing container is an
// error for which [IsNotFound] is true (except for WaitRemoved on a
// container that is already gone, which the engine also reports so).
func (c *Client) Wait(ctx context.Context, id string, o WaitOptions) (WaitResult, error) {
	c.ready(ctx)
	cond := container.WaitCondition(o.Condition)
	switch o.Condition {
	case "":
		cond = container.WaitConditionNotRunning
	case WaitNotRunning, WaitNextExit, WaitRemoved:
	default:
		return WaitResult{}, fmt.Errorf("wait %s: unknown condition %q (want %s, %s or %s)", shortID(id), o.Condition, WaitNotRunning, WaitNextExit, WaitRemoved)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the engine request when we return early
	resC, errC := c.api.ContainerWait(ctx, id, cond)
	select {
	case r := <-resC:
		res := WaitResult{ExitCode: int(r.StatusCode)}
		if r.Error != nil {
			res.Error = r.Error.Message
		}
		return res, nil
	case err := <-errC:
		if ctxErr := ctx.Err(); ctxErr != nil {
			return WaitResult{}, fmt.Errorf("wait %s: %w", shortID(id), ctxErr)
		}
		return WaitResult{}, c.wrap("wait", id, err)
	case <-ctx.Done():
		return WaitResult{}, fmt.Errorf("wait %s: %w", shortID(id), ctx.Err())
	}
}
