package syslog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrBufferFull is returned (wrapped) by Send when a TCP Writer
	// already holds BufferSize unsent messages. The message is counted as
	// dropped.
	ErrBufferFull = errors.New("syslog: buffer full")
	// ErrClosed is returned by Send after Close.
	ErrClosed = errors.New("syslog: writer closed")
	// ErrUndelivered is returned (wrapped) by Close when queued messages
	// could not be sent within the Timeout.
	ErrUndelivered = errors.New("syslog: messages not delivered")
)

// Reconnection backoff of a TCP Writer: doubled after each failed attempt,
// back to the minimum after a successful write.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Option configures optional collaborators of a Writer.
type Option func(*Writer)

// WithLogger logs connection losses and reconnections of a TCP Writer
// (which Send cannot report, as they happen in the background). Default:
// silent.
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
// of them), and one goroutine writes them in order over a persistent
// connection. When the connection breaks it is redialled with a backoff
// from 50 ms doubling to 5 s, and the queued messages wait; before each
// write the connection is checked for a close by the receiver (on Unix),
// so that a message is not written into a connection already closed. A
// message is never dropped silently: a Send to a full queue fails with
// ErrBufferFull, and Close reports the messages it could not flush.
// Plain TCP syslog has no acknowledgement (RFC 6587; RELP adds one), so a
// message written just as the receiver goes away can still be lost
// without notice.
type Writer struct {
	cfg Config
	log *slog.Logger

	sent, dropped, pending atomic.Uint64

	mu     sync.RWMutex // closed vs. Send
	closed bool

	udp net.Conn // UDP only

	// TCP only.
	queue    chan []byte
	quit     chan struct{} // closed by Close
	done     chan struct{} // closed when loop returns
	deadline time.Time     // for the flush; set before quit is closed
	conn     net.Conn      // owned by loop
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
	w.queue = make(chan []byte, cfg.BufferSize)
	w.quit = make(chan struct{})
	w.done = make(chan struct{})
	go w.loop()
	return w, nil
}

// Config returns the Writer's configuration with the defaults filled in.
func (w *Writer) Config() Config { return w.cfg }

// Send formats m in the configured format, setting its Time to now when
// zero, and sends it (UDP) or queues it (TCP). ctx is checked before
// anything is done; the TCP queueing never blocks. Every message given to
// Send is eventually counted once in [Writer.Stats]: as sent, or as
// dropped when Send returns an error or Close cannot flush it.
func (w *Writer) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		w.dropped.Add(1)
		return err
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	b := format(m, w.cfg)
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.dropped.Add(1)
		return ErrClosed
	}
	if w.udp != nil {
		if _, err := w.udp.Write(b); err != nil {
			w.dropped.Add(1)
			return fmt.Errorf("syslog: %w", err)
		}
		w.sent.Add(1)
		return nil
	}
	if !w.reserve() {
		w.dropped.Add(1)
		return fmt.Errorf("%w: %d messages already wait for %s %s", ErrBufferFull, w.cfg.BufferSize, w.cfg.Protocol, w.cfg.Address)
	}
	w.queue <- frame(w.cfg.Format, b) // never blocks: pending ≤ cap(queue)
	return nil
}

// reserve counts one more pending message unless BufferSize are pending.
func (w *Writer) reserve() bool {
	for {
		n := w.pending.Load()
		if n >= uint64(w.cfg.BufferSize) {
			return false
		}
		if w.pending.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Dropped returns the number of messages that were not and will not be
// sent.
func (w *Writer) Dropped() uint64 { return w.dropped.Load() }

// Stats returns the number of messages sent (written to the socket),
// dropped (Send failed, or Close could not flush them) and pending
// (queued or being written; always 0 for UDP).
func (w *Writer) Stats() (sent, dropped, pending uint64) {
	return w.sent.Load(), w.dropped.Load(), w.pending.Load()
}

// Close stops accepting messages and, over TCP, goes on sending the
// queued ones for at most Timeout. The messages still unsent are then
// counted as dropped and reported by an error wrapping ErrUndelivered.
// Close is idempotent; later calls return nil.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	if w.udp != nil {
		return w.udp.Close()
	}
	w.deadline = time.Now().Add(w.cfg.Timeout)
	close(w.quit)
	<-w.done
	n := w.pending.Swap(0)
	if n == 0 {
		return nil
	}
	w.dropped.Add(n)
	return fmt.Errorf("%w: %d messages could not be sent to %s %s within %s (%d dropped in all)",
		ErrUndelivered, n, w.cfg.Protocol, w.cfg.Address, w.cfg.Timeout, w.dropped.Load())
}

// closing reports whether Close has been called and, if so, when the
// flush must end.
func (w *Writer) closing() (time.Time, bool) {
	select {
	case <-w.quit:
		return w.deadline, true
	default:
		return time.Time{}, false
	}
}

// loop writes the queued messages in order until Close.
func (w *Writer) loop() {
	defer close(w.done)
	defer w.dropConn()
	backoff := minBackoff
	for {
		var msg []byte
		select {
		case msg = <-w.queue:
		case <-w.quit:
			select {
			case msg = <-w.queue:
			default:
				return
			}
		}
		for {
			err := w.write(msg)
			if err == nil {
				break
			}
			w.log.Warn("syslog: send failed; retrying", "address", w.cfg.Address, "protocol", w.cfg.Protocol, "retry_in", backoff, "error", err)
			if !w.wait(backoff) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
		}
		backoff = minBackoff
		w.pending.Add(^uint64(0))
		w.sent.Add(1)
	}
}

// write writes msg, dialling first when there is no live connection.
func (w *Writer) write(msg []byte) error {
	if w.conn != nil && !alive(w.conn) {
		w.log.Info("syslog: connection closed by the receiver", "address", w.cfg.Address)
		w.dropConn()
	}
	deadline := time.Now().Add(w.cfg.Timeout)
	if end, ok := w.closing(); ok && end.Before(deadline) {
		deadline = end
	}
	if w.conn == nil {
		d := net.Dialer{Deadline: deadline}
		conn, err := d.Dial(w.cfg.Protocol, w.cfg.Address)
		if err != nil {
			return err
		}
		w.log.Info("syslog: connected", "address", w.cfg.Address)
		w.conn = conn
	}
	_ = w.conn.SetWriteDeadline(deadline)
	if _, err := w.conn.Write(msg); err != nil {
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

// wait sleeps for d, cut short by the end of Close's flush; it returns
// false when that end has come.
func (w *Writer) wait(d time.Duration) bool {
	if end, ok := w.closing(); ok {
		left := time.Until(end)
		if left <= 0 {
			return false
		}
		d = min(d, left)
		time.Sleep(d)
		return time.Now().Before(end)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.quit:
		return w.wait(d) // Close started: sleep what the flush allows
	}
}
