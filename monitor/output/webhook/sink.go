package webhook

import (
	"context"
	"errors"

	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/jsonout"
)

// NewSink returns a [monitor.Sink] that posts, through s, one JSON object
// per Evaluation: [jsonout.NewEvaluation] of it, the same shape as one
// line of jsonout's LineSink:
//
//	{"check":"cpu","target":{"kind":"container","id":"0e0d…","name":"web-1"},
//	 "status":"CRITICAL","exit_code":2,"observed":"CRITICAL","message":"cpu_percent=95% (critical 90)",…}
//
// Every Evaluation is posted, OK ones included. Write only queues (it
// never blocks the Runner); it queues every Evaluation even when some
// fail, and returns the failures (such as ErrBufferFull) joined. The Sink
// does not close s.
func NewSink(s *Sender) monitor.Sink {
	return monitor.SinkFunc(func(ctx context.Context, evs []monitor.Evaluation) error {
		var errs []error
		for _, ev := range evs {
			if err := s.Send(ctx, jsonout.NewEvaluation(ev)); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}
