package docker

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/monitor"
)

// The formulas below are pure functions of two samples of the same
// container. They follow the Hinemos Docker monitoring scripts
// (docs/compatibility.md): rates use our own two samples and the
// wall-clock time between them, never the engine's precpu pair, so
// one-shot, streamed and direct samples all give the same numbers. A
// counter that went backwards means the container restarted: the result is
// an error wrapping monitor.ErrNoBaseline, never a negative or wild value.

// CPUPercent is the container CPU usage of the Hinemos Docker scripts:
// Δtotal_usage / Δread × 100, where read is the sample time. 100 means one
// core fully used; a container using two cores reads 200.
func CPUPercent(prev, cur container.Stats) (float64, error) {
	dt, err := interval(prev, cur)
	if err != nil {
		return 0, err
	}
	if cur.CPU.TotalUsage < prev.CPU.TotalUsage {
		return 0, fmt.Errorf("%w: CPU counter went backwards (restart)", monitor.ErrNoBaseline)
	}
	return float64(cur.CPU.TotalUsage-prev.CPU.TotalUsage) / float64(dt) * 100, nil
}

// CPUCorePercents is the per-core usage of the Hinemos Docker scripts:
// Δpercpu[i] / Δread × 100 for each online core. cgroup v2 has no per-core
// counters: the error then wraps monitor.ErrNotSupported.
func CPUCorePercents(prev, cur container.Stats) ([]float64, error) {
	if len(cur.CPU.PerCPU) == 0 {
		return nil, fmt.Errorf("%w: the engine reports no per-core CPU counters (cgroup v2)", monitor.ErrNotSupported)
	}
	dt, err := interval(prev, cur)
	if err != nil {
		return nil, err
	}
	n := len(cur.CPU.PerCPU)
	if on := int(cur.CPU.OnlineCPUs); on > 0 && on < n {
		n = on
	}
	if len(prev.CPU.PerCPU) < n {
		return nil, fmt.Errorf("%w: the number of cores changed", monitor.ErrNoBaseline)
	}
	out := make([]float64, n)
	for i := range n {
		if cur.CPU.PerCPU[i] < prev.CPU.PerCPU[i] {
			return nil, fmt.Errorf("%w: CPU counter went backwards (restart)", monitor.ErrNoBaseline)
		}
		out[i] = float64(cur.CPU.PerCPU[i]-prev.CPU.PerCPU[i]) / float64(dt) * 100
	}
	return out, nil
}

// interval returns the nanoseconds between two samples, or an error when
// there is no interval to compute a rate over.
func interval(prev, cur container.Stats) (int64, error) {
	dt := cur.Read.Sub(prev.Read).Nanoseconds()
	switch {
	case dt == 0:
		return 0, fmt.Errorf("%w: no new sample since the previous run (streamed stats renew once a second)", monitor.ErrNoBaseline)
	case dt < 0:
		return 0, fmt.Errorf("%w: the previous sample is newer than this one", monitor.ErrNoBaseline)
	}
	return dt, nil
}

// LimitCPUs is the number of CPUs the container may use: NanoCPUs (--cpus),
// else the CFS quota over its period (--cpu-quota), else the size of its
// cpuset (--cpuset-cpus), else every online CPU; never more than online.
func LimitCPUs(ins container.InspectResult, online int) float64 {
	lim := float64(online)
	switch {
	case ins.NanoCPUs > 0:
		lim = float64(ins.NanoCPUs) / 1e9
	case ins.CPUQuota > 0:
		period := ins.CPUPeriod
		if period <= 0 {
			period = 100000
		}
		lim = float64(ins.CPUQuota) / float64(period)
	case ins.CpusetCPUs != "":
		if n := cpusetSize(ins.CpusetCPUs); n > 0 {
			lim = float64(n)
		}
	}
	if online > 0 && lim > float64(online) {
		lim = float64(online)
	}
	return lim
}

// cpusetSize counts the CPUs in a list such as "0-2,5".
func cpusetSize(s string) int {
	n := 0
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return 0
			}
		}
		n += b - a + 1
	}
	return n
}

// Throttling returns the share of CFS periods in which the container was
// throttled, and the throttled time in seconds, between two samples. ok is
// false when no period elapsed (no quota set).
func Throttling(prev, cur container.Stats) (ratio, seconds float64, ok bool, err error) {
	if cur.CPU.Periods < prev.CPU.Periods || cur.CPU.ThrottledPeriods < prev.CPU.ThrottledPeriods || cur.CPU.ThrottledTime < prev.CPU.ThrottledTime {
		return 0, 0, false, fmt.Errorf("%w: throttling counters went backwards (restart)", monitor.ErrNoBaseline)
	}
	dp := cur.CPU.Periods - prev.CPU.Periods
	if dp == 0 {
		return 0, 0, false, nil
	}
	return float64(cur.CPU.ThrottledPeriods-prev.CPU.ThrottledPeriods) / float64(dp), float64(cur.CPU.ThrottledTime-prev.CPU.ThrottledTime) / 1e9, true, nil
}

// RSS is the memory numerator of the Hinemos Docker scripts: the anonymous
// memory the container holds (cgroup v1 total_rss, else rss; cgroup v2
// anon).
func RSS(m container.MemoryStats) (uint64, bool) {
	for _, k := range []string{"total_rss", "rss", "anon"} {
		if v, ok := m.Stats[k]; ok {
			return v, true
		}
	}
	return 0, false
}

// WorkingSet is usage minus inactive file cache, the figure docker stats,
// cAdvisor and the kubelet use: cgroup v1 usage − total_inactive_file,
// cgroup v2 usage − inactive_file, and usage itself when the inactive
// figure is missing or larger.
func WorkingSet(m container.MemoryStats) uint64 {
	inactive, ok := m.Stats["total_inactive_file"]
	if !ok {
		inactive, ok = m.Stats["inactive_file"]
	}
	if !ok || inactive > m.Usage {
		return m.Usage
	}
	return m.Usage - inactive
}

// Percent returns part / whole × 100, or false when whole is 0.
func Percent(part, whole float64) (float64, bool) {
	if whole <= 0 {
		return 0, false
	}
	return part / whole * 100, true
}

// BlkIO sums the cumulative bytes read and written over every device,
// counting only the Read and Write entries (Sync, Async and Total repeat
// them).
func BlkIO(s container.Stats) (read, write uint64) {
	for _, e := range s.BlkIO {
		switch strings.ToLower(e.Op) {
		case "read":
			read += e.Value
		case "write":
			write += e.Value
		}
	}
	return read, write
}

// NetTotals sums the interface counters. ok is false for a container with
// no network of its own (host network, none), which is "not applicable",
// not 0.
func NetTotals(s container.Stats) (n container.NetworkStats, ok bool) {
	if len(s.Networks) == 0 {
		return n, false
	}
	for _, x := range s.Networks {
		n.RxBytes += x.RxBytes
		n.RxPackets += x.RxPackets
		n.RxErrors += x.RxErrors
		n.RxDropped += x.RxDropped
		n.TxBytes += x.TxBytes
		n.TxPackets += x.TxPackets
		n.TxErrors += x.TxErrors
		n.TxDropped += x.TxDropped
	}
	return n, true
}

// Delta returns cur − prev, or an error wrapping monitor.ErrNoBaseline when
// the counter went backwards.
func Delta(prev, cur uint64) (uint64, error) {
	if cur < prev {
		return 0, fmt.Errorf("%w: counter went backwards (restart)", monitor.ErrNoBaseline)
	}
	return cur - prev, nil
}
