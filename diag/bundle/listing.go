package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// maxListErrors bounds the errors one listing reports.
const maxListErrors = 10

// escapePath turns a mount source into the <path> of ls_<path>.info as
// JobCenter names it: the path without its leading "/", every "/" turned
// into "_" (/usr/spool/nqs → usr_spool_nqs). Characters other than
// letters, digits, ".", "_" and "-" also become "_"; "/" itself gives "_";
// a name longer than 150 bytes is cut and ends in a hash of the path, so
// that it stays a valid, distinct file name.
func escapePath(p string) string {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return "_"
	}
	s := safeName(strings.ReplaceAll(p, "/", "_"))
	if len(s) > 150 {
		sum := sha256.Sum256([]byte(p))
		s = s[:140] + "_" + hex.EncodeToString(sum[:4])
	}
	return s
}

// listTree writes an ls -alR style listing of root to b: each directory
// as "<dir>:" followed by one line per entry (mode, owner, group, size,
// modification time, name, and "-> target" for symbolic links, which are
// not followed). Directories deeper than maxDepth levels below root are
// not entered, and the listing stops after maxEntries entries; both are
// said in the listing. It returns the directories that could not be read.
func listTree(b *strings.Builder, root string, maxDepth, maxEntries int) []error {
	var errs []error
	count := 0
	var walk func(dir string, depth int) bool
	walk = func(dir string, depth int) bool {
		fmt.Fprintf(b, "\n%s:\n", dir)
		if fi, err := os.Lstat(dir); err == nil {
			lsLine(b, fi, ".", "")
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			fmt.Fprintf(b, "ls: cannot open directory %s: %v\n", dir, err)
			if len(errs) < maxListErrors {
				errs = append(errs, err)
			}
			return true
		}
		var subdirs []string
		for _, e := range entries {
			if count >= maxEntries {
				fmt.Fprintf(b, "... more than %d entries: the listing stops here\n", maxEntries)
				return false
			}
			count++
			p := filepath.Join(dir, e.Name())
			fi, err := e.Info()
			if err != nil {
				fmt.Fprintf(b, "?????????? %s: %v\n", e.Name(), err)
				continue
			}
			target := ""
			if fi.Mode()&fs.ModeSymlink != 0 {
				target, _ = os.Readlink(p)
			}
			lsLine(b, fi, e.Name(), target)
			if fi.IsDir() {
				subdirs = append(subdirs, p)
			}
		}
		if depth >= maxDepth {
			if len(subdirs) > 0 {
				fmt.Fprintf(b, "... %d subdirectories deeper than %d levels are not listed\n", len(subdirs), maxDepth)
			}
			return true
		}
		for _, sd := range subdirs {
			if !walk(sd, depth+1) {
				return false
			}
		}
		return true
	}
	walk(root, 0)
	return errs
}

func lsLine(b *strings.Builder, fi fs.FileInfo, name, target string) {
	uid, gid := owner(fi)
	fmt.Fprintf(b, "%s %5s %5s %10d %s %s", modeString(fi.Mode()), uid, gid, fi.Size(), fi.ModTime().UTC().Format(time.RFC3339), name)
	if target != "" {
		b.WriteString(" -> " + target)
	}
	b.WriteByte('\n')
}

// modeString renders m as ls does: "drwxr-x---", "lrwxrwxrwx", "-rwsr-xr-x".
func modeString(m fs.FileMode) string {
	t := byte('-')
	switch {
	case m.IsDir():
		t = 'd'
	case m&fs.ModeSymlink != 0:
		t = 'l'
	case m&fs.ModeNamedPipe != 0:
		t = 'p'
	case m&fs.ModeSocket != 0:
		t = 's'
	case m&fs.ModeCharDevice != 0:
		t = 'c'
	case m&fs.ModeDevice != 0:
		t = 'b'
	}
	const rwx = "rwxrwxrwx"
	buf := []byte{t, '-', '-', '-', '-', '-', '-', '-', '-', '-'}
	for i := range 9 {
		if m&(1<<uint(8-i)) != 0 {
			buf[i+1] = rwx[i]
		}
	}
	special := func(set bool, at int, lower, upper byte) {
		if !set {
			return
		}
		if buf[at] == '-' {
			buf[at] = upper
		} else {
			buf[at] = lower
		}
	}
	special(m&fs.ModeSetuid != 0, 3, 's', 'S')
	special(m&fs.ModeSetgid != 0, 6, 's', 'S')
	special(m&fs.ModeSticky != 0, 9, 't', 'T')
	return string(buf)
}
