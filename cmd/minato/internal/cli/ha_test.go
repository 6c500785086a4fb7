package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func freeUDPAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer c.Close()
	return c.LocalAddr().String()
}

// haCLI runs "minato ha ARGS" against the agent at url.
func haCLI(url string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		if k == "MINATO_AGENT" {
			return url
		}
		return ""
	}}
	code := Main(context.Background(), append([]string{"ha"}, args...), env)
	return code, out.String(), errb.String()
}

// TestHACommands: two agents form a cluster whose group is a script
// resource (a marker file per node); minato ha shows and moves it.
func TestHACommands(t *testing.T) {
	h := dockertest.New(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "ha.key")
	require.NoError(t, os.WriteFile(key, []byte(strings.Repeat("s", 32)), 0o600))
	marks := filepath.Join(dir, "marks")
	require.NoError(t, os.MkdirAll(marks, 0o700))
	a1, a2 := freeUDPAddr(t), freeUDPAddr(t)
	agents := map[string]*testAgent{}
	for _, node := range []string{"node1", "node2"} {
		ndir := filepath.Join(dir, node)
		require.NoError(t, os.MkdirAll(ndir, 0o700))
		cfg := filepath.Join(ndir, "agent.yaml")
		require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
listen: 127.0.0.1:0
state_dir: %q
ha:
  cluster: c1
  node: %s
  key_file: %q
  interval: 200ms
  timeout: 1s
  nodes: [{name: node1, addresses: [%q]}, {name: node2, addresses: [%q]}]
  groups:
    - name: web
      nodes: [node1, node2]
      resources:
        - name: mark
          script:
            start: {argv: [sh, -c, 'touch %s/$MINATO_HA_NODE']}
            stop: {argv: [sh, -c, 'rm -f %s/$MINATO_HA_NODE']}
            check: {argv: [sh, -c, 'test -f %s/$MINATO_HA_NODE']}
          policy: {interval: 1s}
`, filepath.Join(ndir, "state"), node, key, a1, a2, marks, marks, marks), 0o600))
		agents[node] = startAgent(t, h, cfg, "")
	}
	active := func() []string {
		es, _ := os.ReadDir(marks)
		var out []string
		for _, e := range es {
			out = append(out, e.Name())
		}
		return out
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, out, _ := haCLI(agents["node2"].url, "status")
		if code == 0 && regexp.MustCompile(`web\s+node1\s`).MatchString(out) && fmt.Sprint(active()) == "[node1]" {
			assert.Contains(t, out, "cluster c1, this node node2")
			assert.Regexp(t, `node1\s+up\s+#0 127\.0\.0\.1:\d+ rtt`, out)
			assert.Contains(t, out, "web/mark: inactive", "node2's own view of its member")
			break
		}
		require.True(t, time.Now().Before(deadline), "node1 never held web: %s", out)
		time.Sleep(100 * time.Millisecond)
	}

	code, out, errs := haCLI(agents["node1"].url, "move", "web", "node2")
	require.Equal(t, 0, code, errs)
	assert.Regexp(t, `^group web: held by node2 at epoch \d+ \(online\)\n$`, out)
	assert.Equal(t, []string{"node2"}, active(), "exactly one node runs the resource")

	code, out, errs = haCLI(agents["node2"].url, "status", "--json")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, `"holder": "node2"`)

	code, _, errs = haCLI(agents["node2"].url, "suspend", "web")
	require.Equal(t, 0, code, errs)
	code, _, errs = haCLI(agents["node2"].url, "resume", "web")
	require.Equal(t, 0, code, errs)

	code, _, errs = haCLI(agents["node2"].url, "move", "web")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "takes GROUP and NODE, got 1 arguments")
	code, _, errs = haCLI(agents["node2"].url, "move", "nosuch", "node1")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "nosuch")
	code, _, errs = haCLI(agents["node2"].url, "fly")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, `unknown ha command "fly"`)
}

// TestHAStatusNotAnHANode: an agent without ha: says so.
func TestHAStatusNotAnHANode(t *testing.T) {
	h := dockertest.New(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, "listen: 127.0.0.1:0\nstate_dir: %q\nevents: {enabled: true}\n", filepath.Join(dir, "state")), 0o600))
	ta := startAgent(t, h, cfg, "")
	code, _, errs := haCLI(ta.url, "status")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "this agent is not an HA node")
}
