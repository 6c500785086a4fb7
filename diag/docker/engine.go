package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/diag"
	"github.com/minato-ops/minato/diag/host"
)

// MinAPIVersion is the oldest Engine API version minato's Docker client
// speaks (Docker 1.12).
const MinAPIVersion = "1.24"

const refDockerd = "Docker documentation: dockerd (daemon configuration)"

// reachable: an engine that does not answer is the finding of this check;
// the other checks then fail with errors.
func (e *checker) reachable(ctx context.Context) ([]diag.Finding, error) {
	p, err := e.c.Ping(ctx)
	if err != nil {
		return []diag.Finding{e.unreachable(err)}, nil
	}
	if p.APIVersion != "" && apiLess(p.APIVersion, MinAPIVersion) {
		return []diag.Finding{{
			Code: CodeAPITooOld, Severity: diag.Critical, Subject: e.engineSubject(),
			Title:     fmt.Sprintf("The engine is too old for minato (API %s, minato needs %s)", p.APIVersion, MinAPIVersion),
			Detail:    "The engine's API is older than the oldest one minato's Docker client speaks, so most calls fail.",
			Remedy:    "Upgrade the Docker Engine (Docker 1.12 or later speaks API 1.24; a supported release is better)",
			Evidence:  []string{"API version " + p.APIVersion},
			Reference: "Docker documentation: Engine API version history",
		}}, nil
	}
	if _, err := e.c.Version(ctx); err != nil {
		if errors.Is(err, container.ErrUnreachable) {
			return []diag.Finding{e.unreachable(err)}, nil
		}
		return nil, err
	}
	return nil, nil
}

// unreachable turns a connection error into the finding, with the hint
// that fits the error.
func (e *checker) unreachable(err error) diag.Finding {
	msg := err.Error()
	ev := []string{msg}
	all := msg
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		all += "\n" + u.Error()
		if errors.Unwrap(u) == nil && !strings.Contains(msg, u.Error()) {
			ev = append(ev, "cause: "+u.Error())
		}
	}
	low := strings.ToLower(all)
	var remedy string
	switch {
	case strings.Contains(low, "permission denied"):
		remedy = "This user may not use the engine's socket: run as root, or add the user to the docker group (`usermod -aG docker USER`, then log in again; membership is root-equivalent)"
	case strings.Contains(low, "x509") || strings.Contains(low, "tls") || strings.Contains(low, "certificate"):
		remedy = "The TLS handshake failed: check DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem for this engine) and DOCKER_TLS_VERIFY, and that the engine's certificate names the host in DOCKER_HOST"
	case strings.Contains(low, "no such host") || strings.Contains(low, "timeout") || strings.Contains(low, "deadline") || strings.Contains(low, "no route"):
		remedy = "Check DOCKER_HOST (" + e.c.Host() + ") and the network path to it: name resolution, firewall, the port the daemon listens on"
	case strings.Contains(low, "no such file") || strings.Contains(low, "connection refused") || strings.Contains(low, "is the docker daemon running"):
		remedy = "The daemon does not listen there: check it with `systemctl status docker` and `journalctl -u docker`, start it with `systemctl start docker`, or point DOCKER_HOST at the right engine"
	default:
		remedy = "Check that the daemon runs (`systemctl status docker`), that DOCKER_HOST (" + e.c.Host() + ") points at it, and that this user may use its socket"
	}
	return diag.Finding{
		Code: CodeUnreachable, Severity: diag.Critical, Subject: e.engineSubject(),
		Title:     "Docker engine unreachable at " + e.c.Host(),
		Detail:    "minato cannot talk to the engine, so no container can be listed, checked or operated, and the other engine checks cannot answer.",
		Remedy:    remedy,
		Evidence:  ev,
		Reference: "Docker documentation: troubleshooting the Docker daemon",
	}
}

// apiLess compares "1.41"-style versions.
func apiLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// warningRule explains one of the engine's /info warnings.
type warningRule struct {
	match    func(low string) bool
	severity diag.Severity
	detail   string
	remedy   string
}

func contains(s string) func(string) bool {
	return func(low string) bool { return strings.Contains(low, s) }
}

// warningRules are the engine's warnings the Docker documentation
// explains, most specific first. Warnings about the storage driver are
// left to engine.storage.
var warningRules = []warningRule{
	{contains("api is accessible on"), diag.Critical,
		"The engine's API listens on a TCP address without TLS: whoever reaches that address controls the engine, which is root on the host.",
		"Remove the tcp:// host from the daemon's -H options or daemon.json \"hosts\", or protect it with TLS (--tlsverify with CA, certificate and key), then restart the daemon"},
	{contains("no swap limit support"), diag.Info,
		"The kernel does not account swap per cgroup: --memory-swap is ignored, and a container can use swap beyond its memory limit.",
		"Enable swap accounting: add `cgroup_enable=memory swapaccount=1` to GRUB_CMDLINE_LINUX in /etc/default/grub, run `update-grub`, and reboot"},
	{contains("no memory limit support"), diag.Warning,
		"The kernel's memory cgroup is not available: memory limits (--memory) are ignored, so no container is held to its limit.",
		"Enable the memory cgroup: add `cgroup_enable=memory` to the kernel command line (GRUB_CMDLINE_LINUX), run `update-grub`, and reboot"},
	{contains("oom kill disable"), diag.Info,
		"The kernel cannot exempt containers from the OOM killer: --oom-kill-disable is ignored.",
		"Nothing to do unless you rely on --oom-kill-disable; a newer kernel with cgroup v1 memory control supports it"},
	{contains("kernel memory"), diag.Info,
		"The kernel does not support kernel-memory limits: --kernel-memory is ignored (it is deprecated anyway).",
		"Do not use --kernel-memory; nothing else to do"},
	{func(l string) bool { return strings.Contains(l, "cpu cfs") || strings.Contains(l, "cpu shares") }, diag.Warning,
		"The kernel's CPU cgroup controller lacks this feature: CPU limits (--cpus, --cpu-quota, --cpu-shares) are ignored.",
		"Boot a kernel with CONFIG_CFS_BANDWIDTH and the cpu cgroup controller enabled"},
	{func(l string) bool {
		return strings.Contains(l, "blkio") || strings.Contains(l, "io.weight") || strings.Contains(l, "io.max") || strings.Contains(l, "cpuset") || strings.Contains(l, "pids limit")
	}, diag.Info,
		"The kernel lacks this cgroup feature: the matching docker run option is ignored.",
		"Nothing to do unless containers use that option; otherwise enable the cgroup controller in the kernel"},
	{contains("bridge-nf-call"), diag.Warning,
		"Bridged traffic bypasses iptables: traffic between containers of one bridge network is not filtered (--icc=false and the filtering of published ports do not hold).",
		"Load the module and turn the setting on: `modprobe br_netfilter`; `sysctl -w net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1`; make both permanent in /etc/modules-load.d and /etc/sysctl.d"},
	{contains("ipv4 forwarding is disabled"), diag.Critical,
		"The host does not forward packets: containers on bridge networks have no outside network.",
		"Run `sysctl -w net.ipv4.ip_forward=1` and keep it with `net.ipv4.ip_forward = 1` in /etc/sysctl.conf"},
	{contains("rootless-mode without cgroups"), diag.Warning,
		"The rootless engine cannot use cgroups: resource limits (--memory, --cpus) are ignored.",
		"Boot the host in cgroup v2 mode (systemd.unified_cgroup_hierarchy=1) and delegate the controllers to the user, as the Docker rootless documentation describes"},
	{contains("cgroup v1 is deprecated"), diag.Info,
		"The host runs cgroup v1, which Docker will stop supporting.",
		"Plan to boot the host in cgroup v2 mode (systemd.unified_cgroup_hierarchy=1)"},
}

// storageWarning says a warning is about the storage driver.
func storageWarning(low string) bool {
	return strings.Contains(low, "storage-driver") || strings.Contains(low, "devicemapper") || strings.Contains(low, "d_type") ||
		strings.HasPrefix(low, "overlay:") || strings.HasPrefix(low, "aufs")
}

// warnings reports each of the engine's /info warnings.
func (e *checker) warnings(ctx context.Context) ([]diag.Finding, error) {
	info, err := e.c.SystemInfo(ctx)
	if err != nil {
		return nil, err
	}
	var out []diag.Finding
	for _, w := range info.Warnings {
		body := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(w), "WARNING:"))
		text := strings.Join(strings.Fields(body), " ")
		if text == "" {
			continue
		}
		low := strings.ToLower(text)
		if storageWarning(low) {
			continue
		}
		title, _, _ := strings.Cut(body, "\n")
		title = strings.TrimSpace(title)
		f := diag.Finding{
			Code: CodeEngineWarning, Severity: diag.Warning, Subject: e.engineSubject(),
			Title:     "Engine warning: " + strings.TrimSuffix(title, "."),
			Detail:    "The engine reports this warning in docker info.",
			Remedy:    "See the Docker documentation for this warning and fix the kernel or daemon setting it names; `docker info` shows it again",
			Evidence:  []string{text},
			Reference: "Docker documentation: docker info",
		}
		for _, r := range warningRules {
			if r.match(low) {
				f.Severity, f.Detail, f.Remedy = r.severity, r.detail, r.remedy
				break
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// storage judges the storage driver as the Docker documentation does.
func (e *checker) storage(ctx context.Context) ([]diag.Finding, error) {
	info, err := e.c.SystemInfo(ctx)
	if err != nil {
		return nil, err
	}
	status := map[string]string{}
	var ev []string
	for _, kv := range info.DriverStatus {
		status[kv[0]] = kv[1]
		ev = append(ev, kv[0]+": "+kv[1])
	}
	ev = append([]string{"storage driver: " + info.Driver}, ev...)
	f := diag.Finding{
		Code: CodeStorageDriver, Severity: diag.Warning, Subject: e.engineSubject(), Evidence: ev,
		Reference: "Docker documentation: storage drivers",
	}
	const switchDriver = "Switch to overlay2 (daemon.json \"storage-driver\": \"overlay2\", then restart the daemon); images and containers of the old driver are not visible afterwards, so push or save the images and recreate the containers"
	switch info.Driver {
	case "devicemapper":
		f.Title = "Storage driver devicemapper is deprecated"
		f.Detail = "devicemapper was deprecated in Docker 18.09 and removed in Docker 25: the engine cannot be upgraded without changing driver."
		f.Remedy = switchDriver
		if _, loop := status["Data loop file"]; loop {
			f.Title = "Storage driver devicemapper in loop-lvm mode: for testing only"
			f.Detail = "loop-lvm keeps image and container data in sparse loopback files: it is slow, can lose data when the files fill up, and the Docker documentation calls it appropriate for testing only. devicemapper itself is deprecated."
		}
	case "aufs", "overlay":
		f.Title = "Storage driver " + info.Driver + " is deprecated"
		f.Detail = info.Driver + " was deprecated in favour of overlay2 and removed in Docker 24: the engine cannot be upgraded without changing driver."
		f.Remedy = switchDriver
	case "vfs":
		f.Title = "Storage driver vfs: no copy-on-write"
		f.Detail = "vfs copies every layer in full: it is slow and takes far more disk than overlay2; the Docker documentation meant it for testing."
		f.Remedy = switchDriver
	default:
		f.Title = ""
	}
	var out []diag.Finding
	if f.Title != "" {
		out = append(out, f)
	}
	if strings.EqualFold(status["Supports d_type"], "false") {
		out = append(out, diag.Finding{
			Code: CodeStorageDriver, Severity: diag.Critical, Subject: e.engineSubject(), Evidence: ev,
			Title:     "The data root's file system lacks d_type: overlay storage misbehaves",
			Detail:    "overlay and overlay2 need d_type from the backing file system; without it file operations in containers go wrong (the Docker documentation: xfs must be formatted with ftype=1).",
			Remedy:    "Move the data root to a file system with d_type (xfs formatted with `mkfs.xfs -n ftype=1`, or ext4), then restart the daemon",
			Reference: "Docker documentation: OverlayFS storage driver",
		})
	}
	return out, nil
}

// cgroup: with systemd as init, the Docker documentation recommends the
// systemd cgroup driver, so that one manager owns the cgroup tree. It can
// only be told for a local engine, whose host's init is visible.
func (e *checker) cgroup(ctx context.Context) ([]diag.Finding, error) {
	info, err := e.c.SystemInfo(ctx)
	if err != nil {
		return nil, err
	}
	if info.CgroupDriver != "cgroupfs" || !e.c.Local() {
		return nil, nil
	}
	root := host.DefaultRoot
	if e.o.Host != nil && e.o.Host.Root != "" {
		root = e.o.Host.Root
	}
	if fi, err := os.Stat(filepath.Join(root, "run/systemd/system")); err != nil || !fi.IsDir() {
		return nil, nil // not booted with systemd, or cannot tell
	}
	return []diag.Finding{{
		Code: CodeCgroupDriver, Severity: diag.Info, Subject: e.engineSubject(),
		Title: "The engine uses the cgroupfs cgroup driver on a systemd host",
		Detail: "systemd and the engine then both manage cgroups; the Docker documentation recommends the systemd driver on systemd hosts " +
			"(and Kubernetes requires one driver for the kubelet and the runtime), as two managers can disagree under resource pressure.",
		Remedy:    "Set \"exec-opts\": [\"native.cgroupdriver=systemd\"] in /etc/docker/daemon.json and restart the daemon (running containers restart with it)",
		Evidence:  []string{"cgroup driver: cgroupfs", "cgroup version: " + info.CgroupVersion, "init: systemd"},
		Reference: refDockerd,
	}}, nil
}

// clock is D30 seen from the engine: its /info SystemTime against this
// machine's clock, the request's round trip accounted for.
func (e *checker) clock(ctx context.Context) ([]diag.Finding, error) {
	info, err := e.c.SystemInfo(ctx)
	if err != nil {
		return nil, err
	}
	if info.SystemTime.IsZero() {
		return nil, errors.New("the engine does not report its time (docker info has no SystemTime)")
	}
	rtt := info.Received.Sub(info.Sent)
	local := e.o.Now().Add(-rtt / 2) // this machine's clock halfway through the request
	skew := info.SystemTime.Sub(local)
	beyond := skew.Abs() - rtt/2
	if beyond <= e.o.ClockWarn {
		return nil, nil
	}
	f := diag.Finding{
		Code: "D30", Severity: diag.Warning, Subject: e.engineSubject(),
		Title: fmt.Sprintf("The engine's clock differs from this machine's by %s", roundDuration(skew.Abs())),
		Detail: "Containers take their time from their engine's host. Clocks that disagree make log and job timestamps " +
			"disagree between hosts and, once far apart, break TLS certificate checks and signed cloud API requests.",
		Remedy: "Synchronise both hosts with NTP (chrony, ntpd or systemd-timesyncd); nothing needs configuring inside containers",
		Evidence: []string{
			"engine time " + info.SystemTime.Format(time.RFC3339Nano),
			"local time " + local.Format(time.RFC3339Nano),
			fmt.Sprintf("difference %+.3f s (request round trip %s)", skew.Seconds(), roundDuration(rtt)),
		},
		Reference: "Container Service FAQ §2.18 (NTP in containers)",
	}
	if beyond > e.o.ClockCritical {
		f.Severity = diag.Critical
	}
	return []diag.Finding{f}, nil
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d
}
