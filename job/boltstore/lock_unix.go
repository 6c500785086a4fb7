//go:build unix

package boltstore

import (
	"errors"
	"os"
	"syscall"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"
)

// releaseFile releases the flock bbolt took on f and closes f. Closing
// alone is not enough while bbolt's memory map of the file lives: the map
// holds the open file, and the lock with it.
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

// lockFile takes an exclusive flock on f, as bbolt does, waiting up to
// timeout for another holder to release it; then it fails with an error
// wrapping bbolt's ErrTimeout.
func lockFile(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if !time.Now().Before(deadline) {
			return bolterrors.ErrTimeout
		}
		time.Sleep(50 * time.Millisecond)
	}
}
