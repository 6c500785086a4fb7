package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
)

// Stats is one resource-usage sample of a container as the engine reports
// it. Counters are cumulative since the container started; rates need two
// samples. Fields the engine did not report are zero, and Memory.Stats
// holds whatever keys the engine's cgroup version provides (cgroup v1:
// "total_inactive_file", "rss", ...; cgroup v2: "inactive_file", "anon", ...).
type Stats struct {
	// ID is the container ID and Name its name, without a leading "/".
	ID   string `json:"id"`
	Name string `json:"name"`
	// Read is when the engine took the sample; PreRead when it took the
	// previous one (zero for one-shot samples).
	Read    time.Time `json:"read"`
	PreRead time.Time `json:"preread"`
	// CPU and PreCPU are this and the previous CPU sample.
	CPU    CPUStats `json:"cpu"`
	PreCPU CPUStats `json:"precpu"`
	// Memory is the memory cgroup's state.
	Memory MemoryStats `json:"memory"`
	// BlkIO has the block-device counters: one entry per device and op.
	BlkIO []BlkIOEntry `json:"blkio,omitempty"`
	// Networks has per-interface counters, keyed by interface name; nil
	// for a container without a network namespace of its own.
	Networks map[string]NetworkStats `json:"networks,omitempty"`
	// PIDs is the number of tasks and the pids.max limit (0 = none).
	PIDs PIDStats `json:"pids"`
}

// CPUStats is one CPU sample. Times are nanoseconds.
type CPUStats struct {
	// TotalUsage is the container's CPU time; PerCPU per core (cgroup v1
	// only, nil on v2); Kernel and User split TotalUsage.
	TotalUsage uint64   `json:"total_usage"`
	PerCPU     []uint64 `json:"percpu,omitempty"`
	Kernel     uint64   `json:"kernel"`
	User       uint64   `json:"user"`
	// System is the host's total CPU time, for the docker stats formula.
	System uint64 `json:"system"`
	// OnlineCPUs is the number of CPUs the host has online.
	OnlineCPUs uint32 `json:"online_cpus"`
	// ThrottledPeriods, Periods and ThrottledTime come from the CFS quota.
	Periods          uint64 `json:"periods"`
	ThrottledPeriods uint64 `json:"throttled_periods"`
	ThrottledTime    uint64 `json:"throttled_time"`
}

// MemoryStats is the memory cgroup's state in bytes.
type MemoryStats struct {
	Usage    uint64            `json:"usage"`
	MaxUsage uint64            `json:"max_usage,omitempty"`
	Limit    uint64            `json:"limit"`
	Failcnt  uint64            `json:"failcnt,omitempty"`
	Stats    map[string]uint64 `json:"stats,omitempty"`
}

// BlkIOEntry is one block-device counter (io_service_bytes_recursive).
type BlkIOEntry struct {
	Major, Minor uint64
	Op           string // "Read", "Write", "Sync", "Async", "Discard", "Total" (case varies by engine)
	Value        uint64
}

// NetworkStats holds one interface's counters.
type NetworkStats struct {
	RxBytes, RxPackets, RxErrors, RxDropped uint64
	TxBytes, TxPackets, TxErrors, TxDropped uint64
}

// PIDStats is the pids cgroup's state.
type PIDStats struct {
	Current uint64 `json:"current"`
	Limit   uint64 `json:"limit"`
}

// StatsOptions tunes [Client.Stats].
type StatsOptions struct {
	// TwoSample asks for the engine's classic sample, which waits about one
	// second to fill PreCPU. The default is a one-shot sample (API ≥ 1.41)
	// that returns at once with PreCPU empty; rates then come from the
	// caller's own previous sample.
	TwoSample bool
}

// StatsResult is what [Client.Stats] returns.
type StatsResult struct {
	Stats Stats
	// OSType is the engine's platform ("linux").
	OSType string
}

// Stats takes one resource-usage sample of the container. A stopped
// container yields a sample with zero counters, as the engine reports it.
func (c *Client) Stats(ctx context.Context, id string, o StatsOptions) (StatsResult, error) {
	ctx, cancel := c.withTimeout(ctx, 2*time.Second)
	defer cancel()
	var (
		r   container.StatsResponseReader
		err error
	)
	if o.TwoSample {
		r, err = c.api.ContainerStats(ctx, id, false)
	} else {
		r, err = c.api.ContainerStatsOneShot(ctx, id)
	}
	if err != nil {
		return StatsResult{}, c.wrap("stats", id, err)
	}
	defer r.Body.Close()
	var raw container.StatsResponse
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		return StatsResult{}, fmt.Errorf("stats %s: decoding: %w", shortID(id), err)
	}
	return StatsResult{Stats: statsFrom(raw), OSType: r.OSType}, nil
}

// StatsStream delivers the engine's streamed samples (one per second) to fn
// until ctx is done, fn returns an error, or the stream ends (the container
// was removed). It returns nil when ctx ended it.
func (c *Client) StatsStream(ctx context.Context, id string, fn func(Stats) error) error {
	c.ready(ctx)
	r, err := c.api.ContainerStats(ctx, id, true)
	if err != nil {
		return c.wrap("stats", id, err)
	}
	defer r.Body.Close()
	dec := json.NewDecoder(r.Body)
	for {
		var raw container.StatsResponse
		if err := dec.Decode(&raw); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("stats %s: stream ended", shortID(id))
			}
			return fmt.Errorf("stats %s: decoding: %w", shortID(id), err)
		}
		if err := fn(statsFrom(raw)); err != nil {
			return err
		}
	}
}

func statsFrom(r container.StatsResponse) Stats {
	s := Stats{
		ID: r.ID, Name: trimSlash(r.Name), Read: r.Read, PreRead: r.PreRead,
		CPU: cpuFrom(r.CPUStats), PreCPU: cpuFrom(r.PreCPUStats),
		Memory: MemoryStats{Usage: r.MemoryStats.Usage, MaxUsage: r.MemoryStats.MaxUsage, Limit: r.MemoryStats.Limit, Failcnt: r.MemoryStats.Failcnt, Stats: r.MemoryStats.Stats},
		PIDs:   PIDStats{Current: r.PidsStats.Current, Limit: r.PidsStats.Limit},
	}
	for _, e := range r.BlkioStats.IoServiceBytesRecursive {
		s.BlkIO = append(s.BlkIO, BlkIOEntry{Major: e.Major, Minor: e.Minor, Op: e.Op, Value: e.Value})
	}
	if r.Networks != nil {
		s.Networks = make(map[string]NetworkStats, len(r.Networks))
		for k, n := range r.Networks {
			s.Networks[k] = NetworkStats{n.RxBytes, n.RxPackets, n.RxErrors, n.RxDropped, n.TxBytes, n.TxPackets, n.TxErrors, n.TxDropped}
		}
	}
	return s
}

func cpuFrom(c container.CPUStats) CPUStats {
	return CPUStats{
		TotalUsage: c.CPUUsage.TotalUsage, PerCPU: c.CPUUsage.PercpuUsage, Kernel: c.CPUUsage.UsageInKernelmode, User: c.CPUUsage.UsageInUsermode,
		System: c.SystemUsage, OnlineCPUs: c.OnlineCPUs,
		Periods: c.ThrottlingData.Periods, ThrottledPeriods: c.ThrottlingData.ThrottledPeriods, ThrottledTime: c.ThrottlingData.ThrottledTime,
	}
}

func trimSlash(s string) string {
	if len(s) > 0 && s[0] == '/' {
		return s[1:]
	}
	return s
}
