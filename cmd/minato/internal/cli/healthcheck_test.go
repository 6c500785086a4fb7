package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/internal/dockertest"
)

func runHC(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runHealthcheck(t.Context(), args, Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	return code, out.String(), errb.String()
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, map[bool]string{true: "ok: up 3s\n", false: "unhealthy: the Docker engine does not answer (see the agent's log)\n"}[status == http.StatusOK])
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	_, port, _ := net.SplitHostPort(u.Host)

	code, out, _ := runHC(t, map[string]string{"MINATO_LISTEN": "0.0.0.0:" + port})
	assert.Equal(t, 0, code)
	assert.Equal(t, "ok: up 3s\n", out)
	status = http.StatusServiceUnavailable
	code, _, errs := runHC(t, map[string]string{"MINATO_LISTEN": "127.0.0.1:" + port})
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "503 Service Unavailable: unhealthy: the Docker engine does not answer")
	code, _, errs = runHC(t, nil, "--url", "http://"+dockertest.Unreachable(t)[len("tcp://"):]+"/healthz")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "connection refused")
	code, _, errs = runHC(t, map[string]string{"MINATO_LISTEN": "9464"})
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, `MINATO_LISTEN="9464": want HOST:PORT such as 0.0.0.0:9464`)

	for listen, want := range map[string]string{"": "http://127.0.0.1:9464/healthz", "[::]:80": "http://[::1]:80/healthz", ":80": "http://127.0.0.1:80/healthz", "10.0.0.1:80": "http://10.0.0.1:80/healthz"} {
		got, err := healthzURL(func(k string) string { return map[string]string{"MINATO_LISTEN": listen}[k] })
		require.NoError(t, err)
		assert.Equal(t, want, got, listen)
	}
	got, _ := healthzURL(func(k string) string { return map[string]string{"MINATO_TLS_CERT_FILE": "/c.pem"}[k] })
	assert.Equal(t, "https://127.0.0.1:9464/healthz", got)
}

// TestContainerImage builds minato's image from the repository's
// Dockerfile (the binary built here with CGO_ENABLED=0), runs the agent in
// it against the host's engine socket on the host network, waits for the
// image's HEALTHCHECK to report healthy and reads /api/v1/status through
// it; a bad MINATO_* value makes the container exit 1 naming it.
func TestContainerImage(t *testing.T) {
	if code, _, errs := run(t, "", "healthcheck", "-h"); code != 0 {
		t.Skipf("the healthcheck command is not wired into Main yet (WIRING.md): %s", errs)
	}
	h := dockertest.New(t)
	if !strings.HasPrefix(h.Host, "unix://") {
		t.Skipf("the engine is %s: the test mounts its unix socket", h.Host)
	}
	ctx := t.Context()
	ref := buildMinatoImage(t, h)
	socket := strings.TrimPrefix(h.Host, "unix://")

	start := func(name string, env ...string) string {
		t.Helper()
		cfg := &dcontainer.Config{Image: ref, Env: env, Labels: map[string]string{dockertest.LabelKey: h.RunID(), dockertest.NameLabelKey: t.Name()},
			Healthcheck: &dcontainer.HealthConfig{Interval: time.Second, StartPeriod: 30 * time.Second}} // the image's test, probed every second
		hc := &dcontainer.HostConfig{NetworkMode: "host", Binds: []string{socket + ":/var/run/docker.sock"}}
		resp, err := h.Client.ContainerCreate(ctx, cfg, hc, nil, nil, name)
		require.NoError(t, err)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = h.Client.ContainerRemove(ctx, resp.ID, dcontainer.RemoveOptions{Force: true, RemoveVolumes: true})
		})
		require.NoError(t, h.Client.ContainerStart(ctx, resp.ID, dcontainer.StartOptions{}))
		return resp.ID
	}
	logs := func(id string) string {
		rc, err := h.Client.ContainerLogs(ctx, id, dcontainer.LogsOptions{ShowStdout: true, ShowStderr: true})
		require.NoError(t, err)
		defer rc.Close()
		var out bytes.Buffer
		_, _ = stdcopy.StdCopy(&out, &out, rc)
		return out.String()
	}

	t.Run("healthy", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close()
		id := start("minato-agent-"+h.RunID(), "MINATO_LISTEN="+addr, "MINATO_INTERVAL=5s")
		var last string
		require.Eventually(t, func() bool {
			info, err := h.Client.ContainerInspect(ctx, id)
			if err != nil || info.State == nil || info.State.Health == nil {
				return false
			}
			last = info.State.Health.Status
			return last == "healthy"
		}, 90*time.Second, 250*time.Millisecond, "health %q; logs:\n%s", last, logs(id))
		resp, err := http.Get("http://" + addr + "/api/v1/status")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		assert.Contains(t, string(body), `"status"`)
	})
	t.Run("bad env", func(t *testing.T) {
		id := start("minato-agent-bad-"+h.RunID(), "MINATO_INTERVAL=ten", "MINATO_LISTEN=127.0.0.1:1")
		h.WaitState(t, id, "exited", 60*time.Second)
		info, err := h.Client.ContainerInspect(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, 1, info.State.ExitCode)
		assert.Contains(t, logs(id), `MINATO_INTERVAL="ten": want a Go duration of at least 1s`)
	})
}

// buildMinatoImage builds ./cmd/minato (static) and the repository's
// Dockerfile into a labelled image, removed at cleanup.
func buildMinatoImage(t *testing.T, h *dockertest.Harness) string {
	t.Helper()
	ctx := t.Context()
	root, err := filepath.Abs("../../../..")
	require.NoError(t, err)
	goarch := runtime.GOARCH
	if v, err := h.Client.ServerVersion(ctx); err == nil && v.Arch != "" {
		goarch = v.Arch
	}
	bin := filepath.Join(t.TempDir(), "minato")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/minato")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	binary, err := os.ReadFile(bin)
	require.NoError(t, err)
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		certs = nil // the image works without them; only TLS to public CAs needs them
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, dockerfile}, {"minato", 0o755, binary}, {"ca-certificates.crt", 0o644, certs}} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}))
		_, err := tw.Write(f.data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	ref := "minato-agent-test:" + h.RunID()
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
