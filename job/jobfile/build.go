package jobfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	jobdocker "github.com/minato-ops/minato/job/docker"
)

// BuildOptions tunes [Build].
type BuildOptions struct {
	// RunID identifies this run of the network in container labels.
	RunID string
	// SpillDir is where large unit output is written ("" = the system's
	// temporary directory).
	SpillDir string
	// Owner, when set, labels the run units' containers with
	// jobdocker.LabelOwner (the scheduler they belong to).
	Owner string
	// Scopes resolves the repository scopes container units name (an
	// inventory/hinemos Resolver); with nil, Build refuses a network with
	// such units (inventory.ErrScopes).
	Scopes inventory.Resolver
	// Engines returns the client of the engine at an endpoint, for the
	// containers Scopes finds on engines other than c's; nil knows only c.
	Engines func(endpoint string) (*container.Client, bool)
	// Adoptable makes run units [jobdocker.AdoptableRun]s rather than
	// [jobdocker.RunContainer]s, for the scheduler: their containers
	// outlive a crash or a detach, a restarted scheduler adopts them, and
	// they are kept until released. It needs a RunID, which with the
	// network's and the unit's names identifies each unit's containers.
	Adoptable bool
}

// Build turns the definition into a runnable network whose units act on the
// engine c talks to. Containers named by exec and container units are
// looked up when the unit runs, not now.
func Build(def *Definition, c *container.Client, o BuildOptions) (*job.Network, error) {
	if o.Adoptable && o.RunID == "" {
		return nil, errors.New("build: adoptable units need a run ID: the containers of every run would look alike")
	}
	n := &job.Network{Name: def.Name, Concurrency: def.Concurrency, OutputLimit: def.OutputLimit, SpillDir: o.SpillDir}
	for _, u := range def.Units {
		a, err := action(u, def.Name, c, o)
		if err != nil {
			return nil, fmt.Errorf("unit %s: %w", u.Name, err)
		}
		n.Units = append(n.Units, job.Unit{Name: u.Name, Action: a, Needs: u.Needs, When: u.When, Timeout: u.Timeout, Retry: u.Retry})
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	return n, nil
}

// Route returns an Action that runs mk's Action for the client of each
// Target's engine: c for its own engine, engines(endpoint) for others. A
// Target on an engine it does not know fails with an error naming it.
func Route(c *container.Client, engines func(endpoint string) (*container.Client, bool), mk func(*container.Client) job.Action) job.Action {
	own := mk(c)
	var mu sync.Mutex
	others := map[string]job.Action{}
	return job.ActionFunc(func(ctx context.Context, t inventory.Target) (job.Outcome, error) {
		if t.Engine == "" || t.Engine == c.Host() {
			return own.Do(ctx, t)
		}
		mu.Lock()
		a, ok := others[t.Engine]
		if !ok && engines != nil {
			var oc *container.Client
			if oc, ok = engines(t.Engine); ok {
				a = mk(oc)
				others[t.Engine] = a
			}
		}
		mu.Unlock()
		if !ok {
			return job.Outcome{}, fmt.Errorf("%s is on engine %s, which this minato does not know", t, t.Engine)
		}
		return a.Do(ctx, t)
	})
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

func action(u UnitDef, network string, c *container.Client, o BuildOptions) (job.Action, error) {
	switch {
	case u.Run != nil:
		r := u.Run
		labels := map[string]string{jobdocker.LabelNetwork: network, jobdocker.LabelRun: o.RunID, jobdocker.LabelUnit: u.Name}
		if o.Owner != "" {
			labels[jobdocker.LabelOwner] = o.Owner
		}
		for k, v := range r.Labels {
			if _, reserved := labels[k]; !reserved {
				labels[k] = v
			}
		}
		ro := jobdocker.RunOptions{
			Image: r.Image, Command: r.Command, Entrypoint: r.Entrypoint, Env: r.Env, WorkingDir: r.WorkDir, User: r.User,
			Mounts: r.Mounts, Network: r.Network, Memory: r.Memory, NanoCPUs: int64(r.CPUs * 1e9), Labels: labels,
			StopSignal: r.StopSignal, StopGrace: r.StopGrace, Keep: r.Keep,
		}
		if o.Adoptable {
			return jobdocker.AdoptableRun(c, ro), nil
		}
		return jobdocker.RunContainer(c, ro), nil
	case u.Exec != nil:
		e := u.Exec
		exec := jobdocker.Exec(c, jobdocker.ExecOptions{Cmd: e.Command, Env: envList(e.Env), User: e.User, WorkingDir: e.WorkDir})
		return job.ActionFunc(func(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
			t, err := one(ctx, c, e.Container)
			if err != nil {
				return job.Outcome{}, err
			}
			return exec.Do(ctx, t)
		}), nil
	case u.Host != nil:
		h := u.Host
		return jobdocker.HostCommand(h.Command, jobdocker.HostOptions{Dir: h.Dir, Env: envList(h.Env)}), nil
	case u.Container != nil:
		return lifecycle(u.Container, c, o)
	}
	return nil, errors.New("no action: give run, exec, host or container")
}

// one resolves an exec unit's container: an exact name, or a full or
// 12-character ID.
func one(ctx context.Context, c *container.Client, ref string) (inventory.Target, error) {
	sel := inventory.Selector{Names: []string{ref}}
	if isHexID(ref) {
		sel = inventory.Selector{IDs: []string{ref}}
	}
	ts, err := c.Resolve(ctx, sel)
	if err != nil {
		return inventory.Target{}, err
	}
	if len(ts) == 0 {
		return inventory.Target{}, fmt.Errorf("no container %q on %s: %w", ref, c.Host(), inventory.ErrNoMatch)
	}
	return ts[0], nil
}

func isHexID(s string) bool {
	if len(s) != inventory.ShortIDLen && len(s) != 64 {
		return false
	}
	return strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}

// lifecycle is a unit that applies one of the Hinemos Docker job scripts'
// container operations to the selected containers; it fails (exit 1) when
// any container failed, and writes the per-container lines ("<id12> <name>
// Success") to the unit's output.
func lifecycle(d *ContainerDef, c *container.Client, o BuildOptions) (job.Action, error) {
	var grace *jobdocker.StopOptions
	if d.Grace > 0 {
		g := d.Grace
		grace = &jobdocker.StopOptions{Grace: &g}
	} else {
		grace = &jobdocker.StopOptions{}
	}
	var mk func(c *container.Client) job.Action
	switch d.Action {
	case "start":
		mk = jobdocker.Start
	case "stop":
		mk = func(c *container.Client) job.Action { return jobdocker.Stop(c, *grace) }
	case "restart":
		mk = func(c *container.Client) job.Action { return jobdocker.Restart(c, *grace) }
	case "remove":
		mk = func(c *container.Client) job.Action {
			return jobdocker.Remove(c, container.RemoveOptions{Force: d.Force})
		}
	default:
		return nil, fmt.Errorf("container action %q: want start, stop, restart or remove", d.Action)
	}
	sel := inventory.Selector{Kind: inventory.KindContainer, Names: d.Names, IDs: d.IDs, Scopes: d.Scopes}
	res := inventory.Resolver(c)
	if len(d.Scopes) > 0 {
		if o.Scopes == nil {
			return nil, fmt.Errorf("scopes %s: %w (run the network in an agent with engines: configured, whose repository knows the scopes)", strings.Join(d.Scopes, ", "), inventory.ErrScopes)
		}
		res = o.Scopes
	}
	a := Route(c, o.Engines, mk)
	return job.ActionFunc(func(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
		ts, err := res.Resolve(ctx, sel)
		if err != nil {
			return job.Outcome{}, err
		}
		if len(ts) == 0 {
			return job.Outcome{}, fmt.Errorf("no container matches %s: %w", sel, inventory.ErrNoMatch)
		}
		rep := job.Run(ctx, a, ts, job.RunOptions{Concurrency: 4})
		out := job.Output(ctx)
		for _, r := range rep.Results {
			_, _ = io.WriteString(out, r.Target.ShortID()+" "+r.Target.Name+" "+r.Verdict()+"\n")
		}
		if code := rep.ExitCode(); code != 0 {
			return job.Outcome{ExitCode: code, Message: fmt.Sprintf("%s failed on some containers", d.Action)}, nil
		}
		return job.Outcome{}, nil
	}), nil
}
