package agent

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noEngine is an environment whose Docker engine does not exist: the
// agent builds and serves without contacting one.
func noEngine(dir string) func(string) string {
	return func(k string) string {
		if k == "DOCKER_HOST" {
			return "unix://" + filepath.Join(dir, "no-engine.sock")
		}
		return ""
	}
}

// newTestAgent loads a configuration file holding text plus a state dir
// and a job store in a temporary directory, builds the agent and serves its
// handler on a loopback test server. Nothing is run.
func newTestAgent(t *testing.T, text string, files map[string]string) (*Agent, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		write(t, dir, name, content)
	}
	path := write(t, dir, "agent.yaml", text+"\nstate_dir: "+filepath.Join(dir, "state")+"\njobs: {store: "+filepath.Join(dir, "jobs.db")+", enabled: true}\n")
	cfg, err := Load(path)
	require.NoError(t, err)
	a, err := New(cfg, noEngine(dir), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(a.Close)
	srv := httptest.NewServer(a.handler())
	t.Cleanup(srv.Close)
	return a, srv
}

func call(t *testing.T, srv *httptest.Server, method, path, body string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func errorOf(t *testing.T, body string) string {
	t.Helper()
	var e struct{ Error string }
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	return e.Error
}

const jsonCT = "application/json"

// TestAPIOnLoopback: without a token, every route that reveals or changes
// state answers loopback requests for a loopback Host only (DNS
// rebinding), GET included; /healthz and /metrics stay open.
func TestAPIOnLoopback(t *testing.T) {
	_, srv := newTestAgent(t, "listen: 127.0.0.1:0\njobnets: [n.yaml]\n", map[string]string{"n.yaml": "name: n\n" + hostUnit})
	for _, path := range []string{"/api/v1/status", "/api/v1/runs", "/api/v1/runs/n@x", "/api/v1/jobnets", "/api/v1/queues"} {
		code, body, _ := call(t, srv, "GET", path, "", "Host", "evil.example")
		assert.Equal(t, http.StatusForbidden, code, "%s: a page of evil.example that resolves to 127.0.0.1 reads nothing", path)
		assert.Contains(t, errorOf(t, body), `Host "evil.example" is not a loopback address`)
	}
	code, body, _ := call(t, srv, "GET", "/metrics", "", "Accept", jsonCT, "Host", "evil.example")
	assert.Equal(t, http.StatusForbidden, code, "the JSON form of /metrics holds messages: guarded")
	assert.NotContains(t, body, "no-engine.sock")

	code, body, _ = call(t, srv, "POST", "/api/v1/queues/default/stop", "", "Content-Type", "text/plain")
	assert.Contains(t, errorOf(t, body), "Content-Type: application/json")
	assert.Equal(t, http.StatusUnsupportedMediaType, code, "a browser's cross-site form cannot control jobs")
	code, body, _ = call(t, srv, "POST", "/api/v1/queues/default/stop", "", "Content-Type", jsonCT)
	require.Equal(t, http.StatusOK, code, body)
	assert.JSONEq(t, `{"name":"default","concurrency":0,"running":0,"stopped":true}`, body)

	code, body, _ = call(t, srv, "POST", "/api/v1/runs", `{"network":"n","hold":["zzz"]}`, "Content-Type", jsonCT)
	assert.Equal(t, http.StatusBadRequest, code, "an unknown held unit is a bad request")
	assert.Contains(t, errorOf(t, body), `network n has no unit "zzz" (units: a)`)
	code, body, _ = call(t, srv, "POST", "/api/v1/runs", `{"network":"n"} trailing`, "Content-Type", jsonCT)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, errorOf(t, body), "exactly one JSON value")

	code, body, _ = call(t, srv, "GET", "/metrics", "")
	assert.Equal(t, http.StatusOK, code)
	for _, want := range []string{`minato_queue_stopped{queue="default"} 1`, `minato_jobnet_runs_total{network="n",state="failed"} 0`,
		"minato_job_store_up 1", "go_goroutines ", "process_resident_memory_bytes "} {
		assert.Contains(t, body, want)
	}
	code, body, _ = call(t, srv, "GET", "/api/v1/status", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"message": "nothing to check yet`, "an agent with nothing evaluated says so, not UNKNOWN")
	assert.Contains(t, body, `"status": "OK"`)
}

// TestAPIToken: with a token every API route needs it, reads included
// (runs hold unit output); the bearer scheme is case-insensitive; a
// refusal closes the connection and never echoes the token.
func TestAPIToken(t *testing.T) {
	_, srv := newTestAgent(t, "listen: 127.0.0.1:0\napi: {token_file: token}\n", map[string]string{"token": "s3cret-token\n"})
	for _, path := range []string{"/api/v1/status", "/api/v1/runs", "/api/v1/queues"} {
		code, body, hdr := call(t, srv, "GET", path, "")
		assert.Equal(t, http.StatusUnauthorized, code, path)
		assert.Equal(t, `Bearer realm="minato"`, hdr.Get("WWW-Authenticate"))
		assert.NotContains(t, body, "s3cret")
	}
	code, _, _ := call(t, srv, "GET", "/api/v1/runs", "", "Authorization", "bearer s3cret-token", "Host", "agent.example:9464")
	assert.Equal(t, http.StatusOK, code, "RFC 9110: the scheme is case-insensitive; with a token the Host does not matter")
	code, _, _ = call(t, srv, "GET", "/healthz", "")
	assert.NotEqual(t, http.StatusUnauthorized, code, "/healthz stays open")
}

func TestAPIWithoutScheduler(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Listen: "127.0.0.1:0", StateDir: filepath.Join(dir, "state"), Events: EventsConfig{Enabled: true}, Jobs: JobsConfig{Store: filepath.Join(dir, "jobs.db")}}
	a, err := New(cfg, noEngine(dir), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer a.Close()
	srv := httptest.NewServer(a.handler())
	defer srv.Close()
	for i := 0; i < 3; i++ {
		code, body, _ := call(t, srv, "GET", "/api/v1/runs/x", "")
		assert.Equal(t, http.StatusNotFound, code)
		assert.Contains(t, errorOf(t, body), "this agent runs no job scheduler")
	}
	_, err = os.Stat(filepath.Join(dir, "jobs.db"))
	assert.ErrorIs(t, err, os.ErrNotExist, "a monitoring-only agent never opens (nor locks) the job store, whatever it is asked")
}

// TestHealthzSaysNothingSecret: an unreachable engine is 503 without the
// engine's address or the error text.
func TestHealthzSaysNothingSecret(t *testing.T) {
	_, srv := newTestAgent(t, "listen: 127.0.0.1:0\n", nil)
	code, body, _ := call(t, srv, "GET", "/healthz", "")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "unhealthy: the Docker engine does not answer (see the agent's log)\n", body)
}

// TestMetricsPassPromtool: the agent's whole exposition (Go and process
// collectors, the scheduler's and notifiers' series) passes Prometheus'
// own checker, and OpenMetrics is negotiated.
func TestMetricsPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("MINATO_REQUIRE_DOCKER") == "1" {
			t.Fatalf("promtool not found (MINATO_REQUIRE_DOCKER=1; install Debian's prometheus package): %v", err)
		}
		t.Skip("promtool not found")
	}
	_, srv := newTestAgent(t, "listen: 127.0.0.1:0\njobnets: [n.yaml]\nnotify: [{jsonl: {path: notes.jsonl}}]\n",
		map[string]string{"n.yaml": "name: n\nschedule: \"@daily\"\n" + hostUnit})
	code, body, _ := call(t, srv, "GET", "/metrics", "")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `minato_notifications_sent_total{notifier="0-jsonl"} 0`)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "promtool check metrics: %s", out)
	code, body, hdr := call(t, srv, "GET", "/metrics", "", "Accept", "application/openmetrics-text; version=1.0.0")
	require.Equal(t, http.StatusOK, code)
	assert.True(t, strings.HasPrefix(hdr.Get("Content-Type"), "application/openmetrics-text"), hdr.Get("Content-Type"))
	assert.True(t, strings.HasSuffix(body, "# EOF\n"))
}

// TestStoreFailsLoudly: a job store that is empty, or not a job store,
// stops the agent at start with an error naming the file and what to do;
// the lock is released, so the agent starts once the file is set right.
func TestStoreFailsLoudly(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "jobs.db")
	cfg := Config{Listen: "127.0.0.1:0", StateDir: filepath.Join(dir, "state"), Jobs: JobsConfig{Enabled: true, Store: store}}
	for name, content := range map[string][]byte{"empty": {}, "junk": bytes.Repeat([]byte("not a database "), 1000)} {
		require.NoError(t, os.WriteFile(store, content, 0o600))
		_, err := New(cfg, noEngine(dir), slog.New(slog.DiscardHandler))
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), store, "%s: the error names the file", name)
		info, _ := os.Stat(store)
		assert.Equal(t, int64(len(content)), info.Size(), "%s: the file is left as it was, never reinitialised", name)
	}
	require.NoError(t, os.Remove(store))
	a, err := New(cfg, noEngine(dir), slog.New(slog.DiscardHandler))
	require.NoError(t, err, "the lock was released on every failure")
	a.Close()
}

// TestConfigAliasBomb: a configuration whose aliases fan out to billions
// of values fails at once, with one bounded message.
func TestConfigAliasBomb(t *testing.T) {
	dir := t.TempDir()
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for c := 'b'; c <= 'j'; c++ {
		prev := string(c - 1)
		bomb += string(c) + ": &" + string(c) + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
	}
	// The anchors live under an unknown key (an error of its own, after
	// the aliases are counted) and fan out into a check's names.
	path := write(t, dir, "agent.yaml", "x-anchors:\n"+indent(bomb)+"checks:\n  - name: c\n    monitor: cpu\n    interval: 10s\n    targets: {names: *j}\n")
	start := time.Now()
	_, err := Load(path)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Less(t, len(err.Error()), 20000, "a bounded report, not millions of lines")
	t.Logf("%s: %d bytes of config, %s: %d bytes of report; %s", path, len(bomb), time.Since(start), len(err.Error()), err)
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}
