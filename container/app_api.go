package container

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/go-connections/nat"
)

// This file holds the engine calls that declared applications (package
// container/app) need beyond the rest of this package: a full create with
// published ports, mounts, restart policy and health check, rename,
// network connection, labelled volumes and listing networks by label
// (networks are created and removed with diag_api.go's calls).

// appAPI is the part of the Docker client the calls below use on top of
// engineAPI. The real client has all of it; a test fake may not, and the
// calls then fail with [errors.ErrUnsupported].
type appAPI interface {
	ContainerRename(ctx context.Context, containerID, newContainerName string) error
	NetworkConnect(ctx context.Context, networkID, containerID string, config *network.EndpointSettings) error
	VolumeCreate(ctx context.Context, options volume.CreateOptions) (volume.Volume, error)
	VolumeRemove(ctx context.Context, volumeID string, force bool) error
}

func (c *Client) appAPI(op string) (appAPI, error) {
	a, ok := c.api.(appAPI)
	if !ok {
		return nil, fmt.Errorf("%s: %w by this engine client", op, errors.ErrUnsupported)
	}
	return a, nil
}

// PortSpec publishes one container port on the host.
type PortSpec struct {
	// HostIP is the host address to bind; "" means every address.
	HostIP string `json:"host_ip,omitempty"`
	// HostPort is the host port; 0 lets the engine choose a free one.
	HostPort uint16 `json:"host_port,omitempty"`
	// ContainerPort is the port inside the container. Required.
	ContainerPort uint16 `json:"container_port"`
	// Protocol is "tcp" (when empty), "udp" or "sctp".
	Protocol string `json:"protocol,omitempty"`
}

// MountSpec is one mount of a container.
type MountSpec struct {
	// Type is "bind", "volume" or "tmpfs".
	Type string `json:"type"`
	// Source is the host path (bind) or the volume name (volume; "" for an
	// anonymous volume); ignored for tmpfs.
	Source string `json:"source,omitempty"`
	// Target is the absolute path inside the container. Required.
	Target string `json:"target"`
	// ReadOnly mounts it read-only.
	ReadOnly bool `json:"read_only,omitempty"`
}

// HealthSpec is a container health check, as HEALTHCHECK in a Dockerfile.
type HealthSpec struct {
	// Test is the check: ["CMD", prog, args...], ["CMD-SHELL", "command"]
	// or ["NONE"] (disable the image's check). Empty means the image's.
	Test []string `json:"test,omitempty"`
	// Interval, Timeout and StartPeriod are the engine's; 0 means the
	// engine default (30 s, 30 s, 0 s). The engine wants at least 1 ms.
	Interval    time.Duration `json:"interval,omitempty"`
	Timeout     time.Duration `json:"timeout,omitempty"`
	StartPeriod time.Duration `json:"start_period,omitempty"`
	// Retries is how many consecutive failures make the container
	// unhealthy; 0 means the engine default (3).
	Retries int `json:"retries,omitempty"`
}

// CreateSpecOptions describes a container for [Client.CreateSpec]: all of
// [CreateOptions] plus the host settings a declared application needs.
type CreateSpecOptions struct {
	CreateOptions
	// Ports are published on the host.
	Ports []PortSpec
	// Mounts are added to CreateOptions.Binds.
	Mounts []MountSpec
	// Networks are attached in order: the first at creation (it replaces
	// CreateOptions.Network), the others with a connect call right after,
	// so this works on engines older than API 1.44, which take one
	// network at creation.
	Networks []string
	// RestartPolicy is "no" (when empty), "always", "unless-stopped" or
	// "on-failure"; MaxRetries is the on-failure limit (0: unlimited).
	RestartPolicy string
	MaxRetries    int
	// Health, when not nil, sets the container's health check.
	Health *HealthSpec
}

// CreateSpec creates a container from o without starting it, as
// [Client.Create] does (same errors: the image must be present, a name in
// use is a conflict). When connecting a second network fails the
// container is removed again and the error returned.
func (c *Client) CreateSpec(ctx context.Context, o CreateSpecOptions) (CreateResult, error) {
	subject := "create"
	if o.Name != "" {
		subject += " " + o.Name
	}
	if o.Image == "" {
		return CreateResult{}, fmt.Errorf("%s: no image given", subject)
	}
	cfg := &container.Config{
		Image: o.Image, Cmd: o.Cmd, Entrypoint: o.Entrypoint, Env: o.Env, WorkingDir: o.WorkingDir,
		User: o.User, Labels: maps.Clone(o.Labels), StopSignal: o.StopSignal, StopTimeout: o.StopTimeout, Tty: o.Tty,
	}
	host := &container.HostConfig{
		Binds: o.Binds, AutoRemove: o.AutoRemove,
		Resources: container.Resources{Memory: o.Memory, NanoCPUs: o.NanoCPUs},
	}
	if o.Memory > 0 {
		host.MemorySwap = o.Memory
	}
	if len(o.Ports) > 0 {
		cfg.ExposedPorts = nat.PortSet{}
		host.PortBindings = nat.PortMap{}
		for i, p := range o.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = "tcp"
			}
			if p.ContainerPort == 0 {
				return CreateResult{}, fmt.Errorf("%s: ports[%d]: container port 0: want 1-65535", subject, i)
			}
			port, err := nat.NewPort(proto, strconv.Itoa(int(p.ContainerPort)))
			if err != nil {
				return CreateResult{}, fmt.Errorf("%s: ports[%d]: %w", subject, i, err)
			}
			cfg.ExposedPorts[port] = struct{}{}
			hp := ""
			if p.HostPort != 0 {
				hp = strconv.Itoa(int(p.HostPort))
			}
			host.PortBindings[port] = append(host.PortBindings[port], nat.PortBinding{HostIP: p.HostIP, HostPort: hp})
		}
	}
	for i, m := range o.Mounts {
		mt, err := mountType(m.Type)
		if err != nil {
			return CreateResult{}, fmt.Errorf("%s: mounts[%d]: %w", subject, i, err)
		}
		host.Mounts = append(host.Mounts, mountFrom(mt, m))
	}
	switch o.RestartPolicy {
	case "", "no", "always", "unless-stopped", "on-failure":
		host.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyMode(o.RestartPolicy), MaximumRetryCount: o.MaxRetries}
	default:
		return CreateResult{}, fmt.Errorf("%s: restart policy %q: want no, always, unless-stopped or on-failure", subject, o.RestartPolicy)
	}
	if h := o.Health; h != nil {
		cfg.Healthcheck = &container.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
	nets := o.Networks
	if len(nets) == 0 && o.Network != "" {
		nets = []string{o.Network}
	}
	var netCfg *network.NetworkingConfig
	if len(nets) > 0 {
		host.NetworkMode = container.NetworkMode(nets[0])
		netCfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{nets[0]: {}}}
	}
	var extra appAPI
	if len(nets) > 1 {
		a, err := c.appAPI(subject)
		if err != nil {
			return CreateResult{}, err
		}
		extra = a
	}
	cctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	resp, err := c.api.ContainerCreate(cctx, cfg, host, netCfg, nil, o.Name)
	if err != nil {
		if IsNotFound(err) && strings.Contains(strings.ToLower(err.Error()), "no such image") {
			return CreateResult{}, fmt.Errorf("%s: image %q is not present on the engine and minato does not pull images (load or pull it first): %w", subject, o.Image, err)
		}
		return CreateResult{}, c.wrap(subject, "", err)
	}
	for _, n := range nets[min(1, len(nets)):] {
		if err := extra.NetworkConnect(cctx, n, resp.ID, &network.EndpointSettings{}); err != nil {
			_ = c.api.ContainerRemove(context.WithoutCancel(cctx), resp.ID, container.RemoveOptions{Force: true})
			return CreateResult{}, c.wrap(subject+": connect network "+n, "", err)
		}
	}
	c.log.DebugContext(ctx, "container created", "container", shortID(resp.ID), "image", o.Image)
	return CreateResult{ID: resp.ID, Warnings: resp.Warnings}, nil
}

// Rename gives the container (ID or name) a new name. A name in use is an
// error for which [IsConflict] is true, a missing container one for which
// [IsNotFound] is.
func (c *Client) Rename(ctx context.Context, id, name string) error {
	a, err := c.appAPI("rename " + shortID(id))
	if err != nil {
		return err
	}
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	return c.wrap("rename to "+name, id, a.ContainerRename(ctx, id, name))
}

// ConnectNetwork attaches the container (ID or name) to the network (name
// or ID). Attaching it to a network it is already on is an error from the
// engine.
func (c *Client) ConnectNetwork(ctx context.Context, networkName, id string) error {
	a, err := c.appAPI("connect " + shortID(id))
	if err != nil {
		return err
	}
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	return c.wrap("connect network "+networkName, id, a.NetworkConnect(ctx, networkName, id, &network.EndpointSettings{}))
}

// NamedObject is a network or volume: its name and labels.
type NamedObject struct {
	// Name is the network's or volume's name.
	Name string `json:"name"`
	// ID is the network's ID; for volumes it equals Name.
	ID string `json:"id"`
	// Labels are the object's labels.
	Labels map[string]string `json:"labels,omitempty"`
}

// Networks lists the engine's networks that carry all of labels (an empty
// value means "label present"; nil lists every network).
func (c *Client) Networks(ctx context.Context, labels map[string]string) ([]NamedObject, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	ns, err := c.api.NetworkList(ctx, network.ListOptions{Filters: labelFilters(labels)})
	if err != nil {
		return nil, c.wrap("list networks", "", err)
	}
	out := make([]NamedObject, 0, len(ns))
	for _, n := range ns {
		out = append(out, NamedObject{Name: n.Name, ID: n.ID, Labels: n.Labels})
	}
	return out, nil
}

// Volumes lists the engine's volumes that carry all of labels (as
// [Client.Networks]).
func (c *Client) Volumes(ctx context.Context, labels map[string]string) ([]NamedObject, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	vs, err := c.api.VolumeList(ctx, volume.ListOptions{Filters: labelFilters(labels)})
	if err != nil {
		return nil, c.wrap("list volumes", "", err)
	}
	out := make([]NamedObject, 0, len(vs.Volumes))
	for _, v := range vs.Volumes {
		if v != nil {
			out = append(out, NamedObject{Name: v.Name, ID: v.Name, Labels: v.Labels})
		}
	}
	return out, nil
}

// CreateVolume creates a local volume with the given name and labels.
// Creating a volume that exists is not an error for the engine (it keeps
// the existing volume and its labels).
func (c *Client) CreateVolume(ctx context.Context, name string, labels map[string]string) error {
	a, err := c.appAPI("create volume " + name)
	if err != nil {
		return err
	}
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	_, err = a.VolumeCreate(ctx, volume.CreateOptions{Name: name, Labels: maps.Clone(labels)})
	return c.wrap("create volume "+name, "", err)
}

// RemoveVolume removes the volume. A volume in use is an error for which
// [IsConflict] is true, a missing one an error for which [IsNotFound] is.
func (c *Client) RemoveVolume(ctx context.Context, name string) error {
	a, err := c.appAPI("remove volume " + name)
	if err != nil {
		return err
	}
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	return c.wrap("remove volume "+name, "", a.VolumeRemove(ctx, name, false))
}

func mountType(t string) (mount.Type, error) {
	switch t {
	case "bind":
		return mount.TypeBind, nil
	case "volume":
		return mount.TypeVolume, nil
	case "tmpfs":
		return mount.TypeTmpfs, nil
	}
	return "", fmt.Errorf("type %q: want bind, volume or tmpfs", t)
}

func mountFrom(t mount.Type, m MountSpec) mount.Mount {
	out := mount.Mount{Type: t, Target: m.Target, ReadOnly: m.ReadOnly}
	if t != mount.TypeTmpfs {
		out.Source = m.Source
	}
	return out
}
