package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/minato-ops/minato/ha"
)

func TestNewerIsATotalOrder(t *testing.T) {
	prio := []string{"a", "b", "c"}
	claims := []claim{
		{},
		{Holder: "a", Boot: 1, Epoch: 5},
		{Holder: "a", Boot: 1, Epoch: 5, Released: true},
		{Holder: "a", Boot: 1, Epoch: 5, Released: true, Next: "b"},
		{Holder: "b", Boot: 2, Epoch: 5},
		{Holder: "a", Boot: 3, Epoch: 5},
		{Holder: "c", Boot: 4, Epoch: 6},
		{Holder: "x", Boot: 4, Epoch: 5},
	}
	for _, a := range claims {
		assert.False(t, newer(a, a, prio), "irreflexive: %+v", a)
		for _, b := range claims {
			if a == b {
				continue
			}
			if a.Holder == b.Holder && a.Boot == b.Boot && a.Epoch == b.Epoch && a.Released == b.Released {
				continue // the same claim, with another Next: never both exist
			}
			assert.NotEqual(t, newer(a, b, prio), newer(b, a, prio), "exactly one of %+v and %+v is newer", a, b)
			for _, c := range claims {
				if newer(a, b, prio) && newer(b, c, prio) {
					assert.True(t, newer(a, c, prio), "transitive: %+v > %+v > %+v", a, b, c)
				}
			}
		}
	}
	assert.True(t, newer(claims[6], claims[1], prio), "higher epoch wins")
	assert.True(t, newer(claims[2], claims[1], prio), "the release supersedes the hold")
	assert.True(t, newer(claims[1], claims[4], prio), "same epoch, two holders: priority")
	assert.True(t, newer(claims[4], claims[7], prio), "a node of the group before one that is not")
}

func TestWant(t *testing.T) {
	nodes := []string{"a", "b", "c"}
	set := func(ns ...string) map[string]bool {
		m := map[string]bool{}
		for _, n := range ns {
			m[n] = true
		}
		return m
	}
	held := func(h string) claim { return claim{Holder: h, Boot: 1, Epoch: 7} }
	released := func(h, next string) claim { return claim{Holder: h, Boot: 1, Epoch: 7, Released: true, Next: next} }
	for _, tc := range []struct {
		name string
		s    situation
		want string
	}{
		{"nothing held: first up", situation{Up: set("b", "c")}, "b"},
		{"nothing held: skip failed", situation{Up: set("a", "b", "c"), Failed: set("a")}, "b"},
		{"nothing held: skip no lease", situation{Up: set("a", "b", "c"), NoLease: set("a", "b")}, "c"},
		{"nothing held: all failed", situation{Up: set("a", "b"), Failed: set("a", "b")}, ""},
		{"nothing up", situation{}, ""},
		{"live holder stays", situation{Claim: held("b"), Live: true, Up: set("a", "b")}, "b"},
		{"live holder stays though failed elsewhere", situation{Claim: held("c"), Live: true, Up: set("a", "b", "c"), Failed: set("a")}, "c"},
		{"failback to the first eligible", situation{Claim: held("c"), Live: true, AutoFailback: true, Up: set("a", "b", "c")}, "a"},
		{"failback skips failed", situation{Claim: held("c"), Live: true, AutoFailback: true, Up: set("a", "b", "c"), Failed: set("a")}, "b"},
		{"failback: holder first already", situation{Claim: held("a"), Live: true, AutoFailback: true, Up: set("a", "b")}, "a"},
		{"holder outside the group, failback", situation{Claim: held("x"), Live: true, AutoFailback: true, Up: set("b", "x")}, "b"},
		{"move of a live holder", situation{Claim: held("a"), Live: true, Up: set("a", "b", "c"), Moves: []string{"c"}}, "c"},
		{"move to a failed node", situation{Claim: held("a"), Live: true, Up: set("a", "c"), Failed: set("c"), Moves: []string{"c"}}, "c"},
		{"move to a down node ignored", situation{Claim: held("a"), Live: true, Up: set("a"), Moves: []string{"c"}}, "a"},
		{"move to the holder ignored", situation{Claim: held("a"), Live: true, Up: set("a", "b"), Moves: []string{"a", "b"}}, "b"},
		{"lost holder: priority", situation{Claim: held("a"), Up: set("b", "c")}, "b"},
		{"lost holder: its own new boot", situation{Claim: held("a"), Up: set("a", "b")}, "a"},
		{"released to next", situation{Claim: released("a", "c"), Up: set("a", "b", "c")}, "c"},
		{"released to a down next", situation{Claim: released("a", "c"), Up: set("a", "b")}, "a"},
		{"released to a next without lease", situation{Claim: released("a", "c"), Up: set("a", "b", "c"), NoLease: set("c")}, "a"},
		{"released, move pending", situation{Claim: released("a", ""), Up: set("a", "b", "c"), Moves: []string{"c"}}, "c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Nodes = nodes
			assert.Equal(t, tc.want, want(tc.s))
		})
	}
}

func TestNextEpoch(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	assert.Equal(t, ha.Epoch(8), nextEpoch(7, now))
	first := nextEpoch(0, now)
	assert.Equal(t, ha.Epoch(now.Unix())<<16, first)
	assert.Greater(t, nextEpoch(0, now.Add(time.Second)), first+60000, "a cluster started a second later starts above 60000 changes of the last")
	assert.Equal(t, ha.Epoch(1), nextEpoch(0, time.Unix(0, 0)))
}
