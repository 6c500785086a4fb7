package container

import (
	"context"
	"strings"
	"time"

	"github.com/minato-ops/minato/inventory"
)

// InspectOptions tunes [Client.Inspect].
type InspectOptions struct {
	// Size fills InspectResult.SizeRw and SizeRootFs (slow, as for List).
	Size bool
}

// InspectResult is the part of a container's inspect document minato uses.
type InspectResult struct {
	// ID is the full container ID; Name has no leading "/".
	ID   string `json:"id"`
	Name string `json:"name"`
	// Image is the configured image reference; ImageID its content ID.
	Image   string `json:"image"`
	ImageID string `json:"image_id"`
	// Created is the creation time.
	Created time.Time `json:"created"`
	// State is the lifecycle state.
	State State `json:"state"`
	// Pid is the main process's PID on the engine's host (0 when not running).
	Pid int `json:"pid"`
	// ExitCode is the last exit code; meaningful when State is exited.
	ExitCode int `json:"exit_code"`
	// Error is the engine's last error for the container (a start failure).
	Error string `json:"error,omitempty"`
	// OOMKilled says the last exit was caused by the kernel OOM killer.
	OOMKilled bool `json:"oom_killed"`
	// StartedAt and FinishedAt are zero when never started or finished.
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// Health is "starting", "healthy" or "unhealthy"; empty without a
	// health check.
	Health string `json:"health,omitempty"`
	// RestartCount is how often the engine restarted the container under
	// its restart policy. It resets when the container is started by hand.
	RestartCount int `json:"restart_count"`
	// Labels are the container's labels; Env is deliberately absent (it
	// often holds secrets).
	Labels map[string]string `json:"labels,omitempty"`
	// Cmd and Entrypoint are the configured command.
	Cmd        []string `json:"cmd,omitempty"`
	Entrypoint []string `json:"entrypoint,omitempty"`
	// StopTimeout is the container's own stop grace period in seconds, or
	// nil for the engine default (10 s).
	StopTimeout *int `json:"stop_timeout,omitempty"`
	// MemoryLimit (bytes), NanoCPUs and PidsLimit are the resource limits;
	// 0 means none.
	MemoryLimit int64 `json:"memory_limit"`
	NanoCPUs    int64 `json:"nano_cpus"`
	PidsLimit   int64 `json:"pids_limit"`
	// CPUQuota and CPUPeriod (microseconds) are the CFS quota set with
	// --cpu-quota/--cpu-period; CpusetCPUs the --cpuset-cpus list ("0-1").
	CPUQuota   int64  `json:"cpu_quota,omitempty"`
	CPUPeriod  int64  `json:"cpu_period,omitempty"`
	CpusetCPUs string `json:"cpuset_cpus,omitempty"`
	// SizeRw and SizeRootFs are set when InspectOptions.Size was given.
	SizeRw     int64 `json:"size_rw,omitempty"`
	SizeRootFs int64 `json:"size_root_fs,omitempty"`
	// Raw is the engine's inspect document as received, for fields this
	// struct does not carry. It may contain the container's environment:
	// do not log it.
	Raw []byte `json:"-"`
}

// Target returns the container as an [inventory.Target] on the given engine.
func (r InspectResult) Target(engine string) inventory.Target {
	return inventory.Target{Kind: inventory.KindContainer, ID: r.ID, Name: r.Name, Engine: engine, Labels: r.Labels}
}

// Inspect returns the container's current details. id may be a full or
// short ID or a name, as the engine accepts. A missing container gives an
// error for which [IsNotFound] is true.
func (c *Client) Inspect(ctx context.Context, id string, o InspectOptions) (InspectResult, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	j, raw, err := c.api.ContainerInspectWithRaw(ctx, id, o.Size)
	if err != nil {
		return InspectResult{}, c.wrap("inspect", id, err)
	}
	r := InspectResult{Raw: raw}
	if j.ContainerJSONBase != nil {
		b := j.ContainerJSONBase
		r.ID, r.Name, r.ImageID = b.ID, inventory.TrimName(b.Name), b.Image
		r.Created = parseTime(b.Created)
		r.RestartCount = b.RestartCount
		if b.SizeRw != nil {
			r.SizeRw = *b.SizeRw
		}
		if b.SizeRootFs != nil {
			r.SizeRootFs = *b.SizeRootFs
		}
		if s := b.State; s != nil {
			r.State = State(strings.ToLower(string(s.Status)))
			r.Pid, r.ExitCode, r.Error, r.OOMKilled = s.Pid, s.ExitCode, s.Error, s.OOMKilled
			r.StartedAt, r.FinishedAt = parseTime(s.StartedAt), parseTime(s.FinishedAt)
			if s.Health != nil {
				r.Health = string(s.Health.Status)
			}
		}
		if h := b.HostConfig; h != nil {
			r.MemoryLimit, r.NanoCPUs = h.Memory, h.NanoCPUs
			r.CPUQuota, r.CPUPeriod, r.CpusetCPUs = h.CPUQuota, h.CPUPeriod, h.CpusetCpus
			if h.PidsLimit != nil {
				r.PidsLimit = *h.PidsLimit
			}
		}
	}
	if cfg := j.Config; cfg != nil {
		r.Image, r.Labels, r.Cmd, r.Entrypoint, r.StopTimeout = cfg.Image, cfg.Labels, cfg.Cmd, cfg.Entrypoint, cfg.StopTimeout
	}
	return r, nil
}

// parseTime parses the engine's RFC 3339 timestamps; the engine's "never"
// (0001-01-01T00:00:00Z) and bad text become the zero Time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}
