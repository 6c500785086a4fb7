//go:build linux

package hatest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha"
)

// holderEpoch is the holder and epoch node n reports for the group.
func (h *harness) holderEpoch(n *agentNode) (string, ha.Epoch) {
	h.t.Helper()
	r, err := h.ask(n)
	if err != nil {
		h.t.Fatalf("%s: %v", n.name, err)
	}
	c, _ := r.group(group)
	return c.Holder, c.Epoch
}

// TestKillActive: the active node's agent is SIGKILLed; the standby takes
// the group over at a newer epoch once the heartbeat timeout has passed
// and the lease has expired; the killed node, started again, does not take
// it back.
func TestKillActive(t *testing.T) {
	h := newCluster(t, clusterOpts{nodes: 2, httpWitness: true, lease: true})
	c := h.watch()
	n1, n2 := h.node("node1"), h.node("node2")
	if got := h.waitSettled(15 * time.Second); got != "node1" {
		t.Fatalf("node1, first in priority, should hold the group; %s does", got)
	}
	_, e1 := h.holderEpoch(n2)

	t0 := time.Now()
	h.kill(n1)
	if got := h.waitSettled(10 * time.Second); got != "node2" {
		t.Fatalf("after node1's SIGKILL, %s holds the group", got)
	}
	took := time.Since(t0)
	_, e2 := h.holderEpoch(n2)
	if e2 <= e1 {
		t.Errorf("node2 took over at epoch %d, not newer than node1's %d", e2, e1)
	}
	r, _ := h.ask(n2)
	if len(events(r, ha.EventNodeDown, t0)) == 0 {
		t.Errorf("node2 reported no node_down of node1: %+v", r.Events)
	}
	t.Logf("failover after SIGKILL: %s (epoch %d -> %d)", took.Round(time.Millisecond), e1, e2)

	// node1 comes back: it first deactivates what its killed run left
	// (its marker goes), and, failback being off, does not start the
	// group.
	t1 := time.Now()
	h.start(n1)
	time.Sleep(3 * h.opts.timeout)
	if got := h.waitSettled(5 * time.Second); got != "node2" {
		t.Errorf("node1 came back and %s holds the group (failback is off)", got)
	}
	if _, ok := h.marks()["node1"]; ok {
		t.Errorf("node1's agent, started again after SIGKILL, left the resource its killed run had started active")
	}
	for _, l := range h.journalOf("node1", t1) {
		if l.action != "stop" {
			t.Errorf("node1, back, did more than clean up: %s under epoch %d", l.action, l.epoch)
		}
	}
	h.checkJournal(t)
	res := c.assertNoSplitBrain(t)
	if len(res.stale) == 0 {
		t.Errorf("node1's resource, left started by its killed agent, should show as a stale overlap with node2's")
	}
}

// journalOf returns the journal lines of node from since on.
func (h *harness) journalOf(node string, since time.Time) []journalLine {
	var out []journalLine
	for _, l := range h.journal() {
		if l.node == node && !l.at.Before(since) {
			out = append(out, l)
		}
	}
	return out
}

// TestFreezeActive: the active node's agent is frozen (SIGSTOP) for
// longer than the timeout, the standby takes over, then the frozen agent
// is thawed (SIGCONT). The thawed node must give the group up at once and
// never act under its stale epoch: it starts nothing, its marker goes, and
// it reports the newer holder and epoch. With the lease, its hold is stale
// when it resumes; without, the newer claim it hears deposes it.
func TestFreezeActive(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lease bool
	}{{"lease", true}, {"http-witness-only", false}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newCluster(t, clusterOpts{nodes: 2, httpWitness: true, lease: tc.lease})
			c := h.watch()
			// The active node is node1 (first in priority) unless a slow
			// start on a busy machine let its lease lapse: freeze whichever
			// holds the group.
			active := h.waitSettled(15 * time.Second)
			standby := map[string]string{"node1": "node2", "node2": "node1"}[active]
			n1, n2 := h.node(active), h.node(standby)
			_, e1 := h.holderEpoch(n1)

			t0 := time.Now()
			h.freeze(n1)
			if got := h.waitSettled(10 * time.Second); got != standby {
				t.Fatalf("%s frozen: %s holds the group", active, got)
			}
			_, e2 := h.holderEpoch(n2)
			if e2 <= e1 {
				t.Fatalf("%s took over at epoch %d, not newer than %s's %d", standby, e2, active, e1)
			}
			time.Sleep(h.opts.timeout) // frozen well past the timeout
			frozen := time.Since(t0)

			t1 := time.Now()
			h.thaw(n1)
			h.eventually(c.grace, "the thawed "+active+" gives the group up", func() bool {
				r, err := h.ask(n1)
				if err != nil {
					return false
				}
				cg, eg := r.group(group)
				_, marked := h.marks()[active]
				return !marked && eg.State != ha.Online && cg.Holder == standby && cg.Epoch == e2
			})
			gone := time.Since(t1)
			if got := h.waitSettled(5 * time.Second); got != standby {
				t.Errorf("after the thaw %s holds the group", got)
			}
			for _, l := range h.journalOf(active, t1) {
				if l.action != "stop" {
					t.Errorf("the thawed %s acted: %s under epoch %d at %s", active, l.action, l.epoch, l.at.Format("15:04:05.000"))
				}
			}
			r, _ := h.ask(n1)
			for _, ev := range r.Events {
				if ev.Time.After(t1) && ev.Kind == ha.EventActivated {
					t.Errorf("the thawed %s activated something: %+v", active, ev)
				}
			}
			h.checkJournal(t)
			res := c.assertNoSplitBrain(t)
			t.Logf("%s frozen %s; %s took over at epoch %d (the frozen one's was %d); it gave up its stale hold %s after SIGCONT; its marker overlapped the new holder's for %s while frozen",
				active, frozen.Round(time.Millisecond), standby, e2, e1, gone.Round(time.Millisecond), res.staleTime.Round(time.Millisecond))
		})
	}
}

// TestCutHeartbeat cuts the heartbeat network between the two nodes (the
// active node's link) with the witness reachable from one side, from
// both, and from none, as the decision table of ha/cluster says:
//
//   - one side (the active node's witness link is cut too): the active
//     node is isolated and fences itself (row 4), the standby takes over
//     (row 3); without a lease the two may overlap for as long as the
//     isolated node's witness probe takes;
//   - both, HTTP witness only: both take the other for down (row 3 on
//     both sides) and both hold the group: split brain is EXPECTED, and
//     ends when the network heals;
//   - both, with the etcd lease: the standby cannot acquire the lease
//     (row 7): no split brain, the active node keeps the group;
//   - none: both are isolated and fence themselves; nothing runs until
//     the network heals.
func TestCutHeartbeat(t *testing.T) {
	for _, tc := range []struct {
		name       string
		lease      bool
		cutWitness []int // nodes whose witness link is cut too
		// split: split brain expected during the cut; holder: who holds
		// the group during the cut ("" none).
		split  bool
		holder string
	}{
		{name: "witness-one-side", cutWitness: []int{1}, holder: "node2"},
		{name: "witness-both-sides", split: true},
		{name: "witness-both-sides-lease", lease: true, holder: "node1"},
		{name: "witness-none", cutWitness: []int{1, 2}, holder: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newCluster(t, clusterOpts{nodes: 2, httpWitness: true, lease: tc.lease})
			c := h.watch()
			if got := h.waitSettled(15 * time.Second); got != "node1" {
				t.Fatalf("%s holds the group, want node1", got)
			}
			for _, k := range tc.cutWitness {
				if err := h.tp.setLink(k, linkWit, false); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(2 * h.opts.interval) // a witness link down alone changes nothing
			if got, ok := h.settled(); !ok || got != "node1" {
				t.Fatalf("a witness link cut alone moved the group: %q", got)
			}
			t0 := time.Now()
			if err := h.tp.setLink(1, linkHB, false); err != nil {
				t.Fatal(err)
			}
			// Past the timeout, the witness probe and the take-over.
			time.Sleep(3*h.opts.timeout + h.opts.witnessTimeout)
			during := c.result()
			v := h.view()
			switch {
			case tc.split:
				if len(v.online) != 2 || len(during.api) == 0 || len(during.markers) == 0 || len(during.journal) == 0 {
					t.Errorf("with an HTTP witness both sides reach and no lease, both nodes should hold the group (split brain, as documented): online %v; %s", v.online, during)
				} else {
					t.Logf("expected split brain seen: %s", during)
				}
			case tc.holder == "":
				if len(v.online) != 0 || len(h.marks()) != 0 {
					t.Errorf("both nodes isolated: the group should run nowhere: online %v, markers %v", v.online, h.marks())
				}
			default:
				if len(v.online) != 1 || v.online[0] != tc.holder {
					t.Errorf("during the cut %v hold the group, want %s", v.online, tc.holder)
				}
			}
			for _, k := range tc.cutWitness {
				r, _ := h.ask(h.nodes[k-1])
				if len(events(r, ha.EventIsolated, t0)) == 0 {
					t.Errorf("node%d, cut from its peer and the witness, did not report isolated", k)
				}
			}
			if !tc.split {
				// Without a lease a node that fences itself does so as its
				// peer takes over: they may overlap as long as its probe of
				// the unreachable witness takes.
				bound := time.Duration(0)
				if !tc.lease {
					bound = h.opts.witnessTimeout + 2*h.opts.interval
				}
				for _, o := range during.journal {
					if d := o.end.Sub(o.start); d > bound {
						t.Errorf("split brain beyond the documented brief overlap (%s): %s", bound, o)
					} else {
						t.Logf("brief overlap as documented (a self-fence as the peer takes over): %s", o)
					}
				}
				if len(during.api) > 0 && bound == 0 {
					t.Errorf("split brain: %s", during)
				}
			}

			// Heal: exactly one node holds the group again.
			healed := time.Now()
			for _, k := range []int{1, 2} {
				_ = h.tp.setLink(k, linkHB, true)
				_ = h.tp.setLink(k, linkWit, true)
			}
			holder := h.waitSettled(10 * time.Second)
			after := c.result()
			for _, o := range after.journal {
				if o.start.After(healed) || o.end.After(healed.Add(2*h.opts.timeout)) {
					t.Errorf("split brain after the heal: %s", o)
				}
			}
			h.checkJournal(t)
			t.Logf("cut %s, healed after %s; %s holds the group; %s", tc.name, healed.Sub(t0).Round(time.Millisecond), holder, after)
		})
	}
}

// TestResourceFailure: the resource's check fails on the active node
// (CLUSTERPRO's recovery ladder, policy restarts 1, failovers 1, final
// action stop_group): it is restarted there, still fails, the group fails
// over to the standby; there it fails too: restarted, no node left to fail
// over to, the final action stops the group, and no node starts it again.
func TestResourceFailure(t *testing.T) {
	h := newCluster(t, clusterOpts{nodes: 2, httpWitness: true, lease: true,
		policy: "{interval: 200ms, retries: -1, restarts: 1, failovers: 1, final_action: stop_group}"})
	c := h.watch()
	n1, n2 := h.node("node1"), h.node("node2")
	if got := h.waitSettled(15 * time.Second); got != "node1" {
		t.Fatalf("%s holds the group, want node1", got)
	}
	_, e1 := h.holderEpoch(n1)

	t0 := time.Now()
	h.setBroken("node1", true)
	h.waitHolder(10*time.Second, "node2")
	r1, _ := h.ask(n1)
	if len(events(r1, ha.EventRestart, t0)) != 1 || len(events(r1, ha.EventMonitorError, t0)) == 0 || len(events(r1, ha.EventFailover, t0)) != 1 {
		t.Errorf("node1 should report a monitor error, one restart and one failover: %+v", r1.Events)
	}
	starts := 0
	for _, l := range h.journalOf("node1", t0) {
		if l.action == "start" {
			starts++
			if l.epoch != e1 {
				t.Errorf("node1's restart ran under epoch %d, want the holder's %d", l.epoch, e1)
			}
		}
	}
	if starts != 1 {
		t.Errorf("node1 restarted the resource %d times, want 1", starts)
	}
	cg, _ := r1.group(group)
	if len(cg.FailedOn) != 1 || cg.FailedOn[0] != "node1" {
		t.Errorf("the group should be marked failed on node1: %+v", cg)
	}

	t1 := time.Now()
	h.setBroken("node2", true)
	h.eventually(10*time.Second, "node2 takes the final action", func() bool {
		r, err := h.ask(n2)
		return err == nil && len(events(r, ha.EventFinalAction, t1)) > 0
	})
	h.eventually(5*time.Second, "the group runs nowhere", func() bool {
		v := h.view()
		return len(v.online) == 0 && len(h.marks()) == 0
	})
	time.Sleep(3 * h.opts.timeout)
	if v := h.view(); len(v.online) != 0 || len(h.marks()) != 0 {
		t.Errorf("after the final action stop_group the group runs again: online %v, markers %v", v.online, h.marks())
	}
	r2, _ := h.ask(n2)
	if len(events(r2, ha.EventRestart, t1)) != 1 {
		t.Errorf("node2 should restart once before the final action: %+v", r2.Events)
	}
	for _, ev := range events(r2, ha.EventFinalAction, t1) {
		t.Logf("node2: %s", ev.Message)
	}
	h.checkJournal(t)
	c.assertNoSplitBrain(t)
}

// TestManualMove: `minato ha move web node2` (the real CLI, from the
// management network) moves the group: the holder deactivates, node2
// activates at a newer epoch, no moment with two holders, even without a
// lease.
func TestManualMove(t *testing.T) {
	h := newCluster(t, clusterOpts{nodes: 2, httpWitness: true})
	c := h.watch()
	n1 := h.node("node1")
	if got := h.waitSettled(15 * time.Second); got != "node1" {
		t.Fatalf("%s holds the group, want node1", got)
	}
	_, e1 := h.holderEpoch(n1)
	tok, err := os.ReadFile(filepath.Join(h.dir, "token"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := command(h.tp.sw, h.bin, "ha", "move", group, "node2")
	cmd.Env = append(os.Environ(), "MINATO_AGENT="+n1.api, "MINATO_AGENT_TOKEN="+strings.TrimSpace(string(tok)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("minato ha move: %v: %s", err, out)
	}
	if !regexp.MustCompile(`^group web: held by node2 at epoch \d+ \(online\)\n$`).Match(out) {
		t.Errorf("minato ha move printed %q", out)
	}
	if got := h.waitSettled(5 * time.Second); got != "node2" {
		t.Fatalf("after the move %s holds the group", got)
	}
	_, e2 := h.holderEpoch(n1)
	if e2 <= e1 {
		t.Errorf("the move's epoch %d is not newer than %d", e2, e1)
	}
	time.Sleep(2 * h.opts.timeout) // the checker sees it stay so
	if got, _ := h.settled(); got != "node2" {
		t.Errorf("after the move %q holds the group", got)
	}
	h.checkJournal(t)
	c.assertNoSplitBrain(t)
}

// TestFailback: the active node leaves (SIGTERM: its clean leave hands
// the group over at once) and comes back. With failback off (the default)
// the group stays where it went; with auto_failback it moves back to the
// node first in priority.
func TestFailback(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failback bool
		want     string
	}{{"off", false, "node2"}, {"on", true, "node1"}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newCluster(t, clusterOpts{nodes: 2, httpWitness: true, lease: true, failback: tc.failback})
			c := h.watch()
			n1 := h.node("node1")
			if got := h.waitSettled(15 * time.Second); got != "node1" {
				t.Fatalf("%s holds the group, want node1", got)
			}
			t0 := time.Now()
			h.stop(n1)
			if got := h.waitSettled(5 * time.Second); got != "node2" {
				t.Fatalf("node1 left: %s holds the group", got)
			}
			t.Logf("clean leave handed the group over in %s", time.Since(t0).Round(time.Millisecond))
			t1 := time.Now()
			h.start(n1)
			time.Sleep(3 * h.opts.timeout)
			if got := h.waitSettled(5 * time.Second); got != tc.want {
				t.Errorf("node1 came back (auto_failback %t): %s holds the group, want %s", tc.failback, got, tc.want)
			}
			if !tc.failback {
				// Its start-up clean-up stops what a killed run may have
				// left; nothing more.
				for _, l := range h.journalOf("node1", t1) {
					if l.action != "stop" {
						t.Errorf("node1 came back and %s the resource under epoch %d", l.action, l.epoch)
					}
				}
			}
			h.checkJournal(t)
			c.assertNoSplitBrain(t)
		})
	}
}
