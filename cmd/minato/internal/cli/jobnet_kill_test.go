package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	jobdocker "github.com/minato-ops/minato/job/docker"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJobnetSurvivesAgentSIGKILL runs the real binary's agent with a job
// network whose middle unit runs a 10 s container, SIGKILLs the agent while
// that container runs, and starts it again over the same store. The
// container is adopted: it is created once, its whole output (from before
// and after the kill) is in the unit's report once, the unit before it
// keeps its result and is not run again, the unit after it runs once, and
// nothing is left on the engine.
func TestJobnetSurvivesAgentSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a 10 s container")
	}
	h := dockertest.New(t)
	img := h.Image(t)
	local := clienttest.New(t, h)
	dir := t.TempDir()
	bin := buildMinato(t, dir)

	name := "kill-" + h.RunID()[:8]
	labels := fmt.Sprintf("{%s: %s, %s: %q}", dockertest.LabelKey, h.RunID(), dockertest.NameLabelKey, t.Name())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "net.yaml"), []byte(fmt.Sprintf(`name: %s
units:
  - name: first
    run: {image: %q, command: [print, first-done], labels: %s}
  - name: long
    needs: [first]
    run: {image: %q, command: [print, before, --, sleep, 10s, --, print, after], labels: %s}
  - name: last
    needs: [long]
    run: {image: %q, command: [print, last-done], labels: %s}
`, name, img, labels, img, labels, img, labels)), 0o600))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	cfg := filepath.Join(dir, "agent.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: %s
events: {enabled: false}
jobnets: [net.yaml]
jobs: {store: %s}
`, addr, filepath.Join(dir, "jobs.db"))), 0o600))

	// Count the containers the engine creates for the run, per unit.
	var (
		mu      sync.Mutex
		creates = map[string]int{}
	)
	ectx, ecancel := context.WithCancel(context.Background())
	evDone := make(chan struct{})
	go func() {
		defer close(evDone)
		_ = local.Events(ectx, container.EventsOptions{Since: time.Now(), Filters: map[string][]string{
			"type": {"container"}, "event": {"create"}, "label": {jobdocker.LabelNetwork + "=" + name}}},
			func(e container.Event) error {
				mu.Lock()
				creates[e.Attributes[jobdocker.LabelUnit]]++
				mu.Unlock()
				return nil
			})
	}()
	defer func() { ecancel(); <-evDone }()

	var stderr lockedBuffer
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "agent", "--config", cfg, "--log-level", "debug")
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+h.Host)
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	base := "http://" + addr
	waitFor := func(what string, d time.Duration, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(d); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s; the agent's stderr:\n%s", what, d, stderr.String())
			}
		}
	}
	up := func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}

	p1 := start()
	waitFor("the first agent's HTTP API", 20*time.Second, up)
	body, _ := json.Marshal(map[string]any{"network": name})
	resp, err := http.Post(base+"/api/v1/runs", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	var rec scheduler.RunRecord
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&rec))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.NotEmpty(t, rec.ID)

	longRunning := func() (string, bool) {
		res, err := local.List(context.Background(), container.ListOptions{Labels: map[string]string{
			jobdocker.LabelRun: rec.ID, jobdocker.LabelUnit: "long"}})
		if err != nil || len(res.Containers) != 1 {
			return "", false
		}
		return res.Containers[0].ID, true
	}
	var longID string
	waitFor("the long unit's container running", 30*time.Second, func() bool {
		id, ok := longRunning()
		longID = id
		return ok
	})
	time.Sleep(2 * time.Second) // well inside the 10 s
	require.NoError(t, p1.Process.Signal(syscall.SIGKILL))
	_ = p1.Wait()
	id, ok := longRunning()
	require.True(t, ok, "the container outlives the agent")
	require.Equal(t, longID, id)

	time.Sleep(time.Second) // down for a while
	p2 := start()
	waitFor("the second agent's HTTP API", 20*time.Second, up)
	var final scheduler.RunRecord
	waitFor("the run to end", 40*time.Second, func() bool {
		resp, err := http.Get(base + "/api/v1/runs/" + url.PathEscape(rec.ID))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var r scheduler.RunRecord
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&r) != nil {
			return false
		}
		final = r
		return r.Finished()
	})
	require.NoError(t, p2.Process.Signal(syscall.SIGTERM))
	exited := make(chan error, 1)
	go func() { exited <- p2.Wait() }()
	select {
	case err := <-exited:
		require.NoError(t, err, "exit after SIGTERM; stderr:\n%s", stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10 s of SIGTERM")
	}

	assert.Equal(t, job.Succeeded, final.Report.State, "stderr:\n%s", stderr.String())
	long, ok := final.Report.Unit("long")
	require.True(t, ok)
	assert.Equal(t, job.Succeeded, long.State)
	assert.Equal(t, 0, long.ExitCode)
	assert.Equal(t, "before\nafter\n", long.Output, "the whole output, once")
	assert.GreaterOrEqual(t, long.Duration(), 10*time.Second, "timed from the container's start, not the adoption")
	for _, u := range []string{"first", "last"} {
		r, _ := final.Report.Unit(u)
		assert.Equal(t, job.Succeeded, r.State, u)
		assert.Equal(t, u+"-done\n", r.Output, u)
	}
	mu.Lock()
	assert.Equal(t, map[string]int{"first": 1, "long": 1, "last": 1}, creates, "one container per unit: nothing ran twice")
	mu.Unlock()
	res, err := local.List(context.Background(), container.ListOptions{All: true, Labels: map[string]string{jobdocker.LabelRun: rec.ID}})
	require.NoError(t, err)
	assert.Empty(t, res.Containers, "the run's containers were removed once recorded")
	assert.Contains(t, stderr.String(), `"resuming run"`)
	assert.NotContains(t, strings.ToLower(stderr.String()), "panic")
}
