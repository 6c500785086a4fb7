//go:build unix

package container

import (
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// signalPIDs sends SIGTERM, waits up to grace for the processes to go, then
// SIGKILLs the ones still carrying marker (so that a reused PID is spared).
func signalPIDs(pids []int, grace time.Duration, procDir, marker string) {
	alive := func() []int {
		var out []int
		for _, p := range pids {
			if hasEnv(filepath.Join(procDir, strconv.Itoa(p), "environ"), []byte(marker)) {
				out = append(out, p)
			}
		}
		return out
	}
	if grace > 0 {
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGTERM)
		}
		end := time.Now().Add(grace)
		for time.Now().Before(end) && len(alive()) > 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, p := range alive() {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
}
