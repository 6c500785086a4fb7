//go:build !linux

package bundle

// fsUsage is not measured off Linux.
func fsUsage(path string) string { return path + ": not available on this operating system" }
