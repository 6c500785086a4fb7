package hinemos_test

import (
	"context"
	"strings"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/hinemos"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRealEngine keeps a repository in step with labelled containers on
// the real engine through their life: run, stop, remove, rename,
// re-create; then selects them by scope.
func TestRealEngine(t *testing.T) {
	t.Parallel()
	h := dockertest.New(t)
	c := clienttest.New(t, h)
	ctx := context.Background()
	hostID := "minato_test_" + h.RunID()
	prefix := "mh-" + h.RunID() + "-"
	fid := func(name string) string { return hinemos.ContainerFacilityID(hostID, prefix+name) }
	repo := repoWith(t, "web1", "web2")
	var log strings.Builder
	s, err := hinemos.New(hinemos.Config{HostFacilityID: hostID, HostAddress: "127.0.0.1"}, repo, hinemos.WithLog(&log))
	require.NoError(t, err)

	// The containers of this test, as an inventory source would list them.
	items := func() []inventory.Item {
		t.Helper()
		res, err := c.List(ctx, container.ListOptions{All: true, Labels: map[string]string{dockertest.LabelKey: h.RunID()}})
		require.NoError(t, err)
		var out []inventory.Item
		for _, sm := range res.Containers {
			out = append(out, inventory.Item{
				Target: sm.Target(c.Host()),
				State:  string(sm.State),
				Attrs: map[string]string{
					inventory.AttrImage: sm.Image, inventory.AttrCommand: sm.Command,
					inventory.AttrStatus: sm.Status, inventory.AttrPorts: container.FormatPorts(sm.Ports),
				},
			})
		}
		return out
	}
	sleep := []string{"sleep", "forever"}
	a := h.Run(t, dockertest.RunOptions{Name: prefix + "a", Args: sleep, Labels: map[string]string{hinemos.LabelAssignScope: "web1, nosuch"}})
	b := h.Run(t, dockertest.RunOptions{Name: prefix + "b", Args: sleep, Labels: map[string]string{hinemos.LabelAssignScope: "web1,web2"}})
	cc := h.Run(t, dockertest.RunOptions{Name: prefix + "c", Args: sleep})
	h.Run(t, dockertest.RunOptions{Name: prefix + "new", Args: sleep, Start: new(bool)})
	for _, x := range []dockertest.Container{a, b, cc} {
		h.WaitState(t, x.ID, "running", 20*time.Second)
	}

	// First sync: every container becomes a node.
	rep, err := s.Sync(ctx, items())
	require.NoError(t, err, log.String())
	assert.ElementsMatch(t, []string{hostID, fid("a"), fid("b"), fid("c"), fid("new")}, rep.Created)
	assert.Equal(t, []hinemos.Assignment{{Scope: "nosuch", Node: fid("a")}}, rep.MissingScopes)
	na := node(t, repo, fid("a"))
	assert.True(t, na.Managed)
	assert.Equal(t, a.ID[:12], na.NodeName)
	assert.Equal(t, map[string]string{
		hinemos.VarContainerID: a.ID[:12], hinemos.VarStatus: "running", hinemos.VarHost: hostID,
		hinemos.VarImage: h.Image(t), hinemos.VarCommand: "/testbox sleep forever",
	}, na.Variables)
	nn := node(t, repo, fid("new"))
	assert.False(t, nn.Managed, "a created container is not managed")
	assert.Equal(t, "created", nn.Variables[hinemos.VarStatus])
	assert.Equal(t, []string{fid("a"), fid("b")}, membersOf(t, repo, "web1"))
	assert.Equal(t, []string{fid("b")}, membersOf(t, repo, "web2"))
	assert.Len(t, membersOf(t, repo, hinemos.HostScopeID(hostID)), 4)

	// a stops: Update turns its node off.
	require.NoError(t, h.Client.ContainerStop(ctx, a.ID, dcontainer.StopOptions{Timeout: new(int)}))
	h.WaitState(t, a.ID, "exited", 20*time.Second)
	log.Reset()
	rep, err = s.Update(ctx, items())
	require.NoError(t, err)
	assert.Equal(t, []string{fid("a")}, rep.Updated)
	assert.Contains(t, log.String(), "  "+fid("a")+"\n   running -> exited\n")
	na = node(t, repo, fid("a"))
	assert.False(t, na.Managed)
	assert.Equal(t, "exited", na.Variables[hinemos.VarStatus])

	// b is removed: Delete removes its node and its assignments.
	require.NoError(t, h.Client.ContainerRemove(ctx, b.ID, dcontainer.RemoveOptions{Force: true}))
	rep, err = s.Delete(ctx, items())
	require.NoError(t, err)
	assert.Equal(t, []string{fid("b")}, rep.Deleted)
	assert.Empty(t, membersOf(t, repo, "web2"))

	// c is renamed: its old node goes and a new one comes (a rename is a
	// delete and an add: assignments made by hand to the old node are lost).
	require.NoError(t, h.Client.ContainerRename(ctx, cc.ID, prefix+"c2"))
	rep, err = s.Sync(ctx, items())
	require.NoError(t, err)
	assert.Equal(t, []string{fid("c2")}, rep.Created)
	assert.Equal(t, []string{fid("c")}, rep.Deleted)
	assert.Equal(t, cc.ID[:12], node(t, repo, fid("c2")).NodeName)

	// a is re-created under its name: Update gives the node the new ID.
	require.NoError(t, h.Client.ContainerRemove(ctx, a.ID, dcontainer.RemoveOptions{Force: true}))
	a2 := h.Run(t, dockertest.RunOptions{Name: prefix + "a", Args: sleep, Labels: map[string]string{hinemos.LabelAssignScope: "web1, nosuch"}})
	h.WaitState(t, a2.ID, "running", 20*time.Second)
	log.Reset()
	rep, err = s.Sync(ctx, items())
	require.NoError(t, err)
	assert.Empty(t, rep.Created)
	assert.Empty(t, rep.Deleted)
	assert.Equal(t, []string{fid("a")}, rep.Updated)
	assert.Contains(t, log.String(), "   exited -> running\n   DOCKER_CONTAINER_ID: "+a.ID[:12]+" -> "+a2.ID[:12]+"\n")
	na = node(t, repo, fid("a"))
	assert.True(t, na.Managed)
	assert.Equal(t, a2.ID[:12], na.HostName)

	// Scopes as targets, resolved on the engine.
	r, err := hinemos.NewResolver(repo, func(host string) (inventory.Resolver, bool) { return c, host == hostID })
	require.NoError(t, err)
	ts, err := r.Resolve(ctx, inventory.Selector{Scopes: []string{"web1"}})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	assert.Equal(t, a2.ID, ts[0].ID)
	ts, err = r.Resolve(ctx, inventory.Selector{Scopes: []string{hinemos.HostScopeID(hostID)}, States: []string{"created"}})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	assert.Equal(t, prefix+"new", ts[0].Name)
}
