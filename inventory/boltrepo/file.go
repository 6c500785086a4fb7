package boltrepo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// What to do about a file that is refused.
const advice = "nothing was changed in it; move the file aside (or restore it from a backup) and sync the inventory again, or give minato another repository file"

// corrupt is an ErrCorrupt error naming the file, the call and what is
// wrong.
func (r *Repo) corrupt(what, why string) error {
	return fmt.Errorf("%w: %s: %s: %s; %s", ErrCorrupt, r.path, what, why, advice)
}

// notStore is an ErrNotStore error naming the file and what it is.
func (r *Repo) notStore(why string) error {
	return fmt.Errorf("%w: %s: %s; %s", ErrNotStore, r.path, why, advice)
}

// errorf wraps err with the file's path and the call.
func (r *Repo) errorf(err error, what string) error {
	return fmt.Errorf("boltrepo: %s: %s: %w", r.path, what, err)
}

// locked is the ErrLocked error of a call that waited the lock timeout.
func (r *Repo) locked(what string) error {
	return fmt.Errorf("%w: %s: %s: another process (a running minato agent, or a minato inventory sync) or another call in this process holds the file lock, and did not release it within the lock timeout (%s); try again (Options.LockTimeout sets the wait)",
		ErrLocked, r.path, what, r.timeout)
}

// run does one call, or one Batch, on the file: it waits for this Repo's
// gate (in the process) and for the file lock (shared, or exclusive
// for write), checks the file's pages, opens it with bbolt, checks the
// format marker, runs fn in one transaction, commits it when write is set,
// fn returned nil and changed something, and closes the file.
//
// bbolt panics when it meets a damaged page, and faults reading a part of
// its memory map of the file that is gone: run and txRepo turn both into
// ErrCorrupt errors. A panic of a Batch's function goes on once the file
// is released.
func (r *Repo) run(ctx context.Context, write bool, what string, fn func(*txRepo) error) (err error) {
	if err := ctx.Err(); err != nil {
		return r.errorf(err, what)
	}
	start := time.Now()
	deadline := start.Add(r.timeout)
	switch ok, err := r.gate.enter(ctx, write, deadline); {
	case err != nil:
		return r.errorf(err, what)
	case !ok:
		return r.locked(what)
	}
	defer r.gate.leave(write)

	flag := os.O_RDONLY
	if write {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(r.path, flag, 0) // never created here: that is Open's
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("boltrepo: %s: %s: the repository file is gone (removed or renamed since minato opened it); restore it from a backup, or start again to create a new, empty one: %w", r.path, what, err)
	}
	if err != nil {
		return r.errorf(err, what)
	}
	if err := lockFile(ctx, f, write, deadline); err != nil {
		_ = f.Close()
		switch {
		case errors.Is(err, errLockTimeout):
			return r.locked(what)
		case ctx.Err() != nil:
			return r.errorf(ctx.Err(), what)
		}
		return r.errorf(fmt.Errorf("locking the file: %w", err), what)
	}
	r.lockWait.Add(int64(time.Since(start)))
	r.opens.Add(1)

	fi, err := f.Stat()
	switch {
	case err != nil:
		err = r.errorf(err, what)
	case fi.Size() == 0:
		err = r.corrupt(what, "the file is empty (0 bytes): it was truncated, or it is not a repository")
	default:
		// The pages are checked when the file changed since this Repo
		// last checked or wrote it (another process wrote it, or it was
		// replaced or damaged through the file system): one read of its
		// data, a few hundred KiB for a thousand containers.
		id, known := identify(fi)
		if known && r.isVerified(id) {
			break
		}
		r.checks.Add(1)
		if b, rerr := readUsed(f, fi.Size()); rerr != nil {
			err = r.errorf(fmt.Errorf("reading the file: %w", rerr), what)
		} else if cerr := checkPages(b, fi.Size()); cerr != nil {
			err = r.corrupt(what, cerr.Error())
		} else if known {
			r.setVerified(id)
		}
	}
	if err != nil {
		_ = releaseFile(f)
		return err
	}

	// From here bbolt reads the file: a panic or a fault is damage, except
	// one from a Batch's function, which is left to go on.
	var (
		db      *bolt.DB
		tx      *bolt.Tx
		t       *txRepo
		inFn    bool // fn is running: it did not return if the deferred call sees this
		settled bool // tx is committed or rolled back
	)
	defer func() {
		if t != nil {
			t.mu.Lock()
			t.done = true
			t.mu.Unlock()
		}
		if inFn {
			// The Batch's function panicked (a panic of bbolt's inside it
			// is the txRepo's error): release the file, leave the panic be.
			_ = r.finish(db, tx, f, false, t.broken != "")
			return
		}
		broken := t != nil && t.broken != ""
		if p := recover(); p != nil {
			err, broken = r.corrupt(what, fmt.Sprintf("bbolt met a damaged page: %v", p)), true
		}
		if cerr := r.finish(db, tx, f, settled, broken); err == nil && cerr != nil {
			err = r.errorf(cerr, what)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))

	db, err = bolt.Open(r.path, 0o600, &bolt.Options{
		ReadOnly: !write,
		NoSync:   r.noSync,
		Timeout:  max(time.Until(deadline), time.Millisecond), // where lockFile takes no lock
		OpenFile: func(string, int, os.FileMode) (*os.File, error) { return f, nil },
	})
	if err != nil {
		db = nil // bbolt closed f
		if errors.Is(err, bolterrors.ErrTimeout) {
			return r.locked(what)
		}
		if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrVersionMismatch) || errors.Is(err, bolterrors.ErrChecksum) {
			return r.corrupt(what, fmt.Sprintf("bbolt cannot open it: %v", err))
		}
		return r.errorf(err, what)
	}
	if tx, err = db.Begin(write); err != nil {
		tx = nil
		return r.errorf(err, what)
	}
	t = &txRepo{r: r, tx: tx}
	if err := t.checkMarker(); err != nil {
		return err
	}
	inFn = true
	err = fn(t)
	inFn = false
	if err == nil && t.broken != "" {
		// A Batch's function went on after a call met damage: nothing
		// is committed, and the batch fails.
		err = r.corrupt(what, t.broken)
	}
	if err != nil || !write || !t.dirty {
		return err // finish rolls back
	}
	before, _ := f.Stat()
	if err := tx.Commit(); err != nil {
		return r.errorf(fmt.Errorf("commit: %w", err), what) // finish rolls back what bbolt did not
	}
	settled = true
	r.commits.Add(1)
	after, serr := f.Stat()
	if !r.noSync {
		syncs := int64(2)
		if serr == nil && before != nil && after.Size() > before.Size() {
			syncs++ // bbolt grew the file, and synced its size
		}
		r.syncs.Add(syncs)
	}
	// The file still holds the lock: what bbolt just wrote is sound, and
	// the pages it did not write were checked.
	if id, known := identify(after); serr == nil && known {
		r.setVerified(id)
	}
	return nil
}

// finish rolls tx back unless settled, and closes db and f. After damage
// (broken), bbolt's own locks may be held by the transaction that
// panicked: the file is then released directly, leaving bbolt's memory
// map of it to the process.
func (r *Repo) finish(db *bolt.DB, tx *bolt.Tx, f *os.File, settled, broken bool) (err error) {
	clean := !broken
	func() {
		defer func() {
			if recover() != nil {
				clean = false
			}
		}()
		if tx != nil && !settled {
			_ = tx.Rollback()
		}
		if clean && db != nil {
			err = db.Close()
		}
	}()
	if !clean || db == nil {
		if rerr := releaseFile(f); err == nil {
			err = rerr
		}
	}
	return err
}
