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
	"github.com/minato-ops/minato/monitor/output/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSink(t *testing.T) {
	t0 := time.Date(2015, 9, 5, 21, 59, 8, 0, time.UTC)
	web := inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57", Name: "web-1"}
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
	require.NoError(t, s.Close())
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
