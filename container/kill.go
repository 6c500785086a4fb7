package container

import "context"

// Kill sends signal ("SIGKILL", "SIGTERM", "HUP", "9"; "" means SIGKILL)
// to the container's main process, without any grace period (docker
// kill). A container that is not running gives an error for which
// [IsConflict] is true; a missing one, [IsNotFound].
func (c *Client) Kill(ctx context.Context, id string, signal string) error {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	return c.wrap("kill", id, c.api.ContainerKill(ctx, id, signal))
}
