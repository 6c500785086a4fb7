package snmp

import (
	"context"
	"fmt"
	"time"

	"github.com/minato-ops/minato/monitor"
)

// UCD-SNMP-MIB objects read by [Client.HostMemory] (memory group, KB,
// Integer32): the four OIDs the Hinemos Docker monitoring scripts read for
// the host's memory.
const (
	OIDMemTotalReal = ".1.3.6.1.4.1.2021.4.5.0"
	OIDMemAvailReal = ".1.3.6.1.4.1.2021.4.6.0"
	OIDMemBuffer    = ".1.3.6.1.4.1.2021.4.14.0"
	OIDMemCached    = ".1.3.6.1.4.1.2021.4.15.0"
)

// UCD-SNMP-MIB objects read by [Client.HostCPU] (systemStats group,
// Counter32 ticks, typically 1/100 s, summed over all CPUs).
const (
	OIDSsCPURawUser      = ".1.3.6.1.4.1.2021.11.50.0"
	OIDSsCPURawNice      = ".1.3.6.1.4.1.2021.11.51.0"
	OIDSsCPURawSystem    = ".1.3.6.1.4.1.2021.11.52.0"
	OIDSsCPURawIdle      = ".1.3.6.1.4.1.2021.11.53.0"
	OIDSsCPURawWait      = ".1.3.6.1.4.1.2021.11.54.0"
	OIDSsCPURawKernel    = ".1.3.6.1.4.1.2021.11.55.0"
	OIDSsCPURawInterrupt = ".1.3.6.1.4.1.2021.11.56.0"
	OIDSsCPURawSoftIRQ   = ".1.3.6.1.4.1.2021.11.61.0"
)

// Memory is the host's physical memory as UCD-SNMP-MIB reports it, in KB
// (1024 bytes).
type Memory struct {
	// TotalKB is memTotalReal, the physical memory.
	TotalKB uint64 `json:"total_kb"`
	// AvailKB is memAvailReal. On Linux net-snmp reports MemFree here
	// (memory not used at all), not MemAvailable: buffers and page cache
	// are not included.
	AvailKB uint64 `json:"avail_kb"`
	// BufferKB is memBuffer and CachedKB memCached; HasBuffer and
	// HasCached say whether the agent reported them (not every platform
	// does). An absent value is 0 here and is left out of UsedBytes.
	BufferKB  uint64 `json:"buffer_kb,omitempty"`
	CachedKB  uint64 `json:"cached_kb,omitempty"`
	HasBuffer bool   `json:"has_buffer"`
	HasCached bool   `json:"has_cached"`
	// Time is when the values were received.
	Time time.Time `json:"time"`
}

// TotalBytes returns memTotalReal in bytes (TotalKB × 1024), M_host_total
// of the Hinemos Docker scripts' formula.
func (m Memory) TotalBytes() uint64 { return m.TotalKB * 1024 }

// UsedBytes returns the memory in use by processes, M_host_used of the
// Hinemos Docker scripts' formula:
//
//	(memTotalReal − memAvailReal − memBuffer − memCached) × 1024
//
// The Hinemos scripts list exactly these four OIDs for the host but do not
// say how M_host_used comes from them; memAvailReal is free memory that excludes buffers and page
// cache, so subtracting memBuffer and memCached as well leaves what
// processes hold (what free(1) calls "used"), which is comparable with the
// containers' rss that the scripts subtract from it. A missing memBuffer or
// memCached is not subtracted. The result is clamped at 0.
func (m Memory) UsedBytes() uint64 {
	free := m.AvailKB
	if m.HasBuffer {
		free += m.BufferKB
	}
	if m.HasCached {
		free += m.CachedKB
	}
	if free >= m.TotalKB {
		return 0
	}
	return (m.TotalKB - free) * 1024
}

// HostMemory reads the four UCD-SNMP-MIB memory objects in one request.
// When the agent has no memTotalReal or memAvailReal (no UCD-SNMP-MIB, or
// not in the view granted to this community or user) the error wraps
// monitor.ErrNotSupported; a missing memBuffer or memCached is only
// reported through HasBuffer and HasCached.
func (c *Client) HostMemory(ctx context.Context) (Memory, error) {
	vs, err := c.Get(ctx, OIDMemTotalReal, OIDMemAvailReal, OIDMemBuffer, OIDMemCached)
	if err != nil {
		return Memory{}, err
	}
	m := Memory{Time: time.Now()}
	var ok bool
	if m.TotalKB, ok = vs[0].Uint64(); !ok {
		return Memory{}, c.unsupported("memTotalReal", vs[0])
	}
	if m.AvailKB, ok = vs[1].Uint64(); !ok {
		return Memory{}, c.unsupported("memAvailReal", vs[1])
	}
	m.BufferKB, m.HasBuffer = vs[2].Uint64()
	m.CachedKB, m.HasCached = vs[3].Uint64()
	return m, nil
}

func (c *Client) unsupported(name string, v Value) error {
	if !v.Present() {
		return fmt.Errorf("snmp: %s: %s (%s) is absent (no UCD-SNMP-MIB, or outside the view granted): %w", c.target, name, v.OID, monitor.ErrNotSupported)
	}
	return fmt.Errorf("snmp: %s: %s (%s) is %s, want a non-negative number: %w", c.target, name, v.OID, v, monitor.ErrNotSupported)
}

// CPU holds the host's raw UCD-SNMP-MIB CPU tick counters (ssCpuRaw*),
// cumulative since boot over all CPUs. Two CPU samples give a usage
// percentage with [CPUPercent].
type CPU struct {
	// User, Nice, System and Idle are always present.
	User   uint64 `json:"user"`
	Nice   uint64 `json:"nice"`
	System uint64 `json:"system"`
	Idle   uint64 `json:"idle"`
	// Wait (I/O wait), Kernel, Interrupt and SoftIRQ are reported by
	// some platforms only; the Has flags say which. On Linux net-snmp
	// reports Kernel as 0.
	Wait         uint64 `json:"wait,omitempty"`
	Kernel       uint64 `json:"kernel,omitempty"`
	Interrupt    uint64 `json:"interrupt,omitempty"`
	SoftIRQ      uint64 `json:"softirq,omitempty"`
	HasWait      bool   `json:"has_wait"`
	HasKernel    bool   `json:"has_kernel"`
	HasInterrupt bool   `json:"has_interrupt"`
	HasSoftIRQ   bool   `json:"has_softirq"`
	// Counter32 is true when every counter came as a Counter32 (as
	// UCD-SNMP-MIB defines them): such counters wrap at 2^32, and
	// CPUPercent then reads a decrease as a wrap.
	Counter32 bool `json:"counter32"`
	// Time is when the values were received.
	Time time.Time `json:"time"`
}

// HostCPU reads the UCD-SNMP-MIB raw CPU counters in one request. When the
// agent lacks one of User, Nice, System or Idle the error wraps
// monitor.ErrNotSupported. net-snmp refreshes these counters every 5
// seconds (and reports them as 0 during its first 5 seconds), so samples
// taken closer together than that may be equal.
func (c *Client) HostCPU(ctx context.Context) (CPU, error) {
	vs, err := c.Get(ctx, OIDSsCPURawUser, OIDSsCPURawNice, OIDSsCPURawSystem, OIDSsCPURawIdle,
		OIDSsCPURawWait, OIDSsCPURawKernel, OIDSsCPURawInterrupt, OIDSsCPURawSoftIRQ)
	if err != nil {
		return CPU{}, err
	}
	cpu := CPU{Time: time.Now(), Counter32: true}
	required := []struct {
		name string
		dst  *uint64
	}{{"ssCpuRawUser", &cpu.User}, {"ssCpuRawNice", &cpu.Nice}, {"ssCpuRawSystem", &cpu.System}, {"ssCpuRawIdle", &cpu.Idle}}
	for i, r := range required {
		n, ok := vs[i].Uint64()
		if !ok {
			return CPU{}, c.unsupported(r.name, vs[i])
		}
		*r.dst = n
		cpu.Counter32 = cpu.Counter32 && vs[i].Type == TypeCounter32
	}
	optional := []struct {
		dst *uint64
		has *bool
	}{{&cpu.Wait, &cpu.HasWait}, {&cpu.Kernel, &cpu.HasKernel}, {&cpu.Interrupt, &cpu.HasInterrupt}, {&cpu.SoftIRQ, &cpu.HasSoftIRQ}}
	for i, o := range optional {
		v := vs[len(required)+i]
		*o.dst, *o.has = v.Uint64()
		if *o.has {
			cpu.Counter32 = cpu.Counter32 && v.Type == TypeCounter32
		}
	}
	return cpu, nil
}

// CPUPercent returns the host CPU usage between two samples of the same
// agent, in percent of all CPUs (0..100):
//
//	busy  = Δuser + Δnice + Δkernel-time + Δinterrupt + Δsoftirq
//	total = busy + Δidle + Δwait
//	CPUPercent = busy / total × 100
//
// I/O wait counts as idle (the CPU was free to run something else, as
// top(1) and mpstat count it). The kernel time avoids double counting,
// because what ssCpuRawSystem contains differs by platform: when the agent
// reports a non-zero ssCpuRawKernel in both samples (BSD, Solaris), System
// may already include interrupt or wait time, so Kernel is used instead of
// System; otherwise (Linux, where Kernel is 0 and System is /proc/stat's
// "system" alone) System is used. Interrupt, SoftIRQ and Wait are counted
// only when present in both samples.
//
// The error wraps monitor.ErrNoBaseline when there is no usable interval:
// prev is the zero CPU or an agent's all-zero start-up sample, no tick
// passed (net-snmp refreshes every 5 s), or a counter went backwards. A
// decrease of a Counter32 (both samples' Counter32 true) is read as one
// wrap at 2^32 when that gives an increase below 2^31; a larger "increase"
// means the host rebooted, which is also ErrNoBaseline.
func CPUPercent(prev, cur CPU) (float64, error) {
	if prev.sum() == 0 {
		return 0, fmt.Errorf("snmp: cpu percent: the previous sample is empty: %w", monitor.ErrNoBaseline)
	}
	wrap := prev.Counter32 && cur.Counter32
	useKernel := prev.HasKernel && cur.HasKernel && prev.Kernel != 0 && cur.Kernel != 0
	var busy, total uint64
	for _, k := range []struct {
		name        string
		prev, cur   uint64
		use, isBusy bool
	}{
		{"user", prev.User, cur.User, true, true},
		{"nice", prev.Nice, cur.Nice, true, true},
		{"system", prev.System, cur.System, !useKernel, true},
		{"kernel", prev.Kernel, cur.Kernel, useKernel, true},
		{"interrupt", prev.Interrupt, cur.Interrupt, prev.HasInterrupt && cur.HasInterrupt, true},
		{"softirq", prev.SoftIRQ, cur.SoftIRQ, prev.HasSoftIRQ && cur.HasSoftIRQ, true},
		{"idle", prev.Idle, cur.Idle, true, false},
		{"wait", prev.Wait, cur.Wait, prev.HasWait && cur.HasWait, false},
	} {
		if !k.use {
			continue
		}
		d, ok := delta(k.prev, k.cur, wrap)
		if !ok {
			return 0, fmt.Errorf("snmp: cpu percent: %s went from %d to %d (host restarted?): %w", k.name, k.prev, k.cur, monitor.ErrNoBaseline)
		}
		total += d
		if k.isBusy {
			busy += d
		}
	}
	if total == 0 {
		return 0, fmt.Errorf("snmp: cpu percent: no tick between the samples: %w", monitor.ErrNoBaseline)
	}
	return float64(busy) / float64(total) * 100, nil
}

// delta returns cur − prev; a decrease is a Counter32 wrap when wrap is
// set and the wrapped increase is below 2^31, otherwise not ok.
func delta(prev, cur uint64, wrap bool) (uint64, bool) {
	if cur >= prev {
		return cur - prev, true
	}
	if !wrap || prev >= 1<<32 || cur >= 1<<32 {
		return 0, false
	}
	d := (1<<32 - prev) + cur
	return d, d < 1<<31
}

func (c CPU) sum() uint64 {
	return c.User + c.Nice + c.System + c.Idle + c.Wait + c.Kernel + c.Interrupt + c.SoftIRQ
}
