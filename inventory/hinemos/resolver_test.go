package hinemos_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/hinemos"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// estate is two configured engines and a repository synced from them,
// plus nodes of a third host that no engine serves.
type estate struct {
	repo  *inventory.MemRepository
	snaps map[string]*inventory.Snapshot // by host facility ID
	fail  map[string]error
}

func ctrOn(endpoint, id, name, state, label string) inventory.Item {
	it := item(id, name, state, "", label)
	it.Target.Engine = endpoint
	return it
}

func newEstate(t *testing.T) *estate {
	t.Helper()
	ctx := context.Background()
	e := &estate{repo: repoWith(t, "web1"), snaps: map[string]*inventory.Snapshot{}, fail: map[string]error{}}
	require.NoError(t, e.repo.PutScope(ctx, inventory.Scope{FacilityID: "web1a", FacilityName: "web1a", Parent: "web1"}))
	hosts := map[string][]inventory.Item{
		"h1": {
			ctrOn("tcp://10.0.0.1:2375", "a1a1a1a1a1a1", "a", "running", "web1"),
			ctrOn("tcp://10.0.0.1:2375", "b1b1b1b1b1b1", "b", "running", "web1a"),
			ctrOn("tcp://10.0.0.1:2375", "c1c1c1c1c1c1", "c", "running", ""),
			ctrOn("tcp://10.0.0.1:2375", "d1d1d1d1d1d1", "d", "exited", "web1"),
		},
		"h2": {ctrOn("tcp://10.0.0.2:2375", "a2a2a2a2a2a2", "a", "running", "web1")},
		"h3": {ctrOn("tcp://10.0.0.3:2375", "a3a3a3a3a3a3", "a", "running", "web1")},
	}
	for h, items := range hosts {
		s, err := hinemos.New(hinemos.Config{HostFacilityID: h, HostAddress: "10.0.0.1"}, e.repo)
		require.NoError(t, err)
		_, err = s.Sync(ctx, items)
		require.NoError(t, err)
		if h != "h3" {
			e.snaps[h] = &inventory.Snapshot{Items: items}
		}
	}
	return e
}

func (e *estate) engines(h string) (inventory.Resolver, bool) {
	snap, ok := e.snaps[h]
	if !ok {
		return nil, false
	}
	return inventory.AsResolver(inventory.InventoryFunc(func(ctx context.Context, sel inventory.Selector) (inventory.Snapshot, error) {
		if len(sel.Scopes) > 0 {
			return inventory.Snapshot{}, inventory.ErrScopes
		}
		if err := e.fail[h]; err != nil {
			return inventory.Snapshot{}, err
		}
		s := *snap
		s.Sort()
		return s, nil
	})), true
}

func keys(ts []inventory.Target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = strings.TrimPrefix(t.Engine, "tcp://") + "/" + t.Name + "/" + t.ShortID()
	}
	return out
}

func TestResolverSelectsByScope(t *testing.T) {
	ctx := context.Background()
	e := newEstate(t)
	r, err := hinemos.NewResolver(e.repo, e.engines)
	require.NoError(t, err)

	ts, err := r.Resolve(ctx, inventory.Selector{Scopes: []string{"web1"}})
	require.ErrorIs(t, err, hinemos.ErrNoEngine)
	assert.ErrorContains(t, err, "h3 (container nodes h3-a)")
	assert.Equal(t, []string{"10.0.0.1:2375/a/a1a1a1a1a1a1", "10.0.0.1:2375/b/b1b1b1b1b1b1", "10.0.0.1:2375/d/d1d1d1d1d1d1", "10.0.0.2:2375/a/a2a2a2a2a2a2"}, keys(ts),
		"nodes of web1 and of web1a below it, unmanaged ones included, sorted by key; h3's are missing")
	for i := 1; i < len(ts); i++ {
		assert.Less(t, ts[i-1].Key(), ts[i].Key())
	}

	for _, tc := range []struct {
		name string
		sel  inventory.Selector
		want []string
	}{
		{"states", inventory.Selector{Scopes: []string{"web1a", "h1_scope"}, States: []string{"exited"}}, []string{"10.0.0.1:2375/d/d1d1d1d1d1d1"}},
		{"names", inventory.Selector{Scopes: []string{"h1_scope", "h2_scope"}, Names: []string{"a*"}}, []string{"10.0.0.1:2375/a/a1a1a1a1a1a1", "10.0.0.2:2375/a/a2a2a2a2a2a2"}},
		{"two scopes overlapping", inventory.Selector{Kind: inventory.KindContainer, Scopes: []string{"web1a", "h1_scope"}}, []string{"10.0.0.1:2375/a/a1a1a1a1a1a1", "10.0.0.1:2375/b/b1b1b1b1b1b1", "10.0.0.1:2375/c/c1c1c1c1c1c1", "10.0.0.1:2375/d/d1d1d1d1d1d1"}},
		{"host nodes are not containers", inventory.Selector{Scopes: []string{hinemos.ScopeHost}}, []string{}},
		{"empty scope", inventory.Selector{Scopes: []string{"h2_scope"}, IDs: []string{"ffff*"}}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := r.Resolve(ctx, tc.sel)
			require.NoError(t, err)
			assert.Equal(t, tc.want, keys(ts))
		})
	}
}

func TestResolverFollowsTheEngineNotTheNode(t *testing.T) {
	ctx := context.Background()
	e := newEstate(t)
	r, err := hinemos.NewResolver(e.repo, e.engines)
	require.NoError(t, err)
	// a re-created (new ID) and b removed on h1, not synced yet.
	e.snaps["h1"].Items = []inventory.Item{
		ctrOn("tcp://10.0.0.1:2375", "a9a9a9a9a9a9", "a", "running", "web1"),
		ctrOn("tcp://10.0.0.1:2375", "e1e1e1e1e1e1", "e", "running", "web1"),
	}
	ts, err := r.Resolve(ctx, inventory.Selector{Scopes: []string{"h1_scope"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:2375/a/a9a9a9a9a9a9"}, keys(ts), "the node's container by name; e has no node yet")
}

func TestResolverErrors(t *testing.T) {
	ctx := context.Background()
	e := newEstate(t)
	r, err := hinemos.NewResolver(e.repo, e.engines)
	require.NoError(t, err)

	_, err = r.Resolve(ctx, inventory.Selector{Scopes: []string{"web1", "nosuch"}})
	require.ErrorIs(t, err, inventory.ErrNotFound)
	assert.ErrorContains(t, err, "scope nosuch")

	_, err = r.Resolve(ctx, inventory.Selector{Scopes: []string{"bad scope"}})
	require.ErrorIs(t, err, inventory.ErrBadPattern)

	_, err = r.Resolve(ctx, inventory.Selector{Kind: inventory.KindImage, Scopes: []string{"web1"}})
	assert.ErrorContains(t, err, "scopes select containers, not image")

	_, err = r.Resolve(ctx, inventory.Selector{Names: []string{"a"}})
	require.ErrorIs(t, err, hinemos.ErrUnscoped)

	// An engine that fails: the others' Targets and its error, named.
	e.fail["h2"] = errors.New("connection refused")
	ts, err := r.Resolve(ctx, inventory.Selector{Scopes: []string{"h1_scope", "h2_scope"}, Names: []string{"a"}})
	assert.ErrorContains(t, err, "hinemos: engine h2: connection refused")
	assert.Equal(t, []string{"10.0.0.1:2375/a/a1a1a1a1a1a1"}, keys(ts))

	_, err = hinemos.NewResolver(nil, e.engines)
	assert.Error(t, err)
	_, err = hinemos.NewResolver(e.repo, nil)
	assert.Error(t, err)
}

func TestResolverUnscoped(t *testing.T) {
	e := newEstate(t)
	all := inventory.Static(inventory.Target{Kind: inventory.KindContainer, ID: "x", Name: "x"})
	r, err := hinemos.NewResolver(e.repo, e.engines, hinemos.WithUnscoped(all))
	require.NoError(t, err)
	ts, err := r.Resolve(context.Background(), inventory.Selector{})
	require.NoError(t, err)
	assert.Len(t, ts, 1)
	ts, err = r.Resolve(context.Background(), inventory.Selector{Scopes: []string{hinemos.ScopeMap}, Names: []string{"c"}})
	require.ErrorIs(t, err, hinemos.ErrNoEngine, "h3 has no engine")
	assert.Equal(t, []string{"10.0.0.1:2375/c/c1c1c1c1c1c1"}, keys(ts), "docker_map holds every host's scope")
}

// A node created by hand in a scope, with DOCKER_HOST but another ID
// scheme, is matched by its facility name.
func TestResolverNodeWithoutPrefix(t *testing.T) {
	ctx := context.Background()
	e := newEstate(t)
	require.NoError(t, e.repo.PutNode(ctx, inventory.Node{FacilityID: "legacy_c", FacilityName: "c", Variables: map[string]string{hinemos.VarHost: "h1"}}))
	require.NoError(t, e.repo.PutScope(ctx, inventory.Scope{FacilityID: "legacy", FacilityName: "legacy"}))
	require.NoError(t, e.repo.Assign(ctx, "legacy", "legacy_c", "h1"))
	r, err := hinemos.NewResolver(e.repo, e.engines)
	require.NoError(t, err)
	ts, err := r.Resolve(ctx, inventory.Selector{Scopes: []string{"legacy"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:2375/c/c1c1c1c1c1c1"}, keys(ts))
}

func TestResolverOnlyHosts(t *testing.T) {
	ctx := context.Background()
	repo := inventory.NewMemRepository()
	require.NoError(t, repo.PutScope(ctx, inventory.Scope{FacilityID: "web1", FacilityName: "web1"}))
	for _, n := range []struct{ host, name string }{{"h1", "a"}, {"h2", "b"}} {
		id := hinemos.ContainerFacilityID(n.host, n.name)
		require.NoError(t, repo.PutNode(ctx, inventory.Node{FacilityID: id, FacilityName: n.name, Platform: "LINUX", Variables: map[string]string{hinemos.VarHost: n.host}}))
		require.NoError(t, repo.Assign(ctx, "web1", id))
	}
	a := inventory.Target{Kind: inventory.KindContainer, ID: strings.Repeat("a", 64), Name: "a", Engine: "e1"}
	r, err := hinemos.NewResolver(repo, func(host string) (inventory.Resolver, bool) {
		return inventory.Static(a), host == "h1"
	}, hinemos.OnlyHosts("h1"))
	require.NoError(t, err)
	ts, err := r.Resolve(ctx, inventory.Selector{Scopes: []string{"web1"}})
	require.NoError(t, err, "h2's node is not this resolver's business")
	assert.Equal(t, []inventory.Target{a}, ts)
}
