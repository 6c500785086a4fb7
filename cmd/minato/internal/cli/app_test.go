package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minato-ops/minato/internal/dockerdtest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// appDecl is a declaration of web (replicas) and, with worker, worker.
func appDecl(img, id, greeting string, webReplicas int, worker bool) string {
	s := fmt.Sprintf(`apps:
  - name: web-%[2]s
    image: %[1]s
    replicas: %[4]d
    command: [sleep, forever]
    env: {GREETING: %[3]s}
    env_files: [web.env]
    labels: {minato.test: %[2]s}
    update: {stable_for: 500ms, timeout: 30s}
`, img, id, greeting, webReplicas)
	if worker {
		s += fmt.Sprintf(`  - name: worker-%[2]s
    image: %[1]s
    command: [sleep, forever]
    labels: {minato.test: %[2]s}
`, img, id)
	}
	return s
}

// TestAppOperatorFlow is the operator guide's deploy, update and delete
// flows with minato app on the real engine, as a new user runs them:
// apply creates, a second apply touches nothing, plan shows an edited
// field, apply recreates only what changed, scale up and down, status,
// ls, --prune, delete (dry run first), and a bad file named with its key
// path.
func TestAppOperatorFlow(t *testing.T) {
	h := dockertest.New(t)
	img := h.Image(t)
	id := strings.ToLower(h.RunID())
	scope := "minato.test=" + id
	web, worker := "web-"+id, "worker-"+id
	app := func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, h.Host, append(append([]string{"app"}, args...), "--label", scope)...)
	}
	t.Cleanup(func() { app("delete", web, worker) })
	dir := t.TempDir()
	file := filepath.Join(dir, "apps.yaml")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "web.env"), []byte("DB_PASSWORD=hunter2\n"), 0o600))
	write := func(text string) { require.NoError(t, os.WriteFile(file, []byte(text), 0o644)) }

	// Deploy.
	write(appDecl(img, id, "hello", 2, true))
	code, out, errOut := app("apply", "-f", file)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, web+"-1")
	assert.Contains(t, out, "create")
	assert.Contains(t, out, web+": converged (2 replica(s)): created "+web+"-1, "+web+"-2")
	assert.Contains(t, out, worker+": converged")
	assert.NotContains(t, out+errOut, "hunter2")

	// A second apply is a no-op.
	code, out, errOut = app("apply", "-f", file)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, web+": unchanged")
	assert.Contains(t, out, worker+": unchanged")
	code, out, _ = app("plan", "-f", file, "--detailed-exitcode")
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "no changes")

	// Update: plan shows the edited field (never the value), apply
	// recreates web only.
	write(appDecl(img, id, "bonjour", 2, true))
	code, out, errOut = app("plan", "-f", file)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "env.GREETING: changed")
	assert.NotContains(t, out, "bonjour")
	code, _, _ = app("plan", "-f", file, "--detailed-exitcode")
	assert.Equal(t, 2, code, "changes pending")
	code, out, errOut = app("apply", "-f", file)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "recreated "+web+"-1, "+web+"-2")
	assert.Contains(t, out, worker+": unchanged")

	// Scale up and down (the file is the source of truth: status -f then
	// shows the drift).
	code, out, errOut = app("scale", web, "3", "-f", file)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "created "+web+"-3")
	code, out, errOut = app("status", "-f", file, "--json")
	require.Equal(t, 0, code, out+errOut)
	var st []appStatusView
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	require.Len(t, st, 2)
	assert.Equal(t, web, st[0].App)
	assert.Equal(t, 2, st[0].Desired)
	assert.Equal(t, 3, st[0].Running)
	assert.False(t, st[0].Converged)
	require.Len(t, st[0].Drift, 1)
	assert.Equal(t, web+"-3", st[0].Drift[0].Container)
	assert.True(t, st[1].Converged, "%+v", st[1])
	code, out, errOut = app("scale", web, "1", "-f", file)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "removed "+web+"-3, "+web+"-2")
	code, out, errOut = app("status", web)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, web+"-1")
	assert.NotContains(t, out, web+"-2")
	code, _, errOut = app("scale", "nosuch", "1", "-f", file)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `no application "nosuch" declared`)

	// ls, then --prune removes what the file no longer declares.
	code, out, errOut = app("ls", "--json")
	require.Equal(t, 0, code, out+errOut)
	var ls []appListView
	require.NoError(t, json.Unmarshal([]byte(out), &ls), out)
	require.Len(t, ls, 2, "only this test's applications (--label)")
	assert.Equal(t, 1, ls[0].Running)
	write(appDecl(img, id, "bonjour", 1, false))
	code, out, errOut = app("apply", "-f", file, "--prune")
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, worker+": deleted")
	assert.Contains(t, out, web+": unchanged")

	// Delete in cascade, dry run first.
	code, out, _ = app("delete", web, "--dry-run")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, web+": would delete containers "+web+"-1")
	code, out, _ = app("delete", web)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, web+": deleted containers "+web+"-1")
	code, out, _ = app("ls")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "no applications")
	code, out, _ = app("delete", web)
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "nothing on the engine")
}

// TestAppBadInput: a declaration mistake exits 1 naming the file and the
// key path, before the engine is contacted.
func TestAppBadInput(t *testing.T) {
	host := dockertest.Unreachable(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(file, []byte("apps:\n  - name: web\n    image: shop/web:1\n    resources: {memory: 12q}\n    replicaz: 2\n"), 0o644))
	for _, cmd := range []string{"apply", "plan"} {
		code, out, errOut := run(t, host, "app", cmd, "-f", file)
		assert.Equal(t, 1, code, out+errOut)
		assert.Contains(t, errOut, file+": apps[0].resources.memory:")
		assert.Contains(t, errOut, "replicaz")
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"app", "apply"}, "give the declaration: -f FILE"},
		{[]string{"app", "apply", "-f", file, "--compose", file}, "give one declaration, not both"},
		{[]string{"app", "scale", "web", "-f", file}, "takes NAME and N"},
		{[]string{"app", "scale", "web", "x", "-f", file}, `replicas "x"`},
		{[]string{"app", "delete"}, "one or more application NAMEs"},
		{[]string{"app", "delete", "Web_1"}, "want a DNS label"},
		{[]string{"app", "ls", "--label", "x"}, "want KEY=VALUE"},
		{[]string{"app", "frob"}, "unknown app command"},
		{[]string{"app", "apply", "-f", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
	}
	for _, c := range cases {
		code, out, errOut := run(t, host, c.args...)
		assert.Equal(t, 1, code, "%v: %s", c.args, out+errOut)
		assert.Contains(t, errOut, c.want, c.args)
	}
	code, out, _ := run(t, host, "app", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "minato app COMMAND")
	code, _, errOut := run(t, host, "app", "ls")
	assert.Equal(t, 1, code, "an engine that does not answer")
	assert.NotEmpty(t, errOut)
}

// TestAppCompose: --compose applies the services that map and warns on
// stderr about the rest.
func TestAppCompose(t *testing.T) {
	h := dockertest.New(t)
	img := h.Image(t)
	id := strings.ToLower(h.RunID())
	scope := "minato.test=" + id
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf("services:\n  api:\n    image: %s\n    command: [sleep, forever]\n    build: .\n    labels: {minato.test: %s}\n", img, id)), 0o644))
	proj := "c" + id
	t.Cleanup(func() { run(t, h.Host, "app", "delete", proj+"-api", "--label", scope) })
	code, out, errOut := run(t, h.Host, "app", "apply", "--compose", file, "--project", proj, "--label", scope)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, errOut, "services.api.build: not supported")
	assert.Contains(t, out, proj+"-api: converged")
}

// TestAppSwarm: the operator guide's deploy and update-by-new-setting
// flows on a one-node Swarm (a second engine of the test's own): an
// application with backend swarm becomes a Swarm service, is left alone
// when applied again, and is updated when its declaration changes.
func TestAppSwarm(t *testing.T) {
	d := dockerdtest.Get(t)
	d.InitSwarm(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "apps.yaml")
	write := func(mode string) {
		decl := fmt.Sprintf("apps:\n  - name: swarm-shop\n    image: %s\n    backend: swarm\n    replicas: 2\n    command: [sleep, forever]\n    env: {MODE: %s}\n", d.Image, mode)
		require.NoError(t, os.WriteFile(file, []byte(decl), 0o644))
	}
	write("a")
	code, out, errOut := run(t, d.Host, "app", "apply", "-f", file)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "swarm-shop: created (Swarm service")
	code, out, errOut = run(t, d.Host, "app", "apply", "-f", file)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "swarm-shop: unchanged")
	assert.NotContains(t, out, "no applications")
	write("b")
	code, out, errOut = run(t, d.Host, "app", "apply", "-f", file)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "swarm-shop: updated")

	// On an engine that is not a Swarm manager the error says so.
	h := dockertest.New(t)
	code, _, errOut = run(t, h.Host, "app", "apply", "-f", file)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "not an active swarm manager")
}
