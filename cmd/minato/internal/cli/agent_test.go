package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAgentConfigErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "agent.yaml")
	require.NoError(t, os.WriteFile(p, []byte(`
listen: nowhere
checks:
  - name: web-cpu
    monitor: gpu
    targets: {names: ["web*"], colour: red}
    interval: 0s
    thresholds:
      - {sample: cpu_percent, warning: "50:10", critical: "90"}
notify:
  - {}
`), 0o600))
	code, _, errs := run(t, "", "agent", "--config", p)
	assert.Equal(t, 1, code)
	for _, want := range []string{
		"checks[0].targets.colour: unknown key (allowed: ids, kind, labels, names, scopes, states)",
	} {
		assert.Contains(t, errs, want)
	}
	require.NoError(t, os.WriteFile(p, []byte(`
listen: nowhere
checks:
  - name: web-cpu
    monitor: gpu
    interval: 0s
    thresholds:
      - {sample: cpu_percent, warning: "50:10", critical: "90"}
notify:
  - {}
`), 0o600))
	code, _, errs = run(t, "", "agent", "--config", p)
	assert.Equal(t, 1, code)
	for _, want := range []string{
		`listen: "nowhere": want HOST:PORT`,
		`checks[0].monitor: "gpu": want one of cpu, memory`,
		"checks[0].interval: required",
		`checks[0].thresholds[0].warning: monitor: bad range "50:10"`,
		"notify[0]: give exactly one of syslog, snmp_trap, webhook, jsonl or stdout",
	} {
		assert.Contains(t, errs, want)
	}
}

// TestAgentOnRealEngine runs the agent with the config shape: a
// CPU check with thresholds on a burning container, notifications to a
// syslog listener, the HTTP endpoints, and a clean stop.
func TestAgentOnRealEngine(t *testing.T) {
	h := dockertest.New(t)
	burner := h.Run(t, dockertest.RunOptions{Args: []string{"burn", "1", "1h"}})
	h.WaitState(t, burner.ID, "running", 10*time.Second)
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer udp.Close()

	posted := make(chan string, 100)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posted <- string(b)
	}))
	defer hook.Close()

	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`
listen: 127.0.0.1:0
state_dir: `+filepath.Join(dir, "state")+`
checks:
  - name: web-cpu
    monitor: cpu
    targets: {ids: ["`+burner.ID[:12]+`"]}
    interval: 1s
    thresholds:
      - {sample: cpu_percent, warning: "50", critical: "90:"}
  - name: state
    monitor: state
    targets: {ids: ["`+burner.ID[:12]+`"]}
    interval: 1s
  - name: engine
    monitor: host-status
    interval: 1s
events: {enabled: true}
notify:
  - syslog: {address: `+udp.LocalAddr().String()+`, protocol: udp, format: rfc5424}
  - jsonl: {path: `+filepath.Join(dir, "notify.jsonl")+`}
  - webhook: {url: "`+hook.URL+`/minato"}
`), 0o600))

	addrc := make(chan string, 1)
	agentReady = func(a string) { addrc <- a }
	defer func() { agentReady = nil }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errb bytes.Buffer
	go func() {
		done <- Main(ctx, []string{"agent", "--config", cfg}, Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
			if k == "DOCKER_HOST" {
				return h.Host
			}
			return ""
		}})
	}()
	var addr string
	select {
	case addr = <-addrc:
	case code := <-done:
		t.Fatalf("agent exited %d: %s", code, errb.String())
	case <-time.After(15 * time.Second):
		t.Fatal("agent did not start")
	}
	base := "http://" + addr

	// The burner crosses the warning threshold: a syslog message arrives.
	require.NoError(t, udp.SetReadDeadline(time.Now().Add(30*time.Second)))
	buf := make([]byte, 4096)
	var msg string
	for {
		n, _, err := udp.ReadFrom(buf)
		require.NoError(t, err, "no notification within 20 s; log: %s", errb.String())
		msg = string(buf[:n])
		if strings.Contains(msg, "check=web-cpu") {
			break
		}
	}
	assert.Regexp(t, `^<1[0-9]{1,2}>1 `, msg, "RFC 5424")
	assert.Regexp(t, `status=(WARNING|CRITICAL)`, msg)

	// Other containers on the engine may die meanwhile (their events are
	// posted too): wait for the check's own transition.
	for deadline := time.After(10 * time.Second); ; {
		select {
		case body := <-posted:
			if !strings.Contains(body, `"check":"web-cpu"`) {
				continue
			}
			assert.Contains(t, body, `"id":"`+burner.ID+`"`, "the webhook gets the transition as JSON")
		case <-deadline:
			t.Fatal("no webhook POST for web-cpu")
		}
		break
	}

	get := func(path string, hdr ...string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if len(hdr) == 2 {
			req.Header.Set(hdr[0], hdr[1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/healthz")
	assert.Equal(t, 200, code)
	assert.True(t, strings.HasPrefix(body, "ok:"), body)
	code, body = get("/metrics")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, `minato_check_status{check="web-cpu",container_id="`+burner.ID[:12]+`"`)
	assert.Contains(t, body, "minato_cpu_percent{")
	assert.Contains(t, body, `minato_engine_up{check="engine"`)
	assert.Regexp(t, `minato_notifications_sent_total\{notifier="0-syslog"\} [1-9]`, body)
	assert.Contains(t, body, `minato_notifications_dropped_total{notifier="2-webhook"} 0`)
	code, body = get("/metrics", "Accept", "application/json")
	assert.Equal(t, 200, code)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &doc), body)
	code, body = get("/api/v1/status")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, `"check": "web-cpu"`)

	// A container dying with a non-zero code is notified from the events.
	dier := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "300ms", "--", "exit", "3"}})
	for {
		n, _, err := udp.ReadFrom(buf)
		require.NoError(t, err, "no event notification; log: %s", errb.String())
		if m := string(buf[:n]); strings.Contains(m, "check=events") && strings.Contains(m, dier.ID[:12]) {
			assert.Contains(t, m, "status=CRITICAL")
			break
		}
	}

	start := time.Now()
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code, errb.String())
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not stop")
	}
	assert.Less(t, time.Since(start), 5*time.Second, "stops within 5 s")
	notes, err := os.ReadFile(filepath.Join(dir, "notify.jsonl"))
	require.NoError(t, err)
	assert.Contains(t, string(notes), `"check":"web-cpu"`)
}
