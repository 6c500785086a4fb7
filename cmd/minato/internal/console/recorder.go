package console

import (
	"context"
	"sync"
	"time"

	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/jsonout"
)

// Recorder keeps what the views show over time: the last values of every
// check's samples (the sparklines), since when each check and target has
// its status, and the events timeline (status changes and the event
// stream's findings). It is a monitor.Sink: give it to the Runner
// (monitor.WithSink) so that history exists before a page is opened.
// Safe for concurrent use; memory is bounded by the number of series
// times the points kept.
type Recorder struct {
	points, timeline int

	mu     sync.Mutex
	series map[string]*series
	since  map[string]sinceAt
	events []TimelineEntry
	seen   map[string]time.Time // last evaluation time per check and target
}

var _ monitor.Sink = (*Recorder)(nil)

type series struct {
	at     []time.Time
	values []float64
}

type sinceAt struct {
	status string
	at     time.Time
}

// TimelineEntry is one entry of the checks view's events timeline.
type TimelineEntry struct {
	Time    time.Time `json:"time"`
	Check   string    `json:"check"`
	Target  string    `json:"target,omitempty"`
	Status  string    `json:"status"`
	From    string    `json:"from,omitempty"`
	Message string    `json:"message,omitempty"`
}

// NewRecorder returns a Recorder keeping points values per series and
// timeline entries (defaults DefaultPoints and DefaultTimeline when 0 or
// less).
func NewRecorder(points, timeline int) *Recorder {
	if points <= 0 {
		points = DefaultPoints
	}
	if timeline <= 0 {
		timeline = DefaultTimeline
	}
	return &Recorder{points: points, timeline: timeline, series: map[string]*series{}, since: map[string]sinceAt{}, seen: map[string]time.Time{}}
}

// Write records evaluations; it never fails and does not block on
// anything but the Recorder's lock.
func (r *Recorder) Write(_ context.Context, evs []monitor.Evaluation) error {
	out := make([]jsonout.Evaluation, len(evs))
	for i, ev := range evs {
		out[i] = jsonout.NewEvaluation(ev)
	}
	r.observe(out)
	return nil
}

func targetKey(check string, t targetRef) string {
	id := t.ID
	if id == "" {
		id = t.Name
	}
	return check + "\x00" + t.Engine + "\x00" + id
}

// targetRef is the part of a Target the views key on.
type targetRef struct{ Engine, ID, Name string }

// isEventsCheck reports whether a check is the engine event stream's.
func isEventsCheck(check string) bool {
	return check == "events" || len(check) > 7 && check[:7] == "events@"
}

// observe records evaluations as /api/v1/status gives them; an
// evaluation already recorded (same check, target and time) is ignored.
func (r *Recorder) observe(evs []jsonout.Evaluation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range evs {
		t := targetRef{Engine: ev.Target.Engine, ID: ev.Target.ID, Name: ev.Target.Name}
		k := targetKey(ev.Check, t)
		at := ev.Time
		if last, ok := r.seen[k]; ok && !at.After(last) {
			continue
		}
		r.seen[k] = at
		st := ev.Status.String()
		prev, had := r.since[k]
		if !had || prev.status != st {
			r.since[k] = sinceAt{status: st, at: at}
			if had || st != "OK" {
				e := TimelineEntry{Time: at, Check: ev.Check, Target: ev.Target.Name, Status: st, Message: ev.Message}
				if had {
					e.From = prev.status
				}
				r.add(e)
			}
		} else if isEventsCheck(ev.Check) && ev.Message != "" && st != "OK" {
			r.add(TimelineEntry{Time: at, Check: ev.Check, Target: ev.Target.Name, Status: st, Message: ev.Message})
		}
		for _, s := range ev.Samples {
			if s.Value == nil {
				continue
			}
			sk := k + "\x00" + s.Name + labelsKey(s.Labels)
			se := r.series[sk]
			if se == nil {
				se = &series{}
				r.series[sk] = se
			}
			st := s.Time
			if st.IsZero() {
				st = at
			}
			if n := len(se.at); n > 0 && !st.After(se.at[n-1]) {
				continue
			}
			se.at = append(se.at, st)
			se.values = append(se.values, *s.Value)
			if len(se.values) > r.points {
				se.at = se.at[len(se.at)-r.points:]
				se.values = se.values[len(se.values)-r.points:]
			}
		}
	}
}

func labelsKey(l map[string]string) string {
	if len(l) == 0 {
		return ""
	}
	// Samples with labels (per-interface, per-device) are kept apart; the
	// order of a map is random, so the key is built sorted.
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sortStrings(keys)
	s := ""
	for _, k := range keys {
		s += "\x00" + k + "=" + l[k]
	}
	return s
}

func (r *Recorder) add(e TimelineEntry) {
	r.events = append(r.events, e)
	if len(r.events) > r.timeline {
		r.events = append(r.events[:0:0], r.events[len(r.events)-r.timeline:]...)
	}
}

// values returns a copy of a series' values, oldest first.
func (r *Recorder) values(check string, t targetRef, sample string) []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	se := r.series[targetKey(check, t)+"\x00"+sample]
	if se == nil {
		return nil
	}
	return append([]float64(nil), se.values...)
}

// sinceOf returns since when a check and target have their status.
func (r *Recorder) sinceOf(check string, t targetRef) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.since[targetKey(check, t)].at
}

// timelineEntries returns the timeline, newest first.
func (r *Recorder) timelineEntries() []TimelineEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]TimelineEntry, len(r.events))
	for i, e := range r.events {
		out[len(out)-1-i] = e
	}
	return out
}
