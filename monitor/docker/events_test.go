package docker_test

import (
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/docker"
	"github.com/stretchr/testify/assert"
)

var evT0 = time.Date(2015, 9, 6, 8, 18, 44, 0, time.UTC)

func ev(ns int64, action, id string, attrs ...string) container.Event {
	e := container.Event{Time: evT0.Add(time.Duration(ns)), Type: "container", Action: action, ActorID: id}
	if len(attrs) > 0 {
		e.Attributes = map[string]string{}
		for i := 0; i+1 < len(attrs); i += 2 {
			e.Attributes[attrs[i]] = attrs[i+1]
		}
	}
	return e
}

func TestEventKeyDistinguishesEveryField(t *testing.T) {
	base := ev(5, "die", "abc")
	keys := map[string]bool{docker.EventKey(base): true}
	for _, e := range []container.Event{
		ev(6, "die", "abc"),
		ev(5, "start", "abc"),
		ev(5, "die", "abd"),
		{Time: base.Time, Type: "network", Action: "die", ActorID: "abc"},
	} {
		k := docker.EventKey(e)
		assert.False(t, keys[k], "key %q collides", k)
		keys[k] = true
	}
	// Attributes are not part of the identity.
	assert.Equal(t, docker.EventKey(base), docker.EventKey(ev(5, "die", "abc", "exitCode", "1")))
}

// TestCheckpointDedupe replays sequences the way the engine does (since is
// inclusive) and checks which events are delivered.
func TestCheckpointDedupe(t *testing.T) {
	a5, b5, c7, d9 := ev(5, "create", "a"), ev(5, "start", "a"), ev(7, "die", "a"), ev(9, "destroy", "a")
	cases := []struct {
		name   string
		cp     docker.Checkpoint
		replay []container.Event
		want   []container.Event
		wantCP docker.Checkpoint
	}{
		{
			name:   "fresh checkpoint delivers everything",
			cp:     docker.Checkpoint{Time: evT0.UnixNano()},
			replay: []container.Event{a5, b5, c7},
			want:   []container.Event{a5, b5, c7},
			wantCP: docker.Checkpoint{Time: c7.Time.UnixNano(), Keys: []string{docker.EventKey(c7)}},
		},
		{
			name:   "the replayed boundary event is dropped",
			cp:     docker.Checkpoint{Time: c7.Time.UnixNano(), Keys: []string{docker.EventKey(c7)}},
			replay: []container.Event{c7, d9},
			want:   []container.Event{d9},
			wantCP: docker.Checkpoint{Time: d9.Time.UnixNano(), Keys: []string{docker.EventKey(d9)}},
		},
		{
			name:   "two events at the boundary nanosecond, one already handled (crash between them)",
			cp:     docker.Checkpoint{Time: a5.Time.UnixNano(), Keys: []string{docker.EventKey(a5)}},
			replay: []container.Event{a5, b5, c7},
			want:   []container.Event{b5, c7},
			wantCP: docker.Checkpoint{Time: c7.Time.UnixNano(), Keys: []string{docker.EventKey(c7)}},
		},
		{
			name:   "both boundary events handled",
			cp:     docker.Checkpoint{Time: a5.Time.UnixNano(), Keys: []string{docker.EventKey(a5), docker.EventKey(b5)}},
			replay: []container.Event{a5, b5},
			want:   nil,
			wantCP: docker.Checkpoint{Time: a5.Time.UnixNano(), Keys: []string{docker.EventKey(a5), docker.EventKey(b5)}},
		},
		{
			name:   "an event older than the checkpoint (live reordering) is new and does not move it back",
			cp:     docker.Checkpoint{Time: c7.Time.UnixNano(), Keys: []string{docker.EventKey(c7)}},
			replay: []container.Event{a5},
			want:   []container.Event{a5},
			wantCP: docker.Checkpoint{Time: c7.Time.UnixNano(), Keys: []string{docker.EventKey(c7)}},
		},
		{
			name:   "the same event twice in one stream is delivered once",
			cp:     docker.Checkpoint{Time: evT0.UnixNano()},
			replay: []container.Event{c7, c7},
			want:   []container.Event{c7},
			wantCP: docker.Checkpoint{Time: c7.Time.UnixNano(), Keys: []string{docker.EventKey(c7)}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cp := c.cp
			var got []container.Event
			for _, e := range c.replay {
				if cp.Seen(e) {
					continue
				}
				got = append(got, e)
				cp.Advance(e)
			}
			assert.Equal(t, c.want, got)
			assert.Equal(t, c.wantCP, cp)
		})
	}
}

func TestCanonicalFilters(t *testing.T) {
	assert.Equal(t, "", docker.CanonicalFilters(nil))
	assert.Equal(t, "event=die,start;type=container",
		docker.CanonicalFilters(map[string][]string{"type": {"container"}, "event": {"start", "die"}, "label": nil}))
}

func TestEventStatus(t *testing.T) {
	cases := []struct {
		e    container.Event
		want monitor.Status
	}{
		{ev(0, "start", "a"), monitor.OK},
		{ev(0, "die", "a", "exitCode", "0"), monitor.OK},
		{ev(0, "die", "a", "exitCode", "137"), monitor.Critical},
		{ev(0, "oom", "a"), monitor.Critical},
		{ev(0, "health_status: unhealthy", "a"), monitor.Warning},
		{ev(0, "health_status: healthy", "a"), monitor.OK},
		{ev(0, "pause", "a"), monitor.Warning},
		{container.Event{Type: "image", Action: "pull"}, monitor.OK},
		{container.Event{Type: docker.EventTypeMinato, Action: docker.ActionGap}, monitor.Warning},
		{container.Event{Type: docker.EventTypeMinato, Action: docker.ActionReconcile, Attributes: map[string]string{"state": "exited"}}, monitor.Critical},
		{container.Event{Type: docker.EventTypeMinato, Action: docker.ActionReconcile, Attributes: map[string]string{"state": "running"}}, monitor.OK},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, docker.EventStatus(c.e), "%s %s %v", c.e.Type, c.e.Action, c.e.Attributes)
	}
}

func TestEventTarget(t *testing.T) {
	eng := "unix:///var/run/docker.sock"
	assert.Equal(t, inventory.Target{Kind: inventory.KindContainer, ID: "a", Name: "web", Engine: eng},
		docker.EventTarget(ev(0, "start", "a", "name", "web", "image", "httpd"), eng))
	assert.Equal(t, inventory.KindContainer, docker.EventTarget(container.Event{Type: docker.EventTypeMinato, Action: docker.ActionReconcile, ActorID: "a"}, eng).Kind)
	assert.Equal(t, inventory.KindImage, docker.EventTarget(container.Event{Type: "image", ActorID: "sha256:1"}, eng).Kind)
	assert.Equal(t, inventory.Target{Kind: inventory.KindHost, ID: eng, Name: eng, Engine: eng}, docker.EventTarget(container.Event{Type: "network", ActorID: "n"}, eng))
}

// step is one event fed to the analyzer at a second offset, and the
// findings expected from it.
type step struct {
	sec    float64
	e      container.Event
	status []monitor.Status
	msg    []string
	kind   []docker.FindingKind
}

func at(sec float64, action, id string, attrs ...string) container.Event {
	return ev(int64(sec*float64(time.Second)), action, id, attrs...)
}

func TestEventAnalyzer(t *testing.T) {
	crit, ok, warn := monitor.Critical, monitor.OK, monitor.Warning
	cases := []struct {
		name  string
		cfg   docker.AnalyzerConfig
		steps []step
	}{
		{"restart loop: three die→start within 60s", docker.AnalyzerConfig{}, []step{
			{0, at(0, "start", "a"), nil, nil, nil},
			{1, at(1, "die", "a", "exitCode", "1"), []monitor.Status{crit}, []string{"died with exit code 1"}, []docker.FindingKind{docker.FindingDied}},
			{2, at(2, "start", "a"), nil, nil, nil},
			{3, at(3, "die", "a", "exitCode", "1"), []monitor.Status{crit}, nil, nil},
			{4, at(4, "start", "a"), nil, nil, nil},
			{5, at(5, "die", "a", "exitCode", "1"), []monitor.Status{crit}, nil, nil},
			{6, at(6, "start", "a"), []monitor.Status{crit}, []string{"restart loop: 3 restarts in 60s"}, []docker.FindingKind{docker.FindingRestartLoop}},
		}},
		{"restarts spread beyond the window are no loop (RestartCount would say 3)", docker.AnalyzerConfig{}, []step{
			{0, at(0, "die", "a", "exitCode", "1"), []monitor.Status{crit}, nil, nil},
			{1, at(1, "start", "a"), nil, nil, nil},
			{40, at(40, "die", "a", "exitCode", "1"), []monitor.Status{crit}, nil, nil},
			{41, at(41, "start", "a"), nil, nil, nil},
			{80, at(80, "die", "a", "exitCode", "1"), []monitor.Status{crit}, nil, nil},
			{81, at(81, "start", "a"), nil, nil, nil}, // the one at 1s is out of the window
			{120, at(120, "die", "a", "exitCode", "1"), []monitor.Status{crit}, nil, nil},
			{121, at(121, "start", "a"), nil, nil, nil},
		}},
		{"custom threshold and window", docker.AnalyzerConfig{RestartWindow: 10 * time.Second, RestartThreshold: 2}, []step{
			{0, at(0, "die", "a", "exitCode", "2"), []monitor.Status{crit}, nil, nil},
			{1, at(1, "start", "a"), nil, nil, nil},
			{2, at(2, "die", "a", "exitCode", "2"), []monitor.Status{crit}, nil, nil},
			{3, at(3, "start", "a"), []monitor.Status{crit}, []string{"restart loop: 2 restarts in 10s"}, nil},
		}},
		{"start without a die before it (first start, docker start) is not a restart", docker.AnalyzerConfig{RestartThreshold: 1}, []step{
			{0, at(0, "create", "a"), nil, nil, nil},
			{1, at(1, "start", "a"), nil, nil, nil},
		}},
		{"containers are tracked separately", docker.AnalyzerConfig{RestartThreshold: 2}, []step{
			{0, at(0, "die", "a", "exitCode", "1"), []monitor.Status{crit}, nil, nil},
			{1, at(1, "start", "a"), nil, nil, nil},
			{2, at(2, "die", "b", "exitCode", "1"), []monitor.Status{crit}, nil, nil},
			{3, at(3, "start", "b"), nil, nil, nil},
		}},
		{"oom event, then the die joined with it", docker.AnalyzerConfig{}, []step{
			{0, at(0, "oom", "a"), []monitor.Status{crit}, []string{"out of memory: the kernel OOM killer killed a process in the container"}, []docker.FindingKind{docker.FindingOOM}},
			{0.1, at(0.1, "die", "a", "exitCode", "137"), []monitor.Status{crit}, []string{"died with exit code 137, OOM killed"}, []docker.FindingKind{docker.FindingOOM}},
		}},
		{"die with State.OOMKilled and no oom event", docker.AnalyzerConfig{}, []step{
			{0, at(0, "die", "a", "exitCode", "137", "oomKilled", "true"), []monitor.Status{crit}, []string{"died with exit code 137, OOM killed"}, nil},
		}},
		{"docker stop: kill then die is a requested stop", docker.AnalyzerConfig{}, []step{
			{0, at(0, "kill", "a", "signal", "15"), nil, nil, nil},
			{0.2, at(0.2, "die", "a", "exitCode", "143"), []monitor.Status{ok}, []string{"stopped on request (signal 15), exit code 143"}, nil},
			{0.3, at(0.3, "stop", "a"), nil, nil, nil},
			{120, at(120, "die", "a", "exitCode", "143"), []monitor.Status{crit}, []string{"died with exit code 143"}, nil},
		}},
		{"clean exit", docker.AnalyzerConfig{}, []step{
			{0, at(0, "die", "a", "exitCode", "0"), []monitor.Status{ok}, []string{"exited with code 0"}, nil},
		}},
		{"health transitions", docker.AnalyzerConfig{}, []step{
			{0, at(0, "health_status: healthy", "a"), []monitor.Status{ok}, []string{"health: unknown → healthy"}, []docker.FindingKind{docker.FindingHealth}},
			{1, at(1, "health_status: unhealthy", "a"), []monitor.Status{warn}, []string{"health: healthy → unhealthy"}, nil},
			{2, at(2, "health_status: healthy", "a"), []monitor.Status{ok}, []string{"health: unhealthy → healthy"}, nil},
		}},
		{"destroy forgets the container", docker.AnalyzerConfig{RestartThreshold: 1}, []step{
			{0, at(0, "die", "a", "exitCode", "1"), []monitor.Status{crit}, nil, nil},
			{1, at(1, "destroy", "a"), nil, nil, nil},
			{2, at(2, "start", "a"), nil, nil, nil},
		}},
		{"other types are ignored; a gap is a warning", docker.AnalyzerConfig{}, []step{
			{0, container.Event{Type: "image", Action: "pull"}, nil, nil, nil},
			{1, container.Event{Type: docker.EventTypeMinato, Action: docker.ActionGap, Attributes: map[string]string{"since": "x", "reason": "y"}},
				[]monitor.Status{warn}, []string{"events may have been lost since x: y"}, []docker.FindingKind{docker.FindingGap}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := docker.NewEventAnalyzer(c.cfg)
			for _, s := range c.steps {
				fs := a.Observe(s.e)
				var st []monitor.Status
				var msg []string
				var kind []docker.FindingKind
				for _, f := range fs {
					st, msg, kind = append(st, f.Status), append(msg, f.Message), append(kind, f.Kind)
				}
				assert.Equal(t, s.status, st, "at %vs %s", s.sec, s.e.Action)
				if s.msg != nil {
					assert.Equal(t, s.msg, msg, "at %vs %s", s.sec, s.e.Action)
				}
				if s.kind != nil {
					assert.Equal(t, s.kind, kind, "at %vs %s", s.sec, s.e.Action)
				}
			}
		})
	}
}
