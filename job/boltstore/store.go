package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
)

// ErrCorrupt is wrapped by the errors of a store file that is damaged: an
// empty (0-byte) file, a file that is not a bbolt database, a truncated
// one, or one whose pages bbolt finds broken (at [Open], or by any later
// call). The error names the file, says what is wrong and what to do:
// move the file aside, or restore it from a backup, or point the store
// elsewhere. A Store that met a damaged page refuses every later write
// with it, so that nothing more is written over the damage; reads go on
// as far as they can, and [Store.Close] still releases the file.
var ErrCorrupt = errors.New("boltstore: store file damaged")

// ErrNotStore is wrapped by the error of [Open] for a sound bbolt
// database that is not a minato job store: it has neither minato's format
// marker nor minato's buckets (another program's database, or an empty
// one). Open changes nothing in it.
var ErrNotStore = errors.New("boltstore: not a minato job store")

// The buckets of the file, and the format marker in the meta bucket.
var (
	runsBucket   = []byte("runs")
	valuesBucket = []byte("values")
	metaBucket   = []byte("meta")
	formatKey    = []byte("format")
	versionKey   = []byte("version")
)

// The format marker's values.
const (
	formatName    = "minato-jobs"
	formatVersion = "1"
)

// What to do about a file Open refuses, and about a store that met
// damage while in use.
const (
	advice    = "nothing was changed in it; move the file aside (or restore it from a backup) and start again, or point the job store elsewhere (the agent's jobs.store)"
	runAdvice = "the store takes no more writes: stop, move the file aside (or restore it from a backup) and start again, or point the job store elsewhere (the agent's jobs.store)"
)

// DefaultLockTimeout is how long [Open] waits for the file lock when
// Options.LockTimeout is zero.
const DefaultLockTimeout = time.Second

// Options tune [Open]. The zero value is the right one for an agent.
type Options struct {
	// LockTimeout is how long Open waits for another holder of the file
	// to release it; 0 means DefaultLockTimeout.
	LockTimeout time.Duration
	// NoSync skips the fsync when a write commits. It is unsafe: a write
	// that returned nil can be lost, and the file corrupted, by a crash of
	// the machine. It is meant for benchmarks, never for an agent.
	NoSync bool
}

// Store is a [scheduler.Store] in a bbolt file. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	file *os.File // the file bbolt opened and locked
	path string

	mu     sync.Mutex
	closed bool
	broken string // what bbolt said of the damaged page it met; "" while sound
}

var _ scheduler.Store = (*Store)(nil)

// DefaultPath returns the store file minato uses when no path is given:
// $XDG_STATE_HOME/minato/jobs.db, else ~/.local/state/minato/jobs.db, else
// the user cache directory's minato/jobs.db.
func DefaultPath() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "minato", "jobs.db"), nil
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "state", "minato", "jobs.db"), nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("boltstore: no state directory: set XDG_STATE_HOME or HOME, or give a path: %w", err)
	}
	return filepath.Join(cache, "minato", "jobs.db"), nil
}

// Open opens the store file at path, creating it when it does not exist:
// its directory with 0700, the file with 0600, fully initialised (with
// minato's format marker) under a temporary name and then linked into
// place, so that a crash never leaves an empty store file behind.
//
// It takes bbolt's exclusive file lock: a second Open of the same file
// (this or another process) waits up to Options.LockTimeout and then fails
// with an error that says another minato agent holds the store and names
// the path. It then reads every page of the file's trees, so that damage
// is found now rather than in the middle of a run.
//
// Open never reinitialises an existing file. It refuses, with an error
// naming the file, saying what is wrong and what to do: an empty (0-byte)
// file, a file that is not a bbolt database, a truncated or otherwise
// damaged one (errors wrapping [ErrCorrupt]), a bbolt database with
// neither minato's format marker nor minato's buckets ([ErrNotStore]), and
// a store of a format version this minato does not read. A store written
// by an earlier minato (buckets "runs" and "values" without the marker) is
// accepted and marked. Whatever fails, the file lock is released.
func Open(path string, o Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("boltstore: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("boltstore: %w", err)
	}
	timeout := o.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := create(path, timeout); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	case fi.IsDir():
		return nil, fmt.Errorf("boltstore: open %s: it is a directory; give the path of the store file (jobs.db)", path)
	}
	s, err := openDB(path, o, timeout)
	if err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// corruptf is an error wrapping ErrCorrupt (and err, when not nil) that
// names the file, says what is wrong, and what to do.
func corruptf(path string, err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if err != nil {
		return fmt.Errorf("%w: %s: %s (%w); %s", ErrCorrupt, path, what, err, advice)
	}
	return fmt.Errorf("%w: %s: %s; %s", ErrCorrupt, path, what, advice)
}

// create makes a new store at path: a temporary file initialised with the
// buckets and the format marker, linked to path unless another Open
// created path meanwhile.
func create(path string, timeout time.Duration) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new-*")
	if err != nil {
		return fmt.Errorf("boltstore: create %s: %w", path, err)
	}
	name := tmp.Name()
	_ = tmp.Close()
	defer os.Remove(name)
	db, err := bolt.Open(name, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		return fmt.Errorf("boltstore: create %s: %w", path, err)
	}
	err = db.Update(initialise)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("boltstore: create %s: %w", path, err)
	}
	if err := os.Link(name, path); err != nil {
		if _, serr := os.Lstat(path); serr == nil {
			return nil // another Open created it first: that one is opened
		}
		// No hard links on this file system.
		if err := os.Rename(name, path); err != nil {
			return fmt.Errorf("boltstore: create %s: %w", path, err)
		}
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the new name survives a crash
		_ = d.Close()
	}
	return nil
}

// initialise creates the buckets a store needs and its format marker.
func initialise(tx *bolt.Tx) error {
	for _, b := range [][]byte{runsBucket, valuesBucket, metaBucket} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("bucket %s: %w", b, err)
		}
	}
	meta := tx.Bucket(metaBucket)
	if err := meta.Put(formatKey, []byte(formatName)); err != nil {
		return err
	}
	return meta.Put(versionKey, []byte(formatVersion))
}

// openDB opens the existing file with bbolt. It takes the file lock
// itself (bbolt then takes it again on the same open file, at once), so
// that it reads the file's pages with checkPages, before bbolt does, only
// once no other process writes them: bbolt panics, faults, loops or
// recurses without end on some damaged files. A panic of bbolt all the
// same is an ErrCorrupt error, and the file lock is released (bbolt's
// memory map of the file, which a panic inside it leaves behind, stays
// until the process ends).
func openDB(path string, o Options, timeout time.Duration) (s *Store, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0) // never created here: that is create's
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	if err := lockFile(f, timeout); err != nil {
		_ = f.Close()
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("boltstore: %s: another minato agent holds the store (its file lock was not released within %s); stop it, or give this one another store: %w", path, timeout, err)
		}
		return nil, fmt.Errorf("boltstore: open %s: locking it: %w", path, err)
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() == 0 {
		err = corruptf(path, nil, "the file is empty (0 bytes): it was truncated, or it is not a job store")
	} else if err == nil {
		if cerr := checkPages(f, fi.Size()); cerr != nil {
			err = corruptf(path, nil, "%v", cerr)
		}
	}
	if err != nil {
		_ = releaseFile(f)
		return nil, err
	}

	s = &Store{path: path, file: f}
	defer func() {
		if r := recover(); r != nil {
			_ = releaseFile(f)
			s, err = nil, corruptf(path, nil, "bbolt met a damaged page while opening it: %v", r)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	openFile := func(string, int, os.FileMode) (*os.File, error) { return f, nil }
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, NoSync: o.NoSync, OpenFile: openFile})
	if err != nil {
		_ = releaseFile(f) // bbolt closed it already, as a rule
		if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrVersionMismatch) || errors.Is(err, bolterrors.ErrChecksum) {
			return nil, corruptf(path, err, "it is not a bbolt database, or both of its header pages are damaged")
		}
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	s.db = db
	return s, nil
}

// check makes sure the open file is a sound minato job store: not
// truncated, marked (or written by an earlier minato, then marked now),
// and with every page of its trees readable.
func (s *Store) check() error {
	var verdict error
	mark := false
	err := s.txn(false, "open", func(tx *bolt.Tx) error {
		fi, err := s.file.Stat()
		if err != nil {
			return err
		}
		if end := tx.Size(); fi.Size() < end {
			verdict = corruptf(s.path, nil, "the file is %d bytes but its data reaches %d bytes: it was truncated", fi.Size(), end)
			return nil
		}
		var names []string
		if err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, string(name))
			return nil
		}); err != nil {
			return err
		}
		if meta := tx.Bucket(metaBucket); meta != nil {
			if f := string(meta.Get(formatKey)); f != formatName {
				verdict = fmt.Errorf("%w: %s: its format marker (meta/format) says %q, not %q: it belongs to another program; %s", ErrNotStore, s.path, f, formatName, advice)
				return nil
			}
			if v := string(meta.Get(versionKey)); v != formatVersion {
				verdict = fmt.Errorf("boltstore: %s: the store is in format version %q and this minato reads version %s only; nothing was changed in it: use the minato that wrote it, or point the job store elsewhere (the agent's jobs.store)", s.path, v, formatVersion)
				return nil
			}
			mark = tx.Bucket(runsBucket) == nil || tx.Bucket(valuesBucket) == nil
		} else {
			if len(names) == 0 || slices.ContainsFunc(names, func(n string) bool { return n != string(runsBucket) && n != string(valuesBucket) }) {
				verdict = fmt.Errorf("%w: %s: %s, with no minato format marker and no minato buckets; %s", ErrNotStore, s.path, describe(names), advice)
				return nil
			}
			mark = true // written by an earlier minato
		}
		// Read every page of the trees: damage is met now, not in the
		// middle of a run.
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b) })
	})
	switch broken := s.brokenBy(); {
	case broken != "":
		return corruptf(s.path, nil, "bbolt met a damaged page while reading it: %s", broken)
	case err != nil:
		return fmt.Errorf("boltstore: open %s: %w", s.path, err)
	case verdict != nil || !mark:
		return verdict
	}
	if err := s.txn(true, "open", initialise); err != nil {
		if errors.Is(err, ErrCorrupt) {
			return corruptf(s.path, nil, "bbolt met a damaged page while marking it as a job store: %s", s.brokenBy())
		}
		return fmt.Errorf("boltstore: open %s: marking it as a minato job store (format version %s): %w", s.path, formatVersion, err)
	}
	return nil
}

// describe says what buckets a bbolt database that is not a job store
// holds.
func describe(names []string) string {
	if len(names) == 0 {
		return "it is a bbolt database that holds nothing"
	}
	q := make([]string, 0, 6)
	for i, n := range names {
		if i == 5 {
			q = append(q, fmt.Sprintf("and %d more", len(names)-5))
			break
		}
		q = append(q, fmt.Sprintf("%q", n))
	}
	return "it is a bbolt database with the buckets " + strings.Join(q, ", ")
}

// walk visits every key of b and of the buckets in it, which reads every
// branch and leaf page of their trees.
func walk(b *bolt.Bucket) error {
	return forEach(b, func(k, v []byte) error {
		if v == nil {
			if sub := b.Bucket(k); sub != nil {
				return walk(sub)
			}
		}
		return nil
	})
}

// forEach calls fn for every key of b, in order, as b.ForEach does, but
// fails with a damageError when a key does not come after the one before:
// over pages damaged into a cycle, bbolt would go round for ever.
func forEach(b *bolt.Bucket, fn func(k, v []byte) error) error {
	var prev []byte
	first := true
	return b.ForEach(func(k, v []byte) error {
		if !first && bytes.Compare(k, prev) <= 0 {
			return damageError(fmt.Sprintf("key %q follows key %q: pages are out of order", k, prev))
		}
		first, prev = false, k
		return fn(k, v)
	})
}

// damageError is damage found without a panic of bbolt's; txn handles it
// as it does a panic.
type damageError string

func (e damageError) Error() string { return string(e) }

// txn runs fn in a bbolt transaction, read-write when write is set. bbolt
// panics when it meets a damaged page (and a read from a part of the
// memory-mapped file that is gone faults): the panic becomes an error
// wrapping ErrCorrupt, and the Store refuses every later write; so does a
// damageError of fn. Other errors of fn and of bbolt are returned as they
// are.
func (s *Store) txn(write bool, what string, fn func(*bolt.Tx) error) (err error) {
	s.mu.Lock()
	closed, broken := s.closed, s.broken
	s.mu.Unlock()
	switch {
	case closed:
		return fmt.Errorf("boltstore: %s: %s: %w", s.path, what, errClosed)
	case write && broken != "":
		return fmt.Errorf("%w: %s: %s: refused: the store met a damaged page earlier (%s); %s", ErrCorrupt, s.path, what, broken, runAdvice)
	}
	defer func() {
		r := recover()
		var d damageError
		if r == nil && errors.As(err, &d) {
			r = d
		}
		if r != nil {
			msg := fmt.Sprint(r)
			s.mu.Lock()
			if s.broken == "" {
				s.broken = msg
			}
			s.mu.Unlock()
			err = fmt.Errorf("%w: %s: %s: bbolt met a damaged page (%s); %s", ErrCorrupt, s.path, what, msg, runAdvice)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if write {
		return s.db.Update(fn)
	}
	return s.db.View(fn)
}

// brokenBy returns what bbolt said of the damaged page the store met, ""
// while it met none.
func (s *Store) brokenBy() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.broken
}

// errClosed is wrapped by the errors of calls after Close.
var errClosed = errors.New("the store is closed")

// wrap names the store's path and what failed in err, unless err does
// already (the errors of txn itself).
func (s *Store) wrap(err error, what string) error {
	if err == nil || errors.Is(err, ErrCorrupt) || errors.Is(err, errClosed) {
		return err
	}
	return s.errorf(err, "%s", what)
}

// Path returns the store file's path.
func (s *Store) Path() string { return s.path }

// errorf wraps err with the store's path and what failed.
func (s *Store) errorf(err error, format string, args ...any) error {
	return fmt.Errorf("boltstore: %s: %s: %w", s.path, fmt.Sprintf(format, args...), err)
}

// PutRun implements [scheduler.Store]: it writes the run in one transaction,
// synced to disk before it returns nil.
func (s *Store) PutRun(ctx context.Context, rec scheduler.RunRecord) error {
	if err := ctx.Err(); err != nil {
		return s.errorf(err, "put run %q", rec.ID)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return s.errorf(err, "encode run %q", rec.ID)
	}
	what := fmt.Sprintf("put run %q", rec.ID)
	return s.wrap(s.txn(true, what, func(tx *bolt.Tx) error {
		return tx.Bucket(runsBucket).Put([]byte(rec.ID), b)
	}), what)
}

// CreateRun implements [scheduler.Store]: the check and the put are one
// transaction.
func (s *Store) CreateRun(ctx context.Context, rec scheduler.RunRecord) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, s.errorf(err, "create run %q", rec.ID)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return false, s.errorf(err, "encode run %q", rec.ID)
	}
	created := false
	what := fmt.Sprintf("create run %q", rec.ID)
	err = s.txn(true, what, func(tx *bolt.Tx) error {
		runs := tx.Bucket(runsBucket)
		if runs.Get([]byte(rec.ID)) != nil {
			return nil
		}
		created = true
		return runs.Put([]byte(rec.ID), b)
	})
	if err != nil {
		return false, s.wrap(err, what)
	}
	return created, nil
}

// GetRun implements [scheduler.Store].
func (s *Store) GetRun(ctx context.Context, id string) (scheduler.RunRecord, error) {
	var rec scheduler.RunRecord
	if err := ctx.Err(); err != nil {
		return rec, s.errorf(err, "get run %q", id)
	}
	found := false
	what := fmt.Sprintf("get run %q", id)
	err := s.txn(false, what, func(tx *bolt.Tx) error {
		v := tx.Bucket(runsBucket).Get([]byte(id))
		if v == nil {
			return nil
		}
		found = true
		return decode(v, &rec)
	})
	if err != nil {
		return scheduler.RunRecord{}, s.wrap(err, what)
	}
	if !found {
		return scheduler.RunRecord{}, fmt.Errorf("boltstore: run %q: %w", id, job.ErrNotFound)
	}
	return rec, nil
}

// ListRuns implements [scheduler.Store]. It reads and decodes every run, then
// filters and sorts them: its cost is linear in the runs the store keeps.
func (s *Store) ListRuns(ctx context.Context, f scheduler.RunFilter) ([]scheduler.RunRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, s.errorf(err, "list runs")
	}
	var out []scheduler.RunRecord
	err := s.txn(false, "list runs", func(tx *bolt.Tx) error {
		return forEach(tx.Bucket(runsBucket), func(k, v []byte) error {
			var rec scheduler.RunRecord
			if err := decode(v, &rec); err != nil {
				return fmt.Errorf("run %q: %w", k, err)
			}
			if f.Matches(rec) {
				out = append(out, rec)
			}
			return nil
		})
	})
	if err != nil {
		return nil, s.wrap(err, "list runs")
	}
	scheduler.SortRuns(out)
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit:f.Limit]
	}
	return out, nil
}

// DeleteRuns implements [scheduler.Store]: one transaction reads every run and
// deletes the finished ones that ended before endedBefore.
func (s *Store) DeleteRuns(ctx context.Context, endedBefore time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, s.errorf(err, "delete runs")
	}
	n := 0
	err := s.txn(true, "delete runs", func(tx *bolt.Tx) error {
		runs := tx.Bucket(runsBucket)
		var doomed [][]byte
		err := forEach(runs, func(k, v []byte) error {
			var rec scheduler.RunRecord
			if err := decode(v, &rec); err != nil {
				return fmt.Errorf("run %q: %w", k, err)
			}
			if rec.Finished() && !rec.Ended.IsZero() && rec.Ended.Before(endedBefore) {
				doomed = append(doomed, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Deleting while iterating makes a bbolt cursor skip keys.
		for _, k := range doomed {
			if err := runs.Delete(k); err != nil {
				return fmt.Errorf("run %q: %w", k, err)
			}
		}
		n = len(doomed)
		return nil
	})
	if err != nil {
		return 0, s.wrap(err, "delete runs")
	}
	return n, nil
}

// DeleteRun implements [scheduler.RunStore].
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return s.errorf(err, "delete run %q", id)
	}
	what := fmt.Sprintf("delete run %q", id)
	return s.wrap(s.txn(true, what, func(tx *bolt.Tx) error { return tx.Bucket(runsBucket).Delete([]byte(id)) }), what)
}

// GetValue implements [scheduler.Store].
func (s *Store) GetValue(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, s.errorf(err, "get value %q", key)
	}
	var out []byte
	what := fmt.Sprintf("get value %q", key)
	err := s.txn(false, what, func(tx *bolt.Tx) error {
		// bbolt's slices are only valid in the transaction: copy.
		out = bytes.Clone(tx.Bucket(valuesBucket).Get([]byte(key)))
		return nil
	})
	if err != nil {
		return nil, s.wrap(err, what)
	}
	return out, nil
}

// PutValue implements [scheduler.Store]: it writes (or, for a nil value,
// deletes) the key in one transaction, synced to disk before it returns
// nil.
func (s *Store) PutValue(ctx context.Context, key string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return s.errorf(err, "put value %q", key)
	}
	what := fmt.Sprintf("put value %q", key)
	return s.wrap(s.txn(true, what, func(tx *bolt.Tx) error {
		values := tx.Bucket(valuesBucket)
		if value == nil {
			return values.Delete([]byte(key))
		}
		return values.Put([]byte(key), value)
	}), what)
}

// Close implements [scheduler.Store]: it waits for the transactions in
// progress, then closes the file and releases its lock. Later calls fail;
// Close itself may be called again. After the store met a damaged page,
// bbolt may still hold its own locks, so Close does not wait: it releases
// the file lock and closes the file at once, leaving bbolt's memory map of
// the file to the process; the file can be opened again (once repaired or
// replaced) by this process or another.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.broken == "" {
		panicked, err := s.closeDB()
		if !panicked {
			if err != nil {
				return fmt.Errorf("boltstore: close %s: %w", s.path, err)
			}
			return nil
		}
	}
	if err := releaseFile(s.file); err != nil {
		return fmt.Errorf("boltstore: close %s: %w", s.path, err)
	}
	return nil
}

// closeDB closes bbolt's DB, reporting a panic (a damaged page met while
// unmapping) rather than passing it on.
func (s *Store) closeDB() (panicked bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			panicked, err = true, fmt.Errorf("%v", r)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return false, s.db.Close()
}

func decode(v []byte, rec *scheduler.RunRecord) error {
	if err := json.Unmarshal(v, rec); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}
