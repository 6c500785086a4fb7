package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Defaults of [QueueConfig].
const (
	DefaultBufferSize = 1024
	DefaultRetries    = 5
	DefaultBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// RetryForever is the [QueueConfig.Retries] value that retries a message
// until it is delivered, it fails with a permanent error, or Close gives
// up: for a destination that loses nothing while it is down, such as a
// syslog receiver over TCP.
const RetryForever = -1

// QueueConfig says how a [Queue] buffers and retries. It is plain data
// with json tags. Start from [DefaultQueueConfig]; in a QueueConfig built
// by hand, zero BufferSize, Backoff and MaxBackoff also mean their
// defaults, while Retries is taken as given (0 means a single attempt).
type QueueConfig struct {
	// Name names the destination in errors, such as "tcp
	// 192.0.2.10:514" or "https://hooks.example.com". It must not hold a
	// secret. Default "the destination".
	Name string `json:"name,omitempty"`
	// BufferSize is how many messages may be queued or being delivered
	// at once; Enqueue refuses more with ErrBufferFull. Default 1024.
	BufferSize int `json:"buffer_size,omitempty"`
	// Retries is how many times a failed delivery is tried again before
	// the message is dropped: 0 for a single attempt, RetryForever (-1)
	// for no limit. DefaultQueueConfig sets 5.
	Retries int `json:"retries"`
	// Backoff is the delay before the first retry of a message; it
	// doubles after each further failure, up to MaxBackoff. Default
	// 500 ms.
	Backoff time.Duration `json:"backoff,omitempty"`
	// MaxBackoff caps the delay between two attempts, a [RetryAfter]
	// hint included. Default 30 s.
	MaxBackoff time.Duration `json:"max_backoff,omitempty"`
}

// DefaultQueueConfig returns the defaults: 1024 messages, 5 retries
// starting 500 ms apart and doubling up to 30 s.
func DefaultQueueConfig() QueueConfig {
	return QueueConfig{BufferSize: DefaultBufferSize, Retries: DefaultRetries, Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff}
}

// Validate checks the QueueConfig and returns every problem found,
// joined, each naming the field (by its json name).
func (c QueueConfig) Validate() error {
	var errs []error
	if c.BufferSize < 0 {
		errs = append(errs, fmt.Errorf("buffer_size %d: want 1 or more messages, or 0 for the default %d", c.BufferSize, DefaultBufferSize))
	}
	if c.Retries < RetryForever {
		errs = append(errs, fmt.Errorf("retries %d: want 0 or more, or -1 to retry until Close", c.Retries))
	}
	if c.Backoff < 0 {
		errs = append(errs, fmt.Errorf("backoff %s: want a positive duration, or 0 for the default %s", c.Backoff, DefaultBackoff))
	}
	if c.MaxBackoff < 0 {
		errs = append(errs, fmt.Errorf("max_backoff %s: want a positive duration, or 0 for the default %s", c.MaxBackoff, DefaultMaxBackoff))
	}
	if d := c.withDefaults(); c.Backoff >= 0 && c.MaxBackoff >= 0 && d.Backoff > d.MaxBackoff {
		errs = append(errs, fmt.Errorf("backoff %s: want at most max_backoff %s", d.Backoff, d.MaxBackoff))
	}
	return errors.Join(errs...)
}

func (c QueueConfig) withDefaults() QueueConfig {
	c.Name = cmp.Or(c.Name, "the destination")
	c.BufferSize = cmp.Or(c.BufferSize, DefaultBufferSize)
	c.Backoff = cmp.Or(c.Backoff, DefaultBackoff)
	c.MaxBackoff = cmp.Or(c.MaxBackoff, DefaultMaxBackoff)
	return c
}

// Permanent marks err as a failure that retrying cannot mend (an HTTP
// 4xx, a certificate the system does not trust): a [Queue] drops the
// message at once. It returns nil when err is nil. errors.Is and
// errors.As see through the mark.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// RetryAfter marks err as a failure whose next attempt should wait d
// instead of the backoff (a 429 or 503 response's Retry-After); the wait
// is still capped at MaxBackoff and still counts as a retry. It returns
// nil when err is nil. errors.Is and errors.As see through the mark.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err, max(d, 0)}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// classify reads the marks on a delivery error: whether it is permanent,
// the Retry-After hint (< 0 when none), and the error under the marks on
// top (for the log).
func classify(err error) (permanent bool, after time.Duration, cause error) {
	var p *permanentError
	var r *retryAfterError
	permanent, after = errors.As(err, &p), -1
	if errors.As(err, &r) {
		after = r.after
	}
	for cause = err; ; {
		switch e := cause.(type) {
		case *permanentError:
			cause = e.err
		case *retryAfterError:
			cause = e.err
		default:
			return permanent, after, cause
		}
	}
}

// Queue delivers messages of type T in order, one at a time, on a
// goroutine of its own, with retries and exponential backoff: the
// delivery core of the notifiers that must not block their caller. Create
// it with [NewQueue] and stop it with [Queue.Close]. Its methods are safe
// for concurrent use.
//
// The deliver function given to NewQueue makes one attempt. Its error
// decides what follows: nil is delivered (Sent); an error marked
// [Permanent] drops the message at once; any other error is retried
// after Backoff, doubling up to MaxBackoff, or after a [RetryAfter]
// hint, at most Retries times, and the messages behind it wait, so that
// the order is kept. A message dropped in the background is logged at
// warn ([WithLogger]) with the reason, the attempts and deliver's error,
// so that error must not hold the message or a secret.
//
// Every message given to Enqueue is counted exactly once in [Queue.Stats]:
// as dropped at once when Enqueue refuses it, else as pending until it is
// delivered or dropped.
type Queue[T any] struct {
	cfg     QueueConfig
	deliver func(context.Context, T) error
	log     *slog.Logger

	ctx    context.Context // given to deliver; canceled when Close gives up
	cancel context.CancelFunc
	wake   chan struct{} // a message was queued, or Close began
	exited chan struct{} // closed when run returns

	mu        sync.Mutex
	buf       []T // waiting, oldest first; not the one being delivered
	closed    bool
	abandoned bool   // Close gave up: run must not count anything more
	accepted  uint64 // messages Enqueue accepted
	finished  uint64 // accepted messages sent or dropped; they finish in order
	sent      uint64
	dropped   uint64
	progress  chan struct{} // closed and replaced when finished grows
}

// NewQueue validates cfg, fills in its defaults and starts the goroutine
// that calls deliver. deliver makes one attempt to deliver m; it is never
// called concurrently, and it must return soon after ctx is done: ctx is
// canceled when Close gives up, and cutting the attempt in progress then
// (an HTTP request, a write) is how Close keeps to its context. Close
// stops the goroutine.
func NewQueue[T any](cfg QueueConfig, deliver func(ctx context.Context, m T) error, opts ...Option) (*Queue[T], error) {
	err := cfg.Validate()
	if deliver == nil {
		err = errors.Join(err, errors.New("deliver: nil function"))
	}
	if err != nil {
		return nil, fmt.Errorf("notify: new queue: %w", err)
	}
	q := &Queue[T]{
		cfg:      cfg.withDefaults(),
		deliver:  deliver,
		log:      logger(opts),
		wake:     make(chan struct{}, 1),
		exited:   make(chan struct{}),
		progress: make(chan struct{}),
	}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	go q.run()
	return q, nil
}

// Config returns the Queue's configuration with the defaults filled in.
func (q *Queue[T]) Config() QueueConfig { return q.cfg }

// Enqueue queues m for delivery and returns at once: it never blocks. It
// refuses m, counting it as dropped, with ctx's error when ctx is already
// done, with [ErrClosed] after Close, and with an error wrapping
// [ErrBufferFull] when BufferSize messages are already queued or being
// delivered. ctx is only checked: delivery goes on after Enqueue returns,
// whatever becomes of ctx. m must not be modified afterwards.
func (q *Queue[T]) Enqueue(ctx context.Context, m T) error {
	if err := ctx.Err(); err != nil {
		return q.Drop(err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		q.dropped++
		return ErrClosed
	}
	if q.accepted-q.finished >= uint64(q.cfg.BufferSize) {
		q.dropped++
		return fmt.Errorf("%w: %d messages already wait for %s", ErrBufferFull, q.cfg.BufferSize, q.cfg.Name)
	}
	q.buf = append(q.buf, m)
	q.accepted++
	q.signal()
	return nil
}

// Drop counts as dropped a message that never reached Enqueue (it could
// not be encoded, say), so that the Queue's Stats cover every message the
// caller was given, and returns err.
func (q *Queue[T]) Drop(err error) error {
	q.mu.Lock()
	q.dropped++
	q.mu.Unlock()
	return err
}

// Stats returns the counters; Pending is the number of messages queued or
// being delivered.
func (q *Queue[T]) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Stats{Sent: q.sent, Dropped: q.dropped, Pending: q.accepted - q.finished}
}

// Flush waits until every message accepted before the call was delivered
// or dropped, and returns nil. When ctx ends first it returns an error
// wrapping ctx's, saying how many of them are still pending; they stay
// queued. Flush does not stop Enqueue: messages queued during the call
// are not waited for.
func (q *Queue[T]) Flush(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	target := q.accepted
	for q.finished < target {
		ch := q.progress
		q.mu.Unlock()
		select {
		case <-ch:
			q.mu.Lock()
		case <-ctx.Done():
			q.mu.Lock()
			if q.finished >= target {
				return nil
			}
			return fmt.Errorf("notify: flush: %d messages still wait for %s: %w", target-q.finished, q.cfg.Name, context.Cause(ctx))
		}
	}
	return nil
}

// Close stops accepting messages and goes on delivering the queued ones,
// retries included, until they are all delivered or dropped or ctx ends.
// When ctx ends first, Close cancels the context of the delivery in
// progress and returns at once, without waiting for deliver to give up:
// the messages left, the one in progress included, are counted as
// dropped (one in progress may still arrive) and reported by an error
// wrapping [ErrUndelivered] with their number. Close is idempotent: later
// calls return nil at once.
func (q *Queue[T]) Close(ctx context.Context) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	q.signal()
	q.mu.Unlock()

	select {
	case <-q.exited:
	case <-ctx.Done():
	}
	q.cancel()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.abandoned = true
	n := q.accepted - q.finished
	if n == 0 {
		return nil
	}
	q.dropped += n
	q.finished = q.accepted
	q.buf = nil
	q.advance()
	return fmt.Errorf("%w: %d messages could not be delivered to %s before the close ended (%d dropped in all)", ErrUndelivered, n, q.cfg.Name, q.dropped)
}

// signal wakes run; q.mu is held.
func (q *Queue[T]) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// advance wakes the Flush calls; q.mu is held.
func (q *Queue[T]) advance() {
	close(q.progress)
	q.progress = make(chan struct{})
}

// run delivers the queued messages in order until Close.
func (q *Queue[T]) run() {
	defer close(q.exited)
	for {
		m, ok := q.next()
		if !ok {
			return
		}
		sent, done := q.attempt(m)
		if !done {
			return // Close gave up; it counts m
		}
		q.mu.Lock()
		if q.abandoned {
			q.mu.Unlock()
			return
		}
		if sent {
			q.sent++
		} else {
			q.dropped++
		}
		q.finished++
		q.advance()
		q.mu.Unlock()
	}
}

// next waits for the next message; false means stop: closed and drained,
// or abandoned by Close.
func (q *Queue[T]) next() (T, bool) {
	var zero T
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.buf) == 0 {
		if q.closed || q.abandoned {
			return zero, false
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-q.ctx.Done():
		}
		q.mu.Lock()
	}
	if q.abandoned || q.ctx.Err() != nil {
		return zero, false
	}
	m := q.buf[0]
	q.buf[0] = zero // let the message be collected once delivered
	q.buf = q.buf[1:]
	return m, true
}

// attempt delivers m, retrying as configured. It reports whether m was
// sent (else dropped), and done false, with m counted by nobody yet,
// when Close gave up first.
func (q *Queue[T]) attempt(m T) (sent, done bool) {
	delay := q.cfg.Backoff
	for n := 1; ; n++ {
		err := q.deliver(q.ctx, m)
		if err == nil {
			return true, true
		}
		if q.ctx.Err() != nil {
			return false, false
		}
		permanent, after, cause := classify(err)
		if permanent || (q.cfg.Retries != RetryForever && n > q.cfg.Retries) {
			reason := "retries spent"
			if permanent {
				reason = "permanent error"
			}
			q.log.Warn("notify: message dropped", "reason", reason, "attempts", n, "error", cause)
			return false, true
		}
		wait := delay
		if after >= 0 {
			wait = min(after, q.cfg.MaxBackoff)
		}
		q.log.Debug("notify: delivery failed; retrying", "attempts", n, "retry_in", wait, "error", cause)
		if !sleep(q.ctx, wait) {
			return false, false
		}
		delay = min(2*delay, q.cfg.MaxBackoff)
	}
}

// sleep waits for d; false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
