package syslog

import (
	"cmp"
	"context"
	"errors"
	"strconv"

	"github.com/minato-ops/minato/monitor"
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

// SinkOptions tune the Sink of [NewSink].
type SinkOptions struct {
	// All sends every Evaluation; by default OK ones are left out, so
	// that only problems reach the log.
	All bool
	// Hostname chooses the HOSTNAME of an Evaluation's message; nil, or
	// an empty result, means the Writer's Config.Hostname. For seed 002's
	// per-container nodes, return ev.Target.ShortID().
	Hostname func(ev monitor.Evaluation) string
}

// NewSink returns a [monitor.Sink] sending one message through w for each
// Evaluation whose Status is not OK (every Evaluation with opts.All). The
// message's severity is [SeverityOf] the Status, its MSGID the check name,
// its time the Result's (now when there is none), and its text a stable
// key=value line:
//
//	check=cpu target=web-1 id=0e0d8cdf3a57 status=CRITICAL message="cpu_percent=95% (critical 90)"
//
// where target is "-" when the Target has no name and message is quoted
// as a Go string literal. Write sends every message even when some fail,
// and returns the failures joined. The Sink does not close w.
func NewSink(w *Writer, opts SinkOptions) monitor.Sink {
	return monitor.SinkFunc(func(ctx context.Context, evs []monitor.Evaluation) error {
		var errs []error
		for _, ev := range evs {
			if ev.Status == monitor.OK && !opts.All {
				continue
			}
			m := Message{
				Time:     ev.Result.Time,
				Severity: SeverityOf(ev.Status),
				MsgID:    ev.Check,
				Text:     EvaluationText(ev),
			}
			if opts.Hostname != nil {
				m.Hostname = opts.Hostname(ev)
			}
			if err := w.Send(ctx, m); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
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
