package inventory_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	epA = "tcp://10.0.0.1:2376"
	epB = "tcp://10.0.0.2:2376"
)

func ctr(engine, id, name, state string, attrs map[string]string, labels map[string]string) inventory.Item {
	return inventory.Item{
		Target: inventory.Target{Kind: inventory.KindContainer, ID: id, Name: name, Engine: engine, Labels: labels},
		State:  state, Attrs: attrs,
	}
}

func snap(engines []inventory.Engine, items ...inventory.Item) inventory.Snapshot {
	s := inventory.Snapshot{Taken: time.Unix(1700000000, 0).UTC(), Engines: engines, Items: items}
	s.Sort()
	return s
}

func up(name, ep string) inventory.Engine { return inventory.Engine{Name: name, Endpoint: ep} }

func TestDiffAddedRemovedChanged(t *testing.T) {
	engines := []inventory.Engine{up("h1", epA)}
	old := snap(engines,
		ctr(epA, "aaa", "web", "running", map[string]string{"image": "httpd:2.4", "status": "Up 3 minutes"}, map[string]string{"hinemosAssignScopeId": "web1"}),
		ctr(epA, "bbb", "db", "running", map[string]string{"image": "pg:16", "status": "Up 3 minutes"}, nil),
		ctr(epA, "ccc", "gone", "exited", nil, nil),
	)
	nw := snap(engines,
		// Only the clock moved: not a change.
		ctr(epA, "aaa", "web", "running", map[string]string{"image": "httpd:2.4", "status": "Up 9 minutes"}, map[string]string{"hinemosAssignScopeId": "web1"}),
		// State, status, an attribute and a label changed.
		ctr(epA, "bbb", "db", "exited", map[string]string{"image": "pg:17", "status": "Exited (0) 1 second ago"}, map[string]string{"tier": "data"}),
		ctr(epA, "ddd", "new", "created", nil, nil),
	)
	c := inventory.Diff(old, nw)
	require.Len(t, c.Added, 1)
	assert.Equal(t, "ddd", c.Added[0].Target.ID)
	require.Len(t, c.Removed, 1)
	assert.Equal(t, "ccc", c.Removed[0].Target.ID)
	assert.Zero(t, c.Unknown)
	require.Len(t, c.Changed, 1, "the web container's status text aged, nothing else")
	assert.Equal(t, "bbb", c.Changed[0].New.Target.ID)
	assert.Equal(t, []inventory.FieldChange{
		{Field: "image", Old: "pg:16", New: "pg:17"},
		{Field: "label:tier", Old: "", New: "data"},
		{Field: "state", Old: "running", New: "exited"},
		{Field: "status", Old: "Up 3 minutes", New: "Exited (0) 1 second ago"},
	}, c.Changed[0].Fields)
	assert.False(t, c.Empty())
	assert.True(t, inventory.Diff(nw, nw).Empty(), "a snapshot against itself")
}

func TestDiffStatusAgeOption(t *testing.T) {
	a := snap(nil, ctr(epA, "aaa", "web", "running", map[string]string{"status": "Up 3 minutes"}, nil))
	b := snap(nil, ctr(epA, "aaa", "web", "running", map[string]string{"status": "Up 4 minutes"}, nil))
	assert.True(t, inventory.Diff(a, b).Empty())
	c := inventory.DiffOptions{}.Diff(a, b)
	require.Len(t, c.Changed, 1)
	assert.Equal(t, "status", c.Changed[0].Fields[0].Field)
	assert.True(t, inventory.DiffOptions{Ignore: []string{"status"}}.Diff(a, b).Empty())
}

func TestDiffEngineDownSaysNothing(t *testing.T) {
	old := snap([]inventory.Engine{up("h1", epA), up("h2", epB)},
		ctr(epA, "aaa", "web", "running", nil, nil),
		ctr(epB, "bbb", "db", "running", nil, nil),
	)
	// h2 did not answer: its containers are neither removed nor kept.
	nw := snap([]inventory.Engine{up("h1", epA), {Name: "h2", Endpoint: epB, Error: "connection refused"}},
		ctr(epA, "aaa", "web", "running", nil, nil),
	)
	c := inventory.Diff(old, nw)
	assert.Empty(t, c.Removed)
	assert.Equal(t, 1, c.Unknown)
	assert.True(t, c.Empty())

	// An engine no longer asked at all is treated the same way.
	nw2 := snap([]inventory.Engine{up("h1", epA)}, ctr(epA, "aaa", "web", "running", nil, nil))
	assert.Equal(t, 1, inventory.Diff(old, nw2).Unknown)

	// A hand-built snapshot without engines: everything missing is removed.
	nw3 := snap(nil, ctr(epA, "aaa", "web", "running", nil, nil))
	assert.Len(t, inventory.Diff(old, nw3).Removed, 1)
}

func TestDiffSameIDOnTwoEngines(t *testing.T) {
	// Keys include the engine: one ID on two engines is two items.
	old := snap(nil, ctr(epA, "aaa", "web", "running", nil, nil))
	nw := snap(nil, ctr(epA, "aaa", "web", "running", nil, nil), ctr(epB, "aaa", "web", "running", nil, nil))
	c := inventory.Diff(old, nw)
	require.Len(t, c.Added, 1)
	assert.Equal(t, epB, c.Added[0].Target.Engine)
}

func TestDiffDoesNotShareMaps(t *testing.T) {
	old := snap(nil)
	nw := snap(nil, ctr(epA, "aaa", "web", "running", map[string]string{"image": "x"}, map[string]string{"k": "v"}))
	c := inventory.Diff(old, nw)
	c.Added[0].Attrs["image"] = "changed"
	c.Added[0].Target.Labels["k"] = "changed"
	assert.Equal(t, "x", nw.Items[0].Attrs["image"])
	assert.Equal(t, "v", nw.Items[0].Target.Labels["k"])
}

func TestSnapshotJSONRoundTrip(t *testing.T) {
	s := snap([]inventory.Engine{{Name: "h1", Endpoint: epA, ID: "X:Y", Version: "28.0.1", Took: 12 * time.Millisecond}, {Name: "h2", Endpoint: epB, Error: "timeout"}},
		ctr(epA, "aaa", "web", "running", map[string]string{"ports": "0.0.0.0:8080->80/tcp"}, map[string]string{"a": "b"}),
	)
	b, err := json.Marshal(s)
	require.NoError(t, err)
	var back inventory.Snapshot
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, s, back)
	assert.True(t, inventory.Diff(s, back).Empty())
}

func TestSnapshotHelpers(t *testing.T) {
	s := snap([]inventory.Engine{up("h2", epB), up("h1", epA)},
		ctr(epB, "bbb", "db", "exited", nil, nil),
		ctr(epA, "aaa", "web-1", "running", nil, map[string]string{"tier": "web"}),
		inventory.Item{Target: inventory.Target{Kind: inventory.KindVolume, ID: "data", Name: "data", Engine: epA}},
	)
	assert.Equal(t, "h1", s.Engines[0].Name, "engines sorted by name")
	it, ok := s.Find(inventory.Target{Kind: inventory.KindContainer, ID: "bbb", Engine: epB}.Key())
	require.True(t, ok)
	assert.Equal(t, "db", it.Target.Name)
	_, ok = s.Find("container/nowhere/zzz")
	assert.False(t, ok)
	e, ok := s.Engine("h2")
	require.True(t, ok)
	assert.Equal(t, epB, e.Endpoint)

	got := s.Select(inventory.Selector{Kind: inventory.KindContainer, States: []string{"running"}})
	require.Len(t, got, 1)
	assert.Equal(t, "web-1", got[0].Target.Name)
	assert.Len(t, s.Select(inventory.Selector{Names: []string{"web*"}}), 1)
	assert.Len(t, s.Select(inventory.Selector{}), 3)
	assert.Nil(t, s.Down())
	assert.NoError(t, s.AllDown())
}

func TestSnapshotDown(t *testing.T) {
	s := snap([]inventory.Engine{up("h1", epA), {Name: "h2", Endpoint: epB, Error: "connection refused"}})
	down := s.Down()
	require.Len(t, down, 1)
	var ee *inventory.EngineError
	require.ErrorAs(t, down[0], &ee)
	assert.Equal(t, "engine h2 (tcp://10.0.0.2:2376): connection refused", ee.Error())
	assert.NoError(t, s.AllDown(), "one engine answered")

	all := snap([]inventory.Engine{{Name: "h1", Endpoint: epA, Error: "x"}, {Name: "h2", Endpoint: epB, Error: "y"}})
	err := all.AllDown()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "engine h1")
	assert.Contains(t, err.Error(), "engine h2")
}
