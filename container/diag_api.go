package container

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
)

// This file holds the engine calls and inspect fields that diagnostics
// (package diag/docker) need beyond the rest of this package.

// SystemInfoResult is the engine's system information with the parts
// diagnostics use: what [Client.Info] returns plus the engine's own
// warnings, clock, storage and logging drivers, and when the request was
// sent and answered, so that the engine's clock can be compared with this
// machine's.
type SystemInfoResult struct {
	InfoResult
	// Warnings are the engine's warnings as docker info prints them
	// ("WARNING: No swap limit support"), in the engine's order.
	Warnings []string `json:"warnings,omitempty"`
	// SystemTime is the engine's clock when it answered; zero when the
	// engine did not say.
	SystemTime time.Time `json:"system_time"`
	// Driver is the storage driver ("overlay2", "devicemapper", "vfs");
	// DriverStatus its key/value details ("Data loop file", ...).
	Driver       string      `json:"driver"`
	DriverStatus [][2]string `json:"driver_status,omitempty"`
	// LoggingDriver is the default log driver of new containers.
	LoggingDriver string `json:"logging_driver"`
	// InitBinary is the init the engine runs for --init ("docker-init").
	InitBinary string `json:"init_binary,omitempty"`
	// SecurityOptions are the engine's security features
	// ("name=seccomp,profile=default", "name=rootless").
	SecurityOptions []string `json:"security_options,omitempty"`
	// Sent and Received are this machine's clock just before the request
	// was sent and just after the answer arrived (with Go's monotonic
	// reading, so Received.Sub(Sent) is the round trip).
	Sent     time.Time `json:"sent"`
	Received time.Time `json:"received"`
}

// SystemInfo asks the engine for its system information (GET /info), as
// [Client.Info] does, and returns the fuller [SystemInfoResult].
func (c *Client) SystemInfo(ctx context.Context) (SystemInfoResult, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	sent := time.Now()
	i, err := c.api.Info(ctx)
	received := time.Now()
	if err != nil {
		return SystemInfoResult{}, c.wrap("info", "", err)
	}
	r := SystemInfoResult{
		InfoResult: infoResultFrom(i),
		Warnings:   i.Warnings, Driver: i.Driver, DriverStatus: i.DriverStatus,
		LoggingDriver: i.LoggingDriver, InitBinary: i.InitBinary, SecurityOptions: i.SecurityOptions,
		SystemTime: parseTime(i.SystemTime), Sent: sent, Received: received,
	}
	return r, nil
}

func infoResultFrom(i system.Info) InfoResult {
	v := i.CgroupVersion
	if v == "" {
		v = "1"
	}
	return InfoResult{
		ID: i.ID, Name: i.Name, ServerVersion: i.ServerVersion,
		CgroupDriver: i.CgroupDriver, CgroupVersion: v, NCPU: i.NCPU, MemTotal: i.MemTotal,
		OSType: i.OSType, KernelVersion: i.KernelVersion, OperatingSystem: i.OperatingSystem, DockerRootDir: i.DockerRootDir,
		Containers: i.Containers, ContainersRunning: i.ContainersRunning, ContainersPaused: i.ContainersPaused,
		ContainersStopped: i.ContainersStopped, Images: i.Images,
	}
}

// VersionResult is what the engine's /version endpoint reports.
type VersionResult struct {
	// Version is the engine's release ("20.10.24", "28.2.2").
	Version string `json:"version"`
	// APIVersion is the highest Engine API version the engine speaks;
	// MinAPIVersion the lowest it accepts from clients (empty on engines
	// too old to say).
	APIVersion    string `json:"api_version"`
	MinAPIVersion string `json:"min_api_version,omitempty"`
	// Os and Arch are the engine's platform ("linux", "amd64");
	// KernelVersion its host's kernel.
	Os            string `json:"os"`
	Arch          string `json:"arch"`
	KernelVersion string `json:"kernel_version,omitempty"`
	// Platform names the product ("Docker Engine - Community"); empty
	// when the engine does not say.
	Platform string `json:"platform,omitempty"`
}

// Version asks the engine for its version (GET /version).
func (c *Client) Version(ctx context.Context) (VersionResult, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	v, err := c.api.ServerVersion(ctx)
	if err != nil {
		return VersionResult{}, c.wrap("version", "", err)
	}
	return VersionResult{
		Version: v.Version, APIVersion: v.APIVersion, MinAPIVersion: v.MinAPIVersion,
		Os: v.Os, Arch: v.Arch, KernelVersion: v.KernelVersion, Platform: v.Platform.Name,
	}, nil
}

// Settings are the parts of a container's configuration that diagnostics
// judge: how the engine restarts it, what it may do on the host, where
// its log goes and which host ports it claims. They come from the inspect
// document ([InspectResult.Settings]); the engine has already merged the
// image's defaults (entrypoint, health check) and the daemon's default
// log options into them when the container was created.
type Settings struct {
	// RestartPolicy is "no", "always", "unless-stopped" or "on-failure";
	// "" (an engine that stored none) means "no". MaxRetries is the
	// on-failure limit, 0 for unlimited.
	RestartPolicy string `json:"restart_policy"`
	MaxRetries    int    `json:"max_retries,omitempty"`
	// AutoRemove is docker run --rm: the engine removes the container
	// when it exits.
	AutoRemove bool `json:"auto_remove,omitempty"`
	// Init is docker run --init: true or false when given, nil when left
	// to the daemon's default (daemon.json "init", false unless set).
	Init *bool `json:"init,omitempty"`
	// Privileged is docker run --privileged.
	Privileged bool `json:"privileged,omitempty"`
	// LogDriver is the container's log driver ("json-file", "local",
	// "journald"); LogOptions its options ("max-size": "10m").
	LogDriver  string            `json:"log_driver"`
	LogOptions map[string]string `json:"log_options,omitempty"`
	// PortBindings are the host ports the container claims (docker run
	// -p), whether it runs or not, sorted by protocol, host port, host IP
	// and container port.
	PortBindings []PortBinding `json:"port_bindings,omitempty"`
	// PublishAll is docker run -P: every exposed port on a random host
	// port.
	PublishAll bool `json:"publish_all,omitempty"`
	// NetworkMode is "bridge", "host", "none", "container:<id>" or a
	// network name. With "host" the container uses the host's ports
	// directly and PortBindings are ignored by the engine.
	NetworkMode string `json:"network_mode"`
	// Mounts are the container's mounts (binds, volumes, tmpfs).
	Mounts []Mount `json:"mounts,omitempty"`
	// Healthcheck is the health-check command ("CMD-SHELL", "curl ...");
	// nil when there is none, ["NONE"] when the image's was disabled.
	Healthcheck []string `json:"healthcheck,omitempty"`
}

// PortBinding is one host port a container claims (docker run -p
// HOSTIP:HOSTPORT:PORT/PROTO).
type PortBinding struct {
	// ContainerPort and Proto ("tcp", "udp", "sctp") are the port inside
	// the container.
	ContainerPort uint16 `json:"container_port"`
	Proto         string `json:"proto"`
	// HostIP is the host address ("" for every address, as "0.0.0.0").
	HostIP string `json:"host_ip,omitempty"`
	// HostPort is the host port as given: "8080", a range "8000-8010"
	// the engine picks one from, or "" (or "0") for any free port.
	HostPort string `json:"host_port,omitempty"`
}

// Settings decodes the container's [Settings] from the inspect document
// the engine returned (r.Raw). It fails when r has no such document (an
// InspectResult not made by [Client.Inspect]) or the document does not
// decode.
func (r InspectResult) Settings() (Settings, error) {
	if len(r.Raw) == 0 {
		return Settings{}, fmt.Errorf("container %s: no inspect document to read the settings from (use Client.Inspect)", shortID(r.ID))
	}
	var doc struct {
		HostConfig *struct {
			RestartPolicy struct {
				Name              string
				MaximumRetryCount int
			}
			AutoRemove      bool
			Init            *bool
			Privileged      bool
			PublishAllPorts bool
			NetworkMode     string
			LogConfig       struct {
				Type   string
				Config map[string]string
			}
			PortBindings map[string][]struct {
				HostIP   string `json:"HostIp"`
				HostPort string
			}
		}
		Config *struct {
			Healthcheck *struct{ Test []string }
		}
		Mounts []struct {
			Type        string
			Name        string
			Source      string
			Destination string
			RW          bool
		}
	}
	if err := json.Unmarshal(r.Raw, &doc); err != nil {
		return Settings{}, fmt.Errorf("container %s: decode inspect document: %w", shortID(r.ID), err)
	}
	var s Settings
	if h := doc.HostConfig; h != nil {
		s.RestartPolicy, s.MaxRetries = h.RestartPolicy.Name, h.RestartPolicy.MaximumRetryCount
		s.AutoRemove, s.Init, s.Privileged, s.PublishAll = h.AutoRemove, h.Init, h.Privileged, h.PublishAllPorts
		s.NetworkMode = h.NetworkMode
		s.LogDriver, s.LogOptions = h.LogConfig.Type, maps.Clone(h.LogConfig.Config)
		for key, bindings := range h.PortBindings {
			port, proto, err := parsePortKey(key)
			if err != nil {
				return Settings{}, fmt.Errorf("container %s: port binding %q: %w", shortID(r.ID), key, err)
			}
			for _, b := range bindings {
				s.PortBindings = append(s.PortBindings, PortBinding{ContainerPort: port, Proto: proto, HostIP: b.HostIP, HostPort: b.HostPort})
			}
		}
	}
	slices.SortFunc(s.PortBindings, func(a, b PortBinding) int {
		return cmp.Or(strings.Compare(a.Proto, b.Proto), cmp.Compare(portNumber(a.HostPort), portNumber(b.HostPort)),
			strings.Compare(a.HostPort, b.HostPort), strings.Compare(a.HostIP, b.HostIP), cmp.Compare(a.ContainerPort, b.ContainerPort))
	})
	if c := doc.Config; c != nil && c.Healthcheck != nil && len(c.Healthcheck.Test) > 0 {
		s.Healthcheck = slices.Clone(c.Healthcheck.Test)
	}
	for _, m := range doc.Mounts {
		s.Mounts = append(s.Mounts, Mount{Type: m.Type, Name: m.Name, Source: m.Source, Destination: m.Destination, RW: m.RW})
	}
	return s, nil
}

// parsePortKey parses the engine's "80/tcp" (a missing protocol is tcp).
func parsePortKey(key string) (uint16, string, error) {
	num, proto, ok := strings.Cut(key, "/")
	if !ok || proto == "" {
		proto = "tcp"
	}
	n, err := strconv.ParseUint(num, 10, 16)
	if err != nil || n == 0 {
		return 0, "", fmt.Errorf("want PORT/PROTO with a port from 1 to 65535")
	}
	return uint16(n), strings.ToLower(proto), nil
}

// portNumber is the first port of "8080" or "8000-8010", 0 otherwise.
func portNumber(s string) int {
	first, _, _ := strings.Cut(s, "-")
	n, err := strconv.Atoi(first)
	if err != nil {
		return 0
	}
	return n
}

// ReclaimableResult is the space the engine could give back: images no
// tag points to and no container uses, and volumes no container uses.
type ReclaimableResult struct {
	// DanglingImages are untagged images that no container uses (what
	// docker image prune removes).
	DanglingImages []ImageUsage `json:"dangling_images,omitempty"`
	// UnusedVolumes are volumes no container (running or not) mounts.
	UnusedVolumes []VolumeUsage `json:"unused_volumes,omitempty"`
}

// VolumeUsage is one volume in [ReclaimableResult].
type VolumeUsage struct {
	Name   string `json:"name"`
	Driver string `json:"driver"`
	// Size is the bytes in the volume; -1 when the driver cannot say
	// (only local volumes are measured).
	Size int64 `json:"size"`
	// Anonymous says the engine named the volume (64 hex digits): it was
	// created for a container's VOLUME or -v /path, not by name.
	Anonymous bool              `json:"anonymous,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// Reclaimable asks the engine's disk accounting (docker system df -v) for
// dangling images and unused volumes. Like [Client.DiskUsage] it is
// expensive on large engines (the engine measures every local volume, and
// engines before API 1.42 also every container's writable layer): do not
// call it at short intervals.
func (c *Client) Reclaimable(ctx context.Context) (ReclaimableResult, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	du, err := c.api.DiskUsage(ctx, types.DiskUsageOptions{Types: []types.DiskUsageObject{types.ImageObject, types.VolumeObject}})
	if err != nil {
		return ReclaimableResult{}, c.wrap("disk usage", "", err)
	}
	var r ReclaimableResult
	for _, im := range du.Images {
		if im == nil || im.Containers > 0 || slices.ContainsFunc(im.RepoTags, func(t string) bool { return t != "<none>:<none>" }) {
			continue
		}
		r.DanglingImages = append(r.DanglingImages, ImageUsage{ID: im.ID, Size: im.Size, SharedSize: im.SharedSize, Containers: im.Containers})
	}
	for _, v := range du.Volumes {
		if v == nil || (v.UsageData != nil && v.UsageData.RefCount != 0) {
			continue
		}
		size := int64(-1)
		if v.UsageData != nil && v.UsageData.Size >= 0 {
			size = v.UsageData.Size
		}
		r.UnusedVolumes = append(r.UnusedVolumes, VolumeUsage{Name: v.Name, Driver: v.Driver, Size: size, Anonymous: isHex64(v.Name), Labels: v.Labels})
	}
	slices.SortFunc(r.DanglingImages, func(a, b ImageUsage) int { return cmp.Or(cmp.Compare(b.Size, a.Size), strings.Compare(a.ID, b.ID)) })
	slices.SortFunc(r.UnusedVolumes, func(a, b VolumeUsage) int {
		return cmp.Or(cmp.Compare(b.Size, a.Size), strings.Compare(a.Name, b.Name))
	})
	return r, nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// networkAPI is the optional part of the engine client that creates and
// removes networks. The Docker client has it; a test double of engineAPI
// may not, and the calls then fail with [errors.ErrUnsupported].
type networkAPI interface {
	NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error)
	NetworkRemove(ctx context.Context, networkID string) error
}

// CreateNetworkOptions describes a network for [Client.CreateNetwork].
type CreateNetworkOptions struct {
	// Name is the network name. Required.
	Name string
	// Driver is the network driver; "" means "bridge".
	Driver string
	// Internal cuts the network off from the outside (no default route).
	Internal bool
	// Labels are set on the network. The map is copied.
	Labels map[string]string
}

// CreateNetworkResult is what [Client.CreateNetwork] returns.
type CreateNetworkResult struct {
	// ID is the new network's ID.
	ID string `json:"id"`
	// Warning is the engine's warning about the network, if any.
	Warning string `json:"warning,omitempty"`
}

// CreateNetwork creates a user-defined network (docker network create).
// A name in use is an error for which [IsConflict] is true.
func (c *Client) CreateNetwork(ctx context.Context, o CreateNetworkOptions) (CreateNetworkResult, error) {
	if o.Name == "" {
		return CreateNetworkResult{}, errors.New("create network: no name given")
	}
	api, ok := c.api.(networkAPI)
	if !ok {
		return CreateNetworkResult{}, fmt.Errorf("create network %s: %w by this engine client", o.Name, errors.ErrUnsupported)
	}
	driver := cmp.Or(o.Driver, "bridge")
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	resp, err := api.NetworkCreate(ctx, o.Name, network.CreateOptions{Driver: driver, Internal: o.Internal, Labels: maps.Clone(o.Labels)})
	if err != nil {
		return CreateNetworkResult{}, c.wrap("create network "+o.Name, "", err)
	}
	return CreateNetworkResult{ID: resp.ID, Warning: resp.Warning}, nil
}

// RemoveNetwork removes a network by ID or name (docker network rm). A
// missing network is an error for which [IsNotFound] is true; a network
// that containers still use is one for which the engine reports a
// conflict or a forbidden operation.
func (c *Client) RemoveNetwork(ctx context.Context, id string) error {
	api, ok := c.api.(networkAPI)
	if !ok {
		return fmt.Errorf("remove network %s: %w by this engine client", id, errors.ErrUnsupported)
	}
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	return c.wrap("remove network", id, api.NetworkRemove(ctx, id))
}
