package syslog_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/notify"
	"github.com/minato-ops/minato/monitor/output/syslog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNotifierTCP(t *testing.T) {
	ctx := context.Background()
	srv := newTCPServer(t, true)
	w := newWriter(t, syslog.Config{Address: srv.addr, Protocol: syslog.TCP})
	var n notify.Notifier = syslog.NewNotifier(w, syslog.SinkOptions{Hostname: func(ev monitor.Evaluation) string { return ev.Target.ShortID() }})
	evs := sinkEvals()
	require.NoError(t, n.Notify(ctx, evs[0]), "OK: left out")
	require.NoError(t, n.Notify(ctx, evs[2]))
	require.NoError(t, n.Flush(ctx))
	assert.Equal(t, notify.Stats{Sent: 1}, n.Stats(), "Flush returned: written")
	assert.Equal(t, `<10>1 2015-09-06T07:15:16.123456Z 1eae26f41927 minato - cpu - check=cpu target=db id=1eae26f41927 status=CRITICAL message="said \"no\" \\ here"`, srv.next(t, 5*time.Second))
	srv.none(t, 50*time.Millisecond)

	require.NoError(t, n.Close(ctx))
	assert.ErrorIs(t, w.Send(ctx, msg(1)), syslog.ErrClosed, "closing the Notifier closes the Writer")
	assert.ErrorIs(t, n.Notify(ctx, evs[1]), notify.ErrClosed)
	assert.Equal(t, notify.Stats{Sent: 1, Dropped: 2}, n.Stats())
}

func TestFlush(t *testing.T) {
	ctx := context.Background()
	logFile := filepath.Join(t.TempDir(), "log") // os.File writes are safe for a logger and the test
	f, err := os.Create(logFile)
	require.NoError(t, err)
	defer f.Close()
	logged := func() string { b, _ := os.ReadFile(logFile); return string(b) }
	log := slog.New(slog.NewTextHandler(f, nil))
	srv := newTCPServer(t, true)
	w, err := syslog.New(syslog.Config{Address: srv.addr, Protocol: syslog.TCP, Hostname: "manager_server"}, syslog.WithLogger(log))
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close(ctx) })

	require.NoError(t, w.Send(ctx, msg(0)))
	assert.Equal(t, want5424(0), srv.next(t, 5*time.Second), "connected and accepted")
	srv.stop()
	require.NoError(t, w.Send(ctx, msg(1)))
	require.NoError(t, w.Send(ctx, msg(2)))
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err = w.Flush(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "2 messages still wait for tcp "+srv.addr)
	assert.Equal(t, notify.Stats{Sent: 1, Pending: 2}, w.Stats(), "still queued")
	assert.Contains(t, logged(), `level=WARN msg="syslog: cannot send; messages wait for the receiver" address=`+srv.addr+" protocol=tcp")

	srv.start(t, srv.addr)
	require.NoError(t, w.Flush(ctx), "waits for the receiver to come back")
	assert.Equal(t, notify.Stats{Sent: 3}, w.Stats())
	assert.Equal(t, want5424(1), srv.next(t, time.Second))
	assert.Equal(t, want5424(2), srv.next(t, time.Second))
	assert.Contains(t, logged(), `level=INFO msg="syslog: sending again"`)
	assert.Equal(t, 1, strings.Count(logged(), "level=WARN"), "one warning per outage")

	// UDP: Send has written the datagram; there is nothing to wait for.
	u := newWriter(t, syslog.Config{Address: newUDPServer(t).addr()})
	require.NoError(t, u.Send(ctx, msg(3)))
	require.NoError(t, u.Flush(ctx))
	assert.Equal(t, notify.Stats{Sent: 1}, u.Stats())
}

// TestCloseKeepsToContext closes a Writer whose receiver is down, or
// accepts the connection but never reads (so that a write blocks on a
// full socket buffer): Close returns when its ctx ends, long before the
// 5 s Timeout.
func TestCloseKeepsToContext(t *testing.T) {
	t.Run("receiver down", func(t *testing.T) {
		srv := newTCPServer(t, true)
		w := newWriter(t, syslog.Config{Address: srv.addr, Protocol: syslog.TCP})
		require.NoError(t, w.Send(context.Background(), msg(1)))
		assert.Equal(t, want5424(1), srv.next(t, 5*time.Second), "connected and accepted")
		srv.stop()
		require.NoError(t, w.Send(context.Background(), msg(2)))
		closeWithin(t, w, 1)
	})
	t.Run("receiver does not read", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { ln.Close() })
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				accepted <- c
			}
		}()
		w := newWriter(t, syslog.Config{Address: ln.Addr().String(), Protocol: syslog.TCP})
		c := <-accepted
		t.Cleanup(func() { c.Close() })
		m := msg(0)
		m.Text = strings.Repeat("x", 60000)
		const n = 500 // 30 MB: more than the socket buffers hold
		for range n {
			require.NoError(t, w.Send(context.Background(), m))
		}
		require.Eventually(t, func() bool { return w.Stats().Sent > 0 }, 5*time.Second, 10*time.Millisecond, "the first writes fill the buffers")
		time.Sleep(100 * time.Millisecond) // the next write blocks
		sent := w.Stats().Sent
		require.Less(t, sent, uint64(n))
		closeWithin(t, w, n-sent)
	})
}

func closeWithin(t *testing.T, w *syslog.Writer, undelivered uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := w.Close(ctx)
	assert.Less(t, time.Since(start), 2*time.Second, "Close keeps to its 300 ms context, not the 5 s write timeout (with room for a busy machine)")
	require.ErrorIs(t, err, syslog.ErrUndelivered)
	s := w.Stats()
	assert.Equal(t, undelivered, s.Dropped)
	assert.Zero(t, s.Pending)
}
