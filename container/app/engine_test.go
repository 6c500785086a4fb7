package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/app"
	"github.com/minato-ops/minato/internal/dockertest"
)

// counter counts the engine calls that write (every method but GET/HEAD).
type counter struct {
	base   http.RoundTripper
	writes atomic.Int64
	mu     sync.Mutex
	log    []string
}

func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		c.writes.Add(1)
		c.mu.Lock()
		c.log = append(c.log, req.Method+" "+req.URL.Path)
		c.mu.Unlock()
	}
	return c.base.RoundTrip(req)
}

type env struct {
	h     *dockertest.Harness
	c     *container.Client
	cnt   *counter
	image string
	scope map[string]string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	h := dockertest.New(t)
	img := h.Image(t)
	host := strings.TrimPrefix(h.Host, "unix://")
	cnt := &counter{base: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", host)
	}}}
	c, err := container.New(container.Config{Host: h.Host}, container.WithHTTPClient(&http.Client{Transport: cnt}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e := &env{h: h, c: c, cnt: cnt, image: img, scope: map[string]string{dockertest.LabelKey: h.RunID()}}
	t.Cleanup(func() { e.sweep(t) })
	return e
}

// sweep removes everything labelled with this test's scope.
func (e *env) sweep(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, err := e.c.List(ctx, container.ListOptions{All: true, Labels: e.scope})
	if err == nil {
		for _, s := range l.Containers {
			_, _ = e.c.Remove(ctx, s.ID, container.RemoveOptions{Force: true, Volumes: true})
		}
	}
	if ns, err := e.c.Networks(ctx, e.scope); err == nil {
		for _, n := range ns {
			_ = e.c.RemoveNetwork(ctx, n.ID)
		}
	}
	if vs, err := e.c.Volumes(ctx, e.scope); err == nil {
		for _, v := range vs {
			_ = e.c.RemoveVolume(ctx, v.Name)
		}
	}
}

func (e *env) reconciler(t testing.TB, opts ...app.Option) *app.Reconciler {
	t.Helper()
	r, err := app.New(e.c, append([]app.Option{app.WithLabels(e.scope)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func uniq(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) spec(name string, replicas int) app.Spec {
	return app.Spec{
		Name: name, Image: e.image, Replicas: &replicas, Command: []string{"sleep", "forever"},
		Env:    map[string]string{"GREETING": "hello"},
		Update: app.Update{StableFor: 500 * time.Millisecond, Timeout: 30 * time.Second},
	}
}

// ids returns name -> ID of the app's containers.
func (e *env) ids(t testing.TB, name string) map[string]string {
	t.Helper()
	l, err := e.c.List(ctxT(t, 30*time.Second), container.ListOptions{All: true, Labels: map[string]string{app.LabelApp: name}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range l.Containers {
		out[s.Name] = s.ID
	}
	return out
}

func (e *env) inspect(t testing.TB, id string) container.InspectResult {
	t.Helper()
	in, err := e.c.Inspect(ctxT(t, 30*time.Second), id, container.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestApplyCreateNoopChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.reconciler(t)
	ctx := ctxT(t, 3*time.Minute)
	a, b := e.spec(uniq("a"), 2), e.spec(uniq("b"), 1)
	a.Resources = app.Resources{CPUs: 0.5, Memory: "64Mi"}
	a.Ports = []string{"127.0.0.1::80"}
	a.Labels = map[string]string{"team": "ops"}
	res, err := r.Apply(ctx, []app.Spec{a, b}, app.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != 3 {
		t.Fatalf("created %v", res.Created)
	}
	idsA, idsB := e.ids(t, a.Name), e.ids(t, b.Name)
	if len(idsA) != 2 || idsA[a.Name+"-1"] == "" || idsA[a.Name+"-2"] == "" || len(idsB) != 1 {
		t.Fatalf("containers %v %v", idsA, idsB)
	}
	in := e.inspect(t, idsA[a.Name+"-2"])
	if in.State != container.Running || in.NanoCPUs != 5e8 || in.MemoryLimit != 64<<20 || in.Labels[app.LabelReplica] != "2" || in.Labels["team"] != "ops" || in.Labels[app.LabelSpec] != a.Hash() {
		t.Fatalf("replica 2: %+v", in)
	}

	// No-op: no write call at all.
	before := e.cnt.writes.Load()
	res, err = r.Apply(ctx, []app.Spec{a, b}, app.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.cnt.writes.Load() - before; n != 0 || !res.Plan.Converged() {
		t.Fatalf("no-op apply made %d write calls (%v); plan:\n%s", n, e.cnt.log, res.Plan)
	}

	// Env change of a: only a's replicas recreated; the plan says which key, not the value.
	a.Env = map[string]string{"GREETING": "s3cr3t-value"}
	plan, err := r.Apply(ctx, []app.Spec{a, b}, app.ApplyOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	txt := plan.Plan.String()
	if !strings.Contains(txt, "env.GREETING: changed") || strings.Contains(txt, "s3cr3t") || plan.Plan.Count(app.ActionRecreate) != 2 {
		t.Fatalf("plan:\n%s", txt)
	}
	res, err = r.Apply(ctx, []app.Spec{a, b}, app.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Recreated) != 2 || !mapsEqual(e.ids(t, b.Name), idsB) {
		t.Fatalf("recreated %v; b %v -> %v", res.Recreated, idsB, e.ids(t, b.Name))
	}
	newA := e.ids(t, a.Name)
	if len(newA) != 2 || newA[a.Name+"-1"] == idsA[a.Name+"-1"] {
		t.Fatalf("a not recreated: %v", newA)
	}

	// Resources change of b only.
	b.Resources.Memory = "32Mi"
	res, err = r.Apply(ctx, []app.Spec{a, b}, app.ApplyOptions{})
	if err != nil || !slices.Equal(res.Recreated, []string{b.Name + "-1"}) || !mapsEqual(e.ids(t, a.Name), newA) {
		t.Fatalf("resources change: %v %+v", err, res)
	}
	if in := e.inspect(t, e.ids(t, b.Name)[b.Name+"-1"]); in.MemoryLimit != 32<<20 {
		t.Fatalf("memory %d", in.MemoryLimit)
	}

	// Image change (a second tag of the test image) of a.
	tag := "minato-testbox:" + uniq("app")
	if err := e.h.Client.ImageTag(ctx, e.image, tag); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = e.h.Client.ImageRemove(context.Background(), tag, image.RemoveOptions{}) })
	a.Image = tag
	res, err = r.Apply(ctx, []app.Spec{a, b}, app.ApplyOptions{})
	if err != nil || len(res.Recreated) != 2 || len(res.Plan.Apps[0].Steps[0].Changes) != 1 || res.Plan.Apps[0].Steps[0].Changes[0].Field != "image" {
		t.Fatalf("image change: %v %+v", err, res.Plan)
	}
	st, err := r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if !s.Converged() {
			t.Errorf("status not converged: %+v", s)
		}
	}
}

func TestScaleAndDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.reconciler(t)
	ctx := ctxT(t, 3*time.Minute)
	s := e.spec(uniq("s"), 1)
	s.Networks = []string{uniq("net-")}
	s.Volumes = []string{uniq("vol-")}
	s.Mounts = []app.Mount{{Type: "volume", Source: s.Volumes[0], Target: "/data"}, {Type: "tmpfs", Target: "/tmp"}}
	if _, err := r.Apply(ctx, []app.Spec{s}, app.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := r.Scale(ctx, s.Name, 3)
	if err != nil || len(res.Created) != 2 {
		t.Fatalf("scale up: %v %+v", err, res)
	}
	res, err = r.Scale(ctx, s.Name, 1)
	if err != nil || !slices.Equal(res.Removed, []string{s.Name + "-3", s.Name + "-2"}) {
		t.Fatalf("scale down: %v %+v", err, res)
	}
	if ids := e.ids(t, s.Name); len(ids) != 1 || ids[s.Name+"-1"] == "" {
		t.Fatalf("after scale down: %v", ids)
	}
	if _, err := r.Scale(ctx, uniq("nope"), 2); err == nil {
		t.Fatal("scale of an unknown app")
	}
	del, err := r.Delete(ctx, s.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(del.Containers) != 1 || !slices.Equal(del.Networks, s.Networks) || !slices.Equal(del.Volumes, s.Volumes) {
		t.Fatalf("delete: %+v", del)
	}
	own := map[string]string{app.LabelApp: s.Name}
	if ns, _ := e.c.Networks(ctx, own); len(ns) != 0 {
		t.Fatalf("networks left: %v", ns)
	}
	if vs, _ := e.c.Volumes(ctx, own); len(vs) != 0 {
		t.Fatalf("volumes left: %v", vs)
	}
	if len(e.ids(t, s.Name)) != 0 {
		t.Fatal("containers left")
	}
}

func TestPruneOnlyWithinScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.reconciler(t)
	ctx := ctxT(t, 2*time.Minute)
	a, b := e.spec(uniq("p"), 1), e.spec(uniq("q"), 1)
	if _, err := r.Apply(ctx, []app.Spec{a, b}, app.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := r.Apply(ctx, []app.Spec{a}, app.ApplyOptions{Prune: true})
	if err != nil || !slices.Equal(res.Pruned, []string{b.Name}) {
		t.Fatalf("prune: %v %+v", err, res)
	}
	if len(e.ids(t, b.Name)) != 0 || len(e.ids(t, a.Name)) != 1 {
		t.Fatal("prune removed the wrong containers")
	}
}

func TestFailingGateRollsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var events []app.Event
	var mu sync.Mutex
	r := e.reconciler(t, app.WithTransitions(func(ev app.Event) { mu.Lock(); events = append(events, ev); mu.Unlock() }))
	ctx := ctxT(t, 3*time.Minute)
	s := e.spec(uniq("g"), 2)
	s.Healthcheck = &app.Healthcheck{Test: []string{"CMD", "/testbox", "exit", "0"}, Interval: 300 * time.Millisecond, Retries: 1}
	if _, err := r.Apply(ctx, []app.Spec{s}, app.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	old := e.ids(t, s.Name)
	// A healthy update passes the gate.
	s.Env = map[string]string{"V": "2"}
	if res, err := r.Apply(ctx, []app.Spec{s}, app.ApplyOptions{}); err != nil || len(res.Recreated) != 2 {
		t.Fatalf("healthy update: %v %+v", err, res)
	}
	good := e.ids(t, s.Name)
	if good[s.Name+"-1"] == old[s.Name+"-1"] {
		t.Fatal("not recreated")
	}
	// A failing health check: the first batch is rolled back, the second not tried.
	s.Healthcheck.Test = []string{"CMD", "/testbox", "exit", "1"}
	res, err := r.Apply(ctx, []app.Spec{s}, app.ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "rolled back") || !slices.Equal(res.RolledBack, []string{s.Name + "-1"}) {
		t.Fatalf("failing update: %v %+v", err, res)
	}
	now := e.ids(t, s.Name)
	if !mapsEqual(now, good) {
		t.Fatalf("after rollback %v, want %v", now, good)
	}
	for _, id := range now {
		if in := e.inspect(t, id); in.State != container.Running {
			t.Fatalf("%s not running after rollback: %s", in.Name, in.State)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.ContainsFunc(events, func(ev app.Event) bool { return ev.Kind == app.EventRolledBack }) {
		t.Fatalf("no rolled_back event: %+v", events)
	}
}

func TestRunRepairsDrift(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	evs := make(chan app.Event, 100)
	r := e.reconciler(t, app.WithTransitions(func(ev app.Event) { evs <- ev }), app.WithResyncInterval(time.Minute))
	ctx, cancel := context.WithCancel(ctxT(t, 3*time.Minute))
	s := e.spec(uniq("d"), 2)
	s.Restart = "no"
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, []app.Spec{s}) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, 60*time.Second, func() bool { st := status(t, r, s.Name); return st.Running == 2 })
	ids := e.ids(t, s.Name)

	// Removed by hand.
	if err := e.h.Client.ContainerRemove(ctx, ids[s.Name+"-1"], dcontainer.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	// Stopped by hand.
	if err := e.h.Client.ContainerStop(ctx, ids[s.Name+"-2"], dcontainer.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, func() bool {
		now := e.ids(t, s.Name)
		st := status(t, r, s.Name)
		return st.Running == 2 && now[s.Name+"-1"] != "" && now[s.Name+"-1"] != ids[s.Name+"-1"] && now[s.Name+"-2"] == ids[s.Name+"-2"]
	})
	kinds := map[app.EventKind]bool{}
	deadline := time.After(10 * time.Second)
	for !kinds[app.EventRecovered] || !kinds[app.EventDegraded] || !kinds[app.EventReplaced] {
		select {
		case ev := <-evs:
			kinds[ev.Kind] = true
		case <-deadline:
			t.Fatalf("transitions seen: %v", kinds)
		}
	}
}

func status(t testing.TB, r *app.Reconciler, name string) app.AppStatus {
	st, err := r.Status(ctxT(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range st {
		if a.App == name {
			return a
		}
	}
	return app.AppStatus{}
}

func waitFor(t testing.TB, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
