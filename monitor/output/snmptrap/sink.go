package snmptrap

import (
	"context"
	"errors"
	"sync"

	"github.com/minato-ops/minato/monitor"
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

// SinkOptions tune the Sink of [NewSink].
type SinkOptions struct {
	// All sends every Evaluation, OK ones included.
	All bool
	// Recoveries also sends an OK Evaluation whose previous status (as
	// this Sink saw it) was not OK, so that the receiver can clear its
	// alarm.
	Recoveries bool
}

// NewSink returns a [monitor.Sink] sending one notification through s for
// each Evaluation whose Status is not OK (every one with opts.All; the
// recoveries too with opts.Recoveries). The Sink remembers the last
// status it saw for each check and Target (only while it is not OK, so
// the memory is bounded by the open problems) and sends it as
// minatoPreviousStatus; a (check, Target) it has not seen was OK. Write
// sends every notification even when some fail and returns the failures
// joined. The Sink does not close s; it may be shared by several
// Runners.
func NewSink(s *Sender, opts SinkOptions) monitor.Sink {
	k := &sink{s: s, opts: opts, last: make(map[key]monitor.Status)}
	return monitor.SinkFunc(k.write)
}

type key struct{ check, target string }

type sink struct {
	s    *Sender
	opts SinkOptions

	mu   sync.Mutex
	last map[key]monitor.Status // non-OK statuses only
}

func (k *sink) write(ctx context.Context, evs []monitor.Evaluation) error {
	var errs []error
	for _, ev := range evs {
		id := key{ev.Check, ev.Target.Key()}
		k.mu.Lock()
		prev, seen := k.last[id]
		if !seen {
			prev = monitor.OK
		}
		if ev.Status == monitor.OK {
			delete(k.last, id)
		} else {
			k.last[id] = ev.Status
		}
		k.mu.Unlock()
		send := ev.Status != monitor.OK || k.opts.All || (k.opts.Recoveries && prev != monitor.OK)
		if !send {
			continue
		}
		if err := k.s.Send(ctx, FromEvaluation(ev, prev)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
