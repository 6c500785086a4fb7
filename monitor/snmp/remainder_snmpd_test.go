package snmp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/internal/snmpdtest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
	"github.com/minato-ops/minato/monitor/snmp"
)

var hostTarget = inventory.Target{Kind: inventory.KindHost, ID: "unix:///var/run/docker.sock", Name: "host"}

// recorder is a UDP relay between a Client and the agent that keeps a
// copy of every answer, so a test can recompute a figure from exactly the
// readings the Client got.
type recorder struct {
	Port int

	mu      sync.Mutex
	answers [][]byte
}

func newRecorder(t *testing.T, agent *snmpdtest.Agent) *recorder {
	t.Helper()
	front, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	back, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.ParseIP(agent.Host), Port: agent.Port})
	require.NoError(t, err)
	r := &recorder{Port: front.LocalAddr().(*net.UDPAddr).Port}
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = front.Close()
		_ = back.Close()
		<-done
	})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, client, err := front.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if _, err := back.Write(buf[:n]); err != nil {
				return
			}
			_ = back.SetReadDeadline(time.Now().Add(3 * time.Second))
			m, err := back.Read(buf)
			if err != nil {
				continue // the Client times out and asks again
			}
			r.mu.Lock()
			r.answers = append(r.answers, append([]byte(nil), buf[:m]...))
			r.mu.Unlock()
			_, _ = front.WriteToUDP(buf[:m], client)
		}
	}()
	return r
}

// readings decodes every recorded answer that carries the OID want, as
// maps from OID to value, with gosnmp directly.
func (r *recorder) readings(t *testing.T, want string) []map[string]uint64 {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]uint64
	for _, a := range r.answers {
		pkt, err := (&gosnmp.GoSNMP{Version: gosnmp.Version2c}).SnmpDecodePacket(a)
		require.NoError(t, err)
		vals := map[string]uint64{}
		for _, v := range pkt.Variables {
			switch v.Type {
			case gosnmp.Integer, gosnmp.Counter32, gosnmp.Counter64, gosnmp.Gauge32:
				vals[v.Name] = gosnmp.ToBigInt(v.Value).Uint64()
			}
		}
		if _, ok := vals[want]; ok {
			out = append(out, vals)
		}
	}
	return out
}

// TestHostRemainderAgainstSnmpd runs the host-minus-containers monitor
// against a real net-snmp agent, with the containers' side faked, and
// checks each value against the formula recomputed here from the very
// answers the agent sent.
func TestHostRemainderAgainstSnmpd(t *testing.T) {
	agent := snmpdtest.Start(t)
	client := func(t *testing.T, port int, community string) *snmp.Client {
		cfg := snmp.DefaultConfig()
		cfg.Address, cfg.Port, cfg.Version, cfg.Community = agent.Host, port, "2c", community
		cfg.Timeout, cfg.Retries = 2*time.Second, 0
		c, err := snmp.New(cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	ctx := func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t.Cleanup(cancel)
		return ctx
	}

	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		rec := newRecorder(t, agent)
		const rss = 64 << 20
		ctrs := snmp.ContainerUsageFunc(func(context.Context) ([]monitor.Sample, error) {
			return []monitor.Sample{
				{Name: "memory_rss_bytes", Value: rss / 2}, {Name: "memory_host_percent", Value: 99},
				{Name: "memory_rss_bytes", Value: rss / 2}, {Name: "cpu_percent", Value: 50},
			}, nil
		})
		m, err := snmp.NewHostRemainder(snmp.DefaultRemainderConfig(), client(t, rec.Port, snmpdtest.Community), nil, ctrs)
		require.NoError(t, err)
		res, err := m.Check(ctx(t), hostTarget)
		require.NoError(t, err)

		rs := rec.readings(t, ".1.3.6.1.4.1.2021.4.5.0")
		require.Len(t, rs, 1, "one memory request")
		r := rs[0]
		total := float64(r[".1.3.6.1.4.1.2021.4.5.0"]) * 1024
		used := total - float64(r[".1.3.6.1.4.1.2021.4.6.0"]+r[".1.3.6.1.4.1.2021.4.14.0"]+r[".1.3.6.1.4.1.2021.4.15.0"])*1024
		want := max((used-rss)/total*100, 0)
		t.Logf("host used %.0f MiB of %.0f MiB: %.4f%% outside 64 MiB of containers", used/(1<<20), total/(1<<20), want)

		require.Len(t, res.Samples, 2)
		for i, name := range []string{"memory_host_percent", "memory_limit_percent"} {
			s := res.Samples[i]
			assert.Equal(t, name, s.Name)
			assert.InDelta(t, want, s.Value, 1e-9, name)
			assert.Equal(t, monitor.Percent, s.Unit)
			assert.Equal(t, monitor.ModeSNMP, s.Mode)
			assert.False(t, s.Time.IsZero())
		}
		assert.Equal(t, monitor.OK, res.Status)
		assert.Greater(t, want, 0.0, "a running host uses some memory outside 64 MiB")
	})

	t.Run("cpu", func(t *testing.T) {
		t.Parallel()
		rec := newRecorder(t, agent)
		store, err := baseline.Open(t.TempDir())
		require.NoError(t, err)
		// A small share, so that the remainder of a nearly idle test
		// host usually stays above the clamp at 0.
		const cpus, ctrPercent = 2, 0.015
		calls := 0
		ctrs := snmp.ContainerUsageFunc(func(context.Context) ([]monitor.Sample, error) {
			calls++
			if calls == 1 {
				return nil, fmt.Errorf("web-1: %w", monitor.ErrNoBaseline) // the containers' first run too
			}
			return []monitor.Sample{{Name: "cpu_percent", Value: 0.01}, {Name: "cpu_percent", Value: 0.005}, {Name: "memory_rss_bytes", Value: 1 << 30}}, nil
		})
		cfg := snmp.RemainderConfig{Measure: snmp.RemainderCPU, CPUs: cpus, BaselineKey: "node1.snmp-cpu"}
		m, err := snmp.NewHostRemainder(cfg, client(t, rec.Port, snmpdtest.Community), store, ctrs)
		require.NoError(t, err)
		ctx := ctx(t)

		_, err = m.Check(ctx, hostTarget)
		require.ErrorIs(t, err, monitor.ErrNoBaseline, "the first run of the key has no value")
		stored, err := store.Get("node1.snmp-cpu")
		require.NoError(t, err)
		assert.NotNil(t, stored, "but keeps the host's counters for the next")

		// net-snmp reports zeros during its first 5 s and then refreshes
		// the counters every 5 s: try until an interval has ticks.
		var res monitor.Result
		deadline := time.Now().Add(20 * time.Second)
		for {
			time.Sleep(time.Second)
			res, err = m.Check(ctx, hostTarget)
			if err == nil {
				break
			}
			require.ErrorIs(t, err, monitor.ErrNoBaseline)
			require.True(t, time.Now().Before(deadline), "no CPU value within 20 s: %v", err)
		}

		rs := rec.readings(t, ".1.3.6.1.4.1.2021.11.50.0")
		require.GreaterOrEqual(t, len(rs), 2)
		prev, cur := rs[len(rs)-2], rs[len(rs)-1]
		d := func(oid string) float64 { return float64(cur[oid] - prev[oid]) } // no wrap within seconds
		// Linux: ssCpuRawKernel is 0, so system is the kernel time.
		busy := d(".1.3.6.1.4.1.2021.11.50.0") + d(".1.3.6.1.4.1.2021.11.51.0") + d(".1.3.6.1.4.1.2021.11.52.0") +
			d(".1.3.6.1.4.1.2021.11.56.0") + d(".1.3.6.1.4.1.2021.11.61.0")
		all := busy + d(".1.3.6.1.4.1.2021.11.53.0") + d(".1.3.6.1.4.1.2021.11.54.0")
		require.Positive(t, all)
		host := busy / all * 100
		want := max(host-ctrPercent/cpus, 0)
		t.Logf("host CPU %.3f%% of all CPUs over %.0f ticks; outside containers %.3f%%", host, all, want)

		require.Len(t, res.Samples, 1)
		s := res.Samples[0]
		assert.Equal(t, "cpu_percent", s.Name)
		assert.InDelta(t, want, s.Value, 1e-9)
		assert.Equal(t, monitor.Percent, s.Unit)
		assert.Equal(t, monitor.ModeSNMP, s.Mode)
	})

	t.Run("no UCD-SNMP-MIB in the view", func(t *testing.T) {
		t.Parallel()
		none := snmp.ContainerUsageFunc(func(context.Context) ([]monitor.Sample, error) { return nil, nil })
		store, err := baseline.Open(t.TempDir())
		require.NoError(t, err)
		c := client(t, agent.Port, snmpdtest.SystemCommunity)
		for _, cfg := range []snmp.RemainderConfig{snmp.DefaultRemainderConfig(), {Measure: snmp.RemainderCPU, CPUs: 1, BaselineKey: "k"}} {
			m, err := snmp.NewHostRemainder(cfg, c, store, none)
			require.NoError(t, err)
			_, err = m.Check(ctx(t), hostTarget)
			assert.ErrorIs(t, err, monitor.ErrNotSupported, cfg.Measure)
		}
	})

	t.Run("a damaged baseline starts over", func(t *testing.T) {
		t.Parallel()
		store, err := baseline.Open(t.TempDir())
		require.NoError(t, err)
		require.NoError(t, store.Update("k", func([]byte) ([]byte, error) { return []byte("{not json"), nil }))
		none := snmp.ContainerUsageFunc(func(context.Context) ([]monitor.Sample, error) { return nil, nil })
		m, err := snmp.NewHostRemainder(snmp.RemainderConfig{Measure: snmp.RemainderCPU, CPUs: 1, BaselineKey: "k"},
			client(t, agent.Port, snmpdtest.Community), store, none)
		require.NoError(t, err)
		_, err = m.Check(ctx(t), hostTarget)
		assert.ErrorIs(t, err, monitor.ErrNoBaseline)
		assert.ErrorContains(t, err, "damaged")
		_, err = m.Check(ctx(t), hostTarget)
		assert.False(t, err != nil && !errors.Is(err, monitor.ErrNoBaseline), "the stored counters are readable again: %v", err)
		stored, err := store.Get("k")
		require.NoError(t, err)
		assert.Contains(t, string(stored), `"idle"`)
	})
}
