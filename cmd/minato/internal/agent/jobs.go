package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/boltstore"
	jobdocker "github.com/minato-ops/minato/job/docker"
	"github.com/minato-ops/minato/job/jobapi"
	"github.com/minato-ops/minato/job/jobfile"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/minato-ops/minato/monitor"
)

// jobs is the agent's job scheduler: its store, the scheduler over it, the
// job API, and what the agent counts and notifies of its runs.
type jobs struct {
	store *boltstore.Store
	sched *scheduler.Scheduler
	api   *jobapi.Handler
	log   *slog.Logger

	mu    sync.Mutex
	ended map[[2]string]uint64     // runs ended since start, by network and state
	last  map[string]job.UnitState // each network's last notified outcome

	// notify sends a run's changed outcome to the agent's notifiers.
	notify func(monitor.Evaluation)
	// changed is called when a run ended (the console's change counter).
	changed func()
}

// openJobs opens the store, builds the scheduler with the configured
// networks, sweeps the containers prepared for runs that will not happen,
// and builds the job API.
func openJobs(cfg Config, c *container.Client, log *slog.Logger, o jobfile.LoaderOptions, opts ...scheduler.Option) (*jobs, error) {
	path := cfg.Jobs.Store
	if path == "" {
		p, err := boltstore.DefaultPath()
		if err != nil {
			return nil, fmt.Errorf("jobs.store: %w", err)
		}
		path = p
	}
	spill := cfg.Jobs.SpillDir
	if spill == "" {
		spill = filepath.Join(filepath.Dir(path), "output")
	}
	if err := os.MkdirAll(spill, 0o700); err != nil {
		return nil, fmt.Errorf("jobs.spill_dir: %w", err)
	}
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		return nil, fmt.Errorf("jobs.store: %w", err)
	}
	j := &jobs{store: st, log: log, ended: map[[2]string]uint64{}, last: map[string]job.UnitState{}}
	if err := j.build(cfg, c, path, spill, o, opts...); err != nil {
		_ = st.Close()
		return nil, err
	}
	log.Info("job scheduler ready", "store", path, "jobnets", len(cfg.Jobnets), "spill_dir", spill)
	return j, nil
}

func (j *jobs) build(cfg Config, c *container.Client, path, spill string, o jobfile.LoaderOptions, opts ...scheduler.Option) error {
	o.SpillDir, o.Calendars, o.Owner = spill, cfg.calendars(), storeOwner(path)
	loader := jobfile.NewLoader(c, o)
	var err error
	opts = append([]scheduler.Option{scheduler.WithLogger(j.log.With("component", "scheduler")), scheduler.WithRunEnded(j.runEnded),
		scheduler.WithDefinitions(loader)}, opts...)
	j.sched, err = scheduler.New(scheduler.Config{Queues: cfg.Queues, Retention: cfg.Jobs.Retention, SpillDir: spill}, j.store, j.store, opts...)
	if err != nil {
		return err
	}
	var errs []error
	for i, data := range cfg.jobnetData {
		e, err := loader.Configured(data)
		if err == nil {
			err = j.sched.Add(e)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("jobnets[%d] (%s): %w", i, cfg.Jobnets[i], err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = jobdocker.SweepPrepared(ctx, c, jobdocker.SweepOptions{Logger: j.log, Owner: o.Owner, Keep: func(ctx context.Context, run string) (bool, error) {
		rec, err := j.store.GetRun(ctx, run)
		if errors.Is(err, job.ErrNotFound) {
			return false, nil // the scheduler prepares again, or runs without
		}
		return err == nil && !rec.Finished(), err
	}})
	if err != nil {
		j.log.Warn("looking for containers prepared for runs that did not happen", "err", err)
	}
	j.api, err = jobapi.NewHandler(j.sched, jobapi.Config{}, jobapi.WithToken(cfg.token), jobapi.WithLogger(j.log))
	return err
}

// storeOwner names a job store for the labels of its containers: this
// host and the store's absolute path, hashed, so that two agents sharing
// an engine, on one host or several, tell their containers apart.
func storeOwner(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(host + "\x00" + path))
	return hex.EncodeToString(sum[:8])
}

// Close closes the store.
func (j *jobs) Close() error { return j.store.Close() }

// runEnded counts a run that reached its final state and notifies when a
// network's outcome changed: a failure or cancellation after a success
// (or as the first outcome seen) is CRITICAL or WARNING, a success after
// one of those is OK, as monitor status changes are. Skipped runs (the
// overlap policy) change nothing.
func (j *jobs) runEnded(rec scheduler.RunRecord) {
	if j.changed != nil {
		j.changed()
	}
	st := rec.Report.State
	j.mu.Lock()
	j.ended[[2]string{rec.Network, string(st)}]++
	prev, seen := j.last[rec.Network]
	if st != job.Skipped {
		j.last[rec.Network] = st
	}
	j.mu.Unlock()
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

// endedCounts returns the runs ended since start, by network and state.
func (j *jobs) endedCounts() map[[2]string]uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make(map[[2]string]uint64, len(j.ended))
	for k, v := range j.ended {
		out[k] = v
	}
	return out
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
