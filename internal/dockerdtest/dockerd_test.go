package dockerdtest_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/minato-ops/minato/internal/dockerdtest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { os.Exit(dockerdtest.Shared(m)) }

func TestSharedDaemon(t *testing.T) {
	_, bridgeBefore := net.InterfaceByName("docker0")
	d := dockerdtest.Get(t)
	assert.Same(t, d, dockerdtest.Get(t), "one daemon per test binary")
	require.True(t, strings.HasPrefix(d.Host, "unix://"+d.Dir+"/"), d.Host)
	assert.Less(t, len(strings.TrimPrefix(d.Host, "unix://")), 100, "socket path fits sun_path")

	ctx := context.Background()
	info, err := d.Client.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, "vfs", info.Driver)
	assert.Equal(t, filepath.Join(d.Dir, "data"), info.DockerRootDir, "its own data root, not the machine's")
	assert.Equal(t, d.ID, info.ID)

	if bridgeBefore == nil {
		_, err := net.InterfaceByName("docker0")
		assert.NoError(t, err, "the host's docker0 survives a second daemon started with --bridge=none")
	}

	h := d.Harness(t)
	c := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}, Labels: map[string]string{"role": "probe"}})
	h.WaitState(t, c.ID, "running", 20*time.Second)
	list, err := d.Client.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", dockertest.LabelKey+"="+h.RunID()))})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, c.ID, list[0].ID)
	assert.Equal(t, d.Image, list[0].Image, "the test image was built on the second daemon")
}

// The local engine and the second daemon are different engines that may
// report the same Info ID (Docker 20.10 and older derive it from the
// machine's /etc/docker/key.json).
func TestSecondDaemonIsAnotherEngine(t *testing.T) {
	h := dockertest.New(t)
	d := dockerdtest.Get(t)
	ctx := context.Background()
	local, err := h.Client.Info(ctx)
	require.NoError(t, err)
	second, err := d.Client.Info(ctx)
	require.NoError(t, err)
	t.Logf("local engine %s: ID %s, root %s; second daemon %s: ID %s, root %s", h.Host, local.ID, local.DockerRootDir, d.Host, second.ID, second.DockerRootDir)
	assert.NotEqual(t, local.DockerRootDir, second.DockerRootDir)

	lc := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	_, err = d.Client.ContainerInspect(ctx, lc.ID)
	assert.True(t, cerrdefs.IsNotFound(err), "a local container is unknown to the second daemon: %v", err)
}

// Start gives a test a daemon of its own, which its cleanup stops and
// removes, running containers included.
func TestStartAndStop(t *testing.T) {
	var d *dockerdtest.Daemon
	var pid string
	t.Run("daemon", func(t *testing.T) {
		d = dockerdtest.Start(t)
		b, err := os.ReadFile(filepath.Join(d.Dir, "docker.pid"))
		require.NoError(t, err)
		pid = strings.TrimSpace(string(b))
		ctx := context.Background()
		// Left running on purpose: Stop must remove it.
		c, err := d.Client.ContainerCreate(ctx, &container.Config{Image: d.Image, Cmd: []string{"sleep", "forever"}, Labels: map[string]string{dockertest.LabelKey: "stop-test"}}, nil, nil, nil, "")
		require.NoError(t, err)
		require.NoError(t, d.Client.ContainerStart(ctx, c.ID, container.StartOptions{}))
	})
	if d == nil {
		t.Skip("no daemon could be started (see the subtest)")
	}
	_, err := os.Stat(d.Dir)
	assert.True(t, os.IsNotExist(err), "directory removed: %v", err)
	_, err = os.Stat(filepath.Join("/proc", pid))
	assert.True(t, os.IsNotExist(err), "dockerd %s gone", pid)
	assert.NoError(t, d.Stop(), "Stop again returns the first result")
	_, err = d.Client.Ping(context.Background())
	assert.Error(t, err, "stopped")
}
