package docker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
	"github.com/minato-ops/minato/monitor/docker"
	"github.com/minato-ops/minato/monitor/monitortest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// conformanceSetup returns a minato client on the real engine and the
// Targets of a running and an exited test container, resolved the way a
// Runner resolves them.
func conformanceSetup(t *testing.T) (c *container.Client, running, exited inventory.Target) {
	t.Helper()
	h := dockertest.New(t)
	cfg := container.DefaultConfig()
	cfg.Host = h.Host
	c, err := container.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	run := h.Run(t, dockertest.RunOptions{Args: []string{"spawn", "2", "--", "sleep", "forever"}})
	done := h.Run(t, dockertest.RunOptions{Args: []string{"exit", "3"}})
	h.WaitState(t, run.ID, "running", 10*time.Second)
	h.WaitState(t, done.ID, "exited", 10*time.Second)
	resolve := func(id string) inventory.Target {
		ts, err := c.Resolve(context.Background(), inventory.Selector{IDs: []string{id}})
		require.NoError(t, err)
		require.Len(t, ts, 1)
		return ts[0]
	}
	return c, resolve(run.ID), resolve(done.ID)
}

// TestConformance runs the monitortest suite against the Docker monitors
// on the real engine.
func TestConformance(t *testing.T) {
	c, running, exited := conformanceSetup(t)
	engine := docker.EngineTarget(c)
	procs, err := docker.NewProcesses(c, ".*")
	require.NoError(t, err)

	for _, tc := range []struct {
		name   string
		m      monitor.Monitor
		target inventory.Target
	}{
		{"State running", docker.NewState(c), running},
		{"State exited", docker.NewState(c), exited},
		{"Processes", procs, running},
		{"HostStatus", docker.NewHostStatus(c), engine},
		{"ContainerCount", docker.NewContainerCount(c), engine},
		{"DiskUsage", docker.NewDiskUsage(c), engine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// First, on an idle engine: the suite's cancelled calls leave
			// DiskUsage's engine operation running for a while.
			res, err := tc.m.Check(context.Background(), tc.target)
			require.NoError(t, err)
			assert.NotEmpty(t, res.Samples, "the suite judges real samples")
			monitortest.TestMonitor(t, tc.m, tc.target)
		})
	}

	t.Run("DiskUsage concurrent", func(t *testing.T) {
		t.Parallel()
		m := docker.NewDiskUsage(c)
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { _, errs[i] = m.Check(context.Background(), engine) })
		}
		wg.Wait()
		for i, err := range errs {
			assert.NoError(t, err, "concurrent Check %d", i)
		}
	})

	for _, mode := range []string{docker.ModeAuto, docker.ModeOneShot, docker.ModeStream} {
		t.Run("Resources "+mode, func(t *testing.T) {
			t.Parallel()
			cfg := docker.DefaultCollectorConfig()
			cfg.Mode = mode
			col, err := docker.NewCollector(c, cfg)
			require.NoError(t, err)
			t.Cleanup(func() { _ = col.Close() })
			store, err := baseline.Open(t.TempDir())
			require.NoError(t, err)
			// A streamed sample is renewed once a second; two Checks of the
			// same sample have no interval to compute a rate over.
			settle := 50 * time.Millisecond
			if mode == docker.ModeStream {
				settle = 1100 * time.Millisecond
			}

			t.Run("memory without store", func(t *testing.T) {
				m, err := docker.NewResources(col, nil, "", docker.Memory)
				require.NoError(t, err)
				monitortest.TestMonitor(t, m, running)
				res, err := m.Check(context.Background(), running)
				require.NoError(t, err)
				_, ok := res.Sample("memory_working_set_bytes", nil)
				assert.True(t, ok)
				t.Logf("collector mode %s", col.Mode())
			})
			for _, tc := range []struct {
				name  string
				kinds []docker.Kind
				want  string
			}{
				{name: "cpu with baseline", kinds: []docker.Kind{docker.CPU}, want: "cpu_percent"},
				{name: "cpu memory pids with baseline", kinds: []docker.Kind{docker.CPU, docker.Memory, docker.PIDs}, want: "pids_current"},
				{name: "blkio network with baseline", kinds: []docker.Kind{docker.BlockIO, docker.Network}, want: "network_rx_bytes"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					m, err := docker.NewResources(col, store, "conformance", tc.kinds...)
					require.NoError(t, err)
					_, _ = m.Check(context.Background(), running) // lay the baseline
					time.Sleep(settle)
					monitortest.TestMonitor(t, m, running)
					time.Sleep(settle)
					res, err := m.Check(context.Background(), running)
					require.NoError(t, err)
					_, ok := res.Sample(tc.want, nil)
					assert.True(t, ok, "%s in %v", tc.want, res.Samples)
				})
			}
		})
	}
}
