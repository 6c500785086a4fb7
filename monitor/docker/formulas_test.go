package docker_test

import (
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/docker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2015, 9, 5, 21, 59, 8, 423347821, time.UTC)

func cpuSample(at time.Time, total uint64, percpu ...uint64) container.Stats {
	return container.Stats{Read: at, CPU: container.CPUStats{TotalUsage: total, PerCPU: percpu, OnlineCPUs: uint32(len(percpu))}}
}

func TestCPUPercent(t *testing.T) {
	// Seed 002's conteiner_B sample, then 60 s later with 48 ms more CPU.
	a := cpuSample(t0, 19377187586, 10738949512, 8638238074)
	b := cpuSample(t0.Add(60*time.Second), 19377187586+48_000_000, 10738949512+30_000_000, 8638238074+18_000_000)
	pct, err := docker.CPUPercent(a, b)
	require.NoError(t, err)
	assert.InDelta(t, 0.08, pct, 1e-9)
	cores, err := docker.CPUCorePercents(a, b)
	require.NoError(t, err)
	assert.InDeltaSlice(t, []float64{0.05, 0.03}, cores, 1e-9)

	// Two busy cores read 200.
	busy := cpuSample(t0.Add(time.Second), 19377187586+2_000_000_000)
	pct, err = docker.CPUPercent(a, busy)
	require.NoError(t, err)
	assert.InDelta(t, 200, pct, 1e-9)

	// A restart (counter backwards) or a non-advancing clock: no value.
	_, err = docker.CPUPercent(b, a)
	assert.ErrorIs(t, err, monitor.ErrNoBaseline)
	_, err = docker.CPUPercent(cpuSample(t0.Add(time.Second), 5), cpuSample(t0.Add(2*time.Second), 1))
	assert.ErrorIs(t, err, monitor.ErrNoBaseline)
	_, err = docker.CPUPercent(a, a)
	assert.ErrorIs(t, err, monitor.ErrNoBaseline)

	// cgroup v2: no per-core counters.
	_, err = docker.CPUCorePercents(cpuSample(t0, 1), cpuSample(t0.Add(time.Second), 2))
	assert.ErrorIs(t, err, monitor.ErrNotSupported)
}

func TestLimitCPUs(t *testing.T) {
	assert.Equal(t, 0.5, docker.LimitCPUs(container.InspectResult{NanoCPUs: 5e8}, 4))
	assert.Equal(t, 1.5, docker.LimitCPUs(container.InspectResult{CPUQuota: 150000}, 4))
	assert.Equal(t, 2.0, docker.LimitCPUs(container.InspectResult{CPUQuota: 100000, CPUPeriod: 50000}, 4))
	assert.Equal(t, 3.0, docker.LimitCPUs(container.InspectResult{CpusetCPUs: "0-1,3"}, 4))
	assert.Equal(t, 4.0, docker.LimitCPUs(container.InspectResult{}, 4))
	assert.Equal(t, 4.0, docker.LimitCPUs(container.InspectResult{NanoCPUs: 8e9}, 4), "capped at online")
	assert.Equal(t, 4.0, docker.LimitCPUs(container.InspectResult{CpusetCPUs: "garbage"}, 4))
}

func TestThrottling(t *testing.T) {
	a := container.Stats{CPU: container.CPUStats{Periods: 100, ThrottledPeriods: 10, ThrottledTime: 1e9}}
	b := container.Stats{CPU: container.CPUStats{Periods: 200, ThrottledPeriods: 60, ThrottledTime: 3.5e9}}
	ratio, secs, ok, err := docker.Throttling(a, b)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.InDelta(t, 0.5, ratio, 1e-9)
	assert.InDelta(t, 2.5, secs, 1e-9)
	_, _, ok, err = docker.Throttling(a, a)
	assert.NoError(t, err)
	assert.False(t, ok, "no period elapsed: no quota")
	_, _, _, err = docker.Throttling(b, a)
	assert.ErrorIs(t, err, monitor.ErrNoBaseline)
}

func TestMemoryFormulas(t *testing.T) {
	// Seed 002's conteiner_B memory_stats (cgroup v1).
	v1 := container.MemoryStats{Usage: 14479360, Limit: 3609448448, Stats: map[string]uint64{"rss": 8556544, "total_rss": 8556544, "inactive_file": 5312512, "total_inactive_file": 5312512}}
	rss, ok := docker.RSS(v1)
	require.True(t, ok)
	assert.Equal(t, uint64(8556544), rss)
	pct, _ := docker.Percent(float64(rss), 3609448448)
	assert.Equal(t, "0.24", format2(pct), "seed 002 prints 0.24 for this container")
	assert.Equal(t, uint64(14479360-5312512), docker.WorkingSet(v1))

	v2 := container.MemoryStats{Usage: 100 << 20, Stats: map[string]uint64{"anon": 60 << 20, "inactive_file": 30 << 20}}
	rss, ok = docker.RSS(v2)
	require.True(t, ok)
	assert.Equal(t, uint64(60<<20), rss)
	assert.Equal(t, uint64(70<<20), docker.WorkingSet(v2))

	assert.Equal(t, uint64(10), docker.WorkingSet(container.MemoryStats{Usage: 10, Stats: map[string]uint64{"inactive_file": 20}}), "inactive larger than usage: usage")
	_, ok = docker.RSS(container.MemoryStats{})
	assert.False(t, ok)
	_, ok = docker.Percent(1, 0)
	assert.False(t, ok)
}

func TestBlkIOAndNet(t *testing.T) {
	s := container.Stats{BlkIO: []container.BlkIOEntry{
		{Major: 253, Minor: 2, Op: "Read", Value: 5640192}, {Major: 253, Minor: 2, Op: "Write", Value: 0},
		{Major: 253, Minor: 2, Op: "Sync", Value: 0}, {Major: 253, Minor: 2, Op: "Async", Value: 5640192}, {Major: 253, Minor: 2, Op: "Total", Value: 5640192},
		{Major: 7, Minor: 0, Op: "read", Value: 100}, {Major: 7, Minor: 0, Op: "write", Value: 50},
	}}
	rd, wr := docker.BlkIO(s)
	assert.Equal(t, uint64(5640292), rd, "Read over devices, Total/Sync/Async not counted twice")
	assert.Equal(t, uint64(50), wr)

	_, ok := docker.NetTotals(container.Stats{})
	assert.False(t, ok, "no networks is not applicable, not zero")
	n, ok := docker.NetTotals(container.Stats{Networks: map[string]container.NetworkStats{"eth0": {RxBytes: 1854, TxBytes: 738, RxPackets: 23, TxPackets: 9}, "eth1": {RxBytes: 10, TxBytes: 20, RxPackets: 1, TxPackets: 2}}})
	require.True(t, ok)
	assert.Equal(t, container.NetworkStats{RxBytes: 1864, TxBytes: 758, RxPackets: 24, TxPackets: 11}, n)

	d, err := docker.Delta(5, 8)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), d)
	_, err = docker.Delta(8, 5)
	assert.ErrorIs(t, err, monitor.ErrNoBaseline)
}

func format2(v float64) string {
	return formatFloat(v)
}
