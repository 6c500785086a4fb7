package monitortest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// Step is one scripted answer of a [Scripted] monitor.
type Step struct {
	// Result is returned when Err is nil.
	Result monitor.Result
	// Err, when set, is returned instead of Result.
	Err error
	// Delay makes Check wait this long before answering. If ctx ends
	// first, Check returns ctx's error (a well-behaved monitor); with
	// IgnoreContext it waits the full Delay regardless.
	Delay time.Duration
	// IgnoreContext makes the Delay ignore ctx, like a misbehaving monitor.
	IgnoreContext bool
}

// Values returns one Step per value, each a Result holding one Sample
// with the given name and unit: a quick script for threshold and damping
// tests.
func Values(name string, unit monitor.Unit, vs ...float64) []Step {
	steps := make([]Step, len(vs))
	for i, v := range vs {
		steps[i] = Step{Result: monitor.Result{Samples: []monitor.Sample{{Name: name, Value: v, Unit: unit}}}}
	}
	return steps
}

// Call records one Check call of a [Scripted] monitor.
type Call struct {
	// Target is the Target checked.
	Target inventory.Target
	// Time is when the call started.
	Time time.Time
}

// Scripted is a test-only [monitor.Monitor] that plays a script. Each
// Target has its own position in the script, so concurrent calls for
// different Targets are deterministic; after the last Step the last one
// repeats. With no Steps at all, Check returns an empty OK Result.
//
// Set the fields before the first call and do not change them afterwards.
// Check is safe for concurrent use.
type Scripted struct {
	// Steps is the script for every Target without an entry in ByTarget.
	Steps []Step
	// ByTarget holds per-Target scripts, keyed by Target.Name.
	ByTarget map[string][]Step

	mu          sync.Mutex
	pos         map[string]int
	calls       []Call
	inFlight    int
	maxInFlight int
}

var _ monitor.Monitor = (*Scripted)(nil)

// Check plays the next Step of t's script.
func (s *Scripted) Check(ctx context.Context, t inventory.Target) (monitor.Result, error) {
	step := s.next(t)
	defer s.done()
	return play(ctx, step)
}

func (s *Scripted) next(t inventory.Target) Step {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Target: t, Time: time.Now()})
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	steps, ok := s.ByTarget[t.Name]
	if !ok {
		steps = s.Steps
	}
	if len(steps) == 0 {
		return Step{}
	}
	if s.pos == nil {
		s.pos = map[string]int{}
	}
	key := t.Key()
	i := min(s.pos[key], len(steps)-1)
	s.pos[key]++
	return steps[i]
}

func (s *Scripted) done() {
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}

func play(ctx context.Context, step Step) (monitor.Result, error) {
	if step.Delay > 0 {
		if step.IgnoreContext {
			time.Sleep(step.Delay)
		} else {
			t := time.NewTimer(step.Delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return monitor.Result{}, ctx.Err()
			case <-t.C:
			}
		}
	}
	if step.Err != nil {
		return monitor.Result{}, step.Err
	}
	r := step.Result
	r.Samples = slices.Clone(r.Samples)
	return r, nil
}

// Calls returns every call so far, in the order they started.
func (s *Scripted) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// MaxInFlight returns the largest number of calls that were running at
// the same time.
func (s *Scripted) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// ScriptedBatch is a [Scripted] monitor that is also a
// [monitor.BatchMonitor]: CheckAll plays the next Step of every Target in
// one call, waiting once for the longest Delay. Sweep errors come from
// SweepErr.
type ScriptedBatch struct {
	Scripted
	// SweepErr, when set, is CheckAll's error for the whole sweep.
	SweepErr error

	sweeps int
}

var _ monitor.BatchMonitor = (*ScriptedBatch)(nil)

// CheckAll plays one Step per Target.
func (b *ScriptedBatch) CheckAll(ctx context.Context, ts []inventory.Target) ([]monitor.Result, []error, error) {
	b.mu.Lock()
	b.sweeps++
	b.mu.Unlock()
	steps := make([]Step, len(ts))
	var wait Step
	for i, t := range ts {
		steps[i] = b.next(t)
		if steps[i].Delay > wait.Delay {
			wait = Step{Delay: steps[i].Delay, IgnoreContext: steps[i].IgnoreContext}
		}
	}
	defer func() {
		for range ts {
			b.done()
		}
	}()
	if _, err := play(ctx, wait); err != nil {
		return nil, nil, err
	}
	if b.SweepErr != nil {
		return nil, nil, b.SweepErr
	}
	results := make([]monitor.Result, len(ts))
	errs := make([]error, len(ts))
	for i, st := range steps {
		st.Delay = 0
		results[i], errs[i] = play(ctx, st)
	}
	return results, errs, nil
}

// Sweeps returns how many CheckAll calls there were.
func (b *ScriptedBatch) Sweeps() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sweeps
}
