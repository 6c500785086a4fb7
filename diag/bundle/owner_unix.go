//go:build unix

package bundle

import (
	"io/fs"
	"strconv"
	"syscall"
)

// owner returns the numeric owner and group of fi, as ls -n prints them.
func owner(fi fs.FileInfo) (uid, gid string) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return strconv.FormatUint(uint64(st.Uid), 10), strconv.FormatUint(uint64(st.Gid), 10)
	}
	return "?", "?"
}
