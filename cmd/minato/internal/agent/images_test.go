package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/image"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/internal/imagetest"
	"github.com/minato-ops/minato/internal/registrytest"
	"github.com/minato-ops/minato/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImagesAgent: an agent with images enabled checks its engine's
// containers shortly after start (no notification while they are
// current), notifies a container whose tag moved in the registry as a
// WARNING that says how to update, serves the results on GET
// /api/v1/images, and notifies OK once the tag points at the running image
// again.
func TestImagesAgent(t *testing.T) {
	h := dockertest.New(t)
	reg := registrytest.Start(t, registrytest.Options{})
	old := imagesFirstDelay
	imagesFirstDelay = 0
	t.Cleanup(func() { imagesFirstDelay = old })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	cc, err := container.New(container.Config{Host: h.Host})
	require.NoError(t, err)
	defer cc.Close()
	ic, err := image.New(cc, image.Config{DockerConfig: reg.DockerConfig(t)})
	require.NoError(t, err)
	run := h.RunID()
	ref := fmt.Sprintf("%s/agent-%s/app:1", reg.Addr, run)
	v1 := imagetest.Build(t, h, ref, imagetest.Options{Env: []string{"V=1"}})
	_, err = ic.Push(ctx, ref, image.PushOptions{})
	require.NoError(t, err)
	ctr := h.Run(t, dockertest.RunOptions{Image: ref, Args: []string{"sleep", "forever"}, Labels: map[string]string{"minato.test.images": run}})

	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.jsonl")
	a := startAgent(t, dir, fmt.Sprintf("docker: {host: %q}\nimages: {enabled: true, interval: 1h, labels: {minato.test.images: %q}, registry: {docker_config: %q}}\nnotify: [{jsonl: {path: %q}}]\n",
		h.Host, run, reg.DockerConfig(t), notes))
	require.NotNil(t, a.images)
	eventually(t, 60*time.Second, "the first run ends", func() bool {
		a.images.mu.Lock()
		defer a.images.mu.Unlock()
		return a.images.runs > 0
	})
	srv := httptest.NewServer(a.handler())
	defer srv.Close()
	status := func() string {
		code, body, _ := call(t, srv, "GET", "/api/v1/images", "")
		require.Equal(t, http.StatusOK, code, body)
		var v imagesView
		require.NoError(t, json.Unmarshal([]byte(body), &v), body)
		require.Len(t, v.Engines, 1)
		require.Len(t, v.Engines[0].Containers, 1, body)
		c := v.Engines[0].Containers[0]
		assert.Equal(t, ctr.Name, c.Container)
		return c.Status
	}
	assert.Equal(t, image.StatusCurrent, status())
	assert.Empty(t, readNotes(t, notes), "nothing to say while the container is current")

	// The tag moves in the registry: outdated, notified once with the way
	// to update.
	// (v2 is pushed under another tag and copied over app:1 in the
	// registry, so that the engine's own app:1 stays v1: otherwise the
	// engine would hold the newer image and the finding be stale-local.)
	ref2 := fmt.Sprintf("%s/agent-%s/app:2", reg.Addr, run)
	imagetest.Build(t, h, ref2, imagetest.Options{Env: []string{"V=2"}})
	_, err = ic.Push(ctx, ref2, image.PushOptions{})
	require.NoError(t, err)
	src, err := image.ParseReference(ref2)
	require.NoError(t, err)
	dst, err := image.ParseReference(ref)
	require.NoError(t, err)
	_, err = ic.Copy(ctx, src, dst, image.CopyOptions{})
	require.NoError(t, err)
	a.images.runOnce(ctx)
	assert.Equal(t, image.StatusOutdated, status())
	n := readNotes(t, notes)
	require.Len(t, n, 1)
	assert.Equal(t, ImagesCheck, n[0].Check)
	assert.Equal(t, monitor.Warning, n[0].Status)
	assert.Equal(t, ctr.Name, n[0].Target.Name)
	assert.Contains(t, n[0].Message, "update available")
	assert.Contains(t, n[0].Message, "minato image update "+ctr.Name)
	a.images.runOnce(ctx)
	assert.Len(t, readNotes(t, notes), 1, "an unchanged finding is not notified again")

	// The tag points at the running image again: OK.
	require.NoError(t, ic.Tag(ctx, v1, ref))
	_, err = ic.Push(ctx, ref, image.PushOptions{})
	require.NoError(t, err)
	a.images.runOnce(ctx)
	assert.Equal(t, image.StatusCurrent, status())
	n = readNotes(t, notes)
	require.Len(t, n, 2)
	assert.Equal(t, monitor.OK, n[1].Status)
	assert.True(t, strings.HasPrefix(n[1].Message, "current: "), n[1].Message)
}

// TestImagesConfigValidate: the section's mistakes are named with their
// key path and what is allowed.
func TestImagesConfigValidate(t *testing.T) {
	errs := ImagesConfig{Interval: time.Minute, Tags: "^^1", Registry: image.Config{RegistryBudget: -1}}.validate()
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	joined := strings.Join(msgs, "\n")
	assert.Contains(t, joined, "images.interval: 1m0s: want 5m0s or more")
	assert.Contains(t, joined, "images.tags:")
	assert.Contains(t, joined, "images.registry:")
	assert.Empty(t, ImagesConfig{Interval: time.Hour, Tags: "^1"}.validate())
}

// TestImagesOff: without the section, GET /api/v1/images says how to turn
// it on.
func TestImagesOff(t *testing.T) {
	h := dockertest.New(t)
	dir := t.TempDir()
	a := startAgent(t, dir, fmt.Sprintf("docker: {host: %q}\nevents: {enabled: true}\n", h.Host))
	srv := httptest.NewServer(a.handler())
	defer srv.Close()
	code, body, _ := call(t, srv, "GET", "/api/v1/images", "")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, body, "images: {enabled: true}")
}
