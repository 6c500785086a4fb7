package swarm

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/minato-ops/minato/container"
)

// jobCleanupTimeout bounds the work RunJob does after its job ended or
// its ctx ended: reading the logs, removing the service, waiting for a
// stopped local container.
const jobCleanupTimeout = 30 * time.Second

// JobSpec describes a one-off job run as a Swarm replicated job: one task,
// run once to completion (MaxConcurrent 1, TotalCompletions 1), never
// restarted.
type JobSpec struct {
	// Name is the job service's name; "" means "minato-job-<12 hex>". A
	// fixed name makes concurrent runs conflict.
	Name string `json:"name,omitempty"`
	// Image is the image reference; required. Each node resolves it as
	// for services (a failed pull falls back to the node's local image).
	Image string `json:"image"`
	// Command is the argument list given to the image's entrypoint; nil
	// means the image's.
	Command []string `json:"command,omitempty"`
	// Env is the job's environment. Values are never logged.
	Env map[string]string `json:"env,omitempty"`
	// Labels are set on the service and its container, besides
	// LabelJob ("true"), which wins on a clash.
	Labels map[string]string `json:"labels,omitempty"`
	// Networks are swarm-scoped networks to attach the task to.
	Networks []string `json:"networks,omitempty"`
	// Resources limits the task.
	Resources Resources `json:"resources,omitzero"`
	// Timeout ends the job when it runs longer; 0 means no limit but
	// ctx's. A job that timed out has JobResult.TimedOut set.
	Timeout time.Duration `json:"timeout,omitempty"`
	// StopGrace is the time between SIGTERM and SIGKILL when the job is
	// stopped; 0 means Swarm's default (10 s).
	StopGrace time.Duration `json:"stop_grace,omitempty"`
	// Keep keeps the job service (with its finished task, its log and its
	// container) after the job completed; by default it is removed. A job
	// stopped by Timeout or ctx is always removed: removing the service is
	// how Swarm stops a job.
	Keep bool `json:"keep,omitempty"`
	// Stdout and Stderr receive the job's output streams, besides
	// JobResult.Output; nil adds nothing.
	Stdout io.Writer `json:"-"`
	Stderr io.Writer `json:"-"`
}

// Validate reports every invalid field, joined.
func (j JobSpec) Validate() error {
	var errs []error
	if j.Name != "" && !serviceName.MatchString(j.Name) {
		errs = append(errs, fmt.Errorf("name %q: want letters, digits and '-', starting with a letter or digit, at most 63 characters", j.Name))
	}
	if j.Image == "" {
		errs = append(errs, errors.New("image: required"))
	}
	if j.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v: want 0 (no limit) or a positive duration", j.Timeout))
	}
	if j.StopGrace < 0 {
		errs = append(errs, fmt.Errorf("stop_grace %v: want 0 (Swarm's 10s) or a positive duration", j.StopGrace))
	}
	if j.Resources.CPUs < 0 || math.IsNaN(j.Resources.CPUs) || math.IsInf(j.Resources.CPUs, 0) || j.Resources.Memory < 0 {
		errs = append(errs, fmt.Errorf("resources %+v: want 0 (no limit) or positive limits", j.Resources))
	}
	return errors.Join(errs...)
}

// JobResult is how a job ended.
type JobResult struct {
	// Name and ServiceID identify the job's service; TaskID and NodeID
	// its task and where it ran.
	Name      string `json:"name"`
	ServiceID string `json:"service_id"`
	TaskID    string `json:"task_id,omitempty"`
	NodeID    string `json:"node_id,omitempty"`
	// ExitCode is the task container's exit code. For a job stopped by
	// Timeout it is the stopped container's code when the container ran
	// on the engine the Client talks to, else -1.
	ExitCode int `json:"exit_code"`
	// Output is what the job wrote to stdout and stderr, as the node's
	// log driver returned it (it needs a driver that can be read back:
	// json-file, local or journald).
	Output []byte `json:"output,omitempty"`
	// Started is when RunJob created the service, Ended when it saw the
	// task end (or stopped it).
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
	// TimedOut says JobSpec.Timeout ended the job; Message then says so.
	TimedOut bool   `json:"timed_out,omitempty"`
	Message  string `json:"message,omitempty"`
}

// RunJob runs spec as a Swarm replicated job and waits for it to end. A
// non-zero exit code is JobResult.ExitCode, not an error; its output is in
// JobResult.Output and is written to spec.Stdout and spec.Stderr once the
// task ended (Swarm serves a task's log from its node).
//
// When spec.Timeout passes first, RunJob stops the task (SIGTERM, then
// SIGKILL after StopGrace: directly when its container runs on the engine
// the Client talks to, else by removing the service, which makes its node
// stop it), reads the output so far, removes the service and returns the result with TimedOut set and a nil error.
// When ctx ends first it does the same and returns an error wrapping
// ctx.Err(). Unless spec.Keep is set, the service is removed whatever
// happened; a failure to remove it is joined to the returned error.
//
// An error also means the job could not run: an invalid spec, an engine
// that is not a swarm manager (ErrNotManager), a task that Swarm rejected
// or whose container could not start (an image no node has, for example).
func (c *Client) RunJob(ctx context.Context, spec JobSpec) (res JobResult, err error) {
	res.Started = time.Now()
	defer func() {
		if res.Ended.IsZero() {
			res.Ended = time.Now()
		}
	}()
	if err := spec.Validate(); err != nil {
		return res, fmt.Errorf("swarm: job: invalid spec: %w", err)
	}
	if spec.Name == "" {
		spec.Name = "minato-job-" + randomHex(6)
	}
	res.Name = spec.Name
	c.ready(ctx)
	created, err := c.api.ServiceCreate(ctx, spec.engineSpec(), swarm.ServiceCreateOptions{})
	if err != nil {
		if ctx.Err() != nil {
			err = errors.Join(err, ctx.Err())
		}
		return res, c.wrap("create job service", spec.Name, err)
	}
	res.ServiceID = created.ID
	c.log.DebugContext(ctx, "swarm job created", "job", spec.Name, "id", created.ID)

	bg := context.WithoutCancel(ctx)
	wctx, cancel := ctx, context.CancelFunc(func() {})
	timeout := &timeoutCause{d: spec.Timeout}
	if spec.Timeout > 0 {
		wctx, cancel = context.WithTimeoutCause(ctx, spec.Timeout, timeout)
	}
	task, werr := c.waitTask(wctx, created.ID)
	cancel()
	if task != nil {
		res.TaskID, res.NodeID = task.ID, task.NodeID
	}
	timedOut := werr != nil && context.Cause(wctx) == timeout && ctx.Err() == nil
	stopped := werr != nil && (timedOut || ctx.Err() != nil)

	var errs []error
	cctx, ccancel := context.WithTimeout(bg, jobCleanupTimeout+spec.StopGrace)
	defer ccancel()
	if stopped {
		res.ExitCode = -1
		if t, err := c.newestTask(cctx, created.ID); err == nil && t != nil {
			task = t
			res.TaskID, res.NodeID = t.ID, t.NodeID
		}
		if code, ok := c.stopJob(cctx, task, spec.StopGrace); ok {
			res.ExitCode = code
		}
		res.Ended = time.Now()
	}
	res.Output, err = c.jobLogs(cctx, created.ID, spec)
	if err != nil {
		errs = append(errs, err)
	}
	switch {
	case stopped:
		if err := c.removeJob(cctx, spec.Name, created.ID); err != nil {
			errs = append(errs, err)
		}
		if timedOut {
			res.TimedOut = true
			res.Message = fmt.Sprintf("timed out after %s", spec.Timeout)
		} else {
			errs = append([]error{fmt.Errorf("swarm: job %q: stopped: %w", spec.Name, ctx.Err())}, errs...)
		}
		return res, errors.Join(errs...)
	case werr != nil:
		errs = append([]error{werr}, errs...)
	default:
		res.Ended = task.Status.Timestamp
		if res.Ended.IsZero() || res.Ended.Before(res.Started) {
			res.Ended = time.Now()
		}
		if task.Status.ContainerStatus != nil {
			res.ExitCode = task.Status.ContainerStatus.ExitCode
		}
		if task.Status.State != swarm.TaskStateComplete && res.ExitCode == 0 {
			// Failed before its program could exit: not an outcome.
			errs = append([]error{fmt.Errorf("swarm: job %q: task %.12s %s: %s", spec.Name, task.ID, task.Status.State, firstNonEmpty(task.Status.Err, task.Status.Message))}, errs...)
		} else if task.Status.State != swarm.TaskStateComplete {
			res.Message = task.Status.Err
		}
	}
	if !spec.Keep || len(errs) > 0 && res.TaskID == "" {
		if err := c.removeJob(cctx, spec.Name, created.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

// timeoutCause marks a deadline set by JobSpec.Timeout.
type timeoutCause struct{ d time.Duration }

func (t *timeoutCause) Error() string { return fmt.Sprintf("timed out after %s", t.d) }

// engineSpec converts a valid job spec to the engine's service spec.
func (j JobSpec) engineSpec() swarm.ServiceSpec {
	labels := maps.Clone(j.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelJob] = "true"
	one := uint64(1)
	cs := &swarm.ContainerSpec{Image: j.Image, Args: slices.Clone(j.Command), Env: envList(j.Env), Labels: maps.Clone(labels)}
	if j.StopGrace > 0 {
		g := j.StopGrace
		cs.StopGracePeriod = &g
	}
	task := swarm.TaskSpec{ContainerSpec: cs, RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone}}
	if j.Resources != (Resources{}) {
		task.Resources = &swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: int64(math.Round(j.Resources.CPUs * 1e9)), MemoryBytes: j.Resources.Memory}}
	}
	for _, n := range j.Networks {
		task.Networks = append(task.Networks, swarm.NetworkAttachmentConfig{Target: n})
	}
	return swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: j.Name, Labels: labels},
		TaskTemplate: task,
		Mode:         swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{MaxConcurrent: &one, TotalCompletions: &one}},
	}
}

// newestTask returns the job's newest task, nil when it has none yet.
func (c *Client) newestTask(ctx context.Context, serviceID string) (*swarm.Task, error) {
	tasks, err := c.api.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", serviceID))})
	if err != nil {
		return nil, c.wrap("list tasks of job", serviceID, err)
	}
	if len(tasks) == 0 {
		return nil, nil
	}
	t := slices.MaxFunc(tasks, func(a, b swarm.Task) int { return a.Meta.CreatedAt.Compare(b.Meta.CreatedAt) })
	return &t, nil
}

// waitTask polls the job's tasks until one ended (complete, failed,
// rejected, shutdown or orphaned) and returns it; it returns the newest
// task seen so far and an error when ctx ends or the tasks cannot be read.
func (c *Client) waitTask(ctx context.Context, serviceID string) (*swarm.Task, error) {
	tick := time.NewTicker(c.poll)
	defer tick.Stop()
	var last *swarm.Task
	for {
		t, err := c.newestTask(ctx, serviceID)
		if err != nil && ctx.Err() == nil {
			return last, err
		}
		if t != nil {
			last = t
			switch last.Status.State {
			case swarm.TaskStateComplete, swarm.TaskStateFailed, swarm.TaskStateRejected, swarm.TaskStateShutdown, swarm.TaskStateOrphaned:
				return last, nil
			}
		}
		select {
		case <-ctx.Done():
			return last, context.Cause(ctx)
		case <-tick.C:
		}
	}
}

// jobLogs reads the job's output, writing it to spec.Stdout/Stderr too.
func (c *Client) jobLogs(ctx context.Context, serviceID string, spec JobSpec) ([]byte, error) {
	rc, err := c.api.ServiceLogs(ctx, serviceID, dcontainer.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return nil, c.wrap("read the log of job", spec.Name, err)
	}
	defer rc.Close()
	var all lockedBuffer
	stdout := writers(&all, spec.Stdout)
	stderr := writers(&all, spec.Stderr)
	if _, err := stdcopy.StdCopy(stdout, stderr, rc); err != nil {
		return all.Bytes(), c.wrap("read the log of job", spec.Name, err)
	}
	return all.Bytes(), nil
}

// stopJob stops the job's task container when it runs on the engine the
// Client talks to, with SIGTERM and after grace (0: 10 s) SIGKILL, and
// returns its exit code; ok is false when the container is elsewhere or
// unknown (removing the service then stops it, on its node).
func (c *Client) stopJob(ctx context.Context, task *swarm.Task, grace time.Duration) (code int, ok bool) {
	if task == nil || task.Status.ContainerStatus == nil || task.Status.ContainerStatus.ContainerID == "" {
		return 0, false
	}
	id := task.Status.ContainerStatus.ContainerID
	if _, err := c.cc.Inspect(ctx, id, container.InspectOptions{}); err != nil {
		return 0, false // not on this engine
	}
	if grace <= 0 {
		grace = defaultStopGrace
	}
	if _, err := c.cc.Stop(ctx, id, container.StopOptions{Grace: &grace}); err != nil {
		return 0, false
	}
	ins, err := c.cc.Inspect(ctx, id, container.InspectOptions{})
	if err != nil || ins.State == container.Running {
		return 0, false
	}
	return ins.ExitCode, true
}

// defaultStopGrace is Swarm's default stop grace period.
const defaultStopGrace = 10 * time.Second

// removeJob removes the job's service; one already gone is fine.
func (c *Client) removeJob(ctx context.Context, name, id string) error {
	if err := c.api.ServiceRemove(ctx, id); err != nil && !cerrdefs.IsNotFound(err) {
		return c.wrap("remove job service", name, err)
	}
	return nil
}

// lockedBuffer is a bytes.Buffer safe for the two log streams.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// writers returns a writer to every non-nil w.
func writers(ws ...io.Writer) io.Writer {
	var out []io.Writer
	for _, w := range ws {
		if w != nil {
			out = append(out, w)
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return io.MultiWriter(out...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RemoveJob removes a job service RunJob kept (JobSpec.Keep), by name or
// ID. It refuses a service that is not a job (no LabelJob "true") with
// ErrNotOwned; one already gone is not an error.
func (c *Client) RemoveJob(ctx context.Context, nameOrID string) error {
	c.ready(ctx)
	svc, _, err := c.api.ServiceInspectWithRaw(ctx, nameOrID, swarm.ServiceInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return c.wrap("inspect job service", nameOrID, err)
	}
	if svc.Spec.Labels[LabelJob] != "true" {
		return fmt.Errorf("swarm: service %q has no label %s=true: %w", svc.Spec.Name, LabelJob, ErrNotOwned)
	}
	return c.removeJob(ctx, svc.Spec.Name, svc.ID)
}
