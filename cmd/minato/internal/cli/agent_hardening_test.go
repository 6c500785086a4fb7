package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// agentProc is the real minato agent binary, running.
type agentProc struct {
	cmd    *exec.Cmd
	base   string
	stderr *lockedBuffer
}

// runAgentBinary starts `minato agent` with the config text (listen is
// added) on the engine at host, and waits until it answers HTTP.
func runAgentBinary(t *testing.T, host, dir, text string) *agentProc {
	t.Helper()
	bin := buildMinato(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	cfg := filepath.Join(dir, "agent.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("listen: "+addr+"\nstate_dir: "+filepath.Join(dir, "state")+"\n"+text), 0o600))
	p := &agentProc{base: "http://" + addr, stderr: &lockedBuffer{}}
	p.cmd = exec.Command(bin, "agent", "--config", cfg)
	p.cmd.Env = append(os.Environ(), "DOCKER_HOST="+host)
	p.cmd.Stderr = p.stderr
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(p.base + "/healthz"); err == nil {
			resp.Body.Close()
			return p
		}
		require.False(t, time.Now().After(deadline), "the agent did not answer; its stderr:\n%s", p.stderr.String())
	}
}

// fds counts the agent's open file descriptors, as the kernel sees them.
func (p *agentProc) fds(t *testing.T) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid))
	if err != nil {
		t.Skipf("cannot count the agent's file descriptors: %v", err)
	}
	return len(ents)
}

// rssMiB is the agent's resident memory, as the kernel sees it.
func (p *agentProc) rssMiB(t *testing.T) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			require.NoError(t, err)
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// metric scrapes one unlabelled series of the agent's /metrics.
func (p *agentProc) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get(p.base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	t.Fatalf("no series %s in /metrics", name)
	return 0
}

// healthz times one /healthz request on a connection of its own.
func (p *agentProc) healthz() (time.Duration, error) {
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := hc.Get(p.base + "/healthz")
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("healthz: %s", resp.Status)
	}
	return time.Since(start), nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(math.Ceil(p*float64(len(s))))-1]
}

// TestAgentSlowLoris: thousands of stalled connections on loopback (no
// request, half a request line, headers then a stalled body without the
// token) neither exhaust the agent's file descriptors nor keep /healthz
// from answering promptly; refused requests are answered and closed.
func TestAgentSlowLoris(t *testing.T) {
	h := dockertest.New(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token"), []byte("s3cret\n"), 0o600))
	p := runAgentBinary(t, h.Host, dir, "events: {enabled: true}\napi: {token_file: token}\n")
	before := p.fds(t)

	const stalled = 3000
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	addr := strings.TrimPrefix(p.base, "http://")
	refused := 0
	for i := range stalled {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		conns = append(conns, c)
		switch i % 3 {
		case 0: // nothing at all
		case 1:
			_, _ = c.Write([]byte("GET /api/v1/runs HTTP/1.1\r\nHost: "))
		case 2:
			_, _ = fmt.Fprintf(c, "POST /api/v1/runs HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", addr)
		}
	}
	// The refused ones are answered 401 at once, and their connection
	// closed, though their body never came.
	for i := 2; i < 60; i += 3 {
		_ = conns[i].SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conns[i]), nil)
		if err == nil && resp.StatusCode == http.StatusUnauthorized && resp.Close {
			refused++
		}
	}
	assert.Equal(t, 20, refused, "headers then a stalled body without the token: 401 and Connection: close at once")

	var lat []time.Duration
	for range 50 {
		d, err := p.healthz()
		require.NoError(t, err, "/healthz answers under the stalled connections")
		lat = append(lat, d)
	}
	fds := p.fds(t)
	rss := p.rssMiB(t)
	t.Logf("slow loris: %d stalled connections; agent fds %d -> %d; RSS %.1f MiB; /healthz p50 %s p99 %s max %s",
		stalled, before, fds, rss, percentile(lat, 0.5), percentile(lat, 0.99), slices.Max(lat))
	assert.Less(t, fds, before+512+64, "the agent keeps at most 512 connections")
	assert.Less(t, percentile(lat, 0.99), time.Second)
	assert.Less(t, rss, 200.0)
}

// TestAgentSoak: API reads and submissions at about 200 requests a second
// next to 20 checks leave the agent's goroutines and memory flat.
func TestAgentSoak(t *testing.T) {
	secs := 60
	if v, err := strconv.Atoi(os.Getenv("MINATO_SOAK_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	if testing.Short() {
		secs = 10
	}
	h := dockertest.New(t)
	for range 3 {
		h.Run(t, dockertest.RunOptions{Args: []string{"spawn", "2", "--", "sleep", "forever"}})
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token"), []byte("s3cret\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "soak.yaml"), []byte("name: soak\nunits:\n  - {name: a, host: {command: [/bin/true]}}\n"), 0o600))
	var checks strings.Builder
	monitors := []string{"cpu", "memory", "disk", "network", "pids", "process", "container-status", "host-status", "host-count", "host-size"}
	for i := range 20 {
		fmt.Fprintf(&checks, "  - {name: c%02d, monitor: %s, interval: 1s, targets: {labels: {%s: %q}}}\n", i, monitors[i%len(monitors)], dockertest.LabelKey, h.RunID())
	}
	p := runAgentBinary(t, h.Host, dir, "events: {enabled: true}\napi: {token_file: token}\njobnets: [soak.yaml]\n"+
		"jobs: {store: "+filepath.Join(dir, "jobs.db")+"}\nchecks:\n"+checks.String())

	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path, body string) (int, error) {
		req, _ := http.NewRequest(method, p.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer s3cret")
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var (
		mu       sync.Mutex
		lastRun  = "soak@none"
		requests atomic.Int64
		failures atomic.Int64
	)
	ctx, stop := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer stop()
	var wg sync.WaitGroup
	tick := time.NewTicker(5 * time.Millisecond) // 200 a second
	defer tick.Stop()
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			wg.Go(func() {
				var code int
				var err error
				switch {
				case i%20 == 0: // 10 submissions a second
					req, _ := http.NewRequest(http.MethodPost, p.base+"/api/v1/runs", strings.NewReader(`{"network":"soak"}`))
					req.Header.Set("Authorization", "Bearer s3cret")
					req.Header.Set("Content-Type", "application/json")
					resp, e := client.Do(req)
					if err = e; err == nil {
						var rec struct{ ID string }
						_ = json.NewDecoder(resp.Body).Decode(&rec)
						resp.Body.Close()
						code = resp.StatusCode
						if rec.ID != "" {
							mu.Lock()
							lastRun = rec.ID
							mu.Unlock()
						}
					}
				case i%4 == 1:
					code, err = do(http.MethodGet, "/api/v1/status", "")
				case i%4 == 2:
					code, err = do(http.MethodGet, "/api/v1/runs?limit=5", "")
				default:
					mu.Lock()
					id := lastRun
					mu.Unlock()
					code, err = do(http.MethodGet, "/api/v1/runs/"+id, "")
					if code == http.StatusNotFound {
						code = http.StatusOK // the first reads come before the first run
					}
				}
				requests.Add(1)
				if err != nil || code >= 400 && code != http.StatusConflict {
					failures.Add(1)
				}
			})
		}
	})
	type sample struct {
		at         time.Duration
		goroutines float64
		rss        float64
	}
	var samples []sample
	var lat []time.Duration
	start := time.Now()
	for ctx.Err() == nil {
		time.Sleep(250 * time.Millisecond)
		if d, err := p.healthz(); err == nil {
			lat = append(lat, d)
		} else if ctx.Err() == nil {
			t.Errorf("/healthz under load: %v", err)
		}
		if at := time.Since(start); len(samples) == 0 || at-samples[len(samples)-1].at >= 5*time.Second {
			samples = append(samples, sample{at, p.metric(t, "go_goroutines"), p.rssMiB(t)})
		}
	}
	wg.Wait()
	// A container started now is two engine events (create, start) the
	// agent counts.
	before := p.metric(t, "minato_engine_events_total")
	h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	require.Eventually(t, func() bool { return p.metric(t, "minato_engine_events_total") >= before+2 }, 10*time.Second, 100*time.Millisecond,
		"minato_engine_events_total counts the engine's events")
	rate := float64(requests.Load()) / time.Since(start).Seconds()
	var lines []string
	for _, s := range samples {
		lines = append(lines, fmt.Sprintf("%3.0fs goroutines %3.0f RSS %5.1f MiB", s.at.Seconds(), s.goroutines, s.rss))
	}
	t.Logf("soak %ds: %d requests (%.0f/s), %d failed; /healthz p50 %s p99 %s\n%s", secs, requests.Load(), rate,
		failures.Load(), percentile(lat, 0.5), percentile(lat, 0.99), strings.Join(lines, "\n"))
	assert.Greater(t, rate, 150.0, "the load reached about 200 requests a second")
	assert.Zero(t, failures.Load(), "no request failed")
	assert.Less(t, percentile(lat, 0.99), time.Second)
	require.GreaterOrEqual(t, len(samples), 2)
	// Flat: after the first samples (warm-up), neither grows.
	warm, last := samples[min(1, len(samples)-1)], samples[len(samples)-1]
	assert.Less(t, last.goroutines-warm.goroutines, 40.0, "goroutines stay flat")
	assert.Less(t, last.rss-warm.rss, 40.0, "memory stays flat")
}

// TestAgentStopsWithinBudgetWhileWebhookHangs: SIGTERM while a webhook
// endpoint holds a notification ends the agent within the 5 s it
// promises; the notification is counted as dropped.
func TestAgentStopsWithinBudgetWhileWebhookHangs(t *testing.T) {
	h := dockertest.New(t)
	no := false
	dead := h.Run(t, dockertest.RunOptions{Args: []string{"exit", "0"}, Start: &no})
	got := make(chan struct{}, 16)
	release := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hook.Close()
	defer close(release)
	dir := t.TempDir()
	p := runAgentBinary(t, h.Host, dir, fmt.Sprintf(`events: {enabled: false}
checks:
  - {name: st, monitor: container-status, interval: 1s, targets: {names: [%s]}}
notify:
  - webhook: {url: %q, timeout: 30s, retries: 5}
`, dead.Name, hook.URL))
	select {
	case <-got: // the CRITICAL of the created container is being posted
	case <-time.After(20 * time.Second):
		t.Fatalf("no notification reached the webhook; stderr:\n%s", p.stderr.String())
	}
	start := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	err := p.cmd.Wait()
	took := time.Since(start)
	t.Logf("stopped %s after SIGTERM with a webhook hanging", took)
	require.NoError(t, err, "a clean stop: exit 0; stderr:\n%s", p.stderr.String())
	assert.Less(t, took, 5500*time.Millisecond, "the documented 5 s budget")
	assert.True(t, bytes.Contains([]byte(p.stderr.String()), []byte("notifications not delivered at shutdown")), p.stderr.String())
}
