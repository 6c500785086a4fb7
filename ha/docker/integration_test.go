package docker_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/docker"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/monitor"
)

// engine connects the harness and a minato client to the real engine.
func engine(t *testing.T) (*dockertest.Harness, *container.Client) {
	t.Helper()
	h := dockertest.New(t)
	c, err := container.New(container.Config{Host: h.Host})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return h, c
}

func uniqueName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "minato-ha-" + hex.EncodeToString(b)
}

// spec is a testbox container labelled for the harness, removed when the
// test ends whoever created it.
func spec(t *testing.T, h *dockertest.Harness, name string, args ...string) *docker.Spec {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := h.Client.ContainerRemove(ctx, name, dcontainer.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("cleanup: remove %s: %v", name, err)
		}
	})
	return &docker.Spec{
		Image:  h.Image(t),
		Cmd:    args,
		Labels: map[string]string{dockertest.LabelKey: h.RunID(), dockertest.NameLabelKey: t.Name()},
	}
}

func inspect(t *testing.T, h *dockertest.Harness, name string) dcontainer.InspectResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ins, err := h.Client.ContainerInspect(ctx, name)
	require.NoError(t, err)
	return ins
}

func resourceErr(t *testing.T, err error) *ha.ResourceError {
	t.Helper()
	var re *ha.ResourceError
	require.ErrorAs(t, err, &re)
	return re
}

func check(t *testing.T, r ha.Resource) monitor.Result {
	t.Helper()
	res, err := r.Check(context.Background(), node)
	require.NoError(t, err)
	return res
}

func when(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return ts
}

func TestRealLifecycle(t *testing.T) {
	h, c := engine(t)
	name := uniqueName(t)
	web, err := docker.New(c, docker.Config{
		Name: name, Group: "g1", Resource: "web",
		Create:     spec(t, h, name, "sleep", "forever"),
		SettleTime: 200 * time.Millisecond, StopGrace: 5 * time.Second,
	})
	require.NoError(t, err)
	ctx := ha.WithEpoch(context.Background(), 5)

	res := check(t, web)
	assert.Equal(t, monitor.Critical, res.Status)
	assert.Equal(t, docker.CodeMissing, res.Code)

	require.NoError(t, web.Activate(ctx, node))
	ins := inspect(t, h, name)
	assert.Equal(t, "running", ins.State.Status)
	assert.Equal(t, "5", ins.Config.Labels[docker.LabelEpoch])
	assert.Equal(t, "g1", ins.Config.Labels[docker.LabelGroup])
	assert.Equal(t, "web", ins.Config.Labels[docker.LabelResource])
	assert.Equal(t, "node1", ins.Config.Labels[docker.LabelNode])
	assert.Contains(t, []string{"", "no"}, string(ins.HostConfig.RestartPolicy.Name), "no engine restart policy")
	require.NotNil(t, ins.Config.StopTimeout)
	assert.Equal(t, 5, *ins.Config.StopTimeout)

	// Activating again changes nothing.
	require.NoError(t, web.Activate(ctx, node))
	again := inspect(t, h, name)
	assert.Equal(t, ins.ID, again.ID)
	assert.Equal(t, ins.State.StartedAt, again.State.StartedAt, "not restarted")

	res = check(t, web)
	assert.Equal(t, monitor.OK, res.Status, res.Message)
	assert.Equal(t, "container "+name+" is running", res.Message)

	require.NoError(t, web.Deactivate(ctx, node))
	assert.Equal(t, "exited", inspect(t, h, name).State.Status)
	require.NoError(t, web.Deactivate(ctx, node), "deactivating an inactive resource")
	res = check(t, web)
	assert.Equal(t, monitor.Critical, res.Status)
	assert.Equal(t, docker.CodeExited, res.Code)
	assert.Contains(t, res.Message, "exited with code 0")

	// A later holder's epoch starts the same container: the label keeps
	// the epoch it was created under.
	require.NoError(t, web.Activate(ha.WithEpoch(context.Background(), 6), node))
	ins = inspect(t, h, name)
	assert.Equal(t, again.ID, ins.ID)
	assert.Equal(t, "running", ins.State.Status)
	assert.Equal(t, "5", ins.Config.Labels[docker.LabelEpoch])

	// An older one from this node (the epochs' scheme changed) starts it
	// too; from another node sharing the engine it is refused, and leaves
	// the container as it is.
	require.NoError(t, web.Activate(ha.WithEpoch(context.Background(), 4), node))
	err = web.Activate(ha.WithEpoch(context.Background(), 4), ha.NodeTarget("other-node"))
	assert.Equal(t, docker.CodeStaleEpoch, resourceErr(t, err).Code)
	assert.Equal(t, "running", inspect(t, h, name).State.Status)
}

func TestRealRemoveOnDeactivate(t *testing.T) {
	h, c := engine(t)
	name := uniqueName(t)
	web, err := docker.New(c, docker.Config{
		Name: name, Create: spec(t, h, name, "sleep", "forever"),
		SettleTime: -1, RemoveOnDeactivate: true, StopGrace: -1,
	})
	require.NoError(t, err)
	require.NoError(t, web.Activate(context.Background(), node))
	first := inspect(t, h, name).ID
	_, has := inspect(t, h, name).Config.Labels[docker.LabelEpoch]
	assert.False(t, has, "no epoch in ctx, no epoch label")

	require.NoError(t, web.Deactivate(context.Background(), node))
	_, err = h.Client.ContainerInspect(context.Background(), name)
	assert.True(t, cerrdefs.IsNotFound(err), "removed: %v", err)
	require.NoError(t, web.Deactivate(context.Background(), node))
	assert.Equal(t, docker.CodeMissing, check(t, web).Code)

	require.NoError(t, web.Activate(context.Background(), node))
	assert.NotEqual(t, first, inspect(t, h, name).ID, "created afresh")
}

func TestRealExitDuringStart(t *testing.T) {
	h, c := engine(t)
	name := uniqueName(t)
	// The default settle time (1 s) catches a container that exits at
	// once, however fast the engine reports it.
	web, err := docker.New(c, docker.Config{Name: name, Create: spec(t, h, name, "exit", "3")})
	require.NoError(t, err)
	err = web.Activate(context.Background(), node)
	re := resourceErr(t, err)
	assert.Equal(t, docker.CodeExited, re.Code)
	assert.Equal(t, "container "+name+" exited with code 3 while it was being started", re.Detail)
	assert.Equal(t, "Activating web resource has failed.(8 : container "+name+" exited with code 3 while it was being started)", ha.ActivateMessage("web", err))

	res := check(t, web)
	assert.Equal(t, monitor.Critical, res.Status)
	assert.Equal(t, docker.CodeExited, res.Code)
	require.NoError(t, web.Deactivate(context.Background(), node))

	// A container that exits after a while, within the settle time.
	name = uniqueName(t)
	web, err = docker.New(c, docker.Config{Name: name, Create: spec(t, h, name, "sleep", "300ms", "--", "exit", "4"), SettleTime: 3 * time.Second})
	require.NoError(t, err)
	assert.Contains(t, resourceErr(t, web.Activate(context.Background(), node)).Detail, "exited with code 4")
}

func TestRealImageMissing(t *testing.T) {
	h, c := engine(t)
	name := uniqueName(t)
	s := spec(t, h, name)
	s.Image = "minato-no-such-image:never"
	web, err := docker.New(c, docker.Config{Name: name, Create: s})
	require.NoError(t, err)
	re := resourceErr(t, web.Activate(context.Background(), node))
	assert.Equal(t, docker.CodeImageMissing, re.Code)
	assert.Contains(t, re.Detail, "image minato-no-such-image:never is not on the engine")
}

// precreate creates (without starting) a container of the shell image
// with a health check, labelled as resource "web" of group "g1".
func precreate(t *testing.T, h *dockertest.Harness, name string, health []string) {
	t.Helper()
	s := spec(t, h, name)
	img := h.ShellImage(t)
	labels := s.Labels
	labels[docker.LabelResource], labels[docker.LabelGroup] = "web", "g1"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := h.Client.ContainerCreate(ctx, &dcontainer.Config{
		Image: img, Cmd: []string{"sleep", "forever"}, Labels: labels,
		Healthcheck: &dcontainer.HealthConfig{Test: health, Interval: 200 * time.Millisecond, Timeout: 5 * time.Second, Retries: 1},
	}, nil, nil, nil, name)
	require.NoError(t, err)
}

func TestRealHealth(t *testing.T) {
	h, c := engine(t)
	name := uniqueName(t)
	precreate(t, h, name, []string{"CMD-SHELL", "! cat /sick >/dev/null 2>&1"})
	web, err := docker.New(c, docker.Config{Name: name, Group: "g1", Resource: "web", Create: &docker.Spec{Image: "unused:1"}, HealthTimeout: 30 * time.Second})
	require.NoError(t, err)

	require.NoError(t, web.Activate(context.Background(), node))
	assert.Equal(t, "healthy", string(inspect(t, h, name).State.Health.Status), "Activate waited for the health check")
	res := check(t, web)
	assert.Equal(t, monitor.OK, res.Status)
	assert.Equal(t, "container "+name+" is running and healthy", res.Message)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := h.RawExec(ctx, inspect(t, h, name).ID, []string{"/testbox", "write", "/sick", "0"})
	require.NoError(t, err)
	require.Equal(t, 0, code)
	require.Eventually(t, func() bool { return check(t, web).Status == monitor.Critical }, 20*time.Second, 100*time.Millisecond)
	res = check(t, web)
	assert.Equal(t, docker.CodeUnhealthy, res.Code)
	assert.Contains(t, res.Message, "health check reports unhealthy")

	// An unhealthy running container fails activation, at once.
	err = web.Activate(context.Background(), node)
	assert.Equal(t, docker.CodeUnhealthy, resourceErr(t, err).Code)
}

func TestRealNeverHealthy(t *testing.T) {
	h, c := engine(t)
	name := uniqueName(t)
	precreate(t, h, name, []string{"CMD", "/testbox", "exit", "1"})
	web, err := docker.New(c, docker.Config{Name: name, Group: "g1", Resource: "web", Create: &docker.Spec{Image: "unused:1"}, HealthTimeout: 30 * time.Second})
	require.NoError(t, err)
	t0 := time.Now()
	err = web.Activate(context.Background(), node)
	assert.Equal(t, docker.CodeUnhealthy, resourceErr(t, err).Code)
	assert.Less(t, time.Since(t0), 20*time.Second, "failed when the engine said unhealthy, not at the timeout")
}

func TestRealExistingAndForeign(t *testing.T) {
	h, c := engine(t)
	start := false
	ctr := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}, Start: &start})

	// Existing: started and stopped, never created, labelled or removed.
	ex, err := docker.New(c, docker.Config{Name: ctr.Name, Existing: true, SettleTime: -1, RemoveOnDeactivate: false})
	require.NoError(t, err)
	require.NoError(t, ex.Activate(ha.WithEpoch(context.Background(), 3), node))
	ins := inspect(t, h, ctr.Name)
	assert.Equal(t, "running", ins.State.Status)
	assert.NotContains(t, ins.Config.Labels, docker.LabelEpoch)
	assert.Equal(t, monitor.OK, check(t, ex).Status)
	require.NoError(t, ex.Deactivate(context.Background(), node))
	assert.Equal(t, "exited", inspect(t, h, ctr.Name).State.Status)

	missing, err := docker.New(c, docker.Config{Name: uniqueName(t), Existing: true})
	require.NoError(t, err)
	assert.Equal(t, docker.CodeMissing, resourceErr(t, missing.Activate(context.Background(), node)).Code)

	// The same container is foreign to a resource that creates its own.
	require.NoError(t, ex.Activate(context.Background(), node))
	own, err := docker.New(c, docker.Config{Name: ctr.Name, Create: &docker.Spec{Image: h.Image(t)}})
	require.NoError(t, err)
	assert.Equal(t, docker.CodeForeign, resourceErr(t, own.Activate(context.Background(), node)).Code)
	require.NoError(t, own.Deactivate(context.Background(), node))
	assert.Equal(t, "running", inspect(t, h, ctr.Name).State.Status, "a foreign container is left alone")
	assert.Equal(t, docker.CodeForeign, check(t, own).Code)
}

func TestRealUnreachableEngine(t *testing.T) {
	c, err := container.New(container.Config{Host: dockertest.Unreachable(t), Timeout: 5 * time.Second})
	require.NoError(t, err)
	defer c.Close()
	web, err := docker.New(c, docker.Config{Name: "web", Create: &docker.Spec{Image: "app:1"}})
	require.NoError(t, err)

	_, err = web.Check(context.Background(), node)
	require.Error(t, err, "an engine that cannot be asked is an error, not a verdict")
	assert.ErrorIs(t, err, container.ErrUnreachable)
	assert.Equal(t, ha.CodeFailed, resourceErr(t, err).Code)

	for name, err := range map[string]error{
		"activate":   web.Activate(context.Background(), node),
		"deactivate": web.Deactivate(context.Background(), node),
	} {
		assert.ErrorIs(t, err, container.ErrUnreachable, name)
		assert.Equal(t, ha.CodeFailed, resourceErr(t, err).Code, name)
	}
}

func TestRealSet(t *testing.T) {
	h, c := engine(t)
	a, b := uniqueName(t), uniqueName(t)
	ra, err := docker.New(c, docker.Config{Name: a, Create: spec(t, h, a, "sleep", "forever"), SettleTime: 200 * time.Millisecond, StopGrace: 5 * time.Second})
	require.NoError(t, err)
	rb, err := docker.New(c, docker.Config{Name: b, Create: spec(t, h, b, "sleep", "forever"), SettleTime: 200 * time.Millisecond, StopGrace: 5 * time.Second})
	require.NoError(t, err)
	set, err := docker.NewSet(ra, rb)
	require.NoError(t, err)

	require.NoError(t, set.Activate(context.Background(), node))
	ia, ib := inspect(t, h, a), inspect(t, h, b)
	assert.True(t, when(t, ia.State.StartedAt).Before(when(t, ib.State.StartedAt)), "activated in order")
	res := check(t, set)
	assert.Equal(t, monitor.OK, res.Status)
	assert.Equal(t, "2 containers running", res.Message)

	require.NoError(t, set.Deactivate(context.Background(), node))
	ia, ib = inspect(t, h, a), inspect(t, h, b)
	assert.True(t, when(t, ib.State.FinishedAt).Before(when(t, ia.State.FinishedAt)), "deactivated in reverse")
	res = check(t, set)
	assert.Equal(t, monitor.Critical, res.Status)
	assert.Equal(t, docker.CodeExited, res.Code)

	// A member that fails rolls back those before it.
	bad := uniqueName(t)
	rbad, err := docker.New(c, docker.Config{Name: bad, Create: spec(t, h, bad, "exit", "2"), SettleTime: 2 * time.Second})
	require.NoError(t, err)
	set, err = docker.NewSet(ra, rbad)
	require.NoError(t, err)
	err = set.Activate(context.Background(), node)
	re := resourceErr(t, err)
	assert.Equal(t, docker.CodeExited, re.Code)
	assert.Contains(t, re.Detail, bad)
	assert.Equal(t, "exited", inspect(t, h, a).State.Status, "the first member was rolled back")
}
