package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/jsonout"
	"github.com/minato-ops/minato/monitor/output/notify"
	"github.com/minato-ops/minato/monitor/output/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSink(t *testing.T) {
	t0 := time.Date(2015, 9, 5, 21, 59, 8, 0, time.UTC)
	evs := []monitor.Evaluation{
		{
			Check: "cpu", Target: web, Status: monitor.Critical, Observed: monitor.Critical,
			Message: "cpu_percent=95% (critical 90)", Took: 12 * time.Millisecond,
			Result: monitor.Result{Time: t0, Samples: []monitor.Sample{
				{Name: "cpu_percent", Value: 95, Unit: monitor.Percent, Mode: monitor.ModeOneShot},
				{Name: "cpu_percent", Value: math.NaN(), Unit: monitor.Percent},
			}},
		},
		{Check: "cpu", Target: web, Status: monitor.OK, Observed: monitor.Unknown, Message: "no baseline yet", Err: monitor.ErrNoBaseline},
	}
	rec := newRecorder(nil)
	srv := newServer(t, rec)
	s := newSender(t, fast(srv))
	require.NoError(t, webhook.NewSink(s).Write(context.Background(), evs))

	first := rec.next(t)
	assert.JSONEq(t, `{"check":"cpu","target":{"kind":"container","id":"0e0d8cdf3a57","name":"web-1"},
		"status":"CRITICAL","exit_code":2,"observed":"CRITICAL","message":"cpu_percent=95% (critical 90)",
		"time":"2015-09-05T21:59:08Z","took_seconds":0.012,"samples":[
		{"name":"cpu_percent","value":95,"unit":"%","time":"2015-09-05T21:59:08Z","mode":"oneshot"},
		{"name":"cpu_percent","value":null,"unit":"%","time":"2015-09-05T21:59:08Z"}]}`, first.Body)
	assert.Equal(t, "application/json", first.Header.Get("Content-Type"))
	for i, r := range []request{first, rec.next(t)} {
		want, err := json.Marshal(jsonout.NewEvaluation(evs[i]))
		require.NoError(t, err)
		assert.Equal(t, string(want), r.Body, "jsonout's shape, OK ones included")
	}
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, [3]uint64{2, 0, 0}, stats(s))
}

func TestSinkJoinsErrors(t *testing.T) {
	release := make(chan struct{})
	rec := newRecorder(func(_ int, _ http.ResponseWriter, _ *http.Request) { <-release })
	srv := newServer(t, rec)
	defer close(release)
	c := fast(srv)
	c.BufferSize = 1
	s := newSender(t, c)
	evs := []monitor.Evaluation{{Check: "a"}, {Check: "b"}, {Check: "c"}}
	err := webhook.NewSink(s).Write(context.Background(), evs)
	require.ErrorIs(t, err, webhook.ErrBufferFull)
	assert.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), 2)
	assert.Equal(t, uint64(2), s.Dropped())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.True(t, errors.Is(webhook.NewSink(s).Write(ctx, evs[:1]), context.Canceled))
}

var web = inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57", Name: "web-1"}

func TestNotifier(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(nil)
	srv := newServer(t, rec)
	s := newSender(t, fast(srv))
	var n notify.Notifier = webhook.NewNotifier(s)
	ev := monitor.Evaluation{Check: "cpu", Target: web, Status: monitor.OK, Observed: monitor.OK, Message: "cpu_percent=5%"}
	require.NoError(t, n.Notify(ctx, ev), "OK ones are posted too")
	require.NoError(t, n.Flush(ctx))
	assert.Equal(t, notify.Stats{Sent: 1}, n.Stats(), "Flush returned: answered")
	want, err := json.Marshal(jsonout.NewEvaluation(ev))
	require.NoError(t, err)
	assert.Equal(t, string(want), rec.next(t).Body)

	require.NoError(t, n.Close(ctx))
	assert.ErrorIs(t, s.Send(ctx, "x"), webhook.ErrClosed, "closing the Notifier closes the Sender")
	assert.Equal(t, notify.Stats{Sent: 1, Dropped: 1}, n.Stats())
}

func TestFlushWaitsForRetries(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	srv := newServer(t, rec)
	s := newSender(t, fast(srv))
	require.NoError(t, s.Send(ctx, 1))
	require.NoError(t, s.Send(ctx, 2))
	require.NoError(t, s.Flush(ctx))
	assert.Equal(t, notify.Stats{Sent: 2}, s.Stats())
	assert.Len(t, rec.got, 5, "1 was tried 4 times, then 2 once")

	hang := make(chan struct{})
	defer close(hang)
	slow := newServer(t, newRecorder(func(int, http.ResponseWriter, *http.Request) { <-hang }))
	s2 := newSender(t, fast(slow))
	require.NoError(t, s2.Send(ctx, 3))
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err := s2.Flush(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "1 messages still wait for "+slow.URL)
	assert.Equal(t, notify.Stats{Pending: 1}, s2.Stats())
}

// TestFanOutCloseHangingEndpoint is the agent's shutdown with a webhook
// whose endpoint never answers: the POST in flight is canceled when the
// FanOut's close budget ends, not after the Sender's own 10 s (twice the
// default Timeout).
func TestFanOutCloseHangingEndpoint(t *testing.T) {
	arrived := make(chan struct{}, 10)
	canceled := make(chan struct{}, 10)
	srv := newServer(t, newRecorder(func(_ int, _ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
		canceled <- struct{}{}
	}))
	cfg := webhook.DefaultConfig() // Timeout 5 s
	cfg.URL = srv.URL + "/hook"
	s, err := webhook.New(cfg)
	require.NoError(t, err)
	fan := notify.NewFanOut(notify.FanOutConfig{})
	require.NoError(t, fan.Add("0-webhook", webhook.NewNotifier(s)))
	for _, st := range []monitor.Status{monitor.Critical, monitor.OK} {
		fan.Transition(context.Background(), monitor.Transition{Evaluation: monitor.Evaluation{Check: "cpu", Target: web, Status: st}})
	}
	<-arrived

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err = fan.Close(ctx)
	took := time.Since(start)
	assert.Less(t, took, 1200*time.Millisecond)
	assert.GreaterOrEqual(t, took, 950*time.Millisecond, "the flush goes on until the budget ends")
	require.ErrorIs(t, err, notify.ErrUndelivered)
	assert.Contains(t, err.Error(), "0-webhook: notify: messages not delivered: 2 messages could not be delivered to "+srv.URL)
	select {
	case <-canceled:
	case <-time.After(time.Second):
		t.Fatal("the POST in flight was not canceled")
	}
	assert.Equal(t, []notify.NamedStats{{Name: "0-webhook", Stats: notify.Stats{Dropped: 2}}}, fan.Stats())
}
