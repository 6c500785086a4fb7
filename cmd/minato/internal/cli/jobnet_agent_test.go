package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/cmd/minato/internal/agent"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockedBuffer collects output written from many goroutines (an agent's log, a child process's stderr).
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

// testAgent is an agent running in-process on 127.0.0.1:0.
type testAgent struct {
	url   string
	token string
	host  string // the engine
	log   *lockedBuffer
	stop  func()
}

// startAgent runs the agent of the config file until stop (or the end of
// the test).
func startAgent(t *testing.T, h *dockertest.Harness, cfgPath, token string) *testAgent {
	t.Helper()
	cfg, err := agent.Load(cfgPath)
	require.NoError(t, err)
	logs := &lockedBuffer{}
	a, err := agent.New(cfg, func(k string) string {
		if k == "DOCKER_HOST" {
			return h.Host
		}
		return ""
	}, slog.New(slog.NewJSONHandler(logs, nil)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var addr string
	select {
	case addr = <-a.Addr():
	case err := <-done:
		t.Fatalf("agent stopped: %v\n%s", err, logs)
	case <-time.After(15 * time.Second):
		t.Fatal("agent did not start")
	}
	ta := &testAgent{url: "http://" + addr, token: token, host: h.Host, log: logs}
	var once sync.Once
	ta.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				assert.NoError(t, err)
			case <-time.After(15 * time.Second):
				t.Error("agent did not stop")
			}
		})
	}
	t.Cleanup(func() {
		ta.stop()
		if t.Failed() {
			t.Logf("agent log:\n%s", logs)
		}
	})
	return ta
}

// jn runs "minato jobnet ARGS" against the agent, with its token.
func (ta *testAgent) jn(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return ta.jnEnv(t, map[string]string{"MINATO_AGENT_TOKEN": ta.token}, args...)
}

func (ta *testAgent) jnEnv(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		switch k {
		case "MINATO_AGENT":
			return ta.url
		case "DOCKER_HOST":
			return ta.host
		}
		return vars[k]
	}}
	code := Main(context.Background(), append([]string{"jobnet"}, args...), env)
	return code, out.String(), errb.String()
}

// report returns the run's report, as "jobnet status --json" prints it.
func (ta *testAgent) report(t *testing.T, id string) job.NetworkReport {
	t.Helper()
	code, out, errs := ta.jn(t, "status", id, "--json")
	require.Equal(t, 0, code, errs)
	var rep job.NetworkReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	return rep
}

// waitReport polls the run until cond holds.
func (ta *testAgent) waitReport(t *testing.T, id string, timeout time.Duration, what string, cond func(job.NetworkReport) bool) job.NetworkReport {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		rep := ta.report(t, id)
		if cond(rep) {
			return rep
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: not %s within %s: %+v", id, what, timeout, rep)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func unitOf(t *testing.T, rep job.NetworkReport, name string) job.UnitReport {
	t.Helper()
	u, ok := rep.Unit(name)
	require.True(t, ok, "no unit %s in %+v", name, rep)
	return u
}

func finished(rep job.NetworkReport) bool { return rep.State.Finished() }

func unitIs(name string, st job.UnitState) func(job.NetworkReport) bool {
	return func(rep job.NetworkReport) bool { u, ok := rep.Unit(name); return ok && u.State == st }
}

// runContainers lists the containers of a run, by the minato.run label.
func runContainers(t *testing.T, h *dockertest.Harness, runID string) []container.Summary {
	t.Helper()
	cfg := container.DefaultConfig()
	cfg.Host = h.Host
	c, err := container.New(cfg)
	require.NoError(t, err)
	defer c.Close()
	res, err := c.List(context.Background(), container.ListOptions{All: true, Labels: map[string]string{"minato.run": runID}})
	require.NoError(t, err)
	return res.Containers
}

// jobnetConfig writes the agent's config and the job files of the tests:
// every run unit carries the harness labels, so that leftovers are swept.
type jobnetFiles struct {
	dir, img, labels, prefix string
}

func (f jobnetFiles) file(t *testing.T, name, text string) string {
	t.Helper()
	text = strings.NewReplacer("IMG", f.img, "LABELS", f.labels, "NAME", f.prefix+name).Replace(text)
	p := filepath.Join(f.dir, name+".yaml")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

func newJobnetFiles(t *testing.T, h *dockertest.Harness) jobnetFiles {
	labels := `{` + dockertest.LabelKey + `: "` + h.RunID() + `", ` + dockertest.NameLabelKey + `: "` + t.Name() + `"}`
	return jobnetFiles{dir: t.TempDir(), img: h.Image(t), labels: labels, prefix: "t" + h.RunID()[:6] + "-"}
}

const agentConfig = `
listen: 127.0.0.1:0
state_dir: DIR/state
events: {enabled: false}
jobnets: [configured.yaml]
queues: [{name: batch, concurrency: 1}]
calendars: [{name: business, weekdays: [mon, tue, wed, thu, fri], holidays: ["2026-12-31"]}]
jobs: {store: DIR/jobs.db, retention: 24h}
api: {token_file: DIR/token}
`

// TestJobnetAgent runs the agent's scheduler in-process on the real
// engine and drives it with the jobnet commands: submit and rerun, hold,
// release and skip, force-stop, queue stop and start, the token, errors.
func TestJobnetAgent(t *testing.T) {
	h := dockertest.New(t)
	f := newJobnetFiles(t, h)
	const token = "t0ken-for-tests"
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "token"), []byte(token+"\n"), 0o600))
	f.file(t, "configured", `name: NAME
schedule: {cron: "0 3 * * *", timezone: UTC, calendar: business}
units:
  - name: a
    run: {image: IMG, command: [print, configured], labels: LABELS}
`)
	cfgPath := filepath.Join(f.dir, "agent.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(strings.ReplaceAll(agentConfig, "DIR", f.dir)), 0o600))
	ta := startAgent(t, h, cfgPath, token)

	t.Run("list", func(t *testing.T) {
		t.Parallel()
		var code int
		var out, errs string
		require.Eventually(t, func() bool {
			code, out, errs = ta.jn(t, "list")
			return code == 0 && strings.Contains(out, "T03:00:00Z")
		}, 10*time.Second, 100*time.Millisecond, "the configured network is listed with its next due time")
		assert.Regexp(t, `(?m)^NETWORK\s+QUEUE\s+OVERLAP\s+SCHEDULE\s+NEXT\s+RUNNING$`, out)
		assert.Regexp(t, `(?m)^`+f.prefix+`configured\s+default\s+skip\s+0 3 \* \* \* on calendar "business" \(shift skip\)\s+\d{4}-\d\d-\d\dT03:00:00Z\s+-$`, out)

		code, out, errs = ta.jn(t, "submit", f.prefix+"configured", "--wait")
		require.Equal(t, 0, code, out+errs)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 2, out)
		assert.Regexp(t, `^`+f.prefix+`configured@\d{8}T\d{6}\.\d{3}Z$`, lines[0], "a submitted run's ID")
		assert.Regexp(t, `^a succeeded exit=0 attempts=1 \S+$`, lines[1])

		// --id makes a submission idempotent: the existing run is returned.
		code, out, errs = ta.jn(t, "submit", f.prefix+"configured", "--id", lines[0])
		require.Equal(t, 0, code, errs)
		assert.Equal(t, lines[0]+"\n", out)
		assert.Contains(t, errs, "exists already")
	})

	t.Run("rerun", func(t *testing.T) {
		t.Parallel()
		file := f.file(t, "fails", `name: NAME
units:
  - name: a
    run: {image: IMG, command: [print, hello], keep: true, labels: LABELS}
  - name: b
    needs: [a]
    run: {image: IMG, command: [exit, "3"], keep: true, labels: LABELS}
`)
		code, out, errs := ta.jn(t, "submit", file, "--wait")
		require.Equal(t, 9, code, out+errs)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 3, out)
		id := lines[0]
		assert.Regexp(t, `^a succeeded exit=0 attempts=1 `, lines[1])
		assert.Regexp(t, `^b failed exit=3 attempts=1 `, lines[2])

		code, out, errs = ta.jn(t, "status", id)
		require.Equal(t, 0, code, errs)
		assert.Regexp(t, `^run `+regexp.QuoteMeta(id)+` failed\na succeeded exit=0 attempts=1 \S+\nb failed exit=3 attempts=1 \S+\n$`, out)
		first := ta.report(t, id)
		assert.Equal(t, f.prefix+"fails", first.Name)
		assert.Contains(t, unitOf(t, first, "a").Output, "hello", "status --json has the unit output")
		assert.Len(t, runContainers(t, h, id), 2, "keep: one container per unit")

		before := time.Now()
		code, out, errs = ta.jn(t, "rerun", id)
		require.Equal(t, 0, code, errs)
		rerun := strings.TrimSpace(out)
		assert.Equal(t, id+".rerun1", rerun)
		rep := ta.waitReport(t, rerun, 30*time.Second, "finished", finished)
		assert.Equal(t, job.StateFailed, rep.State)
		a, a0 := unitOf(t, rep, "a"), unitOf(t, first, "a")
		assert.Equal(t, job.Succeeded, a.State)
		assert.Equal(t, a0.Attempts, a.Attempts, "a keeps its result")
		assert.True(t, a0.Started.Equal(a.Started), "a keeps its start: %s vs %s", a0.Started, a.Started)
		b := unitOf(t, rep, "b")
		assert.Equal(t, 3, b.ExitCode)
		assert.Equal(t, 1, b.Attempts)
		assert.True(t, b.Started.After(before), "b ran again")
		ctrs := runContainers(t, h, rerun)
		require.Len(t, ctrs, 1, "the rerun created one container: b's")
		assert.Equal(t, "b", ctrs[0].Labels["minato.unit"])

		code, out, errs = ta.jn(t, "history", f.prefix+"fails")
		require.Equal(t, 0, code, errs)
		hist := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, hist, 2, out)
		assert.Regexp(t, `^`+regexp.QuoteMeta(rerun)+` failed rerun \d{4}-\d\d-\d\dT\S+ \S+$`, hist[0], "newest first")
		assert.Regexp(t, `^`+regexp.QuoteMeta(id)+` failed submit \d{4}-\d\d-\d\dT\S+ \S+$`, hist[1])
		code, out, errs = ta.jn(t, "history", f.prefix+"fails", "--limit", "1", "--json")
		require.Equal(t, 0, code, errs)
		var recs []scheduler.RunRecord
		require.NoError(t, json.Unmarshal([]byte(out), &recs), out)
		require.Len(t, recs, 1)
		assert.Equal(t, rerun, recs[0].ID)
		assert.Equal(t, id, recs[0].RerunOf)
		assert.Empty(t, recs[0].Definition, "lists omit the definition")
		assert.Empty(t, unitOf(t, recs[0].Report, "a").Output, "lists omit the output (a kept its \"hello\")")

		// A control on a finished run: 409, exit 1 with the agent's message.
		code, _, errs = ta.jn(t, "hold", id, "b")
		assert.Equal(t, 1, code)
		assert.Contains(t, errs, "has ended (failed)")
	})

	t.Run("hold", func(t *testing.T) {
		t.Parallel()
		file := f.file(t, "held", `name: NAME
units:
  - name: first
    run: {image: IMG, command: [sleep, 3s], labels: LABELS}
  - name: second
    needs: [first]
    run: {image: IMG, command: [print, second], labels: LABELS}
  - name: third
    needs: [first]
    run: {image: IMG, command: [print, third], labels: LABELS}
`)
		code, out, errs := ta.jn(t, "submit", file, "--hold", "third")
		require.Equal(t, 0, code, errs)
		id := strings.TrimSpace(out)
		ta.waitReport(t, id, 15*time.Second, "running first", unitIs("first", job.Running))
		code, out, errs = ta.jn(t, "hold", id, "second")
		require.Equal(t, 0, code, errs)
		assert.Equal(t, id+" second held\n", out)
		code, _, errs = ta.jn(t, "hold", id, "first")
		assert.Equal(t, 1, code)
		assert.Contains(t, errs, "the unit is running; only a pending unit can be")

		rep := ta.waitReport(t, id, 15*time.Second, "done with first", unitIs("first", job.Succeeded))
		time.Sleep(700 * time.Millisecond)
		rep = ta.report(t, id)
		assert.Equal(t, job.Running, rep.State)
		assert.Equal(t, job.Held, unitOf(t, rep, "second").State, "held after its need ended")
		assert.Equal(t, job.Held, unitOf(t, rep, "third").State)

		code, out, errs = ta.jn(t, "release", id, "second")
		require.Equal(t, 0, code, errs)
		assert.Regexp(t, `^`+regexp.QuoteMeta(id)+` second (pending|running)\n$`, out)
		ta.waitReport(t, id, 15*time.Second, "done with second", unitIs("second", job.Succeeded))
		code, out, errs = ta.jn(t, "skip", id, "third")
		require.Equal(t, 0, code, errs)
		assert.Equal(t, id+" third succeeded\n", out)
		rep = ta.waitReport(t, id, 10*time.Second, "finished", finished)
		assert.Equal(t, job.Succeeded, rep.State)
		third := unitOf(t, rep, "third")
		assert.Equal(t, "skipped by an operator", third.Message)
		assert.Equal(t, 0, third.Attempts)
		assert.Contains(t, unitOf(t, rep, "second").Output, "second")
	})

	t.Run("stop", func(t *testing.T) {
		t.Parallel()
		file := f.file(t, "stopped", `name: NAME
units:
  - name: long
    run: {image: IMG, command: [sleep, 60s], labels: LABELS}
  - name: after
    needs: [long]
    when: failure
    run: {image: IMG, command: [print, cleanup], labels: LABELS}
`)
		code, out, errs := ta.jn(t, "submit", file)
		require.Equal(t, 0, code, errs)
		id := strings.TrimSpace(out)
		ta.waitReport(t, id, 15*time.Second, "running long", unitIs("long", job.Running))
		require.Eventually(t, func() bool {
			c := runContainers(t, h, id)
			return len(c) == 1 && c[0].State == "running"
		}, 10*time.Second, 100*time.Millisecond, "long's container runs")
		start := time.Now()
		code, out, errs = ta.jn(t, "stop", id, "long")
		require.Equal(t, 0, code, errs)
		assert.Regexp(t, `^`+regexp.QuoteMeta(id)+` long (stopping|failed)\n$`, out)
		rep := ta.waitReport(t, id, 12*time.Second, "finished", finished)
		assert.Less(t, time.Since(start), 12*time.Second)
		long := unitOf(t, rep, "long")
		assert.Equal(t, job.StateFailed, long.State)
		assert.Equal(t, "force-stopped by an operator", long.Message)
		assert.Equal(t, job.Succeeded, unitOf(t, rep, "after").State, "the failure branch ran")
		assert.Empty(t, runContainers(t, h, id), "the stopped container is gone")
	})

	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		file := f.file(t, "cancelled", `name: NAME
units:
  - name: long
    run: {image: IMG, command: [sleep, 60s], labels: LABELS, stop_grace: 1s}
  - name: after
    needs: [long]
    when: always
    run: {image: IMG, command: [print, never], labels: LABELS}
`)
		code, out, errs := ta.jn(t, "submit", file)
		require.Equal(t, 0, code, errs)
		id := strings.TrimSpace(out)
		require.Eventually(t, func() bool {
			c := runContainers(t, h, id)
			return len(c) == 1 && c[0].State == "running"
		}, 15*time.Second, 100*time.Millisecond, "long's container runs")
		code, out, errs = ta.jn(t, "cancel", id)
		require.Equal(t, 0, code, errs)
		assert.Regexp(t, `^`+regexp.QuoteMeta(id)+` (cancelling|cancelled)\n$`, out)
		rep := ta.waitReport(t, id, 15*time.Second, "finished", finished)
		assert.Equal(t, job.Cancelled, rep.State)
		assert.Equal(t, job.Cancelled, unitOf(t, rep, "long").State)
		after := unitOf(t, rep, "after")
		assert.Equal(t, job.Cancelled, after.State, "not even an always-unit runs in a cancelled run")
		assert.Equal(t, "cancelled before it started: cancelled by an operator", after.Message)
		assert.Empty(t, runContainers(t, h, id), "the stopped container is gone")
		code, _, errs = ta.jn(t, "cancel", id)
		assert.Equal(t, 1, code)
		assert.Contains(t, errs, "has ended (cancelled)")
	})

	t.Run("queue", func(t *testing.T) {
		t.Parallel()
		file := f.file(t, "queued", `name: NAME
queue: batch
units:
  - name: one
    run: {image: IMG, command: [print, one], labels: LABELS}
`)
		code, out, errs := ta.jn(t, "queue", "stop", "batch")
		require.Equal(t, 0, code, errs)
		assert.Equal(t, "batch stopped\n", out)
		code, out, errs = ta.jn(t, "submit", file)
		require.Equal(t, 0, code, errs)
		id := strings.TrimSpace(out)
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(300 * time.Millisecond) {
			require.Equal(t, job.Pending, unitOf(t, ta.report(t, id), "one").State, "a stopped queue starts no unit")
		}
		code, out, errs = ta.jn(t, "queue", "list")
		require.Equal(t, 0, code, errs)
		assert.Regexp(t, `(?m)^QUEUE\s+CONCURRENCY\s+RUNNING\s+STATE$`, out)
		assert.Regexp(t, `(?m)^batch\s+1\s+0\s+stopped$`, out)
		assert.Regexp(t, `(?m)^default\s+unlimited\s+\d+\s+started$`, out)
		metrics := get(t, ta.url+"/metrics")
		assert.Contains(t, metrics, `minato_queue_stopped{queue="batch"} 1`)
		assert.Contains(t, metrics, `minato_queue_running{queue="batch"} 0`)

		code, out, errs = ta.jn(t, "queue", "start", "batch")
		require.Equal(t, 0, code, errs)
		assert.Equal(t, "batch started\n", out)
		rep := ta.waitReport(t, id, 15*time.Second, "finished", finished)
		assert.Equal(t, job.Succeeded, rep.State)
	})

	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		// The token: without it 401, reads included (runs hold output).
		req, _ := http.NewRequest("POST", ta.url+"/api/v1/queues/default/start", nil)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		code, _, errs := ta.jnEnv(t, nil, "queue", "start", "default")
		assert.Equal(t, 1, code)
		assert.Contains(t, errs, "this API needs the agent's token")
		assert.Contains(t, errs, "MINATO_AGENT_TOKEN or --token-file")
		tf := filepath.Join(t.TempDir(), "tok")
		require.NoError(t, os.WriteFile(tf, []byte(token), 0o600))
		code, _, errs = ta.jnEnv(t, nil, "queue", "start", "default", "--token-file", tf)
		assert.Equal(t, 0, code, errs)
		code, _, errs = ta.jnEnv(t, nil, "queue", "list")
		assert.Equal(t, 1, code, "listing the queues needs the token too")
		assert.Contains(t, errs, "this API needs the agent's token")

		// Unknown run: 404, exit 1 with the agent's message.
		code, out, errs := ta.jn(t, "status", "nosuch@20260101T000000Z")
		assert.Equal(t, 1, code)
		assert.Empty(t, out)
		assert.Contains(t, errs, `run "nosuch@20260101T000000Z"`)
		assert.Contains(t, errs, "not found")
		code, _, errs = ta.jn(t, "submit", "no-such-network")
		assert.Equal(t, 1, code)
		assert.Contains(t, errs, `no network "no-such-network"`)
		code, _, errs = ta.jn(t, "submit", filepath.Join(t.TempDir(), "missing.yaml"))
		assert.Equal(t, 1, code)
		assert.Contains(t, errs, "no such file")
		bad := f.file(t, "bad", "name: NAME\nunits:\n  - {name: a, timeout: soon, host: {command: [x]}}\n")
		code, _, errs = ta.jn(t, "submit", bad)
		assert.Equal(t, 1, code)
		assert.Equal(t, bad+`: units[0].timeout: "soon": want a duration such as 30s or 1m30s (units ns, us, ms, s, m, h)`+"\n", errs, "checked before sending, as jobnet validate")
		code, _, errs = ta.jn(t, "queue", "stop", "nope")
		assert.Equal(t, 1, code)
		assert.Contains(t, errs, `no queue "nope"`)
		code, _, errs = ta.jn(t, "hold", "just-one-arg")
		assert.Equal(t, 1, code)
		assert.Contains(t, errs, "minato jobnet hold takes RUNID and UNIT, got 1 arguments")
		code, _, errs = ta.jnEnv(t, nil, "status", "x", "--agent", "http://127.0.0.1:1")
		assert.Equal(t, 1, code)
		assert.Contains(t, errs, "minato: agent at http://127.0.0.1:1 unreachable: ")
		assert.Contains(t, errs, "(is `minato agent` running? set --agent or MINATO_AGENT)")
		for _, cmd := range []string{"submit", "status", "history", "hold", "release", "skip", "stop", "cancel", "rerun", "queue", "list"} {
			code, out, _ := ta.jn(t, cmd, "--help")
			assert.Equal(t, 0, code, cmd)
			assert.Contains(t, out, "Usage: minato jobnet "+cmd, cmd)
			assert.Contains(t, out, "-agent URL", cmd)
		}
	})

	// Once every subtest ended: the runs counted by network and state.
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		// The counters follow the runs' end events, which the agent
		// handles apart from the API that reported the runs ended: give
		// them a moment on a busy machine.
		want := []string{
			`minato_jobnet_runs_total{network="` + f.prefix + `fails",state="failed"} 2`,
			`minato_jobnet_runs_total{network="` + f.prefix + `configured",state="succeeded"} 1`,
			`minato_jobnet_runs_total{network="` + f.prefix + `held",state="succeeded"} 1`,
		}
		var metrics string
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			metrics = get(t, ta.url+"/metrics")
			n := 0
			for _, w := range want {
				if strings.Contains(metrics, w) {
					n++
				}
			}
			if n == len(want) || time.Now().After(deadline) {
				break
			}
		}
		assert.Contains(t, metrics, `minato_jobnet_runs_total{network="`+f.prefix+`fails",state="failed"} 2`)
		assert.Contains(t, metrics, `minato_jobnet_runs_total{network="`+f.prefix+`configured",state="succeeded"} 1`)
		assert.Contains(t, metrics, `minato_jobnet_runs_total{network="`+f.prefix+`held",state="succeeded"} 1`)
		assert.Regexp(t, `minato_jobnet_next_due_timestamp_seconds\{network="`+f.prefix+`configured"\} \d\.\d+e\+09\n`, metrics)
	})
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	return string(b)
}

// TestJobnetAgentRestartAdopts stops the agent while a unit's container
// runs: the container goes on, and the next agent with the same store
// adopts it and finishes the run, without starting it again.
func TestJobnetAgentRestartAdopts(t *testing.T) {
	h := dockertest.New(t)
	f := newJobnetFiles(t, h)
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "token"), []byte("tok"), 0o600))
	f.file(t, "configured", "name: NAME\n"+`units: [{name: a, run: {image: IMG, command: [print, x], labels: LABELS}}]`+"\n")
	cfgPath := filepath.Join(f.dir, "agent.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(strings.ReplaceAll(agentConfig, "DIR", f.dir)), 0o600))
	file := f.file(t, "adopted", `name: NAME
units:
  - name: slow
    run: {image: IMG, command: [sleep, 3s, --, print, done], keep: true, labels: LABELS}
  - name: next
    needs: [slow]
    run: {image: IMG, command: [print, next], labels: LABELS}
`)
	first := startAgent(t, h, cfgPath, "tok")
	code, out, errs := first.jn(t, "submit", file)
	require.Equal(t, 0, code, errs)
	id := strings.TrimSpace(out)
	first.waitReport(t, id, 15*time.Second, "running slow", unitIs("slow", job.Running))
	require.Eventually(t, func() bool {
		c := runContainers(t, h, id)
		return len(c) == 1 && c[0].State == "running"
	}, 10*time.Second, 100*time.Millisecond)
	first.stop()
	c := runContainers(t, h, id)
	require.Len(t, c, 1)
	assert.Equal(t, "running", string(c[0].State), "the agent's stop leaves the container running")

	second := startAgent(t, h, cfgPath, "tok")
	rep := second.waitReport(t, id, 20*time.Second, "finished", finished)
	assert.Equal(t, job.Succeeded, rep.State)
	slow := unitOf(t, rep, "slow")
	assert.Equal(t, 1, slow.Attempts)
	assert.Contains(t, slow.Output, "done", "the adopted container's output, read again from the engine")
	assert.Contains(t, unitOf(t, rep, "next").Output, "next")
	ctrs := runContainers(t, h, id)
	assert.Len(t, ctrs, 1, "slow was adopted, not started again (keep: its container stays)")
}
