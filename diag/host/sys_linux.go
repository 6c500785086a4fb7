//go:build linux

package host

import (
	"fmt"
	"syscall"
)

// statfsUsage is statfs(2) of path.
func statfsUsage(path string) (FSUsage, error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(path, &s); err != nil {
		return FSUsage{}, err
	}
	bs := uint64(s.Bsize)
	return FSUsage{
		Used:       (s.Blocks - s.Bfree) * bs,
		Avail:      s.Bavail * bs,
		Size:       s.Blocks * bs,
		Inodes:     s.Files,
		InodesFree: s.Ffree,
	}, nil
}

// staUnsync is STA_UNSYNC of adjtimex(2): the clock is not synchronised.
const staUnsync = 0x0040

// timeError is TIME_ERROR, adjtimex(2)'s state for an unsynchronised
// clock.
const timeError = 5

// kernelClockSynced asks the kernel (adjtimex(2) without changing
// anything, as ntp_gettime does) whether an NTP client has synchronised
// the clock.
func kernelClockSynced() (bool, error) {
	var t syscall.Timex
	state, err := syscall.Adjtimex(&t)
	if err != nil {
		return false, fmt.Errorf("adjtimex: %w", err)
	}
	return state != timeError && t.Status&staUnsync == 0, nil
}
