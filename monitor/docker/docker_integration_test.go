package docker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
	"github.com/minato-ops/minato/monitor/docker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func engine(t *testing.T) (*dockertest.Harness, *container.Client) {
	t.Helper()
	h := dockertest.New(t)
	return h, clienttest.New(t, h)
}

func targetsOf(t *testing.T, c *container.Client, ids ...string) []inventory.Target {
	t.Helper()
	var out []inventory.Target
	for _, id := range ids {
		ts, err := c.Resolve(context.Background(), inventory.Selector{IDs: []string{id}})
		require.NoError(t, err)
		require.Len(t, ts, 1)
		out = append(out, ts[0])
	}
	return out
}

func sample(t *testing.T, r monitor.Result, name string) float64 {
	t.Helper()
	s, ok := r.Sample(name, nil)
	require.True(t, ok, "sample %s missing from %v", name, r.Samples)
	return s.Value
}

// procCPU returns the CPU time (utime + stime) the kernel counted for
// process pid, from /proc/<pid>/stat: an independent reading of what a
// container's main process used.
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	// The fields after the command name (which may hold spaces) in
	// parentheses: state is field 3, utime 14 and stime 15.
	rest := string(b[bytes.LastIndexByte(b, ')')+2:])
	f := strings.Fields(rest)
	utime, err := strconv.ParseInt(f[11], 10, 64)
	require.NoError(t, err)
	stime, err := strconv.ParseInt(f[12], 10, 64)
	require.NoError(t, err)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clkTck
}

// TestAccuracyCPUAndMemory checks the numbers against known workloads in
// every collection mode: a container burning one core reads what the
// kernel's own accounting of its process says over the same window (± 15
// points, so that a busy machine, where the burner gets less than a core,
// cannot fail it), an idle one under 5 %; 64 MiB touched under a 128 MiB
// limit read about 50 % of the limit with a working set of 64 MiB ± 10 %.
func TestAccuracyCPUAndMemory(t *testing.T) {
	h, c := engine(t)
	burner := h.Run(t, dockertest.RunOptions{Args: []string{"burn", "1", "1h"}})
	idle := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	mem := h.Run(t, dockertest.RunOptions{Args: []string{"alloc", "64", "--", "print", "ready", "--", "sleep", "forever"}, Memory: 128 << 20})
	for _, x := range []dockertest.Container{burner, idle, mem} {
		h.WaitState(t, x.ID, "running", 10*time.Second)
	}
	ts := targetsOf(t, c, burner.ID, idle.ID, mem.ID)
	time.Sleep(time.Second) // let the allocation finish and the burner settle
	ctx := context.Background()
	ins, err := c.Inspect(ctx, burner.ID, container.InspectOptions{})
	require.NoError(t, err)
	burnerPID := ins.Pid
	require.Positive(t, burnerPID)

	for _, mode := range []string{docker.ModeOneShot, docker.ModeDirect, docker.ModeStream, docker.ModeTwoSample} {
		t.Run(mode, func(t *testing.T) {
			cfg := docker.DefaultCollectorConfig()
			cfg.Mode = mode
			col, err := docker.NewCollector(c, cfg)
			require.NoError(t, err)
			defer col.Close()
			store, err := baseline.Open(t.TempDir())
			require.NoError(t, err)
			m, err := docker.NewResources(col, store, "acc", docker.CPU, docker.Memory, docker.PIDs)
			require.NoError(t, err)

			// First run: no baseline, so CPU is absent but memory is there.
			res, errs, err := m.CheckAll(ctx, ts)
			require.NoError(t, err)
			for i := range ts {
				require.NoError(t, errs[i], "memory needs no baseline")
				_, ok := res[i].Sample("cpu_percent", nil)
				assert.False(t, ok, "no CPU value on the first run of a key")
				assert.Contains(t, res[i].Message, "no baseline")
				for _, s := range res[i].Samples {
					assert.Equal(t, monitor.Mode(mode), s.Mode)
				}
			}
			cpu0, t0 := procCPU(t, burnerPID), time.Now()
			time.Sleep(2 * time.Second)
			res, errs, err = m.CheckAll(ctx, ts)
			require.NoError(t, err)
			cpu1, t1 := procCPU(t, burnerPID), time.Now()
			for i := range ts {
				require.NoError(t, errs[i])
			}
			kernel := 100 * float64(cpu1-cpu0) / float64(t1.Sub(t0))
			assert.Greater(t, kernel, 20.0, "the burner got less than a fifth of a core: the machine is too busy to tell")
			assert.InDelta(t, kernel, sample(t, res[0], "cpu_percent"), 15, "a container burning one core, against the kernel's count of its process in the same window")
			assert.Less(t, sample(t, res[1], "cpu_percent"), 5.0, "an idle container")
			assert.InDelta(t, 50, sample(t, res[2], "memory_limit_percent"), 5, "64 MiB of a 128 MiB limit")
			assert.InDelta(t, 64<<20, sample(t, res[2], "memory_working_set_bytes"), 0.1*(64<<20))
			assert.Equal(t, float64(128<<20), sample(t, res[2], "memory_limit_bytes"))
			pids := sample(t, res[1], "pids_current") // tasks: the Go runtime's threads count
			assert.GreaterOrEqual(t, pids, 1.0)
			assert.Less(t, pids, 64.0)
			if cores := 0; true {
				for _, s := range res[0].Samples {
					if s.Name == "cpu_core_percent" {
						cores++
					}
				}
				if col.Info().CgroupVersion == "1" {
					assert.Positive(t, cores, "per-core values on cgroup v1")
				}
			}
		})
	}
}

// TestAccuracyNetwork sends 10 MiB from one test container to another and
// expects the sender's tx delta to be at least 10 MiB and under 11 MiB.
func TestAccuracyNetwork(t *testing.T) {
	h, c := engine(t)
	net := h.Network(t, "")
	listener := h.Run(t, dockertest.RunOptions{Args: []string{"listen", ":9000"}, NetworkID: net})
	h.WaitState(t, listener.ID, "running", 10*time.Second)
	sender := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "3s", "--", "send", listener.Name + ":9000", "10", "--", "sleep", "forever"}, NetworkID: net})
	h.WaitState(t, sender.ID, "running", 10*time.Second)
	ts := targetsOf(t, c, sender.ID, listener.ID)

	col, err := docker.NewCollector(c, docker.DefaultCollectorConfig())
	require.NoError(t, err)
	store, err := baseline.Open(t.TempDir())
	require.NoError(t, err)
	m, err := docker.NewResources(col, store, "net", docker.Network)
	require.NoError(t, err)
	ctx := context.Background()
	_, errs, err := m.CheckAll(ctx, ts)
	require.NoError(t, err)
	assert.ErrorIs(t, errs[0], monitor.ErrNoBaseline, "the first run has no value")
	time.Sleep(6 * time.Second) // the sender starts after 3 s; 10 MiB over a bridge takes well under a second
	res, errs, err := m.CheckAll(ctx, ts)
	require.NoError(t, err)
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	tx := sample(t, res[0], "network_tx_bytes")
	assert.GreaterOrEqual(t, tx, float64(10<<20))
	assert.Less(t, tx, float64(11<<20))
	rx := sample(t, res[1], "network_rx_bytes")
	assert.GreaterOrEqual(t, rx, float64(10<<20))
	assert.Less(t, rx, float64(11<<20))
	assert.Positive(t, sample(t, res[0], "network_tx_packets"))
	assert.Positive(t, sample(t, res[0], "network_tx_bytes_per_second"))
}

// TestRestartMeansNoValue: after a restart the counters start again, so the
// next run must give no value (and a new baseline), never a negative one.
func TestRestartMeansNoValue(t *testing.T) {
	h, c := engine(t)
	x := h.Run(t, dockertest.RunOptions{Args: []string{"burn", "1", "1h"}})
	h.WaitState(t, x.ID, "running", 10*time.Second)
	ts := targetsOf(t, c, x.ID)
	cfg := docker.DefaultCollectorConfig()
	col, err := docker.NewCollector(c, cfg)
	require.NoError(t, err)
	store, err := baseline.Open(t.TempDir())
	require.NoError(t, err)
	m, err := docker.NewResources(col, store, "rs", docker.CPU, docker.Network)
	require.NoError(t, err)
	ctx := context.Background()
	_, _, err = m.CheckAll(ctx, ts)
	require.NoError(t, err)
	time.Sleep(1500 * time.Millisecond)
	zero := time.Duration(0)
	_, err = c.Restart(ctx, x.ID, container.StopOptions{Grace: &zero})
	require.NoError(t, err)
	h.WaitState(t, x.ID, "running", 10*time.Second)
	_, errs, err := m.CheckAll(ctx, ts)
	require.NoError(t, err)
	assert.ErrorIs(t, errs[0], monitor.ErrNoBaseline, "a restart resets the baseline")
	time.Sleep(1500 * time.Millisecond)
	res, errs, err := m.CheckAll(ctx, ts)
	require.NoError(t, err)
	require.NoError(t, errs[0])
	assert.InDelta(t, 100, sample(t, res[0], "cpu_percent"), 15)
}

func TestProcessesAndState(t *testing.T) {
	h, c := engine(t)
	x := h.Run(t, dockertest.RunOptions{Args: []string{"spawn", "3", "--", "sleep", "forever"}})
	h.WaitState(t, x.ID, "running", 10*time.Second)
	ts := targetsOf(t, c, x.ID)
	ctx := context.Background()
	all, err := docker.NewProcesses(c, "")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		r, err := all.Check(ctx, ts[0])
		return err == nil && sample(t, r, "processes") == 4
	}, 10*time.Second, 100*time.Millisecond, "3 spawned processes count 3 + 1")
	sleepers, err := docker.NewProcesses(c, "^/testbox sleep forever$")
	require.NoError(t, err)
	r, err := sleepers.Check(ctx, ts[0])
	require.NoError(t, err)
	assert.Equal(t, 3.0, sample(t, r, "processes"), "only the children run 'sleep forever' as their whole command line")
	_, err = docker.NewProcesses(c, "(")
	assert.Error(t, err)

	st := docker.NewState(c)
	r, err = st.Check(ctx, ts[0])
	require.NoError(t, err)
	assert.Equal(t, monitor.OK, r.Status)
	assert.Equal(t, "running", r.Message)
	oom := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "300ms", "--", "alloc", "128", "--", "sleep", "forever"}, Memory: 32 << 20})
	h.WaitState(t, oom.ID, "exited", 20*time.Second)
	r, err = st.Check(ctx, targetsOf(t, c, oom.ID)[0])
	require.NoError(t, err)
	assert.Equal(t, monitor.Critical, r.Status)
	assert.Equal(t, "exited", r.Message)
	assert.Equal(t, 1.0, sample(t, r, "container_oom_killed"))
	assert.Equal(t, 137.0, sample(t, r, "container_exit_code"))

	// A stopped container has no processes to list and no resources to sample.
	_, err = all.Check(ctx, targetsOf(t, c, oom.ID)[0])
	assert.True(t, container.IsConflict(err), "%v", err)
	col, _ := docker.NewCollector(c, docker.DefaultCollectorConfig())
	mem, _ := docker.NewResources(col, nil, "", docker.Memory)
	_, errs, err := mem.CheckAll(ctx, targetsOf(t, c, oom.ID))
	require.NoError(t, err)
	assert.ErrorContains(t, errs[0], "container is exited")
}

func TestEngineMonitors(t *testing.T) {
	h, c := engine(t)
	ctx := context.Background()
	r, err := docker.NewHostStatus(c).Check(ctx, docker.EngineTarget(c))
	require.NoError(t, err)
	assert.Equal(t, 0.0, sample(t, r, "engine_status"))

	down := container.DefaultConfig()
	down.Host = dockertest.Unreachable(t)
	dc, err := container.New(down)
	require.NoError(t, err)
	r, err = docker.NewHostStatus(dc).Check(ctx, docker.EngineTarget(dc))
	require.NoError(t, err, "an unreachable engine is a value, not an error")
	assert.Equal(t, 1.0, sample(t, r, "engine_status"))
	assert.Equal(t, monitor.Critical, r.Status)
	_, err = docker.NewContainerCount(dc).Check(ctx, docker.EngineTarget(dc))
	assert.True(t, errors.Is(err, container.ErrUnreachable))

	x := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	h.WaitState(t, x.ID, "running", 10*time.Second)
	r, err = docker.NewContainerCount(c).Check(ctx, docker.EngineTarget(c))
	require.NoError(t, err)
	require.Len(t, r.Samples, len(docker.CountStates))
	assert.Equal(t, "running", r.Samples[0].Labels["state"])
	assert.GreaterOrEqual(t, r.Samples[0].Value, 1.0)

	r, err = docker.NewDiskUsage(c).Check(ctx, docker.EngineTarget(c))
	require.NoError(t, err)
	assert.Positive(t, sample(t, r, "disk_images_bytes"))
}
