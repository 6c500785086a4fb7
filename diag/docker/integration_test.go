package docker_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/diag"
	"github.com/minato-ops/minato/diag/docker"
	"github.com/minato-ops/minato/internal/dockerdtest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
)

// realEngine connects the harness and a minato client to the local engine.
func realEngine(t *testing.T) (*dockertest.Harness, *container.Client) {
	t.Helper()
	h := dockertest.New(t)
	c, err := container.New(container.Config{Host: h.Host})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return h, c
}

// mine selects the containers of this harness run only.
func mine(h *dockertest.Harness) inventory.Selector {
	return inventory.Selector{Labels: map[string]string{dockertest.LabelKey: h.RunID()}}
}

// create makes a labelled testbox container with the Docker client itself
// (the harness's Run has no port bindings, restart policy or log options),
// starts it when start is set, and removes it when the test ends.
func create(t testing.TB, h *dockertest.Harness, name string, cfg *dcontainer.Config, hc *dcontainer.HostConfig, start bool) string {
	t.Helper()
	if cfg.Image == "" {
		cfg.Image = h.Image(t)
	}
	cfg.Labels = map[string]string{dockertest.LabelKey: h.RunID(), dockertest.NameLabelKey: t.Name()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := h.Client.ContainerCreate(ctx, cfg, hc, nil, nil, name)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Client.ContainerRemove(ctx, resp.ID, dcontainer.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("cleanup: remove %s: %v", name, err)
		}
	})
	if start {
		require.NoError(t, h.Client.ContainerStart(ctx, resp.ID, dcontainer.StartOptions{}))
	}
	return resp.ID
}

func uniqueName(prefix string) string {
	return prefix + "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
}

// freePort returns a TCP port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func runReal(t *testing.T, c *container.Client, o docker.Options, id string) ([]diag.Finding, error) {
	t.Helper()
	o.SkipHost = true
	return runCheck(t, docker.Checks(c, o), id)
}

// TestRealEngineHealthy: the local engine answers, its clock is its host's,
// and the checks answer without errors.
func TestRealEngineHealthy(t *testing.T) {
	h, c := realEngine(t)
	rep := diag.Run(context.Background(), docker.Checks(c, docker.Options{Selector: mine(h)}), diag.RunOptions{})
	for _, r := range rep.Results {
		t.Logf("%s: %d findings %q", r.Check.ID, len(r.Findings), r.Err)
		for _, f := range r.Findings {
			t.Logf("  %s %s %s: %s %v", f.Severity, f.Code, f.Subject, f.Title, f.Evidence)
			assert.NotEmpty(t, f.Remedy, f.Code)
		}
	}
	assert.Empty(t, rep.Errors())
	for _, f := range rep.Findings() {
		assert.NotEqual(t, docker.CodeUnreachable, f.Code)
		if f.Subject.Kind == diag.SubjectEngine && f.Code == "D30" {
			t.Errorf("engine clock skew on a local engine, which shares this machine's clock: %v", f.Evidence)
		}
	}
}

// A running container with no restart policy, memory limit, health check
// or init; and one configured for operation.
func TestRealHygiene(t *testing.T) {
	h, c := realEngine(t)
	bare := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	yes := true
	good := create(t, h, uniqueName("minato-diag-good"), &dcontainer.Config{
		Cmd:         []string{"sleep", "forever"},
		Healthcheck: &dcontainer.HealthConfig{Test: []string{"CMD", "/testbox", "exit", "0"}, Interval: time.Second},
	}, &dcontainer.HostConfig{
		RestartPolicy: dcontainer.RestartPolicy{Name: "unless-stopped"},
		Init:          &yes,
		Resources:     dcontainer.Resources{Memory: 64 << 20},
		LogConfig:     dcontainer.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m"}},
	}, true)
	// (Privileged containers cannot start on every engine, this one's
	// sandbox included: the fixture tests cover --privileged.)
	sock := create(t, h, uniqueName("minato-diag-sock"), &dcontainer.Config{Cmd: []string{"sleep", "forever"}},
		&dcontainer.HostConfig{Binds: []string{"/var/run/docker.sock:/var/run/docker.sock:ro"}}, true)
	h.WaitState(t, bare.ID, "running", 10*time.Second)

	fs, err := runReal(t, c, docker.Options{Selector: mine(h)}, docker.CheckHygiene)
	require.NoError(t, err)
	byID := map[string][]string{}
	for _, f := range fs {
		byID[f.Subject.ID] = append(byID[f.Subject.ID], f.Code)
	}
	assert.Subset(t, byID[bare.ID], []string{docker.CodeNoRestartPolicy, docker.CodeNoMemoryLimit, docker.CodeNoHealthcheck, docker.CodeNoInit})
	assert.Empty(t, byID[good], "restart policy, limit, health check, --init and a log limit")
	assert.Contains(t, byID[sock], docker.CodeDockerSocket, "read-only does not help")

	// The engine merges the daemon's default log options into each
	// container: json-file is bounded here exactly when the daemon says so.
	ins, err := c.Inspect(context.Background(), bare.ID, container.InspectOptions{})
	require.NoError(t, err)
	set, err := ins.Settings()
	require.NoError(t, err)
	unbounded := set.LogDriver == "json-file" && set.LogOptions["max-size"] == ""
	assert.Equal(t, unbounded, slices.Contains(byID[bare.ID], docker.CodeUnboundedLog), "log options %v", set.LogOptions)
}

// Two created containers on the same host port: the finding says the
// second start fails, and the engine then does refuse it.
func TestRealPortConflict(t *testing.T) {
	h, c := realEngine(t)
	port := freePort(t)
	hc := func() *dcontainer.HostConfig {
		return &dcontainer.HostConfig{PortBindings: nat.PortMap{"80/tcp": {{HostIP: "127.0.0.1", HostPort: strconv.Itoa(port)}}}}
	}
	cfg := func() *dcontainer.Config {
		return &dcontainer.Config{Cmd: []string{"sleep", "forever"}, ExposedPorts: nat.PortSet{"80/tcp": {}}}
	}
	a := create(t, h, uniqueName("minato-diag-pa"), cfg(), hc(), false)
	b := create(t, h, uniqueName("minato-diag-pb"), cfg(), hc(), false)

	fs, err := runReal(t, c, docker.Options{Selector: mine(h), ReservedPorts: []int{port}}, docker.CheckPorts)
	require.NoError(t, err)
	got := map[string][]string{}
	for _, f := range fs {
		got[f.Subject.ID] = append(got[f.Subject.ID], f.Code)
	}
	assert.ElementsMatch(t, []string{"D03", "D04"}, got[a])
	assert.ElementsMatch(t, []string{"D03", "D04"}, got[b])
	f, ok := findCode(fs, "", "D04")
	require.True(t, ok)
	assert.Contains(t, f.Detail, "whichever starts second fails")

	ctx := context.Background()
	require.NoError(t, h.Client.ContainerStart(ctx, a, dcontainer.StartOptions{}))
	h.WaitState(t, a, "running", 10*time.Second)
	fs, err = runReal(t, c, docker.Options{Selector: mine(h)}, docker.CheckPorts)
	require.NoError(t, err)
	require.Len(t, fs, 1)
	assert.Equal(t, b, fs[0].Subject.ID)
	assert.Contains(t, fs[0].Detail, "holds it now")
	assert.Contains(t, fs[0].Detail, "port is already allocated")

	err = h.Client.ContainerStart(ctx, b, dcontainer.StartOptions{})
	require.Error(t, err, "the engine refuses the second container, as the finding said")
	assert.Contains(t, err.Error(), "already allocated")
}

// testbox exit 1 under --restart always: a restart loop.
func TestRealRestartLoop(t *testing.T) {
	h, c := realEngine(t)
	id := create(t, h, uniqueName("minato-diag-loop"), &dcontainer.Config{Cmd: []string{"exit", "1"}},
		&dcontainer.HostConfig{RestartPolicy: dcontainer.RestartPolicy{Name: "always"}}, true)
	// The engine's back-off doubles from 100 ms: five restarts take ~3 s.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ins, err := h.Client.ContainerInspect(context.Background(), id)
		require.NoError(t, err)
		if ins.RestartCount >= docker.DefaultRestartLoopRestarts {
			break
		}
		require.True(t, time.Now().Before(deadline), "restart count stuck at %d", ins.RestartCount)
		time.Sleep(100 * time.Millisecond)
	}
	fs, err := runReal(t, c, docker.Options{Selector: mine(h)}, docker.CheckCrashes)
	require.NoError(t, err)
	require.Len(t, fs, 1)
	assert.Equal(t, docker.CodeRestartLoop, fs[0].Code)
	assert.Equal(t, diag.Critical, fs[0].Severity)
	assert.Contains(t, fs[0].Evidence[0], "last exit code 1")
	assert.Contains(t, fs[0].Evidence[1], "restart policy: always")
}

// testbox allocating beyond its --memory limit is OOM-killed.
func TestRealOOMKill(t *testing.T) {
	h, c := realEngine(t)
	info, err := c.SystemInfo(context.Background())
	require.NoError(t, err)
	for _, w := range info.Warnings {
		if strings.Contains(w, "No memory limit support") {
			t.Skip("the engine has no memory limit support")
		}
	}
	ctr := h.Run(t, dockertest.RunOptions{Args: []string{"alloc", "96", "--", "sleep", "forever"}, Memory: 32 << 20})
	h.WaitState(t, ctr.ID, "exited", 30*time.Second)
	fs, err := runReal(t, c, docker.Options{Selector: mine(h)}, docker.CheckCrashes)
	require.NoError(t, err)
	require.Len(t, fs, 1)
	f := fs[0]
	assert.Equal(t, docker.CodeOOMKilled, f.Code)
	assert.Equal(t, diag.Critical, f.Severity)
	assert.Equal(t, ctr.ID, f.Subject.ID)
	assert.Contains(t, f.Evidence, "memory limit: 32.0 MiB")
	assert.Contains(t, f.Evidence[0], "exit code 137")
}

// dnsImage builds, once, the shell test image plus busybox's nslookup: an
// image with a resolver tool, which the plain test images lack.
func dnsImage(t *testing.T, h *dockertest.Harness) string {
	t.Helper()
	base := h.ShellImage(t)
	tag := "minato-testbox-dns:" + strings.TrimPrefix(base[strings.LastIndex(base, ":"):], ":")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := h.Client.ImageInspect(ctx, tag); err == nil {
		return tag
	}
	dockerfile := "FROM " + base + "\nRUN [\"/bin/busybox\", \"ln\", \"-s\", \"busybox\", \"/bin/nslookup\"]\n"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile))}))
	_, err := tw.Write([]byte(dockerfile))
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	resp, err := h.Client.ImageBuild(ctx, &buf, build.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true,
		Labels: map[string]string{dockertest.LabelKey: "image"}})
	require.NoError(t, err)
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		require.Empty(t, m.Error, "build %s", tag)
	}
	return tag
}

// DNS from inside a container on a user network: the embedded DNS answers
// the probe's own name; a name that does not exist is reported; the probe
// leaves nothing behind.
func TestRealDNS(t *testing.T) {
	h, c := realEngine(t)
	img := dnsImage(t, h)
	labels := map[string]string{dockertest.LabelKey: h.RunID()}
	o := docker.Options{ProbeImage: img, ProbeLabels: labels, DNSNames: []string{"no-such-host.invalid"}, DNSTimeout: 30 * time.Second}
	start := time.Now()
	fs, err := runReal(t, c, o, docker.CheckDNS)
	t.Logf("DNS check took %v", time.Since(start))
	require.NoError(t, err)
	for _, f := range fs {
		t.Logf("%s %s: %s %v", f.Severity, f.Code, f.Title, f.Evidence)
	}
	require.NotEmpty(t, fs)
	assert.Equal(t, "Containers cannot resolve no-such-host.invalid", fs[len(fs)-1].Title)
	for _, f := range fs {
		assert.NotEqual(t, "The engine's embedded DNS does not answer container names", f.Title, f.Evidence)
	}

	ctx := context.Background()
	nets, err := h.Client.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", docker.ProbeLabel))})
	require.NoError(t, err)
	for _, n := range nets {
		assert.NotEqual(t, h.RunID(), n.Labels[dockertest.LabelKey], "probe network %s left behind", n.Name)
	}
	ctrs, err := h.Client.ContainerList(ctx, dcontainer.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", dockertest.LabelKey+"="+h.RunID()))})
	require.NoError(t, err)
	assert.Empty(t, ctrs, "probe containers left behind")

	// An image without getent or nslookup: not checked, said honestly.
	fs, err = runReal(t, c, docker.Options{ProbeImage: h.ShellImage(t), ProbeLabels: labels}, docker.CheckDNS)
	require.NoError(t, err)
	require.Len(t, fs, 1)
	assert.Equal(t, docker.CodeDNSNotChecked, fs[0].Code)
	assert.Contains(t, fs[0].Title, "has neither getent nor nslookup")

	// An image the engine does not have: an error, nothing pulled.
	_, err = runReal(t, c, docker.Options{ProbeImage: "minato-no-such-image:1", ProbeLabels: labels}, docker.CheckDNS)
	assert.ErrorContains(t, err, "not present on the engine")
}

// A second engine with an empty daemon configuration: the vfs storage
// driver, and json-file logs without a size limit.
func TestRealSecondEngine(t *testing.T) {
	d := dockerdtest.Get(t)
	r := d.Harness(t)
	ctr := r.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	c, err := container.New(container.Config{Host: d.Host})
	require.NoError(t, err)
	defer c.Close()
	o := docker.Options{Selector: inventory.Selector{Labels: map[string]string{dockertest.LabelKey: r.RunID()}}, SkipHost: true}
	rep := diag.Run(context.Background(), docker.Checks(c, o), diag.RunOptions{})
	assert.Empty(t, rep.Errors())
	fs := rep.Findings()
	for _, f := range fs {
		t.Logf("%s %s %s: %s", f.Severity, f.Code, f.Subject, f.Title)
	}
	f, ok := findCode(fs, "", docker.CodeStorageDriver)
	require.True(t, ok)
	assert.Equal(t, "Storage driver vfs: no copy-on-write", f.Title)
	f, ok = findCode(fs, ctr.Name, docker.CodeUnboundedLog)
	require.True(t, ok, "json-file without max-size")
	assert.Equal(t, ctr.ID, f.Subject.ID)
	assert.Equal(t, d.Host, f.Subject.Engine)
	assert.Equal(t, 1, rep.ExitCode())
}
