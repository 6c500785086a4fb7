package dockerinv_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/go-connections/nat"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockerdtest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	dockerinv "github.com/minato-ops/minato/inventory/docker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	code := dockerdtest.Shared(m)
	if err := removeBenchContainers(); err != nil {
		fmt.Fprintln(os.Stderr, "dockerinv: benchmark cleanup:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// realEngine returns an Engine for the harness's engine.
func realEngine(t *testing.T, name, host string, opts ...dockerinv.Option) *dockerinv.Engine {
	t.Helper()
	c, err := container.New(container.Config{Host: host})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	e, err := dockerinv.NewEngine(name, c, opts...)
	require.NoError(t, err)
	return e
}

// TestSnapshotRealEngine lists labelled containers in three states, a
// network and a volume on the local engine, and checks them against what
// the engine (and, when installed, the docker CLI) says.
func TestSnapshotRealEngine(t *testing.T) {
	h := dockertest.New(t)
	ctx := context.Background()
	run := h.RunID()
	labels := map[string]string{dockertest.LabelKey: run, dockertest.NameLabelKey: t.Name()}

	netName := "minato-test-net-" + run
	netID := h.Network(t, netName)
	volName := "minato-test-vol-" + run
	_, err := h.Client.VolumeCreate(ctx, volume.CreateOptions{Name: volName, Labels: labels})
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Client.VolumeRemove(context.Background(), volName, true) })

	// web: running, one port published on a free loopback port, one only
	// exposed, on the test network, with the test volume.
	webName := "minato-test-web-" + run
	created, err := h.Client.ContainerCreate(ctx,
		&dcontainer.Config{Image: h.Image(t), Cmd: []string{"sleep", "forever"}, Labels: map[string]string{dockertest.LabelKey: run, dockertest.NameLabelKey: t.Name(), "role": "web"},
			ExposedPorts: nat.PortSet{"80/tcp": {}, "443/tcp": {}}},
		&dcontainer.HostConfig{NetworkMode: dcontainer.NetworkMode(netName),
			PortBindings: nat.PortMap{"80/tcp": {{HostIP: "127.0.0.1", HostPort: "0"}}},
			Mounts:       []mount.Mount{{Type: mount.TypeVolume, Source: volName, Target: "/data"}}},
		nil, nil, webName)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = h.Client.ContainerRemove(context.Background(), created.ID, dcontainer.RemoveOptions{Force: true})
	})
	require.NoError(t, h.Client.ContainerStart(ctx, created.ID, dcontainer.StartOptions{}))
	job := h.Run(t, dockertest.RunOptions{Args: []string{"exit", "3"}, Labels: map[string]string{"role": "job"}})
	no := false
	idle := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}, Labels: map[string]string{"role": "idle"}, Start: &no})
	h.WaitState(t, job.ID, "exited", 20*time.Second)
	h.WaitState(t, created.ID, "running", 20*time.Second)

	e := realEngine(t, "local", h.Host, dockerinv.WithDetail(4))
	snap, err := e.Snapshot(ctx, inventory.Selector{Labels: map[string]string{dockertest.LabelKey: run}})
	require.NoError(t, err)
	require.Len(t, snap.Engines, 1)
	eng := snap.Engines[0]
	require.True(t, eng.Up(), eng.Error)
	info, err := h.Client.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, info.ID, eng.ID)
	assert.Equal(t, info.Name, eng.Hostname)
	assert.Equal(t, info.ServerVersion, eng.Version)
	assert.Equal(t, info.OSType, eng.OS)

	byName := map[string]inventory.Item{}
	for _, it := range snap.Items {
		byName[string(it.Target.Kind)+":"+it.Target.Name] = it
		assert.Equal(t, h.Host, it.Target.Engine)
	}
	require.Len(t, snap.Items, 5, "%v", names(snap.Items))

	web := byName["container:"+webName]
	ins, err := h.Client.ContainerInspect(ctx, created.ID)
	require.NoError(t, err)
	hostPort := ins.NetworkSettings.Ports["80/tcp"][0].HostPort
	assert.Equal(t, "running", web.State)
	assert.Equal(t, "443/tcp, 127.0.0.1:"+hostPort+"->80/tcp", web.Attrs["ports"])
	assert.Equal(t, netName, web.Attrs["networks"])
	assert.Equal(t, volName+":/data", web.Attrs["mounts"])
	assert.Equal(t, ins.NetworkSettings.Networks[netName].IPAddress, web.Attrs["ip_address"])
	assert.NotEmpty(t, web.Attrs["ip_address"])
	assert.Equal(t, h.Image(t), web.Attrs["image"])
	assert.Equal(t, ins.Image, web.Attrs["image_id"])
	assert.Equal(t, `/testbox sleep forever`, web.Attrs["command"])
	assert.Equal(t, fmt.Sprint(ins.State.Pid), web.Attrs["pid"])
	assert.True(t, strings.HasPrefix(web.Attrs["status"], "Up "), web.Attrs["status"])
	assert.Equal(t, "web", web.Target.Labels["role"])

	jobItem := byName["container:"+job.Name]
	assert.Equal(t, "exited", jobItem.State)
	assert.Equal(t, "3", jobItem.Attrs["exit_code"])
	assert.NotEmpty(t, jobItem.Attrs["finished_at"])
	assert.Equal(t, "false", jobItem.Attrs["oom_killed"])
	assert.Equal(t, "0", jobItem.Attrs["pid"])

	idleItem := byName["container:"+idle.Name]
	assert.Equal(t, "created", idleItem.State)
	assert.Equal(t, "", idleItem.Attrs["started_at"], "never started")
	assert.Equal(t, "", idleItem.Attrs["ip_address"])

	netItem := byName["network:"+netName]
	assert.Equal(t, netID, netItem.Target.ID)
	assert.Equal(t, "bridge", netItem.Attrs["driver"])
	assert.Equal(t, "local", netItem.Attrs["scope"])
	volItem := byName["volume:"+volName]
	assert.Equal(t, "local", volItem.Attrs["driver"])
	assert.True(t, strings.HasSuffix(volItem.Attrs["mountpoint"], "/"+volName+"/_data"), volItem.Attrs["mountpoint"])

	// The docker CLI, when installed, is an independent oracle for the
	// PORTS and NETWORKS columns.
	if cli, err := exec.LookPath("docker"); err == nil {
		out, err := exec.Command(cli, "-H", h.Host, "ps", "-a", "--filter", "label="+dockertest.LabelKey+"="+run,
			"--format", "{{.Names}}|{{.Ports}}|{{.Networks}}").Output()
		require.NoError(t, err)
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Split(line, "|")
			require.Len(t, f, 3, line)
			it := byName["container:"+f[0]]
			assert.Equal(t, f[1], it.Attrs["ports"], "docker ps PORTS of %s", f[0])
			assert.Equal(t, f[2], it.Attrs["networks"], "docker ps NETWORKS of %s", f[0])
		}
	}

	// Images: the test image carries LabelKey=image.
	imgs, err := e.Snapshot(ctx, inventory.Selector{Kind: inventory.KindImage, Labels: map[string]string{dockertest.LabelKey: "image"}})
	require.NoError(t, err)
	var found bool
	for _, it := range imgs.Items {
		if strings.Contains(it.Attrs["tags"], h.Image(t)) {
			found = true
			assert.NotEqual(t, "0", it.Attrs["size_bytes"])
			assert.NotEmpty(t, it.Attrs["created"])
		}
	}
	assert.True(t, found, "the test image %s is listed", h.Image(t))

	// States select containers only.
	exited, err := e.Snapshot(ctx, inventory.Selector{Labels: map[string]string{dockertest.LabelKey: run}, States: []string{"exited", "created"}})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"container:" + job.Name, "container:" + idle.Name}, names(exited.Items))
}

// TestFleetRealEngines asks the local engine, a second dockerd, an
// unreachable endpoint and a blackholed one together.
func TestFleetRealEngines(t *testing.T) {
	h := dockertest.New(t)
	d := dockerdtest.Get(t)
	r := d.Harness(t)
	mark := map[string]string{"minato.test.fleet": randomHex(6)}
	local := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}, Labels: mark})
	no := false
	second := r.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}, Labels: mark})
	secondIdle := r.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}, Labels: mark, Start: &no})
	down := dockertest.Unreachable(t)
	hole := blackhole(t)

	const timeout = 3 * time.Second
	f := fleet(t, dockerinv.Config{Timeout: timeout, Engines: []dockerinv.EngineConfig{
		{Name: "local", Host: h.Host}, {Name: "second", Host: d.Host}, {Name: "down", Host: down}, {Name: "hole", Host: hole},
	}})
	start := time.Now()
	snap, err := f.Snapshot(context.Background(), inventory.Selector{Kind: inventory.KindContainer, Labels: mark})
	took := time.Since(start)
	require.NoError(t, err)
	assert.Less(t, took, timeout+2*time.Second, "bounded by the per-engine timeout")

	byName := map[string]inventory.Engine{}
	for _, e := range snap.Engines {
		byName[e.Name] = e
	}
	require.Len(t, byName, 4)
	assert.True(t, byName["local"].Up(), byName["local"].Error)
	assert.True(t, byName["second"].Up(), byName["second"].Error)
	assert.Contains(t, byName["down"].Error, "cannot connect to the Docker daemon at "+down)
	assert.Equal(t, "no answer within 3s", byName["hole"].Error)
	t.Logf("local %s: ID %s, took %v; second %s: ID %s, took %v; fleet took %v",
		h.Host, byName["local"].ID, byName["local"].Took, d.Host, byName["second"].ID, byName["second"].Took, took)
	assert.Equal(t, d.ID, byName["second"].ID)

	got := map[string]string{}
	for _, it := range snap.Items {
		got[it.Target.ID] = it.Target.Engine + " " + it.State
	}
	assert.Equal(t, map[string]string{
		local.ID:      h.Host + " running",
		second.ID:     d.Host + " running",
		secondIdle.ID: d.Host + " created",
	}, got)

	// Diff sees nothing removed from the engines that did not answer.
	later, err := f.Snapshot(context.Background(), inventory.Selector{Kind: inventory.KindContainer, Labels: mark})
	require.NoError(t, err)
	assert.True(t, inventory.Diff(snap, later).Empty(), "%+v", inventory.Diff(snap, later))

	ts, err := f.Resolve(context.Background(), inventory.Selector{Labels: mark, States: []string{"running"}})
	require.NoError(t, err)
	assert.Len(t, ts, 2)
}
