package baseline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrBadKey is wrapped by Store methods for a key that cannot be a file
// name; the message names the key and what is allowed.
var ErrBadKey = errors.New("baseline: bad key")

// MaxKeyLen is the longest key accepted.
const MaxKeyLen = 200

// Store is a directory of baselines, one file per key. It is safe for
// concurrent use by goroutines and by processes sharing the directory.
type Store struct {
	dir string
}

// DefaultDir returns the per-user state directory minato uses when no
// directory is given: $XDG_STATE_HOME/minato/baseline, else
// ~/.local/state/minato/baseline, else the user cache directory's
// minato/baseline.
func DefaultDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "minato", "baseline"), nil
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "state", "minato", "baseline"), nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("baseline: no state directory: set XDG_STATE_HOME or HOME, or give a directory: %w", err)
	}
	return filepath.Join(cache, "minato", "baseline"), nil
}

// Open returns the Store in dir, creating the directory (0700) if needed.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("baseline: empty directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir returns the Store's directory.
func (s *Store) Dir() string { return s.dir }

// CheckKey reports whether key can name a baseline: 1 to MaxKeyLen
// characters from [A-Za-z0-9._-], not starting with ".".
func CheckKey(key string) error {
	if key == "" || len(key) > MaxKeyLen || key[0] == '.' {
		return fmt.Errorf("%w %q: want 1 to %d characters from A-Z a-z 0-9 . _ -, not starting with a dot", ErrBadKey, key, MaxKeyLen)
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%w %q: %q is not allowed; use A-Z a-z 0-9 . _ -", ErrBadKey, key, r)
		}
	}
	return nil
}

// Path returns the file that holds key's baseline.
func (s *Store) Path(key string) string { return filepath.Join(s.dir, key+".json") }

// Update runs fn with the key's current document (nil when there is none)
// and stores what fn returns, all under an exclusive lock on the key. When
// fn returns an error nothing is written and the error is returned; when fn
// returns nil bytes the key is deleted. The write is atomic: a reader sees
// the old or the new document, never a mix, even after a crash.
func (s *Store) Update(key string, fn func(prev []byte) ([]byte, error)) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	unlock, err := lockFile(filepath.Join(s.dir, key+".lock"))
	if err != nil {
		return fmt.Errorf("baseline: lock %s: %w", key, err)
	}
	defer unlock()

	path := s.Path(key)
	prev, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		prev = nil
	} else if err != nil {
		return fmt.Errorf("baseline: read %s: %w", key, err)
	}
	next, err := fn(prev)
	if err != nil {
		return err
	}
	if next == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("baseline: delete %s: %w", key, err)
		}
		return nil
	}
	return writeAtomic(path, next)
}

// Get returns the key's current document, or nil when there is none.
func (s *Store) Get(key string) ([]byte, error) {
	var out []byte
	err := s.Update(key, func(prev []byte) ([]byte, error) {
		out = prev
		return nil, errKeep
	})
	if errors.Is(err, errKeep) {
		err = nil
	}
	return out, err
}

var errKeep = errors.New("keep")

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".baseline-*.tmp")
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("baseline: write: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("baseline: write: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("baseline: write: %w", err)
	}
	if err := os.Chmod(f.Name(), 0o600); err != nil {
		return fmt.Errorf("baseline: write: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("baseline: write: %w", err)
	}
	return nil
}
