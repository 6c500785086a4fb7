package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/cmd/minato/internal/agent"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/internal/registrytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeApp writes a build context: a Dockerfile on the test image with
// env defaults, a health check that exits with code health, and a file the
// .dockerignore excludes.
func writeApp(t *testing.T, dir, base, greeting string, health int) {
	t.Helper()
	df := fmt.Sprintf("FROM %s\nENV GREETING=%s MODE=image\nCOPY keep.txt /keep.txt\nHEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD [\"/testbox\",\"exit\",\"%d\"]\nCMD [\"sleep\",\"forever\"]\n", base, greeting, health)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("keep\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret.env"), []byte("PASSWORD=hunter2\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("*.env\n"), 0o644))
}

// TestImageOperatorFlow is the operator guide's flow as a new user runs
// it: build a directory (its .dockerignore honoured), tag for a private
// registry that wants a login, push, roll a container to the new tag
// behind the health gate (the owner's explicit environment kept, the
// image's default followed), check that the redeploy took effect, then a
// broken image rolled back by itself, with the container as it was.
func TestImageOperatorFlow(t *testing.T) {
	h := dockertest.New(t)
	reg := registrytest.Start(t, registrytest.Options{Auth: true})
	cfgDir := reg.DockerConfig(t)
	id := h.RunID()
	base := h.Image(t)
	img := func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, h.Host, append(append([]string{"image"}, args...), "--docker-config", cfgDir)...)
	}
	repo := fmt.Sprintf("%s/flow-%s/web", reg.Addr, id)
	local := fmt.Sprintf("flow-%s/web:1.0", id)
	t.Cleanup(func() {
		for _, r := range []string{local, repo + ":1.0", repo + ":1.1", repo + ":1.2"} {
			run(t, h.Host, "image", "rm", "-f", r)
		}
	})
	dir := t.TempDir()
	writeApp(t, dir, base, "hello", 0)

	code, out, errOut := img("build", dir, "-t", local, "--label", "minato.test=flow")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(out, "sha256:"), out)
	assert.Contains(t, errOut, "Step 1/", "the build's steps go to stderr")
	code, out, errOut = img("tag", local, repo+":1.0")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "tagged")
	code, out, errOut = img("push", repo+":1.0")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "pushed: sha256:")

	// Without the login the registry refuses, and the error says where to
	// log in again (the Container Service FAQ's D31).
	code, _, errOut = run(t, h.Host, "image", "pull", repo+":1.0", "--docker-config", t.TempDir())
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "log in to the registry domain "+reg.Addr)
	assert.NotContains(t, errOut, reg.Password)

	name := "flow-" + id
	ctr := h.Run(t, dockertest.RunOptions{Name: name, Image: repo + ":1.0", Args: []string{"sleep", "forever"}, Env: []string{"MODE=explicit"}})
	code, out, errOut = img("check", "-n", name)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "current")

	writeApp(t, dir, base, "bonjour", 0)
	code, _, errOut = img("build", "-q", dir, "-t", repo+":1.1")
	require.Equal(t, 0, code, errOut)
	code, _, errOut = img("push", "-q", repo+":1.1")
	require.Equal(t, 0, code, errOut)

	code, out, errOut = img("update", name, "--image", repo+":1.1", "--dry-run")
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, name+" would-update")
	assert.Contains(t, out, "Env[GREETING]: hello -> bonjour")
	assert.Contains(t, out, "Env[MODE]")
	assert.NotContains(t, out, "explicit -> ", "an explicit value is not shown")
	assert.Equal(t, ctr.ID, inspectField(t, h, name, "{{.Id}}"), "a dry run changes nothing")

	code, out, errOut = img("update", name, "--image", repo+":1.1", "--timeout", "60s")
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, name+" updated (healthy after")
	assert.Contains(t, errOut, "gate")
	env := inspectField(t, h, name, "{{json .Config.Env}}")
	assert.Contains(t, env, "MODE=explicit", "the owner's value is kept")
	assert.Contains(t, env, "GREETING=bonjour", "the image's default follows the new image")
	assert.NotContains(t, env, "PASSWORD", ".dockerignore kept secret.env out of the image")
	updatedID := inspectField(t, h, name, "{{.Id}}")
	assert.NotEqual(t, ctr.ID, updatedID)
	t.Cleanup(func() { run(t, h.Host, "job", "rm", "-f", "-n", name) })

	// The redeploy took effect: current, exit 0.
	code, out, _ = img("check", "-n", name, "--json")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, `"status": "current"`)
	writeApp(t, dir, base, "hallo", 1) // its health check fails
	code, _, errOut = img("build", "-q", dir, "-t", repo+":1.2")
	require.Equal(t, 0, code, errOut)
	code, _, errOut = img("push", "-q", repo+":1.2")
	require.Equal(t, 0, code, errOut)
	code, out, errOut = img("update", name, "--image", repo+":1.2", "--timeout", "30s")
	assert.Equal(t, 1, code, out+errOut)
	assert.Contains(t, out, name+" rolled-back (unhealthy")
	assert.Equal(t, updatedID, inspectField(t, h, name, "{{.Id}}"), "the previous container runs again")
	assert.Contains(t, inspectField(t, h, name, "{{json .Config.Env}}"), "GREETING=bonjour")
	assert.Equal(t, "true", inspectField(t, h, name, "{{.State.Running}}"))

	// 1.1 now names the broken image, on the engine and in the registry:
	// the container's redeploy did not take effect (exit 1, a WARNING for
	// Hinemos), and 1.2 is a newer tag.
	code, _, errOut = img("tag", repo+":1.2", repo+":1.1")
	require.Equal(t, 0, code, errOut)
	code, _, errOut = img("push", "-q", repo+":1.1")
	require.Equal(t, 0, code, errOut)
	code, out, _ = img("check", "-n", name, "--json", "--tags", "newer")
	assert.Equal(t, 1, code, out)
	var views []agent.ImageResult
	require.NoError(t, json.Unmarshal([]byte(out), &views), out)
	require.Len(t, views, 1)
	assert.Equal(t, "stale-local", views[0].Status, "the engine has the new 1.1, the container runs the old")
	assert.Equal(t, []string{"1.2"}, views[0].NewerTags)
}

// inspectField reads one field of a container with a Go template.
func inspectField(t *testing.T, h *dockertest.Harness, name, format string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, raw, err := h.Client.ContainerInspectWithRaw(ctx, name, false)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	switch format {
	case "{{.Id}}":
		return doc["Id"].(string)
	case "{{json .Config.Env}}":
		b, _ := json.Marshal(doc["Config"].(map[string]any)["Env"])
		return string(b)
	case "{{.State.Running}}":
		return fmt.Sprint(doc["State"].(map[string]any)["Running"])
	}
	t.Fatalf("inspectField: unknown format %s", format)
	return ""
}

// TestImageUsage: mistakes are named before any engine call, with exit 1
// (3 for check and update, the Monitoring Plugins' UNKNOWN).
func TestImageUsage(t *testing.T) {
	host := dockertest.Unreachable(t)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"image"}, 1, "Usage: minato image COMMAND"},
		{[]string{"image", "frob"}, 1, `unknown image command "frob"`},
		{[]string{"image", "pull"}, 1, "takes one REFERENCE"},
		{[]string{"image", "tag", "a", "Bad/Name:x"}, 1, "lower case"},
		{[]string{"image", "prune", "--keep", "-1"}, 1, "--keep -1: want 0 or more"},
		{[]string{"image", "update"}, 3, "one or more container NAMEs"},
		{[]string{"image", "update", "web", "--batch", "0"}, 3, "--batch 0"},
		{[]string{"image", "update", "web", "--probe-http", "x/y"}, 3, "want PORT/PATH"},
		{[]string{"image", "update", "web", "--probe-tcp", "80", "--probe-exec", "true"}, 3, "give one at most"},
		{[]string{"image", "update", "web", "--image", "UP:per"}, 3, "--image"},
		{[]string{"image", "check", "--tags", "^^1"}, 3, "--tags"},
		{[]string{"image", "check", "extra"}, 3, "takes no arguments"},
	}
	for _, c := range cases {
		code, _, errOut := run(t, host, c.args...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, errOut)
		assert.Contains(t, errOut, c.want, "%v", c.args)
	}
}
