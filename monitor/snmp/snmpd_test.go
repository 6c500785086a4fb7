package snmp_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/internal/snmpdtest"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/snmp"
)

// TestAgainstSnmpd runs every integration check against one real net-snmp
// agent started for this test; the subtests run in parallel, and the agent
// is stopped when all of them are done.
func TestAgainstSnmpd(t *testing.T) {
	agent := snmpdtest.Start(t)

	config := func(version string) snmp.Config {
		cfg := snmp.DefaultConfig()
		cfg.Address = agent.Host
		cfg.Port = agent.Port
		cfg.Version = version
		cfg.Community = snmpdtest.Community
		cfg.Timeout = time.Second
		cfg.Retries = 0
		return cfg
	}
	v3config := func(auth, priv string) snmp.Config {
		cfg := config("3")
		cfg.V3 = &snmp.V3Config{
			User:           snmpdtest.V3User,
			SecurityLevel:  snmp.AuthPriv,
			AuthProtocol:   snmpdtest.V3AuthProtocol,
			AuthPassphrase: auth,
			PrivProtocol:   snmpdtest.V3PrivProtocol,
			PrivPassphrase: priv,
		}
		return cfg
	}
	client := func(t *testing.T, cfg snmp.Config) *snmp.Client {
		t.Helper()
		c, err := snmp.New(cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	ctx := func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		t.Cleanup(cancel)
		return ctx
	}

	for _, version := range []string{"1", "2c"} {
		t.Run("v"+version+"/sysDescr and an absent OID", func(t *testing.T) {
			t.Parallel()
			c := client(t, config(version))
			vs, err := c.Get(ctx(t), snmpdtest.SysDescr, ".1.3.6.1.4.1.2021.4.5.0", ".1.3.6.1.4.1.99999.1.0", "1.3.6.1.2.1.1.3.0")
			require.NoError(t, err)
			require.Len(t, vs, 4)
			assert.Equal(t, snmp.TypeString, vs[0].Type)
			assert.Contains(t, vs[0].Text, "Linux")
			assert.Equal(t, snmpdtest.SysDescr, vs[0].OID)
			assert.Equal(t, snmp.TypeInteger, vs[1].Type)
			assert.Positive(t, vs[1].Int)
			// v1 answers noSuchName for the whole request; v2c a
			// per-variable noSuchObject. Both are TypeAbsent.
			assert.False(t, vs[2].Present(), "%v", vs[2])
			assert.Equal(t, ".1.3.6.1.4.1.99999.1.0", vs[2].OID)
			assert.Equal(t, snmp.TypeTimeTicks, vs[3].Type, "sysUpTime after the absent OID is still read")
			assert.Equal(t, ".1.3.6.1.2.1.1.3.0", vs[3].OID)
		})
	}

	t.Run("HostMemory matches /proc/meminfo", func(t *testing.T) {
		t.Parallel()
		c := client(t, config("1"))
		m, err := c.HostMemory(ctx(t))
		require.NoError(t, err)
		assert.True(t, m.HasBuffer)
		assert.True(t, m.HasCached)
		assert.Positive(t, m.AvailKB)
		assert.Less(t, m.AvailKB, m.TotalKB)
		assert.Positive(t, m.UsedBytes())
		assert.Less(t, m.UsedBytes(), m.TotalBytes())
		want := meminfo(t)["MemTotal"]
		assert.InEpsilon(t, float64(want), float64(m.TotalKB), 0.01, "memTotalReal %d KB vs MemTotal %d KB", m.TotalKB, want)
	})

	t.Run("HostCPU counters advance and CPUPercent is 0..100", func(t *testing.T) {
		t.Parallel()
		c := client(t, config("2c"))
		ctx := ctx(t)
		// net-snmp reports zeros until its first refresh and refreshes
		// every 5 s: wait for a non-zero sample, then for the next one.
		sample := func(differentFrom snmp.CPU) snmp.CPU {
			deadline := time.Now().Add(7 * time.Second)
			for {
				cur, err := c.HostCPU(ctx)
				require.NoError(t, err)
				if cur.Idle != 0 && (cur.User != differentFrom.User || cur.Idle != differentFrom.Idle) {
					return cur
				}
				require.True(t, time.Now().Before(deadline), "ssCpuRaw counters did not change within 7s: %+v", cur)
				time.Sleep(200 * time.Millisecond)
			}
		}
		prev := sample(snmp.CPU{})
		assert.True(t, prev.Counter32)
		assert.True(t, prev.HasWait && prev.HasInterrupt && prev.HasSoftIRQ, "%+v", prev)
		_, err := snmp.CPUPercent(prev, prev)
		assert.ErrorIs(t, err, monitor.ErrNoBaseline, "no tick between identical samples")

		cur := sample(prev)
		assert.GreaterOrEqual(t, cur.User, prev.User)
		assert.GreaterOrEqual(t, cur.System, prev.System)
		assert.Greater(t, cur.Idle+cur.User+cur.System, prev.Idle+prev.User+prev.System)
		pct, err := snmp.CPUPercent(prev, cur)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, pct, 0.0)
		assert.LessOrEqual(t, pct, 100.0)
		t.Logf("host CPU over %s: %.2f%%", cur.Time.Sub(prev.Time).Round(time.Millisecond), pct)
	})

	t.Run("v3 authPriv", func(t *testing.T) {
		t.Parallel()
		c := client(t, v3config(snmpdtest.V3AuthPassphrase, snmpdtest.V3PrivPassphrase))
		vs, err := c.Get(ctx(t), snmpdtest.SysDescr)
		require.NoError(t, err)
		assert.Contains(t, vs[0].Text, "Linux")
		m, err := c.HostMemory(ctx(t))
		require.NoError(t, err)
		assert.Positive(t, m.TotalKB)
	})

	t.Run("v3 wrong auth passphrase", func(t *testing.T) {
		t.Parallel()
		const wrong = "wrongauth-s3cret"
		c := client(t, v3config(wrong, snmpdtest.V3PrivPassphrase))
		start := time.Now()
		_, err := c.Get(ctx(t), snmpdtest.SysDescr)
		require.Error(t, err)
		assert.ErrorIs(t, err, snmp.ErrAuth)
		assert.Less(t, time.Since(start), 2*time.Second)
		assert.NotContains(t, err.Error(), wrong)
		assert.NotContains(t, err.Error(), snmpdtest.V3PrivPassphrase)
		t.Log(err)
	})

	t.Run("v3 wrong priv passphrase", func(t *testing.T) {
		t.Parallel()
		const wrong = "wrongpriv-s3cret"
		c := client(t, v3config(snmpdtest.V3AuthPassphrase, wrong))
		_, err := c.Get(ctx(t), snmpdtest.SysDescr)
		// net-snmp does not answer what it cannot decrypt.
		assert.ErrorIs(t, err, snmp.ErrTimeout)
		assert.NotContains(t, err.Error(), wrong)
		assert.NotContains(t, err.Error(), snmpdtest.V3AuthPassphrase)
		t.Log(err)
	})

	t.Run("v3 unknown user", func(t *testing.T) {
		t.Parallel()
		cfg := v3config(snmpdtest.V3AuthPassphrase, snmpdtest.V3PrivPassphrase)
		cfg.V3.User = "nobody"
		_, err := client(t, cfg).Get(ctx(t), snmpdtest.SysDescr)
		assert.ErrorIs(t, err, snmp.ErrAuth)
	})

	t.Run("wrong community times out promptly", func(t *testing.T) {
		t.Parallel()
		const wrong = "not-the-community"
		cfg := config("2c")
		cfg.Community = wrong
		cfg.Timeout = 300 * time.Millisecond
		c := client(t, cfg)
		start := time.Now()
		_, err := c.Get(ctx(t), snmpdtest.SysDescr)
		elapsed := time.Since(start)
		require.Error(t, err)
		assert.ErrorIs(t, err, snmp.ErrTimeout)
		assert.Less(t, elapsed, time.Second)
		assert.NotContains(t, err.Error(), wrong)
		t.Log(err)
	})

	t.Run("context cancel ends a request promptly", func(t *testing.T) {
		t.Parallel()
		cfg := config("1")
		cfg.Community = "silence" // the agent never answers
		cfg.Timeout = 10 * time.Second
		cfg.Retries = 2
		c := client(t, cfg)
		cctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.Get(cctx, snmpdtest.SysDescr)
		elapsed := time.Since(start)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, elapsed, 500*time.Millisecond)

		// The cancel closed the socket under the request; the next
		// request opens a new one and really waits for an answer (a
		// closed socket would fail at once instead).
		dctx, dcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer dcancel()
		start = time.Now()
		_, err = c.Get(dctx, snmpdtest.SysDescr)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
	})

	t.Run("context deadline shorter than Timeout", func(t *testing.T) {
		t.Parallel()
		cfg := config("2c")
		cfg.Community = "silence"
		cfg.Timeout = 5 * time.Second
		c := client(t, cfg)
		dctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Get(dctx, snmpdtest.SysDescr)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 500*time.Millisecond)
	})

	t.Run("a client works again after a cancelled request", func(t *testing.T) {
		t.Parallel()
		c := client(t, config("2c"))
		// Already cancelled: nothing is sent.
		cctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.Get(cctx, snmpdtest.SysDescr)
		assert.ErrorIs(t, err, context.Canceled)
		// Cancelled in flight: the socket is closed under the request
		// and reopened by the next one. The agent answers in well under
		// a millisecond, so cancel before it can: when the request is
		// already on the wire. A cancel that loses the race is fine
		// too; either way the next Get must succeed.
		cctx, cancel = context.WithCancel(context.Background())
		go cancel()
		_, _ = c.Get(cctx, snmpdtest.SysDescr)
		vs, err := c.Get(ctx(t), snmpdtest.SysDescr)
		require.NoError(t, err)
		assert.True(t, vs[0].Present())
	})

	t.Run("Close ends a request in flight", func(t *testing.T) {
		t.Parallel()
		cfg := config("2c")
		cfg.Community = "silence"
		cfg.Timeout = 10 * time.Second
		c := client(t, cfg)
		time.AfterFunc(100*time.Millisecond, func() { _ = c.Close() })
		start := time.Now()
		_, err := c.Get(ctx(t), snmpdtest.SysDescr)
		assert.ErrorIs(t, err, snmp.ErrClosed)
		assert.Less(t, time.Since(start), 500*time.Millisecond)
		_, err = c.Get(ctx(t), snmpdtest.SysDescr)
		assert.ErrorIs(t, err, snmp.ErrClosed)
	})

	t.Run("community restricted to the UCD view", func(t *testing.T) {
		t.Parallel()
		cfg := config("2c")
		cfg.Community = snmpdtest.UCDCommunity
		c := client(t, cfg)
		m, err := c.HostMemory(ctx(t))
		require.NoError(t, err)
		assert.Positive(t, m.TotalKB)
		vs, err := c.Get(ctx(t), snmpdtest.SysDescr)
		require.NoError(t, err)
		assert.False(t, vs[0].Present(), "sysDescr is outside the view: %v", vs[0])
	})

	for _, version := range []string{"1", "2c"} {
		t.Run("v"+version+"/no UCD-SNMP-MIB in the view is ErrNotSupported", func(t *testing.T) {
			t.Parallel()
			cfg := config(version)
			cfg.Community = snmpdtest.SystemCommunity
			c := client(t, cfg)
			_, err := c.HostMemory(ctx(t))
			assert.ErrorIs(t, err, monitor.ErrNotSupported)
			_, err = c.HostCPU(ctx(t))
			assert.ErrorIs(t, err, monitor.ErrNotSupported)
			vs, err := c.Get(ctx(t), snmpdtest.SysDescr)
			require.NoError(t, err)
			assert.True(t, vs[0].Present())
		})
	}
}

// TestUnreachablePort checks that a port nobody listens on fails fast
// (ICMP port unreachable on loopback) rather than waiting for Timeout.
func TestUnreachablePort(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	port := pc.LocalAddr().(*net.UDPAddr).Port
	require.NoError(t, pc.Close())

	cfg := snmp.DefaultConfig()
	cfg.Port = port
	cfg.Timeout = 2 * time.Second
	cfg.Retries = 1
	c, err := snmp.New(cfg)
	require.NoError(t, err)
	defer c.Close()
	start := time.Now()
	_, err = c.HostMemory(context.Background())
	require.Error(t, err)
	assert.Less(t, time.Since(start), time.Second)
	assert.ErrorIs(t, err, snmp.ErrUnreachable)
	assert.NotContains(t, err.Error(), "public")
	t.Log(err)
}

func meminfo(t *testing.T) map[string]uint64 {
	t.Helper()
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		t.Skipf("no /proc/meminfo: %v", err)
	}
	defer f.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		if n, err := strconv.ParseUint(fields[0], 10, 64); err == nil {
			out[name] = n
		}
	}
	require.NoError(t, sc.Err())
	return out
}
