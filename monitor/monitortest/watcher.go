package monitortest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// Emission is one scripted observation of a [ScriptedWatcher].
type Emission struct {
	// Delay is how long Watch waits before emitting, counted from the
	// previous Emission (or from the start of the Watch call).
	Delay time.Duration
	// Target and Result are given to emit.
	Target inventory.Target
	Result monitor.Result
}

// WatchRun is the script of one Watch call of a [ScriptedWatcher].
type WatchRun struct {
	// Emissions are emitted in order, each after its Delay. When ctx
	// ends first, Watch returns nil at once (a well-behaved Watcher).
	Emissions []Emission
	// Err, when set, is returned after the last Emission: a failed
	// stream. When nil, Watch waits for ctx and returns nil, unless End
	// is set.
	Err error
	// End makes Watch return Err (even nil: a stream that ended on its
	// own) after the last Emission instead of waiting for ctx.
	End bool
}

// ScriptedWatcher is a test-only [monitor.Watcher] that plays a script,
// one [WatchRun] per Watch call: call i plays Runs[i], and after the last
// run the last one repeats. With no Runs, Watch emits nothing and waits
// for ctx. It is also a [monitor.Monitor], so that it can be the Monitor
// of a watched [monitor.Check]; its Check returns an error wrapping
// [monitor.ErrNotSupported].
//
// Set Runs before the first call and do not change it afterwards. Watch
// is safe for concurrent use; each call keeps its own position.
type ScriptedWatcher struct {
	// Runs is the script, one entry per Watch call.
	Runs []WatchRun

	mu      sync.Mutex
	starts  []time.Time
	running int
}

var (
	_ monitor.Watcher = (*ScriptedWatcher)(nil)
	_ monitor.Monitor = (*ScriptedWatcher)(nil)
)

// Watch plays the next WatchRun.
func (w *ScriptedWatcher) Watch(ctx context.Context, emit func(inventory.Target, monitor.Result)) error {
	w.mu.Lock()
	run := WatchRun{}
	if n := len(w.starts); len(w.Runs) > 0 {
		run = w.Runs[min(n, len(w.Runs)-1)]
	}
	w.starts = append(w.starts, time.Now())
	w.running++
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.running--
		w.mu.Unlock()
	}()
	for _, e := range run.Emissions {
		if e.Delay > 0 {
			t := time.NewTimer(e.Delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		emit(e.Target, e.Result)
	}
	if run.Err != nil || run.End {
		return run.Err
	}
	<-ctx.Done()
	return nil
}

// Check returns an error wrapping monitor.ErrNotSupported.
func (w *ScriptedWatcher) Check(context.Context, inventory.Target) (monitor.Result, error) {
	return monitor.Result{}, fmt.Errorf("%w: scripted watcher: watched, not polled", monitor.ErrNotSupported)
}

// Starts returns when each Watch call started, in order.
func (w *ScriptedWatcher) Starts() []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Time(nil), w.starts...)
}

// Running returns how many Watch calls have not returned yet.
func (w *ScriptedWatcher) Running() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running
}
