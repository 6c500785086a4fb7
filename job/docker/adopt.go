package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
)

// AdoptableRun returns [RunContainer]'s action as a [job.Adopter], for the
// scheduler: o.Labels must identify one run of one unit (the scheduler and
// package jobfile put minato.network, minato.run and minato.unit there); a
// Do, Adopt or Release without labels is an error, so that no other run's
// containers are ever taken for this one's.
//
// Do is RunContainer's Do, except that the container is kept after it
// exited, whatever o.Keep says, so that a crash between its exit and the
// scheduler recording the result loses nothing: Release removes it later.
// When several of Do's containers exist (one per attempt of a retried
// unit), Adopt takes the newest.
//
// Adopt finds the containers carrying [LabelJob] "true", every one of
// o.Labels and, when the Target has a Name, [LabelTarget], each with the
// same value (an empty value matches only an empty value): the labels Do
// puts on its container. A running container's output is relayed from its
// start, followed from the engine's log (which needs a log driver the
// engine can read back: json-file, local or journald), and waited for; a
// created one is attached to, started and waited for as Do does; an exited
// one has its logged output relayed and its exit code reported. The
// Outcome is Do's (exit code, "OOM-killed"), with Started the container's
// start time and, for one that had exited already, Ended its exit time.
// Output read back from the log is all there is only as far as the log
// driver kept it (see [container.Client.Logs]). When ctx ends (even before Adopt was called) Adopt stops
// the container as Do does, with StopSignal and StopGrace, and returns an
// error wrapping ctx.Err(), unless [job.Detached](ctx): then it returns at
// once with an error wrapping context.Cause(ctx), leaving it running. The
// container is kept either way.
//
// Release force-removes every such container with its anonymous volumes,
// unless o.Keep is set; removing nothing, or what is already gone, is not
// an error.
//
// The Adopter is also a [job.Preparer]: Prepare creates Do's container in
// the background, and Do then attaches to it and starts it. A container
// prepared but never started is removed by Release (even with o.Keep).
func AdoptableRun(c *container.Client, o RunOptions) job.Adopter {
	return &adoptableRun{c: c, o: o}
}

type adoptableRun struct {
	c *container.Client
	o RunOptions

	mu       sync.Mutex
	prepared chan struct{} // closed when Prepare's create ended; nil: not prepared
	prepID   string        // the prepared container, "" when the create failed
	used     bool          // Do ran: a later Prepare does nothing
}

// Prepare implements [job.Preparer]: it creates the container Do would
// create, in the background, so that Do only attaches to it and starts it.
func (a *adoptableRun) Prepare(ctx context.Context, t inventory.Target) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.prepared != nil || a.used || len(a.o.Labels) == 0 {
		return
	}
	done := make(chan struct{})
	a.prepared = done
	go func() {
		defer close(done)
		o := a.o
		o.Keep = true
		id, err := createContainer(ctx, a.c, o, t)
		if err == nil {
			a.mu.Lock()
			a.prepID = id
			a.mu.Unlock()
		}
	}()
}

// preparedContainer waits for a preparation to end and returns the
// container it created, if any, marking the value used.
func (a *adoptableRun) preparedContainer(ctx context.Context) string {
	a.mu.Lock()
	done := a.prepared
	a.used = true
	a.mu.Unlock()
	if done == nil {
		return ""
	}
	select {
	case <-done:
	case <-ctx.Done():
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	id := a.prepID
	a.prepID = ""
	return id
}

var errNoLabels = errors.New("adoptable run: no labels: RunOptions.Labels must identify the run and the unit")

// Do runs the container as RunContainer does, keeping it after it exited.
func (a *adoptableRun) Do(ctx context.Context, t inventory.Target) (job.Outcome, error) {
	if len(a.o.Labels) == 0 {
		now := time.Now()
		return job.Outcome{Started: now, Ended: now}, errNoLabels
	}
	o := a.o
	o.Keep = true
	if id := a.preparedContainer(ctx); id != "" {
		out := job.Outcome{Started: time.Now()}
		_, err := startAndWait(ctx, a.c, o, id, &out)
		out.Ended = time.Now()
		return out, err
	}
	return runContainer(ctx, a.c, o, t)
}

// mine lists Do's containers for t: those whose labels include every one
// of the labels Do sets but LabelOwner, with the same value. (The engine's filter takes
// an empty value for "any value": the values are checked here again.)
func (a *adoptableRun) mine(ctx context.Context, t inventory.Target) ([]container.Summary, error) {
	want := containerLabels(a.o, t)
	// The owner is not matched: the containers of a minato that set none
	// (an earlier version, before an upgrade) are adopted too.
	delete(want, LabelOwner)
	res, err := a.c.List(ctx, container.ListOptions{All: true, Labels: want})
	if err != nil {
		return nil, err
	}
	var out []container.Summary
	for _, s := range res.Containers {
		ok := true
		for k, v := range want {
			if got, has := s.Labels[k]; !has || got != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// Adopt finds the newest of Do's containers and waits for it to end.
func (a *adoptableRun) Adopt(ctx context.Context, t inventory.Target) (out job.Outcome, found bool, err error) {
	if len(a.o.Labels) == 0 {
		return job.Outcome{}, false, errNoLabels
	}
	// The container is looked for even when ctx has ended already: found,
	// it is then stopped (or, detached, left as it is).
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var ins container.InspectResult
	for try := 0; ; try++ {
		id, ok, err := a.newest(lctx, t)
		if err != nil || !ok {
			return job.Outcome{}, false, err
		}
		if ins, err = a.c.Inspect(lctx, id, container.InspectOptions{}); err == nil {
			break
		}
		// The engine lists a container a moment before the create call
		// that makes it returns (a create still in flight when the
		// process that sent it was killed): look again shortly. Listed and
		// then gone for good means something removed it, and its result
		// with it: saying "not found" would run the unit again.
		if !container.IsNotFound(err) || try == 5 {
			return job.Outcome{}, true, fmt.Errorf("adopt container %.12s: %w", id, err)
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-lctx.Done():
			return job.Outcome{}, true, fmt.Errorf("adopt container %.12s: %w", id, err)
		}
	}
	id := ins.ID
	now := time.Now()
	out.Started = ins.StartedAt
	if out.Started.IsZero() {
		out.Started = now
	}
	defer func() {
		if out.Ended.IsZero() {
			out.Ended = time.Now()
		}
	}()
	switch ins.State {
	case container.Created:
		out.Started = now
		_, err = startAndWait(ctx, a.c, a.o, id, &out)
	case container.Running, container.Paused, container.Restarting:
		err = a.follow(ctx, id, tty(ins), &out)
	default: // exited, dead, removing
		err = a.logged(ctx, ins, &out)
	}
	return out, true, err
}

// newest lists Do's containers for t and returns the newest one's ID.
func (a *adoptableRun) newest(ctx context.Context, t inventory.Target) (string, bool, error) {
	list, err := a.mine(ctx, t)
	if err != nil {
		return "", false, fmt.Errorf("adopt: %w", err)
	}
	if len(list) == 0 {
		return "", false, nil
	}
	// The list's creation times have a resolution of one second: the
	// containers created in the newest second are told apart by inspecting
	// them (attempts of a unit that fails at once follow each other fast).
	var latest []string
	var top time.Time
	for _, s := range list {
		switch {
		case s.Created.After(top):
			top, latest = s.Created, []string{s.ID}
		case s.Created.Equal(top):
			latest = append(latest, s.ID)
		}
	}
	if len(latest) == 1 {
		return latest[0], true, nil
	}
	var best string
	var bestAt time.Time
	for _, id := range latest {
		ins, err := a.c.Inspect(ctx, id, container.InspectOptions{})
		if container.IsNotFound(err) {
			continue
		}
		if err != nil {
			return "", false, fmt.Errorf("adopt: %w", err)
		}
		if best == "" || ins.Created.After(bestAt) {
			best, bestAt = id, ins.Created
		}
	}
	return best, best != "", nil
}

// tty reports whether the container has a terminal (its output is then
// one raw stream), which InspectResult leaves in Raw.
func tty(ins container.InspectResult) bool {
	var doc struct {
		Config *struct{ Tty bool }
	}
	if json.Unmarshal(ins.Raw, &doc) != nil || doc.Config == nil {
		return false
	}
	return doc.Config.Tty
}

// follow relays the running container's output from its start, following
// its log, and waits for it to exit; when ctx ends it stops the container,
// unless detached.
func (a *adoptableRun) follow(ctx context.Context, id string, tty bool, out *job.Outcome) error {
	bg := context.WithoutCancel(ctx)
	var written atomic.Int64
	stdout := &progressWriter{w: writers(job.Output(ctx), a.o.Stdout), total: &written}
	stderr := &progressWriter{w: writers(job.Output(ctx), a.o.Stderr), total: &written}
	// The log is followed on a context of our own, so that output written
	// while the container is being stopped still arrives.
	lctx, cut := context.WithCancel(bg)
	defer cut()
	done := make(chan struct{})
	var logErr error
	go func() {
		defer close(done)
		logErr = a.c.Logs(lctx, id, container.LogsOptions{Follow: true, Stdout: stdout, Stderr: stderr, Tty: tty})
	}()
	stopLogs := func() {
		cut()
		<-done
	}

	res, werr := a.c.Wait(ctx, id, container.WaitOptions{Condition: container.WaitNotRunning})
	ctxErr := ctx.Err()
	switch {
	case werr == nil:
	case ctxErr != nil && job.Detached(ctx):
		stopLogs()
		return fmt.Errorf("adopt container %.12s: left to run on: %w", id, context.Cause(ctx))
	case ctxErr != nil:
		res, werr = stopContainer(bg, a.c, id, a.o.stopSignal(), a.o.stopGrace())
	}
	if werr != nil {
		stopLogs()
		if ctxErr != nil {
			return fmt.Errorf("adopt container %.12s: %w", id, errors.Join(ctxErr, werr))
		}
		return fmt.Errorf("adopt container %.12s: %w", id, werr)
	}
	drainOutput(done, cut, &written)
	return exited(ctx, a.c, a.o, id, res, ctxErr, logErr, out)
}

// logged relays the exited container's logged output and reports its
// exit.
func (a *adoptableRun) logged(ctx context.Context, ins container.InspectResult, out *job.Outcome) error {
	out.ExitCode = ins.ExitCode
	if ins.OOMKilled {
		out.Message = "OOM-killed"
	}
	// The engine's FinishedAt is the exit time containerd reported, while
	// its StartedAt is stamped once the start call returned: a process that
	// exits at once can show a FinishedAt a little before its StartedAt.
	// The run then ended as it started (a duration of zero), not now.
	if !ins.FinishedAt.IsZero() {
		out.Ended = ins.FinishedAt
		if out.Ended.Before(out.Started) {
			out.Ended = out.Started
		}
	}
	err := a.c.Logs(ctx, ins.ID, container.LogsOptions{
		Stdout: writers(job.Output(ctx), a.o.Stdout), Stderr: writers(job.Output(ctx), a.o.Stderr), Tty: tty(ins),
	})
	if err != nil {
		if job.Detached(ctx) {
			return fmt.Errorf("adopt container %.12s: %w", ins.ID, context.Cause(ctx))
		}
		return fmt.Errorf("adopt container %.12s: relaying output: %w", ins.ID, err)
	}
	return nil
}

// Release removes Do's containers for t, unless o.Keep is set.
func (a *adoptableRun) Release(ctx context.Context, t inventory.Target) error {
	if len(a.o.Labels) == 0 {
		return errNoLabels
	}
	// A container prepared but never started goes, whatever Keep says.
	a.mu.Lock()
	done := a.prepared
	a.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("release: waiting for the preparation: %w", ctx.Err())
		}
		a.mu.Lock()
		unused := ""
		if !a.used {
			unused, a.prepID = a.prepID, ""
		}
		a.mu.Unlock()
		if unused != "" {
			if _, err := a.c.Remove(ctx, unused, container.RemoveOptions{Force: true, Volumes: true}); err != nil && !container.IsNotFound(err) {
				return fmt.Errorf("release: removing the prepared %.12s: %w", unused, err)
			}
		}
	}
	if a.o.Keep {
		return nil
	}
	list, err := a.mine(ctx, t)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	var errs []error
	for _, s := range list {
		_, err := a.c.Remove(ctx, s.ID, container.RemoveOptions{Force: true, Volumes: true})
		// A conflict is a removal already in progress (a concurrent Release).
		if err != nil && !container.IsNotFound(err) && !container.IsConflict(err) {
			errs = append(errs, fmt.Errorf("release: removing %.12s: %w", s.ID, err))
		}
	}
	return errors.Join(errs...)
}
