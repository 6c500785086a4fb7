//go:build linux

package dockerdtest

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"syscall"
)

// sysProcAttr runs dockerd in a network namespace of its own (see the
// package documentation for why), in its own process group, and has it
// sent SIGTERM if the test process dies first.
func sysProcAttr() (*syscall.SysProcAttr, error) {
	return &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Setpgid: true, Pdeathsig: syscall.SIGTERM}, nil
}

// detachMounts lazily unmounts whatever is still mounted under dir,
// deepest first, so that the directory can be removed.
func detachMounts(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var under []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			under = append(under, fields[4])
		}
	}
	slices.SortFunc(under, func(a, b string) int { return len(b) - len(a) })
	for _, mp := range under {
		_ = syscall.Unmount(mp, syscall.MNT_DETACH)
	}
}
