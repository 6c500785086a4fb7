package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
)

// The buckets of the file.
var (
	runsBucket   = []byte("runs")
	valuesBucket = []byte("values")
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
	path string
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

// Open opens (creating if needed) the store file at path, creating its
// directory with 0700 and the file with 0600. It takes bbolt's exclusive
// file lock: a second Open of the same file (this or another process)
// waits up to Options.LockTimeout and then fails with an error that says
// another minato agent holds the store and names the path.
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
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, NoSync: o.NoSync})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("boltstore: %s: another minato agent holds the store (its file lock was not released within %s); stop it, or give this one another store: %w", path, timeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{runsBucket, valuesBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
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
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(runsBucket).Put([]byte(rec.ID), b)
	})
	if err != nil {
		return s.errorf(err, "put run %q", rec.ID)
	}
	return nil
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
	err = s.db.Update(func(tx *bolt.Tx) error {
		runs := tx.Bucket(runsBucket)
		if runs.Get([]byte(rec.ID)) != nil {
			return nil
		}
		created = true
		return runs.Put([]byte(rec.ID), b)
	})
	if err != nil {
		return false, s.errorf(err, "create run %q", rec.ID)
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
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(runsBucket).Get([]byte(id))
		if v == nil {
			return nil
		}
		found = true
		return decode(v, &rec)
	})
	if err != nil {
		return scheduler.RunRecord{}, s.errorf(err, "get run %q", id)
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
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(runsBucket).ForEach(func(k, v []byte) error {
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
		return nil, s.errorf(err, "list runs")
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
	err := s.db.Update(func(tx *bolt.Tx) error {
		runs := tx.Bucket(runsBucket)
		var doomed [][]byte
		err := runs.ForEach(func(k, v []byte) error {
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
		return 0, s.errorf(err, "delete runs")
	}
	return n, nil
}

// DeleteRun implements [scheduler.RunStore].
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return s.errorf(err, "delete run %q", id)
	}
	err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(runsBucket).Delete([]byte(id)) })
	if err != nil {
		return s.errorf(err, "delete run %q", id)
	}
	return nil
}

// GetValue implements [scheduler.Store].
func (s *Store) GetValue(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, s.errorf(err, "get value %q", key)
	}
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		// bbolt's slices are only valid in the transaction: copy.
		out = bytes.Clone(tx.Bucket(valuesBucket).Get([]byte(key)))
		return nil
	})
	if err != nil {
		return nil, s.errorf(err, "get value %q", key)
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
	err := s.db.Update(func(tx *bolt.Tx) error {
		values := tx.Bucket(valuesBucket)
		if value == nil {
			return values.Delete([]byte(key))
		}
		return values.Put([]byte(key), value)
	})
	if err != nil {
		return s.errorf(err, "put value %q", key)
	}
	return nil
}

// Close implements [scheduler.Store]: it waits for the transactions in progress,
// then closes the file and releases its lock. Later calls fail; Close
// itself may be called again.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close %s: %w", s.path, err)
	}
	return nil
}

func decode(v []byte, rec *scheduler.RunRecord) error {
	if err := json.Unmarshal(v, rec); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}
