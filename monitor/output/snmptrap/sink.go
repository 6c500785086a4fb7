package snmptrap

import (
	"context"
	"sync"

	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/notify"
)

// FromEvaluation returns the Trap for ev, with previous as the status
// reported before it.
func FromEvaluation(ev monitor.Evaluation, previous monitor.Status) Trap {
	return Trap{
		Check:      ev.Check,
		TargetName: ev.Target.Name,
		TargetID:   ev.Target.ID,
		Status:     ev.Status,
		Previous:   previous,
		Message:    ev.Message,
	}
}

// FromTransition returns the Trap for a reported status change, for a
// [monitor.WithTransitions] callback: one notification per change,
// recoveries to OK included.
//
//	monitor.WithTransitions(func(ctx context.Context, tr monitor.Transition) {
//		if err := s.Send(ctx, snmptrap.FromTransition(tr)); err != nil {
//			log.Warn("trap not sent", "error", err)
//		}
//	})
func FromTransition(tr monitor.Transition) Trap {
	return FromEvaluation(tr.Evaluation, tr.From)
}

// SinkOptions tune the Notifier of [NewNotifier] and the Sink of
// [NewSink].
type SinkOptions struct {
	// All sends every Evaluation, OK ones included.
	All bool
	// Recoveries also sends an OK Evaluation whose previous status (as
	// this Notifier saw it) was not OK, so that the receiver can clear
	// its alarm.
	Recoveries bool
}

// Notifier is a [notify.Notifier] sending one notification through its
// Sender for each Evaluation whose Status is not OK (every one with
// SinkOptions.All; the recoveries too with SinkOptions.Recoveries). It
// remembers the last status it saw for each check and Target (only while
// it is not OK, so the memory is bounded by the open problems) and sends
// it as minatoPreviousStatus; a (check, Target) it has not seen was OK.
//
// Notify sends before it returns, as a notification is one datagram that
// nothing answers: Flush has nothing to wait for and Stats.Pending is
// always 0. The Sender's Send, Config, Stats and Dropped are the
// Notifier's; Close closes the Sender.
type Notifier struct {
	*Sender
	opts SinkOptions

	mu   sync.Mutex
	last map[key]monitor.Status // non-OK statuses only
}

var _ notify.Notifier = (*Notifier)(nil)

type key struct{ check, target string }

// NewNotifier returns a Notifier sending through s, which it owns from
// then on.
func NewNotifier(s *Sender, opts SinkOptions) *Notifier {
	return &Notifier{Sender: s, opts: opts, last: make(map[key]monitor.Status)}
}

// Notify sends the notification for ev, or does nothing and returns nil
// when the options leave ev out. An error is [Sender.Send]'s: the
// notification was dropped. ctx bounds the send.
func (n *Notifier) Notify(ctx context.Context, ev monitor.Evaluation) error {
	id := key{ev.Check, ev.Target.Key()}
	n.mu.Lock()
	prev, seen := n.last[id]
	if !seen {
		prev = monitor.OK
	}
	if ev.Status == monitor.OK {
		delete(n.last, id)
	} else {
		n.last[id] = ev.Status
	}
	n.mu.Unlock()
	if ev.Status == monitor.OK && !n.opts.All && (!n.opts.Recoveries || prev == monitor.OK) {
		return nil
	}
	return n.Send(ctx, FromEvaluation(ev, prev))
}

// Flush returns nil: every notification was sent before Notify returned.
func (n *Notifier) Flush(context.Context) error { return nil }

// Close closes the Sender. It returns at once: nothing is queued.
func (n *Notifier) Close(context.Context) error { return n.Sender.Close() }

// NewSink returns a [monitor.Sink] sending, through s, what
// [NewNotifier] would for each Evaluation of a round. Write sends every
// notification even when some fail and returns the failures joined. The
// Sink does not close s; s may be shared by several Sinks, each with its
// own memory of previous statuses.
func NewSink(s *Sender, opts SinkOptions) monitor.Sink {
	return notify.AsSink(NewNotifier(s, opts))
}
