package inventory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	idA = "b66e046560f3aaaa0000000000000000000000000000000000000000000000aa"
	idB = "1eae26f41927bbbb0000000000000000000000000000000000000000000000bb"
	idC = "0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc"
)

var (
	tA = inventory.Target{Kind: inventory.KindContainer, ID: idA, Name: "conteiner_A", Labels: map[string]string{"tier": "web", "hinemosAssignScopeId": "S1"}}
	tB = inventory.Target{Kind: inventory.KindContainer, ID: idB, Name: "/conteiner_B", Labels: map[string]string{"tier": "db"}}
	tC = inventory.Target{Kind: inventory.KindContainer, ID: idC, Name: "other"}
)

func TestSelectorMatch(t *testing.T) {
	cases := []struct {
		name string
		sel  inventory.Selector
		want []inventory.Target
	}{
		{"zero matches all", inventory.Selector{}, []inventory.Target{tA, tB, tC}},
		{"name prefix", inventory.Selector{Names: []string{"conteiner*"}}, []inventory.Target{tA, tB}},
		{"name exact ignores docker slash", inventory.Selector{Names: []string{"conteiner_B"}}, []inventory.Target{tB}},
		{"pattern slash ignored", inventory.Selector{Names: []string{"/conteiner_A"}}, []inventory.Target{tA}},
		{"name exact is not prefix", inventory.Selector{Names: []string{"conteiner"}}, nil},
		{"lone star", inventory.Selector{Names: []string{"*"}}, []inventory.Target{tA, tB, tC}},
		{"short id exact", inventory.Selector{IDs: []string{"b66e046560f3"}}, []inventory.Target{tA}},
		{"short id upper case", inventory.Selector{IDs: []string{"B66E046560F3"}}, []inventory.Target{tA}},
		{"full id exact", inventory.Selector{IDs: []string{idB}}, []inventory.Target{tB}},
		{"partial id without star is not a match", inventory.Selector{IDs: []string{"b66e04"}}, nil},
		{"id prefix", inventory.Selector{IDs: []string{"b66e*"}}, []inventory.Target{tA}},
		{"ids are ORed", inventory.Selector{IDs: []string{"b66e*", "0e0d*"}}, []inventory.Target{tA, tC}},
		{"label value", inventory.Selector{Labels: map[string]string{"tier": "db"}}, []inventory.Target{tB}},
		{"label presence", inventory.Selector{Labels: map[string]string{"tier": ""}}, []inventory.Target{tA, tB}},
		{"fields are ANDed", inventory.Selector{Names: []string{"conteiner*"}, Labels: map[string]string{"tier": "web"}}, []inventory.Target{tA}},
		{"kind mismatch", inventory.Selector{Kind: inventory.KindImage}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.sel.Validate())
			var got []inventory.Target
			for _, x := range []inventory.Target{tA, tB, tC} {
				if tc.sel.Match(x) {
					got = append(got, x)
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestSelectorValidate(t *testing.T) {
	err := inventory.Selector{IDs: []string{"abc*"}, Names: []string{"web"}}.Validate()
	assert.ErrorIs(t, err, inventory.ErrIDAndName)

	for _, bad := range []inventory.Selector{
		{Names: []string{""}},
		{Names: []string{"we*b"}},
		{IDs: []string{"xyz"}},
		{IDs: []string{"**"}},
	} {
		err := bad.Validate()
		assert.ErrorIs(t, err, inventory.ErrBadPattern, "%v", bad)
	}
	assert.ErrorContains(t, inventory.Selector{Names: []string{"we*b"}}.Validate(), `"we*b": * is allowed only at the end`)
}

func TestMatchState(t *testing.T) {
	assert.True(t, inventory.Selector{}.MatchState("dead"))
	s := inventory.Selector{States: []string{"exited", "created"}}
	assert.True(t, s.MatchState("created"))
	assert.False(t, s.MatchState("running"))
}

func TestTargetStrings(t *testing.T) {
	assert.Equal(t, "b66e046560f3", tA.ShortID())
	assert.Equal(t, "container conteiner_A (b66e046560f3)", tA.String())
	assert.Equal(t, "abc", inventory.Target{ID: "abc"}.ShortID())
	assert.Equal(t, "container/unix:///x/"+idA, inventory.Target{Kind: inventory.KindContainer, Engine: "unix:///x", ID: idA}.Key())
	assert.Equal(t, "web", inventory.TrimName("/web"))
	assert.Equal(t, `-n "web*" label app=db`, inventory.Selector{Names: []string{"web*"}, Labels: map[string]string{"app": "db"}}.String())
	assert.Equal(t, "all", inventory.Selector{}.String())
}

func TestStaticResolver(t *testing.T) {
	r := inventory.Static(tC, tA, tB)
	got, err := r.Resolve(context.Background(), inventory.Selector{Names: []string{"conteiner*"}})
	require.NoError(t, err)
	// sorted by key: idA < idB lexically? keys compare the IDs, "1eae" < "b66e".
	assert.Equal(t, []inventory.Target{tB, tA}, got)

	_, err = r.Resolve(context.Background(), inventory.Selector{IDs: []string{"1*"}, Names: []string{"x"}})
	assert.True(t, errors.Is(err, inventory.ErrIDAndName))

	got, err = r.Resolve(context.Background(), inventory.Selector{Names: []string{"nope"}})
	require.NoError(t, err)
	assert.Empty(t, got)
	assert.NotNil(t, got)
}

func FuzzSelector(f *testing.F) {
	for _, s := range []string{"web*", "*", "", "/x", "b66e046560f3", "**", "a*b"} {
		f.Add(s, idA, "web-1")
	}
	f.Fuzz(func(t *testing.T, pattern, id, name string) {
		sel := inventory.Selector{Names: []string{pattern}}
		if sel.Validate() == nil {
			_ = sel.Match(inventory.Target{ID: id, Name: name})
			if pattern == "*" && !sel.Match(inventory.Target{Name: name}) {
				t.Fatalf("lone * did not match %q", name)
			}
		}
		_ = inventory.MatchID(pattern, id)
		if inventory.MatchName(pattern, name) && len(pattern) > 0 && pattern[len(pattern)-1] != '*' && inventory.TrimName(pattern) != inventory.TrimName(name) {
			t.Fatalf("exact pattern %q matched different name %q", pattern, name)
		}
	})
}
