//go:build !unix

package boltstore

import (
	"errors"
	"os"
	"time"
)

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

// lockFile does nothing here: bbolt takes its own lock when it opens the
// file (checkPages may then read pages another process is writing, and
// report damage that is not there).
func lockFile(*os.File, time.Duration) error { return nil }
