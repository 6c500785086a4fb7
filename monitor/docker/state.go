package docker

import (
	"context"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// StateStatus is the verdict for each container state, following the
// system-log monitor rules of the Hinemos Docker scripts (running info,
// restarting warning, paused and exited critical) and extended for the
// states later engines report.
var StateStatus = map[container.State]monitor.Status{
	container.Running:    monitor.OK,
	container.Restarting: monitor.Warning,
	container.Paused:     monitor.Critical,
	container.Exited:     monitor.Critical,
	container.Created:    monitor.Warning,
	container.Removing:   monitor.Warning,
	container.Dead:       monitor.Critical,
}

// State is the container state monitor of the Hinemos Docker scripts, plus
// what they could not see: health, restart count, OOM kill and exit code. Its Result's
// Status comes from [StateStatus] (an unhealthy running container is
// Warning), and its Message is the state word (running, paused,
// restarting, exited, ...).
type State struct{ c *container.Client }

// NewState returns the container state monitor.
func NewState(c *container.Client) *State { return &State{c: c} }

var _ monitor.Monitor = (*State)(nil)

// Check inspects the container.
func (m *State) Check(ctx context.Context, t inventory.Target) (monitor.Result, error) {
	ins, err := m.c.Inspect(ctx, t.ID, container.InspectOptions{})
	if err != nil {
		return monitor.Result{}, err
	}
	now := time.Now()
	st, ok := StateStatus[ins.State]
	if !ok {
		st = monitor.Unknown
	}
	if ins.State == container.Running && ins.Health == "unhealthy" {
		st = monitor.Worst(st, monitor.Warning)
	}
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	add := func(name string, v float64, labels map[string]string) monitor.Sample {
		return monitor.Sample{Name: name, Value: v, Labels: labels, Time: now, Mode: monitor.ModeAPI}
	}
	res := monitor.Result{Time: now, Status: st, Message: string(ins.State), Samples: []monitor.Sample{
		add("container_running", b(ins.State == container.Running), nil),
		add("container_state", 1, map[string]string{"state": string(ins.State)}),
		add("container_restarts", float64(ins.RestartCount), nil),
		add("container_oom_killed", b(ins.OOMKilled), nil),
		add("container_exit_code", float64(ins.ExitCode), nil),
	}}
	if ins.Health != "" {
		res.Samples = append(res.Samples, add("container_healthy", b(ins.Health == "healthy"), map[string]string{"health": ins.Health}))
	}
	if !ins.StartedAt.IsZero() && ins.State == container.Running {
		res.Samples = append(res.Samples, monitor.Sample{Name: "container_uptime_seconds", Value: now.Sub(ins.StartedAt).Seconds(), Unit: monitor.Seconds, Time: now, Mode: monitor.ModeAPI})
	}
	return res, nil
}

// Describe lists the state samples.
func (m *State) Describe() []monitor.SampleDesc {
	return []monitor.SampleDesc{
		{Name: "container_running", Kind: monitor.Gauge, Help: "1 when the container is running."},
		{Name: "container_state", Kind: monitor.Gauge, Help: "1 for the container's current state.", Labels: []string{"state"}},
		{Name: "container_restarts", Kind: monitor.Gauge, Help: "Restarts by the engine's restart policy (resets on a manual start)."},
		{Name: "container_oom_killed", Kind: monitor.Gauge, Help: "1 when the last exit was an OOM kill."},
		{Name: "container_exit_code", Kind: monitor.Gauge, Help: "The last exit code."},
		{Name: "container_healthy", Kind: monitor.Gauge, Help: "1 when the health check reports healthy.", Labels: []string{"health"}},
		{Name: "container_uptime_seconds", Unit: monitor.Seconds, Kind: monitor.Gauge, Help: "Time since the container started."},
	}
}
