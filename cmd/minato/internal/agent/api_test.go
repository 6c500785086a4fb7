package agent

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestAgent builds an agent with one jobnet (a host unit: nothing
// contacts the engine) and a store in a temporary directory, and serves
// its handler. The scheduler is not run: the controls tested here need
// only the store.
func newTestAgent(t *testing.T, listen, token string) (*Agent, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	cfg := Config{
		Listen:   listen,
		StateDir: filepath.Join(dir, "state"),
		Jobnets:  []string{write(t, dir, "n.yaml", "name: n\n"+hostUnit)},
		Queues:   nil,
		Jobs:     JobsConfig{Store: filepath.Join(dir, "jobs.db")},
	}
	if token != "" {
		cfg.API.TokenFile = write(t, dir, "token", token+"\n")
	}
	a, err := New(cfg, func(k string) string {
		if k == "DOCKER_HOST" {
			return "unix://" + filepath.Join(dir, "no-engine.sock")
		}
		return ""
	}, slog.New(slog.DiscardHandler))
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

const ctJSON = "Content-Type"

func TestAPIControlsOnLoopback(t *testing.T) {
	_, srv := newTestAgent(t, "127.0.0.1:0", "")
	code, body, _ := call(t, srv, "POST", "/api/v1/queues/default/stop", "")
	assert.Equal(t, http.StatusUnsupportedMediaType, code, "a browser's cross-site form cannot control jobs")
	assert.Contains(t, errorOf(t, body), "Content-Type: application/json")

	code, body, _ = call(t, srv, "POST", "/api/v1/queues/default/stop", "", ctJSON, "application/json", "Host", "rebound.example:9464")
	assert.Equal(t, http.StatusForbidden, code, "DNS rebinding: a non-loopback Host is refused without a token")
	assert.Contains(t, errorOf(t, body), `the request's Host "rebound.example:9464" is not a loopback address`)

	code, body, _ = call(t, srv, "POST", "/api/v1/queues/default/stop", "", ctJSON, "application/json")
	require.Equal(t, http.StatusOK, code, body)
	assert.JSONEq(t, `{"name":"default","concurrency":0,"running":0,"stopped":true}`, body)
	code, body, _ = call(t, srv, "GET", "/metrics", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `minato_queue_stopped{queue="default"} 1`)
	assert.Contains(t, body, `minato_jobnet_runs_total{network="n",state="failed"} 0`)

	for _, c := range []struct {
		method, path, body string
		code               int
		msg                string
	}{
		{"POST", "/api/v1/queues/nope/stop", "", 404, `job: no queue "nope"`},
		{"POST", "/api/v1/queues/default/pause", "", 404, `unknown queue control "pause"`},
		{"POST", "/api/v1/runs/n@x/units/a/frob", "", 404, `unknown unit control "frob"`},
		{"POST", "/api/v1/runs/n@x/units/a/hold", "", 404, `run "n@x"`},
		{"POST", "/api/v1/runs/n@x/rerun", "", 404, `run "n@x"`},
		{"GET", "/api/v1/runs/n@x", "", 404, `run "n@x"`},
		{"POST", "/api/v1/runs", `{"netwrk": "n"}`, 400, `unknown field "netwrk"`},
		{"POST", "/api/v1/runs", `{}`, 400, "give definition (a job file's text) or network"},
		{"POST", "/api/v1/runs", `{"network": "n", "definition": "name: n"}`, 400, "not both"},
		{"POST", "/api/v1/runs", `{"network": "n", "id": "a/b"}`, 400, `id "a/b": want`},
		{"POST", "/api/v1/runs", `{"definition": "name: m\nunits:\n  - {name: a, timeout: soon, host: {command: [x]}}\n"}`, 400, `units[0].timeout: "soon"`},
		{"POST", "/api/v1/runs", `{"definition": "name: m\nqueue: nope\n` + strings.ReplaceAll(hostUnit, "\n", `\n`) + `"}`, 400, `definition: queue: "nope" is not defined in the agent's queues`},
		{"POST", "/api/v1/runs", `{"network": "nope"}`, 404, `no network "nope"`},
		{"GET", "/api/v1/runs?limit=many", "", 400, `limit "many"`},
		{"POST", "/api/v1/runs", `{"definition": "` + strings.Repeat("x", MaxRequestBody) + `"}`, 413, "request body too large"},
	} {
		code, body, _ := call(t, srv, c.method, c.path, c.body, ctJSON, "application/json")
		assert.Equal(t, c.code, code, "%s %s: %s", c.method, c.path, body)
		assert.Contains(t, errorOf(t, body), c.msg, "%s %s", c.method, c.path)
	}

	code, body, _ = call(t, srv, "GET", "/api/v1/jobnets", "")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `[{"name":"n","queue":"default","overlap":"skip"}]`, body)
	code, body, _ = call(t, srv, "GET", "/api/v1/runs", "")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `[]`, body)
}

func TestAPIToken(t *testing.T) {
	_, srv := newTestAgent(t, "0.0.0.0:0", "s3cret-token")
	code, body, hdr := call(t, srv, "POST", "/api/v1/queues/default/stop", "", ctJSON, "application/json")
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, `Bearer realm="minato"`, hdr.Get("WWW-Authenticate"))
	assert.Contains(t, errorOf(t, body), "job controls need the agent's token")
	assert.NotContains(t, body, "s3cret")
	code, _, _ = call(t, srv, "POST", "/api/v1/queues/default/stop", "", ctJSON, "application/json", "Authorization", "Bearer wrong")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, body, _ = call(t, srv, "POST", "/api/v1/queues/default/stop", "", ctJSON, "application/json", "Authorization", "Bearer s3cret-token", "Host", "agent.example:9464")
	assert.Equal(t, http.StatusOK, code, body)
	code, _, _ = call(t, srv, "GET", "/api/v1/queues", "")
	assert.Equal(t, http.StatusOK, code, "reading the queues needs no token")
	for _, path := range []string{"/api/v1/runs", "/api/v1/runs/n@x"} {
		code, body, hdr = call(t, srv, "GET", path, "")
		assert.Equal(t, http.StatusUnauthorized, code, "%s: runs hold the units' output", path)
		assert.Contains(t, errorOf(t, body), "reading runs needs the agent's token")
		assert.Equal(t, `Bearer realm="minato"`, hdr.Get("WWW-Authenticate"))
	}
	code, body, _ = call(t, srv, "GET", "/api/v1/runs", "", "Authorization", "Bearer s3cret-token")
	assert.Equal(t, http.StatusOK, code, body)
}

func TestAPIControlsDisabledOffLoopbackWithoutToken(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Listen: "0.0.0.0:0", StateDir: filepath.Join(dir, "state"), Events: EventsConfig{Enabled: true}, Jobs: JobsConfig{Store: filepath.Join(dir, "jobs.db")}}
	a, err := New(cfg, func(k string) string {
		if k == "DOCKER_HOST" {
			return "unix://" + filepath.Join(dir, "none.sock")
		}
		return ""
	}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer a.Close()
	srv := httptest.NewServer(a.handler())
	defer srv.Close()
	code, body, _ := call(t, srv, "POST", "/api/v1/runs", `{"network": "n"}`, ctJSON, "application/json")
	assert.Equal(t, http.StatusForbidden, code)
	assert.Equal(t, "job controls are disabled: the agent listens on 0.0.0.0:0, which is not loopback, and api.token_file is not set", errorOf(t, body))
}
