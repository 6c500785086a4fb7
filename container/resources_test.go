package container_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// answer returns a handler that writes body as the engine's JSON answer.
func answer(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

func TestListImages(t *testing.T) {
	c, srv := newFake(t, "", enginetest.WithHandler("GET", "/images/json", answer(`[
	  {"Id": "sha256:aaa", "RepoTags": ["web:2", "web:1"], "RepoDigests": ["web@sha256:d1"], "Created": 1735732800,
	   "Size": 2550000, "Containers": -1, "Labels": {"app": "web"}},
	  {"Id": "sha256:bbb", "RepoTags": ["<none>:<none>"], "RepoDigests": ["<none>@<none>"], "Created": 1735729200, "Size": 10, "Containers": 2}
	]`)))
	res, err := c.ListImages(context.Background(), container.ListImagesOptions{Labels: map[string]string{"app": "web", "tier": ""}})
	require.NoError(t, err)
	assert.Equal(t, []container.Image{
		{ID: "sha256:aaa", Tags: []string{"web:1", "web:2"}, Digests: []string{"web@sha256:d1"}, Created: time.Unix(1735732800, 0), Size: 2550000, Containers: -1, Labels: map[string]string{"app": "web"}},
		{ID: "sha256:bbb", Created: time.Unix(1735729200, 0), Size: 10, Containers: 2},
	}, res.Images, "tags sorted, <none> dropped")
	q := only(t, srv, "GET", "/images/json").Query
	assert.False(t, q.Has("all"), "top-level images only")
	assert.Equal(t, map[string]map[string]bool{"label": {"app=web": true, "tier": true}}, filtersOf(t, q))
}

func TestListNetworks(t *testing.T) {
	c, srv := newFake(t, "", enginetest.WithHandler("GET", "/networks", answer(`[
	  {"Name": "web-net", "Id": "n1", "Created": "2026-01-02T03:04:05.123456789Z", "Scope": "local", "Driver": "bridge",
	   "Internal": true, "Labels": {"app": "web"}},
	  {"Name": "host", "Id": "n2", "Created": "0001-01-01T00:00:00Z", "Scope": "local", "Driver": "host"}
	]`)))
	res, err := c.ListNetworks(context.Background(), container.ListNetworksOptions{Labels: map[string]string{"app": "web"}})
	require.NoError(t, err)
	require.Len(t, res.Networks, 2)
	assert.Equal(t, container.Network{ID: "n1", Name: "web-net", Driver: "bridge", Scope: "local", Internal: true,
		Created: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC), Labels: map[string]string{"app": "web"}}, res.Networks[0])
	assert.True(t, res.Networks[1].Created.IsZero(), "the engine's year-1 time means unknown")
	assert.Equal(t, map[string]map[string]bool{"label": {"app=web": true}}, filtersOf(t, only(t, srv, "GET", "/networks").Query))
}

func TestListVolumes(t *testing.T) {
	c, srv := newFake(t, "", enginetest.WithHandler("GET", "/volumes", answer(`{
	  "Volumes": [
	    {"Name": "pgdata", "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/pgdata/_data", "Scope": "local",
	     "CreatedAt": "2026-01-02T03:04:05Z", "Labels": {"app": "db"}},
	    null,
	    {"Name": "cache", "Driver": "local", "Mountpoint": "/m", "Scope": "local"}
	  ],
	  "Warnings": ["driver nfs did not answer"]
	}`)))
	res, err := c.ListVolumes(context.Background(), container.ListVolumesOptions{})
	require.NoError(t, err)
	assert.Equal(t, []container.Volume{
		{Name: "pgdata", Driver: "local", Mountpoint: "/var/lib/docker/volumes/pgdata/_data", Scope: "local",
			Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Labels: map[string]string{"app": "db"}},
		{Name: "cache", Driver: "local", Mountpoint: "/m", Scope: "local"},
	}, res.Volumes)
	assert.Equal(t, []string{"driver nfs did not answer"}, res.Warnings)
	assert.False(t, only(t, srv, "GET", "/volumes").Query.Has("filters"), "no labels, no filter")
}

func TestListResourcesErrors(t *testing.T) {
	c, _ := newFake(t, "", enginetest.WithHandler("GET", "/volumes", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"message":"volume store is broken"}`)
	}))
	_, err := c.ListVolumes(context.Background(), container.ListVolumesOptions{})
	assert.ErrorContains(t, err, "list volumes: ")
	assert.ErrorContains(t, err, "volume store is broken")

	down, err := container.New(container.Config{Host: "unix:///nonexistent/minato.sock"})
	require.NoError(t, err)
	defer down.Close()
	_, err = down.ListImages(context.Background(), container.ListImagesOptions{})
	assert.ErrorIs(t, err, container.ErrUnreachable)
	_, err = down.ListNetworks(context.Background(), container.ListNetworksOptions{})
	assert.ErrorIs(t, err, container.ErrUnreachable)
}
