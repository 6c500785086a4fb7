package dockerinv_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minato-ops/minato/container/enginetest"
	"github.com/minato-ops/minato/inventory"
	dockerinv "github.com/minato-ops/minato/inventory/docker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newEngine(t *testing.T, srv *enginetest.Server, opts ...dockerinv.Option) *dockerinv.Engine {
	t.Helper()
	e, err := dockerinv.NewEngine("docker_host1", fakeClient(t, srv), opts...)
	require.NoError(t, err)
	return e
}

func TestEngineSnapshotEverything(t *testing.T) {
	srv := fake(t, fixtures, enginetest.WithAPIVersion("1.47"))
	e := newEngine(t, srv)
	before := time.Now()
	snap, err := e.Snapshot(context.Background(), inventory.Selector{})
	require.NoError(t, err)

	assert.False(t, snap.Taken.Before(before.Truncate(time.Second)))
	require.Len(t, snap.Engines, 1)
	eng := snap.Engines[0]
	assert.True(t, eng.Up(), eng.Error)
	assert.Equal(t, "docker_host1", eng.Name)
	assert.Equal(t, srv.URL, eng.Endpoint)
	assert.Equal(t, "ENG1:AAAA", eng.ID)
	assert.Equal(t, "docker-host-1", eng.Hostname)
	assert.Equal(t, "28.5.2", eng.Version)
	assert.Equal(t, "1.47", eng.APIVersion, "the engine's API version, from /_ping")
	assert.Equal(t, "linux", eng.OS)
	assert.Positive(t, eng.Took)

	assert.Equal(t, []string{
		"container:web-1", "container:batch", "container:fresh",
		"image:", "image:nginx:1.27", "image:busybox:1.36",
		"network:bridge", "network:web-net", "network:none",
		"volume:web-data",
	}, names(snap.Items), "sorted by kind, then ID")
	for _, it := range snap.Items {
		assert.Equal(t, srv.URL, it.Target.Engine, "Target.Engine is the endpoint")
	}

	web, ok := snap.Find("container/" + srv.URL + "/" + idWeb)
	require.True(t, ok)
	assert.Equal(t, "running", web.State)
	assert.Equal(t, map[string]string{"app": "web", "tier": "front"}, web.Target.Labels)
	assert.Equal(t, map[string]string{
		"image":      "nginx:1.27",
		"image_id":   "sha256:" + strings.Repeat("e5", 32),
		"command":    "/docker-entrypoint.sh nginx -g 'daemon off;'",
		"created":    "2025-01-01T12:00:00Z",
		"status":     "Up 2 hours (healthy)",
		"ports":      "443/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp",
		"networks":   "bridge, web-net",
		"mounts":     "/etc/nginx/conf.d:/etc/nginx/conf.d:ro, web-data:/usr/share/nginx/html",
		"ip_address": "172.17.0.5",
	}, web.Attrs)

	fresh, _ := snap.Find("container/" + srv.URL + "/" + idFresh)
	assert.Equal(t, "created", fresh.State)
	assert.NotContains(t, fresh.Attrs, "ports", "not running: the engine does not say")
	assert.Equal(t, "none", fresh.Attrs["networks"])
	assert.Equal(t, "tmpfs:/run", fresh.Attrs["mounts"])
	assert.NotContains(t, fresh.Attrs, "ip_address", "not running: the engine does not say")
	assert.NotContains(t, fresh.Attrs, "exit_code", "no detail unless asked")

	nginx := snap.Items[4]
	assert.Equal(t, inventory.KindImage, nginx.Target.Kind)
	assert.Equal(t, "sha256:"+strings.Repeat("e5", 32), nginx.Target.ID)
	assert.Equal(t, map[string]string{"tags": "nginx:1.27, nginx:latest", "size_bytes": "192000000", "created": "2024-12-24T00:26:40Z"}, nginx.Attrs)
	assert.Equal(t, "", snap.Items[3].Attrs["tags"], "untagged image")

	webnet := snap.Items[7]
	assert.Equal(t, map[string]string{"driver": "bridge", "scope": "local", "created": "2025-01-01T10:30:00Z"}, webnet.Attrs)
	assert.Equal(t, strings.Repeat("29", 32), webnet.Target.ID)

	vol := snap.Items[9]
	assert.Equal(t, inventory.Target{Kind: inventory.KindVolume, ID: "web-data", Name: "web-data", Engine: srv.URL, Labels: map[string]string{"app": "web"}}, vol.Target)
	assert.Equal(t, map[string]string{"driver": "local", "mountpoint": "/var/lib/docker/volumes/web-data/_data", "created": "2025-01-01T11:30:00Z"}, vol.Attrs)
	assert.Empty(t, vol.State)

	q := srv.Requests()
	for _, r := range q {
		if r.Path == "/containers/json" {
			assert.Equal(t, "1", r.Query.Get("all"), "stopped containers too")
		}
	}
}

func TestEngineSnapshotKinds(t *testing.T) {
	cases := []struct {
		name string
		sel  inventory.Selector
		want []string // list requests
	}{
		{"containers", inventory.Selector{Kind: inventory.KindContainer}, []string{"GET /containers/json"}},
		{"states mean containers", inventory.Selector{States: []string{"running"}}, []string{"GET /containers/json"}},
		{"images", inventory.Selector{Kind: inventory.KindImage}, []string{"GET /images/json"}},
		{"networks", inventory.Selector{Kind: inventory.KindNetwork}, []string{"GET /networks"}},
		{"volumes", inventory.Selector{Kind: inventory.KindVolume}, []string{"GET /volumes"}},
		{"images have no state", inventory.Selector{Kind: inventory.KindImage, States: []string{"running"}}, nil},
		{"hosts are not items", inventory.Selector{Kind: inventory.KindHost}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := fake(t, fixtures)
			e := newEngine(t, srv)
			snap, err := e.Snapshot(context.Background(), tc.sel)
			require.NoError(t, err)
			var lists []string
			for _, p := range paths(srv) {
				if p != "GET /info" {
					lists = append(lists, p)
				}
			}
			assert.Equal(t, tc.want, lists)
			require.Len(t, snap.Engines, 1)
			assert.True(t, snap.Engines[0].Up())
			assert.NotNil(t, snap.Items)
			for _, it := range snap.Items {
				assert.True(t, tc.sel.Match(it.Target) && tc.sel.MatchState(it.State), "%v", it.Target)
			}
		})
	}
}

func TestEngineSnapshotSelects(t *testing.T) {
	cases := []struct {
		name string
		sel  inventory.Selector
		want []string
	}{
		{"name prefix across kinds", inventory.Selector{Names: []string{"web*"}}, []string{"container:web-1", "network:web-net", "volume:web-data"}},
		{"short ID", inventory.Selector{IDs: []string{idBatch[:12]}}, []string{"container:batch"}},
		{"ID prefix", inventory.Selector{Kind: inventory.KindContainer, IDs: []string{"c3c3*"}}, []string{"container:fresh"}},
		{"states", inventory.Selector{States: []string{"exited", "created"}}, []string{"container:batch", "container:fresh"}},
		{"label presence and value", inventory.Selector{Labels: map[string]string{"app": "batch", "tier": ""}}, []string{"container:fresh"}},
		{"label across kinds", inventory.Selector{Labels: map[string]string{"app": "web"}}, []string{"container:web-1", "network:web-net", "volume:web-data"}},
		{"nothing", inventory.Selector{Names: []string{"db"}}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := fake(t, fixtures)
			snap, err := newEngine(t, srv).Snapshot(context.Background(), tc.sel)
			require.NoError(t, err)
			assert.Equal(t, tc.want, names(snap.Items))
		})
	}
}

func TestEngineLabelsFilteredByTheEngine(t *testing.T) {
	srv := fake(t, fixtures)
	_, err := newEngine(t, srv).Snapshot(context.Background(), inventory.Selector{Labels: map[string]string{"app": "web", "tier": ""}})
	require.NoError(t, err)
	want := map[string]map[string]bool{"label": {"app=web": true, "tier": true}}
	n := 0
	for _, r := range srv.Requests() {
		switch r.Path {
		case "/containers/json", "/images/json", "/networks", "/volumes":
			assert.Equal(t, want, filtersOf(t, r.Query.Get("filters")), r.Path)
			n++
		}
	}
	assert.Equal(t, 4, n)
}

func TestEngineSelectorErrors(t *testing.T) {
	srv := fake(t, fixtures)
	e := newEngine(t, srv)
	_, err := e.Snapshot(context.Background(), inventory.Selector{Scopes: []string{"docker_host1_scope"}})
	assert.ErrorIs(t, err, inventory.ErrScopes)
	_, err = e.Snapshot(context.Background(), inventory.Selector{IDs: []string{"a1*"}, Names: []string{"web-1"}})
	assert.ErrorIs(t, err, inventory.ErrIDAndName)
	_, err = e.Resolve(context.Background(), inventory.Selector{Names: []string{"w*b"}})
	assert.ErrorIs(t, err, inventory.ErrBadPattern)
	assert.Empty(t, paths(srv), "refused before asking the engine")
}

func TestEngineIdentityIsCached(t *testing.T) {
	srv := fake(t, fixtures)
	e := newEngine(t, srv)
	ctx := context.Background()
	sel := inventory.Selector{Kind: inventory.KindContainer}
	for range 3 {
		snap, err := e.Snapshot(ctx, sel)
		require.NoError(t, err)
		assert.Equal(t, "ENG1:AAAA", snap.Engines[0].ID, "identity reported from the cache too")
	}
	assert.Equal(t, 1, count(srv, "GET", "/info"), "info asked once")
	assert.Equal(t, 3, count(srv, "GET", "/containers/json"), "then one list call per snapshot")

	short := newEngine(t, srv, dockerinv.WithIdentityTTL(0))
	srv.Reset()
	for range 2 {
		_, err := short.Snapshot(ctx, sel)
		require.NoError(t, err)
	}
	assert.Equal(t, 2, count(srv, "GET", "/info"), "no TTL, asked every time")
}

func TestEngineDown(t *testing.T) {
	var fail atomic.Bool
	srv := fake(t, fixtures, enginetest.WithHandler("GET", "/containers/json", func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"message":"engine is shutting down"}`))
			return
		}
		serveFile(t, fixtures, "containers.json")(w, r)
	}))
	e := newEngine(t, srv)
	ctx := context.Background()
	sel := inventory.Selector{Kind: inventory.KindContainer}
	_, err := e.Snapshot(ctx, sel)
	require.NoError(t, err)

	fail.Store(true)
	snap, err := e.Snapshot(ctx, sel)
	require.NoError(t, err, "an engine that fails is data, not an error")
	require.Len(t, snap.Engines, 1)
	eng := snap.Engines[0]
	assert.False(t, eng.Up())
	assert.Contains(t, eng.Error, "list containers")
	assert.Contains(t, eng.Error, "engine is shutting down")
	assert.Empty(t, eng.ID, "no identity for an engine that did not answer")
	assert.Equal(t, "docker_host1", eng.Name)
	assert.Equal(t, srv.URL, eng.Endpoint)
	assert.Empty(t, snap.Items)
	assert.NotNil(t, snap.Items)

	_, err = e.Resolve(ctx, inventory.Selector{})
	var ee *inventory.EngineError
	require.ErrorAs(t, err, &ee, "a resolver over a down engine fails")
	assert.Equal(t, "docker_host1", ee.Engine)

	fail.Store(false)
	srv.Reset()
	_, err = e.Snapshot(ctx, sel)
	require.NoError(t, err)
	assert.Equal(t, 1, count(srv, "GET", "/info"), "identity asked again after a failure")
}

func TestEngineUnreachableAndCancelled(t *testing.T) {
	srv := fake(t, fixtures)
	e := newEngine(t, srv)
	srv.Close()
	snap, err := e.Snapshot(context.Background(), inventory.Selector{})
	require.NoError(t, err)
	assert.Contains(t, snap.Engines[0].Error, "cannot connect to the Docker daemon at "+srv.URL)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = e.Snapshot(ctx, inventory.Selector{})
	assert.ErrorIs(t, err, context.Canceled, "ctx ended before the engine answered")
}

func TestEngineResolve(t *testing.T) {
	srv := fake(t, fixtures)
	e := newEngine(t, srv)
	ts, err := e.Resolve(context.Background(), inventory.Selector{Labels: map[string]string{"app": "web"}})
	require.NoError(t, err)
	require.Len(t, ts, 1, "containers only by default")
	assert.Equal(t, inventory.Target{Kind: inventory.KindContainer, ID: idWeb, Name: "web-1", Engine: srv.URL, Labels: map[string]string{"app": "web", "tier": "front"}}, ts[0])
	ts, err = e.Resolve(context.Background(), inventory.Selector{Kind: inventory.KindNetwork, Labels: map[string]string{"app": "web"}})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	assert.Equal(t, "web-net", ts[0].Name)
}

func TestEngineDetail(t *testing.T) {
	srv := fake(t, fixtures)
	e := newEngine(t, srv, dockerinv.WithDetail(2))
	snap, err := e.Snapshot(context.Background(), inventory.Selector{})
	require.NoError(t, err)
	web, _ := snap.Find("container/" + srv.URL + "/" + idWeb)
	assert.Equal(t, "0", web.Attrs["exit_code"])
	assert.Equal(t, "2025-01-01T12:00:01.5Z", web.Attrs["started_at"])
	assert.Equal(t, "", web.Attrs["finished_at"], "never finished")
	assert.Equal(t, "false", web.Attrs["oom_killed"])
	assert.Equal(t, "1", web.Attrs["restart_count"])
	assert.Equal(t, "healthy", web.Attrs["health"])
	assert.Equal(t, "4242", web.Attrs["pid"])
	batch, _ := snap.Find("container/" + srv.URL + "/" + idBatch)
	assert.Equal(t, "3", batch.Attrs["exit_code"])
	assert.Equal(t, "2025-01-01T11:00:02.25Z", batch.Attrs["finished_at"])
	assert.Equal(t, "", batch.Attrs["health"], "no health check")
	assert.Contains(t, batch.Attrs, "health")
	assert.Equal(t, 3, count(srv, "GET", "/containers/"+idWeb+"/json")+count(srv, "GET", "/containers/"+idBatch+"/json")+count(srv, "GET", "/containers/"+idFresh+"/json"))

	srv.Reset()
	_, err = e.Snapshot(context.Background(), inventory.Selector{Names: []string{"batch"}})
	require.NoError(t, err)
	inspected := 0
	for _, p := range paths(srv) {
		if strings.HasPrefix(p, "GET /containers/") && p != "GET /containers/json" {
			inspected++
			assert.Equal(t, "GET /containers/"+idBatch+"/json", p, "only selected containers are inspected")
		}
	}
	assert.Equal(t, 1, inspected)
}

func TestEngineDetailBoundedAndRemovedContainers(t *testing.T) {
	var mu sync.Mutex
	inFlight, most := 0, 0
	srv := fake(t, fixtures, enginetest.WithHandler("GET", "/containers/{ref}/json", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
		time.Sleep(30 * time.Millisecond)
		ref := r.PathValue("ref")
		if ref == idFresh {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"No such container: ` + ref + `"}`))
			return
		}
		serveFile(t, fixtures, "inspect_"+ref+".json")(w, r)
	}))
	e := newEngine(t, srv, dockerinv.WithDetail(1))
	snap, err := e.Snapshot(context.Background(), inventory.Selector{Kind: inventory.KindContainer})
	require.NoError(t, err)
	assert.Equal(t, []string{"container:web-1", "container:batch"}, names(snap.Items), "a container removed since the list is left out")
	assert.Equal(t, 1, most, "at most one inspect at a time")
}

func TestEngineDetailFailure(t *testing.T) {
	srv := fake(t, fixtures, enginetest.WithHandler("GET", "/containers/{ref}/json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"message":"inspect broke"}`))
	}))
	snap, err := newEngine(t, srv, dockerinv.WithDetail(0)).Snapshot(context.Background(), inventory.Selector{})
	require.NoError(t, err)
	assert.Contains(t, snap.Engines[0].Error, "inspect broke")
	assert.Empty(t, snap.Items, "no partial answer from an engine")
}

func TestNewEngineName(t *testing.T) {
	srv := fake(t, fixtures)
	c := fakeClient(t, srv)
	for _, bad := range []string{"", "docker host", "host/1", strings.Repeat("x", 513)} {
		_, err := dockerinv.NewEngine(bad, c)
		assert.ErrorIs(t, err, inventory.ErrInvalid, "%q", bad)
	}
	e, err := dockerinv.NewEngine("docker_host1.example-2@dc", c)
	require.NoError(t, err)
	assert.Equal(t, "docker_host1.example-2@dc", e.Name())
	assert.Equal(t, srv.URL, e.Endpoint())
	assert.Same(t, c, e.Client())
	_, err = dockerinv.NewEngine("h1", nil)
	assert.Error(t, err)
}
