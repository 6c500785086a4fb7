package cgroupfs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/container"
)

func TestParseUintAndMax(t *testing.T) {
	for _, tc := range []struct {
		in        string
		want      uint64
		unlimited bool
		err       bool
	}{
		{in: "41900087\n", want: 41900087},
		{in: "  0  ", want: 0},
		{in: "9223372036854771712\n", want: 9223372036854771712},
		{in: "max\n", unlimited: true},
		{in: "", err: true},
		{in: "-1\n", err: true},
		{in: "12 34\n", err: true},
		{in: "18446744073709551616", err: true},
	} {
		v, unlimited, err := parseMax([]byte(tc.in))
		if tc.err {
			assert.ErrorIs(t, err, errMalformed, "%q", tc.in)
			continue
		}
		require.NoError(t, err, "%q", tc.in)
		assert.Equal(t, tc.want, v, "%q", tc.in)
		assert.Equal(t, tc.unlimited, unlimited, "%q", tc.in)
	}
	_, err := parseUint([]byte("max"))
	assert.ErrorIs(t, err, errMalformed, "parseUint does not take max")
}

func TestParseUints(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []uint64
		err  bool
	}{
		{in: "39820720 2079367 \n", want: []uint64{39820720, 2079367}},
		{in: "", want: nil},
		{in: "\n", want: nil},
		{in: "1 x 3", err: true},
	} {
		v, err := parseUints([]byte(tc.in))
		if tc.err {
			assert.ErrorIs(t, err, errMalformed, "%q", tc.in)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, v, "%q", tc.in)
	}
}

func TestParseFlatKeyed(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want map[string]uint64
		err  bool
	}{
		{name: "cpuacct.stat", in: "user 1\nsystem 2\n", want: map[string]uint64{"user": 1, "system": 2}},
		{name: "v2 cpu.stat", in: "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 0\n",
			want: map[string]uint64{"usage_usec": 2500000, "user_usec": 2000000, "system_usec": 500000, "nr_periods": 0}},
		{name: "no trailing newline, blank lines", in: "\nanon 5\n\nfile 6", want: map[string]uint64{"anon": 5, "file": 6}},
		{name: "empty", in: "", want: map[string]uint64{}},
		{name: "no value", in: "anon\n", err: true},
		{name: "negative", in: "anon -5\n", err: true},
		{name: "three fields", in: "anon 5 6\n", err: true},
		{name: "max is not a number", in: "memory.max max\n", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseFlatKeyed([]byte(tc.in))
			if tc.err {
				assert.ErrorIs(t, err, errMalformed)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, m)
		})
	}
}

func TestParseBlkio(t *testing.T) {
	v1 := "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 12288\n253:1 Read 1\nTotal 12289\n"
	e, err := parseBlkioV1([]byte(v1))
	require.NoError(t, err)
	assert.Equal(t, []container.BlkIOEntry{
		{Major: 8, Minor: 0, Op: "Read", Value: 4096}, {Major: 8, Minor: 0, Op: "Write", Value: 8192},
		{Major: 8, Minor: 0, Op: "Sync", Value: 12288}, {Major: 8, Minor: 0, Op: "Async", Value: 0},
		{Major: 8, Minor: 0, Op: "Discard", Value: 0}, {Major: 8, Minor: 0, Op: "Total", Value: 12288},
		{Major: 253, Minor: 1, Op: "Read", Value: 1},
	}, e)
	e, err = parseBlkioV1([]byte("Total 0\n"))
	require.NoError(t, err)
	assert.Nil(t, e, "an idle cgroup has only the Total line")
	_, err = parseBlkioV1([]byte("8-0 Read 1\n"))
	assert.ErrorIs(t, err, errMalformed)
	_, err = parseBlkioV1([]byte("8:0 Read x\n"))
	assert.ErrorIs(t, err, errMalformed)

	e, err = parseIOStatV2([]byte("8:0 rbytes=1048576 wbytes=2097152 rios=16 wios=32 dbytes=0 dios=0\n259:0 wbytes=5\n"))
	require.NoError(t, err)
	assert.Equal(t, []container.BlkIOEntry{
		{Major: 8, Minor: 0, Op: "read", Value: 1048576}, {Major: 8, Minor: 0, Op: "write", Value: 2097152},
		{Major: 259, Minor: 0, Op: "read", Value: 0}, {Major: 259, Minor: 0, Op: "write", Value: 5},
	}, e)
	e, err = parseIOStatV2(nil)
	require.NoError(t, err)
	assert.Nil(t, e)
	for _, bad := range []string{"8:0 rbytes\n", "8:0 rbytes=x\n", "x:0 rbytes=1\n"} {
		_, err = parseIOStatV2([]byte(bad))
		assert.ErrorIs(t, err, errMalformed, "%q", bad)
	}
}

func TestParseNetDev(t *testing.T) {
	const header = "Inter-|   Receive                                                |  Transmit\n" +
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
	for _, tc := range []struct {
		name string
		in   string
		want map[string]container.NetworkStats
		err  bool
	}{
		{
			name: "typical",
			in: header +
				"    lo:      10       1    0    0    0     0          0         0       10       1    0    0    0     0       0          0\n" +
				"  eth0:     486       5    1    2    0     0          0         0      100       2    3    4    0     0       0          0\n",
			want: map[string]container.NetworkStats{"eth0": {RxBytes: 486, RxPackets: 5, RxErrors: 1, RxDropped: 2, TxBytes: 100, TxPackets: 2, TxErrors: 3, TxDropped: 4}},
		},
		{
			name: "no space after the colon, several interfaces",
			in: header +
				"  eth0:1234567890     890    0    0    0     0          0         0    65432     321    0    0    0     0       0          0\n" +
				"  eth1:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
			want: map[string]container.NetworkStats{
				"eth0": {RxBytes: 1234567890, RxPackets: 890, TxBytes: 65432, TxPackets: 321},
				"eth1": {RxBytes: 1, RxPackets: 2, RxErrors: 3, RxDropped: 4, TxBytes: 9, TxPackets: 10, TxErrors: 11, TxDropped: 12},
			},
		},
		{
			name: "name with a colon",
			in:   header + "eth0:1:5 0 0 0 0 0 0 0 6 0 0 0 0 0 0 0\n",
			want: map[string]container.NetworkStats{"eth0:1": {RxBytes: 5, TxBytes: 6}},
		},
		{name: "only lo", in: header + "lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n", want: nil},
		{name: "headers only", in: header, want: nil},
		{name: "empty", in: "", want: nil},
		{name: "too few counters", in: header + "eth0: 1 2 3\n", err: true},
		{name: "not a number", in: header + "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n", err: true},
		{name: "no name", in: ": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseNetDev([]byte(tc.in))
			if tc.err {
				assert.ErrorIs(t, err, errMalformed)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, m)
		})
	}
}

func TestParseProcStat(t *testing.T) {
	ps, err := parseProcStat([]byte("cpu  104629 0 64991 170361 1944 0 1028 4053 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\ncpu1 1 2 3 4 5 6 7 8 9 10\nintr 1\ncpufreq 3\n"))
	require.NoError(t, err)
	// Steal (4053), guest and guest_nice are left out, as the engine does.
	assert.Equal(t, procStat{SystemNS: (104629 + 64991 + 170361 + 1944 + 1028) * 10_000_000, CPUs: 2}, ps)
	for _, bad := range []string{"", "intr 1\n", "cpu 1 2 3\n", "cpu 1 2 3 4 5 6 x\n"} {
		_, err := parseProcStat([]byte(bad))
		assert.ErrorIs(t, err, errMalformed, "%q", bad)
	}
}

func TestParseMemTotal(t *testing.T) {
	v, err := parseMemTotal([]byte("MemTotal:       24682416 kB\nMemFree: 1 kB\n"))
	require.NoError(t, err)
	assert.Equal(t, uint64(24682416*1024), v)
	for _, bad := range []string{"", "MemFree: 1 kB\n", "MemTotal: x kB\n", "MemTotal:\n"} {
		_, err := parseMemTotal([]byte(bad))
		assert.ErrorIs(t, err, errMalformed, "%q", bad)
	}
}

func TestParseCPUList(t *testing.T) {
	for in, want := range map[string]uint32{"0-1\n": 2, "0": 1, "0-3,6,8-9": 7, "": 0} {
		n, err := parseCPUList([]byte(in))
		require.NoError(t, err, "%q", in)
		assert.Equal(t, want, n, "%q", in)
	}
	for _, bad := range []string{"3-1", "a", "0-", "0,,1"} {
		_, err := parseCPUList([]byte(bad))
		assert.ErrorIs(t, err, errMalformed, "%q", bad)
	}
}

func TestParseProcCgroup(t *testing.T) {
	id := "f2f65e8482437f52241eb348d82e9e6272f079d34f20578f91a6a7819b51dc15"
	t.Run("v1 hybrid", func(t *testing.T) {
		pc, err := parseProcCgroup([]byte("13:hugetlb:/docker/" + id + "\n9:name=systemd:/docker/" + id + "\n3:cpu,cpuacct:/docker/" + id + "\n4:memory:/docker/" + id + "\n0::/docker/" + id + "\n"))
		require.NoError(t, err)
		assert.Equal(t, "/docker/"+id, pc.V1["memory"])
		assert.Equal(t, "/docker/"+id, pc.V1["cpu"])
		assert.Equal(t, "/docker/"+id, pc.V1["cpuacct"])
		assert.Equal(t, "/docker/"+id, pc.V1["name=systemd"])
		assert.True(t, pc.HasUnified)
	})
	t.Run("v2", func(t *testing.T) {
		pc, err := parseProcCgroup([]byte("0::/system.slice/docker-" + id + ".scope\n"))
		require.NoError(t, err)
		assert.Nil(t, pc.V1)
		assert.True(t, pc.HasUnified)
		assert.Equal(t, "/system.slice/docker-"+id+".scope", pc.Unified)
	})
	t.Run("path with a colon", func(t *testing.T) {
		pc, err := parseProcCgroup([]byte("0::/a:b\n"))
		require.NoError(t, err)
		assert.Equal(t, "/a:b", pc.Unified)
	})
	t.Run("malformed", func(t *testing.T) {
		_, err := parseProcCgroup([]byte("memory\n"))
		assert.ErrorIs(t, err, errMalformed)
	})
	for p, want := range map[string]bool{
		"/docker/" + id: true, "/": true, "/../docker/x": false, "docker/x": false, "/docker//x": false, "/docker/x/": false, "": false,
	} {
		assert.Equal(t, want, cleanCgroupPath(p), "%q", p)
	}
}

// The fuzz targets only check that the parsers never panic and that a
// successful parse is consistent.

func FuzzParseNetDev(f *testing.F) {
	f.Add([]byte("Inter-|   Receive |  Transmit\n face |bytes\n  eth0:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"))
	f.Add([]byte("lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"))
	f.Add([]byte(":::\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseNetDev(b)
		if err != nil && m != nil {
			t.Fatal("result with an error")
		}
		if _, ok := m["lo"]; ok {
			t.Fatal("lo reported")
		}
	})
}

func FuzzParseFlatKeyed(f *testing.F) {
	f.Add([]byte("user 1\nsystem 2\n"))
	f.Add([]byte("anon 5 6\n\n"))
	f.Add([]byte(" \t\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseFlatKeyed(b)
		if err == nil && m == nil {
			t.Fatal("nil map without an error")
		}
	})
}

func FuzzParseBlkio(f *testing.F) {
	f.Add([]byte("8:0 Read 4096\nTotal 1\n"))
	f.Add([]byte("8:0 rbytes=1 wbytes=2 rios=3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseBlkioV1(b)
		if e, err := parseIOStatV2(b); err == nil && len(e)%2 != 0 {
			t.Fatal("io.stat entries not in read/write pairs")
		}
	})
}

func FuzzParseProcFiles(f *testing.F) {
	f.Add([]byte("cpu  1 2 3 4 5 6 7 8\ncpu0 1\n"))
	f.Add([]byte("MemTotal: 1 kB\n"))
	f.Add([]byte("0::/docker/x\n4:memory:/docker/x\n"))
	f.Add([]byte("0-3,5"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseProcStat(b)
		_, _ = parseMemTotal(b)
		_, _ = parseProcCgroup(b)
		_, _ = parseCPUList(b)
		_, _ = parseUints(b)
		_, _, _ = parseMax(b)
	})
}
