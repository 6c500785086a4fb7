// Package cgroupfs reads Docker containers' resource counters straight from
// the cgroup file system and /proc, without the engine's stats API.
//
// It is the fast path of minato's Docker monitor when minato runs on the
// engine's host with read access to /sys/fs/cgroup and /proc: a full sample
// (CPU, memory, block I/O, PIDs, network) costs a fraction of a millisecond
// and a few dozen system calls, where the engine's one-shot stats call
// takes about 1 s on Engines before 23.0.8/24.0.7/25.0 (it waits for the
// daemon's stats collector) and a few milliseconds of daemon CPU on newer
// ones. The API is still needed to list, inspect (for the PID) and watch
// containers. [Reader.Stats] fills the same [container.Stats] as the API
// mode, in the same units, so every formula (CPU %, memory used, rates)
// is shared between the two modes.
//
// # Where a container's cgroup is
//
// With the container's main PID (from inspect), the path comes from
// /proc/<pid>/cgroup, which is right for every driver, version, cgroup
// parent and rootless layout: "N:CONTROLLERS:PATH" lines for cgroup v1
// hierarchies, "0::PATH" for cgroup v2. The path must contain the
// container ID (else the PID was reused and the conventional paths are
// tried) and must not climb out of this program's cgroup namespace.
// Without a PID, or when the process is gone, the conventional paths are
// tried, in the order the driver suggests:
//
//	cgroup v1, cgroupfs driver: ROOT/<controller>/docker/<id>/
//	cgroup v1, systemd driver:  ROOT/<controller>/system.slice/docker-<id>.scope/
//	cgroup v2, systemd driver:  ROOT/system.slice/docker-<id>.scope/
//	cgroup v2, cgroupfs driver: ROOT/docker/<id>/
//
// ROOT is normally /sys/fs/cgroup. A v1 controller's directory is
// ROOT/<controller> (usually a directory or a link to a joint mount such as
// ROOT/cpu,cpuacct; the joint directory is found when the link is absent).
// [Detect] tells v2 (ROOT/cgroup.controllers exists) from v1, which
// includes the hybrid layout with v2 only at ROOT/unified.
//
// # What is read from where
//
//	Field                    cgroup v1                                 cgroup v2
//	CPU.TotalUsage           cpuacct.usage                             cpu.stat usage_usec × 1000
//	CPU.PerCPU               cpuacct.usage_percpu, cut to OnlineCPUs   nil
//	CPU.User, Kernel         cpuacct.stat user/system × 1e9/100        cpu.stat user_usec/system_usec × 1000
//	CPU.Periods etc.         cpu.stat nr_periods/nr_throttled/         cpu.stat nr_periods/nr_throttled/
//	                         throttled_time                            throttled_usec × 1000
//	Memory.Usage             memory.usage_in_bytes                     memory.current (includes page cache)
//	Memory.MaxUsage          memory.max_usage_in_bytes                 0 (as the API)
//	Memory.Limit             memory.limit_in_bytes                     memory.max
//	Memory.Failcnt           memory.failcnt                            memory.events oom
//	Memory.Stats             every key of memory.stat                  every key of memory.stat
//	BlkIO                    blkio.io_service_bytes_recursive (when    io.stat rbytes/wbytes as ops
//	                         CFQ files exist) + blkio.throttle.         "read"/"write"
//	                         io_service_bytes, ops as written
//	                         ("Read", "Write", ..., "Total")
//	PIDs.Current, Limit      pids.current, pids.max ("max" → 0)        the same
//	CPU.System, OnlineCPUs   /proc/stat (both versions)
//	Networks                 /proc/<pid>/net/dev (both versions)
//
// These follow what the engine reports. Memory limits above the host's
// MemTotal (/proc/meminfo, read once by [New]), which includes v1's "no
// limit" 9223372036854771712 and v2's "max", are reported as MemTotal.
// CPU.System is the engine's system_cpu_usage: the first seven numbers of
// /proc/stat's "cpu" line (steal and guest left out) in USER_HZ ticks ×
// 1e9/100; OnlineCPUs counts /proc/stat's "cpuN" lines (falling back to
// /sys/devices/system/cpu/online, then runtime.NumCPU). Networks has every
// interface but lo of the process's network namespace, keyed by name; it
// is nil without a PID and for a container sharing this program's network
// namespace (--network=host), for which the engine reports none either.
// Memory.Stats may hold more keys than the API's (such as v1 "swap" and
// "shmem"); every key the API reports is there. Read is the time just
// before the CPU counters are read; use two samples' Read for the
// wall-clock CPU % formula.
//
// A missing optional file leaves its fields zero. A missing cgroup
// directory (the container is not running) is an error wrapping
// [io/fs.ErrNotExist] that names the container's short ID and the paths
// tried; an unreadable or malformed file is an error naming the file.
package cgroupfs
