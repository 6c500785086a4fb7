package snmp_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
	"github.com/minato-ops/minato/monitor/snmp"
)

func TestMemoryRemainder(t *testing.T) {
	// 4 GiB host, 1 GiB free, 256 MiB buffers, 768 MiB cache: 2 GiB used.
	host := snmp.Memory{TotalKB: 4 << 20, AvailKB: 1 << 20, BufferKB: 256 << 10, CachedKB: 768 << 10, HasBuffer: true, HasCached: true}
	tests := []struct {
		name string
		m    snmp.Memory
		rss  float64
		want float64
	}{
		{"no containers: the host's own use", host, 0, 50},
		{"containers' rss subtracted", host, 1 << 30, 25},
		{"everything used is the containers'", host, 2 << 30, 0},
		{"clamped at 0 when the containers grew between the reads", host, 3 << 30, 0},
		{"absent buffers and cache are not subtracted", snmp.Memory{TotalKB: 1000, AvailKB: 400}, 100 * 1024, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := snmp.MemoryRemainder(tt.m, tt.rss)
			require.NoError(t, err)
			assert.InDelta(t, tt.want, got, 1e-9)
		})
	}
	_, err := snmp.MemoryRemainder(snmp.Memory{}, 0)
	assert.ErrorIs(t, err, monitor.ErrNotSupported, "no total, no share")
}

func TestCPURemainder(t *testing.T) {
	tests := []struct {
		name       string
		host, ctrs float64
		cpus       int
		want       float64
	}{
		{"no containers", 40, 0, 4, 40},
		{"per-core percentages over the CPUs", 40, 100, 4, 15}, // one busy core of four is 25 %
		{"two cores of two", 100, 200, 2, 0},
		{"clamped at 0", 10, 100, 4, 0},
		{"one CPU", 30, 12.5, 1, 17.5},
		{"cpus below 1 count as 1", 30, 12.5, 0, 17.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, snmp.CPURemainder(tt.host, tt.ctrs, tt.cpus), 1e-9)
		})
	}
}

func TestRemainderConfigValidate(t *testing.T) {
	assert.NoError(t, snmp.DefaultRemainderConfig().Validate())
	assert.NoError(t, snmp.RemainderConfig{}.Validate(), "empty measure is memory")
	assert.NoError(t, snmp.RemainderConfig{Measure: "cpu", CPUs: 2, BaselineKey: "node1.snmp-cpu"}.Validate())
	err := snmp.RemainderConfig{Measure: "cpu"}.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cpus: 0: want the host's number of CPUs")
	assert.Contains(t, err.Error(), "baseline_key: baseline: bad key")
	assert.ErrorContains(t, snmp.RemainderConfig{Measure: "disk"}.Validate(), `measure: "disk": want "memory" or "cpu"`)
	assert.ErrorContains(t, snmp.RemainderConfig{Measure: "cpu", CPUs: 1, BaselineKey: "a/b"}.Validate(), "baseline_key")
}

func TestNewHostRemainder(t *testing.T) {
	c, err := snmp.New(snmp.DefaultConfig())
	require.NoError(t, err)
	defer c.Close()
	none := snmp.ContainerUsageFunc(func(context.Context) ([]monitor.Sample, error) { return nil, nil })
	store, err := baseline.Open(t.TempDir())
	require.NoError(t, err)
	cpu := snmp.RemainderConfig{Measure: snmp.RemainderCPU, CPUs: 2, BaselineKey: "k"}

	_, err = snmp.NewHostRemainder(snmp.DefaultRemainderConfig(), c, nil, none)
	assert.NoError(t, err, "memory needs no store")
	_, err = snmp.NewHostRemainder(cpu, c, store, none)
	assert.NoError(t, err)
	_, err = snmp.NewHostRemainder(cpu, c, nil, none)
	assert.ErrorContains(t, err, "store: nil")
	_, err = snmp.NewHostRemainder(snmp.RemainderConfig{Measure: "x"}, nil, nil, nil)
	require.Error(t, err)
	for _, want := range []string{"snmp host remainder: ", "measure:", "client: nil", "containers: nil"} {
		assert.Contains(t, err.Error(), want)
	}
}

// TestRemainderContainersFail: when the containers' use cannot be had,
// Check reports that and never asks the agent (the port here has none).
func TestRemainderContainersFail(t *testing.T) {
	cfg := snmp.DefaultConfig()
	cfg.Port = 9 // discard: nothing answers SNMP there
	c, err := snmp.New(cfg)
	require.NoError(t, err)
	defer c.Close()
	boom := errors.New("cannot connect to the Docker daemon")
	fail := snmp.ContainerUsageFunc(func(context.Context) ([]monitor.Sample, error) { return nil, boom })
	store, err := baseline.Open(t.TempDir())
	require.NoError(t, err)
	for _, cfg := range []snmp.RemainderConfig{snmp.DefaultRemainderConfig(), {Measure: snmp.RemainderCPU, CPUs: 1, BaselineKey: "k"}} {
		m, err := snmp.NewHostRemainder(cfg, c, store, fail)
		require.NoError(t, err)
		_, err = m.Check(context.Background(), hostTarget)
		assert.ErrorIs(t, err, boom)
		assert.EqualError(t, err, "snmp host remainder: containers: cannot connect to the Docker daemon")
	}
	got, err := store.Get("k")
	require.NoError(t, err)
	assert.Nil(t, got, "no host counters stored")

	// For memory, a container without a rate is still a failure: memory
	// needs no rate, so the adapter has a real problem.
	noBase := snmp.ContainerUsageFunc(func(context.Context) ([]monitor.Sample, error) { return nil, monitor.ErrNoBaseline })
	m, err := snmp.NewHostRemainder(snmp.DefaultRemainderConfig(), c, nil, noBase)
	require.NoError(t, err)
	_, err = m.Check(context.Background(), hostTarget)
	assert.ErrorIs(t, err, monitor.ErrNoBaseline)
}

func TestRemainderDescribe(t *testing.T) {
	c, err := snmp.New(snmp.DefaultConfig())
	require.NoError(t, err)
	defer c.Close()
	none := snmp.ContainerUsageFunc(func(context.Context) ([]monitor.Sample, error) { return nil, nil })
	mem, err := snmp.NewHostRemainder(snmp.DefaultRemainderConfig(), c, nil, none)
	require.NoError(t, err)
	store, err := baseline.Open(t.TempDir())
	require.NoError(t, err)
	cpu, err := snmp.NewHostRemainder(snmp.RemainderConfig{Measure: snmp.RemainderCPU, CPUs: 1, BaselineKey: "k"}, c, store, none)
	require.NoError(t, err)
	names := func(ds []monitor.SampleDesc) (out []string) {
		for _, d := range ds {
			out = append(out, d.Name)
			assert.Equal(t, monitor.Percent, d.Unit)
		}
		return out
	}
	assert.Equal(t, []string{"memory_host_percent", "memory_limit_percent"}, names(mem.Describe()))
	assert.Equal(t, []string{"cpu_percent"}, names(cpu.Describe()))
}
