package monitortest

import (
	"context"
	"slices"
	"sync"

	"github.com/minato-ops/minato/monitor"
)

// RecordingSink is a test-only [monitor.Sink] that keeps every Write. The
// zero value is ready to use and it is safe for concurrent use.
type RecordingSink struct {
	// Err, when set, is returned by every Write (which still records).
	// Set it before use.
	Err error

	mu     sync.Mutex
	writes [][]monitor.Evaluation
}

var _ monitor.Sink = (*RecordingSink)(nil)

// Write records a copy of evs.
func (s *RecordingSink) Write(_ context.Context, evs []monitor.Evaluation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, slices.Clone(evs))
	return s.Err
}

// Writes returns the recorded writes, one slice per Write call.
func (s *RecordingSink) Writes() [][]monitor.Evaluation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

// Evaluations returns every recorded Evaluation, in the order written.
func (s *RecordingSink) Evaluations() []monitor.Evaluation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []monitor.Evaluation
	for _, w := range s.writes {
		out = append(out, w...)
	}
	return out
}

// Statuses returns the reported Status of every recorded Evaluation of
// the named check and Target name, in the order written: the series a
// damping test asserts on.
func (s *RecordingSink) Statuses(check, target string) []monitor.Status {
	var out []monitor.Status
	for _, ev := range s.Evaluations() {
		if ev.Check == check && ev.Target.Name == target {
			out = append(out, ev.Status)
		}
	}
	return out
}
