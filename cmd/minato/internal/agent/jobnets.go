package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/boltstore"
	jobdocker "github.com/minato-ops/minato/job/docker"
	"github.com/minato-ops/minato/job/jobfile"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/minato-ops/minato/monitor"
)

// jobs is the agent's job scheduler. The store is opened, and the
// scheduler built and started, at start when jobnets are configured, and
// otherwise on the first request to the job API (a monitoring-only agent
// never touches the store, so several of them can run as one user).
type jobs struct {
	cfg    Config
	nets   []jobnetFile
	client *container.Client
	log    *slog.Logger
	errc   chan<- error // fatal scheduler errors stop the agent

	mu       sync.Mutex
	store    scheduler.Store
	sched    *scheduler.Scheduler
	spill    string
	ctx      context.Context // the agent's run context, once Run started
	done     chan struct{}   // closed when the scheduler's Run returned
	stopping bool

	cmu   sync.Mutex
	ended map[[2]string]uint64     // runs ended since start, by network and state
	last  map[string]job.UnitState // each network's last notified outcome

	// notify sends a run's outcome to the agent's notifiers.
	notify func(monitor.Evaluation)
}

func newJobs(cfg Config, nets []jobnetFile, client *container.Client, log *slog.Logger) *jobs {
	return &jobs{cfg: cfg, nets: nets, client: client, log: log, ended: map[[2]string]uint64{}, last: map[string]job.UnitState{}}
}

// errStopping refuses job requests that arrive while the agent stops.
var errStopping = errors.New("the agent is stopping")

// scheduler returns the scheduler, opening the store and building it on
// first use, and starting it when the agent runs.
func (j *jobs) scheduler() (*scheduler.Scheduler, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.sched != nil {
		return j.sched, nil
	}
	if j.stopping {
		return nil, errStopping
	}
	if err := j.openLocked(); err != nil {
		return nil, err
	}
	if j.ctx != nil {
		j.launchLocked()
	}
	return j.sched, nil
}

func (j *jobs) openLocked() error {
	path := j.cfg.Jobs.Store
	if path == "" {
		p, err := boltstore.DefaultPath()
		if err != nil {
			return fmt.Errorf("jobs.store: %w", err)
		}
		path = p
	}
	j.spill = j.cfg.Jobs.SpillDir
	if j.spill == "" {
		j.spill = filepath.Join(filepath.Dir(path), "output")
	}
	if err := os.MkdirAll(j.spill, 0o700); err != nil {
		return fmt.Errorf("jobs.spill_dir: %w", err)
	}
	bs, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		return err
	}
	sched, err := scheduler.New(scheduler.Config{Queues: j.cfg.Queues, Retention: j.cfg.Jobs.Retention}, bs, bs,
		scheduler.WithLogger(j.log.With("component", "scheduler")), scheduler.WithRunEnded(j.runEnded),
		scheduler.WithUnconfigured(j.adhoc))
	if err == nil {
		for _, f := range j.nets {
			e := scheduler.Entry{Name: f.def.Name, Schedule: f.schedule, Queue: f.def.Queue, Definition: f.data, Build: j.build}
			if s := f.def.Schedule; s != nil {
				e.Overlap, e.CatchUp = s.Overlap, s.CatchUp
			}
			if err = sched.Add(e); err != nil {
				err = fmt.Errorf("%s: %w", f.path, err)
				break
			}
		}
	}
	if err != nil {
		bs.Close()
		return err
	}
	j.store, j.sched = bs, sched
	j.sweepPrepared(bs)
	j.log.Info("job scheduler ready", "store", path, "jobnets", len(j.nets), "spill_dir", j.spill)
	return nil
}

// adhoc is the Entry of a network that is not configured: submitted as a
// job file, or recorded by a run of an earlier agent. It has no schedule,
// overlap allow, and the queue its file names. (The scheduler asks for it
// with its lock held: it must not call the scheduler.)
func (j *jobs) adhoc(rec scheduler.RunRecord) (scheduler.Entry, bool) {
	d, err := jobfile.Parse(rec.Definition)
	if err != nil || d.Name != rec.Network {
		j.log.Warn("a run's recorded definition does not define its network: not resumed", "run", rec.ID, "network", rec.Network, "err", err)
		return scheduler.Entry{}, false
	}
	return scheduler.Entry{Name: d.Name, Overlap: scheduler.OverlapAllow, Queue: d.Queue, Definition: rec.Definition, Build: j.build}, true
}

// build is every Entry's Build: the definition parsed again (a run
// resumed after a restart gets the one it was created with) and built
// with adoptable run units.
func (j *jobs) build(def []byte, runID string) (*job.Network, error) {
	d, err := jobfile.Parse(def)
	if err != nil {
		return nil, err
	}
	return jobfile.Build(d, j.client, jobfile.BuildOptions{RunID: runID, SpillDir: j.spill, Adoptable: true})
}

// start starts the scheduler with the agent (now, when it is open;
// otherwise when it opens).
func (j *jobs) start(ctx context.Context, errc chan<- error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ctx, j.errc = ctx, errc
	if j.sched != nil {
		j.launchLocked()
	}
}

func (j *jobs) launchLocked() {
	sched, ctx, errc := j.sched, j.ctx, j.errc
	done := make(chan struct{})
	j.done = done
	go func() {
		defer close(done)
		if err := sched.Run(ctx); err != nil {
			errc <- fmt.Errorf("jobs: %w", err)
		}
	}()
}

// stop refuses new work and returns a channel closed once the scheduler
// returned (it detaches from running units when the agent's ctx ends).
func (j *jobs) stop() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stopping = true
	if j.done == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return j.done
}

// Close closes the store.
func (j *jobs) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stopping = true
	if j.store == nil {
		return nil
	}
	err := j.store.Close()
	j.store = nil
	return err
}

// submit submits a job file's text, or (def nil) the configured network
// name, as the API's POST /api/v1/runs does.
func (j *jobs) submit(ctx context.Context, name string, def []byte, o scheduler.SubmitOptions) (scheduler.RunRecord, bool, error) {
	sched, err := j.scheduler()
	if err != nil {
		return scheduler.RunRecord{}, false, err
	}
	if def != nil {
		d, err := jobfile.Parse(def)
		if err != nil {
			return scheduler.RunRecord{}, false, badRequest{fmt.Errorf("definition: %w", err)}
		}
		if _, err := jobfile.Build(d, j.client, jobfile.BuildOptions{RunID: "check", Adoptable: true}); err != nil {
			return scheduler.RunRecord{}, false, badRequest{fmt.Errorf("definition: %w", err)}
		}
		name = d.Name
		if q := cmp.Or(d.Queue, scheduler.DefaultQueue); !slices.ContainsFunc(sched.Queues(), func(s scheduler.QueueStatus) bool { return s.Name == q }) {
			return scheduler.RunRecord{}, false, badRequest{fmt.Errorf("definition: queue: %q is not defined in the agent's queues", q)}
		}
		o.Definition = def
	}
	return sched.Submit(ctx, name, o)
}

// rerun reruns a run (the scheduler adds a submitted network that this
// agent does not know back from the run's recorded definition: adhoc).
func (j *jobs) rerun(ctx context.Context, id string) (scheduler.RunRecord, error) {
	sched, err := j.scheduler()
	if err != nil {
		return scheduler.RunRecord{}, err
	}
	return sched.Rerun(ctx, id)
}

// runEnded counts a run that reached its final state and notifies when a
// network's outcome changed: a failure or cancellation after a success
// (or as the first outcome seen) is CRITICAL or WARNING, a success after
// one of those is OK, as monitor status changes are. Skipped runs (the
// overlap policy) change nothing.
func (j *jobs) runEnded(rec scheduler.RunRecord) {
	st := rec.Report.State
	j.cmu.Lock()
	j.ended[[2]string{rec.Network, string(st)}]++
	prev, seen := j.last[rec.Network]
	if st != job.Skipped {
		j.last[rec.Network] = st
	}
	j.cmu.Unlock()
	if st == job.Skipped || j.notify == nil {
		return
	}
	var status monitor.Status
	switch st {
	case job.Succeeded:
		if !seen || prev == job.Succeeded {
			return
		}
		status = monitor.OK
	case job.Cancelled:
		status = monitor.Warning
	default:
		status = monitor.Critical
	}
	if seen && prev == st {
		return
	}
	msg := "run " + rec.ID + " " + string(st)
	for _, u := range rec.Report.Units {
		if u.State == job.StateFailed || u.State == job.TimedOut {
			msg += fmt.Sprintf("; %s %s exit=%d", u.Name, u.State, u.ExitCode)
			if u.Message != "" {
				msg += ": " + oneLine(u.Message)
			}
		}
	}
	if rec.Message != "" {
		msg += "; " + oneLine(rec.Message)
	}
	j.notify(monitor.Evaluation{Check: "jobnet", Target: inventory.Target{Kind: jobnetKind, Name: rec.Network},
		Result: monitor.Result{Status: status, Message: msg, Time: rec.Ended}, Status: status, Observed: status, Message: msg})
}

// jobnetKind is the Target kind of a job network in notifications.
const jobnetKind inventory.Kind = "jobnet"

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	return s
}

// writeMetrics appends the scheduler's series to the exposition: runs
// ended since start, queue slots and stops, next due times.
func (j *jobs) writeMetrics(w io.Writer) {
	j.mu.Lock()
	sched := j.sched
	j.mu.Unlock()
	if sched == nil {
		return
	}
	nets := sched.Networks()
	j.cmu.Lock()
	counts := maps.Clone(j.ended)
	j.cmu.Unlock()
	for _, n := range nets {
		for _, st := range []job.UnitState{job.Succeeded, job.StateFailed, job.Cancelled, job.Skipped} {
			k := [2]string{n.Name, string(st)}
			counts[k] += 0
		}
	}
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	fmt.Fprintln(w, "# HELP minato_jobnet_runs_total Runs of a job network that reached their final state since the agent started, by state.")
	fmt.Fprintln(w, "# TYPE minato_jobnet_runs_total counter")
	for _, k := range keys {
		fmt.Fprintf(w, "minato_jobnet_runs_total{network=%q,state=%q} %d\n", k[0], k[1], counts[k])
	}
	queues := sched.Queues()
	fmt.Fprintln(w, "# HELP minato_queue_running Units holding a slot of the queue.")
	fmt.Fprintln(w, "# TYPE minato_queue_running gauge")
	for _, q := range queues {
		fmt.Fprintf(w, "minato_queue_running{queue=%q} %d\n", q.Name, q.Running)
	}
	fmt.Fprintln(w, "# HELP minato_queue_stopped 1 when the queue is stopped: its units do not start.")
	fmt.Fprintln(w, "# TYPE minato_queue_stopped gauge")
	for _, q := range queues {
		v := 0
		if q.Stopped {
			v = 1
		}
		fmt.Fprintf(w, "minato_queue_stopped{queue=%q} %d\n", q.Name, v)
	}
	fmt.Fprintln(w, "# HELP minato_jobnet_next_due_timestamp_seconds When the network's schedule is next due (Unix time); scheduled networks only.")
	fmt.Fprintln(w, "# TYPE minato_jobnet_next_due_timestamp_seconds gauge")
	for _, n := range nets {
		if !n.Next.IsZero() {
			fmt.Fprintf(w, "minato_jobnet_next_due_timestamp_seconds{network=%q} %d\n", n.Name, n.Next.Unix())
		}
	}
}

// setupJobs prepares the scheduler: the configured files must build, the
// token is read, and the store is opened now when jobnets are configured
// (so that a store held by another agent stops this one at start).
func (a *Agent) setupJobs() error {
	cj, errs := a.cfg.compileJobs()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for i, f := range cj.nets {
		if _, err := jobfile.Build(f.def, a.client, jobfile.BuildOptions{RunID: "check", Adoptable: true}); err != nil {
			for _, e := range flatten(err) {
				errs = append(errs, fmt.Errorf("jobnets[%d] (%s): %w", i, f.path, e))
			}
		}
	}
	if p := a.cfg.API.TokenFile; p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("api.token_file: %w", err))
		} else if a.token = strings.TrimSpace(string(b)); a.token == "" || strings.ContainsAny(a.token, " \t\r\n") {
			errs = append(errs, fmt.Errorf("api.token_file: %s: want one line holding the token, with no spaces", p))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	a.jobs = newJobs(a.cfg, cj.nets, a.client, a.log)
	a.jobs.notify = a.notifyJob
	a.closers = append(a.closers, a.jobs)
	if len(cj.nets) > 0 {
		if _, err := a.jobs.scheduler(); err != nil {
			return fmt.Errorf("jobs: %w", err)
		}
	}
	return nil
}

// sweepAge is how old a created, never started job container must be for
// sweepPrepared to remove it.
var sweepAge = time.Minute // a variable for tests

// sweepPrepared removes the containers that were prepared for a scheduled
// run (created, never started) by an agent that stopped before the run was
// due, when that run will not use them: it is not in the store (the
// scheduler prepares again, or creates a container of its own if it
// catches the run up), or it has ended; and it is older than sweepAge, so
// that another process's container between its create and its start is
// left alone. It runs before the scheduler, so nothing is being prepared
// meanwhile. Failures are logged: leftovers carry the run's labels.
func (j *jobs) sweepPrepared(store scheduler.Store) {
	if j.client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := j.client.List(ctx, container.ListOptions{States: []container.State{container.Created},
		Labels: map[string]string{jobdocker.LabelJob: "true", jobfile.LabelRun: ""}})
	if err != nil {
		j.log.Warn("looking for containers prepared for runs that did not happen", "err", err)
		return
	}
	for _, c := range res.Containers {
		if time.Since(c.Created) < sweepAge {
			continue // maybe a foreground `jobnet run` between its create and start
		}
		run := c.Labels[jobfile.LabelRun]
		rec, err := store.GetRun(ctx, run)
		switch {
		case err == nil && !rec.Finished():
			continue // the scheduler resumes the run and uses or releases it
		case err != nil && !errors.Is(err, job.ErrNotFound):
			j.log.Warn("looking for containers prepared for runs that did not happen", "run", run, "err", err)
			continue
		}
		if _, err := j.client.Remove(ctx, c.ID, container.RemoveOptions{Force: true, Volumes: true}); err != nil && !container.IsNotFound(err) {
			j.log.Warn("removing a container prepared for a run that did not happen", "run", run, "container", c.ID, "err", err)
			continue
		}
		j.log.Info("removed a container prepared for a run that did not happen", "run", run, "unit", c.Labels[jobfile.LabelUnit], "container", c.ID)
	}
}
