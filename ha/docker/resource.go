package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// Health states the engine reports in a running container's inspect
// document.
const (
	healthStarting  = "starting"
	healthHealthy   = "healthy"
	healthUnhealthy = "unhealthy"
)

// Polling of the container's state while Activate waits for it.
const (
	pollMin = 50 * time.Millisecond
	pollMax = 500 * time.Millisecond
)

// Option sets an optional collaborator of a [Resource].
type Option func(*options)

type options struct {
	log *slog.Logger
}

// WithLogger makes the resource log what it does (container created,
// started, stopped, removed) at Info and its decisions at Debug. Errors
// it returns are not logged. The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

func buildOptions(opts []Option) options {
	o := options{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Resource is one container on this node's engine as an [ha.Resource].
// Its methods are safe for concurrent use; it keeps no state of its own
// between calls (the engine is the record), so several Resource values
// for one container agree.
type Resource struct {
	c   *container.Client
	cfg Config
	log *slog.Logger
}

var _ ha.Resource = (*Resource)(nil)

// New returns the Resource cfg describes on the engine c talks to (which
// should be this node's own engine). It validates cfg; it does not
// contact the engine. c stays the caller's to close, after the Resource's
// last use.
func New(c *container.Client, cfg Config, opts ...Option) (*Resource, error) {
	if c == nil {
		return nil, errors.New("ha/docker: no container client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ha/docker: invalid config: %w", err)
	}
	o := buildOptions(opts)
	cfg = cfg.withDefaults()
	return &Resource{c: c, cfg: cfg, log: o.log.With("container", cfg.Name)}, nil
}

// Name returns the container's name.
func (r *Resource) Name() string { return r.cfg.Name }

// Config returns the resource's configuration with its defaults filled
// in.
func (r *Resource) Config() Config { return r.cfg }

// Activate makes the container run on node's engine and returns once it
// is usable: healthy when it has a health check, else running (and, when
// Activate started it, still running after Config.SettleTime).
//
// A missing container is created from Config.Create, labelled with
// LabelGroup, LabelResource, LabelNode and LabelEpoch (the epoch ctx
// carries, see [ha.WithEpoch]); with Config.Existing it is an error
// (CodeMissing). An existing container is started as it is, whatever
// epoch it was created under, unless another node created it under an
// epoch newer than ctx's (CodeStaleEpoch; only possible when nodes share
// an engine): an older label only means this node held the group before,
// and a newer one of this node's own, that the epochs' scheme changed. A container of that name that
// was not created for this resource is refused (CodeForeign). The
// container's configuration is taken from Create only when it is created:
// to apply a changed Create, remove the container (or set
// RemoveOnDeactivate).
//
// Activating a running, healthy container changes nothing. The wait is
// bounded by Config.HealthTimeout and ctx; errors are *[ha.ResourceError]
// with the codes of this package: 8 when the container exited while being
// started, 9 when its health check reports unhealthy, 6 on a timeout, 5
// when an engine call failed.
func (r *Resource) Activate(ctx context.Context, node inventory.Target) error {
	epoch, hasEpoch := ha.EpochFrom(ctx)
	ins, err := r.ensure(ctx, node, epoch, hasEpoch)
	if err != nil {
		return err
	}
	started := false
	switch ins.State {
	case container.Running:
		r.log.DebugContext(ctx, "container already running")
	case container.Paused:
		return resErr(CodeNotRunning, "container %s is paused: unpause it (docker unpause) or deactivate the resource first", r.cfg.Name)
	case container.Removing:
		return resErr(CodeNotRunning, "container %s is being removed", r.cfg.Name)
	default:
		if _, err := r.c.Start(ctx, r.cfg.Name, container.StartOptions{}); err != nil {
			return engineError(err)
		}
		r.log.InfoContext(ctx, "container started", "was", string(ins.State))
		started = true
	}
	return r.waitReady(ctx, started)
}

// ensure returns the container's inspect result, creating the container
// first when it is missing and Config.Create says how.
func (r *Resource) ensure(ctx context.Context, node inventory.Target, epoch ha.Epoch, hasEpoch bool) (container.InspectResult, error) {
	const attempts = 3 // inspect, create, inspect again (twice on a name conflict)
	var err error
	for range attempts {
		var ins container.InspectResult
		ins, err = r.c.Inspect(ctx, r.cfg.Name, container.InspectOptions{})
		if err == nil {
			return ins, r.admit(ins, epoch, hasEpoch, node.Name)
		}
		if !container.IsNotFound(err) {
			return ins, engineError(err)
		}
		if r.cfg.Existing {
			return ins, resErr(CodeMissing, "container %s does not exist (it is managed as existing: minato does not create it)", r.cfg.Name)
		}
		_, err = r.c.Create(ctx, r.createOptions(node, epoch, hasEpoch))
		switch {
		case err == nil:
			r.log.InfoContext(ctx, "container created", "image", r.cfg.Create.Image, "epoch", labelEpoch(epoch, hasEpoch))
		case container.IsConflict(err):
			// Created meanwhile under the same name: look at it.
		case container.IsNotFound(err) && strings.Contains(strings.ToLower(err.Error()), "no such image"):
			return ins, &ha.ResourceError{Code: CodeImageMissing, Detail: fmt.Sprintf("image %s is not on the engine (minato does not pull images: load or pull it first)", r.cfg.Create.Image), Err: err}
		default:
			return ins, engineError(err)
		}
	}
	return container.InspectResult{}, engineError(fmt.Errorf("container %s: created, but the engine does not find it: %w", r.cfg.Name, err))
}

// admit refuses a container that is not this resource's, or that another
// node created as a newer holder.
func (r *Resource) admit(ins container.InspectResult, epoch ha.Epoch, hasEpoch bool, node string) error {
	if r.cfg.Existing {
		return nil
	}
	if err := r.foreign(ins); err != nil {
		return err
	}
	// A newer epoch on a container this node created is no other holder's
	// (the epochs' scheme changed, as when a lease is turned on): start it.
	if s, ok := ins.Labels[LabelEpoch]; ok && hasEpoch && ins.Labels[LabelNode] != node {
		if theirs, err := strconv.ParseUint(s, 10, 64); err == nil && ha.Epoch(theirs) > epoch {
			return resErr(CodeStaleEpoch, "container %s was created under epoch %d, newer than this activation's epoch %d: refusing to act for an older holder", r.cfg.Name, theirs, epoch)
		}
	}
	return nil
}

// foreign returns a CodeForeign error when the container was not created
// for this resource.
func (r *Resource) foreign(ins container.InspectResult) *ha.ResourceError {
	if r.cfg.Existing || ins.Labels[LabelResource] == r.cfg.Resource && ins.Labels[LabelGroup] == r.cfg.Group {
		return nil
	}
	return resErr(CodeForeign, "container %s exists but was not created for resource %q of group %q (its labels say %s=%q, %s=%q): remove or rename it, or manage it with existing: true",
		r.cfg.Name, r.cfg.Resource, r.cfg.Group, LabelResource, ins.Labels[LabelResource], LabelGroup, ins.Labels[LabelGroup])
}

func labelEpoch(e ha.Epoch, ok bool) string {
	if !ok {
		return ""
	}
	return strconv.FormatUint(uint64(e), 10)
}

func (r *Resource) createOptions(node inventory.Target, epoch ha.Epoch, hasEpoch bool) container.CreateOptions {
	s := r.cfg.Create
	labels := maps.Clone(s.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelResource] = r.cfg.Resource
	if r.cfg.Group != "" {
		labels[LabelGroup] = r.cfg.Group
	}
	if node.Name != "" {
		labels[LabelNode] = node.Name
	}
	if hasEpoch {
		labels[LabelEpoch] = labelEpoch(epoch, true)
	}
	var env []string
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		env = append(env, k+"="+s.Env[k])
	}
	// The container's own stop timeout is the resource's grace, so that a
	// docker stop by hand behaves as a deactivation does.
	stopTimeout := int(math.Ceil(r.cfg.StopGrace.Seconds()))
	return container.CreateOptions{
		Name: r.cfg.Name, Image: s.Image, Cmd: s.Cmd, Entrypoint: s.Entrypoint, Env: env,
		WorkingDir: s.WorkingDir, User: s.User, Labels: labels, Binds: s.Mounts, Network: s.Network,
		Memory: s.MemoryBytes, NanoCPUs: s.NanoCPUs, StopSignal: s.StopSignal, StopTimeout: &stopTimeout,
	}
}

// waitReady polls the container until it is usable, has failed, or the
// health timeout or ctx ends.
func (r *Resource) waitReady(ctx context.Context, started bool) error {
	wctx, cancel := context.WithTimeout(ctx, r.cfg.HealthTimeout)
	defer cancel()
	t0 := time.Now()
	var settle time.Duration
	if started {
		settle = r.cfg.SettleTime
	}
	delay := pollMin
	last := "no answer from the engine yet"
	for {
		ins, err := r.c.Inspect(wctx, r.cfg.Name, container.InspectOptions{})
		switch {
		case err != nil && wctx.Err() != nil:
			return r.waitEnded(ctx, last)
		case container.IsNotFound(err):
			return resErr(CodeMissing, "container %s disappeared while it was being started", r.cfg.Name)
		case err != nil:
			return engineError(err)
		}
		last = describeState(ins)
		switch ins.State {
		case container.Running:
			switch ins.Health {
			case healthHealthy:
				r.log.DebugContext(ctx, "container healthy")
				return nil
			case healthUnhealthy:
				return resErr(CodeUnhealthy, "container %s is running but its health check reports unhealthy", r.cfg.Name)
			case "":
				if time.Since(t0) >= settle {
					return nil
				}
			}
		case container.Exited, container.Dead, container.Restarting:
			return resErr(CodeExited, "container %s %s while it was being started", r.cfg.Name, exitText(ins))
		case container.Paused, container.Removing:
			return resErr(CodeNotRunning, "container %s is %s while it was being started", r.cfg.Name, ins.State)
		}
		wait := delay
		if ins.State == container.Running && ins.Health == "" {
			wait = min(wait, settle-time.Since(t0))
		}
		delay = min(2*delay, pollMax)
		select {
		case <-wctx.Done():
			return r.waitEnded(ctx, last)
		case <-time.After(max(wait, time.Millisecond)):
		}
	}
}

// waitEnded is the error of a wait cut short by the health timeout or by
// ctx.
func (r *Resource) waitEnded(ctx context.Context, last string) error {
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return &ha.ResourceError{Code: ha.CodeFailed, Detail: fmt.Sprintf("activation of container %s was cancelled (%s)", r.cfg.Name, last), Err: err}
	}
	limit := "the activation's deadline"
	if ctx.Err() == nil {
		limit = r.cfg.HealthTimeout.String()
	}
	return &ha.ResourceError{Code: ha.CodeTimeout, Detail: fmt.Sprintf("Timeout occurred. Container %s was not ready within %s (%s).", r.cfg.Name, limit, last), Err: context.DeadlineExceeded}
}

// describeState is the container's state for messages: "running, health
// starting", "exited with code 1".
func describeState(ins container.InspectResult) string {
	switch {
	case ins.State == container.Running && ins.Health != "":
		return "running, health " + ins.Health
	case ins.State == container.Exited || ins.State == container.Dead || ins.State == container.Restarting:
		return exitText(ins)
	}
	return string(ins.State)
}

// exitText says how the container ended: "exited with code 3",
// "is restarting after exiting with code 1", with the engine's error and
// an OOM kill when there was one.
func exitText(ins container.InspectResult) string {
	var b strings.Builder
	switch ins.State {
	case container.Restarting:
		fmt.Fprintf(&b, "is restarting (engine restart policy) after exiting with code %d", ins.ExitCode)
	case container.Dead:
		fmt.Fprintf(&b, "is dead (last exit code %d)", ins.ExitCode)
	default:
		fmt.Fprintf(&b, "exited with code %d", ins.ExitCode)
	}
	if ins.OOMKilled {
		b.WriteString(", OOM-killed")
	}
	if ins.Error != "" {
		fmt.Fprintf(&b, " (engine: %s)", ins.Error)
	}
	return b.String()
}

// Deactivate stops the container, allowing Config.StopGrace before
// SIGKILL, and removes it with its anonymous volumes when
// Config.RemoveOnDeactivate is set. A container that is missing, already
// stopped, or not this resource's (see CodeForeign) is left as it is and
// is not an error: the resource is inactive. Errors are *[ha.ResourceError]
// (5 engine call failed, 6 timeout). The stop may take up to the grace
// period plus the engine client's call timeout; ctx bounds it.
func (r *Resource) Deactivate(ctx context.Context, _ inventory.Target) error {
	ins, err := r.c.Inspect(ctx, r.cfg.Name, container.InspectOptions{})
	switch {
	case container.IsNotFound(err):
		return nil
	case err != nil:
		return engineError(err)
	}
	if r.foreign(ins) != nil {
		r.log.DebugContext(ctx, "container not this resource's, left alone", "resource_label", ins.Labels[LabelResource], "group_label", ins.Labels[LabelGroup])
		return nil
	}
	switch ins.State {
	case container.Created, container.Exited, container.Dead:
	default:
		grace := r.cfg.StopGrace
		if _, err := r.c.Stop(ctx, r.cfg.Name, container.StopOptions{Grace: &grace}); err != nil && !container.IsNotFound(err) {
			return engineError(err)
		}
		r.log.InfoContext(ctx, "container stopped", "was", string(ins.State))
	}
	if r.cfg.RemoveOnDeactivate {
		if _, err := r.c.Remove(ctx, r.cfg.Name, container.RemoveOptions{Force: true, Volumes: true}); err != nil && !container.IsNotFound(err) {
			return engineError(err)
		}
		r.log.InfoContext(ctx, "container removed")
	}
	return nil
}

// Check inspects the container and judges it: OK when it is running and
// (if it has a health check) healthy; Warning while its health check is
// still starting; Critical, with a code of this package in Result.Code
// and the reason in Result.Message, when it is unhealthy (9), has exited
// (8, with its exit code), does not exist (10), is not this resource's
// (11) or is created or paused (12). The Target is not used (the resource
// is on this node). An error means the engine could not be asked (an
// unreachable engine matches container.ErrUnreachable): the state is
// unknown.
func (r *Resource) Check(ctx context.Context, _ inventory.Target) (monitor.Result, error) {
	ins, err := r.c.Inspect(ctx, r.cfg.Name, container.InspectOptions{})
	now := time.Now()
	switch {
	case container.IsNotFound(err):
		return monitor.Result{Time: now, Status: monitor.Critical, Code: CodeMissing, Message: fmt.Sprintf("container %s does not exist", r.cfg.Name)}, nil
	case err != nil:
		return monitor.Result{}, engineError(err)
	}
	res := judge(ins, r.cfg.Name)
	if f := r.foreign(ins); f != nil {
		res = monitor.Result{Status: monitor.Critical, Code: CodeForeign, Message: f.Detail}
	}
	res.Time = now
	return res, nil
}

// judge turns a container's inspect result into a verdict.
func judge(ins container.InspectResult, name string) monitor.Result {
	crit := func(code int, format string, a ...any) monitor.Result {
		return monitor.Result{Status: monitor.Critical, Code: code, Message: "container " + name + " " + fmt.Sprintf(format, a...)}
	}
	switch ins.State {
	case container.Running:
		switch ins.Health {
		case "":
			return monitor.Result{Status: monitor.OK, Message: "container " + name + " is running"}
		case healthHealthy:
			return monitor.Result{Status: monitor.OK, Message: "container " + name + " is running and healthy"}
		case healthStarting:
			return monitor.Result{Status: monitor.Warning, Message: "container " + name + " is running; its health check has not passed yet"}
		default:
			return crit(CodeUnhealthy, "is running but its health check reports %s", ins.Health)
		}
	case container.Exited, container.Dead, container.Restarting:
		msg := exitText(ins)
		if !ins.FinishedAt.IsZero() && ins.State != container.Restarting {
			msg += " at " + ins.FinishedAt.UTC().Format(time.RFC3339)
		}
		return crit(CodeExited, "%s", msg)
	case "":
		return crit(CodeNotRunning, "has no state")
	}
	return crit(CodeNotRunning, "is %s, not running", ins.State)
}
