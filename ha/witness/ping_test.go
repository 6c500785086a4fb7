package witness_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/witness"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noSocket skips the test when this process may open no ICMP socket at
// all (not root, and its group outside net.ipv4.ping_group_range): the
// probe then fails before anything is sent, which TestPingNamespace
// checks on its own.
func noSocket(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), "no ICMP socket") {
		t.Skipf("no ICMP socket for this process: %v", err)
	}
}

func pingWitness(t *testing.T, cfg witness.PingConfig, opts ...witness.Option) *witness.PingWitness {
	t.Helper()
	w, err := witness.Ping(cfg, opts...)
	require.NoError(t, err)
	return w
}

func TestPingLoopback(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, host := range []string{"127.0.0.1", "localhost"} {
		w := pingWitness(t, witness.PingConfig{Host: host, Timeout: 2 * time.Second}, witness.WithLogger(log))
		start := time.Now()
		err := w.Probe(context.Background())
		noSocket(t, err)
		require.NoError(t, err, host)
		assert.Less(t, time.Since(start), time.Second, "the first reply ends the probe")
		assert.Equal(t, "ping "+host, w.String())
	}
	assert.Contains(t, logs.String(), "reply_seq=1")
	assert.Regexp(t, `socket=(datagram|raw)`, logs.String())
}

// TestPingNoReply: TEST-NET-2 (RFC 5737) addresses are never assigned,
// so nothing answers them: depending on this machine's routes the
// requests leave and time out, or cannot leave at all.
func TestPingNoReply(t *testing.T) {
	w := pingWitness(t, witness.PingConfig{Host: "198.51.100.1", Timeout: 600 * time.Millisecond, Count: 3, Interval: 150 * time.Millisecond})
	start := time.Now()
	err := w.Probe(context.Background())
	noSocket(t, err)
	took := time.Since(start)
	assert.ErrorIs(t, err, witness.ErrNoReply)
	assert.ErrorContains(t, err, "198.51.100.1")
	assert.Less(t, took, 3*time.Second)
	if errors.Is(err, context.DeadlineExceeded) {
		assert.GreaterOrEqual(t, took, 600*time.Millisecond)
		assert.ErrorContains(t, err, "3 requests sent, none answered within 600ms")
		assert.Equal(t, ha.CodeTimeout, ha.AsResourceError(err).Code)
	}
}

func TestPingCallerCancels(t *testing.T) {
	w := pingWitness(t, witness.PingConfig{Host: "198.51.100.1", Timeout: time.Minute, Count: 2, Interval: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := w.Probe(ctx)
	noSocket(t, err)
	assert.Less(t, time.Since(start), 5*time.Second)
	if !errors.Is(err, witness.ErrNoReply) { // unless nothing could be sent
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorContains(t, err, "198.51.100.1")
	}
}

func TestPingUnknownHost(t *testing.T) {
	err := pingWitness(t, witness.PingConfig{Host: "no-such-host.invalid", Timeout: 2 * time.Second}).Probe(context.Background())
	require.Error(t, err)
	assert.NotErrorIs(t, err, witness.ErrNoReply)
	assert.ErrorContains(t, err, "no-such-host.invalid")
}

func TestPingConcurrentProbes(t *testing.T) {
	// Each probe has its own socket; on a raw socket every probe sees
	// every reply, and must take only its own.
	w := pingWitness(t, witness.PingConfig{Host: "127.0.0.1", Timeout: 2 * time.Second})
	none := pingWitness(t, witness.PingConfig{Host: "198.51.100.1", Timeout: 500 * time.Millisecond, Count: 2, Interval: 100 * time.Millisecond})
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			if i%2 == 0 {
				errs[i] = w.Probe(context.Background())
			} else {
				errs[i] = none.Probe(context.Background())
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		noSocket(t, err)
		if i%2 == 0 {
			assert.NoError(t, err)
		} else {
			assert.ErrorIs(t, err, witness.ErrNoReply)
		}
	}
}

func TestPingConfigValidate(t *testing.T) {
	d := witness.DefaultPingConfig()
	assert.Equal(t, witness.PingConfig{Timeout: 5 * time.Second, Count: 3, Interval: time.Second}, d)
	for _, c := range []struct {
		cfg  witness.PingConfig
		want []string
	}{
		{witness.PingConfig{Host: "10.0.0.1"}, nil},
		{witness.PingConfig{Host: "router.example"}, nil},
		{witness.PingConfig{Host: "::ffff:10.0.0.1"}, nil},
		{witness.PingConfig{Host: "10.0.0.1", Count: 1, Timeout: time.Second}, nil},
		{witness.PingConfig{Host: "10.0.0.1", Count: 5, Interval: 200 * time.Millisecond, Timeout: time.Second}, nil},
		{witness.PingConfig{}, []string{"host: empty"}},
		{witness.PingConfig{Host: "fe80::1"}, []string{"IPv6"}},
		{witness.PingConfig{Host: "10.0.0.1:80"}, []string{"no port"}},
		{witness.PingConfig{Host: "http://router/"}, []string{"neither"}},
		{witness.PingConfig{Host: "h", Timeout: -1}, []string{"timeout -1ns"}},
		{witness.PingConfig{Host: "h", Count: -1}, []string{"count -1"}},
		{witness.PingConfig{Host: "h", Count: 101}, []string{"count 101"}},
		{witness.PingConfig{Host: "h", Interval: -time.Second}, []string{"interval -1s"}},
		{witness.PingConfig{Count: -1, Interval: -1}, []string{"host", "count", "interval"}},
	} {
		err := c.cfg.Validate()
		if len(c.want) == 0 {
			assert.NoError(t, err, "%+v", c.cfg)
			continue
		}
		require.Error(t, err, "%+v", c.cfg)
		for _, w := range c.want {
			assert.ErrorContains(t, err, w, "%+v", c.cfg)
		}
		_, errNew := witness.Ping(c.cfg)
		assert.ErrorContains(t, errNew, err.Error())
	}
}
