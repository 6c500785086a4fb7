//go:build linux

package bundle

import (
	"fmt"
	"syscall"
)

// fsUsage says how full the file system holding path is, as df does.
func fsUsage(path string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return fmt.Sprintf("%s: not available: %v", path, err)
	}
	bs := uint64(st.Bsize)
	total, free, avail := st.Blocks*bs, st.Bfree*bs, st.Bavail*bs
	used := total - free
	s := fmt.Sprintf("%s: size %s, used %s, available %s", path, bytesText(int64(total)), bytesText(int64(used)), bytesText(int64(avail)))
	if used+avail > 0 {
		s += fmt.Sprintf(", %d%% used", (used*100+used+avail-1)/(used+avail))
	}
	if st.Files > 0 {
		s += fmt.Sprintf("; inodes %d of %d used (%d%%)", st.Files-st.Ffree, st.Files, (st.Files-st.Ffree)*100/st.Files)
	}
	return s
}
