package docker

import (
	"context"
	"io"
	"maps"
	"time"

	"github.com/minato-ops/minato/container/swarm"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
)

// SwarmRunOptions describes the Swarm job [SwarmRun] runs. The fields
// mean what RunOptions' do for [RunContainer].
type SwarmRunOptions struct {
	// Image is the image reference. Required. Each node resolves it when
	// it starts the task (a pull that fails falls back to the node's
	// local image).
	Image string
	// Command is the argument list given to the image's entrypoint; nil
	// means the image's.
	Command []string
	// Env is the job's environment. Values are never logged.
	Env map[string]string
	// Networks are swarm-scoped (overlay) networks to attach the task to.
	Networks []string
	// Memory is the memory limit in bytes, NanoCPUs the CPU limit in 1e-9
	// CPUs; 0 means none.
	Memory   int64
	NanoCPUs int64
	// Labels are set on the job service and its container, besides
	// [LabelJob] and [LabelTarget], which win on a clash.
	Labels map[string]string
	// Name is the job service's name; "" lets minato choose a unique
	// one. A fixed name makes concurrent runs conflict.
	Name string
	// StopGrace is the time between SIGTERM and SIGKILL when ctx ends;
	// 0 means Swarm's default (10 s).
	StopGrace time.Duration
	// Keep keeps the job service (with its finished task, log and
	// container) after the job completed. By default it is removed. A job
	// stopped because ctx ended is always removed: that is how Swarm stops
	// a job.
	Keep bool
	// Stdout and Stderr receive the job's output streams in addition to
	// job.Output(ctx); nil adds nothing.
	Stdout, Stderr io.Writer
}

// SwarmRun returns an Action that runs o as a Docker Swarm replicated job
// (one task, run once to completion, never restarted; see
// [swarm.Client.RunJob]) through the swarm manager c talks to, and
// reports the task container's exit code. The Target is not operated on:
// only its Name, when set, is recorded in the [LabelTarget] label.
//
// The Outcome is RunContainer's: a non-zero exit code is the Outcome's
// ExitCode, not an error; the output (stdout and stderr) goes to
// job.Output(ctx) and o.Stdout / o.Stderr, once the task ended (Swarm
// serves a task's log from its node, read back through the log driver:
// json-file, local or journald). When ctx ends first, the task is sent
// SIGTERM and, after o.StopGrace, SIGKILL; Do then returns the Outcome
// (with the stopped container's exit code when it ran on the engine c
// talks to, else -1) and an error wrapping ctx.Err(), so that
// [job.Timeout] turns a deadline into a timed-out Outcome. A detached run
// ([job.Detached]) is stopped the same way: a Swarm job is not adopted.
// Unless o.Keep is set, the job service is removed before Do returns, on
// every path; a failure to remove it is joined to the returned error.
//
// An image no node has, a task Swarm rejects, or an engine that is not a
// swarm manager ([swarm.ErrNotManager]) is an error.
func SwarmRun(c *swarm.Client, o SwarmRunOptions) job.Action {
	return job.ActionFunc(func(ctx context.Context, t inventory.Target) (job.Outcome, error) {
		labels := maps.Clone(o.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelJob] = "true"
		if t.Name != "" {
			labels[LabelTarget] = t.Name
		}
		res, err := c.RunJob(ctx, swarm.JobSpec{
			Name: o.Name, Image: o.Image, Command: o.Command, Env: o.Env, Labels: labels, Networks: o.Networks,
			Resources: swarm.Resources{CPUs: float64(o.NanoCPUs) / 1e9, Memory: o.Memory},
			StopGrace: o.StopGrace, Keep: o.Keep,
			Stdout: writers(job.Output(ctx), o.Stdout), Stderr: writers(job.Output(ctx), o.Stderr),
		})
		return job.Outcome{ExitCode: res.ExitCode, Started: res.Started, Ended: res.Ended}, err
	})
}
