package syslog_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/monitor/output/syslog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// udpServer is a syslog receiver on 127.0.0.1.
type udpServer struct {
	conn net.PacketConn
}

func newUDPServer(t *testing.T) *udpServer {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &udpServer{conn: c}
}

func (s *udpServer) addr() string { return s.conn.LocalAddr().String() }

// next returns the next datagram, failing the test after 5 s.
func (s *udpServer) next(t *testing.T) string {
	t.Helper()
	buf := make([]byte, 65536)
	require.NoError(t, s.conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	n, _, err := s.conn.ReadFrom(buf)
	require.NoError(t, err, "no datagram")
	return string(buf[:n])
}

// tcpServer is a syslog receiver on 127.0.0.1 that can be stopped (its
// listener and every connection closed) and started again on the same
// address. It reads RFC 6587 frames: octet-counted, or newline-ended.
type tcpServer struct {
	octets bool
	addr   string
	frames chan string

	mu    sync.Mutex
	ln    net.Listener // nil while stopped
	conns []net.Conn
}

func newTCPServer(t *testing.T, octets bool) *tcpServer {
	t.Helper()
	s := &tcpServer{octets: octets, frames: make(chan string, 10000)}
	s.start(t, "127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

func (s *tcpServer) start(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	s.mu.Lock()
	s.ln, s.addr = ln, ln.Addr().String()
	s.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			if s.ln != ln { // stopped between Accept and here
				c.Close()
				s.mu.Unlock()
				return
			}
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			go s.read(c)
		}
	}()
}

func (s *tcpServer) read(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		if !s.octets {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			s.frames <- strings.TrimSuffix(line, "\n")
			continue
		}
		l, err := br.ReadString(' ')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(l, " "))
		if err != nil {
			s.frames <- "BAD FRAME LENGTH " + l
			return
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(br, msg); err != nil {
			return
		}
		s.frames <- string(msg)
	}
}

func (s *tcpServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return
	}
	s.ln.Close()
	s.ln = nil
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

func (s *tcpServer) next(t *testing.T, within time.Duration) string {
	t.Helper()
	select {
	case f := <-s.frames:
		return f
	case <-time.After(within):
		t.Fatalf("no message within %s", within)
		return ""
	}
}

func (s *tcpServer) none(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case f := <-s.frames:
		t.Fatalf("unexpected message %q", f)
	case <-time.After(within):
	}
}

func newWriter(t *testing.T, c syslog.Config) *syslog.Writer {
	t.Helper()
	if c.Hostname == "" {
		c.Hostname = "manager_server"
	}
	w, err := syslog.New(c)
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	return w
}

func msg(i int) syslog.Message {
	return syslog.Message{Time: t0, Severity: syslog.Info, Hostname: "90b56eb899e7", Text: "running " + strconv.Itoa(i)}
}

func want5424(i int) string {
	return "<14>1 2015-09-06T07:15:16.123456Z 90b56eb899e7 minato - - - running " + strconv.Itoa(i)
}

func stats(w *syslog.Writer) [3]uint64 {
	s := w.Stats()
	return [3]uint64{s.Sent, s.Dropped, s.Pending}
}

func TestUDPRoundTrip(t *testing.T) {
	ctx := context.Background()
	srv := newUDPServer(t)
	for _, f := range []struct{ format, want string }{
		{syslog.RFC5424, want5424(1)},
		{syslog.RFC3164, "<14>Sep  6 07:15:16 90b56eb899e7 minato: running 1"},
	} {
		w := newWriter(t, syslog.Config{Address: srv.addr(), Format: f.format})
		require.NoError(t, w.Send(ctx, msg(1)))
		assert.Equal(t, f.want, srv.next(t), f.format)
		assert.Equal(t, [3]uint64{1, 0, 0}, stats(w))
		require.NoError(t, w.Close(context.Background()))
		assert.ErrorIs(t, w.Send(ctx, msg(2)), syslog.ErrClosed)
		assert.Equal(t, [3]uint64{1, 1, 0}, stats(w))
		assert.NoError(t, w.Close(context.Background()), "Close is idempotent")
	}

	// A zero Time is the time of the Send; the Config's host name is used.
	w := newWriter(t, syslog.Config{Address: srv.addr(), Hostname: "manager_server"})
	before := time.Now()
	require.NoError(t, w.Send(ctx, syslog.Message{Severity: syslog.Warning, Text: "x"}))
	got := srv.next(t)
	f := strings.Fields(got)
	require.Len(t, f, 8, got)
	stamp, err := time.Parse(time.RFC3339Nano, f[1])
	require.NoError(t, err)
	assert.WithinRange(t, stamp, before.Truncate(time.Microsecond), time.Now())
	assert.Equal(t, []string{"<12>1", "manager_server", "minato", "-", "-", "-", "x"}, append(f[:1:1], f[2:]...))
}

func TestUDPRefusedIsReportedLater(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("relies on Linux reporting ICMP port unreachable on a connected UDP socket")
	}
	srv := newUDPServer(t)
	addr := srv.addr()
	srv.conn.Close() // nothing listens now
	w := newWriter(t, syslog.Config{Address: addr})
	var err error
	for i := 0; i < 50 && err == nil; i++ {
		err = w.Send(context.Background(), msg(i))
		time.Sleep(10 * time.Millisecond)
	}
	require.Error(t, err, "an ICMP port unreachable should surface on a later Send")
	assert.Contains(t, err.Error(), "connection refused")
	assert.Contains(t, err.Error(), addr)
	assert.EqualValues(t, 1, w.Dropped())
}

func TestTCPRoundTrip(t *testing.T) {
	ctx := context.Background()
	t.Run("rfc5424 octet counting", func(t *testing.T) {
		srv := newTCPServer(t, true)
		w := newWriter(t, syslog.Config{Address: srv.addr, Protocol: syslog.TCP})
		m := msg(2)
		m.Text = "two\nlines ü"
		for _, m := range []syslog.Message{msg(1), m, msg(3)} {
			require.NoError(t, w.Send(ctx, m))
		}
		assert.Equal(t, want5424(1), srv.next(t, 5*time.Second))
		assert.Equal(t, "<14>1 2015-09-06T07:15:16.123456Z 90b56eb899e7 minato - - - two\nlines ü", srv.next(t, 5*time.Second))
		assert.Equal(t, want5424(3), srv.next(t, 5*time.Second))
		require.NoError(t, w.Close(context.Background()))
		assert.Equal(t, [3]uint64{3, 0, 0}, stats(w))
		assert.ErrorIs(t, w.Send(ctx, msg(4)), syslog.ErrClosed)
	})
	t.Run("rfc3164 newline", func(t *testing.T) {
		srv := newTCPServer(t, false)
		w := newWriter(t, syslog.Config{Address: srv.addr, Protocol: syslog.TCP, Format: syslog.RFC3164})
		m := msg(1)
		m.Text = "two\nlines"
		require.NoError(t, w.Send(ctx, m))
		require.NoError(t, w.Send(ctx, msg(2)))
		assert.Equal(t, "<14>Sep  6 07:15:16 90b56eb899e7 minato: two lines", srv.next(t, 5*time.Second))
		assert.Equal(t, "<14>Sep  6 07:15:16 90b56eb899e7 minato: running 2", srv.next(t, 5*time.Second))
	})
}

func TestTCPConcurrentSends(t *testing.T) {
	srv := newTCPServer(t, true)
	w := newWriter(t, syslog.Config{Address: srv.addr, Protocol: syslog.TCP, BufferSize: 1000})
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for i := range 50 {
				assert.NoError(t, w.Send(context.Background(), msg(g*100+i)))
			}
		})
	}
	wg.Wait()
	require.NoError(t, w.Close(context.Background()))
	got := map[string]bool{}
	for range 500 {
		got[srv.next(t, 5*time.Second)] = true
	}
	assert.Len(t, got, 500)
	assert.True(t, got[want5424(949)])
	assert.Equal(t, [3]uint64{500, 0, 0}, stats(w))
}

func TestTCPReconnect(t *testing.T) {
	ctx := context.Background()
	srv := newTCPServer(t, true)
	w := newWriter(t, syslog.Config{Address: srv.addr, Protocol: syslog.TCP, BufferSize: 10})
	require.NoError(t, w.Send(ctx, msg(1)))
	assert.Equal(t, want5424(1), srv.next(t, 5*time.Second))

	srv.stop()
	for i := 2; i <= 4; i++ {
		require.NoError(t, w.Send(ctx, msg(i)), "queued while the receiver is down")
	}
	time.Sleep(300 * time.Millisecond) // several failed redials
	assert.Equal(t, [3]uint64{1, 0, 3}, stats(w))

	srv.start(t, srv.addr)
	for i := 2; i <= 4; i++ {
		assert.Equal(t, want5424(i), srv.next(t, 10*time.Second), "delivered in order after the receiver is back")
	}
	require.NoError(t, w.Send(ctx, msg(5)))
	assert.Equal(t, want5424(5), srv.next(t, 5*time.Second))
	require.NoError(t, w.Close(context.Background()))
	assert.Equal(t, [3]uint64{5, 0, 0}, stats(w))
}

func TestTCPBufferFull(t *testing.T) {
	ctx := context.Background()
	srv := newTCPServer(t, true)
	w := newWriter(t, syslog.Config{Address: srv.addr, Protocol: syslog.TCP, BufferSize: 3, Timeout: 300 * time.Millisecond})
	srv.stop()
	for i := 1; i <= 3; i++ {
		require.NoError(t, w.Send(ctx, msg(i)))
	}
	for i := 4; i <= 5; i++ {
		err := w.Send(ctx, msg(i))
		require.ErrorIs(t, err, syslog.ErrBufferFull)
		assert.Contains(t, err.Error(), "3 messages already wait for tcp "+srv.addr)
	}
	assert.EqualValues(t, 2, w.Dropped())
	assert.Equal(t, [3]uint64{0, 2, 3}, stats(w))

	start := time.Now()
	err := w.Close(context.Background())
	assert.Less(t, time.Since(start), 2*time.Second, "Close gives up after Timeout")
	// The connection made before the receiver stopped may still take
	// messages into the kernel's buffers before its reset comes back (on
	// a busy machine): those count as sent, the rest as dropped.
	st := stats(w)
	assert.Equal(t, [3]uint64{st[0], 5 - st[0], 0}, st)
	if st[0] < 3 {
		require.ErrorIs(t, err, syslog.ErrUndelivered)
		assert.Contains(t, err.Error(), fmt.Sprintf("%d messages could not be delivered to tcp %s before the close ended (%d dropped in all)", 3-st[0], srv.addr, 5-st[0]))
	} else {
		assert.NoError(t, err, "the three queued messages went into the dead connection")
	}
	srv.none(t, 100*time.Millisecond)
}

func TestCloseFlushes(t *testing.T) {
	ctx := context.Background()
	srv := newTCPServer(t, true)
	w := newWriter(t, syslog.Config{Address: srv.addr, Protocol: syslog.TCP})
	srv.stop()
	for i := 1; i <= 5; i++ {
		require.NoError(t, w.Send(ctx, msg(i)))
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		srv.start(t, srv.addr)
	}()
	require.NoError(t, w.Close(context.Background()), "Close waits for the receiver to come back within Timeout")
	assert.Equal(t, [3]uint64{5, 0, 0}, stats(w))
	for i := 1; i <= 5; i++ {
		assert.Equal(t, want5424(i), srv.next(t, time.Second))
	}
}

func TestNewErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	_, err = syslog.New(syslog.Config{Address: addr, Protocol: syslog.TCP, Timeout: time.Second})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "syslog: tcp receiver "+addr+": ")
	assert.Contains(t, err.Error(), "connection refused")

	_, err = syslog.New(syslog.Config{Address: "127.0.0.1", Protocol: "sctp"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `syslog: address "127.0.0.1": want "host:port"`)
	assert.Contains(t, err.Error(), `protocol "sctp"`)
}

func TestSendCanceled(t *testing.T) {
	srv := newTCPServer(t, true)
	w := newWriter(t, syslog.Config{Address: srv.addr, Protocol: syslog.TCP})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, w.Send(ctx, msg(1)), context.Canceled)
	assert.Equal(t, [3]uint64{0, 1, 0}, stats(w))
	srv.none(t, 100*time.Millisecond)
}

func TestConfigResolved(t *testing.T) {
	srv := newUDPServer(t)
	w, err := syslog.New(syslog.Config{Address: srv.addr()})
	require.NoError(t, err)
	defer w.Close(context.Background())
	c := w.Config()
	assert.Equal(t, syslog.UDP, c.Protocol)
	assert.Equal(t, syslog.RFC5424, c.Format)
	assert.Equal(t, "minato", c.AppName)
	assert.NotEmpty(t, c.Hostname, "os.Hostname()")
	assert.Equal(t, 5*time.Second, c.Timeout)
	assert.Equal(t, 1024, c.BufferSize)
	assert.Equal(t, syslog.FacilityUser, c.Facility, "0 means user")
}
