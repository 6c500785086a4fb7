package monitortest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// TestWatcher is a conformance suite for a [monitor.Watcher], the
// streaming counterpart of [TestMonitor]: adapter authors call it with a
// trigger that makes the source produce at least one observation (start a
// container, send a trap); trigger may be nil when the Watcher emits on
// its own. It reports every problem with tb.Errorf and checks that:
//
//   - Watch returns nil within PromptWithin when its ctx is already
//     cancelled;
//   - Watch, once running and triggered, emits at least one observation
//     within ObserveWithin, and does not return before its ctx is
//     cancelled;
//   - Watch returns nil within PromptWithin when its ctx is cancelled
//     while it runs, and emits nothing after it returned (watched for
//     100 ms);
//   - every emitted Target has a Kind and an ID, and every emitted Result
//     is well formed as [TestMonitor] defines it (names, units, values,
//     labels, Status);
//   - if the Watcher is a [monitor.Describer], its descriptions are well
//     formed and describe every sample emitted.
//
// trigger is called once, after Watch was started, with a ctx that ends
// when the suite is done with it; its error fails the test. Whether the
// Watcher may lose what happens before it is connected is its own
// business: trigger may wait or repeat itself if needed.
func TestWatcher(tb testing.TB, w monitor.Watcher, trigger func(ctx context.Context) error, opts ...Option) {
	tb.Helper()
	s := suite{concurrency: 8, prompt: 2 * time.Second, timeout: 30 * time.Second, observe: 30 * time.Second}
	for _, o := range opts {
		o(&s)
	}

	// An already cancelled ctx.
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	s.prompted(tb, "Watch with an already cancelled ctx", func() {
		err := safeWatch(cancelled, w, func(inventory.Target, monitor.Result) {})
		var p panicError
		switch {
		case errors.As(err, &p):
			tb.Errorf("monitortest: Watch with an already cancelled ctx panicked: %v", p.v)
		case err != nil:
			tb.Errorf("monitortest: Watch with an already cancelled ctx returned %v, want nil", err)
		}
	})

	// A running watch, triggered, then cancelled.
	var (
		mu       sync.Mutex
		targets  []inventory.Target
		results  []monitor.Result
		returned bool
		late     int
	)
	first := make(chan struct{})
	emit := func(t inventory.Target, r monitor.Result) {
		mu.Lock()
		defer mu.Unlock()
		if returned {
			late++
			return
		}
		targets = append(targets, t)
		results = append(results, r)
		if len(results) == 1 {
			close(first)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type end struct {
		err   error
		early bool // ctx was not done yet
	}
	done := make(chan end, 1)
	go func() {
		err := safeWatch(ctx, w, emit)
		early := ctx.Err() == nil
		mu.Lock()
		returned = true
		mu.Unlock()
		done <- end{err, early}
	}()
	if trigger != nil {
		if err := trigger(ctx); err != nil {
			tb.Errorf("monitortest: trigger: %v", err)
		}
	}
	wait := time.NewTimer(s.observe)
	var ended *end
	select {
	case <-first:
	case e := <-done:
		ended = &e
	case <-wait.C:
		tb.Errorf("monitortest: Watch emitted nothing within %s of the trigger", s.observe)
	}
	wait.Stop()
	cancel()
	if ended == nil {
		t := time.NewTimer(s.prompt)
		select {
		case e := <-done:
			ended = &e
		case <-t.C:
			tb.Errorf("monitortest: Watch did not return within %s of its ctx being cancelled: Watch must honour ctx", s.prompt)
		}
		t.Stop()
	}
	if ended != nil {
		var p panicError
		switch {
		case errors.As(ended.err, &p):
			tb.Errorf("monitortest: Watch panicked: %v", p.v)
		case ended.early:
			tb.Errorf("monitortest: Watch returned %v before its ctx was cancelled: a stream returns only when ctx is done", ended.err)
		case ended.err != nil:
			tb.Errorf("monitortest: Watch returned %v after its ctx was cancelled, want nil", ended.err)
		}
		time.Sleep(lateGrace) // let an emit from a leaked goroutine show
	}

	mu.Lock()
	defer mu.Unlock()
	if late > 0 {
		tb.Errorf("monitortest: Watch emitted %d observations after it returned", late)
	}
	var problems []string
	for i, r := range results {
		if targets[i].Kind == "" || targets[i].ID == "" {
			problems = append(problems, fmt.Sprintf("emitted Target (kind %q, id %q, name %q) has no Kind or no ID", targets[i].Kind, targets[i].ID, targets[i].Name))
		}
		problems = append(problems, resultProblems(r)...)
	}
	for _, p := range dedupe(problems) {
		tb.Errorf("monitortest: %s", p)
	}
	if d, ok := w.(monitor.Describer); ok && len(results) > 0 {
		for _, p := range describeProblems(d.Describe(), results) {
			tb.Errorf("monitortest: Describe: %s", p)
		}
	}
}

// lateGrace is how long TestWatcher waits after Watch returned for
// emissions that should not come.
const lateGrace = 100 * time.Millisecond

// safeWatch calls w.Watch, turning a panic into a panicError.
func safeWatch(ctx context.Context, w monitor.Watcher, emit func(inventory.Target, monitor.Result)) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError{v}
		}
	}()
	return w.Watch(ctx, emit)
}
