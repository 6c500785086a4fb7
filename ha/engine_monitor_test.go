package ha_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// ladder is the recovery-ladder setup: db, and app (depending on db)
// whose own check always fails with code 9. app's policy: every 10s, one
// retry, two restarts, one failover, then final.
func ladder(t *testing.T, final ha.FinalAction, opts ...ha.EngineOption) (*harness, *callLog, *fakeRes, *fakeRes) {
	log := newCallLog()
	db, app := newFake(log, "db"), newFake(log, "app")
	app.checkFn = critical(9, "app is unhealthy")
	pol := ha.RecoveryPolicy{Interval: 10 * time.Second, Retries: 1, Restarts: 2, Failovers: 1, FinalAction: final}
	other := newFake(log, "other")
	h := start(t, []ha.Group{
		group("web",
			ha.Member{Name: "db", Resource: db},
			ha.Member{Name: "app", Resource: app, DependsOn: []string{"db"}, Policy: pol}),
		group("batch", ha.Member{Name: "other", Resource: other}),
	}, opts...)
	h.online("web", 1)
	h.online("batch", 1)
	return h, log, db, app
}

const (
	appError  = "monitor_error: Detected an error in monitoring app. (9 : app is unhealthy)"
	appDeact  = "deactivated: Deactivating app resource has completed."
	appAct    = "activated: Activating app resource has completed."
	spentWhy  = "an error was detected in monitoring app and its recovery is spent"
	restart1  = "restart: Restarting app resource because an error was detected in monitoring app (restart 1 of 2)."
	restart2  = "restart: Restarting app resource because an error was detected in monitoring app (restart 2 of 2)."
	recovered = "monitor_recovered: Monitoring app is normal again."
)

// recoveryLines are the events after the groups came online.
func recoveryLines(h *harness) []string {
	var out []string
	started := 0
	for _, ev := range h.ev.all() {
		if ev.Kind == ha.EventActivated && ev.Member == "" {
			started++
			continue
		}
		if started >= 2 && ev.Group == "web" || ev.Kind == ha.EventFinalAction {
			out = append(out, string(ev.Kind)+": "+ev.Message)
		}
	}
	return out
}

func TestRecoveryLadder(t *testing.T) {
	ladderHead := []string{appError, restart1, appDeact, appAct, appError, restart2, appDeact, appAct, appError}

	t.Run("final none", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h, log, _, app := ladder(t, ha.FinalNone)
			time.Sleep(65 * time.Second)
			// Two failures in a row at 0s and 10s, restart; again at 20s
			// and 30s; again at 40s and 50s: no failover (no callback),
			// final action; the monitor goes on checking without repeating.
			if ts := log.times("app", "check"); !slices.Equal(ts, secs(0, 10, 20, 30, 40, 50, 60)) {
				t.Errorf("app checked at %v", ts)
			}
			equal(t, "events", recoveryLines(h), append(slices.Clone(ladderHead),
				"final_action: No final action for group web (final action none): "+spentWhy+"; the group stays as it is."))
			m := h.monitor("web", "app")
			if m.Status != monitor.Critical || m.Restarts != 2 || m.Failovers != 1 || m.Failures != 1 ||
				m.Message != "Detected an error in monitoring app. (9 : app is unhealthy)" {
				t.Errorf("monitor status %+v", m)
			}
			if st := h.status("web"); st.State != ha.Online {
				t.Errorf("state %s, want online", st.State)
			}
			// Healthy again: reported once; the counts stay until ResetAfter.
			app.setCheck(okResult)
			time.Sleep(10 * time.Second)
			if got := recoveryLines(h); got[len(got)-1] != recovered {
				t.Errorf("last event %q, want %q", got[len(got)-1], recovered)
			}
			if m := h.monitor("web", "app"); m.Status != monitor.OK || m.Restarts != 2 || m.Message != "fine" {
				t.Errorf("monitor status %+v", m)
			}
		})
	})
	t.Run("final stop_group", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h, log, db, app := ladder(t, ha.FinalStopGroup)
			time.Sleep(55 * time.Second)
			equal(t, "events", recoveryLines(h), append(slices.Clone(ladderHead),
				"final_action: Stopping group web (final action stop_group): "+spentWhy+".",
				appDeact, "deactivated: Deactivating db resource has completed.",
				"deactivated: Deactivating group web has completed."))
			if st := h.status("web"); st.State != ha.Offline || db.isActive() || app.isActive() {
				t.Errorf("state %s, want offline", st.State)
			}
			if st := h.status("batch"); st.State != ha.Online {
				t.Errorf("the other group: %s, want online", st.State)
			}
			if n := len(log.times("app", "check")); n != 6 {
				t.Errorf("%d checks, want none after the group stopped", n)
			}
		})
	})
	t.Run("final stop_service", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var mu sync.Mutex
			var reasons []error
			h, _, _, _ := ladder(t, ha.FinalStopService, ha.WithStopService(func(ctx context.Context, reason error) {
				mu.Lock()
				reasons = append(reasons, reason)
				mu.Unlock()
			}))
			time.Sleep(55 * time.Second)
			for _, g := range []string{"web", "batch"} {
				if st := h.status(g); st.State != ha.Offline {
					t.Errorf("group %s: %s, want offline", g, st.State)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			var re *ha.ResourceError
			if len(reasons) != 1 || !errors.As(reasons[0], &re) || re.Code != 9 || !errors.Is(reasons[0], ha.ErrNoFailover) {
				t.Errorf("stop service called with %v", reasons)
			}
			if fin := h.ev.of(ha.EventFinalAction); len(fin) != 1 ||
				fin[0].Message != "Stopping the cluster service on n1 (final action stop_service): "+spentWhy+"." {
				t.Errorf("final action events %v", fin)
			}
		})
	})
}

func TestFailover(t *testing.T) {
	t.Run("the cluster moves the group", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var eng atomic.Pointer[ha.Engine]
			var mu sync.Mutex
			var got []string
			h, log, _, _ := ladder(t, ha.FinalStopService, ha.WithFailover(func(ctx context.Context, g string, reason error) error {
				mu.Lock()
				got = append(got, g+": "+reason.Error())
				mu.Unlock()
				return eng.Load().Offline(ctx, g) // as the cluster does before the next node starts it
			}))
			eng.Store(h.eng)
			time.Sleep(55 * time.Second)
			mu.Lock()
			equal(t, "failover calls", got, []string{"web: Detected an error in monitoring app. (9 : app is unhealthy)"})
			mu.Unlock()
			evs := recoveryLines(h)
			equal(t, "events", evs[len(evs)-4:], []string{appDeact, "deactivated: Deactivating db resource has completed.",
				"deactivated: Deactivating group web has completed.",
				"failover: Group web failed over from n1 because an error was detected in monitoring app."})
			if st := h.status("web"); st.State != ha.Offline {
				t.Errorf("state %s, want offline", st.State)
			}
			if n := len(h.ev.of(ha.EventFinalAction)); n != 0 {
				t.Errorf("%d final actions after a failover", n)
			}
			// The group comes back here later: the counts are as they were,
			// so the next error goes straight to the final action.
			h.online("web", 3)
			time.Sleep(20 * time.Second)
			if n := len(log.times("app", "activate")); n != 4 {
				t.Errorf("%d activations of app, want 4 (no restart after coming back)", n)
			}
			if fin := h.ev.of(ha.EventFinalAction); len(fin) != 1 || fin[0].Epoch != 3 {
				t.Errorf("final actions %v, want one at epoch 3", fin)
			}
		})
	})
	t.Run("the engine takes the group offline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h, _, db, _ := ladder(t, ha.FinalNone, ha.WithFailover(func(context.Context, string, error) error { return nil }))
			time.Sleep(55 * time.Second)
			if st := h.status("web"); st.State != ha.Offline || db.isActive() {
				t.Errorf("state %s, want offline", st.State)
			}
		})
	})
	t.Run("no node can take it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h, _, _, _ := ladder(t, ha.FinalStopGroup, ha.WithFailover(func(context.Context, string, error) error {
				return fmt.Errorf("n2 is down: %w", ha.ErrNoFailover)
			}))
			time.Sleep(55 * time.Second)
			fin := h.ev.of(ha.EventFinalAction)
			if len(fin) != 1 || !errors.Is(fin[0].Err, ha.ErrNoFailover) || !strings.Contains(fin[0].Err.Error(), "n2 is down") {
				t.Fatalf("final actions %v", fin)
			}
			if st := h.status("web"); st.State != ha.Offline {
				t.Errorf("state %s, want offline", st.State)
			}
			if n := len(h.ev.of(ha.EventFailover)); n != 0 {
				t.Errorf("%d failover events for a refused failover", n)
			}
		})
	})
	t.Run("the move fails", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var calls atomic.Int32
			h, _, _, _ := ladder(t, ha.FinalStopGroup, ha.WithFailover(func(context.Context, string, error) error {
				calls.Add(1)
				return errors.New("n2 did not answer")
			}))
			time.Sleep(55 * time.Second)
			fo := h.ev.of(ha.EventFailover)
			if len(fo) != 1 || fo[0].Err == nil ||
				fo[0].Message != "Failing over group web from n1 has failed: n2 did not answer; the group stays here." {
				t.Fatalf("failover events %v", fo)
			}
			if st := h.status("web"); st.State != ha.Online {
				t.Errorf("state %s, want online", st.State)
			}
			// The failover was counted: the next error takes the final action.
			time.Sleep(20 * time.Second)
			if calls.Load() != 1 || h.status("web").State != ha.Offline || len(h.ev.of(ha.EventFinalAction)) != 1 {
				t.Errorf("after the next error: %d failover calls, state %s", calls.Load(), h.status("web").State)
			}
		})
	})
}

func TestRestartTargets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		failing string // the member whose own check fails, or "" for the group monitor
		recover string // the group monitor's Recover
		want    []string
	}{
		{"a member restarts with its dependants", "db", "",
			[]string{"app deactivate", "db deactivate", "db activate", "app activate"}},
		{"a leaf member alone", "app", "",
			[]string{"app deactivate", "app activate"}},
		{"a group monitor recovering a member", "", "db",
			[]string{"app deactivate", "db deactivate", "db activate", "app activate"}},
		{"a group monitor recovering the group", "", "",
			[]string{"log deactivate", "app deactivate", "db deactivate", "db activate", "app activate", "log activate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log := newCallLog()
				fakes := map[string]*fakeRes{}
				for _, n := range []string{"db", "app", "log"} {
					fakes[n] = newFake(log, n)
				}
				pol := ha.RecoveryPolicy{Retries: -1, Restarts: 1}
				var targets []inventory.Target
				var mu sync.Mutex
				azw := monitor.MonitorFunc(func(ctx context.Context, t inventory.Target) (monitor.Result, error) {
					mu.Lock()
					defer mu.Unlock()
					targets = append(targets, t)
					if tc.failing == "" && len(targets) == 1 {
						return monitor.Result{Status: monitor.Critical, Code: 8, Message: "zone impaired"}, nil
					}
					return monitor.Result{Status: monitor.OK}, nil
				})
				g := group("web",
					ha.Member{Name: "db", Resource: fakes["db"], Policy: pol},
					ha.Member{Name: "app", Resource: fakes["app"], DependsOn: []string{"db"}, Policy: pol},
					ha.Member{Name: "log", Resource: fakes["log"], Policy: pol})
				g.Monitors = []ha.GroupMonitor{{Name: "azw", Monitor: azw, Recover: tc.recover, Policy: pol}}
				if tc.failing != "" {
					fakes[tc.failing].checkFn = func(_ context.Context, n int) (monitor.Result, error) {
						if n == 1 {
							return monitor.Result{Status: monitor.Critical, Code: 9, Message: "down"}, nil
						}
						return monitor.Result{Status: monitor.OK}, nil
					}
				}
				h := newHarness(t, []ha.Group{g})
				h.online("web", 4)
				h.online("web", 5) // restarts use the latest epoch
				h.run()
				time.Sleep(5 * time.Second)
				var got []string
				for _, c := range log.all() {
					if c.Op == "check" {
						continue
					}
					if got = append(got, c.Res+" "+c.Op); len(got) > 3 && c.Epoch != 5 {
						t.Errorf("%s %s at epoch %d, want 5", c.Res, c.Op, c.Epoch)
					}
				}
				equal(t, "first activations", got[:3], []string{"db activate", "app activate", "log activate"})
				equal(t, "restart", got[3:], tc.want)
				mu.Lock()
				if len(targets) == 0 || targets[0].Name != "n1" || targets[0].Kind != inventory.KindNode {
					t.Errorf("group monitor given %v, want node n1", targets)
				}
				mu.Unlock()
				if len(h.ev.of(ha.EventRestart)) != 1 {
					t.Errorf("restart events: %v", h.ev.lines(ha.EventRestart))
				}
				checkOverlaps(t, fakes["db"], fakes["app"], fakes["log"])
			})
		})
	}
}

func TestUnreachable(t *testing.T) {
	refused := func(context.Context, int) (monitor.Result, error) {
		return monitor.Result{}, errors.New("connection refused")
	}
	coded := func(context.Context, int) (monitor.Result, error) {
		return monitor.Result{}, ha.Errorf(7, "RR set does not exist")
	}
	unknown := func(context.Context, int) (monitor.Result, error) {
		return monitor.Result{Status: monitor.Unknown, Message: "no answer"}, nil
	}
	for _, tc := range []struct {
		name    string
		action  ha.UnreachableAction
		check   func(context.Context, int) (monitor.Result, error)
		events  []string
		status  monitor.Status
		message string
	}{
		{"warn, an error", ha.UnreachableWarn, refused,
			[]string{"monitor_warn: Warn monitoring db. (105 : connection refused)"}, monitor.Warning, ""},
		{"warn, a timeout", ha.UnreachableWarn, blockUntilDone,
			[]string{"monitor_warn: Warn monitoring db. (106 : Timeout occurred.)"}, monitor.Warning, ""},
		{"warn, a coded error", "", coded, // warn is the default
			[]string{"monitor_warn: Warn monitoring db. (107 : RR set does not exist)"}, monitor.Warning, ""},
		{"warn, an unknown result", ha.UnreachableWarn, unknown,
			[]string{"monitor_warn: Warn monitoring db. (105 : no answer)"}, monitor.Warning, ""},
		{"silent", ha.UnreachableSilent, blockUntilDone,
			nil, monitor.Unknown, "Warn monitoring db. (106 : Timeout occurred.)"},
		{"recover, a timeout", ha.UnreachableRecover, blockUntilDone,
			[]string{"monitor_error: Detected an error in monitoring db. (6 : Timeout occurred.)",
				"restart: Restarting db resource because an error was detected in monitoring db (restart 1 of 3).",
				"deactivated: Deactivating db resource has completed.",
				"activated: Activating db resource has completed."},
			monitor.Critical, "Detected an error in monitoring db. (6 : Timeout occurred.)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log := newCallLog()
				db := newFake(log, "db")
				db.checkFn = tc.check
				h := start(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: db,
					Policy: ha.RecoveryPolicy{Timeout: 3 * time.Second, OnUnreachable: tc.action}})})
				h.online("web", 1)
				// Checks at 0s and 10s (the second fails the row of two).
				time.Sleep(15 * time.Second)
				var evs []string
				for _, l := range h.ev.lines() {
					if !strings.Contains(l, "group web") && (!strings.HasPrefix(l, "activated") || len(evs) > 0) {
						evs = append(evs, l)
					}
				}
				equal(t, "events", evs, tc.events)
				m := h.monitor("web", "db")
				if m.Status != tc.status || tc.message != "" && m.Message != tc.message {
					t.Errorf("monitor status %+v, want %s %q", m, tc.status, tc.message)
				}
				if tc.action != ha.UnreachableRecover && len(log.ops("deactivate")) != 0 {
					t.Errorf("recovered: %v", log.ops("deactivate"))
				}
				// Reachable and healthy again: a warning is followed by "normal again".
				db.setCheck(okResult)
				time.Sleep(10 * time.Second)
				last := h.ev.lines()
				if tc.action == ha.UnreachableSilent {
					if n := len(h.ev.of(ha.EventMonitorRecovered)); n != 0 {
						t.Errorf("%d recovered events after silent", n)
					}
				} else if last[len(last)-1] != "monitor_recovered: Monitoring db is normal again." {
					t.Errorf("last event %q", last[len(last)-1])
				}
			})
		})
	}
}

// An unreachable check neither ends a failure row nor counts as one.
func TestUnreachableKeepsTheRow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		db := newFake(log, "db")
		db.checkFn = func(_ context.Context, n int) (monitor.Result, error) {
			switch n {
			case 1, 3:
				return monitor.Result{Status: monitor.Critical, Code: 9, Message: "down"}, nil
			case 2:
				return monitor.Result{}, errors.New("engine unreachable")
			}
			return monitor.Result{Status: monitor.OK}, nil
		}
		h := start(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: db})})
		h.online("web", 1)
		time.Sleep(15 * time.Second)
		if m := h.monitor("web", "db"); m.Failures != 1 || m.Status != monitor.Warning {
			t.Errorf("after fail, unreachable: %+v", m)
		}
		time.Sleep(10 * time.Second) // the third check fails: two in a row
		if n := len(h.ev.of(ha.EventRestart)); n != 1 {
			t.Errorf("%d restarts, want 1", n)
		}
	})
}

func TestWarningResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		db := newFake(log, "db")
		db.checkFn = func(_ context.Context, n int) (monitor.Result, error) {
			switch {
			case n <= 3:
				return monitor.Result{Status: monitor.Warning, Code: 21, Message: "disk 85%"}, nil
			case n == 4:
				return monitor.Result{Status: monitor.Warning, Message: "disk 90%"}, nil
			}
			return monitor.Result{Status: monitor.Critical, Message: "disk full"}, nil
		}
		h := start(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: db})})
		h.online("web", 1)
		time.Sleep(45 * time.Second) // checks at 0, 10, 20 (warning), 30 (another), 40 (failure)
		equal(t, "events", h.ev.lines(ha.EventMonitorWarn, ha.EventMonitorError, ha.EventRestart), []string{
			"monitor_warn: Warn monitoring db. (21 : disk 85%)",
			"monitor_warn: Warn monitoring db. (5 : disk 90%)",
		})
		if m := h.monitor("web", "db"); m.Status != monitor.Critical || m.Failures != 1 {
			t.Errorf("monitor %+v", m)
		}
		time.Sleep(10 * time.Second)
		equal(t, "errors", h.ev.lines(ha.EventMonitorError), []string{"monitor_error: Detected an error in monitoring db. (5 : disk full)"})
	})
}

func TestStartWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		dns := newFake(log, "dns")
		dns.checkFn = func(_ context.Context, n int) (monitor.Result, error) {
			if n == 2 {
				return monitor.Result{Status: monitor.Critical, Code: 9, Message: "NXDOMAIN"}, nil
			}
			return monitor.Result{Status: monitor.OK}, nil
		}
		h := start(t, []ha.Group{group("web", ha.Member{Name: "dns", Resource: dns,
			Policy: ha.RecoveryPolicy{Interval: 10 * time.Second, StartWait: 90 * time.Second, Retries: -1}})})
		h.online("web", 1)
		time.Sleep(195 * time.Second)
		// First at 90s, fails at 100s, restarted then: waits 90s again.
		if ts := log.times("dns", "check"); !slices.Equal(ts, secs(90, 100, 190)) {
			t.Errorf("checks at %v", ts)
		}
	})
}

func TestResetAfter(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failAgain int // the check (1-based) that fails again
		want      ha.EventKind
	}{
		{"counts kept within ResetAfter", 6, ha.EventFinalAction},   // at 50s: healthy since 10s
		{"counts start again after ResetAfter", 9, ha.EventRestart}, // at 80s: healthy 10s..70s
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log := newCallLog()
				db := newFake(log, "db")
				db.checkFn = func(_ context.Context, n int) (monitor.Result, error) {
					if n == 1 || n == tc.failAgain {
						return monitor.Result{Status: monitor.Critical, Code: 9, Message: "down"}, nil
					}
					return monitor.Result{Status: monitor.OK}, nil
				}
				h := start(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: db, Policy: ha.RecoveryPolicy{
					Retries: -1, Restarts: 1, Failovers: -1, ResetAfter: 60 * time.Second}})})
				h.online("web", 1)
				time.Sleep(time.Duration(tc.failAgain-1)*10*time.Second - 5*time.Second)
				if m := h.monitor("web", "db"); (m.Restarts == 0) != (tc.want == ha.EventRestart) {
					t.Errorf("before the second failure: %+v", m)
				}
				time.Sleep(10 * time.Second)
				kinds := h.ev.all()
				var after []ha.EventKind
				for _, ev := range kinds {
					if ev.Kind == ha.EventRestart || ev.Kind == ha.EventFinalAction {
						after = append(after, ev.Kind)
					}
				}
				equal(t, "recovery steps", after, []ha.EventKind{ha.EventRestart, tc.want})
			})
		})
	}
}

func TestSuspendResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		db := newFake(log, "db")
		h := start(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: db})})
		h.online("web", 1)
		time.Sleep(15 * time.Second)
		if err := h.eng.Suspend("web"); err != nil {
			t.Fatal(err)
		}
		if st := h.status("web"); st.State != ha.Suspended {
			t.Errorf("state %s, want suspended", st.State)
		}
		db.setCheck(critical(9, "down")) // would be recovered if monitored
		time.Sleep(30 * time.Second)
		db.setCheck(nil)
		if err := h.eng.Resume("web"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(25 * time.Second)
		if ts := log.times("db", "check"); !slices.Equal(ts, secs(0, 10, 45, 55, 65)) {
			t.Errorf("checks at %v, want none while suspended", ts)
		}
		if n := len(log.ops("deactivate")); n != 0 {
			t.Errorf("recovered while suspended")
		}
		if st := h.status("web"); st.State != ha.Online {
			t.Errorf("state %s, want online", st.State)
		}

		// Suspended while offline: brought online, not monitored until Resume.
		if err := h.eng.Offline(context.Background(), "web"); err != nil {
			t.Fatal(err)
		}
		if err := h.eng.Suspend("web"); err != nil {
			t.Fatal(err)
		}
		if st := h.status("web"); st.State != ha.Offline {
			t.Errorf("state %s, want offline", st.State)
		}
		h.online("web", 2)
		n := len(log.ops("check"))
		time.Sleep(time.Minute)
		if len(log.ops("check")) != n {
			t.Errorf("checked while suspended")
		}
		if err := h.eng.Resume("web"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if len(log.ops("check")) != n+1 {
			t.Errorf("no check at once on Resume")
		}
	})
}

// A slow recovery of one group does not hold up another group's monitors
// or recovery.
func TestGroupsRecoverIndependently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		slow, b := newFake(log, "slow"), newFake(log, "b")
		slow.checkFn = critical(9, "down")
		b.checkFn = func(_ context.Context, n int) (monitor.Result, error) {
			if n == 3 {
				return monitor.Result{Status: monitor.Critical, Code: 9, Message: "down"}, nil
			}
			return monitor.Result{Status: monitor.OK}, nil
		}
		pol := ha.RecoveryPolicy{Retries: -1, Restarts: 1}
		h := newHarness(t, []ha.Group{
			group("a", ha.Member{Name: "slow", Resource: slow, Policy: pol, ActivateTimeout: 2 * time.Minute}),
			group("b", ha.Member{Name: "b", Resource: b, Policy: pol}),
		})
		h.online("a", 1)
		h.online("b", 1)
		slow.mu.Lock()
		slow.activateWait = 50 * time.Second
		slow.mu.Unlock()
		h.run()
		time.Sleep(45 * time.Second)
		if ts := log.times("slow", "activate"); !slices.Equal(ts, secs(0, 0)) {
			t.Fatalf("slow activated at %v", ts)
		}
		// b checked every 10s during a's restart, failed at 20s and was
		// restarted at once.
		if ts := log.times("b", "check"); !slices.Equal(ts, secs(0, 10, 20, 30, 40)) {
			t.Errorf("b checked at %v", ts)
		}
		if ts := log.times("b", "activate"); !slices.Equal(ts, secs(0, 20)) {
			t.Errorf("b activated at %v", ts)
		}
		if st := h.status("a"); st.Members[0].Active {
			t.Errorf("slow shown active while restarting")
		}
		time.Sleep(10 * time.Second)
		if st := h.status("a"); !st.Members[0].Active {
			t.Errorf("slow not active after its restart")
		}
	})
}

// Offline stops a restart in progress; the group ends offline with
// nothing reported as failed.
func TestOfflineStopsRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		db := newFake(log, "db")
		db.checkFn = critical(9, "down")
		h := newHarness(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: db, Policy: ha.RecoveryPolicy{Retries: -1}})})
		h.online("web", 1)
		db.mu.Lock()
		db.activateWait = time.Hour
		db.mu.Unlock()
		h.run()
		time.Sleep(5 * time.Second) // restarting since 0s
		if err := h.eng.Offline(context.Background(), "web"); err != nil {
			t.Fatal(err)
		}
		equal(t, "calls", log.ops("activate", "deactivate"), []string{"db activate", "db deactivate", "db activate", "db deactivate"})
		if st := h.status("web"); st.State != ha.Offline {
			t.Errorf("state %s", st.State)
		}
		if n := len(h.ev.of(ha.EventActivationFailed)) + len(h.ev.of(ha.EventFailover)) + len(h.ev.of(ha.EventFinalAction)); n != 0 {
			t.Errorf("stopped restart reported: %v", h.ev.lines())
		}
		time.Sleep(time.Minute)
		if n := len(log.ops("check")); n != 1 {
			t.Errorf("%d checks, want 1: %+v %v", n, log.all(), h.ev.lines())
		}
		checkOverlaps(t, db)
	})
}

// Events carry the group, member, monitor, node and epoch.
func TestEventFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		db := newFake(log, "db")
		db.checkFn = critical(9, "down")
		h := start(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: db, Policy: ha.RecoveryPolicy{Retries: -1}})})
		h.online("web", 42)
		time.Sleep(time.Second)
		evs := h.ev.of(ha.EventMonitorError)
		if len(evs) != 1 {
			t.Fatalf("errors %v", h.ev.lines())
		}
		ev := evs[0]
		var re *ha.ResourceError
		if ev.Group != "web" || ev.Member != "db" || ev.Monitor != "db" || ev.Node != "n1" || ev.Epoch != 42 ||
			!errors.As(ev.Err, &re) || re.Code != 9 || ev.Time.IsZero() {
			t.Errorf("event %+v", ev)
		}
	})
}

// A restart that cannot activate its member goes on to the failover at
// once, without spending the remaining restarts.
func TestRestartFailureFailsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		db := newFake(log, "db")
		db.checkFn = critical(9, "down")
		db.activateErrs = []error{nil, ha.Errorf(ha.CodeFailed, "image missing")}
		var buf syncBuffer
		h := start(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: db,
			Policy: ha.RecoveryPolicy{Retries: -1, Restarts: 2}})},
			ha.WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))),
			ha.WithFailover(func(context.Context, string, error) error {
				return fmt.Errorf("n2 is down: %w", ha.ErrNoFailover)
			}))
		h.online("web", 1)
		time.Sleep(5 * time.Second)
		equal(t, "events", h.ev.lines()[2:], []string{
			"monitor_error: Detected an error in monitoring db. (9 : down)",
			"restart: Restarting db resource because an error was detected in monitoring db (restart 1 of 2).",
			"deactivated: Deactivating db resource has completed.",
			"activation_failed: Activating db resource has failed.(5 : image missing)",
			"final_action: No final action for group web (final action none): an error was detected in monitoring db and its recovery is spent; the group stays as it is.",
		})
		st := h.status("web")
		if st.State != ha.Online || st.Members[0].Active || st.Members[0].LastErr != "Activating db resource has failed.(5 : image missing)" {
			t.Errorf("status %+v", st)
		}
		if m := st.Monitors[0]; m.Restarts != 1 || m.Failovers != 1 {
			t.Errorf("monitor %+v, want 1 restart and 1 failover counted", m)
		}
		h.stop()
		if out := buf.String(); !strings.Contains(out, `level=DEBUG msg="ha: final_action"`) {
			t.Errorf("events are not logged at Debug:\n%s", out)
		}
	})
}

// A Check that ignores its deadline is given up as a timeout.
func TestCheckIgnoringDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		db := newFake(log, "db")
		release := make(chan struct{})
		db.checkFn = func(context.Context, int) (monitor.Result, error) {
			<-release
			return monitor.Result{Status: monitor.OK}, nil
		}
		h := start(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: db,
			Policy: ha.RecoveryPolicy{Timeout: 3 * time.Second}})})
		h.online("web", 1)
		time.Sleep(4 * time.Second)
		if n := len(h.ev.of(ha.EventMonitorWarn)); n != 0 {
			t.Errorf("warned before the grace ended")
		}
		time.Sleep(2 * time.Second)
		evs := h.ev.of(ha.EventMonitorWarn)
		if len(evs) != 1 || evs[0].Message != "Warn monitoring db. (106 : Timeout occurred.)" || evs[0].Time.Sub(h.ev.t0) != 5*time.Second {
			t.Errorf("warnings %+v, want one at 5s", evs)
		}
		h.stop()
		close(release)
	})
}

// The logger gets the trouble the engine does not return.
func TestLogger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf syncBuffer
		h, _, _, _ := ladder(t, ha.FinalNone,
			ha.WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))),
			ha.WithFailover(func(context.Context, string, error) error { return errors.New("n2 did not answer") }))
		time.Sleep(55 * time.Second)
		h.stop()
		out := buf.String()
		if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "failover failed") || !strings.Contains(out, "n2 did not answer") {
			t.Errorf("log:\n%s", out)
		}
		if h.eng.Node() != "n1" {
			t.Errorf("Node() = %q", h.eng.Node())
		}
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
