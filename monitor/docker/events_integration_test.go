package docker_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	dcontainer "github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
	"github.com/minato-ops/minato/monitor/docker"
	"github.com/minato-ops/minato/monitor/monitortest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// oracle is the engine's own list of this test's events: a live
// subscription opened before the test acts (live subscribers do not
// depend on the 256-event buffer).
type oracle struct {
	mu     sync.Mutex
	events []dcontainer.Event
	cancel context.CancelFunc
	done   chan struct{}
}

func watchOracle(t *testing.T, c *dcontainer.Client, filters map[string][]string) *oracle {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	o := &oracle{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(o.done)
		// Since now: what happens before the subscription is established
		// comes from the engine's buffer.
		_ = c.Events(ctx, dcontainer.EventsOptions{Since: time.Now(), Filters: filters}, func(e dcontainer.Event) error {
			o.mu.Lock()
			o.events = append(o.events, e)
			o.mu.Unlock()
			return nil
		})
	}()
	t.Cleanup(func() { o.stop() })
	return o
}

func (o *oracle) stop() { o.cancel(); <-o.done }

func keys(es []dcontainer.Event) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		if e.Type == docker.EventTypeMinato {
			continue
		}
		out = append(out, docker.EventKey(e))
	}
	return out
}

func labelFilter(h *dockertest.Harness) map[string][]string {
	return map[string][]string{"type": {"container"}, "label": {dockertest.LabelKey + "=" + h.RunID()}}
}

// churn runs a container and stops it at once: create, start, kill
// (SIGTERM), kill (SIGKILL, unless SIGTERM was enough), die, stop. It
// waits until o has seen the stop event (which follows the API call's
// return) and returns all o's events by then.
func churn(t *testing.T, h *dockertest.Harness, c *dcontainer.Client, o *oracle) (dockertest.Container, []dcontainer.Event) {
	t.Helper()
	ctr := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	zero := time.Duration(0)
	_, err := c.Stop(context.Background(), ctr.ID, dcontainer.StopOptions{Grace: &zero})
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for {
		o.mu.Lock()
		got := append([]dcontainer.Event(nil), o.events...)
		o.mu.Unlock()
		if n := len(got); n > 0 && got[n-1].ActorID == ctr.ID && got[n-1].Action == "stop" {
			return ctr, got
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stop event for %.12s: %v", ctr.ID, keys(got))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newStream(t *testing.T, c *dcontainer.Client, dir string, o docker.EventStreamOptions) *docker.EventStream {
	t.Helper()
	store, err := baseline.Open(dir)
	require.NoError(t, err)
	s, err := docker.NewEventStream(c, store, "ev", o)
	require.NoError(t, err)
	return s
}

func collect(out *[]dcontainer.Event) func(dcontainer.Event) error {
	return func(e dcontainer.Event) error { *out = append(*out, e); return nil }
}

func TestEventForwardTwiceIntegration(t *testing.T) {
	h, c := engine(t)
	f := labelFilter(h)
	dir := t.TempDir()
	s := newStream(t, c, dir, docker.EventStreamOptions{Filters: f})
	ctx := context.Background()

	// The first run of a key forwards nothing: it sets the checkpoint.
	var got []dcontainer.Event
	require.NoError(t, s.Forward(ctx, time.Time{}, collect(&got)))
	assert.Empty(t, got)
	cp, ok, err := s.Checkpoint()
	require.NoError(t, err)
	require.True(t, ok)
	info, err := c.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, info.ID, cp.EngineID)

	o := watchOracle(t, c, f)
	_, engineFirst := churn(t, h, c, o)
	require.NoError(t, s.Forward(ctx, time.Time{}, collect(&got)))
	first := len(got)
	assert.Equal(t, keys(engineFirst), keys(got), "run 2 forwards exactly the engine's events")

	_, all := churn(t, h, c, o)
	require.NoError(t, s.Forward(ctx, time.Time{}, collect(&got)))
	assert.Equal(t, keys(all), keys(got), "run 3 forwards only the new events: each event once overall")
	assert.Len(t, got[first:], len(all)-len(engineFirst))
	for _, e := range got {
		assert.NotEqual(t, docker.EventTypeMinato, e.Type, "no gap expected: %v", e)
	}

	// A run with nothing new forwards nothing, and the checkpoint keeps
	// the boundary event (the proof of continuity for the next run).
	var none []dcontainer.Event
	require.NoError(t, s.Forward(ctx, time.Time{}, collect(&none)))
	assert.Empty(t, none)
	cp, _, err = s.Checkpoint()
	require.NoError(t, err)
	last := got[len(got)-1]
	assert.Equal(t, last.Time.UnixNano(), cp.Time)
	assert.Contains(t, cp.Keys, docker.EventKey(last))
}

// TestEventForwardFailingSinkIntegration: fn fails after k events; the next
// run delivers the rest, each event exactly once overall.
func TestEventForwardFailingSinkIntegration(t *testing.T) {
	h, c := engine(t)
	f := labelFilter(h)
	s := newStream(t, c, t.TempDir(), docker.EventStreamOptions{Filters: f, SaveEvery: 4})
	ctx := context.Background()
	require.NoError(t, s.Forward(ctx, time.Time{}, collect(new([]dcontainer.Event))))

	o := watchOracle(t, c, f)
	churn(t, h, c, o)
	_, want := churn(t, h, c, o)
	require.GreaterOrEqual(t, len(want), 10)

	sinkDown := errors.New("sink down")
	var got []dcontainer.Event
	for _, k := range []int{3, 1, 0, 4} { // each run delivers k events, then fails
		n := 0
		err := s.Forward(ctx, time.Time{}, func(e dcontainer.Event) error {
			if n == k {
				return sinkDown
			}
			n++
			got = append(got, e)
			return nil
		})
		require.ErrorIs(t, err, sinkDown)
	}
	require.NoError(t, s.Forward(ctx, time.Time{}, collect(&got)))
	assert.Equal(t, keys(want), keys(got), "every event exactly once across failing runs")
}

// TestEventGapIntegration: a checkpoint whose boundary event the engine no
// longer has, or from another engine, yields a gap and a reconcile.
func TestEventGapIntegration(t *testing.T) {
	h, c := engine(t)
	f := labelFilter(h)
	ctx := context.Background()
	ctr, _ := churn(t, h, c, watchOracle(t, c, f))
	running := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	info, err := c.Info(ctx)
	require.NoError(t, err)

	for _, tc := range []struct {
		name   string
		cp     docker.Checkpoint
		reason string
	}{
		{"boundary event lost", docker.Checkpoint{Time: time.Now().Add(-time.Hour).UnixNano(), Keys: []string{"1|container|gone|die"}, EngineID: info.ID, Filters: docker.CanonicalFilters(f)},
			"no longer in the engine's buffer"},
		{"engine changed", docker.Checkpoint{Time: time.Now().Add(-time.Hour).UnixNano(), EngineID: "OTHER:ENGINE", Filters: docker.CanonicalFilters(f)},
			"engine ID changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			store, err := baseline.Open(dir)
			require.NoError(t, err)
			b, _ := json.Marshal(tc.cp)
			require.NoError(t, os.WriteFile(store.Path("ev.events"), b, 0o600))
			s, err := docker.NewEventStream(c, store, "ev", docker.EventStreamOptions{Filters: f})
			require.NoError(t, err)

			var got []dcontainer.Event
			require.NoError(t, s.Forward(ctx, time.Time{}, collect(&got)))
			require.NotEmpty(t, got)
			assert.Equal(t, docker.ActionGap, got[0].Action)
			assert.Contains(t, got[0].Attributes["reason"], tc.reason)
			states := map[string]string{}
			for _, e := range got[1:] {
				if e.Action == docker.ActionReconcile {
					states[e.ActorID] = e.Attributes["state"]
				}
			}
			assert.Equal(t, map[string]string{ctr.ID: "exited", running.ID: "running"}, states, "reconcile lists the filter's containers")

			// The gap is acknowledged: the next run is quiet.
			var again []dcontainer.Event
			require.NoError(t, s.Forward(ctx, time.Time{}, collect(&again)))
			assert.Empty(t, again)
		})
	}
}

// TestEventFollowIntegration: Follow streams, stops on ctx cancel with the
// checkpoint saved, and a later Forward delivers no duplicates.
func TestEventFollowIntegration(t *testing.T) {
	h, c := engine(t)
	f := labelFilter(h)
	s := newStream(t, c, t.TempDir(), docker.EventStreamOptions{Filters: f})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	var got []dcontainer.Event
	done := make(chan error, 1)
	go func() {
		done <- s.Follow(ctx, func(e dcontainer.Event) error {
			mu.Lock()
			got = append(got, e)
			mu.Unlock()
			return nil
		})
	}()
	o := watchOracle(t, c, f)
	time.Sleep(300 * time.Millisecond) // let Follow subscribe
	_, want := churn(t, h, c, o)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	require.NoError(t, <-done)
	assert.Less(t, time.Since(start), 2*time.Second, "Follow returns promptly on cancel")
	mu.Lock()
	assert.Equal(t, keys(want), keys(got))
	mu.Unlock()

	var after []dcontainer.Event
	require.NoError(t, s.Forward(context.Background(), time.Time{}, collect(&after)))
	assert.Empty(t, after, "Follow saved its checkpoint")
}

// TestEventWatcherIntegration: restart loop, death with exit code and OOM
// kill from real events.
func TestEventWatcherIntegration(t *testing.T) {
	h, c := engine(t)
	f := labelFilter(h)
	s := newStream(t, c, t.TempDir(), docker.EventStreamOptions{Filters: f})
	w := docker.NewEventWatcher(s, docker.AnalyzerConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	type obs struct {
		t inventory.Target
		r monitor.Result
	}
	var mu sync.Mutex
	var got []obs
	done := make(chan error, 1)
	go func() {
		done <- w.Watch(ctx, func(t inventory.Target, r monitor.Result) {
			mu.Lock()
			got = append(got, obs{t, r})
			mu.Unlock()
		})
	}()
	time.Sleep(300 * time.Millisecond)

	crash := h.Run(t, dockertest.RunOptions{Args: []string{"exit", "3"}})
	h.WaitState(t, crash.ID, "exited", 10*time.Second)
	for range 3 {
		_, err := c.Start(ctx, crash.ID, dcontainer.StartOptions{})
		require.NoError(t, err)
		h.WaitState(t, crash.ID, "exited", 10*time.Second)
	}
	oom := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "300ms", "--", "alloc", "128", "--", "sleep", "forever"}, Memory: 32 << 20})

	find := func(id, substr string) (monitor.Result, bool) {
		mu.Lock()
		defer mu.Unlock()
		for _, o := range got {
			if o.t.ID == id && o.t.Kind == inventory.KindContainer && strings.Contains(o.r.Message, substr) {
				return o.r, true
			}
		}
		return monitor.Result{}, false
	}
	waitFor := func(id, substr string) monitor.Result {
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if r, ok := find(id, substr); ok {
				return r
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no result %q for %.12s", substr, id)
		return monitor.Result{}
	}
	r := waitFor(crash.ID, "died with exit code 3")
	assert.Equal(t, monitor.Critical, r.Status)
	assert.Equal(t, 3.0, sample(t, r, "container_exit_code"))
	r = waitFor(crash.ID, "restart loop: 3 restarts in 60s")
	assert.Equal(t, monitor.Critical, r.Status)
	r = waitFor(oom.ID, "OOM killed")
	assert.Equal(t, monitor.Critical, r.Status)
	cancel()
	require.NoError(t, <-done)
}

// TestEventWatcherRunnerIntegration: the EventWatcher as the Monitor of a
// watched Check; the Runner reports a container's death as a Transition
// and its next start as another.
func TestEventWatcherRunnerIntegration(t *testing.T) {
	h, c := engine(t)
	s := newStream(t, c, t.TempDir(), docker.EventStreamOptions{Filters: labelFilter(h)})
	w := docker.NewEventWatcher(s, docker.AnalyzerConfig{})

	var mu sync.Mutex
	var trs []monitor.Transition
	sink := &monitortest.RecordingSink{}
	r, err := monitor.NewRunner(monitor.RunnerConfig{}, inventory.Static(), monitor.WithSink(sink),
		monitor.WithTransitions(func(_ context.Context, tr monitor.Transition) {
			mu.Lock()
			trs = append(trs, tr)
			mu.Unlock()
		}))
	require.NoError(t, err)
	// No thresholds: the watcher judges each event itself, and a
	// threshold on container_exit_code would find no such sample in the
	// events other than die (Unknown).
	require.NoError(t, r.Add(monitor.Check{Name: "events", Monitor: w, Targets: inventory.Selector{Kind: inventory.KindContainer}}))
	_, err = r.CheckOnce(context.Background(), "events")
	assert.ErrorContains(t, err, "watchers have no one-shot round")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	time.Sleep(300 * time.Millisecond)

	crash := h.Run(t, dockertest.RunOptions{Args: []string{"exit", "3"}})
	h.WaitState(t, crash.ID, "exited", 10*time.Second)
	transition := func(to monitor.Status) monitor.Transition {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			for _, tr := range trs {
				if tr.Target.ID == crash.ID && tr.Status == to {
					mu.Unlock()
					return tr
				}
			}
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no transition to %s for %.12s", to, crash.ID)
		return monitor.Transition{}
	}
	tr := transition(monitor.Critical)
	assert.Equal(t, monitor.OK, tr.From)
	assert.Equal(t, inventory.KindContainer, tr.Target.Kind)
	assert.Equal(t, crash.Name, tr.Target.Name)
	assert.Equal(t, "container die: died with exit code 3", tr.Message)

	_, err = c.Start(ctx, crash.ID, dcontainer.StartOptions{})
	require.NoError(t, err)
	tr = transition(monitor.OK)
	assert.Equal(t, monitor.Critical, tr.From)
	assert.Equal(t, "container start", tr.Message)

	var found bool
	for _, ev := range r.Evaluations() {
		assert.Equal(t, inventory.KindContainer, ev.Target.Kind, "the selector keeps containers only")
		found = found || ev.Target.ID == crash.ID
	}
	assert.True(t, found, "the container's latest Evaluation is kept")
	for _, w := range sink.Writes() {
		assert.Len(t, w, 1, "one Write per event")
	}
}

// TestEventWatcherConformanceIntegration runs the Watcher conformance
// suite against the real engine, a container's death as the trigger.
func TestEventWatcherConformanceIntegration(t *testing.T) {
	h, c := engine(t)
	s := newStream(t, c, t.TempDir(), docker.EventStreamOptions{Filters: labelFilter(h)})
	w := docker.NewEventWatcher(s, docker.AnalyzerConfig{})
	monitortest.TestWatcher(t, w, func(context.Context) error {
		h.Run(t, dockertest.RunOptions{Args: []string{"exit", "3"}})
		return nil
	}, monitortest.ObserveWithin(15*time.Second), monitortest.PromptWithin(5*time.Second))
	_, err := w.Check(context.Background(), inventory.Target{})
	assert.ErrorIs(t, err, monitor.ErrNotSupported)
	assert.EqualError(t, err, "monitor: not supported here: events are watched, not polled")
}

// TestEventBufferOverflowIntegration: more than 256 engine events between
// two runs push the boundary event out of the engine's buffer; the second
// run reports a gap and reconciles.
func TestEventBufferOverflowIntegration(t *testing.T) {
	h, c := engine(t)
	f := labelFilter(h)
	s := newStream(t, c, t.TempDir(), docker.EventStreamOptions{Filters: f})
	ctx := context.Background()
	require.NoError(t, s.Forward(ctx, time.Time{}, collect(new([]dcontainer.Event))))
	o := watchOracle(t, c, f)
	churn(t, h, c, o)
	var got []dcontainer.Event
	require.NoError(t, s.Forward(ctx, time.Time{}, collect(&got)))
	require.NotEmpty(t, got)
	require.NotEqual(t, docker.ActionGap, got[0].Action)

	// SIGWINCH is ignored by the workload; each kill is one event.
	ctr := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	for range docker.EngineEventBuffer + 10 {
		require.NoError(t, c.Kill(ctx, ctr.ID, "SIGWINCH"))
	}
	got = nil
	require.NoError(t, s.Forward(ctx, time.Time{}, collect(&got)))
	require.NotEmpty(t, got)
	assert.Equal(t, docker.ActionGap, got[0].Action)
	assert.Contains(t, got[0].Attributes["reason"], "no longer in the engine's buffer")
	var reconciled []string
	for _, e := range got {
		if e.Action == docker.ActionReconcile {
			reconciled = append(reconciled, e.ActorID)
		}
	}
	assert.Contains(t, reconciled, ctr.ID)

	got = nil
	require.NoError(t, s.Forward(ctx, time.Time{}, collect(&got)))
	assert.Empty(t, got, "the gap is reported once")
}
