package webhook

import (
	"context"

	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/jsonout"
	"github.com/minato-ops/minato/monitor/output/notify"
)

// Notifier is a [notify.Notifier] posting, through its Sender, one JSON
// object per Evaluation: [jsonout.NewEvaluation] of it, the same shape as
// one line of jsonout's LineSink:
//
//	{"check":"cpu","target":{"kind":"container","id":"0e0d…","name":"web-1"},
//	 "status":"CRITICAL","exit_code":2,"observed":"CRITICAL","message":"cpu_percent=95% (critical 90)",…}
//
// Every Evaluation is posted, OK ones included. The Sender's methods are
// the Notifier's: Flush, Stats and Close are those of [Sender], so
// closing the Notifier closes the Sender.
type Notifier struct {
	*Sender
}

var _ notify.Notifier = (*Notifier)(nil)

// NewNotifier returns a Notifier posting through s, which it owns from
// then on.
func NewNotifier(s *Sender) *Notifier { return &Notifier{s} }

// Notify queues the JSON form of ev; it never blocks. An error is
// [Sender.Send]'s (such as ErrBufferFull): the message was dropped.
func (n *Notifier) Notify(ctx context.Context, ev monitor.Evaluation) error {
	return n.Send(ctx, jsonout.NewEvaluation(ev))
}

// NewSink returns a [monitor.Sink] that posts, through s, what
// [NewNotifier] would for each Evaluation of a round. Write only queues
// (it never blocks the Runner); it queues every Evaluation even when some
// fail, and returns the failures (such as ErrBufferFull) joined. The Sink
// does not close s.
func NewSink(s *Sender) monitor.Sink {
	return notify.AsSink(NewNotifier(s))
}
