package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	dcontainer "github.com/docker/docker/api/types/container"
	dimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// updEnv is one update test's engine: the harness, an image Client, and a
// repository unique to the test for the images it builds.
type updEnv struct {
	h    *dockertest.Harness
	c    *Client
	repo string
	base string
}

const updTestTimeout = 3 * time.Minute

func updRand() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newUpdEnv(t *testing.T) *updEnv {
	t.Helper()
	h := dockertest.New(t)
	cc, err := container.New(container.Config{Host: h.Host})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	c, err := New(cc, Config{})
	require.NoError(t, err)
	return &updEnv{h: h, c: c, repo: "minato-upd-test-" + updRand(), base: h.Image(t)}
}

func (e *updEnv) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), updTestTimeout)
	t.Cleanup(cancel)
	return ctx
}

// build builds FROM the testbox image with the given Dockerfile lines,
// tags it e.repo:tag and returns the image ID. The image is removed in a
// cleanup (registered before any container, so it runs after theirs).
func (e *updEnv) build(t *testing.T, tag string, lines ...string) string {
	t.Helper()
	ref := e.repo + ":" + tag
	df := "FROM " + e.base + "\n" + strings.Join(lines, "\n") + "\nLABEL minato.test.build=" + ref + "\n"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df)), ModTime: time.Unix(0, 0)}))
	_, err := tw.Write([]byte(df))
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	ctx := e.ctx(t)
	resp, err := e.h.Client.ImageBuild(ctx, &buf, build.ImageBuildOptions{
		Tags: []string{ref}, Remove: true, ForceRemove: true, Dockerfile: "Dockerfile",
		Labels: map[string]string{dockertest.LabelKey: "update"},
	})
	require.NoError(t, err)
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NotContains(t, string(out), `"error"`, "build %s:\n%s", ref, out)
	ins, err := e.h.Client.ImageInspect(ctx, ref)
	require.NoError(t, err, "build %s:\n%s", ref, out)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = e.h.Client.ImageRemove(ctx, ins.ID, dimage.RemoveOptions{Force: true, PruneChildren: true})
	})
	return ins.ID
}

// run creates and starts a labelled container from ref, with edit
// applied to its config; the cleanup removes whatever then holds its name
// or its PrevSuffix name.
func (e *updEnv) run(t *testing.T, ref string, edit func(*dcontainer.Config, *dcontainer.HostConfig)) (name, id string) {
	t.Helper()
	return e.runNamed(t, "minato-upd-"+updRand(), ref, edit)
}

// runNamed is run with a given name.
func (e *updEnv) runNamed(t *testing.T, name, ref string, edit func(*dcontainer.Config, *dcontainer.HostConfig)) (string, string) {
	t.Helper()
	cfg := &dcontainer.Config{Image: ref, Labels: map[string]string{dockertest.LabelKey: e.h.RunID(), dockertest.NameLabelKey: t.Name()}}
	host := &dcontainer.HostConfig{}
	if edit != nil {
		edit(cfg, host)
	}
	ctx := e.ctx(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, n := range []string{name, name + PrevSuffix} {
			err := e.h.Client.ContainerRemove(ctx, n, dcontainer.RemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !cerrdefs.IsNotFound(err) {
				t.Errorf("cleanup: remove %s: %v", n, err)
			}
		}
	})
	resp, err := e.h.Client.ContainerCreate(ctx, cfg, host, nil, nil, name)
	require.NoError(t, err)
	require.NoError(t, e.h.Client.ContainerStart(ctx, resp.ID, dcontainer.StartOptions{}))
	return name, resp.ID
}

func (e *updEnv) inspect(t *testing.T, id string) dcontainer.InspectResponse {
	t.Helper()
	ins, err := e.h.Client.ContainerInspect(e.ctx(t), id)
	require.NoError(t, err)
	return ins
}

func (e *updEnv) gone(t *testing.T, id string) {
	t.Helper()
	_, err := e.h.Client.ContainerInspect(e.ctx(t), id)
	assert.True(t, cerrdefs.IsNotFound(err), "container %.12s should be gone, inspect: %v", id, err)
}

// updEvents collects progress events.
type updEvents struct {
	mu  sync.Mutex
	all []UpdateEvent
}

func (ev *updEvents) add(e UpdateEvent) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.all = append(ev.all, e)
}

func (ev *updEvents) index(container, phase string) int {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for i, e := range ev.all {
		if e.Container == container && e.Phase == phase {
			return i
		}
	}
	return -1
}

func updEnvOf(ins dcontainer.InspectResponse) map[string]string { return updEnvMap(ins.Config.Env) }

const (
	healthyCheck   = `HEALTHCHECK --interval=1s --timeout=5s --retries=2 CMD ["/testbox", "exit", "0"]`
	unhealthyCheck = `HEALTHCHECK --interval=1s --timeout=5s --retries=1 CMD ["/testbox", "eprint", "database", "unreachable", "--", "exit", "1"]`
	sleepCmd       = `CMD ["sleep", "forever"]`
)

// (a) A healthy new image rolls forward: same tag, newer content.
func TestUpdateRollsForward(t *testing.T) {
	t.Parallel()
	e := newUpdEnv(t)
	v1 := e.build(t, "v1", "ENV A=1", sleepCmd, healthyCheck)
	v2 := e.build(t, "next", "ENV A=2", sleepCmd, healthyCheck, "LABEL release=2")
	require.NotEqual(t, v1, v2)
	name, oldID := e.run(t, e.repo+":v1", func(c *dcontainer.Config, h *dcontainer.HostConfig) {
		c.Env = []string{"X=keep"}
		c.ExposedPorts = nat.PortSet{"8080/tcp": {}}
		h.PortBindings = nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: ""}}}
		h.RestartPolicy = dcontainer.RestartPolicy{Name: dcontainer.RestartPolicyUnlessStopped}
	})
	before := e.inspect(t, oldID)
	// The tag moves to new content, as a pull of a re-pushed :v1 would.
	require.NoError(t, e.h.Client.ImageTag(e.ctx(t), e.repo+":next", e.repo+":v1"))

	var ev updEvents
	res, err := e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{name}, Progress: ev.add, Gate: GateOptions{Timeout: 60 * time.Second}})
	require.NoError(t, err)
	require.Len(t, res.Containers, 1)
	u := res.Containers[0]
	assert.Equal(t, OutcomeUpdated, u.Outcome, "gate: %s", u.Gate)
	assert.Equal(t, name, u.Name)
	assert.Equal(t, oldID, u.OldID)
	assert.Equal(t, v1, u.OldImage)
	assert.Equal(t, v2, u.NewImage)
	assert.True(t, strings.HasPrefix(u.Gate, "healthy after "), u.Gate)

	now := e.inspect(t, name)
	assert.Equal(t, u.NewID, now.ID)
	assert.Equal(t, v2, now.Image)
	assert.True(t, now.State.Running)
	assert.Equal(t, "keep", updEnvOf(now)["X"], "explicit env kept")
	assert.Equal(t, "2", updEnvOf(now)["A"], "image env follows")
	assert.Equal(t, "2", now.Config.Labels["release"])
	assert.Equal(t, before.HostConfig.PortBindings, now.HostConfig.PortBindings)
	assert.Equal(t, before.HostConfig.RestartPolicy, now.HostConfig.RestartPolicy)
	assert.NotEqual(t, before.Config.Hostname, now.Config.Hostname, "default hostname is the new short ID")
	assert.Equal(t, now.ID[:12], now.Config.Hostname)
	in, err := parseIntentLabel(now.Config.Labels[IntentLabel])
	require.NoError(t, err)
	assert.Equal(t, []string{"X"}, in.Env)
	e.gone(t, oldID)
	_, err = e.h.Client.ContainerInspect(e.ctx(t), name+PrevSuffix)
	assert.True(t, cerrdefs.IsNotFound(err))
	for _, p := range []string{PhaseStop, PhaseCreate, PhaseStart, PhaseGate, PhaseRemoveOld, PhaseDone} {
		assert.GreaterOrEqual(t, ev.index(name, p), 0, "event %s", p)
	}
	assert.Less(t, ev.index(name, PhaseGate), ev.index(name, PhaseRemoveOld), "the old container is removed only after the gate")

	// A second run finds nothing to do.
	res, err = e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{name}})
	require.NoError(t, err)
	assert.Equal(t, OutcomeUnchanged, res.Containers[0].Outcome)
}

// (b) A new image whose healthcheck fails is rolled back: the old
// container runs again, on the old image, with an identical config.
func TestUpdateRollsBackUnhealthy(t *testing.T) {
	t.Parallel()
	e := newUpdEnv(t)
	v1 := e.build(t, "v1", sleepCmd, healthyCheck)
	e.build(t, "v2", sleepCmd, unhealthyCheck)
	name, oldID := e.run(t, e.repo+":v1", func(c *dcontainer.Config, h *dcontainer.HostConfig) {
		c.Env = []string{"TOKEN=s3cret"}
		h.PortBindings = nat.PortMap{"9000/tcp": {{HostIP: "127.0.0.1"}}}
	})
	e.h.WaitState(t, oldID, "running", 30*time.Second)
	before := e.inspect(t, oldID)

	var ev updEvents
	res, err := e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{name}, Image: e.repo + ":v2", Progress: ev.add, Gate: GateOptions{Timeout: 60 * time.Second}})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrGateFailed)
	u := res.Containers[0]
	assert.Equal(t, OutcomeRolledBack, u.Outcome, "err: %v", u.Err)
	assert.True(t, strings.HasPrefix(u.Gate, "unhealthy: database unreachable"), u.Gate)
	assert.Empty(t, u.NewID)
	assert.GreaterOrEqual(t, ev.index(name, PhaseRollback), 0)
	assert.NotContains(t, fmt.Sprint(ev.all, u.Changes, err), "s3cret", "no secret in events, changes or errors")

	after := e.inspect(t, name)
	assert.Equal(t, oldID, after.ID)
	assert.Equal(t, v1, after.Image)
	assert.True(t, after.State.Running)
	assert.Equal(t, before.Config, after.Config)
	assert.Equal(t, before.HostConfig, after.HostConfig)
	assert.Equal(t, before.Name, after.Name)
	_, err = e.h.Client.ContainerInspect(e.ctx(t), name+PrevSuffix)
	assert.True(t, cerrdefs.IsNotFound(err))
}

// (c) An explicit value is kept, an inherited one follows; the recorded
// intent keeps a value explicit once a later image's default equals it.
func TestUpdateKeepsExplicitIntent(t *testing.T) {
	t.Parallel()
	e := newUpdEnv(t)
	e.build(t, "v1", "ENV A=1 B=1", sleepCmd)
	e.build(t, "v2", "ENV A=3 B=3", sleepCmd)
	e.build(t, "v3", "ENV A=2 B=4", sleepCmd)
	name, _ := e.run(t, e.repo+":v1", func(c *dcontainer.Config, _ *dcontainer.HostConfig) { c.Env = []string{"A=2"} })
	gate := GateOptions{Timeout: 30 * time.Second, StableFor: time.Second}

	res, err := e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{name}, Image: e.repo + ":v2", Gate: gate})
	require.NoError(t, err)
	require.Equal(t, OutcomeUpdated, res.Containers[0].Outcome)
	ins := e.inspect(t, name)
	assert.Equal(t, "2", updEnvOf(ins)["A"], "explicit kept")
	assert.Equal(t, "3", updEnvOf(ins)["B"], "inherited follows")
	assert.Equal(t, e.repo+":v2", ins.Config.Image)
	in, err := parseIntentLabel(ins.Config.Labels[IntentLabel])
	require.NoError(t, err)
	assert.Equal(t, []string{"A"}, in.Env)
	assert.NotContains(t, ins.Config.Labels[IntentLabel], "=")

	res, err = e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{name}, Image: e.repo + ":v3", Gate: gate})
	require.NoError(t, err)
	require.Equal(t, OutcomeUpdated, res.Containers[0].Outcome)
	src, ok := changeOf(res.Containers[0].Changes, "Intent")
	require.True(t, ok)
	assert.Equal(t, "label "+IntentLabel, src.Old)
	ins = e.inspect(t, name)
	assert.Equal(t, "2", updEnvOf(ins)["A"])
	assert.Equal(t, "4", updEnvOf(ins)["B"])
	in, err = parseIntentLabel(ins.Config.Labels[IntentLabel])
	require.NoError(t, err)
	assert.Equal(t, []string{"A"}, in.Env, "A=2 equals v3's default but stays explicit")
}

// (d) A dry run changes nothing and lists the changes.
func TestUpdateDryRun(t *testing.T) {
	t.Parallel()
	e := newUpdEnv(t)
	v1 := e.build(t, "v1", "ENV A=1 B=1", sleepCmd)
	v2 := e.build(t, "v2", "ENV A=3 B=3", `CMD ["sleep", "1h"]`)
	name, oldID := e.run(t, e.repo+":v1", func(c *dcontainer.Config, _ *dcontainer.HostConfig) { c.Env = []string{"A=2"} })
	before := e.inspect(t, oldID)

	res, err := e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{name}, Image: e.repo + ":v2", DryRun: true, Pull: true})
	require.NoError(t, err)
	u := res.Containers[0]
	assert.Equal(t, OutcomeWouldUpdate, u.Outcome)
	assert.Equal(t, v1, u.OldImage)
	assert.Equal(t, v2, u.NewImage)
	assert.Empty(t, u.NewID)
	fields := map[string]Change{}
	for _, c := range u.Changes {
		fields[c.Field] = c
	}
	assert.Equal(t, v2, fields["Image"].New)
	assert.Equal(t, Change{Field: "Env[B]", Old: "1", New: "3", Why: "image default: follows the new image"}, fields["Env[B]"])
	assert.Equal(t, changeHidden, fields["Env[A]"].New)
	assert.Equal(t, `["sleep","1h"]`, fields["Cmd"].New)
	assert.Contains(t, fields, "Intent")

	after := e.inspect(t, name)
	assert.Equal(t, oldID, after.ID)
	assert.Equal(t, before.State.StartedAt, after.State.StartedAt)
	assert.Equal(t, before.Config, after.Config)

	// Unchanged image: nothing to do, in a dry run too.
	res, err = e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{name}, DryRun: true})
	require.NoError(t, err)
	assert.Equal(t, OutcomeUnchanged, res.Containers[0].Outcome)
}

// (e) A pre hook exiting 75 skips the update; another code skips it with
// an error.
func TestUpdatePreHookSkips(t *testing.T) {
	t.Parallel()
	e := newUpdEnv(t)
	e.build(t, "v1", sleepCmd)
	e.build(t, "v2", sleepCmd, "LABEL v=2")
	name, oldID := e.run(t, e.repo+":v1", nil)
	e.h.WaitState(t, oldID, "running", 30*time.Second)

	res, err := e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{name}, Image: e.repo + ":v2", PreHook: []string{"/testbox", "exit", "75"}})
	require.NoError(t, err)
	assert.Equal(t, OutcomeSkipped, res.Containers[0].Outcome)
	assert.NoError(t, res.Containers[0].Err)

	res, err = e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{name}, Image: e.repo + ":v2", PreHook: []string{"/testbox", "eprint", "busy", "--", "exit", "3"}})
	require.Error(t, err)
	assert.Equal(t, OutcomeSkipped, res.Containers[0].Outcome)
	assert.Contains(t, err.Error(), "exited with code 3: busy")
	assert.Equal(t, oldID, e.inspect(t, name).ID)
}

// (f) Dependencies are updated first; (g) a cycle is refused.
func TestUpdateDependencyOrder(t *testing.T) {
	t.Parallel()
	e := newUpdEnv(t)
	e.build(t, "v1", sleepCmd)
	e.build(t, "v2", sleepCmd, "LABEL v=2")
	b, _ := e.run(t, e.repo+":v1", nil)
	a, _ := e.run(t, e.repo+":v1", func(c *dcontainer.Config, _ *dcontainer.HostConfig) { c.Labels[DependsOnLabel] = b })

	var ev updEvents
	res, err := e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{a, b}, Image: e.repo + ":v2", Progress: ev.add,
		Gate: GateOptions{Timeout: 30 * time.Second, StableFor: time.Second}})
	require.NoError(t, err)
	assert.Equal(t, []string{a, b}, []string{res.Containers[0].Name, res.Containers[1].Name}, "results in the order given")
	assert.Equal(t, OutcomeUpdated, res.Containers[0].Outcome)
	assert.Equal(t, OutcomeUpdated, res.Containers[1].Outcome)
	assert.Less(t, ev.index(b, PhaseDone), ev.index(a, PhaseCreate), "b is done before a starts")
}

func TestUpdateRefusesCycle(t *testing.T) {
	t.Parallel()
	e := newUpdEnv(t)
	e.build(t, "v1", sleepCmd)
	e.build(t, "v2", sleepCmd, "LABEL v=2")
	a, b := "minato-upd-"+updRand(), "minato-upd-"+updRand()
	_, aID := e.runNamed(t, a, e.repo+":v1", func(c *dcontainer.Config, _ *dcontainer.HostConfig) { c.Labels[DependsOnLabel] = b })
	_, bID := e.runNamed(t, b, e.repo+":v1", func(c *dcontainer.Config, _ *dcontainer.HostConfig) { c.Labels[DependsOnLabel] = a })

	res, err := e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{a, b}, Image: e.repo + ":v2"})
	require.ErrorIs(t, err, ErrDependencyCycle)
	assert.Empty(t, res.Containers)
	assert.True(t, strings.Contains(err.Error(), a+" -> "+b+" -> "+a) || strings.Contains(err.Error(), b+" -> "+a+" -> "+b), err.Error())
	assert.Equal(t, aID, e.inspect(t, a).ID)
	assert.Equal(t, bID, e.inspect(t, b).ID)
}

// (h) A container without healthcheck whose new image exits at once fails
// the gate and is rolled back; a dependent is then skipped.
func TestUpdateRollsBackExit(t *testing.T) {
	t.Parallel()
	e := newUpdEnv(t)
	v1 := e.build(t, "v1", sleepCmd)
	e.build(t, "v2", `CMD ["exit", "3"]`)
	name, oldID := e.run(t, e.repo+":v1", nil)
	dep, depID := e.run(t, e.repo+":v1", func(c *dcontainer.Config, _ *dcontainer.HostConfig) { c.Labels[DependsOnLabel] = name })
	before := e.inspect(t, oldID)

	res, err := e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{dep, name}, Image: e.repo + ":v2", Gate: GateOptions{Timeout: 30 * time.Second}})
	require.Error(t, err)
	u := res.Containers[1]
	assert.Equal(t, OutcomeRolledBack, u.Outcome, "err: %v", u.Err)
	assert.Equal(t, "exited with code 3", u.Gate)
	assert.ErrorIs(t, u.Err, ErrGateFailed)
	d := res.Containers[0]
	assert.Equal(t, OutcomeSkipped, d.Outcome)
	require.Error(t, d.Err)
	assert.Contains(t, d.Err.Error(), "dependency "+name+" was rolled-back (exited with code 3)")

	after := e.inspect(t, name)
	assert.Equal(t, oldID, after.ID)
	assert.Equal(t, v1, after.Image)
	assert.True(t, after.State.Running)
	assert.Equal(t, before.Config, after.Config)
	assert.Equal(t, before.HostConfig, after.HostConfig)
	assert.Equal(t, depID, e.inspect(t, dep).ID)
}

// Batches: two independent containers recreated and gated together; an
// unknown container is reported, not fatal to the others.
func TestUpdateBatch(t *testing.T) {
	t.Parallel()
	e := newUpdEnv(t)
	e.build(t, "v1", sleepCmd)
	v2 := e.build(t, "v2", sleepCmd, "LABEL v=2")
	a, _ := e.run(t, e.repo+":v1", nil)
	b, _ := e.run(t, e.repo+":v1", nil)
	missing := "minato-upd-missing-" + updRand()

	var ev updEvents
	res, err := e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{a, missing, b, a}, Image: e.repo + ":v2", BatchSize: 2, Progress: ev.add,
		Gate: GateOptions{Timeout: 30 * time.Second, StableFor: 2 * time.Second}})
	require.Error(t, err)
	assert.True(t, cerrdefs.IsNotFound(errors.Unwrap(res.Containers[1].Err)) || strings.Contains(err.Error(), missing))
	require.Len(t, res.Containers, 3, "the duplicate is dropped")
	for _, i := range []int{0, 2} {
		assert.Equal(t, OutcomeUpdated, res.Containers[i].Outcome)
		assert.Equal(t, v2, e.inspect(t, res.Containers[i].Name).Image)
	}
	// Both were created before either was gated.
	assert.Less(t, ev.index(a, PhaseStart), ev.index(b, PhaseDone))
	assert.Less(t, ev.index(b, PhaseStart), ev.index(a, PhaseDone))
	assert.True(t, slices.ContainsFunc(ev.all, func(u UpdateEvent) bool {
		return u.Phase == PhaseGate && strings.HasPrefix(u.Message, "passed: running for")
	}))
}

// Networks (first at create, the others connected; user aliases kept, the
// engine's short-ID alias not), anonymous volumes carried over by name, an
// exec probe as the gate.
func TestUpdateKeepsNetworksAndVolumes(t *testing.T) {
	t.Parallel()
	e := newUpdEnv(t)
	e.build(t, "v1", "VOLUME /data", sleepCmd)
	e.build(t, "v2", "VOLUME /data", sleepCmd, "LABEL v=2")
	net1, net2 := "minato-upd-net-"+updRand(), "minato-upd-net-"+updRand()
	e.h.Network(t, net1)
	e.h.Network(t, net2)
	name, oldID := e.run(t, e.repo+":v1", func(c *dcontainer.Config, h *dcontainer.HostConfig) {
		c.Cmd = []string{"write", "/data/f", "1", "--", "sleep", "forever"}
		h.NetworkMode = dcontainer.NetworkMode(net1)
	})
	ctx := e.ctx(t)
	require.NoError(t, e.h.Client.NetworkConnect(ctx, net2, oldID, &network.EndpointSettings{Aliases: []string{"svc-b"}}))
	before := e.inspect(t, oldID)
	var vol string
	for _, m := range before.Mounts {
		if m.Destination == "/data" {
			vol = m.Name
		}
	}
	require.NotEmpty(t, vol)
	t.Cleanup(func() {
		// The volume outlives its containers (it is mounted by name into
		// the new one): remove them first.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, n := range []string{name, name + PrevSuffix} {
			_ = e.h.Client.ContainerRemove(ctx, n, dcontainer.RemoveOptions{Force: true})
		}
		if err := e.h.Client.VolumeRemove(ctx, vol, true); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("cleanup: remove volume %s: %v", vol, err)
		}
	})

	res, err := e.c.Update(ctx, UpdateOptions{Containers: []string{name}, Image: e.repo + ":v2",
		Gate: GateOptions{Timeout: 30 * time.Second, Probe: &Probe{Exec: []string{"/testbox", "exit", "0"}}}})
	require.NoError(t, err)
	u := res.Containers[0]
	require.Equal(t, OutcomeUpdated, u.Outcome, "err %v", u.Err)
	assert.True(t, strings.HasPrefix(u.Gate, "probe passed after"), u.Gate)
	m, ok := changeOf(u.Changes, "Mounts[/data]")
	require.True(t, ok)
	assert.Equal(t, vol, m.New)

	now := e.inspect(t, name)
	assert.Equal(t, dcontainer.NetworkMode(net1), now.HostConfig.NetworkMode)
	require.Contains(t, now.NetworkSettings.Networks, net1)
	require.Contains(t, now.NetworkSettings.Networks, net2)
	assert.Contains(t, now.NetworkSettings.Networks[net2].Aliases, "svc-b")
	assert.NotContains(t, now.NetworkSettings.Networks[net2].Aliases, oldID[:12])
	var got string
	for _, m := range now.Mounts {
		if m.Destination == "/data" {
			got = m.Name
		}
	}
	assert.Equal(t, vol, got, "the anonymous volume is carried over")
	assert.Equal(t, []string(before.Config.Cmd), []string(now.Config.Cmd), "explicit Cmd kept")
}

// Cancelling ctx during the gate rolls back.
func TestUpdateCancelRollsBack(t *testing.T) {
	t.Parallel()
	e := newUpdEnv(t)
	v1 := e.build(t, "v1", sleepCmd)
	// A healthcheck that stays "starting" for a long time.
	e.build(t, "v2", sleepCmd, `HEALTHCHECK --interval=1h CMD ["/testbox", "exit", "0"]`)
	name, oldID := e.run(t, e.repo+":v1", nil)

	ctx, cancel := context.WithCancel(e.ctx(t))
	defer cancel()
	res, err := e.c.Update(ctx, UpdateOptions{Containers: []string{name}, Image: e.repo + ":v2", Progress: func(ev UpdateEvent) {
		if ev.Phase == PhaseGate {
			cancel()
		}
	}})
	require.Error(t, err)
	u := res.Containers[0]
	assert.Equal(t, OutcomeRolledBack, u.Outcome, "err %v", u.Err)
	assert.True(t, strings.HasPrefix(u.Gate, "cancelled"), u.Gate)
	after := e.inspect(t, name)
	assert.Equal(t, oldID, after.ID)
	assert.Equal(t, v1, after.Image)
	assert.True(t, after.State.Running)
}

// The hooks' labels give `sh -c` defaults; a post hook failure keeps the
// update and reports it.
func TestUpdateHookLabels(t *testing.T) {
	t.Parallel()
	e := newUpdEnv(t)
	e.base = e.h.ShellImage(t)
	e.build(t, "v1", sleepCmd)
	e.build(t, "v2", sleepCmd, "LABEL v=2")
	skip, skipID := e.run(t, e.repo+":v1", func(c *dcontainer.Config, _ *dcontainer.HostConfig) {
		c.Labels[PreHookLabel] = "test -e /etc/hostname && exit 75"
	})
	post, _ := e.run(t, e.repo+":v1", func(c *dcontainer.Config, _ *dcontainer.HostConfig) {
		c.Labels[PostHookLabel] = "echo post ran; exit 4"
	})
	e.h.WaitState(t, skipID, "running", 30*time.Second)

	res, err := e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{skip, post}, Image: e.repo + ":v2",
		Gate: GateOptions{Timeout: 30 * time.Second, StableFor: time.Second}})
	require.Error(t, err)
	assert.Equal(t, OutcomeSkipped, res.Containers[0].Outcome)
	assert.NoError(t, res.Containers[0].Err)
	assert.Equal(t, skipID, e.inspect(t, skip).ID)
	assert.Equal(t, OutcomeUpdated, res.Containers[1].Outcome)
	require.Error(t, res.Containers[1].Err)
	assert.Contains(t, res.Containers[1].Err.Error(), "sh exited with code 4: post ran")
}

// Network probes: a TCP probe passes on a listening port; an HTTP probe
// on a port that never answers HTTP times out and rolls back.
func TestUpdateProbes(t *testing.T) {
	t.Parallel()
	e := newUpdEnv(t)
	e.build(t, "v1", `CMD ["listen", ":8080"]`)
	e.build(t, "v2", `CMD ["listen", ":8080"]`, "LABEL v=2")
	name, oldID := e.run(t, e.repo+":v1", nil)

	res, err := e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{name}, Image: e.repo + ":v2",
		Gate: GateOptions{Timeout: 30 * time.Second, StableFor: time.Second, Probe: &Probe{TCP: 8080}}})
	require.NoError(t, err)
	require.Equal(t, OutcomeUpdated, res.Containers[0].Outcome)
	assert.True(t, strings.HasPrefix(res.Containers[0].Gate, "probe passed after"), res.Containers[0].Gate)
	e.gone(t, oldID)

	cur := e.inspect(t, name)
	res, err = e.c.Update(e.ctx(t), UpdateOptions{Containers: []string{name}, Image: e.repo + ":v1",
		Gate: GateOptions{Timeout: 4 * time.Second, StableFor: time.Second, Probe: &Probe{HTTP: "8080/healthz"}}})
	require.ErrorIs(t, err, ErrGateFailed)
	u := res.Containers[0]
	assert.Equal(t, OutcomeRolledBack, u.Outcome)
	assert.True(t, strings.HasPrefix(u.Gate, "timeout after 4s: last probe: http http://"), u.Gate)
	assert.Equal(t, cur.ID, e.inspect(t, name).ID)
}
