package catalog_test

import (
	"testing"
	"time"

	"github.com/minato-ops/minato/cmd/minato/internal/catalog"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/snmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func deps(t *testing.T) catalog.Deps {
	t.Helper()
	c, err := container.New(container.Config{Host: "unix:///nonexistent/docker.sock"}) // nothing is contacted
	require.NoError(t, err)
	d, closeDeps, err := catalog.Open(c, catalog.OpenOptions{StateDir: t.TempDir(), Key: "k"})
	require.NoError(t, err)
	t.Cleanup(func() { closeDeps(); _ = c.Close() })
	return d
}

func TestCanonical(t *testing.T) {
	for name, want := range map[string]string{"blkio": "disk", "state": "container-status", "count": "host-count", "disk": "disk", "host-size": "host-size"} {
		got, ok := catalog.Canonical(name)
		assert.True(t, ok, name)
		assert.Equal(t, want, got, name)
	}
	_, ok := catalog.Canonical("gpu")
	assert.False(t, ok)
}

// TestBuildEveryMonitor: every name builds, with its defaults: resource
// and process monitors on running containers, engine monitors on the
// engine, one meaning per name.
func TestBuildEveryMonitor(t *testing.T) {
	d := deps(t)
	for _, name := range catalog.Names {
		b, err := catalog.Build(name, catalog.Params{}, inventory.Selector{Names: []string{"web*"}}, d)
		require.NoError(t, err, name)
		assert.NotNil(t, b.Monitor, name)
		assert.NotEmpty(t, b.Primary, name)
		switch name {
		case catalog.HostStatus, catalog.HostCount, catalog.HostSize:
			assert.Equal(t, inventory.Selector{Kind: inventory.KindHost}, b.Targets, name)
		case catalog.ContainerStatus:
			assert.Equal(t, inventory.KindContainer, b.Targets.Kind, name)
			assert.Empty(t, b.Targets.States, "%s looks at containers in every state", name)
		default:
			assert.Equal(t, []string{"running"}, b.Targets.States, name)
			assert.Equal(t, []string{"web*"}, b.Targets.Names, "%s keeps the caller's selection", name)
		}
	}
	b, err := catalog.Build("blkio", catalog.Params{}, inventory.Selector{}, d)
	require.NoError(t, err)
	assert.Equal(t, catalog.Disk, b.Name)
	assert.Equal(t, []string{"disk_read_bytes", "disk_write_bytes"}, b.Primary, "disk is block I/O, in the CLI and the agent alike")
}

func TestParamsValidate(t *testing.T) {
	assert.ErrorContains(t, catalog.Params{Pattern: "x"}.Validate(catalog.CPU), "only the process monitor takes a pattern")
	assert.ErrorContains(t, catalog.Params{Pattern: "("}.Validate(catalog.Process), "pattern: ")
	cfg := snmp.DefaultConfig()
	assert.ErrorContains(t, catalog.Params{WithHost: &cfg}.Validate(catalog.Disk), "only cpu and memory")
	assert.NoError(t, catalog.Params{WithHost: &cfg}.Validate(catalog.Memory))
	_, err := catalog.Build("gpu", catalog.Params{}, inventory.Selector{}, deps(t))
	assert.ErrorContains(t, err, `monitor "gpu": want one of cpu, memory, disk`)
}

// TestChecks: a threshold without a sample applies to every primary
// sample; WithHost adds the host's check on the engine.
func TestChecks(t *testing.T) {
	d := deps(t)
	crit, _ := monitor.ParseRange("90")
	b, err := catalog.Build(catalog.Disk, catalog.Params{}, inventory.Selector{}, d)
	require.NoError(t, err)
	cs := b.Checks(monitor.Check{Name: "io", Interval: time.Minute, Thresholds: []monitor.Threshold{{Critical: &crit}, {Sample: "disk_read_bytes_per_second", Critical: &crit}}})
	require.Len(t, cs, 1)
	var samples []string
	for _, th := range cs[0].Thresholds {
		samples = append(samples, th.Sample)
	}
	assert.Equal(t, []string{"disk_read_bytes", "disk_write_bytes", "disk_read_bytes_per_second"}, samples)
	require.NoError(t, cs[0].Validate())

	cfg := snmp.DefaultConfig()
	cfg.Address = "127.0.0.1"
	b, err = catalog.Build(catalog.Memory, catalog.Params{WithHost: &cfg}, inventory.Selector{}, d)
	require.NoError(t, err)
	defer func() {
		for _, c := range b.Closers {
			_ = c.Close()
		}
	}()
	cs = b.Checks(monitor.Check{Name: "mem", Interval: time.Minute})
	require.Len(t, cs, 2)
	assert.Equal(t, "mem-host", cs[1].Name)
	assert.Equal(t, inventory.Selector{Kind: inventory.KindHost}, cs[1].Targets)
}
