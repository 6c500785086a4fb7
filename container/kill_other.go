//go:build !unix

package container

import "time"

// signalPIDs cannot signal host processes on this platform; local engines
// there are never unix sockets, so it is not reached.
func signalPIDs(pids []int, grace time.Duration, procDir, marker string) {}
