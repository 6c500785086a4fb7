//go:build unix

package boltrepo

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// errLockTimeout is lockFile's error when the deadline passed.
var errLockTimeout = errors.New("timed out waiting for the file lock")

// lockFile takes a flock on f, exclusive or shared, as bbolt does (bbolt
// then takes it again on the same open file, at once): the file's pages
// are checked before bbolt reads them, only once no other process writes
// them. It polls until deadline, then fails with errLockTimeout, or until
// ctx is done.
func lockFile(ctx context.Context, f *os.File, exclusive bool, deadline time.Time) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	wait := time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case !errors.Is(err, syscall.EWOULDBLOCK):
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return errLockTimeout
		}
		timer := time.NewTimer(min(wait, left))
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		wait = min(2*wait, 20*time.Millisecond)
	}
}

// releaseFile releases the flock on f and closes f. Closing alone is not
// enough while bbolt's memory map of the file lives: the map holds the
// open file, and the lock with it.
func releaseFile(f *os.File) error {
	if f == nil {
		return nil
	}
	var errs []error
	if fd := f.Fd(); fd != ^uintptr(0) {
		if err := syscall.Flock(int(fd), syscall.LOCK_UN); err != nil {
			errs = append(errs, err)
		}
	}
	if err := f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
