package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/container/app/metering"
	"github.com/minato-ops/minato/internal/httpguard"
	"github.com/minato-ops/minato/internal/strictyaml"
)

// meteringServer runs a meter whose targets are two fixture servers of
// application "shop" and serves its routes; m nil serves them disabled.
func meteringServer(t *testing.T, enabled bool, token string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	var m *meter
	if enabled {
		app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = io.WriteString(w, "# HELP sessions Open sessions.\n# TYPE sessions gauge\nsessions 4\n")
		}))
		t.Cleanup(app.Close)
		var err error
		m, err = newMeter(MeteringConfig{Enabled: true, Interval: time.Second}, nil, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		m.discover = func(context.Context) ([]metering.Target, error) {
			return []metering.Target{{App: "shop", Container: "shop-1", URL: app.URL}, {App: "shop", Container: "shop-2", URL: app.URL}}, nil
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { m.run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		require.Eventually(t, func() bool {
			st := m.scraper.Status()
			return len(st) == 2 && st[0].Samples == 1 && st[1].Samples == 1
		}, 20*time.Second, 20*time.Millisecond)
	}
	meteringRoutes(mux, &httpguard.Guard{Token: token, Log: slog.New(slog.DiscardHandler)}, m)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestMeteringRoutes(t *testing.T) {
	t.Parallel()
	srv := meteringServer(t, true, "")
	code, body, hdr := call(t, srv, "GET", "/metrics/apps", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "text/plain; version=0.0.4; charset=utf-8", hdr.Get("Content-Type"))
	assert.Equal(t, "# TYPE sessions gauge\n# HELP sessions Open sessions.\n"+
		"sessions{app=\"shop\",container=\"shop-1\"} 4\nsessions{app=\"shop\",container=\"shop-2\"} 4\n", body)

	code, body, hdr = call(t, srv, "GET", "/metrics/apps/shop", "", "Accept", "application/json")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	assert.JSONEq(t, `{"shop": [{"name": "sessions", "help": "Open sessions.", "type": "gauge", "metrics": [
		{"labels": {"app": "shop", "container": "shop-1"}, "value": "4"},
		{"labels": {"app": "shop", "container": "shop-2"}, "value": "4"}]}]}`, body)

	code, body, _ = call(t, srv, "GET", "/metrics/apps/shop", "", "Accept", "text/plain")
	assert.Equal(t, http.StatusOK, code)
	assert.True(t, strings.HasPrefix(body, "# TYPE sessions gauge\n"), body)

	code, body, _ = call(t, srv, "GET", "/metrics/apps/cart", "", "Accept", "application/json")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, `unknown application "cart": metered applications: shop`, errorOf(t, body))

	code, body, _ = call(t, srv, "GET", "/metrics/apps", "", "Host", "evil.example")
	assert.Equal(t, http.StatusForbidden, code, "guarded as /api/v1/* is")
	assert.NotContains(t, body, "sessions")
}

func TestMeteringRoutesToken(t *testing.T) {
	t.Parallel()
	srv := meteringServer(t, true, "s3cret")
	code, _, _ := call(t, srv, "GET", "/metrics/apps/shop", "")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, body, _ := call(t, srv, "GET", "/metrics/apps/shop", "", "Authorization", "Bearer s3cret")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `sessions{app="shop",container="shop-1"} 4`)
}

func TestMeteringDisabled(t *testing.T) {
	t.Parallel()
	srv := meteringServer(t, false, "")
	code, body, _ := call(t, srv, "GET", "/metrics/apps/shop", "")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, errorOf(t, body), "metering is not enabled on this agent: set metering.enabled: true")
}

// TestMeteringConfig: the section decodes strictly and its problems carry
// their key paths.
func TestMeteringConfig(t *testing.T) {
	t.Parallel()
	var c struct {
		Metering MeteringConfig `json:"metering"`
	}
	require.NoError(t, strictyaml.Unmarshal([]byte("metering: {enabled: true, interval: 1m, timeout: 5s, max_concurrent: 4}\n"), &c))
	assert.Equal(t, MeteringConfig{Enabled: true, Interval: time.Minute, Timeout: 5 * time.Second, MaxConcurrent: 4}, c.Metering)
	err := strictyaml.Unmarshal([]byte("metering: {enabled: true, interval: 10ms, timeout: 2m, max_concurrent: -1, host_address: nope, bogus: 1}\n"), &c)
	require.Error(t, err)
	for _, want := range []string{"metering.interval: 10ms: want 0 (default 30s) or at least 1s", "metering.max_concurrent: -1",
		`metering.host_address: "nope": want an IP address`, "bogus"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.ErrorContains(t, MeteringConfig{Interval: 10 * time.Second, Timeout: time.Minute}.Validate(), "timeout: 1m0s: want at most the interval (10s)")
	assert.ErrorContains(t, MeteringConfig{HostAddress: "10.0.0.1"}.Validate(), "only with published: true")
}

func TestMeteringEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{"MINATO_METERING_ENABLED": "true", "MINATO_METERING_INTERVAL": "1m", "MINATO_METERING_TIMEOUT": "5s",
		"MINATO_METERING_MAX_CONCURRENT": "3", "MINATO_METERING_PUBLISHED": "yes", "MINATO_METERING_HOST_ADDRESS": "192.0.2.7"}
	var m MeteringConfig
	e := &envVars{getenv: func(k string) string { return env[k] }}
	applyMeteringEnv(&m, e)
	require.Empty(t, e.errs)
	assert.Equal(t, MeteringConfig{Enabled: true, Interval: time.Minute, Timeout: 5 * time.Second, MaxConcurrent: 3, Published: true, HostAddress: "192.0.2.7"}, m)

	env = map[string]string{"MINATO_METERING_ENABLED": "oui", "MINATO_METERING_INTERVAL": "30", "MINATO_METERING_TIMEOUT": "2m",
		"MINATO_METERING_MAX_CONCURRENT": "0", "MINATO_METERING_HOST_ADDRESS": "host"}
	e = &envVars{getenv: func(k string) string { return env[k] }}
	applyMeteringEnv(&MeteringConfig{}, e)
	var msgs []string
	for _, err := range e.errs {
		msgs = append(msgs, err.Error())
	}
	assert.ElementsMatch(t, []string{
		`MINATO_METERING_ENABLED="oui": want true or false`,
		`MINATO_METERING_INTERVAL="30": want a Go duration of at least 1s, such as 30s (units ms, s, m, h)`,
		`MINATO_METERING_TIMEOUT="2m": want at most the metering interval (30s)`,
		`MINATO_METERING_MAX_CONCURRENT="0": want a whole number from 1 to 1000`,
		`MINATO_METERING_HOST_ADDRESS="host": want an IP address such as 192.0.2.10`,
	}, msgs)
	b, _ := json.Marshal(m)
	assert.Contains(t, string(b), `"enabled":true`)
}
