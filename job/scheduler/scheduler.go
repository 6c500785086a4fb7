package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/schedule"
)

// Overlap is what a scheduled network does when it is due (or submitted)
// while an earlier run of it has not finished.
type Overlap string

// The overlap policies (Kubernetes CronJob's concurrencyPolicy, with
// dagu's queueing).
const (
	// OverlapSkip does not start the new run; the due time is recorded in
	// the history as a skipped run. The default.
	OverlapSkip Overlap = "skip"
	// OverlapQueue starts the new run once the earlier ones finished, in
	// due order.
	OverlapQueue Overlap = "queue"
	// OverlapReplace force-stops the running run (its running units are
	// stopped, the rest cancelled) and starts the new one.
	OverlapReplace Overlap = "replace"
	// OverlapAllow starts the new run at once, alongside the earlier ones.
	OverlapAllow Overlap = "allow"
)

// DefaultQueue is the queue of networks that name none. It exists in
// every Scheduler, with no concurrency limit unless configured.
const DefaultQueue = "default"

// DefaultRetention is how long finished runs stay in the history when
// Config.Retention is 0: 30 days, as dagu's.
const DefaultRetention = 30 * 24 * time.Hour

// QueueConfig is one named queue.
type QueueConfig struct {
	// Name names the queue.
	Name string `json:"name"`
	// Concurrency is how many units of the queue's networks run at once;
	// 0 means no limit.
	Concurrency int `json:"concurrency"`
}

// Config configures a [Scheduler].
type Config struct {
	// Queues are the named queues; DefaultQueue exists even when not
	// listed (listing it sets its concurrency).
	Queues []QueueConfig `json:"queues,omitempty"`
	// Retention is how long finished runs are kept in the Store; 0 means
	// DefaultRetention, negative means forever. Pruning happens at start
	// and hourly, and removes the pruned units' spilled output files that
	// are inside SpillDir.
	Retention time.Duration `json:"retention,omitempty"`
	// SpillDir is the directory the networks' units spill their output to
	// (job.Network.SpillDir): pruning removes a pruned unit's OutputFile
	// only when it is a regular file inside this directory, after the
	// path is cleaned and the directory's symlinks are resolved (a path
	// with ".." that leaves it, a file reached through a symlink that
	// points out of it, or a symlink itself, is left alone and logged). A
	// record names its file, and anyone who can write the Store can write
	// a record: the directory is the limit of what pruning may delete. ""
	// means no file is ever removed.
	SpillDir string `json:"spill_dir,omitempty"`
	// PrepareAhead is how long before a scheduled run is due its first
	// units (those that need no other) are prepared (see [Preparer]: their
	// containers created), so that at the due time they only start; 0
	// means DefaultPrepareAhead, negative means never.
	PrepareAhead time.Duration `json:"prepare_ahead,omitempty"`
}

// DefaultPrepareAhead is Config.PrepareAhead when it is 0.
const DefaultPrepareAhead = 2 * time.Second

// Entry is one network the [Scheduler] runs: on its Schedule, when
// submitted, or both.
type Entry struct {
	// Name is the network's name; unique in the Scheduler. Run IDs start
	// with it.
	Name string
	// Schedule says when the network is due; nil means it runs only when
	// submitted.
	Schedule schedule.Schedule
	// Overlap is the policy for a run that is due while an earlier one
	// has not finished; "" means OverlapSkip.
	Overlap Overlap
	// CatchUp is how far back due times missed while no scheduler ran
	// (the agent was down) are still run at start: the latest such due
	// time within CatchUp before the start is run, once; older ones are
	// logged as missed. 0 means missed due times are not run. Due times
	// that fall while the Store fails to write (see [Scheduler.Health])
	// are missed the same way: when the Store writes again, the latest of
	// them runs (trigger catch_up) if it is within CatchUp of that moment;
	// the others are logged as missed. A restart meanwhile handles them as
	// downtime.
	CatchUp time.Duration
	// Queue is the queue the network's units wait in; "" means
	// DefaultQueue.
	Queue string
	// Group is the failover group the network belongs to: with a [Gate]
	// (WithGate), its runs start only on the node that holds the group,
	// and each due time runs once across a failover. "" means the network
	// runs wherever this Scheduler runs.
	Group string
	// Definition is the network's definition (the job file's bytes); it
	// is recorded with every run and passed back to Build.
	Definition []byte
	// Build returns the network for one run: built from def (Definition
	// when the run was created; a run resumed after a restart gets the
	// definition it was created with), with runID in the labels of the
	// containers its units create. Units whose work may outlive the
	// process should use Adopter actions, so that a restart resumes them.
	Build func(def []byte, runID string) (*job.Network, error)
}

// Option configures optional collaborators of a [Scheduler].
type Option func(*Scheduler)

// WithLogger logs the Scheduler's decisions (runs created,
// started, skipped, adopted, ended) to l; the default is silent.
func WithLogger(l *slog.Logger) Option {
	return func(s *Scheduler) {
		if l != nil {
			s.log = l
		}
	}
}

// WithRunEnded calls f once for every run that reaches its final state
// (its units ended; or it was skipped, cancelled, refused, or could not be
// built), with a copy of its record, after the record is in the Store. f
// is called from the Scheduler's goroutines, one call at a time per run
// but concurrently for different runs, and should be quick: notify, count.
func WithRunEnded(f func(RunRecord)) Option {
	return func(s *Scheduler) { s.onEnded = f }
}

// Gate decides where the runs of networks that belong to a failover
// group ([Entry.Group]) start: on the node that holds the group, once
// per due time across the cluster (HA-aware scheduling).
//
// Admit is called before a run of network is created: for a scheduled
// run with its due time, for a submitted one with the zero time. It
// returns true when this node holds group now and, for a due time, no
// other holder has run it (the Gate records the claim, under the
// holder's fencing token, before returning true); false otherwise. An
// error means the Gate could not tell: the run is not created here, and
// the due time is tried again like a refused one. Admit must be safe for
// concurrent use and should return within a few seconds (ctx bounds it).
type Gate interface {
	Admit(ctx context.Context, group, network string, due time.Time) (bool, error)
}

// WithGate makes the networks that name a group run only where g admits
// them. A due time g refuses is not run here; it is kept, and when g
// admits it later (this node took the group over), the latest such due
// time within the network's CatchUp runs (trigger catch_up), once: so a
// due time that the failed holder did not run runs on the new holder.
// Submissions of such networks g refuses fail with [ErrNotHolder].
func WithGate(g Gate) Option {
	return func(s *Scheduler) { s.gate = g }
}

// ErrNotHolder is returned (wrapped) by Submit for a network whose group
// this node does not hold. It wraps job.ErrState (the job API answers
// 409).
var ErrNotHolder = &notHolderError{}

type notHolderError struct{}

func (*notHolderError) Error() string {
	return "job: this node does not hold the network's failover group"
}
func (*notHolderError) Unwrap() error { return job.ErrState }

// Definitions turns a network's definition (a job file's bytes, as
// [Entry.Definition] holds it) into the network's Entry: its Name, Queue
// and Build (job/jobfile's Loader is one). It lets a Scheduler run
// networks it was not given with [Scheduler.Add]: submitted with
// SubmitOptions.Definition, or recorded by runs of an earlier process.
type Definitions interface {
	// Entry returns the Entry of the network def defines, with
	// Definition set to def. An error says why def does not define a
	// runnable network; it is reported to the submitter as a bad request.
	// Entry is called with the Scheduler's lock held: it must be quick
	// and must not call the Scheduler. It must be safe for concurrent use.
	Entry(def []byte) (Entry, error)
}

// WithDefinitions lets the Scheduler run networks it has no Entry for,
// from the definition a submission brings or a run recorded: d is asked
// for the Entry when a network is submitted with
// SubmitOptions.Definition (a network of that name that was added keeps
// its Entry, and the run is built from the submitted definition), and
// when an unfinished run of an unknown network is resumed at start or a
// run of one is rerun. The Entry is added as [Scheduler.Add] does, so its
// queue must exist. Without it, such submissions fail with
// [job.ErrInvalid] and such runs are left as they are.
func WithDefinitions(d Definitions) Option {
	return func(s *Scheduler) { s.defs = d }
}

// entryFor returns the Entry of rec's network, adding one from
// rec.Definition through the Definitions for an unknown network; s.mu is
// held. A nil entry with a nil error means there is none.
func (s *Scheduler) entryFor(rec RunRecord) (*entry, error) {
	if e := s.entries[rec.Network]; e != nil || s.defs == nil || rec.Definition == nil {
		return e, nil
	}
	en, err := s.defs.Entry(rec.Definition)
	if err != nil {
		return nil, err
	}
	if en.Name != rec.Network {
		return nil, job.Invalidf("the recorded definition defines network %q, not %q", en.Name, rec.Network)
	}
	if err := s.addLocked(en); err != nil {
		return nil, err
	}
	s.log.Info("network added from a recorded definition", "network", en.Name, "queue", en.Queue)
	return s.entries[en.Name], nil
}

// submittedEntry returns the Entry a submission of def runs under: the
// added network of the name def defines, else def's own Entry, added;
// s.mu is held. Errors wrap job.ErrInvalid.
func (s *Scheduler) submittedEntry(network string, def []byte) (*entry, error) {
	if s.defs == nil {
		return nil, job.Invalidf("this scheduler runs only the networks it was configured with; it takes no definitions")
	}
	en, err := s.defs.Entry(def)
	if err != nil {
		return nil, &job.InvalidError{Msg: "definition: " + err.Error()}
	}
	if network != "" && en.Name != network {
		return nil, job.Invalidf("the definition defines network %q, not %q", en.Name, network)
	}
	if e := s.entries[en.Name]; e != nil {
		return e, nil
	}
	if err := s.addLocked(en); err != nil {
		return nil, &job.InvalidError{Msg: "definition: " + err.Error()}
	}
	s.log.Info("network added from a submitted definition", "network", en.Name, "queue", en.Queue)
	return s.entries[en.Name], nil
}

// SubmitOptions tunes [Scheduler.Submit].
type SubmitOptions struct {
	// Hold lists units held from the start: they wait until released.
	Hold []string
	// ID, when set, is the run's ID, which makes the submission
	// idempotent: submitting an ID that exists returns that run (and
	// created false) instead of starting another.
	ID string
	// Definition, when set, is the definition this run is built from
	// instead of the Entry's (a job file submitted by an operator).
	Definition []byte
}

// QueueStatus is one queue's state.
type QueueStatus struct {
	Name        string `json:"name"`
	Concurrency int    `json:"concurrency"`
	// Running is how many units hold a slot of the queue.
	Running int `json:"running"`
	// Stopped says the queue starts no units until started again.
	Stopped bool `json:"stopped"`
}

// EntryStatus is one network's schedule state.
type EntryStatus struct {
	Name     string  `json:"name"`
	Queue    string  `json:"queue"`
	Overlap  Overlap `json:"overlap"`
	Schedule string  `json:"schedule,omitempty"`
	// Next is the next due time; zero when the network is not scheduled.
	Next time.Time `json:"next,omitzero"`
	// Running lists the IDs of its runs that have not finished.
	Running []string `json:"running,omitempty"`
}

// Scheduler runs networks on their schedules and on submission, through
// named queues, with operator controls on running networks, and records
// everything in a [Store] so that a restarted Scheduler resumes without
// running anything twice.
//
// Run IDs: a scheduled run is "<network>@<due time>" (UTC,
// "20060102T150405Z"), created atomically in the Store, so that one due
// time makes one run whatever restarts happen; a submitted run is
// "<network>@<now>.<n>"; a rerun is "<run>.rerun<n>".
//
// Crash recovery: the Store holds each unit's state, written before a
// unit starts and after it ends. [Scheduler.Run] resumes the runs that
// had not finished: finished units keep their results, units that were
// running are adopted (their container waited for and its output read
// again from the start) or, when their work could not outlive the process,
// failed as interrupted; the others run as planned. When Run's ctx ends,
// running units are detached, not stopped: containers go on and are
// adopted by the next Run.
//
// A failing Store (a full disk, a damaged file) loses no outcome: a run
// waits while its next state cannot be written (a unit does not start
// before its start is recorded), a unit's result and a run's end are
// written again with a backoff of up to 10 seconds until the Store takes
// them, and an [job.Adopter]'s work (its container) is released only
// after its result is in the Store. If the Scheduler stops while the
// Store still fails, the work is kept and the next Scheduler adopts it
// and reads its real outcome. Meanwhile [Scheduler.Health] reports the
// failure and no new run is admitted (due times are handled as
// [Entry.CatchUp] says).
//
// All methods are safe for concurrent use.
type Scheduler struct {
	cfg     Config
	store   RunStore
	state   StateStore
	log     *slog.Logger
	onEnded func(RunRecord)
	defs    Definitions
	gate    Gate

	// Health: the Store's last write error, since when writes fail, and
	// how many writes are being retried.
	hmu      sync.Mutex
	herr     error
	hsince   time.Time
	retrying atomic.Int32

	mu      sync.Mutex
	entries map[string]*entry
	order   []string
	queues  map[string]*Queue
	active  map[string]*activeRun
	// ending holds the runs that ended without executing whose final
	// record is being retried while the Store fails.
	ending map[string]*activeRun
	// prepared holds the networks built ahead of their due time, by run
	// ID, with their first units prepared.
	prepared map[string]*job.Network
	running  bool
	ready    bool            // recovery done: new runs are admitted at once
	baseCtx  context.Context // the runs' ctx while Run runs
	wake     chan struct{}
	wg       sync.WaitGroup
}

type entry struct {
	Entry
	last time.Time // the last due time handled
	next time.Time
	// unrecorded is the latest due time whose run the Store could not
	// record; unrecordedMissed counts the earlier ones since it last ran.
	unrecorded       time.Time
	unrecordedMissed int
	// elsewhere is the latest due time the Gate refused (another node
	// holds the group): run here, within CatchUp, if the Gate admits it
	// later.
	elsewhere time.Time
}

// activeRun is a run this process is responsible for: waiting to start
// (exec nil) or executing.
type activeRun struct {
	wmu    sync.Mutex // serialises the run's Store writes
	mu     sync.Mutex // guards rec and saved
	rec    RunRecord
	saved  map[string]bool // unit -> its final state is in the Store
	exec   *job.Execution
	cancel context.CancelCauseFunc
}

// New returns a Scheduler that keeps its runs in runs and its own small
// values in state (one [Store] is usually both). It does nothing until
// [Scheduler.Run]. An error says what is wrong with cfg, every problem
// joined, each with its key path.
func New(cfg Config, runs RunStore, state StateStore, opts ...Option) (*Scheduler, error) {
	if runs == nil || state == nil {
		return nil, errors.New("scheduler: nil run or state store")
	}
	s := &Scheduler{cfg: cfg, store: runs, state: state, log: slog.New(slog.DiscardHandler), entries: map[string]*entry{},
		queues: map[string]*Queue{}, active: map[string]*activeRun{}, ending: map[string]*activeRun{}, prepared: map[string]*job.Network{}, wake: make(chan struct{}, 1)}
	for _, o := range opts {
		o(s)
	}
	var errs []error
	for i, q := range cfg.Queues {
		switch {
		case !ValidName(q.Name):
			errs = append(errs, fmt.Errorf("queues[%d].name: %q: want letters, digits, '.', '_' or '-'", i, q.Name))
		case s.queues[q.Name] != nil:
			errs = append(errs, fmt.Errorf("queues[%d].name: %q is defined twice", i, q.Name))
		case q.Concurrency < 0:
			errs = append(errs, fmt.Errorf("queues[%d].concurrency: must not be negative, got %d", i, q.Concurrency))
		default:
			s.queues[q.Name] = NewQueue(q.Name, q.Concurrency)
		}
	}
	if s.queues[DefaultQueue] == nil {
		s.queues[DefaultQueue] = NewQueue(DefaultQueue, 0)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// ValidName reports whether s may name a network, queue or calendar: one
// or more ASCII letters, digits, '.', '_' or '-' (it starts run IDs and
// container label values, so no spaces, '@' or '/').
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Add registers a network. Networks added before Run get their catch-up
// at start; a network added while Run runs is due from then on. Errors: an
// invalid or duplicate name ('@' and spaces are not allowed: the name
// starts run IDs), a nil Build, an unknown queue or overlap policy, a
// negative CatchUp.
func (s *Scheduler) Add(e Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLocked(e)
}

// addLocked is Add with s.mu held.
func (s *Scheduler) addLocked(e Entry) error {
	var errs []error
	if !ValidName(e.Name) {
		errs = append(errs, fmt.Errorf("job: network %q: name: want letters, digits, '.', '_' or '-'", e.Name))
	} else if s.entries[e.Name] != nil {
		errs = append(errs, fmt.Errorf("job: network %q: added twice", e.Name))
	}
	if e.Build == nil {
		errs = append(errs, fmt.Errorf("job: network %q: build: nil", e.Name))
	}
	if e.Queue == "" {
		e.Queue = DefaultQueue
	}
	if s.queues[e.Queue] == nil {
		errs = append(errs, fmt.Errorf("job: network %q: queue: %q is not defined (queues: %s)", e.Name, e.Queue, strings.Join(s.queueNames(), ", ")))
	}
	switch e.Overlap {
	case "":
		e.Overlap = OverlapSkip
	case OverlapSkip, OverlapQueue, OverlapReplace, OverlapAllow:
	default:
		errs = append(errs, fmt.Errorf("job: network %q: overlap: %q: want skip, queue, replace or allow", e.Name, e.Overlap))
	}
	if e.CatchUp < 0 {
		errs = append(errs, fmt.Errorf("job: network %q: catch_up: must not be negative, got %s", e.Name, e.CatchUp))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	en := &entry{Entry: e}
	s.entries[e.Name] = en
	s.order = append(s.order, e.Name)
	if e.Schedule != nil {
		// Networks shows the next due time at once; Run's catch-up
		// recomputes it from the last one handled. Added while running:
		// due from now on, nothing to catch up.
		en.last = time.Now()
		en.next = e.Schedule.Next(en.last)
		if s.ready {
			s.notifyLoop()
		}
	}
	return nil
}

func (s *Scheduler) queueNames() []string {
	return slices.Sorted(maps.Keys(s.queues))
}

const (
	dueFormat    = "20060102T150405Z"
	submitFormat = "20060102T150405.000Z"
)

// ScheduledRunID is the ID of network's run for the due time.
func ScheduledRunID(network string, due time.Time) string {
	return network + "@" + due.UTC().Format(dueFormat)
}

func lastKey(network string) string { return "schedule/" + network + "/last" }
func queueKey(queue string) string  { return "queue/" + queue + "/stopped" }
func (s *Scheduler) notifyLoop() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
func (s *Scheduler) retention() time.Duration {
	if s.cfg.Retention == 0 {
		return DefaultRetention
	}
	return s.cfg.Retention
}

// Run runs the scheduler until ctx ends: it restores the queues' stopped
// state, prunes the history, resumes the runs that had not finished, runs
// the catch-up of due times missed while no scheduler ran, then starts
// runs as they fall due and as they are submitted. When ctx ends it
// detaches from the running units (see [ErrDetached]) and returns nil once
// every run's coordinator returned. An error means the Store failed at
// start; Run may not be called twice.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("job: scheduler: Run called twice")
	}
	s.running = true
	s.mu.Unlock()

	for name, q := range s.queues {
		v, err := s.state.GetValue(ctx, queueKey(name))
		if err != nil {
			return fmt.Errorf("job: scheduler: reading queue %s: %w", name, err)
		}
		if v != nil {
			q.Stop()
		}
	}
	s.prune(ctx)
	// The runs' work goes on when ctx ends: their ctx is detached from it.
	base, detach := context.WithCancelCause(context.WithoutCancel(ctx))
	defer detach(nil)
	s.mu.Lock()
	s.baseCtx = base
	s.mu.Unlock()
	if err := s.recover(ctx, base); err != nil {
		return err
	}
	now := time.Now()
	for _, name := range s.order {
		if err := s.catchUp(ctx, base, s.entries[name], now); err != nil {
			return err
		}
	}

	nextPrune := now.Add(time.Hour)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	type firing struct {
		e   *entry
		due time.Time
	}
	// While the Store fails and no write is being retried, a probe finds
	// out when it writes again.
	var nextProbe time.Time
	probeDelay := retryMin
	for {
		now = time.Now()
		healthy := s.Health() == nil
		next := nextPrune
		var due []firing
		s.mu.Lock()
		for _, name := range s.order {
			e := s.entries[name]
			for !e.next.IsZero() && !e.next.After(now) {
				d := e.next
				e.next = e.Schedule.Next(d)
				if !e.next.IsZero() && !e.next.After(now) {
					s.log.Warn("due time missed: the scheduler was late", "network", name, "due", d)
					s.discardPrepared(ScheduledRunID(name, d))
					continue
				}
				due = append(due, firing{e, d})
			}
			if e.next.IsZero() {
				continue
			}
			if e.next.Before(next) {
				next = e.next
			}
			if lead := s.prepareAhead(); lead > 0 {
				at := e.next.Add(-lead)
				if !now.Before(at) {
					if healthy {
						s.prepare(base, e, e.next)
					}
				} else if at.Before(next) {
					next = at
				}
			}
		}
		s.mu.Unlock()
		if healthy {
			s.runDeferred(ctx, base, now)
			if s.gate != nil && s.takeOver(ctx, base, now) && now.Add(gateRecheck).Before(next) {
				next = now.Add(gateRecheck)
			}
		}
		for _, f := range due {
			if err := s.Health(); err != nil {
				s.deferDue(f.e, f.due, err)
				continue
			}
			s.fire(ctx, base, f.e, f.due, TriggerSchedule)
		}
		if !now.Before(nextPrune) {
			s.prune(ctx)
			nextPrune = now.Add(time.Hour)
		}
		if s.Health() == nil {
			nextProbe, probeDelay = time.Time{}, retryMin
		} else {
			switch {
			case nextProbe.IsZero():
				nextProbe = now.Add(probeDelay)
			case !now.Before(nextProbe):
				if s.retrying.Load() == 0 {
					s.probe(ctx)
				}
				probeDelay = min(2*probeDelay, retryMax)
				nextProbe = now.Add(probeDelay)
			}
			if nextProbe.Before(next) {
				next = nextProbe
			}
		}
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			detach(job.ErrDetached)
			s.wg.Wait()
			s.mu.Lock()
			for id := range s.prepared {
				s.discardPrepared(id)
			}
			s.running, s.ready = false, false
			s.mu.Unlock()
			s.wg.Wait()
			return nil
		case <-timer.C:
		case <-s.wake:
		}
	}
}

func (s *Scheduler) prune(ctx context.Context) {
	if s.retention() < 0 {
		return
	}
	cutoff := time.Now().Add(-s.retention())
	// The spilled output of the runs that go goes with them.
	recs, err := s.store.ListRuns(ctx, RunFilter{})
	if err != nil {
		s.log.Warn("pruning the history", "err", err)
		return
	}
	spill := openSpill(s.cfg.SpillDir)
	defer spill.close()
	files := 0
	for _, r := range recs {
		if !r.Finished() || r.Ended.IsZero() || !r.Ended.Before(cutoff) {
			continue
		}
		for _, u := range r.Report.Units {
			if u.OutputFile == "" || s.cfg.SpillDir == "" {
				continue
			}
			if err := spill.remove(u.OutputFile); err == nil {
				files++
			} else if !errors.Is(err, os.ErrNotExist) {
				s.log.Warn("not removing a pruned run's output file", "run", r.ID, "unit", u.Name, "err", err)
			}
		}
	}
	n, err := s.store.DeleteRuns(ctx, cutoff)
	s.wrote(ctx, err)
	if err != nil {
		s.log.Warn("pruning the history", "err", err)
	} else if n > 0 {
		s.log.Info("history pruned", "runs", n, "output_files", files, "retention", s.retention())
	}
}

// recover resumes the runs that had not finished. It holds s.mu
// throughout, so that a run submitted meanwhile is either in the list or
// admitted after it (see Submit).
func (s *Scheduler) recover(ctx, base context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := s.store.ListRuns(ctx, RunFilter{Unfinished: true})
	if err != nil {
		return fmt.Errorf("job: scheduler: reading unfinished runs: %w", err)
	}
	slices.Reverse(recs) // oldest first
	for _, rec := range recs {
		e, err := s.entryFor(rec)
		if e == nil {
			s.log.Warn("unfinished run of a network that is not configured: left as it is", "run", rec.ID, "network", rec.Network, "err", err)
			continue
		}
		s.log.Info("resuming run", "run", rec.ID, "state", rec.Report.State)
		ar := &activeRun{rec: rec}
		s.active[rec.ID] = ar
		if rec.Report.State == job.Running {
			s.executeLocked(base, e, ar)
		}
	}
	for _, name := range s.order {
		s.startWaiting(base, s.entries[name])
	}
	s.ready = true
	return nil
}

// catchUp handles the due times that passed since the last one handled.
func (s *Scheduler) catchUp(ctx, base context.Context, e *entry, now time.Time) error {
	if e.Schedule == nil {
		return nil
	}
	v, err := s.state.GetValue(ctx, lastKey(e.Name))
	if err != nil {
		return fmt.Errorf("job: scheduler: reading %s: %w", lastKey(e.Name), err)
	}
	if v == nil {
		e.last = now // first start: nothing was missed
		s.saveLast(ctx, e)
	} else if err := e.last.UnmarshalText(v); err != nil {
		s.log.Warn("unreadable last due time: starting from now", "network", e.Name, "err", err)
		e.last = now
	}
	var latest time.Time
	missed := 0
	for d := e.Schedule.Next(e.last); !d.IsZero() && !d.After(now); d = e.Schedule.Next(d) {
		if !latest.IsZero() {
			missed++
		}
		latest = d
		if missed > 100000 {
			break
		}
	}
	if !latest.IsZero() {
		if e.CatchUp > 0 && !latest.Before(now.Add(-e.CatchUp)) {
			if missed > 0 {
				s.log.Warn("due times missed while the scheduler was down", "network", e.Name, "missed", missed)
			}
			s.fire(ctx, base, e, latest, TriggerCatchUp)
		} else {
			s.log.Warn("due times missed while the scheduler was down", "network", e.Name, "missed", missed+1, "catch_up", e.CatchUp)
			e.last = latest
			s.saveLast(ctx, e)
		}
	}
	from := now
	if e.last.After(now) {
		from = e.last
	}
	next := e.Schedule.Next(from)
	s.mu.Lock()
	e.next = next
	s.mu.Unlock()
	return nil
}

func (s *Scheduler) saveLast(ctx context.Context, e *entry) {
	b, _ := e.last.UTC().MarshalText()
	err := s.state.PutValue(ctx, lastKey(e.Name), b)
	s.wrote(ctx, err)
	if err != nil {
		s.log.Warn("recording the last due time", "network", e.Name, "err", err)
	}
}

// fire creates the run for a due time (once: the ID is the due time's)
// and starts it as the overlap policy says.
func (s *Scheduler) fire(ctx, base context.Context, e *entry, due time.Time, trig Trigger) {
	if !s.admitted(ctx, e, due) {
		return
	}
	s.create(ctx, base, e, due, trig)
}

// create creates the run of an admitted due time and starts it.
func (s *Scheduler) create(ctx, base context.Context, e *entry, due time.Time, trig Trigger) {
	rec := RunRecord{ID: ScheduledRunID(e.Name, due), Network: e.Name, Trigger: trig, Due: due, Created: time.Now(),
		Queue: e.Queue, Definition: e.Definition, Report: job.NetworkReport{Name: e.Name, State: job.Pending}}
	created, err := s.store.CreateRun(ctx, rec)
	s.wrote(ctx, err)
	if err != nil {
		if ctx.Err() == nil {
			s.deferDue(e, due, err)
		}
		return
	}
	// The last due time is saved after the run started: it only spares
	// the catch-up a lookup, since the run's ID already makes it once.
	e.last = due
	defer s.saveLast(ctx, e)
	if !created {
		s.log.Info("due run exists already: not run again", "run", rec.ID)
		s.mu.Lock()
		s.discardPrepared(rec.ID)
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ar := &activeRun{rec: rec}
	_ = s.admit(base, e, ar, false) // a scheduled run is never refused
	if ar.exec == nil {
		s.discardPrepared(rec.ID) // it waits (or was skipped): prepare again when it starts
	}
	s.log.Info("run due", "run", rec.ID, "trigger", trig)
}

// admitted asks the Gate whether a due time of a network of a group runs
// here. A refusal keeps the due time as elsewhere, for a later takeover,
// and marks it handled here.
func (s *Scheduler) admitted(ctx context.Context, e *entry, due time.Time) bool {
	if s.gate == nil || e.Group == "" {
		return true
	}
	actx, cancel := context.WithTimeout(ctx, gateTimeout)
	ok, err := s.gate.Admit(actx, e.Group, e.Name, due)
	cancel()
	if ok && err == nil {
		s.mu.Lock()
		if !e.elsewhere.After(due) {
			e.elsewhere = time.Time{}
		}
		s.mu.Unlock()
		return true
	}
	if err != nil {
		s.log.Warn("HA gate could not admit the due run: not run here", "network", e.Name, "group", e.Group, "due", due, "err", err)
	} else {
		s.log.Info("due run belongs to the holder of its group: not run here", "network", e.Name, "group", e.Group, "due", due)
	}
	s.mu.Lock()
	if due.After(e.elsewhere) {
		e.elsewhere = due
	}
	s.discardPrepared(ScheduledRunID(e.Name, due))
	s.mu.Unlock()
	e.last = due
	s.saveLast(ctx, e)
	return false
}

// gateTimeout bounds one Gate.Admit.
const gateTimeout = 10 * time.Second

// gateRecheck is how often due times another node was admitted for are
// offered to the Gate again (to be run here after a takeover).
const gateRecheck = time.Second

// takeOver runs, for each network of a group, the latest due time that was
// refused here, when the Gate now admits it and it is within CatchUp.
func (s *Scheduler) takeOver(ctx, base context.Context, now time.Time) (pending bool) {
	s.mu.Lock()
	var todo []*entry
	for _, name := range s.order {
		e := s.entries[name]
		if e.elsewhere.IsZero() {
			continue
		}
		if e.CatchUp <= 0 || e.elsewhere.Before(now.Add(-e.CatchUp)) {
			e.elsewhere = time.Time{} // too old to catch up
			continue
		}
		todo = append(todo, e)
	}
	s.mu.Unlock()
	for _, e := range todo {
		s.mu.Lock()
		due := e.elsewhere
		s.mu.Unlock()
		actx, cancel := context.WithTimeout(ctx, gateTimeout)
		ok, err := s.gate.Admit(actx, e.Group, e.Name, due)
		cancel()
		if err != nil || !ok {
			pending = true
			continue
		}
		s.mu.Lock()
		e.elsewhere = time.Time{}
		s.mu.Unlock()
		s.log.Info("took the group over: running the due time its holder left", "network", e.Name, "group", e.Group, "due", due)
		s.create(ctx, base, e, due, TriggerCatchUp)
	}
	return pending
}

// admit applies the overlap policy to a new run, whose record is in the
// Store already (CreateRun); s.mu is held. With operator set, a skip is an
// error (for Submit and Rerun) rather than a skipped run in the history.
func (s *Scheduler) admit(base context.Context, e *entry, ar *activeRun, operator bool) error {
	var others []*activeRun
	for _, o := range s.active {
		if o.rec.Network == e.Name {
			others = append(others, o)
		}
	}
	if len(others) > 0 {
		ids := make([]string, 0, len(others))
		for _, o := range others {
			ids = append(ids, o.rec.ID)
		}
		slices.Sort(ids)
		switch e.Overlap {
		case OverlapSkip:
			if operator {
				return job.StateErrorf("network %s: run %s has not finished and the overlap policy is skip", e.Name, strings.Join(ids, ", "))
			}
			ar.rec.Message = "skipped: run " + strings.Join(ids, ", ") + " had not finished (overlap: skip)"
			ar.rec.Report = skippedReport(ar.rec.Report, ar.rec.Message)
			ar.rec.Ended = time.Now()
			s.finish(ar)
			s.discardPrepared(ar.rec.ID)
			s.log.Info("run skipped: an earlier run has not finished", "run", ar.rec.ID, "running", ids)
			return nil
		case OverlapQueue, OverlapReplace:
			s.active[ar.rec.ID] = ar
			if e.Overlap == OverlapReplace {
				for _, o := range others {
					if o.exec != nil {
						o.cancel(fmt.Errorf("replaced by run %s (overlap: replace)", ar.rec.ID))
					} else {
						s.cancelWaiting(o, "replaced by run "+ar.rec.ID+" (overlap: replace)")
					}
				}
			}
			s.log.Info("run waits for the earlier runs", "run", ar.rec.ID, "running", ids, "overlap", e.Overlap)
			return nil
		}
	}
	s.active[ar.rec.ID] = ar
	s.executeLocked(base, e, ar)
	return nil
}

// skippedReport is a run that did not run: every unit skipped.
func skippedReport(rep job.NetworkReport, why string) job.NetworkReport {
	rep.State = job.Skipped
	for i := range rep.Units {
		if !rep.Units[i].State.Finished() {
			rep.Units[i].State, rep.Units[i].Message = job.Skipped, why
		}
	}
	if len(rep.Units) == 0 {
		rep.Units = []job.UnitReport{}
	}
	return rep
}

// cancelWaiting ends a run that never started; s.mu is held.
func (s *Scheduler) cancelWaiting(ar *activeRun, why string) {
	delete(s.active, ar.rec.ID)
	ar.rec.Report.State = job.Cancelled
	for i := range ar.rec.Report.Units {
		if !ar.rec.Report.Units[i].State.Finished() {
			ar.rec.Report.Units[i].State, ar.rec.Report.Units[i].Message = job.Cancelled, why
		}
	}
	ar.rec.Ended = time.Now()
	s.finish(ar)
}

// startWaiting starts the oldest waiting run of the network when none of
// its runs executes; s.mu is held.
func (s *Scheduler) startWaiting(base context.Context, e *entry) {
	var waiting []*activeRun
	for _, o := range s.active {
		if o.rec.Network != e.Name {
			continue
		}
		if o.exec != nil {
			return
		}
		waiting = append(waiting, o)
	}
	if len(waiting) == 0 {
		return
	}
	slices.SortFunc(waiting, func(a, b *activeRun) int {
		if c := a.rec.Created.Compare(b.rec.Created); c != 0 {
			return c
		}
		return strings.Compare(a.rec.ID, b.rec.ID)
	})
	s.executeLocked(base, e, waiting[0])
	if e.Overlap == OverlapAllow {
		for _, w := range waiting[1:] {
			s.executeLocked(base, e, w)
		}
	}
}

// ended calls the run-ended hook with a copy of rec.
func (s *Scheduler) ended(rec RunRecord) {
	if s.onEnded != nil {
		rec.Report = rec.Report.Clone()
		s.onEnded(rec)
	}
}

// executeLocked builds the run's network and starts it; s.mu is held.
func (s *Scheduler) executeLocked(base context.Context, e *entry, ar *activeRun) {
	rec := ar.rec
	fail := func(err error) {
		delete(s.active, rec.ID)
		ar.rec.Report.State = job.StateFailed
		ar.rec.Message = err.Error()
		if len(ar.rec.Report.Units) == 0 {
			ar.rec.Report.Units = []job.UnitReport{}
		}
		ar.rec.Ended = time.Now()
		s.finish(ar)
		s.log.Error("run could not start", "run", rec.ID, "err", err)
	}
	n := s.prepared[rec.ID]
	delete(s.prepared, rec.ID)
	if n == nil {
		var err error
		if n, err = e.Build(rec.Definition, rec.ID); err != nil {
			fail(fmt.Errorf("building the network: %w", err))
			return
		}
	}
	if n == nil {
		fail(errors.New("building the network: Build returned no network"))
		return
	}
	// Adopters release their work only once their result is in the Store.
	n = guardAdopters(n, ar)
	var resume *job.NetworkReport
	if len(rec.Report.Units) > 0 {
		r := rec.Report
		resume = &r
	}
	ctx, cancel := context.WithCancelCause(base)
	// Every state change is in the Store before the run goes on: a unit
	// starts once its running state is written, and its work is released
	// once its result is. While the Store fails, the write is retried and
	// the run waits; when the Scheduler stops first, a finished unit's
	// work is kept for the next Scheduler to adopt.
	obs := func(u job.UnitReport) {
		ar.mu.Lock()
		ar.rec.Report.State = job.Running
		if i := slices.IndexFunc(ar.rec.Report.Units, func(x job.UnitReport) bool { return x.Name == u.Name }); i >= 0 {
			ar.rec.Report.Units[i] = u
		} else {
			ar.rec.Report.Units = append(ar.rec.Report.Units, u)
		}
		ar.mu.Unlock()
		if !s.persist(base, ar) && u.State.Finished() {
			s.log.Warn("a unit's result could not be recorded before the scheduler stopped: its work is kept for the next scheduler to adopt",
				"run", rec.ID, "unit", u.Name, "state", u.State, "exit_code", u.ExitCode)
		}
	}
	exec, err := n.Start(ctx, job.StartOptions{Observer: obs, Resume: resume, Gate: s.queues[e.Queue]})
	if err != nil {
		cancel(nil)
		fail(err)
		return
	}
	ar.exec, ar.cancel = exec, cancel
	// The record shows every unit from now on. It is written with the
	// first unit's change (before that unit starts): a run that stops
	// before that is still pending in the Store, and runs again whole.
	ar.mu.Lock()
	ar.rec.Report = exec.Report()
	ar.rec.Report.State = job.Running
	ar.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		rep := exec.Wait()
		cancel(nil)
		if rep.State == job.Running { // detached: the next scheduler resumes it
			return
		}
		ar.mu.Lock()
		ar.rec.Report = rep
		ar.rec.Ended = time.Now()
		ar.mu.Unlock()
		if s.persist(base, ar) {
			s.log.Info("run ended", "run", rec.ID, "state", rep.State)
			s.ended(ar.snapshot())
		} else {
			s.log.Warn("run ended, but its end could not be recorded before the scheduler stopped: the next scheduler records it", "run", rec.ID, "state", rep.State)
		}
		s.mu.Lock()
		delete(s.active, rec.ID)
		if base.Err() == nil {
			s.startWaiting(base, e)
		}
		s.mu.Unlock()
	}()
}

// Submit creates a run of the network now and starts it as its overlap
// policy says. With o.Definition the run is built from that definition
// and network may be "" (the definition names it; see
// [WithDefinitions]). It returns the run as recorded, and created false
// when o.ID named an existing run (which is returned instead).
// Submissions made before Run are recorded and start when Run starts.
//
// Errors: an unknown network wraps [job.ErrNotFound]; a definition that
// does not build, a held unit the network does not have, or a queue that
// does not exist wraps [job.ErrInvalid]; a submission the overlap policy
// refuses (skip while a run is active) wraps [job.ErrState] and leaves no
// record, so that a retry with the same o.ID is a new submission; while
// the Store fails to write ([Scheduler.Health] is not nil), or when it
// fails to record this run, the error wraps [ErrUnavailable] and the
// Store's error.
func (s *Scheduler) Submit(ctx context.Context, network string, o SubmitOptions) (rec RunRecord, created bool, err error) {
	s.mu.Lock()
	var e *entry
	if o.Definition != nil {
		e, err = s.submittedEntry(network, o.Definition)
	} else {
		e = s.entries[network]
	}
	s.mu.Unlock()
	if err != nil {
		return RunRecord{}, false, fmt.Errorf("submit: %w", err)
	}
	if e == nil {
		return RunRecord{}, false, fmt.Errorf("submit: %w", job.NotFound("network", network))
	}
	network = e.Name
	if s.gate != nil && e.Group != "" {
		actx, cancel := context.WithTimeout(ctx, gateTimeout)
		ok, gerr := s.gate.Admit(actx, e.Group, network, time.Time{})
		cancel()
		if gerr != nil || !ok {
			return RunRecord{}, false, fmt.Errorf("submit %s: %w (group %s): submit it to the node that holds the group", network, ErrNotHolder, e.Group)
		}
	}
	def := e.Definition
	if o.Definition != nil {
		def = o.Definition
	}
	n, err := e.Build(def, "check")
	if err != nil {
		return RunRecord{}, false, fmt.Errorf("submit %s: %w", network, &job.InvalidError{Msg: err.Error()})
	}
	if err := n.CheckUnits("hold", o.Hold); err != nil {
		return RunRecord{}, false, fmt.Errorf("submit %s: %w", network, err)
	}
	rep := job.NetworkReport{Name: network, State: job.Pending}
	for _, u := range n.Units {
		st := job.Pending
		if slices.Contains(o.Hold, u.Name) {
			st = job.Held
		}
		rep.Units = append(rep.Units, job.UnitReport{Name: u.Name, State: st})
	}
	if err := s.Health(); err != nil {
		return RunRecord{}, false, fmt.Errorf("submit %s: %w", network, err)
	}
	rec = RunRecord{ID: o.ID, Network: network, Trigger: TriggerSubmit, Created: time.Now(), Queue: e.Queue, Definition: def, Report: rep}
	if rec.ID == "" {
		rec.ID = network + "@" + rec.Created.UTC().Format(submitFormat)
	}
	for k := 2; ; k++ {
		created, err = s.store.CreateRun(ctx, rec)
		s.wrote(ctx, err)
		if err != nil {
			return RunRecord{}, false, fmt.Errorf("submit %s: %w", network, unavailable(err))
		}
		if created {
			break
		}
		if o.ID != "" {
			old, err := s.store.GetRun(ctx, o.ID)
			return old, false, err
		}
		rec.ID = network + "@" + rec.Created.UTC().Format(submitFormat) + "." + fmt.Sprint(k)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ready || s.active[rec.ID] != nil {
		return rec, true, nil // Run starts it with the other unfinished runs
	}
	if err := s.admit(s.baseCtx, e, &activeRun{rec: rec}, true); err != nil {
		// Refused (the overlap policy skips while a run is active): the
		// submission did not make a run, so its record goes, and a retry
		// with the same ID is a new submission.
		dctx := context.WithoutCancel(ctx)
		derr := s.store.DeleteRun(dctx, rec.ID)
		s.wrote(dctx, derr)
		if derr != nil {
			// Retried in the background: left in the Store, the record
			// would run at the next start.
			stop := s.stopCtx()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.retry(stop, "deleting a refused submission's record", func(ctx context.Context) error { return s.store.DeleteRun(ctx, rec.ID) }, "run", rec.ID)
			}()
		}
		return RunRecord{}, false, err
	}
	return rec, true, nil
}

// Get returns a run's record, live for the runs that have not finished
// (and for those whose final record is still being written).
func (s *Scheduler) Get(ctx context.Context, id string) (RunRecord, error) {
	s.mu.Lock()
	ar := s.active[id]
	if ar == nil {
		ar = s.ending[id]
	}
	s.mu.Unlock()
	if ar != nil {
		return ar.snapshot(), nil
	}
	return s.store.GetRun(ctx, id)
}

func (ar *activeRun) snapshot() RunRecord {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	rec := ar.rec
	rec.Report = rec.Report.Clone()
	return rec
}

// History returns the recorded runs f selects, newest first.
func (s *Scheduler) History(ctx context.Context, f RunFilter) ([]RunRecord, error) {
	return s.store.ListRuns(ctx, f)
}

// Hold holds a unit of a run that has not finished (see
// [Execution.Hold]); for a run waiting to start, the unit is held when it
// starts. Hold, Release, Skip and Stop fail with an error wrapping
// [ErrUnavailable] while the Store fails to write (see
// [Scheduler.Health]), since the change could not be recorded.
func (s *Scheduler) Hold(ctx context.Context, id, unit string) error {
	return s.control(ctx, id, unit, ctrlHold)
}

// Release releases a held unit (see [Execution.Release]).
func (s *Scheduler) Release(ctx context.Context, id, unit string) error {
	return s.control(ctx, id, unit, ctrlRelease)
}

// Skip skips a pending or held unit as if it succeeded (see
// [Execution.Skip]).
func (s *Scheduler) Skip(ctx context.Context, id, unit string) error {
	return s.control(ctx, id, unit, ctrlSkip)
}

// Stop force-stops a running unit (see [Execution.Stop]).
func (s *Scheduler) Stop(ctx context.Context, id, unit string) error {
	return s.control(ctx, id, unit, ctrlStop)
}

// control is one operator control of a unit: its name, what a unit it
// applies to becomes, and the Execution method that applies it.
type control struct {
	name, done string
	apply      func(*job.Execution, string) error
}

var (
	ctrlHold    = &control{"hold", "held", (*job.Execution).Hold}
	ctrlRelease = &control{"release", "released", (*job.Execution).Release}
	ctrlSkip    = &control{"skip", "skipped", (*job.Execution).Skip}
	ctrlStop    = &control{"stop", "force-stopped", (*job.Execution).Stop}
)

func (s *Scheduler) control(ctx context.Context, id, unit string, k *control) error {
	s.mu.Lock()
	ar := s.active[id]
	if ar == nil {
		s.mu.Unlock()
		rec, err := s.store.GetRun(ctx, id)
		if err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
		if rec.Finished() {
			return job.StateErrorf("%s %s: run %s has ended (%s)", k.name, unit, id, rec.Report.State)
		}
		return job.StateErrorf("%s %s: run %s is not run by this scheduler (its network is not configured)", k.name, unit, id)
	}
	// The change could not be recorded (and an executing run waits for
	// the Store to write its state).
	if err := s.Health(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("%s %s: %w", k.name, unit, err)
	}
	if exec := ar.exec; exec != nil {
		s.mu.Unlock()
		return k.apply(exec, unit)
	}
	defer s.mu.Unlock()
	// The run waits to start: change its record, in memory once the Store
	// has it.
	rec := ar.snapshot()
	i := slices.IndexFunc(rec.Report.Units, func(u job.UnitReport) bool { return u.Name == unit })
	if i < 0 {
		return fmt.Errorf("%s: %w", k.name, job.NotFound("unit", unit))
	}
	u := &rec.Report.Units[i]
	bad := func(allowed string) error {
		return job.StateErrorf("%s %s: the unit is %s; only a %s unit can be %s", k.name, unit, u.State, allowed, k.done)
	}
	switch k {
	case ctrlHold:
		if u.State != job.Pending && u.State != job.Held {
			return bad("pending")
		}
		u.State = job.Held
	case ctrlRelease:
		if u.State != job.Held {
			return bad("held")
		}
		u.State = job.Pending
	case ctrlSkip:
		if u.State != job.Pending && u.State != job.Held {
			return bad("pending or held")
		}
		u.State, u.Message, u.Ended = job.Succeeded, "skipped by an operator", time.Now()
	case ctrlStop:
		return job.StateErrorf("stop %s: run %s has not started", unit, id)
	}
	ar.wmu.Lock()
	defer ar.wmu.Unlock()
	err := s.store.PutRun(ctx, rec)
	s.wrote(ctx, err)
	if err != nil {
		return fmt.Errorf("%s %s: %w", k.name, unit, unavailable(err))
	}
	ar.mu.Lock()
	ar.rec = rec
	ar.mu.Unlock()
	ar.markSaved(rec)
	return nil
}

// errCancelledByOperator is the cause of a run cancelled by Cancel.
var errCancelledByOperator = errors.New("cancelled by an operator")

// Cancel ends a run that has not finished (JobCenter's force-stop of a
// whole network): its running units are stopped as [Execution.Stop]
// stops one and end cancelled, units that had not started end cancelled,
// and the run ends cancelled (exit code 9 in its report). A run waiting
// to start ends cancelled at once. It returns once the cancellation is
// under way. A finished run is an error wrapping [job.ErrState].
func (s *Scheduler) Cancel(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar := s.active[id]
	if ar == nil {
		rec, err := s.store.GetRun(ctx, id)
		if err != nil {
			return fmt.Errorf("cancel: %w", err)
		}
		if rec.Finished() {
			return job.StateErrorf("cancel: run %s has ended (%s)", id, rec.Report.State)
		}
		return job.StateErrorf("cancel: run %s is not run by this scheduler (its network is not configured)", id)
	}
	s.log.Info("run cancelled by an operator", "run", id)
	if ar.exec != nil {
		ar.cancel(errCancelledByOperator)
		return nil
	}
	s.cancelWaiting(ar, errCancelledByOperator.Error())
	if e := s.entries[ar.rec.Network]; e != nil && s.baseCtx != nil {
		s.startWaiting(s.baseCtx, e)
	}
	return nil
}

// Rerun runs the units of a finished run that did not succeed again, as a
// new run ("<id>.rerun<n>", trigger rerun): units that succeeded (or were
// skipped by an operator) keep their result; every other unit is pending
// again and runs as its needs and conditions say. The network's overlap
// policy applies. A run that has not finished, or that succeeded, is an
// error wrapping [job.ErrState]; while the Store fails to write, or when
// it fails to record the rerun, the error wraps [ErrUnavailable].
func (s *Scheduler) Rerun(ctx context.Context, id string) (RunRecord, error) {
	old, err := s.Get(ctx, id)
	if err != nil {
		return RunRecord{}, fmt.Errorf("rerun: %w", err)
	}
	if !old.Finished() {
		return RunRecord{}, job.StateErrorf("rerun %s: the run is %s; only a finished run can be rerun", id, old.Report.State)
	}
	if old.Report.State == job.Succeeded {
		return RunRecord{}, job.StateErrorf("rerun %s: every unit succeeded; there is nothing to rerun", id)
	}
	if err := s.Health(); err != nil {
		return RunRecord{}, fmt.Errorf("rerun %s: %w", id, err)
	}
	s.mu.Lock()
	e, err := s.entryFor(old)
	s.mu.Unlock()
	if err != nil {
		return RunRecord{}, fmt.Errorf("rerun %s: %w", id, err)
	}
	if e == nil {
		return RunRecord{}, fmt.Errorf("rerun %s: %w", id, job.NotFound("network", old.Network))
	}
	rep := job.NetworkReport{Name: old.Network, State: job.Pending}
	for _, u := range old.Report.Units {
		if u.State != job.Succeeded {
			u = job.UnitReport{Name: u.Name, State: job.Pending}
		}
		rep.Units = append(rep.Units, u)
	}
	rec := RunRecord{Network: old.Network, Trigger: TriggerRerun, Created: time.Now(), Queue: e.Queue, RerunOf: id, Definition: old.Definition, Report: rep}
	for k := 1; ; k++ {
		rec.ID = fmt.Sprintf("%s.rerun%d", strings.SplitN(id, ".rerun", 2)[0], k)
		created, err := s.store.CreateRun(ctx, rec)
		s.wrote(ctx, err)
		if err != nil {
			return RunRecord{}, fmt.Errorf("rerun %s: %w", id, unavailable(err))
		}
		if created {
			break
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ready || s.active[rec.ID] != nil {
		return rec, nil
	}
	if err := s.admit(s.baseCtx, e, &activeRun{rec: rec}, true); err != nil {
		rec.Message = err.Error()
		rec.Report = skippedReport(rec.Report, err.Error())
		rec.Ended = time.Now()
		s.finish(&activeRun{rec: rec})
		return rec, err
	}
	return rec, nil
}

// StopQueue stops a queue: its units wait until StartQueue; running units
// go on. The stop is recorded and survives a restart.
func (s *Scheduler) StopQueue(ctx context.Context, name string) error {
	q := s.queue(name)
	if q == nil {
		return fmt.Errorf("queue stop: %w (have %s)", job.NotFound("queue", name), strings.Join(s.queueNames(), ", "))
	}
	err := s.state.PutValue(ctx, queueKey(name), []byte("stopped"))
	s.wrote(ctx, err)
	if err != nil {
		return fmt.Errorf("queue stop %s: %w", name, unavailable(err))
	}
	q.Stop()
	return nil
}

// StartQueue starts a stopped queue.
func (s *Scheduler) StartQueue(ctx context.Context, name string) error {
	q := s.queue(name)
	if q == nil {
		return fmt.Errorf("queue start: %w (have %s)", job.NotFound("queue", name), strings.Join(s.queueNames(), ", "))
	}
	err := s.state.PutValue(ctx, queueKey(name), nil)
	s.wrote(ctx, err)
	if err != nil {
		return fmt.Errorf("queue start %s: %w", name, unavailable(err))
	}
	q.Start()
	return nil
}

func (s *Scheduler) queue(name string) *Queue {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queues[name]
}

// Queues returns the queues' states, by name.
func (s *Scheduler) Queues() []QueueStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []QueueStatus
	for _, name := range s.queueNames() {
		out = append(out, s.queues[name].Status())
	}
	return out
}

// Networks returns the networks' schedule states, in the order added.
func (s *Scheduler) Networks() []EntryStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []EntryStatus
	for _, name := range s.order {
		e := s.entries[name]
		st := EntryStatus{Name: name, Queue: e.Queue, Overlap: e.Overlap, Next: e.next}
		if str, ok := e.Schedule.(fmt.Stringer); ok {
			st.Schedule = str.String()
		}
		for id := range s.active {
			if s.active[id].rec.Network == name {
				st.Running = append(st.Running, id)
			}
		}
		slices.Sort(st.Running)
		out = append(out, st)
	}
	return out
}

func (s *Scheduler) prepareAhead() time.Duration {
	if s.cfg.PrepareAhead == 0 {
		return DefaultPrepareAhead
	}
	return s.cfg.PrepareAhead
}

// prepare builds the network of the run due at due and prepares its first
// units, once; s.mu is held. A network whose run would not start at once
// (an earlier run is active and the overlap policy is not allow) is not
// prepared.
func (s *Scheduler) prepare(base context.Context, e *entry, due time.Time) {
	if s.gate != nil && e.Group != "" {
		return // whether it runs here is known only at its due time
	}
	id := ScheduledRunID(e.Name, due)
	if _, done := s.prepared[id]; done {
		return
	}
	s.prepared[id] = nil // tried: do not build again
	if e.Overlap != OverlapAllow {
		for _, o := range s.active {
			if o.rec.Network == e.Name {
				return
			}
		}
	}
	n, err := e.Build(e.Definition, id)
	if err != nil || n == nil {
		return // the run fails with the build error when due
	}
	for _, u := range n.Units {
		if p, ok := u.Action.(job.Preparer); ok && len(u.Needs) == 0 {
			p.Prepare(base, u.Target)
		}
	}
	s.prepared[id] = n
	s.log.Debug("run prepared", "run", id, "due", due)
}

// discardPrepared drops the network prepared for a run that will not run
// and releases what its units prepared; s.mu is held.
func (s *Scheduler) discardPrepared(id string) {
	n := s.prepared[id]
	delete(s.prepared, id)
	if n == nil {
		return
	}
	for _, u := range n.Units {
		a, ok := u.Action.(job.Adopter)
		if _, prepared := u.Action.(job.Preparer); !ok || !prepared || len(u.Needs) > 0 {
			continue
		}
		s.wg.Add(1)
		go func(t inventory.Target) {
			defer s.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := a.Release(ctx, t); err != nil {
				s.log.Warn("removing what was prepared for a run that does not run", "run", id, "err", err)
			}
		}(u.Target)
	}
}
