package explain

import (
	"strconv"
	"strings"

	"github.com/minato-ops/minato/diag/host"
)

// The kernel rule of the Container Service FAQ (§2.18): removing or
// updating a container fails with "device or resource busy" on Ubuntu
// 14.04 with kernel 3.13 or earlier and on CentOS 7 with kernel
// 3.10.0-514 or earlier. diag/host's KernelTooOld applies it given the
// operating system; a pasted error shows at most the kernel release
// (uname -r, or uname -a's line), so kernelFamily infers the system from
// the release's own marks.

// Kernel families the FAQ names.
const (
	familyUbuntu1404 = "Ubuntu 14.04"
	familyCentOS7    = "CentOS 7"
)

// The FAQ's kernel upgrade commands.
const (
	fixUbuntu = host.FixUbuntu1404
	fixCentOS = host.FixCentOS7
)

// kernelFamily tells which of the FAQ's systems a kernel release belongs
// to, by osRelease (a system name such as "Ubuntu 14.04.5 LTS" or
// "CentOS Linux 7", may be empty) or else by the release's marks: Red
// Hat's ".el7", Ubuntu's "-generic" flavour (a 3.x one is 14.04's; a later
// one is "Ubuntu", of a release the FAQ does not name). Empty: unknown.
func kernelFamily(osRelease, kernelRelease string) string {
	os := strings.ToLower(osRelease)
	switch {
	case strings.Contains(os, "ubuntu"):
		if strings.Contains(os, "14.04") {
			return familyUbuntu1404
		}
		return ""
	case strings.Contains(os, "centos"):
		if strings.Contains(os, " 7") {
			return familyCentOS7
		}
		return ""
	case os != "":
		return ""
	}
	k := strings.ToLower(kernelRelease)
	switch {
	case strings.Contains(k, ".el7"):
		return familyCentOS7
	case strings.Contains(k, "-generic") || strings.Contains(k, "ubuntu"):
		if kernelMajor(k) == 3 {
			return familyUbuntu1404
		}
		return "Ubuntu"
	}
	return ""
}

// kernelOld returns the kernel's family ("" when unknown) and whether the
// FAQ's rule calls it too old.
func kernelOld(osRelease, kernelRelease string) (string, bool) {
	family := kernelFamily(osRelease, kernelRelease)
	switch family {
	case familyUbuntu1404:
		old, _ := host.KernelTooOld("Ubuntu 14.04", kernelRelease)
		return family, old
	case familyCentOS7:
		old, _ := host.KernelTooOld("CentOS Linux 7", kernelRelease)
		return family, old
	}
	return family, false
}

// kernelMajor is the release's first number, -1 when it has none.
func kernelMajor(release string) int {
	first, _, _ := strings.Cut(strings.TrimSpace(release), ".")
	n, err := strconv.Atoi(first)
	if err != nil {
		return -1
	}
	return n
}
