package docker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// EngineTarget returns the Target for the engine c talks to, for the
// engine-level monitors ([HostStatus], [ContainerCount], [DiskUsage]).
func EngineTarget(c *container.Client) inventory.Target {
	return inventory.Target{Kind: inventory.KindHost, ID: c.Host(), Name: c.Host(), Engine: c.Host()}
}

// HostStatus is the daemon health monitor of the Hinemos Docker scripts: it
// pings the engine. engine_status is 0 when the engine answers and 1 when
// it does not (the Hinemos "Status" value); the Result's Status is
// Critical then. An unreachable engine is a measurement, not an error.
type HostStatus struct{ c *container.Client }

// NewHostStatus returns the daemon health monitor for c's engine.
func NewHostStatus(c *container.Client) *HostStatus { return &HostStatus{c: c} }

var _ monitor.Monitor = (*HostStatus)(nil)

// Check pings the engine; the Target is ignored (the monitor is bound to
// its client's engine).
func (h *HostStatus) Check(ctx context.Context, _ inventory.Target) (monitor.Result, error) {
	now := time.Now()
	p, err := h.c.Ping(ctx)
	res := monitor.Result{Time: now}
	up := 1.0
	if err != nil {
		up = 0
		res.Status = monitor.Critical
		res.Message = err.Error()
	} else {
		res.Message = "engine answers, API " + p.APIVersion
	}
	res.Samples = []monitor.Sample{
		{Name: "engine_status", Value: 1 - up, Time: now, Mode: monitor.ModeAPI},
		{Name: "engine_up", Value: up, Time: now, Mode: monitor.ModeAPI},
	}
	return res, nil
}

// Describe lists engine_status and engine_up.
func (h *HostStatus) Describe() []monitor.SampleDesc {
	return []monitor.SampleDesc{
		{Name: "engine_status", Kind: monitor.Gauge, Help: "0 when the engine answers /_ping, 1 when not (Hinemos Status)."},
		{Name: "engine_up", Kind: monitor.Gauge, Help: "1 when the engine answers /_ping, 0 when not."},
	}
}

// CountStates is the order in which [ContainerCount] reports states: the
// Hinemos Docker scripts' four first, then the states later engines added.
var CountStates = []container.State{container.Running, container.Restarting, container.Paused, container.Exited, container.Created, container.Removing, container.Dead}

// ContainerCount counts the engine's containers per state: one
// "containers" sample per state in [CountStates], zero counts included.
type ContainerCount struct{ c *container.Client }

// NewContainerCount returns the per-state container count monitor.
func NewContainerCount(c *container.Client) *ContainerCount { return &ContainerCount{c: c} }

var _ monitor.Monitor = (*ContainerCount)(nil)

// Check lists every container once.
func (m *ContainerCount) Check(ctx context.Context, _ inventory.Target) (monitor.Result, error) {
	list, err := m.c.List(ctx, container.ListOptions{All: true})
	if err != nil {
		return monitor.Result{}, err
	}
	now := time.Now()
	counts := map[container.State]int{}
	for _, s := range list.Containers {
		counts[s.State]++
	}
	res := monitor.Result{Time: now, Message: fmt.Sprintf("%d containers", len(list.Containers))}
	for _, st := range CountStates {
		res.Samples = append(res.Samples, monitor.Sample{Name: "containers", Value: float64(counts[st]), Labels: map[string]string{"state": string(st)}, Time: now, Mode: monitor.ModeAPI})
	}
	return res, nil
}

// Describe lists the containers sample.
func (m *ContainerCount) Describe() []monitor.SampleDesc {
	return []monitor.SampleDesc{{Name: "containers", Kind: monitor.Gauge, Help: "Containers in each state.", Labels: []string{"state"}}}
}

// DiskUsage reports the disk the engine uses: image layers counted once
// (disk_images_bytes, the engine's LayersSize, so layers shared between
// images are not counted twice) and the containers' writable layers per
// state (disk_containers_bytes). It asks the engine's expensive disk-usage
// call: run it at long intervals (the Hinemos scripts suggest hourly).
//
// The engine runs one disk-usage operation at a time and refuses others
// ("a disk usage operation is already running"), even for a while after a
// caller gave up on one. Check therefore serialises its own calls and
// retries that refusal until ctx ends, so concurrent checks of one engine
// wait for each other instead of failing.
type DiskUsage struct {
	c  *container.Client
	mu sync.Mutex
}

// NewDiskUsage returns the disk usage monitor.
func NewDiskUsage(c *container.Client) *DiskUsage { return &DiskUsage{c: c} }

// diskUsage asks the engine, retrying while another disk-usage operation
// (ours or another client's) is running.
func (m *DiskUsage) diskUsage(ctx context.Context) (container.DiskUsageResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for delay := 100 * time.Millisecond; ; delay = min(delay*2, 2*time.Second) {
		du, err := m.c.DiskUsage(ctx)
		if err == nil || !strings.Contains(err.Error(), "disk usage operation is already running") {
			return du, err
		}
		select {
		case <-ctx.Done():
			return du, err
		case <-time.After(delay):
		}
	}
}

var _ monitor.Monitor = (*DiskUsage)(nil)

// Check asks the engine for its disk accounting.
func (m *DiskUsage) Check(ctx context.Context, _ inventory.Target) (monitor.Result, error) {
	du, err := m.diskUsage(ctx)
	if err != nil {
		return monitor.Result{}, err
	}
	now := time.Now()
	res := monitor.Result{Time: now}
	res.Samples = append(res.Samples, monitor.Sample{Name: "disk_images_bytes", Value: float64(du.LayersSize), Unit: monitor.Bytes, Time: now, Mode: monitor.ModeAPI})
	per := map[container.State]int64{}
	for _, c := range du.Containers {
		per[c.State] += c.SizeRw
	}
	for _, st := range CountStates {
		res.Samples = append(res.Samples, monitor.Sample{Name: "disk_containers_bytes", Value: float64(per[st]), Unit: monitor.Bytes, Labels: map[string]string{"state": string(st)}, Time: now, Mode: monitor.ModeAPI})
	}
	res.Samples = append(res.Samples, monitor.Sample{Name: "disk_volumes_bytes", Value: float64(du.VolumesSize), Unit: monitor.Bytes, Time: now, Mode: monitor.ModeAPI})
	return res, nil
}

// Describe lists the disk samples.
func (m *DiskUsage) Describe() []monitor.SampleDesc {
	return []monitor.SampleDesc{
		{Name: "disk_images_bytes", Unit: monitor.Bytes, Kind: monitor.Gauge, Help: "Disk used by image layers, each layer once."},
		{Name: "disk_containers_bytes", Unit: monitor.Bytes, Kind: monitor.Gauge, Help: "Disk used by containers' writable layers, per state.", Labels: []string{"state"}},
		{Name: "disk_volumes_bytes", Unit: monitor.Bytes, Kind: monitor.Gauge, Help: "Disk used by local volumes."},
	}
}
