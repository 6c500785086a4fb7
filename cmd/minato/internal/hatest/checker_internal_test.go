//go:build linux

package hatest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// at is a time t0 + ms milliseconds.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func line(ms int, node, action string) journalLine {
	return journalLine{at: at(ms), node: node, action: action}
}

func running(ms, inc int) procChange { return procChange{at: at(ms), state: procRunning, inc: inc} }
func frozen(ms, inc int) procChange  { return procChange{at: at(ms), state: procFrozen, inc: inc} }
func thawed(ms, inc int) procChange {
	return procChange{at: at(ms), state: procRunning, inc: inc, thaw: true}
}
func killed(ms, inc int) procChange { return procChange{at: at(ms), state: procDown, inc: inc} }

func fmtOverlaps(os []overlap) string {
	var out []string
	for _, o := range os {
		out = append(out, fmt.Sprintf("%s/%s %d..%d", o.a, o.b, o.start.Sub(t0).Milliseconds(), o.end.Sub(t0).Milliseconds()))
	}
	return strings.Join(out, ", ")
}

// TestOverlaps: the checker's reading of the journal and the process
// histories: split brain only between live nodes, frozen and killed
// nodes' resources stale, a thawed node live again after the grace.
func TestOverlaps(t *testing.T) {
	const grace = 500 * time.Millisecond
	up := func() map[string][]procChange {
		return map[string][]procChange{"node1": {running(-1000, 1)}, "node2": {running(-1000, 1)}}
	}
	for _, tc := range []struct {
		name         string
		lines        []journalLine
		hists        map[string][]procChange
		split, stale string
	}{{
		name:  "clean hand-over",
		lines: []journalLine{line(0, "node1", "start"), line(100, "node1", "stop"), line(150, "node2", "start")},
		hists: up(),
	}, {
		name:  "both live: split brain",
		lines: []journalLine{line(0, "node1", "start"), line(200, "node2", "start"), line(500, "node1", "stop"), line(700, "node2", "stop")},
		hists: up(),
		split: "node1/node2 200..500",
	}, {
		name:  "frozen holder: stale until it stops after the thaw",
		lines: []journalLine{line(0, "node1", "start"), line(300, "node2", "start"), line(1050, "node1", "stop")},
		hists: map[string][]procChange{"node1": {running(-1000, 1), frozen(100, 1), thawed(1000, 1)}, "node2": {running(-1000, 1)}},
		stale: "node2(live)/node1(stale) 300..1050",
	}, {
		name:  "thawed holder keeps the resource past the grace: split brain",
		lines: []journalLine{line(0, "node1", "start"), line(300, "node2", "start")},
		hists: map[string][]procChange{"node1": {running(-1000, 1), frozen(100, 1), thawed(1000, 1)}, "node2": {running(-1000, 1)}},
		split: "node1/node2 1500..3000",
		stale: "node2(live)/node1(stale) 300..1500",
	}, {
		name:  "killed holder restarted: its old resource is stale, not its new incarnation's",
		lines: []journalLine{line(0, "node1", "start"), line(300, "node2", "start")},
		hists: map[string][]procChange{"node1": {running(-1000, 1), killed(100, 1), running(2000, 2)}, "node2": {running(-1000, 1)}},
		stale: "node2(live)/node1(stale) 300..3000",
	}, {
		name: "killed holder restarted takes the group again: a new interval",
		lines: []journalLine{line(0, "node1", "start"), line(300, "node2", "start"), line(2900, "node2", "stop"),
			line(2950, "node1", "start")},
		hists: map[string][]procChange{"node1": {running(-1000, 1), killed(100, 1), running(2000, 2)}, "node2": {running(-1000, 1)}},
		stale: "node2(live)/node1(stale) 300..2900",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			split, stale := overlaps(tc.lines, tc.hists, grace, segment{at(-1000), at(3000)})
			if got := fmtOverlaps(split); got != tc.split {
				t.Errorf("split brain %q, want %q", got, tc.split)
			}
			if got := fmtOverlaps(stale); got != tc.stale {
				t.Errorf("stale %q, want %q", got, tc.stale)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var xs []float64
	for i := 20; i >= 1; i-- {
		xs = append(xs, float64(i))
	}
	for _, tc := range []struct{ p, want float64 }{{50, 10}, {99, 20}, {100, 20}, {0, 1}, {5, 1}, {10, 2}} {
		if got := percentile(xs, tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
}
