package docker_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	dcontainer "github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/internal/sockproxy"
	"github.com/minato-ops/minato/monitor/docker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockedBuffer is a bytes.Buffer for a slog handler written from
// Follow's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// churner creates, starts, stops and removes the harness's containers one
// after another until stopped; it stops early on the first engine error
// (reported by stop).
type churner struct {
	cancel context.CancelFunc
	done   chan struct{}
	ids    []string
	err    error
}

func startChurn(t *testing.T, h *dockertest.Harness, c *dcontainer.Client) *churner {
	image := h.Image(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch := &churner{cancel: cancel, done: make(chan struct{})}
	t.Cleanup(func() {
		_ = ch.stop()
		for _, id := range ch.ids { // leftovers of a failed step
			_, _ = c.Remove(context.Background(), id, dcontainer.RemoveOptions{Force: true, Volumes: true})
		}
	})
	zero := time.Duration(0)
	go func() {
		defer close(ch.done)
		for ctx.Err() == nil {
			// h.Run's t.Fatal must not run off the test goroutine: create
			// through the client, with the harness's labels.
			res, err := c.Create(context.Background(), dcontainer.CreateOptions{
				Image: image, Cmd: []string{"sleep", "forever"},
				Labels: map[string]string{dockertest.LabelKey: h.RunID(), dockertest.NameLabelKey: t.Name()},
			})
			if err != nil {
				ch.err = err
				return
			}
			ch.ids = append(ch.ids, res.ID)
			for _, step := range []func() error{
				func() error { _, err := c.Start(context.Background(), res.ID, dcontainer.StartOptions{}); return err },
				func() error {
					_, err := c.Stop(context.Background(), res.ID, dcontainer.StopOptions{Grace: &zero})
					return err
				},
				func() error { _, err := c.Remove(context.Background(), res.ID, dcontainer.RemoveOptions{}); return err },
			} {
				if err := step(); err != nil {
					ch.err = err
					return
				}
			}
		}
	}()
	return ch
}

// stop ends the churn after the current container and returns the first
// engine error.
func (ch *churner) stop() error { ch.cancel(); <-ch.done; return ch.err }

// TestEventFollowEngineCutIntegration: Follow reads the engine through a
// loopback proxy while containers keep changing; the proxy cuts every
// connection twice (once with a FIN, once with a RST followed by ~1 s of
// refused connections). Every event of the window is delivered exactly
// once, compared with the engine's own list (a live subscription and a
// since/until replay, both over the local socket).
func TestEventFollowEngineCutIntegration(t *testing.T) {
	h, local := engine(t)
	sock, ok := strings.CutPrefix(h.Host, "unix://")
	if !ok {
		t.Skipf("the engine is not on a unix socket: %s", h.Host)
	}
	p, err := sockproxy.New(sock)
	require.NoError(t, err)
	defer p.Close()
	cfg := dcontainer.DefaultConfig()
	cfg.Host = p.Host()
	cfg.Timeout = 10 * time.Second
	pc, err := dcontainer.New(cfg)
	require.NoError(t, err)
	defer pc.Close()

	f := labelFilter(h)
	var logs lockedBuffer
	t0 := time.Now()
	o := watchOracle(t, local, f)
	s := newStream(t, pc, t.TempDir(), docker.EventStreamOptions{Filters: f, Start: t0,
		Backoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []dcontainer.Event
	done := make(chan error, 1)
	go func() {
		done <- s.Follow(ctx, func(e dcontainer.Event) error {
			mu.Lock()
			got = append(got, e)
			mu.Unlock()
			return nil
		})
	}()
	time.Sleep(300 * time.Millisecond)

	ch := startChurn(t, h, local)
	time.Sleep(2 * time.Second)
	cut1 := p.Cut()
	time.Sleep(2 * time.Second)
	p.Refuse()
	cut2 := p.Reset()
	time.Sleep(time.Second) // the engine is unreachable; containers go on changing
	require.NoError(t, p.Accept())
	time.Sleep(2 * time.Second)
	require.NoError(t, ch.stop())
	t.Logf("churned %d containers; cut %d then %d connections; %d accepted", len(ch.ids), cut1, cut2, p.Accepted())
	require.GreaterOrEqual(t, len(ch.ids), 5, "containers changed during the test")
	assert.Positive(t, cut1, "the first cut ended Follow's connection")
	assert.Positive(t, cut2, "the second cut ended Follow's connection")

	// The engine's own list: the oracle's live subscription, until it has
	// the last container's destroy event.
	var want []dcontainer.Event
	deadline := time.Now().Add(10 * time.Second)
	for {
		o.mu.Lock()
		want = append(want[:0], o.events...)
		o.mu.Unlock()
		if n := len(want); n > 0 && want[n-1].Action == "destroy" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the oracle saw no final destroy: %v", keys(want))
		}
		time.Sleep(10 * time.Millisecond)
	}
	tEnd := time.Now()
	// Follow catches up.
	last := docker.EventKey(want[len(want)-1])
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		caught := len(got) > 0 && docker.EventKey(got[len(got)-1]) == last
		mu.Unlock()
		if caught {
			break
		}
	}
	time.Sleep(200 * time.Millisecond) // anything extra would show now
	cancel()
	require.NoError(t, <-done)

	// The since/until replay agrees with the live list when the engine's
	// 256-event buffer still holds the window (other tests share it).
	var all, replay int
	var replayed []dcontainer.Event
	require.NoError(t, local.Events(context.Background(), dcontainer.EventsOptions{Since: t0, Until: tEnd}, func(dcontainer.Event) error { all++; return nil }))
	require.NoError(t, local.Events(context.Background(), dcontainer.EventsOptions{Since: t0, Until: tEnd, Filters: f}, collect(&replayed)))
	replay = len(replayed)
	if all < docker.EngineEventBuffer {
		assert.Equal(t, keys(want), keys(replayed), "the engine's live and replayed lists agree")
	} else {
		t.Logf("%d engine events in the window (buffer %d): the since/until list (%d events) is not complete", all, docker.EngineEventBuffer, replay)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, e := range got {
		assert.NotEqual(t, docker.EventTypeMinato, e.Type, "no gap expected (the buffer held the outage): %v", e)
	}
	seen := map[string]int{}
	for _, k := range keys(got) {
		seen[k]++
	}
	var missing, dup []string
	for _, k := range keys(want) {
		if seen[k] == 0 {
			missing = append(missing, k)
		}
		if seen[k] > 1 {
			dup = append(dup, k)
		}
	}
	assert.Empty(t, missing, "events lost")
	assert.Empty(t, dup, "events delivered twice")
	assert.Equal(t, keys(want), keys(got), "every event of the window once, in the engine's order")
	reconnects := strings.Count(logs.String(), "reconnecting")
	assert.GreaterOrEqual(t, reconnects, 2, "Follow reconnected after each cut:\n%s", logs.String())
	t.Logf("%d events (engine: %d live, %d replayed, %d unfiltered in the window); %d reconnections", len(got), len(want), replay, all, reconnects)
}
