package metering_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/go-connections/nat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/app/metering"
	"github.com/minato-ops/minato/internal/dockertest"
)

// buildMetricsbox builds the fixture server (internal/metricsbox) into a
// FROM scratch image labelled minato.test and removes it at cleanup.
func buildMetricsbox(t *testing.T, h *dockertest.Harness) string {
	t.Helper()
	ctx := t.Context()
	goarch := runtime.GOARCH
	if v, err := h.Client.ServerVersion(ctx); err == nil && v.Arch != "" {
		goarch = v.Arch
	}
	bin := filepath.Join(t.TempDir(), "metricsbox")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./internal/metricsbox")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte("FROM scratch\nCOPY metricsbox /metricsbox\nENTRYPOINT [\"/metricsbox\"]\n")},
		{"metricsbox", 0o755, data},
	} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}))
		_, err := tw.Write(f.data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	ref := "minato-metricsbox:" + h.RunID()
	resp, err := h.Client.ImageBuild(ctx, &buf, build.ImageBuildOptions{Tags: []string{ref}, Remove: true, ForceRemove: true,
		Labels: map[string]string{dockertest.LabelKey: h.RunID()}})
	require.NoError(t, err)
	progress, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = h.Client.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	require.NotContains(t, string(progress), `"error"`, "%s", progress)
	return ref
}

// run starts a metricsbox container with the app's metering labels (and
// the harness's), publishing its port on loopback when publish is set.
func run(t *testing.T, h *dockertest.Harness, img, name, app string, env []string, publish bool) {
	t.Helper()
	ctx := t.Context()
	labels := map[string]string{dockertest.LabelKey: h.RunID(), dockertest.NameLabelKey: t.Name(),
		metering.LabelApp: app, metering.LabelPort: "9100"}
	hc := &dcontainer.HostConfig{}
	cfg := &dcontainer.Config{Image: img, Env: env, Labels: labels, ExposedPorts: nat.PortSet{"9100/tcp": {}}}
	if publish {
		hc.PortBindings = nat.PortMap{"9100/tcp": {{HostIP: "127.0.0.1", HostPort: "0"}}}
	}
	resp, err := h.Client.ContainerCreate(ctx, cfg, hc, nil, nil, name)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = h.Client.ContainerRemove(ctx, resp.ID, dcontainer.RemoveOptions{Force: true, RemoveVolumes: true})
	})
	require.NoError(t, h.Client.ContainerStart(ctx, resp.ID, dcontainer.StartOptions{}))
}

// TestScrapeContainers: containers serving fixed metrics are discovered
// by their labels and scraped, in both formats, through their IP address
// and through published ports; a target down and a slow one are bounded.
func TestScrapeContainers(t *testing.T) {
	h := dockertest.New(t)
	img := buildMetricsbox(t, h)
	c, err := container.New(container.Config{Host: h.Host})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })

	body := `# HELP orders_total Orders.\n# TYPE orders_total counter\norders_total{shop="x"} 42\n`
	id := h.RunID()
	run(t, h, img, "shop-1-"+id, "shop-"+id, []string{"METRICS_BODY=" + body}, true)
	run(t, h, img, "shop-2-"+id, "shop-"+id, []string{"METRICS_BODY=" + body}, true)
	run(t, h, img, "om-1-"+id, "om-"+id, []string{"METRICS_BODY=# TYPE up gauge\\nup 1\\n# EOF\\n", "METRICS_CONTENT_TYPE=application/openmetrics-text; version=1.0.0"}, true)
	run(t, h, img, "slow-1-"+id, "slow-"+id, []string{"METRICS_BODY=up 1\\n", "METRICS_DELAY=1h"}, true)
	run(t, h, img, "down-1-"+id, "down-"+id, []string{"LISTEN=:9200"}, true) // nothing on 9100

	sel := map[string]string{dockertest.LabelKey: id}
	for _, published := range []bool{false, true} {
		t.Run(map[bool]string{false: "ip", true: "published"}[published], func(t *testing.T) {
			var ts []metering.Target
			require.Eventually(t, func() bool {
				ts, err = metering.Discover(t.Context(), c, metering.DiscoverOptions{Published: published, Labels: sel})
				return err == nil && len(ts) == 5
			}, 30*time.Second, 100*time.Millisecond, "discovered %v, %v", ts, err)
			s, err := metering.New(metering.Config{Interval: time.Minute, Timeout: 2 * time.Second, MaxConcurrent: 4})
			require.NoError(t, err)
			require.NoError(t, s.SetTargets(ts))
			// the servers start listening a moment after their containers
			start := time.Now()
			require.Eventually(t, func() bool {
				_ = s.ScrapeAll(t.Context())
				var ok int
				for _, st := range s.Status() {
					if st.Samples > 0 {
						ok++
					}
				}
				return ok == 3
			}, 60*time.Second, 200*time.Millisecond)
			assert.Less(t, time.Since(start), 55*time.Second, "the slow target is bounded by the timeout")
			for _, st := range s.Status() {
				switch st.App {
				case "slow-" + id:
					assert.ErrorIs(t, st.Err, context.DeadlineExceeded, st.Error)
				case "down-" + id:
					assert.Error(t, st.Err, "nothing listens (refused, or EOF through docker-proxy)")
				default:
					assert.NoError(t, st.Err)
				}
			}
			var buf bytes.Buffer
			require.NoError(t, s.Write(&buf, "shop-"+id, metering.FormatPrometheus))
			assert.Equal(t, "# TYPE orders_total counter\n# HELP orders_total Orders.\n"+
				`orders_total{app="shop-`+id+`",container="shop-1-`+id+`",shop="x"} 42`+"\n"+
				`orders_total{app="shop-`+id+`",container="shop-2-`+id+`",shop="x"} 42`+"\n", buf.String())
			buf.Reset()
			require.NoError(t, s.Write(&buf, "", metering.FormatJSON))
			var got map[string][]metering.Family
			require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
			assert.Len(t, got, 4, "four applications")
			assert.Equal(t, []metering.Family{{Name: "up", Type: "gauge", Metrics: []metering.Metric{
				{Labels: map[string]string{"app": "om-" + id, "container": "om-1-" + id}, Value: "1"}}}}, got["om-"+id])
			assert.Empty(t, got["down-"+id])
			if published {
				assert.True(t, strings.HasPrefix(ts[0].URL, "http://127.0.0.1:"), ts[0].URL)
			}
		})
	}
}
