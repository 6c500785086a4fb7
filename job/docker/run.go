package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
)

// Labels minato sets on the containers [RunContainer] and [AdoptableRun]
// create; callers building job networks set LabelNetwork, LabelRun and
// LabelUnit in RunOptions.Labels (job/jobfile does), so that operators and
// crash recovery can tell which network, run and unit a container belongs
// to.
const (
	// LabelJob ("minato.job") is "true" on every container RunContainer
	// creates, so leftovers can be found with a label filter.
	LabelJob = "minato.job"
	// LabelTarget ("minato.target") is the name of the Target the action
	// ran for, when it has one.
	LabelTarget = "minato.target"
	// LabelNetwork ("minato.network") is the name of the job network a
	// run unit's container belongs to.
	LabelNetwork = "minato.network"
	// LabelRun ("minato.run") is the ID of the network's run.
	LabelRun = "minato.run"
	// LabelUnit ("minato.unit") is the unit's name.
	LabelUnit = "minato.unit"
	// LabelOwner ("minato.owner") names the scheduler (its store) whose
	// run the container belongs to, so that SweepPrepared removes only its
	// own leftovers when several agents share an engine.
	LabelOwner = "minato.owner"
)

// DefaultStopGrace is RunOptions.StopGrace when it is zero.
const DefaultStopGrace = 10 * time.Second

// cleanupTimeout bounds the work RunContainer does after ctx ended or the
// container exited: stopping, inspecting and removing the container.
const cleanupTimeout = 30 * time.Second

// outputIdleTimeout is how long RunContainer waits, once the container
// has exited, for the attached streams to deliver more output before it
// gives up on them. The engine ends them when the container stops; this
// only guards against an engine that does not.
const outputIdleTimeout = 10 * time.Second

// RunOptions describes the container [RunContainer] runs.
type RunOptions struct {
	// Image is the image reference. Required; it must be present on the
	// engine (minato never pulls).
	Image string
	// Command is the container's command (the arguments to the
	// entrypoint); nil means the image's.
	Command []string
	// Entrypoint replaces the image's entrypoint; nil means the image's.
	Entrypoint []string
	// Env is the container's environment. Values are never logged.
	Env map[string]string
	// WorkingDir and User are the process's directory and user; "" means
	// the image's.
	WorkingDir string
	User       string
	// Mounts are bind mounts in "host:container[:ro]" form.
	Mounts []string
	// Network is the network name or ID; "" means the default bridge.
	Network string
	// Memory is the memory limit in bytes (swap limited to the same, so
	// the limit is real); NanoCPUs the CPU quota in 1e-9 CPUs. 0 = none.
	Memory   int64
	NanoCPUs int64
	// Labels are set on the container in addition to minato's own
	// [LabelJob] and [LabelTarget], which win on a clash.
	Labels map[string]string
	// Name is the container name; "" lets the engine choose one. A fixed
	// name makes concurrent runs of the action conflict.
	Name string
	// StopSignal is sent when ctx ends; "" means SIGTERM. It is also the
	// container's configured stop signal.
	StopSignal string
	// StopGrace is the time between StopSignal and SIGKILL when ctx ends;
	// 0 means DefaultStopGrace, negative means SIGKILL at once.
	StopGrace time.Duration
	// Keep keeps the container after it exited. By default it is removed,
	// with its anonymous volumes, whatever happened.
	Keep bool
	// Stdout and Stderr receive the container's output streams in
	// addition to job.Output(ctx); nil adds nothing. They are shared by
	// every Target.
	Stdout, Stderr io.Writer
}

func (o RunOptions) stopGrace() time.Duration {
	switch {
	case o.StopGrace == 0:
		return DefaultStopGrace
	case o.StopGrace < 0:
		return 0
	}
	return o.StopGrace
}

func (o RunOptions) stopSignal() string {
	if o.StopSignal == "" {
		return "SIGTERM"
	}
	return o.StopSignal
}

// RunContainer returns an Action that runs a new container from o.Image to
// completion and reports its exit code (docker run --rm, without pulling).
// The Target is not operated on: only its Name, when set, is recorded in
// the [LabelTarget] label.
//
// Do creates the container, attaches to its output, starts it, relays
// everything it writes (stdout and stderr, each in order) to
// job.Output(ctx) and o.Stdout / o.Stderr, and waits for it to exit
// without polling. Attaching (as docker run does) rather than following
// the logs gets all of the output whatever the log driver; a slow writer
// slows the container's output down instead of losing any. A non-zero exit code
// is the Outcome's ExitCode, not an error; a container killed by the
// kernel's OOM killer has Message "OOM-killed" (and exit code 137).
//
// When ctx ends first, the container is sent o.StopSignal and, after
// o.StopGrace, SIGKILL; Do then returns the Outcome with the exit code and
// an error wrapping ctx.Err() (so errors.Is(err,
// context.DeadlineExceeded) holds after a deadline). Unless o.Keep is set
// the container is removed with its anonymous volumes before Do returns,
// on every path (success, error, cancellation); a failure to remove it is
// joined to the returned error.
//
// When ctx ends because the run was detached ([job.Detached]), Do
// neither stops nor removes the container, whatever o.Keep says: it
// closes the attachment and returns at once with an error wrapping
// context.Cause(ctx), so that errors.Is(err, job.ErrDetached) holds. The
// container runs on (or stays created, when the detach came before it was
// started), for [AdoptableRun]'s Adopt to find.
//
// An image that is not on the engine is an error saying so
// ([container.IsNotFound] is true for it); nothing is left behind.
func RunContainer(c *container.Client, o RunOptions) job.Action {
	return job.ActionFunc(func(ctx context.Context, t inventory.Target) (job.Outcome, error) {
		return runContainer(ctx, c, o, t)
	})
}

func runContainer(ctx context.Context, c *container.Client, o RunOptions, t inventory.Target) (out job.Outcome, err error) {
	out = job.Outcome{Started: time.Now()}
	defer func() { out.Ended = time.Now() }()
	if o.Image == "" {
		return out, errors.New("run container: no image given")
	}
	id, err := createContainer(ctx, c, o, t)
	if err != nil {
		return out, err
	}
	detached := false
	if !o.Keep {
		defer func() {
			if detached {
				return // the container goes on without us
			}
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
			defer cancel()
			if _, rerr := c.Remove(rctx, id, container.RemoveOptions{Force: true, Volumes: true}); rerr != nil && !container.IsNotFound(rerr) {
				err = errors.Join(err, fmt.Errorf("run container: removing %.12s: %w", id, rerr))
			}
		}()
	}
	detached, err = startAndWait(ctx, c, o, id, &out)
	return out, err
}

// createContainer creates the container o describes for t, without
// starting it, and returns its ID. When ctx ended during the call, a
// container the engine created anyway under o.Name is removed, unless the
// run is detached.
func createContainer(ctx context.Context, c *container.Client, o RunOptions, t inventory.Target) (string, error) {
	labels := containerLabels(o, t)
	var env []string
	for _, k := range slices.Sorted(maps.Keys(o.Env)) {
		env = append(env, k+"="+o.Env[k])
	}
	stopTimeout := int(math.Ceil(o.stopGrace().Seconds()))

	created, err := c.Create(ctx, container.CreateOptions{
		Name: o.Name, Image: o.Image, Cmd: o.Command, Entrypoint: o.Entrypoint,
		Env: env, WorkingDir: o.WorkingDir, User: o.User, Labels: labels,
		Binds: o.Mounts, Network: o.Network, Memory: o.Memory, NanoCPUs: o.NanoCPUs,
		StopSignal: o.StopSignal, StopTimeout: &stopTimeout,
	})
	if err != nil {
		if ctx.Err() != nil && o.Name != "" && !job.Detached(ctx) {
			// The engine may have created it before the request was
			// abandoned; only then is the name ours to remove. (A detached
			// run leaves it for the next process to adopt.)
			bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
			if ins, ierr := c.Inspect(bg, o.Name, container.InspectOptions{}); ierr == nil && ins.Labels[LabelJob] == "true" && ins.State == container.Created {
				_, _ = c.Remove(bg, ins.ID, container.RemoveOptions{Force: true, Volumes: true})
			}
			cancel()
		}
		if job.Detached(ctx) {
			return "", fmt.Errorf("run container: %w", errors.Join(err, context.Cause(ctx)))
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("run container: %w", errors.Join(err, ctx.Err()))
		}
		return "", fmt.Errorf("run container: %w", err)
	}
	return created.ID, nil
}

// containerLabels returns the labels of the container o runs for t:
// o.Labels plus minato's own, which win.
func containerLabels(o RunOptions, t inventory.Target) map[string]string {
	labels := maps.Clone(o.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelJob] = "true"
	if t.Name != "" {
		labels[LabelTarget] = t.Name
	}
	return labels
}

// startAndWait attaches to the created container id, starts it, relays its
// output and waits for it to exit, stopping it when ctx ends; it sets
// out.ExitCode and out.Message. When ctx ends with [job.Detached], it
// closes the attachment and returns at once with detached set and an error
// wrapping context.Cause(ctx), leaving the container as it is (running, or
// created when the start did not happen).
func startAndWait(ctx context.Context, c *container.Client, o RunOptions, id string, out *job.Outcome) (detached bool, err error) {
	bg := context.WithoutCancel(ctx)
	// Attach before starting so that no output is missed, on a context of
	// our own so that output written while the container is being stopped
	// still arrives.
	var written atomic.Int64
	stdout := &progressWriter{w: writers(job.Output(ctx), o.Stdout), total: &written}
	stderr := &progressWriter{w: writers(job.Output(ctx), o.Stderr), total: &written}
	att, err := c.Attach(bg, id, container.AttachOptions{Stdout: stdout, Stderr: stderr})
	if err != nil {
		return false, fmt.Errorf("run container %.12s: %w", id, err)
	}
	defer att.Close()
	if _, err := c.Start(ctx, id, container.StartOptions{}); err != nil {
		if ctx.Err() != nil {
			if job.Detached(ctx) {
				return true, detachedError(ctx, id, att)
			}
			err = errors.Join(err, ctx.Err())
		}
		return false, fmt.Errorf("run container %.12s: %w", id, err)
	}

	res, werr := c.Wait(ctx, id, container.WaitOptions{Condition: container.WaitNotRunning})
	ctxErr := ctx.Err()
	switch {
	case werr == nil:
	case ctxErr != nil && job.Detached(ctx):
		return true, detachedError(ctx, id, att)
	case ctxErr != nil:
		res, werr = stopContainer(bg, c, id, o.stopSignal(), o.stopGrace())
	}
	if werr != nil {
		att.Close() // the container may still run: do not wait for its end
	}
	drainOutput(att.Done(), att.Close, &written)
	logErr := att.Wait()
	if werr != nil {
		err := fmt.Errorf("run container %.12s: %w", id, werr)
		if ctxErr != nil {
			err = fmt.Errorf("run container %.12s: %w", id, errors.Join(ctxErr, werr))
		}
		return false, err
	}
	return false, exited(ctx, c, o, id, res, ctxErr, logErr, out)
}

// exited completes out for the container id that exited with res, and
// returns the error for a ctx that ended it (ctxErr) or for the relaying
// of its output (logErr).
func exited(ctx context.Context, c *container.Client, o RunOptions, id string, res container.WaitResult, ctxErr, logErr error, out *job.Outcome) error {
	out.ExitCode = res.ExitCode
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	ins, ierr := c.Inspect(ictx, id, container.InspectOptions{})
	cancel()
	if ierr == nil && ins.OOMKilled {
		out.Message = "OOM-killed"
	}
	if ctxErr != nil {
		return fmt.Errorf("run container %.12s: stopped with %s: %w", id, o.stopSignal(), ctxErr)
	}
	if logErr != nil {
		return fmt.Errorf("run container %.12s: relaying output: %w", id, logErr)
	}
	return nil
}

// detachedError closes the attachment (the copying ends at once, whatever
// the container does) and returns the error of a detached run.
func detachedError(ctx context.Context, id string, att *container.Attachment) error {
	att.Close()
	_ = att.Wait() // nothing is written to the output once Do returned
	return fmt.Errorf("run container %.12s: left to run on: %w", id, context.Cause(ctx))
}

// stopContainer sends signal, waits up to grace for the container to
// exit, then kills it, and returns its exit.
func stopContainer(ctx context.Context, c *container.Client, id, signal string, grace time.Duration) (container.WaitResult, error) {
	ctx, cancel := context.WithTimeout(ctx, grace+cleanupTimeout)
	defer cancel()
	if grace > 0 {
		if err := c.Kill(ctx, id, signal); err != nil && !container.IsConflict(err) && !container.IsNotFound(err) {
			return container.WaitResult{}, err
		}
		gctx, gcancel := context.WithTimeout(ctx, grace)
		res, err := c.Wait(gctx, id, container.WaitOptions{Condition: container.WaitNotRunning})
		gcancel()
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil || gctx.Err() == nil {
			return res, err
		}
	}
	if err := c.Kill(ctx, id, "SIGKILL"); err != nil && !container.IsConflict(err) && !container.IsNotFound(err) {
		return container.WaitResult{}, err
	}
	return c.Wait(ctx, id, container.WaitOptions{Condition: container.WaitNotRunning})
}

// drainOutput waits for the relayed output to end (done) after the
// container exited; the engine ends it once everything has been delivered.
// Should it stay open with nothing more to say for outputIdleTimeout, it is
// cut (cut is called, and then done waited for).
func drainOutput(done <-chan struct{}, cut func(), written *atomic.Int64) {
	tick := time.NewTicker(outputIdleTimeout / 10)
	defer tick.Stop()
	last, idleSince := written.Load(), time.Now()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			if n := written.Load(); n != last {
				last, idleSince = n, time.Now()
			} else if time.Since(idleSince) >= outputIdleTimeout {
				cut()
				<-done
				return
			}
		}
	}
}

// writers returns a writer to every non-nil w (io.Discard when none).
func writers(ws ...io.Writer) io.Writer {
	var out []io.Writer
	for _, w := range ws {
		if w != nil && w != io.Discard {
			out = append(out, w)
		}
	}
	switch len(out) {
	case 0:
		return io.Discard
	case 1:
		return out[0]
	}
	return io.MultiWriter(out...)
}

// progressWriter counts the bytes written through it into total.
type progressWriter struct {
	w     io.Writer
	total *atomic.Int64
}

func (c *progressWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.total.Add(int64(n))
	return n, err
}
