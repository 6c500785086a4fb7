package notify

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"

	"github.com/minato-ops/minato/monitor"
)

var (
	// ErrBufferFull is wrapped by the error of [Queue.Enqueue] (and of
	// the notifiers built on a Queue) when the buffer already holds
	// BufferSize undelivered messages. The message is counted as
	// dropped.
	ErrBufferFull = errors.New("notify: buffer full")
	// ErrClosed is returned for a message given after Close. The message
	// is counted as dropped.
	ErrClosed = errors.New("notify: closed")
	// ErrUndelivered is wrapped by the error of Close when messages were
	// still undelivered when its context ended. They are counted as
	// dropped, and the error says how many.
	ErrUndelivered = errors.New("notify: messages not delivered")
)

// Stats counts the messages of one notifier. Every message given to a
// notifier is counted exactly once, as Sent or as Dropped, as soon as its
// fate is known; until then it is Pending.
type Stats struct {
	// Sent counts the messages delivered: written to the socket, answered
	// with a 2xx status, appended to the file. Whether the receiver then
	// keeps them is beyond what most protocols tell (syslog and SNMP
	// notifications are not acknowledged).
	Sent uint64 `json:"sent"`
	// Dropped counts the messages that were not and will not be
	// delivered: refused (buffer full, closed, canceled context), failed
	// for good (a permanent error, retries spent), or left when Close
	// gave up.
	Dropped uint64 `json:"dropped"`
	// Pending counts the messages queued or being delivered; always 0
	// for a notifier that delivers before Notify returns.
	Pending uint64 `json:"pending"`
}

// Notifier passes Evaluations on to one destination (a syslog receiver, a
// webhook, an SNMP manager, a file). A [FanOut] drives several.
//
// Implementations must be safe for concurrent use: a Runner reports the
// transitions of different checks concurrently.
type Notifier interface {
	// Notify hands ev to the destination and must not block for long:
	// it queues the message, or sends it at once when that is as quick
	// as a datagram or a file append. ctx bounds only this call; a
	// queued message is delivered after Notify returns, whatever
	// becomes of ctx. A Notifier may leave out the Evaluations it is
	// not configured to pass on (such as OK ones) and then returns nil
	// and counts nothing. A non-nil error means the message was dropped
	// (and counted in Stats.Dropped): buffer full, closed, ctx already
	// done, or a synchronous send that failed. ev must not be modified;
	// it may be retained.
	Notify(ctx context.Context, ev monitor.Evaluation) error
	// Flush waits until every message given to Notify before the call
	// was delivered or dropped. It returns nil then, or an error
	// wrapping ctx's when ctx ends first; the messages stay queued.
	Flush(ctx context.Context) error
	// Stats returns the counters. It never blocks.
	Stats() Stats
	// Close stops accepting messages, goes on delivering the queued
	// ones until ctx ends (or the notifier's own bound, if shorter),
	// then cancels a delivery in progress, counts what is left as
	// dropped and releases its resources. It returns an error wrapping
	// [ErrUndelivered] when messages were left. Close is idempotent:
	// later calls return nil at once.
	Close(ctx context.Context) error
}

// AsSink returns a [monitor.Sink] that hands every Evaluation of each
// Write to n.Notify, even when some fail, and returns the failures
// joined. Give it to a Runner with [monitor.WithSink] to notify every
// round rather than every status change. The Sink never closes n.
func AsSink(n Notifier) monitor.Sink {
	return monitor.SinkFunc(func(ctx context.Context, evs []monitor.Evaluation) error {
		return notifyAll(ctx, n, evs)
	})
}

// notifyAll hands every Evaluation to n and joins the failures.
func notifyAll(ctx context.Context, n Notifier, evs []monitor.Evaluation) error {
	var errs []error
	for _, ev := range evs {
		if err := n.Notify(ctx, ev); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Counter counts the messages of a notifier that delivers each message
// before it returns (a UDP datagram, a file append), so that it reports
// the same [Stats] as a queued one, with Pending always 0. The zero
// Counter is ready to use; it is safe for concurrent use.
type Counter struct {
	sent, dropped atomic.Uint64
}

// Count counts one message: sent when err is nil, dropped otherwise. It
// returns err, so that a send can end with return c.Count(err).
func (c *Counter) Count(err error) error {
	if err != nil {
		c.dropped.Add(1)
	} else {
		c.sent.Add(1)
	}
	return err
}

// Stats returns the counts; Pending is 0.
func (c *Counter) Stats() Stats {
	return Stats{Sent: c.sent.Load(), Dropped: c.dropped.Load()}
}

// Option configures an optional collaborator of a [Queue] or a [FanOut].
type Option func(*options)

type options struct {
	log *slog.Logger
}

// WithLogger logs what a Queue or FanOut cannot return to a caller, as it
// happens in the background: a Queue logs each retry at debug and each
// message it drops at warn, with the reason, the number of attempts and
// the delivery error, never the message itself; a FanOut logs at warn
// the transitions a notifier failed to take. Give it a logger With the
// attributes that name the destination. nil, the default, discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// logger returns the logger opts set, or one that discards.
func logger(opts []Option) *slog.Logger {
	o := options{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	return o.log
}
