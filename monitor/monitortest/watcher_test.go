package monitortest_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/monitortest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScriptedWatcher(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("connection reset")
		crit := monitor.Result{Status: monitor.Critical, Message: "died"}
		w := &monitortest.ScriptedWatcher{Runs: []monitortest.WatchRun{
			{Emissions: []monitortest.Emission{{Delay: time.Second, Target: web, Result: crit}}, Err: boom},
			{End: true},
			{Emissions: []monitortest.Emission{{Target: web}, {Delay: time.Hour, Target: web}}},
		}}
		type obs struct {
			at time.Duration
			r  monitor.Result
		}
		var got []obs
		t0 := time.Now()
		emit := func(_ inventory.Target, r monitor.Result) { got = append(got, obs{time.Since(t0), r}) }
		ctx, cancel := context.WithCancel(context.Background())

		assert.ErrorIs(t, w.Watch(ctx, emit), boom, "run 1 fails after its emission")
		assert.Equal(t, []obs{{time.Second, crit}}, got)
		assert.NoError(t, w.Watch(ctx, emit), "run 2 ends on its own")

		done := make(chan error, 1)
		go func() { done <- w.Watch(ctx, emit) }()
		time.Sleep(time.Minute)
		assert.Equal(t, 1, w.Running())
		cancel()
		assert.NoError(t, <-done, "run 3 waits for ctx, cut short in its Delay")
		assert.Len(t, got, 2)
		assert.Equal(t, 0, w.Running())

		assert.NoError(t, w.Watch(ctx, emit), "the last run repeats; a cancelled ctx returns nil at once")
		assert.Len(t, w.Starts(), 4)
		_, err := w.Check(ctx, web)
		assert.ErrorIs(t, err, monitor.ErrNotSupported)

		empty := &monitortest.ScriptedWatcher{}
		assert.NoError(t, empty.Watch(ctx, emit))
	})
}

// goodWatcher emits one well-formed observation per trigger and stops on
// ctx.
type goodWatcher struct {
	goodMonitor
	kick chan struct{}
}

func (g *goodWatcher) Watch(ctx context.Context, emit func(inventory.Target, monitor.Result)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-g.kick:
			emit(web, monitor.Result{Status: monitor.Critical, Samples: []monitor.Sample{{Name: "pids_current", Value: 3}}})
		}
	}
}

func TestWatcherSuitePassesGoodWatcher(t *testing.T) {
	g := &goodWatcher{kick: make(chan struct{}, 1)}
	trigger := func(context.Context) error { g.kick <- struct{}{}; return nil }
	f := run(t, func(tb testing.TB) { monitortest.TestWatcher(tb, g, trigger) })
	assert.Empty(t, f.errs)

	w := &monitortest.ScriptedWatcher{Runs: []monitortest.WatchRun{{Emissions: []monitortest.Emission{{Target: web}}}}}
	monitortest.TestWatcher(t, w, nil)
}

// badWatcher ignores ctx, fails, emits malformed observations and keeps
// emitting after it returned.
type badWatcher struct {
	mode string
	wg   sync.WaitGroup
}

func (b *badWatcher) Watch(ctx context.Context, emit func(inventory.Target, monitor.Result)) error {
	switch b.mode {
	case "early":
		emit(inventory.Target{Name: "no-id"}, monitor.Result{Samples: []monitor.Sample{{Name: "Bad-Name", Value: 1}}})
		return errors.New("stream broke")
	case "slow":
		emit(web, monitor.Result{})
		time.Sleep(300 * time.Millisecond)
		return errors.New("cancelled")
	case "late":
		emit(web, monitor.Result{})
		b.wg.Go(func() {
			<-ctx.Done()
			time.Sleep(30 * time.Millisecond)
			emit(web, monitor.Result{})
		})
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond)
		return nil
	case "cancelled error":
		emit(web, monitor.Result{})
		<-ctx.Done()
		return errors.New("cancelled")
	case "panic":
		var s []int
		_ = s[len(b.mode)]
	}
	<-ctx.Done()
	return nil
}

func TestWatcherSuiteFailsBadWatchers(t *testing.T) {
	cases := map[string][]string{
		"early": {
			"Watch returned stream broke before its ctx was cancelled",
			`emitted Target (kind "", id "", name "no-id") has no Kind or no ID`,
			`sample name "Bad-Name" is not snake_case`,
		},
		"slow": {
			"Watch with an already cancelled ctx did not return within 50ms",
			"Watch with an already cancelled ctx returned cancelled, want nil",
			"Watch did not return within 50ms of its ctx being cancelled",
		},
		"cancelled error": {"Watch returned cancelled after its ctx was cancelled, want nil"},
		"late":            {"Watch emitted 1 observations after it returned"},
		"panic":           {"Watch with an already cancelled ctx panicked: runtime error: index out of range [5] with length 0", "Watch panicked: runtime error: index out of range"},
		"silent":          {"Watch emitted nothing within 100ms of the trigger"},
	}
	for mode, wants := range cases {
		t.Run(mode, func(t *testing.T) {
			b := &badWatcher{mode: mode}
			f := run(t, func(tb testing.TB) {
				monitortest.TestWatcher(tb, b, nil, monitortest.PromptWithin(50*time.Millisecond), monitortest.ObserveWithin(100*time.Millisecond))
			})
			b.wg.Wait()
			time.Sleep(400 * time.Millisecond) // let a hung Watch finish before the next case
			f.mu.Lock()
			all := strings.Join(f.errs, "\n")
			f.mu.Unlock()
			for _, want := range wants {
				assert.Contains(t, all, want)
			}
		})
	}
	t.Run("trigger error", func(t *testing.T) {
		w := &monitortest.ScriptedWatcher{Runs: []monitortest.WatchRun{{Emissions: []monitortest.Emission{{Target: web}}}}}
		f := run(t, func(tb testing.TB) {
			monitortest.TestWatcher(tb, w, func(context.Context) error { return errors.New("cannot start container") })
		})
		require.Len(t, f.errs, 1)
		assert.Equal(t, "monitortest: trigger: cannot start container", f.errs[0])
	})
}
