package scheduler

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// spillDir removes pruned units' output files, only from inside the
// configured spill directory (Config.SpillDir).
type spillDir struct {
	// dirs are the directory as configured (made absolute and cleaned)
	// and with its symlinks resolved: a recorded path is taken relative
	// to either.
	dirs []string
	root *os.Root // nil: no directory, nothing is removed
	err  error    // why root is nil
}

// openSpill opens the spill directory dir for removals; "" removes
// nothing.
func openSpill(dir string) *spillDir {
	if dir == "" {
		return &spillDir{err: errors.New("no spill directory is configured (spill_dir), so no output file is removed")}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return &spillDir{err: fmt.Errorf("spill directory %s: %w", dir, err)}
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return &spillDir{err: fmt.Errorf("spill directory %s: %w", dir, err)}
	}
	root, err := os.OpenRoot(resolved)
	if err != nil {
		return &spillDir{err: fmt.Errorf("spill directory %s: %w", dir, err)}
	}
	return &spillDir{dirs: []string{abs, resolved}, root: root}
}

func (d *spillDir) close() {
	if d.root != nil {
		_ = d.root.Close()
	}
}

// remove removes the regular file at path when it is inside the spill
// directory. Anything else is an error saying why it stays: outside the
// directory (by its path or through a symlink), or not a regular file.
// The removal goes through an [os.Root], so a symlink swapped in meanwhile
// cannot lead it out of the directory either.
func (d *spillDir) remove(path string) error {
	if d.root == nil {
		return fmt.Errorf("%s: %w", path, d.err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	rel := ""
	for _, dir := range d.dirs {
		r, err := filepath.Rel(dir, abs)
		if err == nil && r != "." && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r) {
			rel = r
			break
		}
	}
	if rel == "" {
		return fmt.Errorf("%s is not inside the spill directory %s", path, d.dirs[0])
	}
	fi, err := d.root.Lstat(rel)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return err
		}
		return fmt.Errorf("%s: %w (the spill directory is %s)", path, err, d.dirs[0])
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s): a spilled output file is one", path, fi.Mode().Type())
	}
	return d.root.Remove(rel)
}
