package syslog

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/minato-ops/minato/monitor/output/notify"
)

// The errors of a Writer are those of package notify, so that a Writer
// and the other notifiers fail alike.
var (
	// ErrBufferFull is wrapped by the error of Send when a TCP Writer
	// already holds BufferSize unsent messages. The message is counted as
	// dropped. It is [notify.ErrBufferFull].
	ErrBufferFull = notify.ErrBufferFull
	// ErrClosed is returned by Send after Close. It is [notify.ErrClosed].
	ErrClosed = notify.ErrClosed
	// ErrUndelivered is wrapped by the error of Close when queued
	// messages could not be sent in time. It is [notify.ErrUndelivered].
	ErrUndelivered = notify.ErrUndelivered
)

// Reconnection backoff of a TCP Writer: doubled after each failed attempt,
// back to the minimum for the next message.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Option configures optional collaborators of a Writer.
type Option func(*Writer)

// WithLogger logs what happens in the background of a TCP Writer, which
// Send cannot report: the connection lost (warn) and made again (info),
// and each failed attempt (debug). Default: silent.
func WithLogger(l *slog.Logger) Option {
	return func(w *Writer) {
		if l != nil {
			w.log = l
		}
	}
}

// Writer sends syslog messages to one receiver. It is safe for concurrent
// use.
//
// Over UDP, Send formats the message and writes one datagram before it
// returns. Loss cannot be detected: a datagram to a host with nothing
// listening vanishes, or, at best, the ICMP port-unreachable it causes
// makes a later Send fail with "connection refused".
//
// Over TCP, New dials once, so that a wrong or unreachable address is
// reported at once. Send then only queues the message (at most BufferSize
// of them, in a [notify.Queue]), and one goroutine writes them in order
// over a persistent connection. When the connection breaks it is
// redialled with a backoff from 50 ms doubling to 5 s, and the queued
// messages wait; before each write the connection is checked for a close
// by the receiver (on Unix), so that a message is not written into a
// connection already closed. A message is never dropped silently: a Send
// to a full queue fails with ErrBufferFull, and Close reports the
// messages it could not flush. Plain TCP syslog has no acknowledgement
// (RFC 6587; RELP adds one), so a message written just as the receiver
// goes away can still be lost without notice.
type Writer struct {
	cfg Config
	log *slog.Logger

	// UDP only.
	mu     sync.RWMutex // closed vs. Send
	closed bool
	udp    net.Conn
	count  notify.Counter

	// TCP only.
	q      *notify.Queue[[]byte]
	connMu sync.Mutex // held by deliver while it writes, and by Close
	conn   net.Conn   // nil while disconnected
	down   bool       // the last attempt failed
	shut   bool       // closed: dial no more
}

// New validates cfg, fills in its defaults and connects to cfg.Address:
// a UDP socket, or a TCP connection dialled within cfg.Timeout, whose
// failure is returned. Close releases it.
func New(cfg Config, opts ...Option) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("syslog: %w", err)
	}
	cfg = cfg.resolved()
	w := &Writer{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(w)
	}
	w.log = w.log.With("address", cfg.Address, "protocol", cfg.Protocol)
	d := net.Dialer{Timeout: cfg.Timeout}
	conn, err := d.Dial(cfg.Protocol, cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("syslog: %s receiver %s: %w", cfg.Protocol, cfg.Address, err)
	}
	if cfg.Protocol == UDP {
		w.udp = conn
		return w, nil
	}
	w.conn = conn
	qc := notify.QueueConfig{
		Name:       cfg.Protocol + " " + cfg.Address,
		BufferSize: cfg.BufferSize,
		Retries:    notify.RetryForever,
		Backoff:    minBackoff,
		MaxBackoff: maxBackoff,
	}
	if w.q, err = notify.NewQueue(qc, w.deliver, notify.WithLogger(w.log)); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("syslog: %w", err)
	}
	return w, nil
}

// Config returns the Writer's configuration with the defaults filled in.
func (w *Writer) Config() Config { return w.cfg }

// Send formats m in the configured format, setting its Time to now when
// zero, and sends it (UDP) or queues it (TCP). ctx is only checked before
// anything is done: it does not bound a TCP delivery, and the queueing
// never blocks. Every message given to Send is counted once in
// [Writer.Stats]: as sent, or as dropped when Send returns an error or
// Close cannot flush it.
func (w *Writer) Send(ctx context.Context, m Message) error {
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	b := format(m, w.cfg)
	if w.q != nil {
		return w.q.Enqueue(ctx, frame(w.cfg.Format, b))
	}
	if err := ctx.Err(); err != nil {
		return w.count.Count(err)
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return w.count.Count(ErrClosed)
	}
	if _, err := w.udp.Write(b); err != nil {
		return w.count.Count(fmt.Errorf("syslog: %w", err))
	}
	return w.count.Count(nil)
}

// Dropped returns the number of messages that were not and will not be
// sent: Stats().Dropped.
func (w *Writer) Dropped() uint64 { return w.Stats().Dropped }

// Stats returns the number of messages sent (written to the socket),
// dropped (Send failed, or Close could not flush them) and pending
// (queued or being written; always 0 for UDP).
func (w *Writer) Stats() notify.Stats {
	if w.q != nil {
		return w.q.Stats()
	}
	return w.count.Stats()
}

// Flush waits until every message given to Send before the call is
// written to the TCP connection, or dropped, and returns nil; when ctx
// ends first, it returns an error wrapping ctx's, and the messages stay
// queued. Over UDP there is nothing to wait for: Send has written the
// datagram.
func (w *Writer) Flush(ctx context.Context) error {
	if w.q != nil {
		return w.q.Flush(ctx)
	}
	return nil
}

// Close stops accepting messages and, over TCP, goes on sending the
// queued ones until ctx ends or for at most Timeout, whichever comes
// first; a write or dial in progress then is cut short. The messages
// still unsent are counted as dropped and reported by an error wrapping
// ErrUndelivered. Close is idempotent; later calls return nil.
func (w *Writer) Close(ctx context.Context) error {
	if w.q == nil {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.closed {
			return nil
		}
		w.closed = true
		return w.udp.Close()
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	err := w.q.Close(ctx)
	w.connMu.Lock()
	defer w.connMu.Unlock()
	w.shut = true
	w.dropConn()
	return err
}

// deliver writes one framed message, dialling first when there is no
// live connection. It is the Queue's deliver function: one attempt, cut
// short when ctx ends.
func (w *Writer) deliver(ctx context.Context, msg []byte) error {
	w.connMu.Lock()
	defer w.connMu.Unlock()
	if w.shut {
		return notify.Permanent(ErrClosed)
	}
	err := w.write(ctx, msg)
	switch {
	case ctx.Err() != nil:
		// Close gave up: not an outage to report.
	case err != nil && !w.down:
		w.down = true
		w.log.Warn("syslog: cannot send; messages wait for the receiver", "error", err)
	case err == nil && w.down:
		w.down = false
		w.log.Info("syslog: sending again")
	}
	return err
}

// write writes msg, dialling first when there is no live connection;
// w.connMu is held.
func (w *Writer) write(ctx context.Context, msg []byte) error {
	if w.conn != nil && !alive(w.conn) {
		w.log.Info("syslog: connection closed by the receiver")
		w.dropConn()
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	if w.conn == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, w.cfg.Protocol, w.cfg.Address)
		if err != nil {
			return err
		}
		w.log.Info("syslog: connected")
		w.conn = conn
	}
	conn := w.conn
	deadline, _ := ctx.Deadline()
	_ = conn.SetWriteDeadline(deadline)
	// A write blocked on a full socket buffer is cut when ctx ends (Close
	// gave up), not only at the deadline.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetWriteDeadline(time.Unix(1, 0)) })
	_, err := conn.Write(msg)
	stop()
	if err != nil {
		w.dropConn()
		return err
	}
	return nil
}

func (w *Writer) dropConn() {
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}
