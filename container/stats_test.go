package container_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wantSample0 is the first sample of stats_<web-1>.json, mapped.
var wantSample0 = container.Stats{
	ID:   idWeb1,
	Name: "web-1",
	Read: time.Date(2025, 1, 1, 14, 0, 0, 1, time.UTC),
	CPU: container.CPUStats{
		TotalUsage: 4_000_000_000, PerCPU: []uint64{2_500_000_000, 1_500_000_000},
		Kernel: 1_000_000_000, User: 3_000_000_000, System: 900_000_000_000, OnlineCPUs: 2,
		Periods: 1200, ThrottledPeriods: 35, ThrottledTime: 4_200_000_000,
	},
	Memory: container.MemoryStats{
		Usage: 50 << 20, MaxUsage: 70 << 20, Limit: 256 << 20, Failcnt: 2,
		Stats: map[string]uint64{
			"active_anon": 20 << 20, "active_file": 8 << 20, "cache": 16 << 20,
			"hierarchical_memory_limit": 256 << 20, "inactive_anon": 0, "inactive_file": 6 << 20,
			"mapped_file": 1 << 20, "rss": 24 << 20, "total_active_anon": 20 << 20,
			"total_cache": 16 << 20, "total_inactive_file": 6 << 20, "total_rss": 24 << 20,
		},
	},
	BlkIO: []container.BlkIOEntry{
		{Major: 8, Minor: 0, Op: "Read", Value: 5 << 20},
		{Major: 8, Minor: 0, Op: "Write", Value: 1 << 20},
		{Major: 8, Minor: 0, Op: "Sync", Value: 4 << 20},
		{Major: 8, Minor: 0, Op: "Async", Value: 2 << 20},
		{Major: 8, Minor: 0, Op: "Total", Value: 6 << 20},
	},
	Networks: map[string]container.NetworkStats{
		"eth0": {RxBytes: 1 << 20, RxPackets: 900, RxErrors: 1, RxDropped: 2, TxBytes: 512 << 10, TxPackets: 700, TxErrors: 3, TxDropped: 4},
		"eth1": {RxBytes: 2048, RxPackets: 20, TxBytes: 4096, TxPackets: 40},
	},
	PIDs: container.PIDStats{Current: 3, Limit: 256},
}

func TestStatsOneShot(t *testing.T) {
	c, srv := newFake(t, basicDir)
	res, err := c.Stats(context.Background(), "web-1", container.StatsOptions{})
	require.NoError(t, err)
	r := only(t, srv, "GET", "/containers/web-1/stats")
	assert.Equal(t, url.Values{"stream": {"0"}, "one-shot": {"1"}}, r.Query)
	assert.Equal(t, "linux", res.OSType)
	assert.True(t, res.Stats.PreRead.IsZero(), "one-shot: the engine's 0001-01-01 preread")
	res.Stats.PreRead = time.Time{}
	assert.Equal(t, wantSample0, res.Stats)
}

func TestStatsTwoSample(t *testing.T) {
	c, srv := newFake(t, basicDir)
	res, err := c.Stats(context.Background(), idWeb1, container.StatsOptions{TwoSample: true})
	require.NoError(t, err)
	assert.Equal(t, url.Values{"stream": {"0"}}, only(t, srv, "GET", "/containers/"+idWeb1+"/stats").Query)
	assert.Equal(t, uint64(4_000_000_000), res.Stats.CPU.TotalUsage)
}

func TestStatsNotFound(t *testing.T) {
	c, _ := newFake(t, basicDir)
	_, err := c.Stats(context.Background(), "gone", container.StatsOptions{})
	assert.True(t, container.IsNotFound(err), "%v", err)
	assert.ErrorContains(t, err, "stats gone: ")
}

func TestStatsStream(t *testing.T) {
	c, srv := newFake(t, basicDir)
	var got []container.Stats
	err := c.StatsStream(context.Background(), "web-1", func(s container.Stats) error {
		got = append(got, s)
		return nil
	})
	// The fake ends the stream after its samples, as the engine does when
	// the container is removed.
	assert.ErrorContains(t, err, "stats web-1: stream ended")
	assert.Equal(t, url.Values{"stream": {"1"}}, only(t, srv, "GET", "/containers/web-1/stats").Query)
	require.Len(t, got, 2)
	assert.Equal(t, wantSample0.CPU, got[0].CPU)
	s := got[1]
	assert.Equal(t, time.Date(2025, 1, 1, 14, 0, 1, 2, time.UTC), s.Read)
	assert.Equal(t, time.Date(2025, 1, 1, 14, 0, 0, 1, time.UTC), s.PreRead)
	assert.Equal(t, wantSample0.CPU, s.PreCPU, "the previous sample's CPU")
	assert.Equal(t, []uint64{2_800_000_000, 1_700_000_000}, s.CPU.PerCPU)
	assert.Equal(t, uint64(51<<20), s.Memory.Usage)
	assert.Len(t, s.BlkIO, 2)
	assert.Equal(t, uint64(1049600), s.Networks["eth0"].RxBytes)
}

func TestStatsStreamStops(t *testing.T) {
	c, _ := newFake(t, basicDir)
	stop := errors.New("enough")
	n := 0
	err := c.StatsStream(context.Background(), "web-1", func(container.Stats) error {
		n++
		return stop
	})
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 1, n)

	_, err = c.Stats(context.Background(), "gone", container.StatsOptions{})
	assert.True(t, container.IsNotFound(err))
	err = c.StatsStream(context.Background(), "gone", func(container.Stats) error { return nil })
	assert.True(t, container.IsNotFound(err), "%v", err)
}
