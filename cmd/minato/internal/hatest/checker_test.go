//go:build linux

package hatest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha"
)

// Split brain is any moment two nodes hold the group. The checker sees it
// three ways:
//
//   - api: two running nodes say, in two sampling rounds in a row, that
//     their engine has the group online and that they hold it (one round
//     alone may straddle a clean hand-over: the samples of a round are not
//     one instant);
//   - marker: one reading of the marker directory holds the markers of two
//     live nodes (running, not frozen, not thawed within the grace, the
//     marker made by the node's current incarnation);
//   - journal: afterwards, from the resource's own journal (start and stop
//     under one lock, nanosecond times) and the nodes' process histories,
//     the exact intervals during which two live nodes had the resource
//     started.
//
// Markers of frozen and killed nodes are stale: such a node cannot act.
// They are reported apart, with how long they overlapped a live holder.

// checker samples every node's API and the markers until stopped.
type checker struct {
	h      *harness
	every  time.Duration
	grace  time.Duration // a thawed node's time to give up the group
	from   time.Time     // the checker's start: it judges from then on
	stopCh chan struct{}
	done   chan struct{}

	mu       sync.Mutex
	rounds   int
	prevAPI  []string // the nodes online in the previous round
	api      []incident
	markers  []incident
	transits int // single rounds with two nodes online
	holders  []string
	lastHold string
	// unanswered counts rounds where a running node did not answer;
	// lastErr is the first such error.
	unanswered int
	lastErr    string
}

// incident is one split brain seen by the sampler: its first and last
// sighting and the nodes.
type incident struct {
	first, last time.Time
	nodes       []string
}

func (i incident) String() string {
	return fmt.Sprintf("%s..%s (%s) %s", i.first.Format("15:04:05.000"), i.last.Format("15:04:05.000"),
		i.last.Sub(i.first).Round(time.Millisecond), strings.Join(i.nodes, "+"))
}

// watch starts a checker sampling every 30ms.
func (h *harness) watch() *checker {
	c := &checker{h: h, every: 30 * time.Millisecond, grace: 1500 * time.Millisecond, from: time.Now(),
		stopCh: make(chan struct{}), done: make(chan struct{})}
	c.round()
	go c.run()
	h.t.Cleanup(c.stop)
	return c
}

func (c *checker) stop() {
	select {
	case <-c.stopCh:
	default:
		close(c.stopCh)
	}
	<-c.done
}

func (c *checker) run() {
	defer close(c.done)
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		select {
		case <-c.stopCh:
			return
		case <-t.C:
		}
		c.round()
	}
}

// round samples every running node concurrently, then the markers.
func (c *checker) round() {
	type obs struct {
		node   string
		online bool
		err    error
	}
	h := c.h
	res := make(chan obs, len(h.nodes))
	for _, n := range h.nodes {
		go func() {
			r, err := h.ask(n)
			if err != nil {
				res <- obs{node: n.name, err: err}
				return
			}
			cg, eg := r.group(group)
			res <- obs{node: n.name, online: (eg.State == ha.Online || eg.State == ha.Suspended) && cg.Holder == n.name}
		}()
	}
	var online, failed []string
	for range h.nodes {
		o := <-res
		if o.online {
			online = append(online, o.node)
		}
		if o.err != nil && o.err != errNotAnswered {
			failed = append(failed, o.node+": "+o.err.Error())
		}
	}
	now := time.Now()
	marks := h.marks()
	var live []string
	for name, mt := range marks {
		if c.liveMarker(name, mt, now) {
			live = append(live, name)
		}
	}
	sort.Strings(online)
	sort.Strings(live)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.rounds++
	if len(failed) > 0 {
		c.unanswered++
		if c.lastErr == "" {
			c.lastErr = strings.Join(failed, "; ")
		}
	}
	if len(online) >= 2 {
		if len(c.prevAPI) >= 2 {
			c.api = extend(c.api, now, online, 3*c.every)
		} else {
			c.transits++
		}
	}
	c.prevAPI = online
	if len(live) >= 2 {
		c.markers = extend(c.markers, now, live, 3*c.every)
	}
	if len(online) == 1 && online[0] != c.lastHold {
		c.lastHold = online[0]
		c.holders = append(c.holders, now.Format("15:04:05.000")+" "+online[0])
	}
}

// extend adds a sighting: it extends the last incident when it is recent
// and of the same nodes.
func extend(is []incident, now time.Time, nodes []string, gap time.Duration) []incident {
	if n := len(is); n > 0 && now.Sub(is[n-1].last) <= gap && slices.Equal(is[n-1].nodes, nodes) {
		is[n-1].last = now
		return is
	}
	return append(is, incident{first: now, last: now, nodes: nodes})
}

// liveMarker reports whether node's marker, last touched at mt, is a live
// node's at now.
func (c *checker) liveMarker(node string, mt, now time.Time) bool {
	st, started, thawed := c.h.node(node).snapshot()
	return st == procRunning && !mt.Before(started) && (thawed.IsZero() || thawed.Before(started) || now.Sub(thawed) >= c.grace)
}

// result is what the checker saw, for asserting and logging.
type result struct {
	rounds   int
	api      []incident
	markers  []incident
	transits int
	holders  []string
	// unanswered: rounds where a running node did not answer (first
	// error in firstErr).
	unanswered int
	firstErr   string
	journal    []overlap // live nodes' resources started at once
	stale      []overlap // a live node's and a frozen or killed node's
	staleTime  time.Duration
}

func (r result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d rounds (%d with a running node not answering %s); split brain: api %d, markers %d, journal %d (single-round api sightings: %d); stale overlaps %d (%s); holders: %s",
		r.rounds, r.unanswered, r.firstErr, len(r.api), len(r.markers), len(r.journal), r.transits, len(r.stale), r.staleTime.Round(time.Millisecond),
		strings.Join(r.holders, ", "))
	for _, i := range r.api {
		fmt.Fprintf(&b, "\n  api: %s", i)
	}
	for _, i := range r.markers {
		fmt.Fprintf(&b, "\n  markers: %s", i)
	}
	for _, o := range r.journal {
		fmt.Fprintf(&b, "\n  journal: %s", o)
	}
	for _, o := range r.stale {
		fmt.Fprintf(&b, "\n  stale: %s", o)
	}
	return b.String()
}

// splitBrain reports whether any view saw two holders.
func (r result) splitBrain() bool { return len(r.api)+len(r.markers)+len(r.journal) > 0 }

// result stops nothing: it reads what was seen so far and analyses the
// journal up to now.
func (c *checker) result() result {
	c.mu.Lock()
	r := result{rounds: c.rounds, api: slices.Clone(c.api), markers: slices.Clone(c.markers), transits: c.transits,
		holders: slices.Clone(c.holders), unanswered: c.unanswered, firstErr: c.lastErr}
	c.mu.Unlock()
	r.journal, r.stale = c.h.journalOverlaps(c.grace, segment{c.from, time.Now()})
	for _, o := range r.stale {
		r.staleTime += o.end.Sub(o.start)
	}
	return r
}

// assertNoSplitBrain fails t when any view saw two holders.
func (c *checker) assertNoSplitBrain(t testing.TB) result {
	t.Helper()
	r := c.result()
	if r.splitBrain() {
		t.Errorf("split brain: %s", r)
	} else {
		t.Logf("checker: %s", r)
	}
	return r
}

// segment is a time interval [start, end).
type segment struct{ start, end time.Time }

// overlap is an interval during which two nodes had the resource started.
type overlap struct {
	segment
	a, b string
}

func (o overlap) String() string {
	return fmt.Sprintf("%s and %s from %s for %s", o.a, o.b, o.start.Format("15:04:05.000"), o.end.Sub(o.start).Round(time.Millisecond))
}

// journalOverlaps computes, from the journal and the process histories,
// when, within window, two nodes had the resource started while both were
// live (split brain), and when a live node's overlapped a frozen or killed
// node's (stale).
func (h *harness) journalOverlaps(grace time.Duration, window segment) (split, stale []overlap) {
	hists := map[string][]procChange{}
	for _, n := range h.nodes {
		hists[n.name] = n.history()
	}
	return overlaps(h.journal(), hists, grace, window)
}

// overlaps is journalOverlaps on given lines and histories.
func overlaps(lines []journalLine, hists map[string][]procChange, grace time.Duration, window segment) (split, stale []overlap) {
	now := window.end
	// Each node's intervals with the resource started; a start by a new
	// incarnation of the node begins a new interval (the old one was
	// left by a killed agent).
	started := map[string][]segment{}
	open := map[string]time.Time{}
	for _, l := range lines {
		switch l.action {
		case "start":
			s, ok := open[l.node]
			if ok && incarnationAt(hists[l.node], s) != incarnationAt(hists[l.node], l.at) {
				started[l.node] = append(started[l.node], segment{s, l.at})
				ok = false
			}
			if !ok {
				open[l.node] = l.at
			}
		case "stop":
			if s, ok := open[l.node]; ok {
				started[l.node] = append(started[l.node], segment{s, l.at})
				delete(open, l.node)
			}
		}
	}
	for n, s := range open {
		started[n] = append(started[n], segment{s, now})
	}
	// Each node's live time: running, thawed at least grace ago.
	liveOf := map[string][]segment{}
	for n, hist := range hists {
		liveOf[n] = liveSegments(hist, grace, now)
	}
	names := make([]string, 0, len(started))
	for n := range started {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, a := range names {
		for _, b := range names[i+1:] {
			for _, sa := range started[a] {
				for _, sb := range started[b] {
					both, ok := intersect(sa, sb)
					if ok {
						both, ok = intersect(both, window)
					}
					if !ok {
						continue
					}
					// Split where both are live; stale where one is.
					la := clip(liveOf[a], both, sa, hists[a])
					lb := clip(liveOf[b], both, sb, hists[b])
					for _, x := range la {
						for _, y := range lb {
							if s, ok := intersect(x, y); ok {
								split = append(split, overlap{s, a, b})
							}
						}
					}
					// Stale: one live, the other not.
					for _, x := range la {
						for _, s := range minus([]segment{x}, lb) {
							stale = append(stale, overlap{s, a + "(live)", b + "(stale)"})
						}
					}
					for _, y := range lb {
						for _, s := range minus([]segment{y}, la) {
							stale = append(stale, overlap{s, b + "(live)", a + "(stale)"})
						}
					}
				}
			}
		}
	}
	return split, stale
}

// liveSegments are the times a node's process ran, unfrozen, thawed at
// least grace before; each segment belongs to one incarnation.
func liveSegments(hist []procChange, grace time.Duration, now time.Time) []segment {
	var out []segment
	var from time.Time
	on := false
	for _, c := range hist {
		if on && c.state != procRunning || on && c.thaw {
			out = append(out, segment{from, c.at})
			on = false
		}
		if c.state == procRunning {
			from, on = c.at, true
			if c.thaw {
				from = c.at.Add(grace)
			}
		}
	}
	if on {
		out = append(out, segment{from, now})
	}
	var kept []segment
	for _, s := range out {
		if s.end.After(s.start) {
			kept = append(kept, s)
		}
	}
	return kept
}

// clip is the part of window (within the resource interval st) where the
// node was live, in the incarnation that started the resource (an
// interval left by a killed agent is never live again).
func clip(live []segment, window, st segment, hist []procChange) []segment {
	inc := incarnationAt(hist, st.start)
	var out []segment
	for _, l := range live {
		if incarnationAt(hist, l.start) != inc {
			continue
		}
		if s, ok := intersect(l, window); ok {
			out = append(out, s)
		}
	}
	return out
}

// incarnationAt is the incarnation started last at or before t.
func incarnationAt(hist []procChange, t time.Time) int {
	inc := 0
	for _, c := range hist {
		if !c.at.After(t) {
			inc = c.inc
		}
	}
	return inc
}

func intersect(a, b segment) (segment, bool) {
	s := segment{a.start, a.end}
	if b.start.After(s.start) {
		s.start = b.start
	}
	if b.end.Before(s.end) {
		s.end = b.end
	}
	return s, s.end.After(s.start)
}

// minus is ss with every part covered by cut removed.
func minus(ss, cut []segment) []segment {
	out := ss
	for _, c := range cut {
		var next []segment
		for _, s := range out {
			if x, ok := intersect(s, c); !ok {
				next = append(next, s)
			} else {
				if x.start.After(s.start) {
					next = append(next, segment{s.start, x.start})
				}
				if s.end.After(x.end) {
					next = append(next, segment{x.end, s.end})
				}
			}
		}
		out = next
	}
	return out
}
