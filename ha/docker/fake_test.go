package docker_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/docker"
	"github.com/minato-ops/minato/monitor"
)

// fakeEngine is enginetest's fake engine with a little state: containers
// are inspect fixtures written by the test, create writes one, and start
// turns one running.
type fakeEngine struct {
	t   *testing.T
	dir string
	srv *enginetest.Server
	c   *container.Client

	mu      sync.Mutex
	created []createBody
	// onStart is the state a started container gets; default running.
	onStart fakeState
}

// fakeState is the part of an inspect document the tests vary.
type fakeState struct {
	Status     string
	Health     string
	ExitCode   int
	OOMKilled  bool
	Error      string
	FinishedAt string
	Labels     map[string]string
}

// createBody is the part of a create request the tests look at.
type createBody struct {
	Name        string
	Image       string
	Cmd         []string
	Env         []string
	Labels      map[string]string
	StopTimeout *int
	HostConfig  struct {
		Binds         []string
		RestartPolicy struct{ Name string }
	}
}

func fakeID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

func newFake(t *testing.T) *fakeEngine {
	t.Helper()
	f := &fakeEngine{t: t, dir: t.TempDir(), onStart: fakeState{Status: "running"}}
	f.srv = enginetest.NewServer(t, f.dir,
		enginetest.WithHandler("POST", "/containers/create", f.create),
		enginetest.WithHandler("POST", "/containers/{ref}/start", f.start),
	)
	c, err := container.New(container.Config{Host: f.srv.URL, Timeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	f.c = c
	return f
}

// put writes (or, with a nil state, removes) the container's inspect
// fixture.
func (f *fakeEngine) put(name string, st *fakeState) {
	f.t.Helper()
	path := filepath.Join(f.dir, "inspect_"+fakeID(name)+".json")
	if st == nil {
		require.NoError(f.t, os.Remove(path))
		return
	}
	doc := map[string]any{
		"Id":   fakeID(name),
		"Name": "/" + name,
		"State": map[string]any{
			"Status": st.Status, "Running": st.Status == "running", "ExitCode": st.ExitCode,
			"OOMKilled": st.OOMKilled, "Error": st.Error, "FinishedAt": st.FinishedAt,
		},
		"Config": map[string]any{"Image": "app:1", "Labels": st.Labels},
	}
	if st.Health != "" {
		doc["State"].(map[string]any)["Health"] = map[string]any{"Status": st.Health}
	}
	b, err := json.Marshal(doc)
	require.NoError(f.t, err)
	require.NoError(f.t, os.WriteFile(path, b, 0o644))
}

func (f *fakeEngine) labels(name string) map[string]string {
	b, err := os.ReadFile(filepath.Join(f.dir, "inspect_"+fakeID(name)+".json"))
	require.NoError(f.t, err)
	var doc struct {
		Config struct{ Labels map[string]string }
	}
	require.NoError(f.t, json.Unmarshal(b, &doc))
	return doc.Config.Labels
}

func (f *fakeEngine) create(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body createBody
	if err := json.Unmarshal(b, &body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	body.Name = r.URL.Query().Get("name")
	f.mu.Lock()
	f.created = append(f.created, body)
	f.mu.Unlock()
	f.put(body.Name, &fakeState{Status: "created", Labels: body.Labels})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"Id": fakeID(body.Name), "Warnings": []string{}})
}

func (f *fakeEngine) start(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("ref")
	st := f.onStart
	st.Labels = f.labels(name)
	f.put(name, &st)
	w.WriteHeader(http.StatusNoContent)
}

// calls returns "METHOD /path" of the requests other than inspect and
// ping.
func (f *fakeEngine) calls() []string {
	var out []string
	for _, r := range f.srv.Requests() {
		if r.Method == "GET" || r.Method == "HEAD" {
			continue
		}
		s := r.Method + " " + r.Path
		if q := r.Query.Encode(); q != "" {
			s += "?" + q
		}
		out = append(out, s)
	}
	return out
}

func ours(extra map[string]string) map[string]string {
	l := map[string]string{docker.LabelResource: "web", docker.LabelGroup: "g1"}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

func newWeb(t *testing.T, f *fakeEngine, mod func(*docker.Config)) *docker.Resource {
	t.Helper()
	cfg := docker.Config{Name: "web", Group: "g1", Create: &docker.Spec{Image: "app:1"}, HealthTimeout: 2 * time.Second, SettleTime: -1}
	if mod != nil {
		mod(&cfg)
	}
	r, err := docker.New(f.c, cfg)
	require.NoError(t, err)
	return r
}

func TestCheckJudgesEveryState(t *testing.T) {
	f := newFake(t)
	web := newWeb(t, f, nil)
	for _, tc := range []struct {
		name  string
		state *fakeState
		want  monitor.Status
		code  int
		msg   string
	}{
		{"running", &fakeState{Status: "running", Labels: ours(nil)}, monitor.OK, 0, "container web is running"},
		{"healthy", &fakeState{Status: "running", Health: "healthy", Labels: ours(nil)}, monitor.OK, 0, "container web is running and healthy"},
		{"health starting", &fakeState{Status: "running", Health: "starting", Labels: ours(nil)}, monitor.Warning, 0, "container web is running; its health check has not passed yet"},
		{"unhealthy", &fakeState{Status: "running", Health: "unhealthy", Labels: ours(nil)}, monitor.Critical, docker.CodeUnhealthy, "container web is running but its health check reports unhealthy"},
		{"exited", &fakeState{Status: "exited", ExitCode: 3, FinishedAt: "2026-05-01T10:00:00.5Z", Labels: ours(nil)}, monitor.Critical, docker.CodeExited, "container web exited with code 3 at 2026-05-01T10:00:00Z"},
		{"oom", &fakeState{Status: "exited", ExitCode: 137, OOMKilled: true, Labels: ours(nil)}, monitor.Critical, docker.CodeExited, "container web exited with code 137, OOM-killed"},
		{"dead", &fakeState{Status: "dead", ExitCode: 1, Error: "driver failed", Labels: ours(nil)}, monitor.Critical, docker.CodeExited, "container web is dead (last exit code 1) (engine: driver failed)"},
		{"restarting", &fakeState{Status: "restarting", ExitCode: 2, Labels: ours(nil)}, monitor.Critical, docker.CodeExited, "container web is restarting (engine restart policy) after exiting with code 2"},
		{"created", &fakeState{Status: "created", Labels: ours(nil)}, monitor.Critical, docker.CodeNotRunning, "container web is created, not running"},
		{"paused", &fakeState{Status: "paused", Labels: ours(nil)}, monitor.Critical, docker.CodeNotRunning, "container web is paused, not running"},
		{"foreign", &fakeState{Status: "running", Labels: map[string]string{"app": "other"}}, monitor.Critical, docker.CodeForeign, `container web exists but was not created for resource "web" of group "g1"`},
		{"missing", nil, monitor.Critical, docker.CodeMissing, "container web does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.state != nil {
				f.put("web", tc.state)
				defer f.put("web", nil)
			}
			res, err := web.Check(context.Background(), node)
			require.NoError(t, err)
			assert.Equal(t, tc.want, res.Status)
			assert.Equal(t, tc.code, res.Code)
			assert.Contains(t, res.Message, tc.msg)
			assert.False(t, res.Time.IsZero())
		})
	}
}

func TestCheckEngineErrorIsAnError(t *testing.T) {
	f := newFake(t)
	web := newWeb(t, f, nil)
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "errors.json"),
		[]byte(`{"GET /containers/web/json": {"status": 500, "message": "storage driver broken"}}`), 0o644))
	_, err := web.Check(context.Background(), node)
	var re *ha.ResourceError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, ha.CodeFailed, re.Code)
	assert.Contains(t, re.Detail, "storage driver broken")
}

func TestActivateCreatesWithLabelsAndNoRestartPolicy(t *testing.T) {
	f := newFake(t)
	web := newWeb(t, f, func(c *docker.Config) {
		c.StopGrace = 2500 * time.Millisecond
		c.Create = &docker.Spec{
			Image: "app:1", Cmd: []string{"serve"}, Env: map[string]string{"B": "2", "A": "1"},
			Labels: map[string]string{"team": "ops", docker.LabelEpoch: "forged"}, Mounts: []string{"data:/data"},
		}
	})
	require.NoError(t, web.Activate(ha.WithEpoch(context.Background(), 42), node))

	require.Len(t, f.created, 1)
	body := f.created[0]
	assert.Equal(t, "web", body.Name)
	assert.Equal(t, "app:1", body.Image)
	assert.Equal(t, []string{"serve"}, body.Cmd)
	assert.Equal(t, []string{"A=1", "B=2"}, body.Env)
	assert.Equal(t, map[string]string{
		"team": "ops", docker.LabelGroup: "g1", docker.LabelResource: "web", docker.LabelEpoch: "42", docker.LabelNode: "node1",
	}, body.Labels)
	assert.Equal(t, []string{"data:/data"}, body.HostConfig.Binds)
	assert.Contains(t, []string{"", "no"}, body.HostConfig.RestartPolicy.Name)
	require.NotNil(t, body.StopTimeout)
	assert.Equal(t, 3, *body.StopTimeout, "the stop grace, rounded up to whole seconds")
	assert.Equal(t, []string{"POST /containers/create?name=web", "POST /containers/web/start"}, f.calls())

	// Active already: nothing more is done.
	f.srv.Reset()
	require.NoError(t, web.Activate(ha.WithEpoch(context.Background(), 42), node))
	assert.Empty(t, f.calls())
}

func TestActivateRefusals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing bool
		state    *fakeState
		epoch    ha.Epoch
		code     int
		detail   string
	}{
		{"paused", false, &fakeState{Status: "paused", Labels: ours(nil)}, 1, docker.CodeNotRunning, "container web is paused: unpause it"},
		{"newer epoch", false, &fakeState{Status: "exited", Labels: ours(map[string]string{docker.LabelEpoch: "9"})}, 7, docker.CodeStaleEpoch, "created under epoch 9, newer than this activation's epoch 7"},
		{"foreign", false, &fakeState{Status: "exited", Labels: map[string]string{docker.LabelResource: "db", docker.LabelGroup: "g1"}}, 1, docker.CodeForeign, `its labels say minato.ha.resource="db"`},
		{"existing missing", true, nil, 1, docker.CodeMissing, "container web does not exist (it is managed as existing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			web := newWeb(t, f, func(c *docker.Config) {
				if tc.existing {
					c.Create, c.Existing = nil, true
				}
			})
			if tc.state != nil {
				f.put("web", tc.state)
			}
			err := web.Activate(ha.WithEpoch(context.Background(), tc.epoch), node)
			var re *ha.ResourceError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tc.code, re.Code)
			assert.Contains(t, re.Detail, tc.detail)
			assert.Empty(t, f.calls(), "nothing created, started or stopped")
		})
	}
}

func TestActivateOlderEpochLabelJustStarts(t *testing.T) {
	f := newFake(t)
	web := newWeb(t, f, nil)
	f.put("web", &fakeState{Status: "exited", Labels: ours(map[string]string{docker.LabelEpoch: "3"})})
	require.NoError(t, web.Activate(ha.WithEpoch(context.Background(), 8), node))
	assert.Equal(t, []string{"POST /containers/web/start"}, f.calls())
	// Without an epoch in ctx there is nothing to compare.
	f.put("web", &fakeState{Status: "exited", Labels: ours(map[string]string{docker.LabelEpoch: "99"})})
	require.NoError(t, web.Activate(context.Background(), node))
}

func TestActivateWaitsForHealthAndTimesOut(t *testing.T) {
	f := newFake(t)
	f.onStart = fakeState{Status: "running", Health: "starting"}
	web := newWeb(t, f, func(c *docker.Config) { c.HealthTimeout = 400 * time.Millisecond })
	f.put("web", &fakeState{Status: "created", Labels: ours(nil)})
	t0 := time.Now()
	err := web.Activate(context.Background(), node)
	var re *ha.ResourceError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, ha.CodeTimeout, re.Code)
	assert.Equal(t, "Timeout occurred. Container web was not ready within 400ms (running, health starting).", re.Detail)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.GreaterOrEqual(t, time.Since(t0), 400*time.Millisecond)

	// The activation's own deadline, when sooner, says so.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	web = newWeb(t, f, func(c *docker.Config) { c.HealthTimeout = time.Minute })
	err = web.Activate(ctx, node)
	require.ErrorAs(t, err, &re)
	assert.Equal(t, ha.CodeTimeout, re.Code)
	assert.Contains(t, re.Detail, "within the activation's deadline")
}

func TestActivateBecomesHealthy(t *testing.T) {
	f := newFake(t)
	f.onStart = fakeState{Status: "running", Health: "starting"}
	web := newWeb(t, f, nil)
	f.put("web", &fakeState{Status: "exited", Labels: ours(nil)})
	time.AfterFunc(300*time.Millisecond, func() { f.put("web", &fakeState{Status: "running", Health: "healthy", Labels: ours(nil)}) })
	t0 := time.Now()
	require.NoError(t, web.Activate(context.Background(), node))
	assert.GreaterOrEqual(t, time.Since(t0), 300*time.Millisecond)
}

func TestActivateUnhealthyFailsAtOnce(t *testing.T) {
	f := newFake(t)
	f.onStart = fakeState{Status: "running", Health: "unhealthy"}
	web := newWeb(t, f, func(c *docker.Config) { c.HealthTimeout = time.Minute })
	f.put("web", &fakeState{Status: "exited", Labels: ours(nil)})
	err := web.Activate(context.Background(), node)
	assert.Equal(t, "Activating web resource has failed.(9 : container web is running but its health check reports unhealthy)", ha.ActivateMessage("web", err))
}

func TestDeactivateRequests(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remove bool
		state  *fakeState
		calls  []string
	}{
		{"running", false, &fakeState{Status: "running", Labels: ours(nil)}, []string{"POST /containers/web/stop?t=3"}},
		{"running, remove", true, &fakeState{Status: "running", Labels: ours(nil)}, []string{"POST /containers/web/stop?t=3", "DELETE /containers/web?force=1&v=1"}},
		{"paused", false, &fakeState{Status: "paused", Labels: ours(nil)}, []string{"POST /containers/web/stop?t=3"}},
		{"exited", false, &fakeState{Status: "exited", Labels: ours(nil)}, nil},
		{"exited, remove", true, &fakeState{Status: "exited", Labels: ours(nil)}, []string{"DELETE /containers/web?force=1&v=1"}},
		{"foreign", true, &fakeState{Status: "running"}, nil},
		{"missing", true, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			web := newWeb(t, f, func(c *docker.Config) { c.StopGrace = 3 * time.Second; c.RemoveOnDeactivate = tc.remove })
			if tc.state != nil {
				f.put("web", tc.state)
			}
			require.NoError(t, web.Deactivate(context.Background(), node))
			assert.Equal(t, tc.calls, f.calls())
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	f := newFake(t)
	_, err := docker.New(f.c, docker.Config{Name: "x"})
	assert.ErrorContains(t, err, "ha/docker: invalid config: name: \"x\"")
	assert.ErrorContains(t, err, "create: give create")
	_, err = docker.New(nil, docker.Config{Name: "web", Existing: true})
	assert.ErrorContains(t, err, "no container client")
}
