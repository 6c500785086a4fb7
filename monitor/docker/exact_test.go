package docker_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor/docker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoryStatExact: a memory.stat value of 2^63-1 is 2^63 as a
// float64; the sample keeps the exact text beside the value, and only for
// values a float64 cannot hold.
func TestMemoryStatExact(t *testing.T) {
	const basic = "../../container/testdata/engine/basic"
	const id = "e650e9015225f7f0974a07a27296c212b9d39e2033de5b78fdf551fec4b68da1"
	dir := t.TempDir()
	entries, err := os.ReadDir(basic)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(basic, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644))
	}
	statsFile := filepath.Join(dir, "stats_"+id+".json")
	raw, err := os.ReadFile(statsFile)
	require.NoError(t, err)
	var samples []map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &samples))
	var mem map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(samples[0]["memory_stats"], &mem))
	var stats map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(mem["stats"], &stats))
	stats["hierarchical_memsw_limit"] = json.RawMessage("9223372036854775807")
	stats["big_but_exact"] = json.RawMessage(strconv.FormatUint(1<<60, 10))
	stats["max_uint64"] = json.RawMessage("18446744073709551615")
	b, _ := json.Marshal(stats)
	mem["stats"] = b
	b, _ = json.Marshal(mem)
	samples[0]["memory_stats"] = b
	b, _ = json.Marshal(samples)
	require.NoError(t, os.WriteFile(statsFile, b, 0o644))

	srv := enginetest.NewServer(t, dir)
	c, err := container.New(container.Config{Host: srv.URL})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	cfg := docker.DefaultCollectorConfig()
	cfg.Mode = docker.ModeOneShot
	col, err := docker.NewCollector(c, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = col.Close() })
	m, err := docker.NewResources(col, nil, "", docker.Memory)
	require.NoError(t, err)
	res, err := m.Check(context.Background(), inventory.Target{Kind: inventory.KindContainer, ID: id, Name: "web-1"})
	require.NoError(t, err)

	for key, want := range map[string]string{
		"hierarchical_memsw_limit":  "9223372036854775807",
		"max_uint64":                "18446744073709551615",
		"big_but_exact":             "", // 2^60 is a float64
		"hierarchical_memory_limit": "", // 268435456
		"total_rss":                 "",
	} {
		s, ok := res.Sample("memory_stat", map[string]string{"key": key})
		require.True(t, ok, key)
		assert.Equal(t, want, s.Exact, key)
	}
	s, _ := res.Sample("memory_stat", map[string]string{"key": "hierarchical_memsw_limit"})
	assert.Equal(t, float64(1<<63), s.Value, "the float64 is the nearest value, as before")
	for _, s := range res.Samples {
		if s.Name != "memory_stat" {
			assert.Empty(t, s.Exact, s.Name)
		}
	}
}
