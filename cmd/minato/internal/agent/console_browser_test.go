package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/internal/dockertest"
)

// browser starts headless Chromium (Debian's chromium package) at
// 1280x800, or skips without it (fails with MINATO_REQUIRE_DOCKER=1).
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("MINATO_REQUIRE_DOCKER") == "1" {
			t.Fatalf("chromium not found (MINATO_REQUIRE_DOCKER=1; install Debian's chromium package): %v", err)
		}
		t.Skip("chromium not found: install Debian's chromium package")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	require.NoError(t, chromedp.Do(ctx), "starting chromium")
	return ctx
}

// artefacts is where screenshots go: $MINATO_ARTIFACTS/<test> or a
// temporary directory.
func artefacts(t *testing.T) string {
	dir := t.TempDir()
	if a := os.Getenv("MINATO_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, t.Name())
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}
	return dir
}

func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

// TestConsoleInBrowser drives the console of an agent on the real engine
// in headless Chromium: the token is entered in the page, a container
// the test starts appears without a reload, a failing unit turns red and
// says so, hold then release changes the unit's state as the API reports
// it, and a control without the token is refused.
func TestConsoleInBrowser(t *testing.T) {
	h := dockertest.New(t)
	bctx := browser(t)
	dir := t.TempDir()
	const token = "console-test-token-0123456789"
	write(t, dir, "token", token+"\n")
	write(t, dir, "flow.yaml", "name: flow\nunits:\n  - {name: extract, host: {command: [/bin/sleep, '4']}}\n  - {name: load, needs: [extract], host: {command: [/bin/true]}}\n  - {name: report, needs: [load], host: {command: [/bin/echo, done]}}\n")
	write(t, dir, "broken.yaml", "name: broken\nunits:\n  - {name: fetch, host: {command: [/bin/true]}}\n  - {name: parse, needs: [fetch], host: {command: [/bin/sh, -c, 'echo bad input >&2; exit 3']}}\n  - {name: notify, needs: [parse], when: failure, host: {command: [/bin/true]}}\n")
	label := "minato.test"
	path := write(t, dir, "agent.yaml", fmt.Sprintf(`listen: 127.0.0.1:0
state_dir: %q
api: {token_file: %q}
docker: {host: %q}
events: {enabled: true}
jobs: {enabled: true, store: %q}
jobnets: [%q, %q]
checks:
  - {name: cpu, monitor: cpu, interval: 1s, targets: {labels: {%s: %q}}}
  - {name: memory, monitor: memory, interval: 1s, targets: {labels: {%s: %q}}}
`, filepath.Join(dir, "state"), filepath.Join(dir, "token"), h.Host, filepath.Join(dir, "jobs.db"), filepath.Join(dir, "flow.yaml"), filepath.Join(dir, "broken.yaml"),
		label, h.RunID(), label, h.RunID()))
	cfg, err := Load(path)
	require.NoError(t, err)
	a, err := New(cfg, func(string) string { return "" }, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })
	var addr string
	select {
	case addr = <-a.Addr():
	case err := <-done:
		t.Fatalf("agent stopped: %v", err)
	}
	base := "http://" + addr
	api := func(method, p, body string) (int, map[string]any) {
		req, err := http.NewRequest(method, base+p, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	unitState := func(run, unit string) string {
		_, rec := api("GET", "/api/v1/runs/"+run, "")
		rep, _ := rec["report"].(map[string]any)
		units, _ := rep["units"].([]any)
		for _, u := range units {
			if m, _ := u.(map[string]any); m["name"] == unit {
				return fmt.Sprint(m["state"])
			}
		}
		return ""
	}
	shots := artefacts(t)
	tctx, tcancel := context.WithTimeout(bctx, 3*time.Minute)
	defer tcancel()

	// The page loads without data until the token is entered.
	require.NoError(t, chromedp.Do(tctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("#token-input"))))
	locked, err := chromedp.Run(tctx, chromedp.AttributeValue(chromedp.ID("#main"), "data-locked"))
	require.NoError(t, err)
	assert.Equal(t, "1", locked.Value, "no data before the token")
	require.NoError(t, chromedp.Do(tctx, chromedp.SendKeys(chromedp.ID("#token-input"), token), chromedp.Click(chromedp.ID("#token-save")),
		chromedp.WaitVisible(chromedp.ID("#h-engines"))))

	// A container started now appears without a reload.
	started := time.Now()
	c := h.Run(t, dockertest.RunOptions{Name: "minato-console-" + h.RunID(), Args: []string{"sleep", "forever"}, Labels: map[string]string{label: h.RunID()}})
	sel := fmt.Sprintf(`tr[data-container=%q]`, c.Name)
	wctx, wcancel := context.WithTimeout(tctx, 20*time.Second)
	require.NoError(t, chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(sel))))
	wcancel()
	appeared := time.Since(started)
	t.Logf("container %s appeared in the page %s after it started", c.Name, appeared)
	assert.LessOrEqual(t, appeared, 2*time.Second, "a started container appears within 2 s without reload")
	// The agent wires its change counter: the estate view waits for
	// changes (?since=) instead of being read every second.
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/console/estate?format=html", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.NotEmpty(t, resp.Header.Get("X-Console-Version"), "the estate view follows the agent's changes")
	// Its checks' values arrive too (the cpu and memory checks run every second).
	wctx, wcancel = context.WithTimeout(tctx, 30*time.Second)
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(sel+` .spark`))); err != nil {
		_, st := api("GET", "/api/v1/status", "")
		t.Fatalf("no sparkline for %s: %v; status: %v", c.Name, err, st)
	}
	wcancel()
	shoot(t, tctx, shots, "estate")

	// A failing unit turns red and says "failed".
	code, rec := api("POST", "/api/v1/runs", `{"network":"broken"}`)
	require.Equal(t, http.StatusCreated, code, rec)
	broken := rec["id"].(string)
	require.NoError(t, chromedp.Do(tctx, chromedp.Navigate(base+"/console/jobs?run="+broken),
		chromedp.WaitVisible(chromedp.ID(`#h-run`)),
		chromedp.WaitVisible(chromedp.CSS(`.detail g.node.st-crit[data-unit="parse"]`))))
	text, err := chromedp.Run(tctx, chromedp.TextContent(chromedp.CSS(`.detail g.node[data-unit="parse"] .ns`)))
	require.NoError(t, err)
	assert.Contains(t, text, "failed")
	fill, err := chromedp.Run(tctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.detail g.node[data-unit="parse"] rect')).stroke`))
	require.NoError(t, err)
	assert.Equal(t, "rgb(179, 38, 30)", fill, "drawn red")
	shoot(t, tctx, shots, "jobs-failed")

	// Hold then release a unit from the page; the API agrees each time.
	code, rec = api("POST", "/api/v1/runs", `{"network":"flow"}`)
	require.Equal(t, http.StatusCreated, code, rec)
	flow := rec["id"].(string)
	require.NoError(t, chromedp.Do(tctx, chromedp.Navigate(base+"/console/jobs?run="+flow),
		chromedp.WaitVisible(chromedp.CSS(`button[data-ctl="unit-hold"][data-unit="load"]`)),
		chromedp.Click(chromedp.CSS(`button[data-ctl="unit-hold"][data-unit="load"]`)),
		chromedp.WaitVisible(chromedp.ID("#confirm-yes")), chromedp.Click(chromedp.ID("#confirm-yes")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-unit="load"] .st-warn`))))
	assert.Equal(t, "held", unitState(flow, "load"), "the API agrees: held")
	text, err = chromedp.Run(tctx, chromedp.Text(chromedp.CSS(`tr[data-unit="load"] .unit-state`)))
	require.NoError(t, err)
	assert.Contains(t, text, "held")
	shoot(t, tctx, shots, "jobs-held")
	require.NoError(t, chromedp.Do(tctx,
		chromedp.WaitVisible(chromedp.CSS(`button[data-ctl="unit-release"][data-unit="load"]`)),
		chromedp.Click(chromedp.CSS(`button[data-ctl="unit-release"][data-unit="load"]`)),
		chromedp.WaitVisible(chromedp.ID("#confirm-yes")), chromedp.Click(chromedp.ID("#confirm-yes"))))
	require.Eventually(t, func() bool { s := unitState(flow, "load"); return s != "held" && s != "" }, 20*time.Second, 100*time.Millisecond)
	wctx, wcancel = context.WithTimeout(tctx, 30*time.Second)
	require.NoError(t, chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(`.detail g.node.st-ok[data-unit="report"]`))))
	wcancel()
	assert.Equal(t, "succeeded", unitState(flow, "load"), "the API agrees: released, then ran")

	// Without the token a control is refused, and the page says so.
	require.NoError(t, chromedp.Do(tctx, chromedp.Navigate(base+"/console/jobs"), chromedp.WaitVisible(chromedp.CSS(`button[data-ctl="queue-stop"]`)),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Run(ctx, chromedp.Evaluate[any](`sessionStorage.clear()`))
			return err
		}),
		chromedp.Click(chromedp.CSS(`button[data-ctl="queue-stop"]`)),
		chromedp.WaitVisible(chromedp.ID("#confirm-yes")), chromedp.Click(chromedp.ID("#confirm-yes")),
		chromedp.WaitVisible(chromedp.CSS("#flash.crit"))))
	flash, err := chromedp.Run(tctx, chromedp.Text(chromedp.ID("#flash")))
	require.NoError(t, err)
	assert.Contains(t, flash, "401")
	assert.Contains(t, flash, "needs the agent's token")
	_, q := api("POST", "/api/v1/queues/default/start", "")
	assert.Equal(t, false, q["stopped"], "the queue was not stopped")

	// Every view, for the record.
	require.NoError(t, chromedp.Do(tctx, chromedp.Navigate(base+"/"), chromedp.SendKeys(chromedp.ID("#token-input"), token),
		chromedp.Click(chromedp.ID("#token-save")), chromedp.WaitVisible(chromedp.ID("#h-engines"))))
	for _, v := range []string{"checks", "jobs", "ha", "images", "apps", "diag"} {
		require.NoError(t, chromedp.Do(tctx, chromedp.Navigate(base+"/console/"+v), chromedp.WaitVisible(chromedp.CSS("main h1"))), v)
		shoot(t, tctx, shots, v)
	}
	t.Logf("screenshots in %s", shots)
}
