//go:build !unix

package boltrepo

import (
	"context"
	"errors"
	"os"
	"time"
)

// errLockTimeout is lockFile's error when the deadline passed.
var errLockTimeout = errors.New("timed out waiting for the file lock")

// lockFile does nothing here: bbolt takes its own lock when it opens the
// file, waiting until the deadline (checkPages may then read pages another
// process is writing, and report damage that is not there).
func lockFile(context.Context, *os.File, bool, time.Time) error { return nil }

// releaseFile closes f, which releases the lock bbolt took on it.
func releaseFile(f *os.File) error {
	if f == nil {
		return nil
	}
	if err := f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}
