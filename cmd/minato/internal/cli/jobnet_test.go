package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeDef(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "net.yaml")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

func TestJobnetValidate(t *testing.T) {
	good := writeDef(t, "name: n\nunits:\n  - {name: a, host: {command: [/bin/true]}}\n")
	code, out, _ := run(t, "", "jobnet", "validate", good)
	assert.Equal(t, 0, code)
	assert.Equal(t, good+": valid: network n, 1 units\n", out)

	bad := writeDef(t, "name: n\nunits:\n  - {name: a, needs: [b], host: {command: [x]}, timeout: forever}\n  - {name: a}\n")
	code, out, errs := run(t, "", "jobnet", "validate", bad)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	assert.GreaterOrEqual(t, len(lines), 4, errs)
	for _, l := range lines {
		assert.True(t, strings.HasPrefix(l, bad+": units"), l)
	}
	assert.Contains(t, errs, `units[0].timeout: "forever": want a duration`)
	assert.Contains(t, errs, `units[0].needs[0]: no unit is named "b"`)
	assert.Contains(t, errs, `units[1].name: "a" is also the name of units[0]`)

	code, _, errs = run(t, "", "jobnet", "validate", filepath.Join(t.TempDir(), "missing.yaml"))
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "no such file")
}

func TestJobnetRunUnreachable(t *testing.T) {
	p := writeDef(t, "name: n\nunits:\n  - {name: a, host: {command: [/bin/true]}}\n")
	code, _, errs := run(t, dockertest.Unreachable(t), "jobnet", "run", p)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "cannot connect to the Docker daemon")
}

var unitLine = regexp.MustCompile(`^(\S+) (pending|running|succeeded|failed|skipped|cancelled|timed_out) exit=(-?\d+) attempts=(\d+) (\S+)$`)

func unitLines(t *testing.T, out string) map[string][]string {
	t.Helper()
	m := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		g := unitLine.FindStringSubmatch(l)
		require.NotNil(t, g, "not a unit line: %q", l)
		m[g[1]] = g[2:5]
	}
	return m
}

// TestJobnetRunOnRealEngine runs the network shape with testbox
// images: success, a failure branch with retries, --json, a timeout whose
// container is gone afterwards, and Ctrl-C.
func TestJobnetRunOnRealEngine(t *testing.T) {
	h := dockertest.New(t)
	img := h.Image(t)
	worker := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	h.WaitState(t, worker.ID, "running", 10*time.Second)
	netName := "jn-" + h.RunID()[:8]
	def := func(transformExit string) string {
		return `name: ` + netName + `
concurrency: 2
units:
  - name: extract
    run: {image: "` + img + `", command: [print, extracted], env: {A: "1"}}
    timeout: 30s
  - name: transform
    exec: {container: "` + worker.Name + `", command: [/testbox, print, transformed, --, exit, "` + transformExit + `"]}
    needs: [extract]
    retry: {limit: 2, delay: 100ms}
  - name: report-failure
    needs: [transform]
    when: failure
    run: {image: "` + img + `", command: [print, notified]}
  - name: after
    needs: [transform]
    host: {command: [/bin/true]}
`
	}

	code, out, errs := run(t, h.Host, "jobnet", "run", writeDef(t, def("0")))
	require.Equal(t, 0, code, out+errs)
	got := unitLines(t, out)
	assert.Equal(t, []string{"succeeded", "0", "1"}, got["extract"])
	assert.Equal(t, []string{"succeeded", "0", "1"}, got["transform"])
	assert.Equal(t, []string{"skipped", "0", "0"}, got["report-failure"])
	assert.Equal(t, []string{"succeeded", "0", "1"}, got["after"])

	code, out, _ = run(t, h.Host, "jobnet", "run", writeDef(t, def("3")), "--json")
	require.Equal(t, 9, code, out)
	var rep struct {
		Name, State string
		Units       []struct {
			Name, State, Output string
			ExitCode            int `json:"exit_code"`
			Attempts            int
			Started, Ended      time.Time
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.Equal(t, netName, rep.Name)
	assert.Equal(t, "failed", rep.State)
	byName := map[string]int{}
	for i, u := range rep.Units {
		byName[u.Name] = i
	}
	tr := rep.Units[byName["transform"]]
	assert.Equal(t, "failed", tr.State)
	assert.Equal(t, 3, tr.ExitCode)
	assert.Equal(t, 3, tr.Attempts, "two retries after the first attempt")
	assert.Contains(t, tr.Output, "transformed")
	assert.Equal(t, "succeeded", rep.Units[byName["report-failure"]].State)
	assert.Contains(t, rep.Units[byName["report-failure"]].Output, "notified")
	assert.Equal(t, "skipped", rep.Units[byName["after"]].State)
	assert.Contains(t, rep.Units[byName["extract"]].Output, "extracted")
	assert.False(t, rep.Units[byName["extract"]].Ended.Before(rep.Units[byName["extract"]].Started))

	// A timed-out run unit: timed_out, exit 9, and no container left.
	slow := writeDef(t, "name: "+netName+"-slow\nunits:\n  - name: slow\n    run: {image: \""+img+"\", command: [sleep, forever, --ignore-term], stop_grace: 500ms}\n    timeout: 1s\n")
	start := time.Now()
	code, out, _ = run(t, h.Host, "jobnet", "run", slow)
	assert.Equal(t, 9, code)
	assert.Equal(t, "timed_out", unitLines(t, out)["slow"][0])
	assert.Less(t, time.Since(start), 15*time.Second)
	assertNoContainers(t, h, netName+"-slow")

	// Ctrl-C: the running container is stopped and removed, the report printed.
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan int, 1)
	time.AfterFunc(1200*time.Millisecond, func() { seen <- countContainers(t, h, netName+"-long") })
	time.AfterFunc(2000*time.Millisecond, cancel)
	var o, e bytes.Buffer
	long := writeDef(t, "name: "+netName+"-long\nunits:\n  - name: long\n    run: {image: \""+img+"\", command: [sleep, forever]}\n  - name: later\n    needs: [long]\n    host: {command: [/bin/true]}\n")
	code = Main(ctx, []string{"jobnet", "run", long}, Env{Stdout: &o, Stderr: &e, Getenv: func(k string) string {
		if k == "DOCKER_HOST" {
			return h.Host
		}
		return ""
	}})
	assert.Equal(t, 9, code, o.String()+e.String())
	assert.Equal(t, 1, <-seen, "while it ran, the unit's container carried the network label")
	lines := unitLines(t, o.String())
	assert.Equal(t, "cancelled", lines["later"][0])
	assert.Contains(t, []string{"cancelled", "failed"}, lines["long"][0])
	assertNoContainers(t, h, netName+"-long")
}

func countContainers(t *testing.T, h *dockertest.Harness, network string) int {
	cfg := container.DefaultConfig()
	cfg.Host = h.Host
	c, err := container.New(cfg)
	if err != nil {
		return -1
	}
	defer c.Close()
	res, err := c.List(context.Background(), container.ListOptions{All: true, Labels: map[string]string{"minato.network": network}})
	if err != nil {
		return -1
	}
	return len(res.Containers)
}

// assertNoContainers checks that no container labelled with the network's
// name is left, running or not.
func assertNoContainers(t *testing.T, h *dockertest.Harness, network string) {
	t.Helper()
	cfg := container.DefaultConfig()
	cfg.Host = h.Host
	c, err := container.New(cfg)
	require.NoError(t, err)
	defer c.Close()
	res, err := c.List(context.Background(), container.ListOptions{All: true, Labels: map[string]string{"minato.network": network}})
	require.NoError(t, err)
	assert.Empty(t, res.Containers, "containers of network %s left behind", network)
}
