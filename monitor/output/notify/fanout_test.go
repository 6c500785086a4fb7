package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/notify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// queued is a Notifier on a Queue: Notify enqueues the Evaluation; the
// Queue provides Flush, Stats and Close.
type queued struct {
	*notify.Queue[monitor.Evaluation]
}

func (n queued) Notify(ctx context.Context, ev monitor.Evaluation) error {
	return n.Enqueue(ctx, ev)
}

var _ notify.Notifier = queued{}

// evaluations records what a deliver function is given.
type evaluations struct {
	mu  sync.Mutex
	got []string
}

func (e *evaluations) deliver(_ context.Context, ev monitor.Evaluation) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, ev.Check+" "+ev.Target.Name+" "+ev.Status.String())
	return nil
}

func (e *evaluations) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.got...)
}

func newQueued(t *testing.T, deliver func(context.Context, monitor.Evaluation) error) queued {
	t.Helper()
	q, err := notify.NewQueue(notify.QueueConfig{Retries: 0}, deliver)
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close(context.Background()) })
	return queued{q}
}

// failing is a synchronous Notifier whose every Notify fails.
type failing struct{ c notify.Counter }

func (f *failing) Notify(context.Context, monitor.Evaluation) error {
	return f.c.Count(errors.New("receiver unreachable"))
}
func (f *failing) Flush(context.Context) error { return nil }
func (f *failing) Stats() notify.Stats         { return f.c.Stats() }
func (f *failing) Close(context.Context) error { return nil }

var web = inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57", Name: "web-1"}

func ev(check string, t inventory.Target, st monitor.Status) monitor.Evaluation {
	return monitor.Evaluation{Check: check, Target: t, Status: st, Observed: st}
}

func TestFanOutWrite(t *testing.T) {
	var a, c evaluations
	f := notify.NewFanOut(notify.FanOutConfig{})
	require.NoError(t, f.Add("a", newQueued(t, a.deliver)))
	require.NoError(t, f.Add("b", &failing{}))
	require.NoError(t, f.Add("c", newQueued(t, c.deliver)))

	err := f.Write(context.Background(), []monitor.Evaluation{ev("cpu", web, monitor.OK), ev("cpu", web, monitor.Critical)})
	require.Error(t, err)
	assert.Equal(t, "b: receiver unreachable\nreceiver unreachable", err.Error(), "one notifier's failures, joined")
	require.NoError(t, f.Flush(context.Background()))
	want := []string{"cpu web-1 OK", "cpu web-1 CRITICAL"}
	assert.Equal(t, want, a.list(), "b's failure does not stop a")
	assert.Equal(t, want, c.list(), "nor c, after it")

	assert.Equal(t, []notify.NamedStats{
		{Name: "a", Stats: notify.Stats{Sent: 2}},
		{Name: "b", Stats: notify.Stats{Dropped: 2}},
		{Name: "c", Stats: notify.Stats{Sent: 2}},
	}, f.Stats())
	b, err := json.Marshal(f.Stats()[1])
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"b","sent":0,"dropped":2,"pending":0}`, string(b))

	require.NoError(t, f.Close(context.Background()))
	assert.NoError(t, f.Close(context.Background()), "idempotent")
	err = f.Write(context.Background(), []monitor.Evaluation{ev("cpu", web, monitor.OK)})
	assert.ErrorIs(t, err, notify.ErrClosed, "the notifiers are closed")
	assert.EqualValues(t, 1, f.Stats()[0].Dropped, "and count the refusal")
}

func TestFanOutTransition(t *testing.T) {
	db := inventory.Target{Kind: inventory.KindContainer, ID: "1eae26f41927", Name: "db"}
	noBaseline := func(check string, tgt inventory.Target, from monitor.Status) monitor.Transition {
		e := ev(check, tgt, monitor.Unknown)
		e.Err = fmt.Errorf("cpu: %w", monitor.ErrNoBaseline)
		return monitor.Transition{Evaluation: e, From: from}
	}
	change := func(check string, tgt inventory.Target, from, to monitor.Status) monitor.Transition {
		return monitor.Transition{Evaluation: ev(check, tgt, to), From: from}
	}
	script := []monitor.Transition{
		noBaseline("cpu", web, monitor.OK),                   // start: held
		change("cpu", web, monitor.Unknown, monitor.OK),      // back to what was seen: held
		noBaseline("cpu", db, monitor.OK),                    // held
		change("cpu", db, monitor.Unknown, monitor.Critical), // news: passed
		noBaseline("cpu", db, monitor.Critical),              // a counter reset: held
		change("cpu", db, monitor.Unknown, monitor.Critical), // as seen: held
		change("memory", web, monitor.OK, monitor.Warning),   // passed
		change("memory", web, monitor.Warning, monitor.OK),   // passed
		change("cpu", web, monitor.OK, monitor.Unknown),      // an Unknown for another reason: passed
		change("cpu", web, monitor.Unknown, monitor.Warning), // passed
		noBaseline("cpu", web, monitor.Warning),              // held
		change("cpu", web, monitor.Unknown, monitor.OK),      // news (Warning to OK): passed
		change("cpu", web, monitor.OK, monitor.Critical),     // passed
	}
	run := func(cfg notify.FanOutConfig) []string {
		var rec evaluations
		f := notify.NewFanOut(cfg)
		require.NoError(t, f.Add("rec", newQueued(t, rec.deliver)))
		for _, tr := range script {
			f.Transition(context.Background(), tr)
		}
		require.NoError(t, f.Close(context.Background()))
		return rec.list()
	}
	assert.Equal(t, []string{
		"cpu db CRITICAL",
		"memory web-1 WARNING",
		"memory web-1 OK",
		"cpu web-1 UNKNOWN",
		"cpu web-1 WARNING",
		"cpu web-1 OK",
		"cpu web-1 CRITICAL",
	}, run(notify.FanOutConfig{}))
	assert.Len(t, run(notify.FanOutConfig{NotifyNoBaseline: true}), len(script), "everything passed on")
}

func TestFanOutTransitionLogsFailures(t *testing.T) {
	log, logged := logger(t)
	var rec evaluations
	f := notify.NewFanOut(notify.FanOutConfig{}, notify.WithLogger(log))
	require.NoError(t, f.Add("trap", &failing{}))
	require.NoError(t, f.Add("file", newQueued(t, rec.deliver)))
	f.Transition(context.Background(), monitor.Transition{Evaluation: ev("cpu", web, monitor.Critical), From: monitor.OK})
	require.NoError(t, f.Flush(context.Background()))
	assert.Equal(t, []string{"cpu web-1 CRITICAL"}, rec.list())
	assert.Contains(t, logged(), `level=WARN msg="notify: notification failed" notifier=trap check=cpu target="container web-1 (0e0d8cdf3a57)" status=CRITICAL error="receiver unreachable"`)
	assert.Equal(t, 1, strings.Count(logged(), "\n"), "only the failure is logged")
}

func TestFanOutAdd(t *testing.T) {
	f := notify.NewFanOut(notify.FanOutConfig{})
	n := &failing{}
	require.NoError(t, f.Add("a", n))
	assert.EqualError(t, f.Add("a", n), `notify: add "a": the name is already used`)
	assert.EqualError(t, f.Add("", n), "notify: add: empty name")
	assert.EqualError(t, f.Add("b", nil), `notify: add "b": nil notifier`)
	require.NoError(t, f.Close(context.Background()))
	assert.ErrorIs(t, f.Add("c", n), notify.ErrClosed)
	assert.Len(t, f.Stats(), 1)
}

// TestFanOutCloseConcurrently closes two hanging notifiers: together they
// take the context's time once, not twice.
func TestFanOutCloseConcurrently(t *testing.T) {
	hang := func(ctx context.Context, _ monitor.Evaluation) error { <-ctx.Done(); return ctx.Err() }
	f := notify.NewFanOut(notify.FanOutConfig{})
	var ok evaluations
	for _, name := range []string{"hook-1", "hook-2"} {
		require.NoError(t, f.Add(name, newQueued(t, hang)))
	}
	require.NoError(t, f.Add("file", newQueued(t, ok.deliver)))
	require.NoError(t, f.Write(context.Background(), []monitor.Evaluation{ev("cpu", web, monitor.Critical)}))

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := f.Close(ctx)
	took := time.Since(start)
	assert.Less(t, took, 450*time.Millisecond)
	require.ErrorIs(t, err, notify.ErrUndelivered)
	assert.Contains(t, err.Error(), "hook-1: notify: messages not delivered: 1 messages")
	assert.Contains(t, err.Error(), "hook-2: notify: messages not delivered: 1 messages")
	assert.NotContains(t, err.Error(), "file")
	assert.Equal(t, []string{"cpu web-1 CRITICAL"}, ok.list())
	assert.Equal(t, []notify.NamedStats{
		{Name: "hook-1", Stats: notify.Stats{Dropped: 1}},
		{Name: "hook-2", Stats: notify.Stats{Dropped: 1}},
		{Name: "file", Stats: notify.Stats{Sent: 1}},
	}, f.Stats())
}

func TestAsSink(t *testing.T) {
	n := &failing{}
	err := notify.AsSink(n).Write(context.Background(), []monitor.Evaluation{ev("a", web, monitor.OK), ev("b", web, monitor.OK)})
	assert.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), 2, "every Evaluation tried")
	assert.Equal(t, notify.Stats{Dropped: 2}, n.Stats())
}
