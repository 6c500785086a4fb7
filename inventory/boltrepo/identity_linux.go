//go:build linux

package boltrepo

import (
	"os"
	"syscall"
)

// identify returns what tells the file's content apart from what it was:
// every write through the file system changes its status change time
// (ctime), which nobody can set, to the nanosecond on the file systems
// minato's state lives on (ext4, XFS, Btrfs).
func identify(fi os.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{
		dev: uint64(st.Dev), ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
	}, true
}
