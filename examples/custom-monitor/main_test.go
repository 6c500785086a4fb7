package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/monitortest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// server answers every request with code after delay, or earlier when the
// client goes away.
func server(t *testing.T, code int, delay time.Duration) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte("hello\n"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func urlTarget(u string) inventory.Target { return inventory.Target{Kind: "url", ID: u, Name: u} }

func TestHTTPLatencyConformance(t *testing.T) {
	refused := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		require.NoError(t, ln.Close())
		return "http://" + ln.Addr().String() + "/"
	}
	for _, tc := range []struct {
		name       string
		url        func(t *testing.T) string
		status     monitor.Status
		code       int
		up         float64
		minLatency time.Duration // -1: no latency sample
	}{
		{"fast", func(t *testing.T) string { return server(t, 200, 0) }, monitor.OK, 200, 1, 0},
		{"slow within timeout", func(t *testing.T) string { return server(t, 200, 300*time.Millisecond) }, monitor.OK, 200, 1, 300 * time.Millisecond},
		{"not found", func(t *testing.T) string { return server(t, 404, 0) }, monitor.Warning, 404, 0, 0},
		{"server error", func(t *testing.T) string { return server(t, 500, 0) }, monitor.Critical, 500, 0, 0},
		{"refused", refused, monitor.Critical, 0, 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := httpLatency{client: &http.Client{}}
			target := urlTarget(tc.url(t))
			monitortest.TestMonitor(t, m, target, monitortest.CheckTimeout(5*time.Second))

			res, err := m.Check(context.Background(), target)
			require.NoError(t, err, "a bad answer is a verdict, not an error")
			assert.Equal(t, tc.status, res.Status)
			assert.Equal(t, tc.code, res.Code)
			up, ok := res.Sample("http_up", nil)
			require.True(t, ok)
			assert.Equal(t, tc.up, up.Value)
			lat, ok := res.Sample("http_latency_seconds", nil)
			if tc.minLatency < 0 {
				assert.False(t, ok, "no latency without an answer")
				assert.Contains(t, res.Message, "refused")
				return
			}
			require.True(t, ok)
			assert.GreaterOrEqual(t, lat.Value, tc.minLatency.Seconds())
			assert.Less(t, lat.Value, tc.minLatency.Seconds()+2)
		})
	}
}

func TestHTTPLatencyHonoursContext(t *testing.T) {
	t.Parallel()
	target := urlTarget(server(t, 200, 10*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := httpLatency{client: &http.Client{}}.Check(ctx, target)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "a timeout is an error (UNKNOWN), not a down endpoint")
	assert.Less(t, time.Since(start), 2*time.Second)
}

// syncBuffer is a bytes.Buffer for writers on several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runMain(t *testing.T, ctx context.Context, args ...string) (stdout []string, stderr string, exit int) {
	t.Helper()
	var out, errOut syncBuffer
	exit = run(ctx, args, &out, &errOut)
	t.Logf("custom-monitor %s: exit %d\n%s%s", strings.Join(args, " "), exit, out.String(), errOut.String())
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"), errOut.String(), exit
}

func TestEndToEnd(t *testing.T) {
	h := dockertest.New(t)
	t.Setenv("DOCKER_HOST", h.Host)
	prefix := "minato-cm-" + h.RunID() + "-"
	up := h.Run(t, dockertest.RunOptions{Name: prefix + "up", Args: []string{"sleep", "forever"}})
	down := h.Run(t, dockertest.RunOptions{Name: prefix + "down", Args: []string{"exit", "0"}})
	h.WaitState(t, up.ID, "running", 10*time.Second)
	h.WaitState(t, down.ID, "exited", 10*time.Second)
	ok, failing := server(t, 200, 0), server(t, 500, 0)
	q := regexp.QuoteMeta
	stateOK := `^state OK: ` + q(up.Name) + `: running \| container_running=1 'container_state\{state=running\}'=1 ` +
		`container_restarts=0 container_oom_killed=0 container_exit_code=0 container_uptime_seconds=[0-9.]+s$`

	t.Run("once OK", func(t *testing.T) {
		lines, _, exit := runMain(t, context.Background(), "-once", "-url", ok, "-n", up.Name, "-warning", "5", "-critical", "10")
		require.Len(t, lines, 2)
		assert.Regexp(t, `^http OK: `+q(ok)+`: 200 OK \| http_latency_seconds=[0-9.]+s;5;10 http_up=1$`, lines[0])
		assert.Regexp(t, stateOK, lines[1])
		assert.Equal(t, 0, exit)
	})
	t.Run("once latency warning", func(t *testing.T) {
		lines, _, exit := runMain(t, context.Background(), "-once", "-url", ok, "-n", up.Name, "-warning", "0.000001")
		require.Len(t, lines, 2)
		assert.Regexp(t, `^http WARNING: `+q(ok)+`: http_latency_seconds=[0-9.]+s \(warning 0\.000001\); 200 OK \| http_latency_seconds=[0-9.]+s;0\.000001 http_up=1$`, lines[0])
		assert.Regexp(t, stateOK, lines[1])
		assert.Equal(t, 1, exit)
	})
	t.Run("once critical", func(t *testing.T) {
		lines, _, exit := runMain(t, context.Background(), "-once", "-url", failing, "-n", prefix+"*", "-critical", "10")
		require.Len(t, lines, 2)
		assert.Regexp(t, `^http CRITICAL: `+q(failing)+`: 500 Internal Server Error \| http_latency_seconds=[0-9.]+s;;10 http_up=0$`, lines[0])
		assert.Regexp(t, `^state CRITICAL: `+q(down.Name)+`: exited; 1 of 2 OK \| .*container_running:`+q(down.Name)+`=0 `, lines[1])
		assert.Equal(t, 2, exit)
	})
	t.Run("once no match", func(t *testing.T) {
		lines, _, exit := runMain(t, context.Background(), "-once", "-n", prefix+"nothing")
		require.Len(t, lines, 1)
		assert.Regexp(t, `^state UNKNOWN: .*no target matched`, lines[0])
		assert.Equal(t, 3, exit)
	})
	t.Run("run with damping", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 1100*time.Millisecond)
		defer cancel()
		lines, stderr, exit := runMain(t, ctx, "-interval", "200ms", "-url", ok, "-n", up.Name, "-warning", "0.000001")
		assert.Equal(t, 0, exit)
		var http []string
		for _, l := range lines {
			if strings.HasPrefix(l, "http ") {
				http = append(http, l)
			} else {
				assert.Regexp(t, stateOK, l)
			}
		}
		require.GreaterOrEqual(t, len(http), 3, "a line per round")
		assert.Regexp(t, `^http OK: .*\(warning 0\.000001\)`, http[0], "Raise 2: one slow answer is not reported")
		for _, l := range http[1:] {
			assert.Regexp(t, `^http WARNING: `, l)
		}
		assert.Equal(t, "http: "+ok+" changed from OK to WARNING\n", stderr)
	})
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"-warning", "a:b"}, {"-n", "we*b"}} {
		_, stderr, exit := runMain(t, context.Background(), args...)
		assert.Equal(t, 3, exit, args)
		assert.NotEmpty(t, stderr, args)
	}
}
