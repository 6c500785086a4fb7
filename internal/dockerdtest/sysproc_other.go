//go:build !linux

package dockerdtest

import (
	"errors"
	"syscall"
)

// sysProcAttr refuses: a second dockerd needs Linux network namespaces.
func sysProcAttr() (*syscall.SysProcAttr, error) {
	return nil, errors.New("a second dockerd needs Linux (network namespaces)")
}

// detachMounts does nothing: there are no mounts to detach off Linux.
func detachMounts(string) {}
