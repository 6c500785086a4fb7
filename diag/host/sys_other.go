//go:build !linux

package host

import (
	"errors"
	"fmt"
)

func statfsUsage(string) (FSUsage, error) {
	return FSUsage{}, fmt.Errorf("statfs: %w on this operating system (the host checks are for Linux)", errors.ErrUnsupported)
}

func kernelClockSynced() (bool, error) {
	return false, fmt.Errorf("adjtimex: %w on this operating system (the host checks are for Linux)", errors.ErrUnsupported)
}
