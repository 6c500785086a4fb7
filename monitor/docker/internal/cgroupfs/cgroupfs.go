package cgroupfs

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minato-ops/minato/container"
)

// Cgroup drivers and versions, as [container.InfoResult] reports them.
const (
	DriverCgroupfs = "cgroupfs"
	DriverSystemd  = "systemd"
	Version1       = "1"
	Version2       = "2"
)

// errNoDev is what reading a file of a cgroup being removed may return;
// it is treated like a missing file.
var errNoDev error = syscall.ENODEV

// v1Controllers are the cgroup v1 controllers Stats reads.
var v1Controllers = []string{"cpuacct", "cpu", "memory", "blkio", "pids"}

// Reader reads containers' resource counters straight from the cgroup file
// system and /proc, without asking the engine. It holds no per-container
// state; a Reader is safe for concurrent use.
type Reader struct {
	root, procRoot, sysRoot string
	driver                  string
	v2                      bool
	// mounts maps a v1 controller to its hierarchy's directory under
	// root: "cpuacct" normally, "cpu,cpuacct" where only the joint
	// mount exists.
	mounts map[string]string
	// netns is this program's network namespace (the target of
	// procRoot/self/ns/net), empty when unknown.
	netns string
	// memTotal is the host's MemTotal in bytes, the value an unlimited
	// memory limit is reported as (as the engine does).
	memTotal uint64

	// The last read of /proc/stat, shared for hostTTL.
	hostMu     sync.Mutex
	hostAt     time.Time
	hostSystem uint64
	hostCPUs   uint32
}

// New returns a Reader for the cgroup file system mounted at root (normally
// "/sys/fs/cgroup") and the proc file system at procRoot (normally
// "/proc"). driver is the engine's cgroup driver, "cgroupfs" or "systemd"
// (empty: try the cgroupfs layout first); version is "1" or "2" (empty:
// [Detect] it). Both come from the engine's Info. The driver only orders
// the conventional paths tried when a container's process does not say
// where its cgroup is.
func New(root, procRoot, driver, version string) (*Reader, error) {
	switch driver {
	case "", DriverCgroupfs, DriverSystemd:
	default:
		return nil, fmt.Errorf("cgroupfs: unknown cgroup driver %q (want %q or %q)", driver, DriverCgroupfs, DriverSystemd)
	}
	if version == "" {
		v, err := Detect(root)
		if err != nil {
			return nil, err
		}
		version = v
	}
	r := &Reader{root: root, procRoot: procRoot, sysRoot: filepath.Dir(filepath.Dir(root)), driver: driver}
	switch version {
	case Version1:
		r.mounts = v1Mounts(root)
	case Version2:
		r.v2 = true
	default:
		return nil, fmt.Errorf("cgroupfs: unknown cgroup version %q (want %q or %q)", version, Version1, Version2)
	}
	r.netns, _ = os.Readlink(filepath.Join(procRoot, "self/ns/net"))
	b, err := os.ReadFile(filepath.Join(procRoot, "meminfo"))
	if err != nil {
		return nil, fmt.Errorf("cgroupfs: %w", err)
	}
	if r.memTotal, err = parseMemTotal(b); err != nil {
		return nil, fmt.Errorf("cgroupfs: %s: %w", filepath.Join(procRoot, "meminfo"), err)
	}
	return r, nil
}

// Version returns the cgroup version the Reader reads, "1" or "2".
func (r *Reader) Version() string {
	if r.v2 {
		return Version2
	}
	return Version1
}

// Detect reports the cgroup version mounted at root: "2" when
// root/cgroup.controllers exists (the unified hierarchy is mounted there),
// otherwise "1" (which includes the hybrid layout, where cgroup v2 is only
// mounted at root/unified and the engine uses v1).
func Detect(root string) (string, error) {
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		return Version2, nil
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", fmt.Errorf("cgroupfs: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("cgroupfs: %s is not a directory", root)
	}
	return Version1, nil
}

// Available reports whether the cgroup file system at root can be read for
// what Stats needs: on cgroup v2 the root's cgroup.controllers, on cgroup
// v1 the memory and cpuacct hierarchies' directories.
func Available(root string) bool {
	v, err := Detect(root)
	if err != nil {
		return false
	}
	if v == Version2 {
		_, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
		return err == nil
	}
	m := v1Mounts(root)
	for _, c := range []string{"memory", "cpuacct"} {
		if !readableDir(filepath.Join(root, m[c])) {
			return false
		}
	}
	return true
}

func readableDir(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return err == nil
}

// v1Mounts finds each v1 controller's hierarchy directory under root. The
// usual layout has a directory (or symbolic link) per controller; where a
// joint mount such as "cpu,cpuacct" has no links, the joint directory is
// used.
func v1Mounts(root string) map[string]string {
	m := make(map[string]string, len(v1Controllers))
	var entries []os.DirEntry
	for _, c := range v1Controllers {
		m[c] = c
		if _, err := os.Stat(filepath.Join(root, c)); err == nil {
			continue
		}
		if entries == nil {
			entries, _ = os.ReadDir(root)
		}
		for _, e := range entries {
			for part := range strings.SplitSeq(e.Name(), ",") {
				if part == c && e.Name() != c {
					m[c] = e.Name()
				}
			}
		}
	}
	return m
}

// dirs are a container's cgroup directories per controller; on cgroup v2
// they are all the same directory.
type dirs struct {
	cpuacct, cpu, memory, blkio, pids string
}

// resolve finds the container's cgroup directories: from the process's
// /proc/<pid>/cgroup when pid > 0 and that names a cgroup of this
// container, else from the conventional paths of the driver.
//
// owned reports whether /proc/<pid>/cgroup showed the process in this
// container's cgroup, which is when its network counters are the
// container's.
func (r *Reader) resolve(rd *reader, id string, pid int) (d dirs, owned bool, err error) {
	if pid > 0 {
		var usable bool
		if d, usable, owned = r.fromProc(rd, id, pid); usable {
			return d, owned, nil
		}
	}
	rels := []string{"/docker/" + id, "/system.slice/docker-" + id + ".scope"}
	if r.driver == DriverSystemd {
		rels[0], rels[1] = rels[1], rels[0]
	}
	tried := make([]string, 0, len(rels))
	for _, rel := range rels {
		d := r.dirsFor(func(string) string { return rel })
		if _, err := os.Stat(d.memory); err == nil {
			return d, owned, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return dirs{}, false, fmt.Errorf("cgroupfs: container %s: %w", short(id), err)
		}
		tried = append(tried, d.memory)
	}
	return dirs{}, false, fmt.Errorf("cgroupfs: container %s: no cgroup directory (tried %s): %w", short(id), strings.Join(tried, ", "), fs.ErrNotExist)
}

// fromProc resolves the directories from /proc/<pid>/cgroup. usable is
// false when the file is gone or unreadable, or when the paths do not
// belong to this container (the PID was reused: owned is then false too)
// or climb out of this program's cgroup namespace.
func (r *Reader) fromProc(rd *reader, id string, pid int) (d dirs, usable, owned bool) {
	b, err := readFile(filepath.Join(r.procRoot, strconv.Itoa(pid), "cgroup"), rd.buf)
	rd.buf = b
	if err != nil {
		return dirs{}, false, false
	}
	pc, err := parseProcCgroup(b)
	if err != nil {
		return dirs{}, false, false
	}
	ours := func(p string) bool { return strings.Contains(p, id) }
	ok := func(p string) bool { return ours(p) && cleanCgroupPath(p) }
	if r.v2 {
		if !pc.HasUnified || !ok(pc.Unified) {
			return dirs{}, false, pc.HasUnified && ours(pc.Unified)
		}
		return r.dirsFor(func(string) string { return pc.Unified }), true, true
	}
	mem, found := pc.V1["memory"]
	if !found || !ok(mem) {
		return dirs{}, false, found && ours(mem)
	}
	return r.dirsFor(func(c string) string {
		if p, found := pc.V1[c]; found && ok(p) {
			return p
		}
		return mem
	}), true, true
}

// dirsFor builds the directories from a function giving each controller's
// cgroup path.
func (r *Reader) dirsFor(rel func(controller string) string) dirs {
	if r.v2 {
		d := filepath.Join(r.root, rel(""))
		return dirs{d, d, d, d, d}
	}
	j := func(c string) string { return filepath.Join(r.root, r.mounts[c], rel(c)) }
	return dirs{cpuacct: j("cpuacct"), cpu: j("cpu"), memory: j("memory"), blkio: j("blkio"), pids: j("pids")}
}

// Stats reads one container's counters: id is the full container ID and
// pid its main process's PID on this host (from inspect; 0 when unknown).
// With pid > 0 the cgroup is located through /proc/<pid>/cgroup and the
// network counters are read from /proc/<pid>/net/dev; with pid 0, or when
// that process is gone or is not in the container's cgroup (its PID was
// reused), the conventional paths of the driver are tried and Networks is
// nil.
//
// The result has the same fields and units as the engine's one-shot sample
// ([container.Client.Stats]), so every formula works on both; Name and the
// Pre* fields are left empty. Missing optional files leave their fields
// zero. A container whose cgroup directory does not exist (it is not
// running) yields an error wrapping [fs.ErrNotExist].
func (r *Reader) Stats(id string, pid int) (container.Stats, error) {
	return r.StatsOf(id, pid, WantAll)
}

// Want selects what [Reader.StatsOf] reads, so a sweep that needs only CPU
// and memory does not open the blkio, pids and network files.
type Want uint8

// The parts of a sample StatsOf can read.
const (
	WantCPU Want = 1 << iota
	WantMemory
	WantBlkIO
	WantPIDs
	WantNetwork
	// WantHost fills CPU.System and CPU.OnlineCPUs from /proc/stat (the
	// docker stats formula's denominator). The file is read at most
	// once per 100 ms per Reader, so a sweep of many containers shares it.
	WantHost
	// RequirePID makes StatsOf fail with ErrStalePID when pid is given
	// but is not a process of the container (it exited, or the container
	// restarted with a new main process), instead of falling back to the
	// conventional paths. Callers that cache a container's PID use it to
	// learn when to look the PID up again.
	RequirePID
	// WantAll reads everything (RequirePID excluded).
	WantAll = WantCPU | WantMemory | WantBlkIO | WantPIDs | WantNetwork | WantHost
)

// ErrStalePID is returned by StatsOf with RequirePID when the PID no longer
// belongs to the container.
var ErrStalePID = errors.New("cgroupfs: the PID is no longer the container's")

// StatsOf is Stats reading only the parts in want. Unread parts are zero.
func (r *Reader) StatsOf(id string, pid int, want Want) (container.Stats, error) {
	if id == "" || strings.ContainsAny(id, "/\x00") || strings.Contains(id, "..") {
		return container.Stats{}, fmt.Errorf("cgroupfs: invalid container ID %q", id)
	}
	rd := reader{id: id, buf: make([]byte, 0, 4096)}
	if want&RequirePID != 0 && pid > 0 {
		if _, usable, _ := r.fromProc(&rd, id, pid); !usable {
			return container.Stats{}, fmt.Errorf("%w: container %s, PID %d", ErrStalePID, short(id), pid)
		}
	}
	d, owned, err := r.resolve(&rd, id, pid)
	if err != nil {
		return container.Stats{}, err
	}
	s := container.Stats{ID: id}
	if r.v2 {
		r.statsV2(&rd, d.memory, &s, want)
	} else {
		r.statsV1(&rd, d, &s, want)
	}
	if want&WantHost != 0 {
		r.host(&rd, &s)
	}
	if owned && want&WantNetwork != 0 {
		r.network(&rd, pid, &s)
	}
	if rd.err != nil {
		return container.Stats{}, rd.err
	}
	if rd.gone != "" {
		// A required file was missing: tell apart a removed cgroup
		// (the container stopped) from a controller that is not there.
		if _, err := os.Stat(rd.gone); errors.Is(err, fs.ErrNotExist) {
			return container.Stats{}, fmt.Errorf("cgroupfs: container %s: no cgroup directory %s: %w", short(id), rd.gone, fs.ErrNotExist)
		}
	}
	if n := int(s.CPU.OnlineCPUs); n > 0 && len(s.CPU.PerCPU) > n {
		s.CPU.PerCPU = s.CPU.PerCPU[:n]
	}
	return s, nil
}

func (r *Reader) statsV1(rd *reader, d dirs, s *container.Stats, want Want) {
	s.Read = time.Now()
	// cpuacct.usage is always read: it is the required file that tells a
	// removed cgroup from a missing optional file.
	s.CPU.TotalUsage = rd.uint(d.cpuacct, "cpuacct.usage", true)
	if want&WantCPU != 0 {
		s.CPU.PerCPU = rd.uints(d.cpuacct, "cpuacct.usage_percpu")
		if m := rd.flat(d.cpuacct, "cpuacct.stat"); m != nil {
			s.CPU.User = m["user"] * ticksToNS
			s.CPU.Kernel = m["system"] * ticksToNS
		}
		if m := rd.flat(d.cpu, "cpu.stat"); m != nil {
			s.CPU.Periods, s.CPU.ThrottledPeriods, s.CPU.ThrottledTime = m["nr_periods"], m["nr_throttled"], m["throttled_time"]
		}
	}
	if want&WantMemory != 0 {
		s.Memory.Usage = rd.uint(d.memory, "memory.usage_in_bytes", true)
		s.Memory.MaxUsage = rd.uint(d.memory, "memory.max_usage_in_bytes", false)
		s.Memory.Limit = r.clampMem(rd.uint(d.memory, "memory.limit_in_bytes", false))
		s.Memory.Failcnt = rd.uint(d.memory, "memory.failcnt", false)
		s.Memory.Stats = rd.flat(d.memory, "memory.stat")
	}
	if want&WantBlkIO == 0 {
		if want&WantPIDs != 0 {
			r.pids(rd, d.pids, s)
		}
		return
	}

	// As containerd's cgroup v1 reader does: the CFQ recursive counters
	// when the CFQ files exist, then the throttle counters (which every
	// kernel with blkio has), both into io_service_bytes_recursive.
	if rd.exists(d.blkio, "blkio.io_serviced_recursive") {
		s.BlkIO = rd.blkio(d.blkio, "blkio.io_service_bytes_recursive")
	}
	s.BlkIO = append(s.BlkIO, rd.blkio(d.blkio, "blkio.throttle.io_service_bytes")...)

	if want&WantPIDs != 0 {
		r.pids(rd, d.pids, s)
	}
}

func (r *Reader) statsV2(rd *reader, dir string, s *container.Stats, want Want) {
	s.Read = time.Now()
	// cpu.stat is always read: it is the required file that tells a
	// removed cgroup from a missing optional file.
	if m := rd.flat(dir, "cpu.stat"); m != nil {
		s.CPU.TotalUsage = m["usage_usec"] * 1000
		s.CPU.User = m["user_usec"] * 1000
		s.CPU.Kernel = m["system_usec"] * 1000
		s.CPU.Periods, s.CPU.ThrottledPeriods, s.CPU.ThrottledTime = m["nr_periods"], m["nr_throttled"], m["throttled_usec"]*1000
	} else if rd.err == nil {
		rd.gone = dir
	}
	if want&WantMemory != 0 {
		s.Memory.Usage = rd.uint(dir, "memory.current", false)
		if v, unlimited, ok := rd.max(dir, "memory.max"); ok {
			if unlimited {
				v = math.MaxUint64
			}
			s.Memory.Limit = r.clampMem(v)
		}
		if m := rd.flat(dir, "memory.events"); m != nil {
			s.Memory.Failcnt = m["oom"]
		}
		s.Memory.Stats = rd.flat(dir, "memory.stat")
	}
	if want&WantBlkIO != 0 {
		s.BlkIO = rd.ioStat(dir, "io.stat")
	}
	if want&WantPIDs != 0 {
		r.pids(rd, dir, s)
	}
}

func (r *Reader) pids(rd *reader, dir string, s *container.Stats) {
	s.PIDs.Current = rd.uint(dir, "pids.current", false)
	if v, unlimited, ok := rd.max(dir, "pids.max"); ok && !unlimited {
		s.PIDs.Limit = v
	}
}

// clampMem reports a limit above the host's memory as the host's memory,
// as the engine does (cgroup v1's "no limit" is 9223372036854771712, v2's
// is "max").
func (r *Reader) clampMem(v uint64) uint64 {
	if r.memTotal > 0 && v > r.memTotal {
		return r.memTotal
	}
	return v
}

// hostTTL is how long one read of /proc/stat serves: a sweep over many
// containers shares it (the engine reads it once per sample too).
const hostTTL = 100 * time.Millisecond

// host fills the host-wide CPU fields from /proc/stat.
func (r *Reader) host(rd *reader, s *container.Stats) {
	r.hostMu.Lock()
	fresh := time.Since(r.hostAt) < hostTTL
	system, cpus := r.hostSystem, r.hostCPUs
	r.hostMu.Unlock()
	if !fresh {
		b, ok := rd.read(r.procRoot, "stat")
		if ok {
			ps, err := parseProcStat(b)
			if err != nil {
				rd.fail(filepath.Join(r.procRoot, "stat"), err)
				return
			}
			system, cpus = ps.SystemNS, ps.CPUs
			r.hostMu.Lock()
			r.hostAt, r.hostSystem, r.hostCPUs = time.Now(), system, cpus
			r.hostMu.Unlock()
		}
	}
	s.CPU.System, s.CPU.OnlineCPUs = system, cpus
	if s.CPU.OnlineCPUs == 0 {
		if b, err := os.ReadFile(filepath.Join(r.sysRoot, "devices/system/cpu/online")); err == nil {
			s.CPU.OnlineCPUs, _ = parseCPUList(b)
		}
	}
	if s.CPU.OnlineCPUs == 0 {
		s.CPU.OnlineCPUs = uint32(runtime.NumCPU())
	}
}

// network fills Networks from /proc/<pid>/net/dev, unless the process
// shares this program's network namespace (a --network=host container,
// for which the engine reports no networks either).
func (r *Reader) network(rd *reader, pid int, s *container.Stats) {
	p := filepath.Join(r.procRoot, strconv.Itoa(pid))
	if r.netns != "" {
		if ns, err := os.Readlink(filepath.Join(p, "ns/net")); err == nil && ns == r.netns {
			return
		}
	}
	b, ok := rd.read(p, "net/dev")
	if !ok {
		return
	}
	n, err := parseNetDev(b)
	if err != nil {
		rd.fail(filepath.Join(p, "net/dev"), err)
		return
	}
	s.Networks = n
}

// reader reads one container's files, remembering the first error and
// treating missing files as absent values.
type reader struct {
	id  string
	buf []byte // reused by every read; parsers copy what they keep
	err error
	// gone is the directory of the first required file found missing.
	gone string
}

func (rd *reader) fail(path string, err error) {
	if rd.err == nil {
		rd.err = fmt.Errorf("cgroupfs: container %s: %s: %w", short(rd.id), path, err)
	}
}

// read returns the file's content; ok is false when it is missing or an
// error was recorded.
func (rd *reader) read(dir, name string) ([]byte, bool) {
	if rd.err != nil {
		return nil, false
	}
	b, err := readFile(filepath.Join(dir, name), rd.buf)
	rd.buf = b
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errNoDev) {
			rd.fail(filepath.Join(dir, name), err)
		}
		return nil, false
	}
	return b, true
}

func (rd *reader) exists(dir, name string) bool {
	_, err := os.Lstat(filepath.Join(dir, name))
	return err == nil
}

func (rd *reader) uint(dir, name string, required bool) uint64 {
	b, ok := rd.read(dir, name)
	if !ok {
		if required && rd.err == nil && rd.gone == "" {
			rd.gone = dir
		}
		return 0
	}
	v, err := parseUint(b)
	if err != nil {
		rd.fail(filepath.Join(dir, name), err)
	}
	return v
}

func (rd *reader) max(dir, name string) (v uint64, unlimited, ok bool) {
	b, ok := rd.read(dir, name)
	if !ok {
		return 0, false, false
	}
	v, unlimited, err := parseMax(b)
	if err != nil {
		rd.fail(filepath.Join(dir, name), err)
		return 0, false, false
	}
	return v, unlimited, true
}

func (rd *reader) uints(dir, name string) []uint64 {
	b, ok := rd.read(dir, name)
	if !ok {
		return nil
	}
	v, err := parseUints(b)
	if err != nil {
		rd.fail(filepath.Join(dir, name), err)
	}
	return v
}

func (rd *reader) flat(dir, name string) map[string]uint64 {
	b, ok := rd.read(dir, name)
	if !ok {
		return nil
	}
	m, err := parseFlatKeyed(b)
	if err != nil {
		rd.fail(filepath.Join(dir, name), err)
	}
	return m
}

func (rd *reader) blkio(dir, name string) []container.BlkIOEntry {
	b, ok := rd.read(dir, name)
	if !ok {
		return nil
	}
	e, err := parseBlkioV1(b)
	if err != nil {
		rd.fail(filepath.Join(dir, name), err)
	}
	return e
}

func (rd *reader) ioStat(dir, name string) []container.BlkIOEntry {
	b, ok := rd.read(dir, name)
	if !ok {
		return nil
	}
	e, err := parseIOStatV2(b)
	if err != nil {
		rd.fail(filepath.Join(dir, name), err)
	}
	return e
}

// short returns the 12-character short form of a container ID.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
