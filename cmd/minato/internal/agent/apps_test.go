package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/app"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replicaID returns the ID of the running container name, "" if none.
func replicaID(t *testing.T, c *container.Client, name string) string {
	t.Helper()
	l, err := c.List(context.Background(), container.ListOptions{Labels: map[string]string{app.LabelApp: ""}, States: []container.State{container.Running}})
	require.NoError(t, err)
	for _, s := range l.Containers {
		if s.Name == name {
			return s.ID
		}
	}
	return ""
}

// TestAppsAgent: the applications of the apps: files are converged at
// start; a replica removed by hand is replaced and the transitions are
// notified (check "app"); a declaration posted to /api/v1/apps is applied,
// shown by GET /api/v1/apps and kept under the state directory for the
// next start; bad bodies are refused with the key path.
func TestAppsAgent(t *testing.T) {
	h := dockertest.New(t)
	img := h.Image(t)
	id := strings.ToLower(h.RunID())
	fromFile, posted := "af-"+id, "ap-"+id
	cc, err := container.New(container.Config{Host: h.Host})
	require.NoError(t, err)
	t.Cleanup(func() {
		r, err := app.New(cc)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, _ = r.Delete(ctx, fromFile)
			_, _ = r.Delete(ctx, posted)
		}
		cc.Close()
	})

	dir := t.TempDir()
	write(t, dir, "apps.yaml", fmt.Sprintf("name: %s\nimage: %s\ncommand: [sleep, forever]\nlabels: {minato.test: %s}\n", fromFile, img, id))
	notes := filepath.Join(dir, "notes.jsonl")
	a := startAgent(t, dir, fmt.Sprintf("docker: {host: %q}\napps: {files: [apps.yaml], resync: 2s}\nnotify: [{jsonl: {path: %q}}]\n", h.Host, notes))
	require.NotNil(t, a.apps)

	var first string
	eventually(t, time.Minute, "the file's application runs", func() bool {
		first = replicaID(t, cc, fromFile+"-1")
		return first != ""
	})

	// A replica removed by hand is put back, and notified.
	require.NoError(t, h.Client.ContainerRemove(context.Background(), first, dcontainer.RemoveOptions{Force: true}))
	eventually(t, time.Minute, "the removed replica is replaced", func() bool {
		id := replicaID(t, cc, fromFile+"-1")
		return id != "" && id != first
	})
	kinds := func() map[string]monitor.Status {
		m := map[string]monitor.Status{}
		for _, n := range readNotes(t, notes) {
			if n.Check == AppsCheck && strings.Contains(n.Message, fromFile) {
				m[n.Target.Labels["minato.app.event"]] = n.Status
			}
		}
		return m
	}
	eventually(t, 30*time.Second, "degraded, replaced and recovered are notified", func() bool {
		k := kinds()
		return k["degraded"] == monitor.Warning && k["replica_replaced"] == monitor.Warning && len(k) >= 3 && k["recovered"] == monitor.OK
	})

	// POST a declaration, then GET.
	srv := httptest.NewServer(a.handler())
	defer srv.Close()
	body := fmt.Sprintf(`{"apps": [{"name": %q, "image": %q, "replicas": 2, "command": ["sleep", "forever"], "labels": {"minato.test": %q}, "update": {"stable_for": "500ms"}}]}`, posted, img, id)
	code, out, _ := call(t, srv, "POST", "/api/v1/apps", body, "Content-Type", jsonCT)
	require.Equal(t, http.StatusOK, code, out)
	var pr appsPostResult
	require.NoError(t, json.Unmarshal([]byte(out), &pr), out)
	assert.True(t, pr.Converged)
	require.Len(t, pr.Engines, 1)
	assert.ElementsMatch(t, []string{posted + "-1", posted + "-2"}, pr.Engines[0].Result.Created)
	st, err := os.Stat(filepath.Join(dir, "state", "apps", posted+".yaml"))
	require.NoError(t, err, "kept under the state directory")
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	code, out, _ = call(t, srv, "GET", "/api/v1/apps", "")
	require.Equal(t, http.StatusOK, code, out)
	var v appsView
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	require.Len(t, v.Declared, 2)
	assert.Equal(t, fromFile, v.Declared[0].App)
	assert.Contains(t, v.Declared[0].Source, "apps.files[0]: ")
	assert.Equal(t, "posted", v.Declared[1].Source)
	require.Len(t, v.Engines, 1)
	got := map[string]appStatusJS{}
	for _, as := range v.Engines[0].Apps {
		got[as.App] = as
	}
	assert.True(t, got[fromFile].Converged, "%+v", got[fromFile])
	assert.True(t, got[posted].Converged, "%+v", got[posted])
	assert.Equal(t, 2, got[posted].Desired)
	assert.NotEmpty(t, v.Events)

	// A posted replica removed by hand is put back too (Run holds it).
	pid := replicaID(t, cc, posted+"-2")
	require.NotEmpty(t, pid)
	require.NoError(t, h.Client.ContainerRemove(context.Background(), pid, dcontainer.RemoveOptions{Force: true}))
	eventually(t, time.Minute, "the posted application's replica is replaced", func() bool {
		id := replicaID(t, cc, posted+"-2")
		return id != "" && id != pid
	})

	// Bad bodies.
	code, out, _ = call(t, srv, "POST", "/api/v1/apps", "name: x\nimage: y\nresources: {memory: 12q}\n", "Content-Type", "application/yaml")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, errorOf(t, out), "resources.memory:")
	code, out, _ = call(t, srv, "POST", "/api/v1/apps", body, "Content-Type", "text/plain")
	assert.Equal(t, http.StatusUnsupportedMediaType, code, out)
	code, out, _ = call(t, srv, "POST", "/api/v1/apps", fmt.Sprintf("name: %s\nimage: %s\n", fromFile, img), "Content-Type", "application/yaml")
	assert.Equal(t, http.StatusConflict, code, out)
	assert.Contains(t, errorOf(t, out), "apps.files[0]")

	// The next start keeps the posted declaration.
	cfg, err := Load(filepath.Join(dir, "agent.yaml"))
	require.NoError(t, err)
	b, err := New(cfg, os.Getenv, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer b.Close()
	var names []string
	for _, s := range b.apps.declared() {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{fromFile, posted}, names)
}

// TestAppsConfig: the section's mistakes name the file and key path; a
// non-loopback agent needs a token; POST without the token is refused.
func TestAppsConfig(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bad.yaml", "apps:\n  - name: web\n    image: shop/web:1\n    resources: {memory: 12q}\n")
	write(t, dir, "a.yaml", "name: web\nimage: shop/web:1\n")
	write(t, dir, "b.yaml", "name: web\nimage: shop/web:2\n")
	path := write(t, dir, "agent.yaml", "apps: {files: [bad.yaml, a.yaml, b.yaml, missing.yaml], resync: 10ms, engines: [nope]}\n")
	_, err := Load(path)
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "apps.files[0]: "+filepath.Join(dir, "bad.yaml")+": apps[0].resources.memory:")
	assert.Contains(t, msg, "apps.files[2]: "+filepath.Join(dir, "b.yaml")+": application web is also declared by apps.files[1]")
	assert.Contains(t, msg, "apps.files[3]:")
	assert.Contains(t, msg, "apps.resync: 10ms")
	assert.Contains(t, msg, `apps.engines[0]: "nope"`)

	errs := AppsConfig{Enabled: true}.validate(Config{Listen: "0.0.0.0:9464"})
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "api.token_file: required")

	tok := write(t, dir, "token", "s3cret\n")
	require.NoError(t, os.Chmod(tok, 0o600))
	a, srv := newTestAgent(t, "apps: {enabled: true}\napi: {token_file: "+tok+"}\n", nil)
	require.NotNil(t, a.apps)
	code, out, _ := call(t, srv, "POST", "/api/v1/apps", "name: web\nimage: x\n", "Content-Type", "application/yaml")
	assert.Equal(t, http.StatusUnauthorized, code, out)
	code, out, _ = call(t, srv, "GET", "/api/v1/apps", "")
	assert.Equal(t, http.StatusUnauthorized, code, out)
	assert.NotContains(t, out, "s3cret")
}

// TestAppsOff: without the section the routes say how to turn it on.
func TestAppsOff(t *testing.T) {
	_, srv := newTestAgent(t, "events: {enabled: true}\n", nil)
	code, out, _ := call(t, srv, "GET", "/api/v1/apps", "")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, out, "apps:")
	code, out, _ = call(t, srv, "POST", "/api/v1/apps", "{}", "Content-Type", jsonCT)
	assert.Equal(t, http.StatusNotFound, code, out)
}

// FuzzSplitDeclaration: a declaration that parses is split into one
// document per application, each parsing back to that application.
func FuzzSplitDeclaration(f *testing.F) {
	f.Add([]byte("name: web\nimage: x\n"))
	f.Add([]byte(`{"apps": [{"name": "a", "image": "x", "update": {"timeout": "5s"}}, {"name": "b", "image": "y", "env": {"K": "v: w"}}]}`))
	f.Add([]byte("apps:\n  - &a {name: a, image: x}\n  - {name: b, image: x, replicas: 0}\n"))
	f.Add([]byte("name: web\nimage: x\nhealthcheck: {test: [CMD, /bin/true], interval: 1s}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body []byte) {
		specs, err := app.Parse(body, dir)
		if err != nil {
			return
		}
		docs, err := splitDeclaration(body, len(specs))
		if err != nil {
			t.Fatalf("parsed as %d apps but not split: %v", len(specs), err)
		}
		for i, d := range docs {
			back, err := app.Parse(d, dir)
			if err != nil || len(back) != 1 {
				t.Fatalf("apps[%d] does not parse back: %v\n%s", i, err, d)
			}
			if back[0].Hash() != specs[i].Hash() || back[0].Name != specs[i].Name {
				t.Fatalf("apps[%d] changed: %s vs %s\n%s", i, back[0].Name, specs[i].Name, d)
			}
		}
	})
}
