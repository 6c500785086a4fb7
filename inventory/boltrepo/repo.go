package boltrepo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/minato-ops/minato/inventory"
)

// ErrCorrupt is wrapped by the errors of a repository file that is
// damaged: an empty (0-byte) file, a file that is not a bbolt database, a
// truncated one, one whose pages are broken, or one whose records do not
// decode. The error names the file, says what is wrong and what to do:
// nothing was changed in it; move it aside (or restore it from a backup)
// and sync the inventory again, or give minato another repository file.
var ErrCorrupt = errors.New("boltrepo: repository file damaged")

// ErrNotStore is wrapped by the errors of a sound bbolt database that is
// not a minato inventory repository: another program's database, minato's
// job store, or an empty database. Nothing is changed in it.
var ErrNotStore = errors.New("boltrepo: not a minato inventory repository")

// ErrLocked is wrapped by the error of a call that waited
// [Options.LockTimeout] for the file lock while another process (a
// running minato agent, a minato inventory sync) held it. Nothing was
// changed; the call may be tried again.
var ErrLocked = errors.New("boltrepo: repository file locked by another process")

// DefaultLockTimeout is how long a call waits for the file lock when
// Options.LockTimeout is zero.
const DefaultLockTimeout = 5 * time.Second

// Options tune [Open]. The zero value is the right one for an agent and
// for the CLI.
type Options struct {
	// LockTimeout is how long each call (and each Batch) waits for the
	// file lock, which another process or another goroutine may hold,
	// before it fails with [ErrLocked]; 0 means [DefaultLockTimeout]
	// (5 s).
	LockTimeout time.Duration
	// NoSync skips the fsyncs of every commit. It is unsafe: a change
	// whose call returned nil can be lost, and the file damaged, by a
	// crash of the machine. It is meant for benchmarks, never for use.
	NoSync bool
}

// Stats counts what a [Repo] did to its file since [Open].
type Stats struct {
	// Opens is how many times the file was opened: once per call, and
	// once per Batch.
	Opens int64
	// Checks is how many times the file's pages were checked in full: at
	// Open, and at a call that found the file changed by someone else
	// since the Repo last checked or wrote it.
	Checks int64
	// Commits is how many read-write transactions were committed. A call
	// that changed nothing (an idempotent repeat) commits nothing.
	Commits int64
	// Syncs is how many fsyncs the commits made: bbolt syncs the data
	// pages, then the header page, and syncs once more when it grows the
	// file. 0 with NoSync.
	Syncs int64
	// LockWait is the total time calls waited for the file lock, and for
	// the Repo's other calls in this process.
	LockWait time.Duration
}

// Repo is an [inventory.Repository] in a bbolt file, shared by every
// minato process of the machine. It does not hold the file open: each
// call opens it, takes its lock (shared for reads, exclusive for
// changes), runs one transaction and closes it, so a CLI and an agent can
// use the file in turn. A change is on disk (fsynced) when its call
// returns nil. It implements [inventory.Batcher]: a Batch is one
// transaction, so one commit for a whole sync.
//
// A Repo is safe for concurrent use. Within the process its calls share
// the file for reads and take it alone for changes, a waiting change
// going before reads that come after it. Every call blocks while another
// process or goroutine holds the file lock, at most Options.LockTimeout,
// then fails with [ErrLocked]; it checks ctx before it starts and while it
// waits, not once bbolt works (a transaction cannot be interrupted). Caller mistakes are errors wrapping [inventory.ErrNotFound],
// [inventory.ErrConflict] and [inventory.ErrInvalid] as the Repository
// contract says (a malformed facility ID is ErrInvalid in every call); a
// file damaged or replaced since Open fails the call with [ErrCorrupt] or
// [ErrNotStore]; anything else is an I/O error naming the file.
type Repo struct {
	path    string
	timeout time.Duration
	noSync  bool

	// gate orders the Repo's calls in the process, before they take the
	// file lock, which orders processes.
	gate *gate

	mu       sync.Mutex
	verified fileID // the file when its pages were last found sound; zero when unknown

	opens, checks, commits, syncs, lockWait atomic.Int64
}

// fileID identifies a file's content without reading it: see identify.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

// isVerified reports whether the file, as id says it is, is the one whose
// pages were last found sound.
func (r *Repo) isVerified(id fileID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return id != fileID{} && id == r.verified
}

func (r *Repo) setVerified(id fileID) {
	r.mu.Lock()
	r.verified = id
	r.mu.Unlock()
}

var (
	_ inventory.Repository = (*Repo)(nil)
	_ inventory.Batcher    = (*Repo)(nil)
)

// DefaultPath returns the repository file minato uses when no path is
// given, beside its other state: $XDG_STATE_HOME/minato/inventory.db, else
// ~/.local/state/minato/inventory.db, else the user cache directory's
// minato/inventory.db.
func DefaultPath() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "minato", "inventory.db"), nil
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "state", "minato", "inventory.db"), nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("boltrepo: no state directory: set XDG_STATE_HOME or HOME, or give a path: %w", err)
	}
	return filepath.Join(cache, "minato", "inventory.db"), nil
}

// Open returns the repository in the file at path, creating it when it
// does not exist: its directory with 0700, the file with 0600, fully
// initialised (with minato's format marker) under a temporary name and
// then linked into place, so a crash never leaves an empty file behind.
//
// Open checks the file once, thoroughly: every page of its trees (so
// damage is found now, not in the middle of a sync), every record, and
// that assignments name nodes and scopes that exist. It never changes or
// reinitialises a file it did not create. It refuses, with an error that
// names the file, says what is wrong and what to do: an empty (0-byte)
// file, a file that is not a bbolt database, a truncated or otherwise
// damaged one ([ErrCorrupt]); a sound bbolt database that is not a minato
// inventory repository, minato's job store included ([ErrNotStore]); and
// a repository of a format version this minato does not read. Open waits
// for the file lock as every call does ([ErrLocked]).
//
// Open holds nothing once it returns: the Repo needs no Close.
func Open(path string, o Options) (*Repo, error) {
	if path == "" {
		return nil, errors.New("boltrepo: empty path")
	}
	if o.LockTimeout < 0 {
		return nil, fmt.Errorf("boltrepo: lock timeout %s: must not be negative", o.LockTimeout)
	}
	r := &Repo{path: path, timeout: o.LockTimeout, noSync: o.NoSync, gate: newGate()}
	if r.timeout == 0 {
		r.timeout = DefaultLockTimeout
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("boltrepo: %w", err)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := create(path, r.timeout); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("boltrepo: open %s: %w", path, err)
	case fi.IsDir():
		return nil, fmt.Errorf("boltrepo: open %s: it is a directory; give the path of the repository file (inventory.db)", path)
	}
	if err := r.run(context.Background(), false, "open", (*txRepo).checkAll); err != nil {
		return nil, err
	}
	return r, nil
}

// Path returns the repository file's path.
func (r *Repo) Path() string { return r.path }

// String names the repository by its file, for logs: "file /path/inventory.db".
func (r *Repo) String() string { return "file " + r.path }

// Stats returns what the Repo did to its file since Open.
func (r *Repo) Stats() Stats {
	return Stats{
		Opens: r.opens.Load(), Checks: r.checks.Load(), Commits: r.commits.Load(), Syncs: r.syncs.Load(),
		LockWait: time.Duration(r.lockWait.Load()),
	}
}

// create makes a new repository at path: a temporary file initialised
// with the buckets and the format marker, linked to path unless another
// process created path meanwhile.
func create(path string, timeout time.Duration) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new-*")
	if err != nil {
		return fmt.Errorf("boltrepo: create %s: %w", path, err)
	}
	name := tmp.Name()
	_ = tmp.Close()
	defer os.Remove(name)
	db, err := bolt.Open(name, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		return fmt.Errorf("boltrepo: create %s: %w", path, err)
	}
	err = db.Update(initialise)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("boltrepo: create %s: %w", path, err)
	}
	if err := os.Link(name, path); err != nil {
		if _, serr := os.Lstat(path); serr == nil {
			return nil // another process created it first: that one is used
		}
		if err := os.Rename(name, path); err != nil { // no hard links here
			return fmt.Errorf("boltrepo: create %s: %w", path, err)
		}
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the new name survives a crash
		_ = d.Close()
	}
	return nil
}

// view runs fn in a read-only transaction.
func (r *Repo) view(ctx context.Context, what string, fn func(*txRepo) error) error {
	return r.run(ctx, false, what, fn)
}

// update runs fn in a read-write transaction, committed when fn returns
// nil and changed something.
func (r *Repo) update(ctx context.Context, what string, fn func(*txRepo) error) error {
	return r.run(ctx, true, what, fn)
}

// Node implements [inventory.Repository].
func (r *Repo) Node(ctx context.Context, facilityID string) (n inventory.Node, err error) {
	err = r.view(ctx, "node "+facilityID, func(t *txRepo) (err error) {
		n, err = t.Node(ctx, facilityID)
		return err
	})
	return n, err
}

// Nodes implements [inventory.Repository].
func (r *Repo) Nodes(ctx context.Context) (ns []inventory.Node, err error) {
	err = r.view(ctx, "nodes", func(t *txRepo) (err error) {
		ns, err = t.Nodes(ctx)
		return err
	})
	return ns, err
}

// PutNode implements [inventory.Repository]. Putting a node identical to
// the one stored writes nothing.
func (r *Repo) PutNode(ctx context.Context, n inventory.Node) error {
	return r.update(ctx, "put node "+n.FacilityID, func(t *txRepo) error { return t.PutNode(ctx, n) })
}

// DeleteNode implements [inventory.Repository].
func (r *Repo) DeleteNode(ctx context.Context, facilityID string) error {
	return r.update(ctx, "delete node "+facilityID, func(t *txRepo) error { return t.DeleteNode(ctx, facilityID) })
}

// Scope implements [inventory.Repository].
func (r *Repo) Scope(ctx context.Context, facilityID string) (s inventory.Scope, err error) {
	err = r.view(ctx, "scope "+facilityID, func(t *txRepo) (err error) {
		s, err = t.Scope(ctx, facilityID)
		return err
	})
	return s, err
}

// Scopes implements [inventory.Repository].
func (r *Repo) Scopes(ctx context.Context) (ss []inventory.Scope, err error) {
	err = r.view(ctx, "scopes", func(t *txRepo) (err error) {
		ss, err = t.Scopes(ctx)
		return err
	})
	return ss, err
}

// PutScope implements [inventory.Repository]. Putting a scope identical
// to the one stored writes nothing.
func (r *Repo) PutScope(ctx context.Context, s inventory.Scope) error {
	return r.update(ctx, "put scope "+s.FacilityID, func(t *txRepo) error { return t.PutScope(ctx, s) })
}

// DeleteScope implements [inventory.Repository].
func (r *Repo) DeleteScope(ctx context.Context, facilityID string) error {
	return r.update(ctx, "delete scope "+facilityID, func(t *txRepo) error { return t.DeleteScope(ctx, facilityID) })
}

// Assign implements [inventory.Repository].
func (r *Repo) Assign(ctx context.Context, scopeID string, nodeIDs ...string) error {
	return r.update(ctx, "assign to scope "+scopeID, func(t *txRepo) error { return t.Assign(ctx, scopeID, nodeIDs...) })
}

// Unassign implements [inventory.Repository].
func (r *Repo) Unassign(ctx context.Context, scopeID string, nodeIDs ...string) error {
	return r.update(ctx, "unassign from scope "+scopeID, func(t *txRepo) error { return t.Unassign(ctx, scopeID, nodeIDs...) })
}

// Members implements [inventory.Repository].
func (r *Repo) Members(ctx context.Context, scopeID string) (ids []string, err error) {
	err = r.view(ctx, "members of scope "+scopeID, func(t *txRepo) (err error) {
		ids, err = t.Members(ctx, scopeID)
		return err
	})
	return ids, err
}

// Batch implements [inventory.Batcher]: it opens the file once, with its
// exclusive lock, and runs fn in one read-write transaction, committed
// (one fsync of the data, one of the header) when fn returns nil and
// something changed, rolled back when fn returns an error or panics (the
// panic goes on once the file is released). The lock is held while fn
// runs: keep fn to repository work, since every other minato process and
// goroutine using the file waits for it (at most their LockTimeout). fn
// must use the Repository it is given, not r (whose calls would wait for
// the lock fn's batch holds and fail with [ErrLocked]); that Repository
// fails every call once Batch has returned.
func (r *Repo) Batch(ctx context.Context, fn func(inventory.Repository) error) error {
	return r.run(ctx, true, "batch", func(t *txRepo) error {
		t.batch = true
		return fn(t)
	})
}
