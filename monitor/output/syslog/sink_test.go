package syslog_test

import (
	"context"
	"errors"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/syslog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sinkEvals() []monitor.Evaluation {
	web := inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57aaaabbbbccccdddd", Name: "web-1"}
	db := inventory.Target{Kind: inventory.KindContainer, ID: "1eae26f41927", Name: "db"}
	return []monitor.Evaluation{
		{Check: "cpu", Target: web, Status: monitor.OK, Message: "cpu_percent=5%", Result: monitor.Result{Time: t0}},
		{Check: "cpu", Target: web, Status: monitor.Warning, Message: "cpu_percent=85% (warning 80)", Result: monitor.Result{Time: t0}},
		{Check: "cpu", Target: db, Status: monitor.Critical, Message: `said "no" \ here`, Result: monitor.Result{Time: t0}},
		{Check: "cpu", Status: monitor.Unknown, Message: "cannot connect", Err: errors.New("cannot connect")},
	}
}

func TestEvaluationText(t *testing.T) {
	evs := sinkEvals()
	assert.Equal(t, `check=cpu target=web-1 id=0e0d8cdf3a57 status=WARNING message="cpu_percent=85% (warning 80)"`, syslog.EvaluationText(evs[1]))
	assert.Equal(t, `check=cpu target=db id=1eae26f41927 status=CRITICAL message="said \"no\" \\ here"`, syslog.EvaluationText(evs[2]))
	assert.Equal(t, `check=cpu target=- id=- status=UNKNOWN message="cannot connect"`, syslog.EvaluationText(evs[3]))
}

func TestSeverityOf(t *testing.T) {
	assert.Equal(t, syslog.Info, syslog.SeverityOf(monitor.OK))
	assert.Equal(t, syslog.Warning, syslog.SeverityOf(monitor.Warning))
	assert.Equal(t, syslog.Critical, syslog.SeverityOf(monitor.Critical))
	assert.Equal(t, syslog.Notice, syslog.SeverityOf(monitor.Unknown))
	assert.Equal(t, syslog.Notice, syslog.SeverityOf(monitor.Status(9)))
}

func TestSink(t *testing.T) {
	ctx := context.Background()
	srv := newUDPServer(t)
	w := newWriter(t, syslog.Config{Address: srv.addr(), Format: syslog.RFC3164})

	// Default: not-OK evaluations only, HOSTNAME the Writer's.
	require.NoError(t, syslog.NewSink(w, syslog.SinkOptions{}).Write(ctx, sinkEvals()))
	assert.Equal(t, `<12>Sep  6 07:15:16 manager_server minato: check=cpu target=web-1 id=0e0d8cdf3a57 status=WARNING message="cpu_percent=85% (warning 80)"`, srv.next(t))
	assert.Equal(t, `<10>Sep  6 07:15:16 manager_server minato: check=cpu target=db id=1eae26f41927 status=CRITICAL message="said \"no\" \\ here"`, srv.next(t))
	unknown := srv.next(t) // no Result time: now
	assert.Regexp(t, `^<13>\w{3} [ \d]\d \d\d:\d\d:\d\d manager_server minato: check=cpu target=- id=- status=UNKNOWN message="cannot connect"$`, unknown)

	// All, with the container as HOSTNAME; RFC 5424 carries the check as MSGID.
	w5 := newWriter(t, syslog.Config{Address: srv.addr()})
	sink := syslog.NewSink(w5, syslog.SinkOptions{All: true, Hostname: func(ev monitor.Evaluation) string { return ev.Target.ShortID() }})
	require.NoError(t, sink.Write(ctx, sinkEvals()[:3]))
	assert.Equal(t, `<14>1 2015-09-06T07:15:16.123456Z 0e0d8cdf3a57 minato - cpu - check=cpu target=web-1 id=0e0d8cdf3a57 status=OK message="cpu_percent=5%"`, srv.next(t))
	assert.Contains(t, srv.next(t), "<12>1 2015-09-06T07:15:16.123456Z 0e0d8cdf3a57 ")
	assert.Contains(t, srv.next(t), "<10>1 2015-09-06T07:15:16.123456Z 1eae26f41927 ")

	// Failures are joined, every message is tried.
	require.NoError(t, w5.Close(context.Background()))
	err := sink.Write(ctx, sinkEvals())
	assert.ErrorIs(t, err, syslog.ErrClosed)
	assert.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), 4)
}
