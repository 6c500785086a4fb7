package cgroupfs_test

import (
	"context"
	"io/fs"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/monitor/docker/internal/cgroupfs"
)

const (
	cgroupRoot = "/sys/fs/cgroup"
	procRoot   = "/proc"
)

// engine connects to the real engine (skipping, or failing under
// MINATO_REQUIRE_DOCKER=1, when there is none) and returns the harness, a
// minato client and a Reader configured from the engine's Info. It skips
// when the cgroup file system is not readable here.
func engine(tb testing.TB) (*dockertest.Harness, *container.Client, *cgroupfs.Reader) {
	tb.Helper()
	h := dockertest.New(tb)
	if !cgroupfs.Available(cgroupRoot) {
		tb.Skipf("%s is not readable here", cgroupRoot)
	}
	cfg := container.DefaultConfig()
	cfg.Host = h.Host
	c, err := container.New(cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = c.Close() })
	info, err := c.Info(context.Background())
	require.NoError(tb, err)
	r, err := cgroupfs.New(cgroupRoot, procRoot, info.CgroupDriver, info.CgroupVersion)
	require.NoError(tb, err)
	tb.Logf("engine %s: cgroup driver %s, version %s", info.ServerVersion, info.CgroupDriver, info.CgroupVersion)
	return h, c, r
}

// start runs a test container and returns its ID and main PID.
func start(tb testing.TB, h *dockertest.Harness, c *container.Client, o dockertest.RunOptions) (string, int) {
	tb.Helper()
	ctr := h.Run(tb, o)
	h.WaitState(tb, ctr.ID, "running", 20*time.Second)
	in, err := c.Inspect(context.Background(), ctr.ID, container.InspectOptions{})
	require.NoError(tb, err)
	require.NotZero(tb, in.Pid)
	return ctr.ID, in.Pid
}

// within reports whether got is within frac of want.
func within(want, got uint64, frac float64) bool {
	d := float64(want) - float64(got)
	if d < 0 {
		d = -d
	}
	return d <= frac*float64(want)
}

// between reports whether v lies in [lo−frac·lo, hi+frac·hi].
func between(lo, v, hi uint64, frac float64) bool {
	return float64(v) >= float64(lo)*(1-frac) && float64(v) <= float64(hi)*(1+frac)
}

func TestRealEngineAgreesWithAPI(t *testing.T) {
	h, c, r := engine(t)
	ctx := context.Background()

	type workload struct {
		name string
		opts dockertest.RunOptions
	}
	for _, w := range []workload{
		{"burner", dockertest.RunOptions{Args: []string{"burn", "1", "1h"}}},
		{"alloc", dockertest.RunOptions{Args: []string{"alloc", "64", "--", "sleep", "forever"}, Memory: 128 << 20}},
		{"spawn", dockertest.RunOptions{Args: []string{"spawn", "3", "--", "sleep", "forever"}}},
	} {
		t.Run(w.name, func(t *testing.T) {
			id, pid := start(t, h, c, w.opts)
			// Let the workload reach its steady state (memory allocated,
			// children and runtime threads started).
			require.Eventually(t, func() bool {
				a, err := r.Stats(id, pid)
				require.NoError(t, err)
				time.Sleep(200 * time.Millisecond)
				b, err := r.Stats(id, pid)
				require.NoError(t, err)
				steady := a.PIDs.Current == b.PIDs.Current && within(a.Memory.Usage, b.Memory.Usage, 0.01)
				if w.name == "alloc" {
					steady = steady && b.Memory.Usage >= 64<<20
				}
				if w.name == "spawn" {
					steady = steady && b.PIDs.Current >= 4
				}
				return steady
			}, 20*time.Second, 100*time.Millisecond)

			// Direct, API, direct: the API's sample was taken between the two.
			var d1, d2 container.Stats
			var api container.StatsResult
			for attempt := 0; ; attempt++ {
				var err error
				d1, err = r.Stats(id, pid)
				require.NoError(t, err)
				api, err = c.Stats(ctx, id, container.StatsOptions{})
				require.NoError(t, err)
				d2, err = r.Stats(id, pid)
				require.NoError(t, err)
				// The pid count may move while a Go runtime starts a thread;
				// take a sample where it held still.
				if d1.PIDs.Current == d2.PIDs.Current || attempt == 2 {
					break
				}
			}
			a := api.Stats
			t.Logf("direct %v→%v (%v apart), api read %v", d1.Read.Format(time.StampMicro), d2.Read.Format(time.StampMicro), d2.Read.Sub(d1.Read), a.Read.Format(time.StampMicro))
			t.Logf("cpu total: direct %d / api %d / direct %d", d1.CPU.TotalUsage, a.CPU.TotalUsage, d2.CPU.TotalUsage)
			t.Logf("memory usage: direct %d / api %d / direct %d; limit %d / %d", d1.Memory.Usage, a.Memory.Usage, d2.Memory.Usage, d1.Memory.Limit, a.Memory.Limit)
			t.Logf("pids: direct %d / api %d / direct %d", d1.PIDs.Current, a.PIDs.Current, d2.PIDs.Current)
			t.Logf("networks: direct %+v / api %+v; blkio: direct %v / api %v", d1.Networks, a.Networks, d1.BlkIO, a.BlkIO)

			assert.Equal(t, id, d1.ID)
			assert.True(t, between(d1.CPU.TotalUsage, a.CPU.TotalUsage, d2.CPU.TotalUsage, 0.02),
				"API CPU total %d not between the direct reads %d and %d (±2 %%)", a.CPU.TotalUsage, d1.CPU.TotalUsage, d2.CPU.TotalUsage)
			assert.True(t, between(d1.CPU.System, a.CPU.System, d2.CPU.System, 0.02),
				"API system CPU %d not between the direct reads %d and %d", a.CPU.System, d1.CPU.System, d2.CPU.System)
			assert.True(t, between(d1.CPU.User+d1.CPU.Kernel, a.CPU.User+a.CPU.Kernel, d2.CPU.User+d2.CPU.Kernel, 0.05),
				"user+kernel: direct %d/%d, api %d/%d", d1.CPU.User, d1.CPU.Kernel, a.CPU.User, a.CPU.Kernel)
			assert.Equal(t, a.CPU.OnlineCPUs, d1.CPU.OnlineCPUs)
			if len(a.CPU.PerCPU) > 0 {
				assert.Len(t, d1.CPU.PerCPU, min(len(a.CPU.PerCPU), int(d1.CPU.OnlineCPUs)))
			} else {
				assert.Empty(t, d1.CPU.PerCPU)
			}

			assert.True(t, within(a.Memory.Usage, d1.Memory.Usage, 0.05), "memory usage: direct %d, api %d", d1.Memory.Usage, a.Memory.Usage)
			assert.Equal(t, a.Memory.Limit, d1.Memory.Limit)
			assert.Equal(t, a.Memory.Failcnt, d1.Memory.Failcnt)
			if a.Memory.MaxUsage > 0 {
				assert.True(t, within(a.Memory.MaxUsage, d1.Memory.MaxUsage, 0.05), "max usage: direct %d, api %d", d1.Memory.MaxUsage, a.Memory.MaxUsage)
			}
			for k := range a.Memory.Stats {
				assert.Contains(t, d1.Memory.Stats, k, "memory.stat key the API reports")
			}
			if w.name == "alloc" {
				assert.Equal(t, uint64(128<<20), d1.Memory.Limit)
			}

			assert.True(t, a.PIDs.Current == d1.PIDs.Current || a.PIDs.Current == d2.PIDs.Current,
				"pids: direct %d and %d, api %d", d1.PIDs.Current, d2.PIDs.Current, a.PIDs.Current)
			assert.Equal(t, a.PIDs.Limit, d1.PIDs.Limit)

			assert.Equal(t, len(a.BlkIO), len(d1.BlkIO), "blkio entries: direct %v, api %v", d1.BlkIO, a.BlkIO)

			require.Equal(t, len(a.Networks), len(d1.Networks), "interfaces: direct %v, api %v", d1.Networks, a.Networks)
			for name, an := range a.Networks {
				n1, n2 := d1.Networks[name], d2.Networks[name]
				assert.True(t, between(n1.RxBytes, an.RxBytes, n2.RxBytes, 0.05), "%s rx bytes: direct %d..%d, api %d", name, n1.RxBytes, n2.RxBytes, an.RxBytes)
				assert.True(t, between(n1.TxBytes, an.TxBytes, n2.TxBytes, 0.05), "%s tx bytes: direct %d..%d, api %d", name, n1.TxBytes, n2.TxBytes, an.TxBytes)
				assert.True(t, between(n1.RxPackets, an.RxPackets, n2.RxPackets, 0.05), "%s rx packets", name)
				assert.True(t, between(n1.TxPackets, an.TxPackets, n2.TxPackets, 0.05), "%s tx packets", name)
			}

			if w.name == "burner" {
				// Per-core CPU % from two direct samples 2 s apart, with the
				// wall-clock denominator (2 s averages out the scheduling of
				// the other workloads on a 2-core machine).
				s1, err := r.Stats(id, pid)
				require.NoError(t, err)
				time.Sleep(2 * time.Second)
				s2, err := r.Stats(id, pid)
				require.NoError(t, err)
				pct := float64(s2.CPU.TotalUsage-s1.CPU.TotalUsage) / float64(s2.Read.Sub(s1.Read).Nanoseconds()) * 100
				// And the docker stats formula on the same pair.
				dockerPct := float64(s2.CPU.TotalUsage-s1.CPU.TotalUsage) / float64(s2.CPU.System-s1.CPU.System) * float64(s2.CPU.OnlineCPUs) * 100
				t.Logf("burner CPU: %.1f %% (wall clock), %.1f %% (docker stats formula)", pct, dockerPct)
				assert.InDelta(t, 100, pct, 15)
			}
		})
	}

	t.Run("network", func(t *testing.T) {
		// 8 MiB from a sender to a listener: the listener's eth0 counters
		// from /proc/<pid>/net/dev against the engine's (netlink).
		id, pid := start(t, h, c, dockertest.RunOptions{Args: []string{"listen", "0.0.0.0:9000"}})
		in, err := h.Client.ContainerInspect(ctx, id)
		require.NoError(t, err)
		var ip string
		for _, n := range in.NetworkSettings.Networks {
			if n.IPAddress != "" {
				ip = n.IPAddress
			}
		}
		require.NotEmpty(t, ip)
		start(t, h, c, dockertest.RunOptions{Args: []string{"send", ip + ":9000", "8", "--", "sleep", "forever"}})
		require.Eventually(t, func() bool {
			s, err := r.Stats(id, pid)
			require.NoError(t, err)
			return s.Networks["eth0"].RxBytes >= 8<<20
		}, 20*time.Second, 100*time.Millisecond)
		d1, err := r.Stats(id, pid)
		require.NoError(t, err)
		api, err := c.Stats(ctx, id, container.StatsOptions{})
		require.NoError(t, err)
		d2, err := r.Stats(id, pid)
		require.NoError(t, err)
		a, n1, n2 := api.Stats.Networks["eth0"], d1.Networks["eth0"], d2.Networks["eth0"]
		t.Logf("eth0: direct %+v / api %+v", n1, a)
		assert.True(t, within(a.RxBytes, n1.RxBytes, 0.05), "rx bytes: direct %d, api %d", n1.RxBytes, a.RxBytes)
		assert.True(t, within(a.TxBytes, n1.TxBytes, 0.05), "tx bytes: direct %d, api %d", n1.TxBytes, a.TxBytes)
		assert.True(t, between(n1.RxBytes, a.RxBytes, n2.RxBytes, 0.05))
		assert.True(t, between(n1.TxPackets, a.TxPackets, n2.TxPackets, 0.05))
	})

	t.Run("stopped", func(t *testing.T) {
		id, pid := start(t, h, c, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
		zero := time.Duration(0)
		_, err := c.Stop(ctx, id, container.StopOptions{Grace: &zero})
		require.NoError(t, err)
		h.WaitState(t, id, "exited", 20*time.Second)
		_, err = r.Stats(id, pid)
		assert.ErrorContains(t, err, id[:12])
		assert.ErrorIs(t, err, fs.ErrNotExist)
	})
}
