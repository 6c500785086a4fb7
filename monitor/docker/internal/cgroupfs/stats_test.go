package cgroupfs_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/monitor/docker/internal/cgroupfs"
)

// Container IDs of the fixture trees under testdata (see testdata/README.md).
const (
	idV1    = "3f9a0c1d2e4b5a6978695a4b3c2d1e0f3f9a0c1d2e4b5a6978695a4b3c2d1e0f" // v1-cgroupfs, /docker/ID, pid 4242
	idV1Own = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00" // v1-cgroupfs, /custom-parent/ID, pid 4343
	idSysd  = "b16b00b5b16b00b5b16b00b5b16b00b5b16b00b5b16b00b5b16b00b5b16b00b5" // v1-systemd
	idV2    = "d00dfeedd00dfeedd00dfeedd00dfeedd00dfeedd00dfeedd00dfeedd00dfeed" // v2, system.slice scope, pid 5151
	idV2Min = "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1" // v2, /docker/ID, optional files missing
)

const (
	memTotal = 24682416 * 1024
	// systemNS is the fixture /proc/stat "cpu" line's first seven numbers
	// in ticks, in nanoseconds.
	systemNS = (104629 + 0 + 64991 + 170361 + 1944 + 0 + 1028) * 10_000_000
)

func fixture(t *testing.T, tree, driver, version string) *cgroupfs.Reader {
	t.Helper()
	base := filepath.Join("testdata", tree)
	r, err := cgroupfs.New(filepath.Join(base, "sys/fs/cgroup"), filepath.Join(base, "proc"), driver, version)
	require.NoError(t, err)
	return r
}

var fixtureNet = map[string]container.NetworkStats{
	"eth0": {RxBytes: 1234567, RxPackets: 890, RxErrors: 1, RxDropped: 2, TxBytes: 65432, TxPackets: 321, TxErrors: 3, TxDropped: 4},
}

func TestDetect(t *testing.T) {
	for tree, want := range map[string]string{"v1-cgroupfs": "1", "v1-systemd": "1", "v2": "2"} {
		root := filepath.Join("testdata", tree, "sys/fs/cgroup")
		v, err := cgroupfs.Detect(root)
		require.NoError(t, err, tree)
		assert.Equal(t, want, v, tree)
		assert.True(t, cgroupfs.Available(root), tree)
		r, err := cgroupfs.New(root, filepath.Join("testdata", tree, "proc"), "", "")
		require.NoError(t, err, tree)
		assert.Equal(t, want, r.Version(), tree)
	}
	_, err := cgroupfs.Detect(filepath.Join("testdata", "nonexistent"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.False(t, cgroupfs.Available(filepath.Join("testdata", "nonexistent")))
	assert.False(t, cgroupfs.Available(filepath.Join("testdata", "v1-cgroupfs", "proc")), "a v1 tree needs memory and cpuacct")
}

func TestNewRejects(t *testing.T) {
	root, proc := filepath.Join("testdata", "v2", "sys/fs/cgroup"), filepath.Join("testdata", "v2", "proc")
	_, err := cgroupfs.New(root, proc, "lxc", "2")
	assert.ErrorContains(t, err, `unknown cgroup driver "lxc"`)
	_, err = cgroupfs.New(root, proc, "systemd", "3")
	assert.ErrorContains(t, err, `unknown cgroup version "3"`)
	_, err = cgroupfs.New(root, t.TempDir(), "systemd", "2")
	assert.ErrorIs(t, err, fs.ErrNotExist, "no meminfo")
}

func TestStatsV1Cgroupfs(t *testing.T) {
	r := fixture(t, "v1-cgroupfs", "cgroupfs", "1")
	want := container.Stats{
		ID: idV1,
		CPU: container.CPUStats{
			TotalUsage: 41900087, PerCPU: []uint64{39820720, 2079367}, // truncated to the 2 online CPUs
			User: 10_000_000, Kernel: 20_000_000, System: systemNS, OnlineCPUs: 2,
			Periods: 10, ThrottledPeriods: 3, ThrottledTime: 4500000,
		},
		Memory: container.MemoryStats{Usage: 5685248, MaxUsage: 5718016, Limit: 134217728, Failcnt: 7},
		BlkIO: []container.BlkIOEntry{
			{Major: 8, Op: "Read", Value: 4096}, {Major: 8, Op: "Write", Value: 8192}, {Major: 8, Op: "Sync", Value: 12288},
			{Major: 8, Op: "Async"}, {Major: 8, Op: "Discard"}, {Major: 8, Op: "Total", Value: 12288},
		},
		Networks: fixtureNet,
		PIDs:     container.PIDStats{Current: 4, Limit: 100},
	}
	for _, pid := range []int{4242, 0, 4444 /* reused PID: not this container's cgroup */, 99999 /* gone */} {
		before := time.Now()
		s, err := r.Stats(idV1, pid)
		require.NoError(t, err, "pid %d", pid)
		assert.WithinRange(t, s.Read, before, time.Now())
		s.Read = time.Time{}
		require.Len(t, s.Memory.Stats, 36, "every key of memory.stat")
		assert.Equal(t, uint64(2236416), s.Memory.Stats["total_inactive_file"])
		assert.Equal(t, uint64(2134016), s.Memory.Stats["rss"])
		s.Memory.Stats = nil
		w := want
		switch pid {
		case 0, 4444, 99999:
			w.Networks = nil
		}
		assert.Equal(t, w, s, "pid %d", pid)
	}
}

func TestStatsV1ResolvedThroughProc(t *testing.T) {
	r := fixture(t, "v1-cgroupfs", "cgroupfs", "1")
	// This container lives under a custom cgroup parent, so only
	// /proc/<pid>/cgroup finds it.
	s, err := r.Stats(idV1Own, 4343)
	require.NoError(t, err)
	assert.Equal(t, uint64(41900087), s.CPU.TotalUsage)
	assert.Equal(t, uint64(memTotal), s.Memory.Limit, "the v1 no-limit value is reported as MemTotal")
	assert.Equal(t, uint64(0), s.PIDs.Limit, "pids.max max")
	assert.Equal(t, fixtureNet, s.Networks)

	_, err = r.Stats(idV1Own, 0)
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, "container c0ffee00c0ff:")
	assert.ErrorContains(t, err, filepath.Join("memory", "docker", idV1Own))
	assert.ErrorContains(t, err, filepath.Join("memory", "system.slice", "docker-"+idV1Own+".scope"))
}

func TestStatsV1Systemd(t *testing.T) {
	r := fixture(t, "v1-systemd", "systemd", "1")
	s, err := r.Stats(idSysd, 0)
	require.NoError(t, err)
	s.Read = time.Time{}
	assert.Equal(t, container.Stats{
		ID: idSysd,
		CPU: container.CPUStats{
			TotalUsage: 2_000_000_000, PerCPU: []uint64{1_500_000_000, 500_000_000},
			User: 1_500_000_000, Kernel: 500_000_000, System: systemNS, OnlineCPUs: 2,
		},
		Memory: container.MemoryStats{
			Usage: 104857600, MaxUsage: 209715200, Limit: memTotal,
			Stats: map[string]uint64{"cache": 4096, "rss": 100000000, "total_inactive_file": 4096, "total_rss": 100000000},
		},
	}, s, "joint cpu,cpuacct mount; no pids controller, no blkio files: zero, not errors")

	// The cgroupfs driver order finds the systemd layout too, second.
	r = fixture(t, "v1-systemd", "cgroupfs", "1")
	_, err = r.Stats(idSysd, 0)
	require.NoError(t, err)
}

func TestStatsV2(t *testing.T) {
	r := fixture(t, "v2", "systemd", "2")
	want := container.Stats{
		ID: idV2,
		CPU: container.CPUStats{
			TotalUsage: 2_500_000_000, User: 2_000_000_000, Kernel: 500_000_000, System: systemNS, OnlineCPUs: 2,
			Periods: 100, ThrottledPeriods: 25, ThrottledTime: 1_250_000_000,
		},
		Memory: container.MemoryStats{Usage: 73400320, Limit: 134217728, Failcnt: 2},
		BlkIO: []container.BlkIOEntry{
			{Major: 8, Op: "read", Value: 1048576}, {Major: 8, Op: "write", Value: 2097152},
			{Major: 253, Minor: 1, Op: "read"}, {Major: 253, Minor: 1, Op: "write", Value: 4096},
		},
		Networks: fixtureNet,
		PIDs:     container.PIDStats{Current: 4, Limit: 512},
	}
	for _, pid := range []int{5151, 0} {
		s, err := r.Stats(idV2, pid)
		require.NoError(t, err)
		s.Read = time.Time{}
		assert.Nil(t, s.CPU.PerCPU, "no per-CPU usage on cgroup v2")
		assert.Len(t, s.Memory.Stats, 17)
		assert.Equal(t, uint64(3145728), s.Memory.Stats["inactive_file"])
		assert.Equal(t, uint64(67108864), s.Memory.Stats["anon"])
		s.Memory.Stats = nil
		w := want
		if pid == 0 {
			w.Networks = nil
		}
		assert.Equal(t, w, s, "pid %d", pid)
	}
}

func TestStatsV2MaxAndMissingOptional(t *testing.T) {
	r := fixture(t, "v2", "systemd", "2")
	s, err := r.Stats(idV2Min, 0)
	require.NoError(t, err)
	s.Read = time.Time{}
	assert.Equal(t, container.Stats{
		ID:     idV2Min,
		CPU:    container.CPUStats{TotalUsage: 1_000_000, User: 600_000, Kernel: 400_000, System: systemNS, OnlineCPUs: 2},
		Memory: container.MemoryStats{Usage: 1048576, Limit: memTotal, Stats: map[string]uint64{"anon": 524288, "file": 0, "inactive_file": 0}},
	}, s)
}

func TestStatsErrors(t *testing.T) {
	r := fixture(t, "v2", "", "2")
	_, err := r.Stats("0123456789abcdef", 0)
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, "container 0123456789ab:")
	assert.ErrorContains(t, err, filepath.Join("cgroup", "docker", "0123456789abcdef"))
	for _, bad := range []string{"", "../x", "a/b"} {
		_, err := r.Stats(bad, 0)
		assert.ErrorContains(t, err, "invalid container ID", "%q", bad)
	}
}

func TestStatsMalformedFile(t *testing.T) {
	// Copy the v2 tree and corrupt one file: the error names the file.
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "v2"))))
	scope := filepath.Join(dir, "sys/fs/cgroup/system.slice/docker-"+idV2+".scope")
	require.NoError(t, os.WriteFile(filepath.Join(scope, "memory.stat"), []byte("anon lots\n"), 0o644))
	r, err := cgroupfs.New(filepath.Join(dir, "sys/fs/cgroup"), filepath.Join(dir, "proc"), "systemd", "2")
	require.NoError(t, err)
	_, err = r.Stats(idV2, 5151)
	assert.ErrorContains(t, err, filepath.Join(scope, "memory.stat"))

	// A removed cgroup whose process still shows the path: not-exist.
	require.NoError(t, os.RemoveAll(scope))
	_, err = r.Stats(idV2, 5151)
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, "container d00dfeedd00d:")
	assert.ErrorContains(t, err, scope)
}

var newReader = cgroupfs.New
