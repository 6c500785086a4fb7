//go:build linux

package hatest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Environment variables of TestChaos.
const (
	// seedEnv replays one sequence: MINATO_HX_SEED=<seed>.
	seedEnv = "MINATO_HX_SEED"
	// sequencesEnv sets how many sequences run (default 20, 5 with -short).
	sequencesEnv = "MINATO_HX_SEQUENCES"
)

// chaosState is what a sequence has done to the cluster so far.
type chaosState struct {
	down, frozen, hbCut, witCut map[int]bool
}

// chaosStep applies one random step to h and describes it. Half the steps
// aim at the node that holds the group, when one does.
func chaosStep(h *harness, rng *rand.Rand, st *chaosState) string {
	k := 1 + rng.IntN(len(h.nodes))
	if aim := rng.IntN(2) == 0; aim {
		if v := h.view(); len(v.online) == 1 {
			k = h.node(v.online[0]).k
		}
	}
	n := h.nodes[k-1]
	switch rng.IntN(4) {
	case 0: // kill, or start again a killed node
		if st.down[k] {
			h.start(n)
			st.down[k] = false
			return "restart " + n.name
		}
		h.kill(n)
		st.down[k], st.frozen[k] = true, false
		return "kill " + n.name
	case 1: // freeze or thaw
		switch {
		case st.down[k]:
			h.start(n)
			st.down[k] = false
			return "restart " + n.name
		case st.frozen[k]:
			h.thaw(n)
			st.frozen[k] = false
			return "thaw " + n.name
		}
		h.freeze(n)
		st.frozen[k] = true
		return "freeze " + n.name
	case 2:
		st.hbCut[k] = !st.hbCut[k]
		if err := h.tp.setLink(k, linkHB, !st.hbCut[k]); err != nil {
			h.t.Fatal(err)
		}
		return map[bool]string{true: "cut", false: "heal"}[st.hbCut[k]] + " heartbeat " + n.name
	default:
		st.witCut[k] = !st.witCut[k]
		if err := h.tp.setLink(k, linkWit, !st.witCut[k]); err != nil {
			h.t.Fatal(err)
		}
		return map[bool]string{true: "cut", false: "heal"}[st.witCut[k]] + " witness " + n.name
	}
}

// healAll undoes every step: links up, frozen nodes thawed, killed nodes
// started again.
func healAll(h *harness, st *chaosState) {
	for k := 1; k <= len(h.nodes); k++ {
		if st.hbCut[k] {
			_ = h.tp.setLink(k, linkHB, true)
		}
		if st.witCut[k] {
			_ = h.tp.setLink(k, linkWit, true)
		}
		if st.frozen[k] {
			h.thaw(h.nodes[k-1])
		}
	}
	for k := 1; k <= len(h.nodes); k++ {
		if st.down[k] {
			h.start(h.nodes[k-1])
		}
	}
}

// TestChaos runs seeded random sequences of 3 to 6 steps (kill -9 and
// restart, freeze and thaw, heartbeat link cut and healed, witness link
// cut and healed, each on a random node or the holder, 0.2 to 1.5 s
// apart) on a
// three-node cluster with the etcd lease and an HTTP witness. Throughout,
// no two live nodes may hold the group; after every sequence everything
// is healed and exactly one node must hold it. A failing sequence names
// its seed: MINATO_HX_SEED=<seed> replays it.
func TestChaos(t *testing.T) {
	count := 20
	if testing.Short() {
		count = 5
	}
	if v := os.Getenv(sequencesEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a count", sequencesEnv, v)
		}
		count = n
	}
	base := uint64(time.Now().UnixNano())
	if v := os.Getenv(seedEnv); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a seed", seedEnv, v)
		}
		base, count = s, 1
	}
	h := newCluster(t, clusterOpts{nodes: 3, httpWitness: true, lease: true})
	h.waitSettled(15 * time.Second)
	var (
		holders          = map[string]int{}
		staleTime        time.Duration
		rounds, transits int
		changes          int
	)
	for i := range count {
		seed := base + uint64(i)
		rng := rand.New(rand.NewPCG(seed, 0x68617465)) // "hate"
		c := h.watch()
		st := &chaosState{down: map[int]bool{}, frozen: map[int]bool{}, hbCut: map[int]bool{}, witCut: map[int]bool{}}
		var steps []string
		t0 := time.Now()
		for range 3 + rng.IntN(4) {
			steps = append(steps, chaosStep(h, rng, st))
			time.Sleep(200*time.Millisecond + time.Duration(rng.IntN(1300))*time.Millisecond)
		}
		healAll(h, st)
		what := fmt.Sprintf("sequence %d/%d, seed %d (%s=%d): %s", i+1, count, seed, seedEnv, seed, strings.Join(steps, ", "))
		var holder string
		deadline := time.Now().Add(15 * time.Second)
		for {
			var ok bool
			if holder, ok = h.settled(); ok {
				break
			}
			if time.Now().After(deadline) {
				v := h.view()
				t.Fatalf("%s: after healing, no single holder within 15s: online %v, holders %v, markers %v", what, v.online, v.holders, h.marks())
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(2 * h.opts.interval) // the checker sees the healed state
		c.stop()
		for name, mt := range h.marks() {
			if _, started, _ := h.node(name).snapshot(); mt.Before(started) {
				t.Errorf("%s: %s's agent, started again after SIGKILL, left what its killed run had started", what, name)
			}
		}
		r := c.result()
		if r.splitBrain() {
			t.Errorf("%s: split brain: %s", what, r)
		}
		h.checkJournal(t)
		t.Logf("%s -> %s holds the group after %s; holders seen: %s; stale overlaps %s",
			what, holder, time.Since(t0).Round(100*time.Millisecond), strings.Join(r.holders, ", "), r.staleTime.Round(time.Millisecond))
		holders[holder]++
		staleTime += r.staleTime
		rounds += r.rounds
		transits += r.transits
		changes += max(len(r.holders)-1, 0)
		if t.Failed() {
			break
		}
	}
	t.Logf("%d sequences: %d checker rounds, %d single-round sightings of two nodes online during a hand-over, %d changes of holder, final holders %v; resources of frozen or killed agents overlapped live holders for %s in all",
		count, rounds, transits, changes, holders, staleTime.Round(time.Millisecond))
}
