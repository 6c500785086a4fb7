package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/minato-ops/minato/diag"
	ddocker "github.com/minato-ops/minato/diag/docker"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/jsonout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readNotes reads a jsonl notifier's file.
func readNotes(t *testing.T, path string) []jsonout.Evaluation {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var out []jsonout.Evaluation
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev jsonout.Evaluation
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev), sc.Text())
		out = append(out, ev)
	}
	return out
}

// diagNote finds the diag notification about container name with code.
func diagNote(notes []jsonout.Evaluation, name, code string, st monitor.Status) bool {
	for _, n := range notes {
		if n.Check == DiagCheck && n.Target.Name == name && n.Status == st && strings.Contains(n.Message, code) {
			return true
		}
	}
	return false
}

// TestDiagAgent: an agent with diag enabled runs the checks on its engine
// shortly after start, notifies a container without limits as WARNING
// findings through its notifiers, serves the report on GET /api/v1/diag
// (guarded like the other routes), and notifies the findings as resolved
// once the container is gone.
func TestDiagAgent(t *testing.T) {
	h := dockertest.New(t)
	old := diagFirstDelay
	diagFirstDelay = 0
	t.Cleanup(func() { diagFirstDelay = old })
	ctr := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.jsonl")
	a := startAgent(t, dir, fmt.Sprintf("docker: {host: %q}\ndiag: {enabled: true, interval: 1h, reserved_ports: [9080, 2376, 3376]}\nnotify: [{jsonl: {path: %q}}]\n", h.Host, notes))
	require.NotNil(t, a.diag)
	eventually(t, 60*time.Second, "the first run ends", func() bool {
		a.diag.mu.Lock()
		defer a.diag.mu.Unlock()
		return a.diag.runs > 0
	})
	eventually(t, 10*time.Second, "the container's findings are notified", func() bool {
		n := readNotes(t, notes)
		return diagNote(n, ctr.Name, ddocker.CodeNoMemoryLimit, monitor.Warning) && diagNote(n, ctr.Name, ddocker.CodeNoRestartPolicy, monitor.Warning)
	})
	for _, n := range readNotes(t, notes) {
		assert.Equal(t, DiagCheck, n.Check)
		assert.NotEqual(t, monitor.OK, n.Status, "nothing is resolved yet: %s", n.Message)
		if n.Target.Name == ctr.Name {
			assert.Equal(t, inventory.KindContainer, n.Target.Kind)
			assert.Equal(t, ctr.ID, n.Target.ID)
			assert.Contains(t, n.Message, "fix: ", "the notification says what to do")
		}
	}

	srv := httptest.NewServer(a.handler())
	defer srv.Close()
	code, body, _ := call(t, srv, "GET", "/api/v1/diag", "")
	require.Equal(t, http.StatusOK, code, body)
	var v struct {
		Runs     uint64 `json:"runs"`
		Interval string `json:"interval"`
		ExitCode int    `json:"exit_code"`
		Engines  []struct {
			Engine string `json:"engine"`
			Report struct {
				Scope   string             `json:"scope"`
				Results []diag.CheckResult `json:"results"`
			} `json:"report"`
		} `json:"engines"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &v), body)
	assert.Equal(t, "1h0m0s", v.Interval)
	assert.GreaterOrEqual(t, v.Runs, uint64(1))
	assert.GreaterOrEqual(t, v.ExitCode, 1, "the container's warnings at least")
	require.Len(t, v.Engines, 1)
	assert.Equal(t, "local", v.Engines[0].Engine)
	assert.Equal(t, "engine local", v.Engines[0].Report.Scope)
	found := false
	for _, r := range v.Engines[0].Report.Results {
		for _, f := range r.Findings {
			found = found || (f.Code == ddocker.CodeNoMemoryLimit && f.Subject.Name == ctr.Name)
		}
	}
	assert.True(t, found, "the report holds the container's finding")
	code, body, _ = call(t, srv, "GET", "/api/v1/diag?format=text", "")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "engine local:")
	assert.Contains(t, body, ctr.Name)
	code, _, _ = call(t, srv, "GET", "/api/v1/diag?format=yaml", "")
	assert.Equal(t, http.StatusBadRequest, code)
	code, body, _ = call(t, srv, "GET", "/api/v1/diag", "", "Host", "evil.example")
	assert.Equal(t, http.StatusForbidden, code, "guarded like the other API routes")
	assert.NotContains(t, body, ctr.Name)

	// The container goes: its findings are resolved.
	require.NoError(t, h.Client.ContainerRemove(context.Background(), ctr.ID, dcontainer.RemoveOptions{Force: true}))
	// Runs within ddocker.SnapshotReuse of the last share its listing:
	// run until the listing no longer has the container.
	last := time.Time{}
	eventually(t, 20*time.Second, "the findings are notified as resolved", func() bool {
		if time.Since(last) > ddocker.SnapshotReuse/2 {
			a.diag.runOnce(context.Background())
			last = time.Now()
		}
		n := readNotes(t, notes)
		return diagNote(n, ctr.Name, "resolved: "+ddocker.CodeNoMemoryLimit, monitor.OK) && diagNote(n, ctr.Name, "resolved: "+ddocker.CodeNoRestartPolicy, monitor.OK)
	})
}

// TestDiagChanges: a finding at warning or above is notified once when it
// appears and again when its severity changes; when it is gone it is
// notified as resolved; info findings are not notified; the findings of a
// check that could not answer stay as they were.
func TestDiagChanges(t *testing.T) {
	e := &diagEngine{name: "prod", endpoint: "tcp://10.0.0.5:2376", open: map[string]map[string]diag.Finding{}}
	web := diag.Subject{Kind: diag.SubjectContainer, ID: "0123456789abcdef", Name: "web", Engine: "prod"}
	at := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	report := func(results ...diag.CheckResult) diag.Report { return diag.Report{Taken: at, Results: results} }
	hyg := diag.CheckInfo{ID: ddocker.CheckHygiene}
	disk := diag.CheckInfo{ID: "host.data_root"}
	noLimit := diag.Finding{Code: ddocker.CodeNoMemoryLimit, Severity: diag.Warning, Subject: web, Title: "No memory limit", Remedy: "docker update --memory 512m web"}
	noHC := diag.Finding{Code: ddocker.CodeNoHealthcheck, Severity: diag.Info, Subject: web, Title: "No health check"}
	full := diag.Finding{Code: "D21", Severity: diag.Warning, Subject: diag.Subject{Kind: diag.SubjectHost, Name: "web1"}, Title: "Data root 88 % full"}
	lines := func(evs []monitor.Evaluation) []string {
		var out []string
		for _, ev := range evs {
			assert.Equal(t, DiagCheck, ev.Check)
			assert.Equal(t, ev.Status, ev.Result.Status)
			assert.Equal(t, at, ev.Result.Time)
			assert.Equal(t, "tcp://10.0.0.5:2376", ev.Target.Engine)
			out = append(out, ev.Status.String()+" "+ev.Target.String()+" "+ev.Message)
		}
		return out
	}

	assert.Equal(t, []string{
		"WARNING container web (0123456789ab) container.no_memory_limit container web: No memory limit; fix: docker update --memory 512m web",
		"WARNING host web1 D21 host web1: Data root 88 % full",
	}, lines(e.changes(report(diag.CheckResult{Check: hyg, Findings: []diag.Finding{noLimit, noHC}}, diag.CheckResult{Check: disk, Findings: []diag.Finding{full}}))))
	assert.Empty(t, e.changes(report(diag.CheckResult{Check: hyg, Findings: []diag.Finding{noLimit, noHC}}, diag.CheckResult{Check: disk, Findings: []diag.Finding{full}})), "nothing new")

	worse := full
	worse.Severity, worse.Title = diag.Critical, "Data root 97 % full"
	assert.Equal(t, []string{"CRITICAL host web1 D21 host web1: Data root 97 % full"},
		lines(e.changes(report(diag.CheckResult{Check: hyg, Err: "timed out after 30s"}, diag.CheckResult{Check: disk, Findings: []diag.Finding{worse}}))),
		"a check that could not answer resolves nothing")

	assert.Equal(t, []string{
		"OK container web (0123456789ab) resolved: container.no_memory_limit container web: No memory limit",
		"OK host web1 resolved: D21 host web1: Data root 97 % full",
	}, lines(e.changes(report(diag.CheckResult{Check: hyg, Findings: []diag.Finding{noHC}}, diag.CheckResult{Check: disk}))))
	assert.Empty(t, e.open, "nothing open any more")
}

// TestDiagConfig: the diag: section's values are checked, with their key
// paths; diagnostics alone are something to do.
func TestDiagConfig(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(write(t, dir, "bad.yaml", "diag: {enabled: true, interval: 30s, reserved_ports: [9080, 0], probe_image: \"bad image\", dns_names: [\"a b\"]}\n"))
	require.Error(t, err)
	for _, want := range []string{
		"diag.interval: 30s: want 1m0s or more (default 10m0s)",
		"diag.reserved_ports[1]: 0: want a port from 1 to 65535",
		`diag.probe_image: "bad image"`,
		`diag.dns_names[0]: "a b": want a host name`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	cfg, err := Load(write(t, dir, "ok.yaml", "diag: {enabled: true}\n"))
	require.NoError(t, err, "diagnostics alone are something to do")
	assert.True(t, cfg.Diag.Enabled)
	_, err = Load(write(t, dir, "typo.yaml", "diag: {enabled: true, intervall: 5m}\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "intervall")
}

// TestDiagOff: without diag enabled the route says how to turn it on.
func TestDiagOff(t *testing.T) {
	a, srv := newTestAgent(t, "listen: 127.0.0.1:0\n", nil)
	assert.Nil(t, a.diag)
	code, body, _ := call(t, srv, "GET", "/api/v1/diag", "")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, errorOf(t, body), "set diag: {enabled: true}")
	code, _, _ = call(t, srv, "GET", "/api/v1/diag", "", "Host", "evil.example")
	assert.Equal(t, http.StatusForbidden, code, "the guard comes first")
}
