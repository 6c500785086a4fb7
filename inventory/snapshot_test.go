package inventory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAsResolver(t *testing.T) {
	s := snap([]inventory.Engine{up("h1", epA), {Name: "h2", Endpoint: epB, Error: "refused"}},
		ctr(epA, "bbb", "web-2", "exited", nil, nil),
		ctr(epA, "aaa", "web-1", "running", nil, nil),
		inventory.Item{Target: inventory.Target{Kind: inventory.KindNetwork, ID: "n1", Name: "web", Engine: epA}},
	)
	var asked inventory.Selector
	inv := inventory.InventoryFunc(func(ctx context.Context, sel inventory.Selector) (inventory.Snapshot, error) {
		asked = sel
		return s, nil
	})
	r := inventory.AsResolver(inv)
	ts, err := r.Resolve(context.Background(), inventory.Selector{Kind: inventory.KindContainer, Names: []string{"web*"}, States: []string{"running"}})
	require.NoError(t, err, "h2 down but h1 answered")
	require.Len(t, ts, 1)
	assert.Equal(t, "aaa", ts[0].ID)
	assert.Equal(t, []string{"web*"}, asked.Names, "the selector reaches the inventory")

	_, err = r.Resolve(context.Background(), inventory.Selector{IDs: []string{"a*"}, Names: []string{"x"}})
	assert.ErrorIs(t, err, inventory.ErrIDAndName, "validated before asking")

	down := inventory.AsResolver(inventory.InventoryFunc(func(ctx context.Context, sel inventory.Selector) (inventory.Snapshot, error) {
		return snap([]inventory.Engine{{Name: "h1", Endpoint: epA, Error: "refused"}}), nil
	}))
	_, err = down.Resolve(context.Background(), inventory.Selector{})
	var ee *inventory.EngineError
	assert.ErrorAs(t, err, &ee, "every engine down is an error")

	boom := errors.New("boom")
	failing := inventory.AsResolver(inventory.InventoryFunc(func(ctx context.Context, sel inventory.Selector) (inventory.Snapshot, error) {
		return inventory.Snapshot{}, boom
	}))
	_, err = failing.Resolve(context.Background(), inventory.Selector{})
	assert.ErrorIs(t, err, boom)
}

func TestStaticRefusesScopes(t *testing.T) {
	_, err := inventory.Static().Resolve(context.Background(), inventory.Selector{Scopes: []string{"web1"}})
	assert.ErrorIs(t, err, inventory.ErrScopes)
}

func TestSelectorScopes(t *testing.T) {
	s := inventory.Selector{Scopes: []string{"web1", "docker_host1_scope"}}
	require.NoError(t, s.Validate())
	assert.False(t, s.Empty())
	assert.Equal(t, `--scope "web1" --scope "docker_host1_scope"`, s.String())
	err := inventory.Selector{Scopes: []string{"web 1", ""}}.Validate()
	require.Error(t, err)
	assert.ErrorIs(t, err, inventory.ErrBadPattern)
	assert.Contains(t, err.Error(), `"web 1"`)
	assert.Contains(t, err.Error(), "empty facility ID")
}

func TestValidFacilityID(t *testing.T) {
	for _, ok := range []string{"docker_host1", "docker_host1-conteiner_C", "a.b@c", "X"} {
		assert.NoError(t, inventory.ValidFacilityID(ok), ok)
	}
	for _, bad := range []string{"", "docker host1", "ホスト", "a/b", string(make([]byte, 513))} {
		err := inventory.ValidFacilityID(bad)
		assert.ErrorIs(t, err, inventory.ErrInvalid, "%q", bad)
	}
}
