package docker

import (
	"github.com/minato-ops/minato/monitor/docker/internal/cgroupfs"
)

// newDirectReader opens the cgroupfs reader for the engine's driver and
// cgroup version; it fails when the cgroups are not readable here.
func newDirectReader(root, proc, driver, version string) (directReader, error) {
	return cgroupfs.New(root, proc, driver, version)
}
