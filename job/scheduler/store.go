package scheduler

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/minato-ops/minato/job"
)

// ErrUnavailable is wrapped by errors that say the Scheduler cannot take
// work now: it is not running (before Run, after Run returned) or its
// store fails to write. A retry later may succeed.
var ErrUnavailable = errors.New("scheduler: unavailable")

// Trigger says why a run exists.
type Trigger string

// The triggers of a run.
const (
	// TriggerSchedule: the network's schedule was due.
	TriggerSchedule Trigger = "schedule"
	// TriggerCatchUp: a due time passed while no scheduler ran (or while
	// the Store could not record its run), and it was within the
	// network's catch-up window.
	TriggerCatchUp Trigger = "catch_up"
	// TriggerSubmit: an operator or program submitted the run.
	TriggerSubmit Trigger = "submit"
	// TriggerRerun: a rerun of an earlier run's failed units.
	TriggerRerun Trigger = "rerun"
)

// RunRecord is everything a [Store] keeps about one run of a network: what
// started it, the state of each unit, and the report once it ended. It is
// plain data, encoded as JSON by stores that persist it.
type RunRecord struct {
	// ID is the run's ID: deterministic for scheduled runs
	// ("<network>@<due time UTC>"), so that a due time is run at most once
	// whatever restarts happen.
	ID string `json:"id"`
	// Network is the network's name.
	Network string `json:"network"`
	// Trigger says why the run exists.
	Trigger Trigger `json:"trigger"`
	// Due is the schedule's due time for scheduled and catch-up runs; zero
	// otherwise.
	Due time.Time `json:"due,omitzero"`
	// Created is when the run was recorded; Ended when it reached its final
	// state (zero while queued or running).
	Created time.Time `json:"created"`
	Ended   time.Time `json:"ended,omitzero"`
	// Queue is the queue its units wait in.
	Queue string `json:"queue,omitempty"`
	// RerunOf is the run a rerun reruns.
	RerunOf string `json:"rerun_of,omitempty"`
	// Definition is the network's definition as the run was built from it
	// (the job file's bytes), so that a restarted scheduler resumes the run
	// with what it started with even if the file changed since.
	Definition []byte `json:"definition,omitempty"`
	// Message says why a run ended without running its units: skipped by
	// the overlap policy, its network could not be built.
	Message string `json:"message,omitempty"`
	// Report is the run's state: State is Pending while the run waits to
	// start, Running while it runs, then final; Units has one report per
	// unit, updated on every change.
	Report job.NetworkReport `json:"report"`
}

// Finished reports whether the run reached its final state.
func (r RunRecord) Finished() bool { return r.Report.State.Finished() }

// RunFilter selects runs for [Store.ListRuns].
type RunFilter struct {
	// Network, when set, keeps only that network's runs.
	Network string
	// Unfinished keeps only runs that have not reached a final state.
	Unfinished bool
	// Limit, when positive, keeps only the newest Limit runs.
	Limit int
}

// RunStore keeps the scheduler's run records across restarts.
//
// Every method is safe for concurrent use and honours ctx where it can
// block. A write has reached stable storage when it returns nil (a
// persistent RunStore syncs before returning): the [Scheduler] relies on
// it to record that a unit is running before it starts the unit's action,
// and its result before it cleans up after it, and it retries a result's
// write while the store fails (see [Scheduler.Health]). A write that
// returns an error may or may not have reached storage. Stores return
// copies: callers may modify what they get.
//
// A store fails loudly: a method never panics and never answers from
// storage it found damaged as if it were empty. Once a store met damage
// it refuses every later write with an error (so nothing more is written
// over the damage) until it is closed; Close still releases it (its file
// lock), so that a repaired or restored store can be opened in its place.
// TestDamaged of job/scheduler/storetest checks this.
type RunStore interface {
	// PutRun creates or replaces the run with rec.ID.
	PutRun(ctx context.Context, rec RunRecord) error
	// CreateRun creates the run unless a run with rec.ID exists; created is
	// false (and nothing is written) when it does. It is atomic: of
	// concurrent calls with one ID, exactly one creates.
	CreateRun(ctx context.Context, rec RunRecord) (created bool, err error)
	// GetRun returns the run with the ID, or an error wrapping
	// job.ErrNotFound.
	GetRun(ctx context.Context, id string) (RunRecord, error)
	// ListRuns returns the runs f selects, newest (by Created, then ID)
	// first.
	ListRuns(ctx context.Context, f RunFilter) ([]RunRecord, error)
	// DeleteRun deletes the run with the ID, finished or not; deleting a
	// run that does not exist is not an error.
	DeleteRun(ctx context.Context, id string) error
	// DeleteRuns deletes the finished runs that ended before the time and
	// returns how many it deleted. Unfinished runs are never deleted.
	DeleteRuns(ctx context.Context, endedBefore time.Time) (int, error)
}

// StateStore keeps the scheduler's few small values across restarts: the
// last due time handled per network and the queues an operator stopped.
// Its methods are safe for concurrent use, honour ctx where they can
// block, and have reached stable storage when they return nil.
type StateStore interface {
	// GetValue returns the value stored under key, or nil (and no error)
	// when there is none.
	GetValue(ctx context.Context, key string) ([]byte, error)
	// PutValue stores value under key; a nil value deletes the key.
	PutValue(ctx context.Context, key string, value []byte) error
}

// Store is a [RunStore] and a [StateStore] in one, as persistent stores
// (job/boltstore) keep both in one file, plus Close, which releases it;
// later calls fail.
type Store interface {
	RunStore
	StateStore
	Close() error
}

// MemStore is a [Store] in memory: nothing survives the process. It suits
// programs that embed a [Scheduler] without persistence, and tests. The
// zero value is not usable; call [NewMemStore].
type MemStore struct {
	mu     sync.Mutex
	runs   map[string][]byte // JSON, so callers never share memory with it
	values map[string][]byte
	closed bool
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{runs: map[string][]byte{}, values: map[string][]byte{}}
}

var errClosed = errors.New("job: store closed")

// PutRun implements [Store].
func (m *MemStore) PutRun(_ context.Context, rec RunRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed
	}
	m.runs[rec.ID] = b
	return nil
}

// CreateRun implements [Store].
func (m *MemStore) CreateRun(_ context.Context, rec RunRecord) (bool, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, errClosed
	}
	if _, ok := m.runs[rec.ID]; ok {
		return false, nil
	}
	m.runs[rec.ID] = b
	return true, nil
}

// GetRun implements [Store].
func (m *MemStore) GetRun(_ context.Context, id string) (RunRecord, error) {
	m.mu.Lock()
	b, ok := m.runs[id]
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return RunRecord{}, errClosed
	}
	if !ok {
		return RunRecord{}, job.NotFound("run", id)
	}
	var rec RunRecord
	err := json.Unmarshal(b, &rec)
	return rec, err
}

// ListRuns implements [Store].
func (m *MemStore) ListRuns(_ context.Context, f RunFilter) ([]RunRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosed
	}
	var out []RunRecord
	for _, b := range m.runs {
		var rec RunRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, err
		}
		if f.Matches(rec) {
			out = append(out, rec)
		}
	}
	SortRuns(out)
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// Matches reports whether rec passes the filter's Network and Unfinished
// conditions (Limit is the caller's to apply).
func (f RunFilter) Matches(rec RunRecord) bool {
	return (f.Network == "" || rec.Network == f.Network) && (!f.Unfinished || !rec.Finished())
}

// SortRuns sorts runs newest first: by Created descending, then by ID
// descending, the order [Store.ListRuns] returns.
func SortRuns(runs []RunRecord) {
	slices.SortFunc(runs, func(a, b RunRecord) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
}

// DeleteRuns implements [Store].
func (m *MemStore) DeleteRuns(_ context.Context, endedBefore time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, errClosed
	}
	n := 0
	for id, b := range m.runs {
		var rec RunRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return n, err
		}
		if rec.Finished() && !rec.Ended.IsZero() && rec.Ended.Before(endedBefore) {
			delete(m.runs, id)
			n++
		}
	}
	return n, nil
}

// DeleteRun implements [RunStore].
func (m *MemStore) DeleteRun(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed
	}
	delete(m.runs, id)
	return nil
}

// GetValue implements [Store].
func (m *MemStore) GetValue(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosed
	}
	return slices.Clone(m.values[key]), nil
}

// PutValue implements [Store].
func (m *MemStore) PutValue(_ context.Context, key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed
	}
	if value == nil {
		delete(m.values, key)
	} else {
		m.values[key] = slices.Clone(value)
	}
	return nil
}

// Close implements [Store].
func (m *MemStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
