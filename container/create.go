package container

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

// CreateOptions describes a container for [Client.Create]. Only Image is
// required; every other zero value means the image's or the engine's
// default.
type CreateOptions struct {
	// Name is the container name; "" lets the engine choose one.
	Name string
	// Image is the image reference. Required. It must already be present
	// on the engine: minato never pulls.
	Image string
	// Cmd is the command (the arguments to the entrypoint); nil means the
	// image's.
	Cmd []string
	// Entrypoint replaces the image's entrypoint; nil means the image's.
	Entrypoint []string
	// Env is the environment as KEY=VALUE entries. Values are never logged.
	Env []string
	// WorkingDir is the process's directory; "" means the image's.
	WorkingDir string
	// User is the user to run as ("1000", "app:app"); "" means the image's.
	User string
	// Labels are set on the container. The map is copied.
	Labels map[string]string
	// Binds are bind mounts in "host:container[:ro]" form.
	Binds []string
	// Network is the network name or ID to attach to; "" means the
	// engine's default bridge.
	Network string
	// Memory is the memory limit in bytes; 0 means none. When set, swap is
	// limited to the same value (MemorySwap = Memory) so the limit is real:
	// exceeding it gets the container OOM-killed rather than swapped.
	Memory int64
	// NanoCPUs is the CPU quota in units of 1e-9 CPUs; 0 means none.
	NanoCPUs int64
	// StopSignal is the container's stop signal ("SIGTERM", "SIGINT");
	// "" means the image's, else SIGTERM. Unlike StopOptions.Signal it
	// works with every API version.
	StopSignal string
	// StopTimeout is the container's own stop grace period in seconds;
	// nil means the engine default (10 s).
	StopTimeout *int
	// Tty allocates a terminal: the output is then one raw stream (see
	// LogsOptions.Tty).
	Tty bool
	// AutoRemove makes the engine remove the container when it exits
	// (docker run --rm). Its exit code can then only be had from
	// [Client.Wait] with the "next-exit" or "removed" condition, started
	// before the container is.
	AutoRemove bool
}

// CreateResult is what [Client.Create] returns.
type CreateResult struct {
	// ID is the new container's full ID.
	ID string `json:"id"`
	// Warnings are the engine's warnings about the configuration (a limit
	// the kernel does not support, for example).
	Warnings []string `json:"warnings,omitempty"`
}

// Create creates a container from o without starting it. The image must be
// present on the engine: minato never pulls, and a missing image is an
// error for which [IsNotFound] is true and whose message names the image
// and says so. A name already in use is an error for which [IsConflict] is
// true.
func (c *Client) Create(ctx context.Context, o CreateOptions) (CreateResult, error) {
	subject := "create"
	if o.Name != "" {
		subject += " " + o.Name
	}
	if o.Image == "" {
		return CreateResult{}, fmt.Errorf("%s: no image given", subject)
	}
	cfg := &container.Config{
		Image:       o.Image,
		Cmd:         o.Cmd,
		Entrypoint:  o.Entrypoint,
		Env:         o.Env,
		WorkingDir:  o.WorkingDir,
		User:        o.User,
		Labels:      maps.Clone(o.Labels),
		StopSignal:  o.StopSignal,
		StopTimeout: o.StopTimeout,
		Tty:         o.Tty,
	}
	host := &container.HostConfig{
		Binds:      o.Binds,
		AutoRemove: o.AutoRemove,
		Resources:  container.Resources{Memory: o.Memory, NanoCPUs: o.NanoCPUs},
	}
	if o.Memory > 0 {
		host.MemorySwap = o.Memory
	}
	var netCfg *network.NetworkingConfig
	if o.Network != "" {
		host.NetworkMode = container.NetworkMode(o.Network)
		netCfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{o.Network: {}}}
	}
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	resp, err := c.api.ContainerCreate(ctx, cfg, host, netCfg, nil, o.Name)
	if err != nil {
		if IsNotFound(err) && strings.Contains(strings.ToLower(err.Error()), "no such image") {
			return CreateResult{}, fmt.Errorf("%s: image %q is not present on the engine and minato does not pull images (load or pull it first): %w", subject, o.Image, err)
		}
		return CreateResult{}, c.wrap(subject, "", err)
	}
	c.log.DebugContext(ctx, "container created", "container", shortID(resp.ID), "image", o.Image)
	return CreateResult{ID: resp.ID, Warnings: resp.Warnings}, nil
}
