package syslog

import (
	"cmp"
	"context"
	"strconv"

	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/notify"
)

// SeverityOf maps a monitor Status to a syslog Severity: OK → Info,
// Warning → Warning, Critical → Critical, Unknown (and anything else) →
// Notice.
func SeverityOf(s monitor.Status) Severity {
	switch s {
	case monitor.OK:
		return Info
	case monitor.Warning:
		return Warning
	case monitor.Critical:
		return Critical
	}
	return Notice
}

// SinkOptions tune the Notifier of [NewNotifier] and the Sink of
// [NewSink].
type SinkOptions struct {
	// All sends every Evaluation; by default OK ones are left out, so
	// that only problems reach the log.
	All bool
	// Hostname chooses the HOSTNAME of an Evaluation's message; nil, or
	// an empty result, means the Writer's Config.Hostname. For the
	// per-container nodes of the Hinemos Docker monitoring scripts,
	// return ev.Target.ShortID().
	Hostname func(ev monitor.Evaluation) string
}

// Notifier is a [notify.Notifier] sending one message through its Writer
// for each Evaluation whose Status is not OK (every Evaluation with
// SinkOptions.All). The message's severity is [SeverityOf] the Status,
// its MSGID the check name, its time the Result's (now when there is
// none), and its text a stable key=value line:
//
//	check=cpu target=web-1 id=0e0d8cdf3a57 status=CRITICAL message="cpu_percent=95% (critical 90)"
//
// where target is "-" when the Target has no name and message is quoted
// as a Go string literal. The Writer's methods are the Notifier's: Flush,
// Stats and Close are those of [Writer], so closing the Notifier closes
// the Writer.
type Notifier struct {
	*Writer
	opts SinkOptions
}

var _ notify.Notifier = (*Notifier)(nil)

// NewNotifier returns a Notifier sending through w, which it owns from
// then on.
func NewNotifier(w *Writer, opts SinkOptions) *Notifier {
	return &Notifier{Writer: w, opts: opts}
}

// Notify sends (UDP) or queues (TCP) the message for ev, or does nothing
// and returns nil when ev is OK and SinkOptions.All is not set. An error
// is [Writer.Send]'s: the message was dropped.
func (n *Notifier) Notify(ctx context.Context, ev monitor.Evaluation) error {
	if ev.Status == monitor.OK && !n.opts.All {
		return nil
	}
	m := Message{
		Time:     ev.Result.Time,
		Severity: SeverityOf(ev.Status),
		MsgID:    ev.Check,
		Text:     EvaluationText(ev),
	}
	if n.opts.Hostname != nil {
		m.Hostname = n.opts.Hostname(ev)
	}
	return n.Send(ctx, m)
}

// NewSink returns a [monitor.Sink] sending, through w, what
// [NewNotifier] would for each Evaluation of a round. Write sends every
// message even when some fail, and returns the failures joined. The Sink
// does not close w.
func NewSink(w *Writer, opts SinkOptions) monitor.Sink {
	return notify.AsSink(NewNotifier(w, opts))
}

// EvaluationText is the message text NewSink sends for ev:
// check=<check> target=<name> id=<id12> status=<STATUS> message="<msg>".
func EvaluationText(ev monitor.Evaluation) string {
	b := make([]byte, 0, 96+len(ev.Message))
	b = append(b, "check="...)
	b = append(b, cmp.Or(ev.Check, "-")...)
	b = append(b, " target="...)
	b = append(b, cmp.Or(ev.Target.Name, "-")...)
	b = append(b, " id="...)
	b = append(b, cmp.Or(ev.Target.ShortID(), "-")...)
	b = append(b, " status="...)
	b = append(b, ev.Status.String()...)
	b = append(b, " message="...)
	b = strconv.AppendQuote(b, ev.Message)
	return string(b)
}
