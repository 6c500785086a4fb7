package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/minato-ops/minato/diag"
)

// Kernel upgrade commands of the Container Service FAQ's "device or
// resource busy" answer.
const (
	FixUbuntu1404 = "apt-get update && apt-get install -y linux-generic-lts-xenial"
	FixCentOS7    = "yum update -y kernel"
)

var (
	osReleaseKV   = regexp.MustCompile(`(?m)^\s*(ID|VERSION_ID)\s*=\s*"?([^"\n]*)"?\s*$`)
	firstVersion  = regexp.MustCompile(`(\d+)(?:\.(\d+))?`)
	kernelVersion = regexp.MustCompile(`^\s*(\d+)\.(\d+)(?:\.(\d+))?(?:-(\d+))?`)
)

// distro identifies an operating system release: its ID ("ubuntu",
// "centos") and version ("14.04", "7").
type distro struct {
	id           string
	major, minor int
}

// parseOSRelease reads an operating system's name and version from either
// os-release(5) text (ID= and VERSION_ID= lines) or a one-line name such
// as docker info's "Ubuntu 14.04.5 LTS" or /etc/centos-release's "CentOS
// Linux release 7.3.1611 (Core)".
func parseOSRelease(s string) (distro, bool) {
	var d distro
	version := ""
	if m := osReleaseKV.FindAllStringSubmatch(s, -1); len(m) > 0 {
		for _, kv := range m {
			switch kv[1] {
			case "ID":
				d.id = strings.ToLower(strings.TrimSpace(kv[2]))
			case "VERSION_ID":
				version = kv[2]
			}
		}
	} else {
		low := strings.ToLower(s)
		for _, id := range []string{"ubuntu", "centos"} {
			if i := strings.Index(low, id); i >= 0 {
				d.id = id
				version = low[i+len(id):] // not s: ToLower can change byte offsets
				break
			}
		}
	}
	if d.id == "" {
		return distro{}, false
	}
	m := firstVersion.FindStringSubmatch(version)
	if m == nil {
		return distro{}, false
	}
	var err error
	if d.major, err = strconv.Atoi(m[1]); err != nil {
		return distro{}, false
	}
	if m[2] != "" {
		if d.minor, err = strconv.Atoi(m[2]); err != nil {
			return distro{}, false
		}
	}
	return d, true
}

// KernelTooOld applies the Container Service FAQ's rule for "failed to
// remove root filesystem for <id>: device or resource busy" when a
// container is removed or updated: the node's kernel is too old on
// Ubuntu 14.04 with kernel 3.13 or earlier, and on CentOS 7 with kernel
// 3.10.0-514 or earlier (both inclusive; a CentOS 7 update of the 514
// series, 3.10.0-514.26.2, counts as 514). When too old, fix is the
// kernel upgrade command for that system, to be run after moving the
// applications off the node and followed by a reboot.
//
// osRelease is the operating system as docker info's Operating System
// ("Ubuntu 14.04.5 LTS", "CentOS Linux 7 (Core)"), /etc/centos-release, or
// the text of /etc/os-release; kernelRelease is uname -r
// ("3.13.0-24-generic", "3.10.0-514.el7.x86_64"). Any other system, or
// text it cannot read, gives false: the rule is not guessed.
func KernelTooOld(osRelease, kernelRelease string) (bool, string) {
	d, ok := parseOSRelease(osRelease)
	if !ok {
		return false, ""
	}
	m := kernelVersion.FindStringSubmatch(kernelRelease)
	if m == nil {
		return false, ""
	}
	num := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			return -1
		}
		return n
	}
	major, minor, patch, rel := num(m[1]), num(m[2]), num(m[3]), num(m[4])
	if major < 0 || minor < 0 {
		return false, ""
	}
	switch {
	case d.id == "ubuntu" && d.major == 14 && d.minor == 4:
		if major < 3 || (major == 3 && minor <= 13) {
			return true, FixUbuntu1404
		}
	case d.id == "centos" && d.major == 7:
		switch {
		case major < 3 || (major == 3 && minor < 10):
			return true, FixCentOS7
		case major == 3 && minor == 10 && m[3] != "" && patch == 0 && m[4] != "" && rel >= 0 && rel <= 514:
			return true, FixCentOS7
		}
	}
	return false, ""
}

// kernel is D29 as a host check: it reads the host's os-release and
// kernel release and applies [KernelTooOld].
func (h *hostChecks) kernel(context.Context) ([]diag.Finding, error) {
	osr, err := os.ReadFile(h.path("/etc/os-release"))
	if errors.Is(err, fs.ErrNotExist) {
		osr, err = os.ReadFile(h.path("/usr/lib/os-release"))
	}
	if err != nil {
		return nil, hostErr("/etc/os-release", err)
	}
	kr, err := os.ReadFile(h.path("/proc/sys/kernel/osrelease"))
	if err != nil {
		return nil, hostErr("/proc/sys/kernel/osrelease", err)
	}
	release := strings.TrimSpace(string(kr))
	old, fix := KernelTooOld(string(osr), release)
	if !old {
		return nil, nil
	}
	name := prettyName(string(osr))
	return []diag.Finding{{
		Code: "D29", Severity: diag.Warning, Subject: h.subject(),
		Title: fmt.Sprintf("Kernel %s is too old: removing or updating containers can fail with \"device or resource busy\"", release),
		Detail: "On Ubuntu 14.04 with kernel 3.13 or earlier and on CentOS 7 with kernel 3.10.0-514 or earlier, removing or " +
			"updating a container can fail with \"failed to remove root filesystem for <id>: device or resource busy\".",
		Remedy: fmt.Sprintf("1. Move the applications off this node (scheduling constraints); 2. upgrade the kernel: `%s`; "+
			"3. reboot the node to run the new kernel; 4. move the applications back", fix),
		Evidence:  []string{"operating system: " + name, "kernel: " + release},
		Reference: refKernel,
	}}, nil
}

// prettyName returns PRETTY_NAME of os-release text, else its ID and
// VERSION_ID.
func prettyName(osr string) string {
	for line := range strings.SplitSeq(osr, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	d, _ := parseOSRelease(osr)
	if d.minor == 0 {
		return fmt.Sprintf("%s %d", d.id, d.major)
	}
	return fmt.Sprintf("%s %d.%02d", d.id, d.major, d.minor)
}
