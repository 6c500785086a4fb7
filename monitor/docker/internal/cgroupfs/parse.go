package cgroupfs

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/minato-ops/minato/container"
)

// The parsers below take a file's content and never touch the file system,
// so they are table-tested and fuzzed on their own.

// ticksToNS converts USER_HZ clock ticks to nanoseconds. Like the engine
// (and containerd), minato takes USER_HZ as 100: it is 100 on every Linux
// architecture the engine supports.
const ticksToNS = 1e9 / 100

// errMalformed is wrapped by every parser error.
var errMalformed = errors.New("malformed")

// parseUint parses a single-value file such as cpuacct.usage or
// memory.current: one unsigned decimal number, surrounded by optional
// white space.
func parseUint(b []byte) (uint64, error) {
	s := strings.TrimSpace(string(b))
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w value %q", errMalformed, clip(s))
	}
	return v, nil
}

// parseMax parses a single-value file that may say "max" (cgroup v2
// memory.max, pids.max; cgroup v1 pids.max). unlimited reports "max".
func parseMax(b []byte) (v uint64, unlimited bool, err error) {
	if strings.TrimSpace(string(b)) == "max" {
		return 0, true, nil
	}
	v, err = parseUint(b)
	return v, false, err
}

// parseUints parses a space-separated list of unsigned numbers on one line,
// as in cpuacct.usage_percpu.
func parseUints(b []byte) ([]uint64, error) {
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return nil, nil
	}
	out := make([]uint64, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w value %q", errMalformed, clip(f))
		}
		out[i] = v
	}
	return out, nil
}

// parseFlatKeyed parses a flat-keyed file: one "KEY VALUE" pair per line
// (memory.stat, cpu.stat, cpuacct.stat, memory.events). Blank lines are
// skipped; any other line that is not a key and an unsigned number is an
// error.
func parseFlatKeyed(b []byte) (map[string]uint64, error) {
	m := make(map[string]uint64, bytes.Count(b, []byte{'\n'})+1)
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			if strings.TrimSpace(line) == "" {
				continue
			}
			return nil, fmt.Errorf("%w line %q", errMalformed, clip(line))
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil || k == "" {
			return nil, fmt.Errorf("%w line %q", errMalformed, clip(line))
		}
		m[k] = n
	}
	return m, nil
}

// parseBlkioV1 parses a cgroup v1 blkio file such as
// blkio.throttle.io_service_bytes: lines "MAJ:MIN Op VALUE", with the op
// names as the kernel writes them ("Read", "Write", "Sync", "Async",
// "Discard", "Total"), which is also what the engine reports. Lines of
// another shape (the trailing "Total N") are skipped, as the engine skips
// them.
func parseBlkioV1(b []byte) ([]container.BlkIOEntry, error) {
	var out []container.BlkIOEntry
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		maj, min, err := parseDevice(f[0])
		if err != nil {
			return nil, err
		}
		v, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w line %q", errMalformed, clip(line))
		}
		out = append(out, container.BlkIOEntry{Major: maj, Minor: min, Op: f[1], Value: v})
	}
	return out, nil
}

// parseIOStatV2 parses cgroup v2 io.stat: lines "MAJ:MIN rbytes=N wbytes=N
// rios=N ...". Like the engine, it reports two entries per device, Op
// "read" (rbytes) and Op "write" (wbytes); other keys are ignored.
func parseIOStatV2(b []byte) ([]container.BlkIOEntry, error) {
	var out []container.BlkIOEntry
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		maj, min, err := parseDevice(f[0])
		if err != nil {
			return nil, err
		}
		var rd, wr uint64
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("%w line %q", errMalformed, clip(line))
			}
			if k != "rbytes" && k != "wbytes" {
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%w line %q", errMalformed, clip(line))
			}
			if k == "rbytes" {
				rd = n
			} else {
				wr = n
			}
		}
		out = append(out,
			container.BlkIOEntry{Major: maj, Minor: min, Op: "read", Value: rd},
			container.BlkIOEntry{Major: maj, Minor: min, Op: "write", Value: wr})
	}
	return out, nil
}

func parseDevice(s string) (maj, min uint64, err error) {
	a, b, ok := strings.Cut(s, ":")
	if ok {
		maj, err = strconv.ParseUint(a, 10, 64)
		if err == nil {
			min, err = strconv.ParseUint(b, 10, 64)
		}
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("%w device %q", errMalformed, clip(s))
	}
	return maj, min, nil
}

// parseNetDev parses /proc/<pid>/net/dev. The two header lines (and any
// other line without a colon) are skipped. The interface name is what
// precedes the last colon, trimmed; the kernel pads it on the left and may
// put the first counter right after the colon ("eth0:1234 ..."). Each data
// line must carry the 16 counters (8 receive, 8 transmit); "lo" is left
// out. The result is nil when no interface other than lo is listed.
func parseNetDev(b []byte) (map[string]container.NetworkStats, error) {
	var out map[string]container.NetworkStats
	for line := range strings.Lines(string(b)) {
		i := strings.LastIndexByte(line, ':')
		if i < 0 {
			continue
		}
		name := strings.TrimSpace(line[:i])
		f := strings.Fields(line[i+1:])
		if name == "" || len(f) < 16 {
			return nil, fmt.Errorf("%w line %q", errMalformed, clip(line))
		}
		var n [16]uint64
		for j := range n {
			v, err := strconv.ParseUint(f[j], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%w line %q", errMalformed, clip(line))
			}
			n[j] = v
		}
		if name == "lo" {
			continue
		}
		if out == nil {
			out = make(map[string]container.NetworkStats, 2)
		}
		// Receive: bytes packets errs drop fifo frame compressed multicast;
		// transmit: bytes packets errs drop fifo colls carrier compressed.
		out[name] = container.NetworkStats{
			RxBytes: n[0], RxPackets: n[1], RxErrors: n[2], RxDropped: n[3],
			TxBytes: n[8], TxPackets: n[9], TxErrors: n[10], TxDropped: n[11],
		}
	}
	return out, nil
}

// procStat is what minato takes from /proc/stat.
type procStat struct {
	// SystemNS is the host's CPU time in nanoseconds as the engine computes
	// system_cpu_usage: the sum of the first seven numbers of the "cpu"
	// line (user nice system idle iowait irq softirq; steal and guest are
	// left out) in USER_HZ ticks, times 1e9/100.
	SystemNS uint64
	// CPUs is the number of "cpuN" lines: the online CPUs, which is how
	// the engine counts online_cpus.
	CPUs uint32
}

// parseProcStat parses /proc/stat.
func parseProcStat(b []byte) (procStat, error) {
	var ps procStat
	seen := false
	for line := range strings.Lines(string(b)) {
		if !strings.HasPrefix(line, "cpu") {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] != "cpu" {
			if _, err := strconv.ParseUint(f[0][3:], 10, 32); err == nil {
				ps.CPUs++
			}
			continue
		}
		if len(f) < 8 {
			return procStat{}, fmt.Errorf("%w cpu line %q", errMalformed, clip(line))
		}
		var ticks uint64
		for _, s := range f[1:8] {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return procStat{}, fmt.Errorf("%w cpu line %q", errMalformed, clip(line))
			}
			ticks += v
		}
		ps.SystemNS = ticks * ticksToNS
		seen = true
	}
	if !seen {
		return procStat{}, fmt.Errorf("%w: no cpu line", errMalformed)
	}
	return ps, nil
}

// parseMemTotal returns MemTotal from /proc/meminfo, in bytes.
func parseMemTotal(b []byte) (uint64, error) {
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil || v > math.MaxUint64/1024 {
			break
		}
		if len(f) > 1 && f[1] == "kB" {
			v *= 1024
		}
		return v, nil
	}
	return 0, fmt.Errorf("%w: no MemTotal line", errMalformed)
}

// parseCPUList counts the CPUs in a kernel CPU list such as
// /sys/devices/system/cpu/online ("0-3,6,8-9" → 7).
func parseCPUList(b []byte) (uint32, error) {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return 0, nil
	}
	var n uint64
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("%w cpu list %q", errMalformed, clip(s))
		}
		z := a
		if isRange {
			if z, err = strconv.ParseUint(hi, 10, 32); err != nil || z < a {
				return 0, fmt.Errorf("%w cpu list %q", errMalformed, clip(s))
			}
		}
		n += z - a + 1
		if n > math.MaxUint32 {
			return 0, fmt.Errorf("%w cpu list %q", errMalformed, clip(s))
		}
	}
	return uint32(n), nil
}

// procCgroup is a parsed /proc/<pid>/cgroup.
type procCgroup struct {
	// V1 maps each cgroup v1 controller ("memory", "cpuacct", and named
	// hierarchies as "name=systemd") to the process's cgroup path.
	V1 map[string]string
	// Unified is the cgroup v2 path (the "0::PATH" line); HasUnified says
	// whether that line was present.
	Unified    string
	HasUnified bool
}

// parseProcCgroup parses /proc/<pid>/cgroup: lines "ID:CONTROLLERS:PATH",
// where CONTROLLERS is a comma-separated list for a cgroup v1 hierarchy
// and empty for the v2 one. PATH may itself contain colons.
func parseProcCgroup(b []byte) (procCgroup, error) {
	var pc procCgroup
	for line := range strings.Lines(string(b)) {
		line = strings.TrimRight(line, "\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			return procCgroup{}, fmt.Errorf("%w line %q", errMalformed, clip(line))
		}
		if parts[1] == "" {
			if parts[0] == "0" {
				pc.Unified, pc.HasUnified = parts[2], true
			}
			continue
		}
		if pc.V1 == nil {
			pc.V1 = make(map[string]string, 16)
		}
		for c := range strings.SplitSeq(parts[1], ",") {
			if c != "" {
				pc.V1[c] = parts[2]
			}
		}
	}
	return pc, nil
}

// cleanCgroupPath reports whether p is a usable cgroup path for joining
// under a mount point: absolute, already clean, and not climbing out of
// the caller's cgroup namespace ("/../.." paths appear when the process is
// outside it).
func cleanCgroupPath(p string) bool {
	return strings.HasPrefix(p, "/") && path.Clean(p) == p && !strings.Contains(p, "..")
}

// clip shortens s for an error message.
func clip(s string) string {
	s = strings.TrimRight(s, "\n")
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
