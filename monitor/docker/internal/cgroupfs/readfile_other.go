//go:build !linux

package cgroupfs

import "os"

// readFile reads a whole file; buf is unused off Linux, where there are no
// cgroups to read anyway.
func readFile(path string, buf []byte) ([]byte, error) { return os.ReadFile(path) }
