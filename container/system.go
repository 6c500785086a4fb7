package container

import (
	"context"
	"strings"

	"github.com/docker/docker/api/types"
)

// InfoResult is the part of the engine's system information minato uses.
type InfoResult struct {
	// ID identifies the engine; it changes when the engine's state is
	// wiped. Name is its host name.
	ID   string `json:"id"`
	Name string `json:"name"`
	// ServerVersion is the engine version ("20.10.24").
	ServerVersion string `json:"server_version"`
	// CgroupDriver is "cgroupfs" or "systemd"; CgroupVersion "1" or "2"
	// (empty on engines too old to say, which are cgroup v1).
	CgroupDriver  string `json:"cgroup_driver"`
	CgroupVersion string `json:"cgroup_version"`
	// NCPU and MemTotal (bytes) describe the engine's host.
	NCPU     int   `json:"ncpu"`
	MemTotal int64 `json:"mem_total"`
	// OSType is "linux" or "windows"; KernelVersion and OperatingSystem
	// describe the host.
	OSType          string `json:"os_type"`
	KernelVersion   string `json:"kernel_version"`
	OperatingSystem string `json:"operating_system"`
	// DockerRootDir is the engine's data directory.
	DockerRootDir string `json:"docker_root_dir"`
	// Containers, ContainersRunning, ContainersPaused, ContainersStopped
	// and Images are the engine's own counts.
	Containers        int `json:"containers"`
	ContainersRunning int `json:"containers_running"`
	ContainersPaused  int `json:"containers_paused"`
	ContainersStopped int `json:"containers_stopped"`
	Images            int `json:"images"`
}

// Info returns the engine's system information.
func (c *Client) Info(ctx context.Context) (InfoResult, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	i, err := c.api.Info(ctx)
	if err != nil {
		return InfoResult{}, c.wrap("info", "", err)
	}
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
	}, nil
}

// DiskUsageResult is the engine's disk accounting (docker system df), in
// bytes. Image layers shared between images are counted once.
type DiskUsageResult struct {
	// LayersSize is the physical size of all image layers, each layer
	// once: the figure to use for "disk used by images".
	LayersSize int64 `json:"layers_size"`
	// Images lists every image with its size, the part shared with other
	// images, and the number of containers using it.
	Images []ImageUsage `json:"images"`
	// Containers lists every container with its writable layer size.
	Containers []ContainerUsage `json:"containers"`
	// VolumesSize is the total size of local volumes (-1 entries skipped).
	VolumesSize int64 `json:"volumes_size"`
}

// ImageUsage is one image in [DiskUsageResult].
type ImageUsage struct {
	ID         string   `json:"id"`
	RepoTags   []string `json:"repo_tags,omitempty"`
	Size       int64    `json:"size"`
	SharedSize int64    `json:"shared_size"`
	Containers int64    `json:"containers"`
}

// ContainerUsage is one container in [DiskUsageResult].
type ContainerUsage struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	State  State  `json:"state"`
	SizeRw int64  `json:"size_rw"`
}

// DiskUsage asks the engine for its disk accounting. It is expensive on
// large engines (the engine walks every writable layer): do not call it
// at short intervals.
func (c *Client) DiskUsage(ctx context.Context) (DiskUsageResult, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	du, err := c.api.DiskUsage(ctx, types.DiskUsageOptions{})
	if err != nil {
		return DiskUsageResult{}, c.wrap("disk usage", "", err)
	}
	r := DiskUsageResult{LayersSize: du.LayersSize}
	for _, im := range du.Images {
		if im == nil {
			continue
		}
		r.Images = append(r.Images, ImageUsage{ID: im.ID, RepoTags: im.RepoTags, Size: im.Size, SharedSize: im.SharedSize, Containers: im.Containers})
	}
	for _, ct := range du.Containers {
		if ct == nil {
			continue
		}
		s := summaryFrom(*ct)
		r.Containers = append(r.Containers, ContainerUsage{ID: s.ID, Name: s.Name, State: State(strings.ToLower(string(s.State))), SizeRw: ct.SizeRw})
	}
	for _, v := range du.Volumes {
		if v != nil && v.UsageData != nil && v.UsageData.Size > 0 {
			r.VolumesSize += v.UsageData.Size
		}
	}
	return r, nil
}
