package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/minato-ops/minato/diag"
)

// Check IDs, stable across releases.
const (
	CheckRPFilter    = "host.rp_filter"
	CheckARPAnnounce = "host.arp_announce"
	CheckIPForward   = "host.ip_forward"
	CheckDataRoot    = "host.data_root"
	CheckClock       = "host.clock"
	CheckKernel      = "host.kernel"
)

// Finding codes that are not rows of the Container Service FAQ's
// catalogue (the others are "D10", "D11", "D21", "D29" and "D30").
const (
	CodeIPForward = "host.ip_forward"
	// CodeClockUnverified is the Info finding of host.clock when it can
	// tell neither the kernel's synchronisation state nor which daemons
	// run (minato in a container with its own PID namespace).
	CodeClockUnverified = "host.clock_unverified"
)

// Defaults of [Options].
const (
	DefaultRoot                = "/"
	DefaultDataRoot            = "/var/lib/docker"
	DefaultDiskWarnPercent     = 85
	DefaultDiskCriticalPercent = 95
)

// References, as findings cite them.
const (
	refSLB      = "Container Service FAQ §2.7 (custom Server Load Balancer: ECS configuration)"
	refDataDisk = "Container Service FAQ §2.14 (adding a data disk for Docker)"
	refKernel   = "Container Service FAQ §2.18 (operating system and kernel)"
	refNTP      = "Container Service FAQ §2.18 (NTP in containers)"
	refForward  = "Docker documentation: packet filtering and firewalls (IP forwarding)"
)

// Options configure the host checks. The zero value checks this machine.
type Options struct {
	// Root is the directory under which the host's /proc, /sys, /etc and
	// /run are read; default "/". Tests point it at a fake tree.
	Root string `json:"root,omitempty"`
	// Name names the host in findings; default the kernel's host name
	// (Root/proc/sys/kernel/hostname).
	Name string `json:"name,omitempty"`
	// Interfaces are the network interfaces whose rp_filter is checked
	// besides "default" and "all". Nil means every interface in
	// Root/proc/sys/net/ipv4/conf except lo and the ones Docker creates
	// (docker0, br-*, veth*).
	Interfaces []string `json:"interfaces,omitempty"`
	// LoadBalanced says a layer-4 load balancer forwards traffic to this
	// host, or that hosts of its subnet must reach it directly: rp_filter
	// and arp_announce findings are then Warnings instead of Info.
	LoadBalanced bool `json:"load_balanced,omitempty"`
	// DiskWarnPercent and DiskCriticalPercent are the data root's disk or
	// inode use, in percent, from which host.data_root warns (default 85)
	// and reports a Critical (default 95).
	DiskWarnPercent     float64 `json:"disk_warn_percent,omitempty"`
	DiskCriticalPercent float64 `json:"disk_critical_percent,omitempty"`
	// Engine, when set, tells the checks what the local Docker Engine
	// knows: its data root and its bridge networks. Nil means the data
	// root is /var/lib/docker and the bridge networks are unknown. It is
	// called once per run of host.data_root and host.ip_forward.
	Engine func(ctx context.Context) (EngineFacts, error) `json:"-"`
	// Statfs returns the use of the file system holding path (a path
	// under Root); nil means statfs(2). A test seam.
	Statfs func(path string) (FSUsage, error) `json:"-"`
	// ClockSynced reports whether the kernel considers its clock
	// synchronised. Nil means adjtimex(2) when Root is "/" and "cannot
	// tell" otherwise. A test seam.
	ClockSynced func() (bool, error) `json:"-"`
}

// EngineFacts are what the host checks need to know about the engine on
// the host.
type EngineFacts struct {
	// DataRoot is the engine's data directory (docker info's Docker Root
	// Dir); "" means /var/lib/docker.
	DataRoot string `json:"data_root,omitempty"`
	// BridgeNetworks names the engine's networks that use the bridge
	// driver (whose containers reach the outside through the host's IP
	// forwarding).
	BridgeNetworks []string `json:"bridge_networks,omitempty"`
}

// FSUsage is the use of one file system, in bytes and inodes.
type FSUsage struct {
	// Used and Avail are the bytes in use and available to unprivileged
	// users (as df counts them: blocks reserved for root are in neither).
	Used  uint64 `json:"used"`
	Avail uint64 `json:"avail"`
	// Size is the file system's size, reserved blocks included.
	Size uint64 `json:"size"`
	// Inodes and InodesFree count inodes; Inodes is 0 on file systems
	// without a fixed inode table (btrfs), whose inode use is not judged.
	Inodes     uint64 `json:"inodes"`
	InodesFree uint64 `json:"inodes_free"`
}

// UsedPercent is the share of the space in use as df reports it:
// Used/(Used+Avail), in percent; 0 for an empty file system.
func (u FSUsage) UsedPercent() float64 {
	if u.Used+u.Avail == 0 {
		return 0
	}
	return 100 * float64(u.Used) / float64(u.Used+u.Avail)
}

// InodesUsedPercent is the share of the inodes in use, in percent; 0
// when the file system has no inode count.
func (u FSUsage) InodesUsedPercent() float64 {
	if u.Inodes == 0 || u.InodesFree > u.Inodes {
		return 0
	}
	return 100 * float64(u.Inodes-u.InodesFree) / float64(u.Inodes)
}

// Checks returns the host checks, in the order of the package
// documentation. They read the host when they run, not here.
func Checks(o Options) []diag.Check {
	h := &hostChecks{o: o}
	if h.o.Root == "" {
		h.o.Root = DefaultRoot
	}
	if h.o.DiskWarnPercent <= 0 {
		h.o.DiskWarnPercent = DefaultDiskWarnPercent
	}
	if h.o.DiskCriticalPercent <= 0 {
		h.o.DiskCriticalPercent = DefaultDiskCriticalPercent
	}
	return []diag.Check{
		diag.NewCheck(diag.CheckInfo{ID: CheckRPFilter, Title: "Reverse-path filter off for load balancers", Subject: diag.SubjectHost, Reference: "D10"}, h.rpFilter),
		diag.NewCheck(diag.CheckInfo{ID: CheckARPAnnounce, Title: "ARP announce set for same-subnet traffic", Subject: diag.SubjectHost, Reference: "D11"}, h.arpAnnounce),
		diag.NewCheck(diag.CheckInfo{ID: CheckIPForward, Title: "IP forwarding on for container networks", Subject: diag.SubjectHost}, h.ipForward),
		diag.NewCheck(diag.CheckInfo{ID: CheckDataRoot, Title: "Docker data root has room", Subject: diag.SubjectHost, Reference: "D21"}, h.dataRoot),
		diag.NewCheck(diag.CheckInfo{ID: CheckClock, Title: "Clock synchronised", Subject: diag.SubjectHost, Reference: "D30"}, h.clock),
		diag.NewCheck(diag.CheckInfo{ID: CheckKernel, Title: "Kernel can remove containers", Subject: diag.SubjectHost, Reference: "D29"}, h.kernel),
	}
}

type hostChecks struct {
	o Options
}

// path returns the host path p (absolute) under Root.
func (h *hostChecks) path(p string) string {
	return filepath.Join(h.o.Root, filepath.FromSlash(p))
}

func (h *hostChecks) subject() diag.Subject {
	name := h.o.Name
	if name == "" {
		if b, err := os.ReadFile(h.path("/proc/sys/kernel/hostname")); err == nil {
			name = strings.TrimSpace(string(b))
		}
	}
	return diag.Subject{Kind: diag.SubjectHost, Name: name}
}

// readInt reads a sysctl-style file holding one integer.
func (h *hostChecks) readInt(p string) (int, error) {
	b, err := os.ReadFile(h.path(p))
	if err != nil {
		return 0, hostErr(p, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not an integer", p, strings.TrimSpace(string(b)))
	}
	return n, nil
}

// hostErr says which host file could not be read and why.
func hostErr(p string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("cannot read %s on this host: %w", p, err)
}

func (h *hostChecks) engine(ctx context.Context) (EngineFacts, error) {
	if h.o.Engine == nil {
		return EngineFacts{}, nil
	}
	return h.o.Engine(ctx)
}
