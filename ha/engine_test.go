package ha_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

func TestNewEngineValidates(t *testing.T) {
	log := newCallLog()
	r := newFake(log, "r")
	ok := group("web", ha.Member{Name: "db", Resource: r})
	for _, tc := range []struct {
		name   string
		node   string
		groups []ha.Group
		want   []string
	}{
		{"no node", "", []ha.Group{ok}, []string{"node: give this node's name"}},
		{"bad group", "n1", []ha.Group{group("web", ha.Member{Name: "db"})}, []string{"groups[0] (web): ", "no resource"}},
		{"group twice", "n1", []ha.Group{ok, ok}, []string{"groups[1] (web): name used twice"}},
		{"monitor named like a member", "n1", []ha.Group{{Name: "web", Nodes: []string{"n1"},
			Members:  []ha.Member{{Name: "db", Resource: r}},
			Monitors: []ha.GroupMonitor{{Name: "db", Monitor: r}}}},
			[]string{"groups[0] (web): monitors[0] (db): name already used"}},
		{"cycle", "n1", []ha.Group{group("web",
			ha.Member{Name: "a", Resource: r, DependsOn: []string{"b"}},
			ha.Member{Name: "b", Resource: r, DependsOn: []string{"a"}})},
			[]string{"cycle"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ha.NewEngine(tc.node, tc.groups)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if _, err := ha.NewEngine("n3", []ha.Group{ok}); err != nil {
		t.Errorf("a group that cannot run here is accepted: %v", err)
	}
}

func TestOnlineOrderEpochAndOffline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		db, cache, app := newFake(log, "db"), newFake(log, "cache"), newFake(log, "app")
		h := start(t, []ha.Group{group("web",
			ha.Member{Name: "app", Resource: app, DependsOn: []string{"db", "cache"}, ActivateTimeout: 30 * time.Second},
			ha.Member{Name: "db", Resource: db},
			ha.Member{Name: "cache", Resource: cache, DependsOn: []string{"db"}},
		)})
		h.online("web", 7)
		synctest.Wait()
		equal(t, "activations", log.ops("activate", "deactivate"), []string{"db activate", "cache activate", "app activate"})
		for _, c := range log.all() {
			if c.Op == "activate" && (!c.HasEpoch || c.Epoch != 7 || c.Node != "n1") {
				t.Errorf("%s activated with epoch %d (%v) on %q, want 7 on n1", c.Res, c.Epoch, c.HasEpoch, c.Node)
			}
		}
		budgets := map[string]time.Duration{}
		for _, c := range log.all() {
			if c.Op == "activate" {
				budgets[c.Res] = c.Budget
			}
		}
		if budgets["app"] != 30*time.Second || budgets["db"] != ha.DefaultActivateTimeout {
			t.Errorf("activation deadlines %v, want app 30s and the others 60s", budgets)
		}
		st := h.status("web")
		if st.State != ha.Online || st.Epoch != 7 {
			t.Errorf("status %s at %d, want online at 7", st.State, st.Epoch)
		}
		for _, m := range st.Members {
			if !m.Active || m.LastErr != "" {
				t.Errorf("member %+v, want active", m)
			}
		}
		equal(t, "events", h.ev.lines(), []string{
			"activated: Activating db resource has completed.",
			"activated: Activating cache resource has completed.",
			"activated: Activating app resource has completed.",
			"activated: Activating group web has completed.",
		})

		if err := h.eng.Offline(context.Background(), "web"); err != nil {
			t.Fatal(err)
		}
		equal(t, "deactivations", log.ops("deactivate"), []string{"app deactivate", "cache deactivate", "db deactivate"})
		for _, c := range log.all() {
			if c.Op == "deactivate" && c.Epoch != 7 {
				t.Errorf("%s deactivated with epoch %d, want 7", c.Res, c.Epoch)
			}
		}
		if st := h.status("web"); st.State != ha.Offline || st.Members[0].Active {
			t.Errorf("after Offline: %+v", st)
		}
		checkOverlaps(t, db, cache, app)
	})
}

func TestOnlineOfflineIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		db := newFake(log, "db")
		h := start(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: db})})
		h.online("web", 1)
		h.online("web", 2) // a new epoch only
		equal(t, "calls", log.ops("activate", "deactivate"), []string{"db activate"})
		if st := h.status("web"); st.Epoch != 2 || st.State != ha.Online {
			t.Errorf("status %+v, want online at epoch 2", st)
		}
		ctx := context.Background()
		for range 2 {
			if err := h.eng.Offline(ctx, "web"); err != nil {
				t.Fatal(err)
			}
		}
		equal(t, "calls", log.ops("activate", "deactivate"), []string{"db activate", "db deactivate"})
		if n := len(h.ev.of(ha.EventDeactivated)); n != 2 { // the member and the group, once
			t.Errorf("%d deactivated events, want 2", n)
		}
		// Online again: a fresh activation, with the new epoch.
		h.online("web", 3)
		var acts []ha.Epoch
		for _, c := range log.all() {
			if c.Op == "activate" {
				acts = append(acts, c.Epoch)
			}
		}
		equal(t, "activation epochs", acts, []ha.Epoch{1, 3})
	})
}

func TestOnlineErrors(t *testing.T) {
	log := newCallLog()
	g := group("web", ha.Member{Name: "db", Resource: newFake(log, "db")})
	g.Nodes = []string{"n2"}
	eng, err := ha.NewEngine("n1", []ha.Group{g})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := eng.Online(ctx, "nope", 1); !errors.Is(err, ha.ErrUnknownGroup) {
		t.Errorf("unknown group: %v", err)
	}
	if err := eng.Offline(ctx, "nope"); !errors.Is(err, ha.ErrUnknownGroup) {
		t.Errorf("unknown group: %v", err)
	}
	if err := eng.Suspend("nope"); !errors.Is(err, ha.ErrUnknownGroup) {
		t.Errorf("unknown group: %v", err)
	}
	if err := eng.Online(ctx, "web", 1); !errors.Is(err, ha.ErrNotStartable) {
		t.Errorf("group of other nodes: %v", err)
	}
	if len(log.all()) != 0 {
		t.Errorf("calls made: %v", log.ops())
	}
}

func TestActivationFailureRollsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		db, app, web := newFake(log, "db"), newFake(log, "app"), newFake(log, "web")
		app.activateErrs = []error{ha.Errorf(7, "The VIP address 10.0.5.5 belongs to a VPC subnet.")}
		h := start(t, []ha.Group{group("svc",
			ha.Member{Name: "db", Resource: db},
			ha.Member{Name: "app", Resource: app, DependsOn: []string{"db"}},
			ha.Member{Name: "web", Resource: web, DependsOn: []string{"app"}},
		)})
		err := h.eng.Online(context.Background(), "svc", 1)
		var re *ha.ResourceError
		if !errors.As(err, &re) || re.Code != 7 {
			t.Fatalf("Online: %v, want a ResourceError with code 7", err)
		}
		const line = "Activating app resource has failed.(7 : The VIP address 10.0.5.5 belongs to a VPC subnet.)"
		if !strings.Contains(err.Error(), line) {
			t.Errorf("error %q does not give the line", err)
		}
		equal(t, "calls", log.ops("activate", "deactivate"), []string{"db activate", "app activate", "app deactivate", "db deactivate"})
		equal(t, "events", h.ev.lines(), []string{
			"activated: Activating db resource has completed.",
			"activation_failed: " + line,
			"deactivated: Deactivating app resource has completed.",
			"deactivated: Deactivating db resource has completed.",
		})
		if ev := h.ev.of(ha.EventActivationFailed)[0]; ev.Member != "app" || ev.Group != "svc" || ev.Node != "n1" || ev.Epoch != 1 || !errors.As(ev.Err, &re) {
			t.Errorf("activation failed event %+v", ev)
		}
		st := h.status("svc")
		if st.State != ha.Failed {
			t.Errorf("state %s, want failed", st.State)
		}
		if st.Members[1].LastErr != "" || st.Members[1].Active {
			t.Errorf("app after a rollback that deactivated it: %+v", st.Members[1])
		}
		// Offline clears the failed state without calls; the group's
		// monitors never ran.
		if err := h.eng.Offline(context.Background(), "svc"); err != nil {
			t.Fatal(err)
		}
		if st := h.status("svc"); st.State != ha.Offline {
			t.Errorf("state %s, want offline", st.State)
		}
		time.Sleep(time.Minute)
		if n := len(log.ops("check")); n != 0 {
			t.Errorf("%d checks of a group that never came online", n)
		}
		// A later start succeeds.
		h.online("svc", 2)
		if st := h.status("svc"); st.State != ha.Online {
			t.Errorf("state %s, want online", st.State)
		}
	})
}

func TestActivateRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		db := newFake(log, "db")
		boom := errors.New("boom")
		db.activateErrs = []error{boom, boom}
		h := start(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: db, ActivateRetries: 2})})
		h.online("web", 1)
		equal(t, "calls", log.ops("activate"), []string{"db activate", "db activate", "db activate"})
		if n := len(h.ev.of(ha.EventActivationFailed)); n != 0 {
			t.Errorf("%d activation failures reported for a retried success", n)
		}

		db2 := newFake(log, "db2")
		db2.activateErrs = []error{boom, boom, boom}
		h2 := start(t, []ha.Group{group("api", ha.Member{Name: "db2", Resource: db2, ActivateRetries: 1})})
		err := h2.eng.Online(context.Background(), "api", 1)
		if !errors.Is(err, boom) {
			t.Fatalf("Online: %v", err)
		}
		if n := len(log.times("db2", "activate")); n != 2 {
			t.Errorf("%d activations, want 2 (one retry)", n)
		}
		// A plain error is code 99 with its text.
		equal(t, "events", h2.ev.lines(ha.EventActivationFailed), []string{"activation_failed: Activating db2 resource has failed.(99 : boom)"})
	})
}

func TestActivateTimeout(t *testing.T) {
	t.Run("honoured", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			log := newCallLog()
			db := newFake(log, "db")
			db.activateWait = time.Hour
			h := start(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: db, ActivateTimeout: 5 * time.Second})})
			t0 := time.Now()
			err := h.eng.Online(context.Background(), "web", 1)
			if took := time.Since(t0); took != 5*time.Second {
				t.Errorf("Online took %s, want the 5s timeout", took)
			}
			var re *ha.ResourceError
			if !errors.As(err, &re) || re.Code != ha.CodeTimeout {
				t.Fatalf("Online: %v, want code 6", err)
			}
			equal(t, "events", h.ev.lines(ha.EventActivationFailed), []string{"activation_failed: Activating db resource has failed.(6 : Timeout occurred.)"})
			equal(t, "calls", log.ops("activate", "deactivate"), []string{"db activate", "db deactivate"})
		})
	})
	t.Run("ignored", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			log := newCallLog()
			db := newFake(log, "db")
			hang := make(chan struct{})
			db.hang = hang
			h := start(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: db,
				ActivateTimeout: 5 * time.Second, DeactivateTimeout: 20 * time.Second})})
			// The hung Activate returns at 12s; the rollback's Deactivate
			// must wait for it.
			go func() { time.Sleep(12 * time.Second); close(hang) }()
			t0 := time.Now()
			err := h.eng.Online(context.Background(), "web", 1)
			if took := time.Since(t0); took != 12*time.Second {
				t.Errorf("Online took %s, want 12s (given up at 7s, rolled back when the call returned)", took)
			}
			equal(t, "events", h.ev.lines(ha.EventActivationFailed, ha.EventDeactivated), []string{
				"activation_failed: Activating db resource has failed.(6 : Timeout occurred.)",
				"deactivated: Deactivating db resource has completed.",
			})
			if ts := log.times("db", "deactivate"); len(ts) != 1 || ts[0] != 12*time.Second {
				t.Errorf("deactivated at %v, want once at 12s", ts)
			}
			if err == nil {
				t.Error("no error")
			}
			checkOverlaps(t, db)
		})
	})
	t.Run("ignored past the next deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			log := newCallLog()
			db := newFake(log, "db")
			hang := make(chan struct{})
			db.hang = hang
			h := start(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: db,
				ActivateTimeout: 5 * time.Second, DeactivateTimeout: 3 * time.Second})})
			err := h.eng.Online(context.Background(), "web", 1)
			if err == nil {
				t.Fatal("no error")
			}
			// 5s + 2s given up, then the rollback waited 3s for the member.
			equal(t, "events", h.ev.lines(ha.EventActivationFailed, ha.EventDeactivationFailed), []string{
				"activation_failed: Activating db resource has failed.(6 : Timeout occurred.)",
				"deactivation_failed: Deactivating db resource has failed.(6 : Timeout occurred.)",
			})
			if n := len(log.times("db", "deactivate")); n != 0 {
				t.Errorf("Deactivate called %d times while Activate ran", n)
			}
			close(hang)
			checkOverlaps(t, db)
		})
	})
}

func TestOfflineStopsActivation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		db, app := newFake(log, "db"), newFake(log, "app")
		app.activateWait = time.Minute
		h := start(t, []ha.Group{group("web",
			ha.Member{Name: "db", Resource: db},
			ha.Member{Name: "app", Resource: app, DependsOn: []string{"db"}})})
		errc := make(chan error, 1)
		go func() { errc <- h.eng.Online(context.Background(), "web", 1) }()
		time.Sleep(5 * time.Second)
		if st := h.status("web"); st.State != ha.Starting {
			t.Errorf("state %s while activating, want starting", st.State)
		}
		if err := h.eng.Offline(context.Background(), "web"); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; !errors.Is(err, ha.ErrSuperseded) {
			t.Errorf("Online: %v, want ErrSuperseded", err)
		}
		equal(t, "calls", log.ops("activate", "deactivate"), []string{"db activate", "app activate", "app deactivate", "db deactivate"})
		if ts := log.times("db", "deactivate"); len(ts) != 1 || ts[0] != 5*time.Second {
			t.Errorf("deactivated at %v, want at once (5s)", ts)
		}
		if n := len(h.ev.of(ha.EventActivationFailed)); n != 0 {
			t.Errorf("%d activation failures reported for a stopped activation", n)
		}
		if st := h.status("web"); st.State != ha.Offline {
			t.Errorf("state %s, want offline", st.State)
		}
		checkOverlaps(t, db, app)
	})
}

func TestDeactivationFailureGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		db, app := newFake(log, "db"), newFake(log, "app")
		app.deactivateErr = []error{ha.Errorf(ha.CodeFailed, "docker stop failed")}
		h := start(t, []ha.Group{group("web",
			ha.Member{Name: "db", Resource: db},
			ha.Member{Name: "app", Resource: app, DependsOn: []string{"db"}})})
		h.online("web", 1)
		err := h.eng.Offline(context.Background(), "web")
		var re *ha.ResourceError
		if !errors.As(err, &re) || re.Code != 5 {
			t.Fatalf("Offline: %v", err)
		}
		equal(t, "calls", log.ops("deactivate"), []string{"app deactivate", "db deactivate"})
		const line = "Deactivating app resource has failed.(5 : docker stop failed)"
		equal(t, "events", h.ev.lines(ha.EventDeactivationFailed), []string{"deactivation_failed: " + line})
		st := h.status("web")
		if st.State != ha.Failed || st.Members[1].LastErr != line || st.Members[0].Active {
			t.Errorf("status %+v", st)
		}
		// A second Offline retries only what may still be active.
		if err := h.eng.Offline(context.Background(), "web"); err != nil {
			t.Fatal(err)
		}
		equal(t, "calls", log.ops("deactivate"), []string{"app deactivate", "db deactivate", "app deactivate"})
		if st := h.status("web"); st.State != ha.Offline {
			t.Errorf("state %s", st.State)
		}
	})
}

func TestOfflineAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		var groups []ha.Group
		var fakes []*fakeRes
		for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
			f := newFake(log, n)
			f.deactivateErr = nil
			fakes = append(fakes, f)
			groups = append(groups, group("g"+n, ha.Member{Name: n, Resource: f}))
		}
		fakes[2].deactivateErr = []error{errors.New("stuck")}
		h := start(t, groups)
		for _, g := range groups[:5] { // gf stays offline
			h.online(g.Name, 1)
		}
		err := h.eng.OfflineAll(context.Background())
		if err == nil || !strings.Contains(err.Error(), "Deactivating c resource has failed.(99 : stuck)") {
			t.Errorf("OfflineAll: %v", err)
		}
		for i, f := range fakes {
			if f.isActive() != (i == 2) {
				t.Errorf("%s active: %v", f.name, f.isActive())
			}
		}
		if n := len(log.ops("deactivate")); n != 5 {
			t.Errorf("%d deactivations, want 5", n)
		}
	})
}

func TestRunOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: newFake(newCallLog(), "db")})})
		synctest.Wait()
		if err := h.eng.Run(context.Background()); err == nil {
			t.Error("a second Run started")
		}
	})
}

// A group brought online before Run is monitored from Run's start; Run's
// end stops the monitors and leaves the group online.
func TestOnlineBeforeRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		db := newFake(log, "db")
		h := newHarness(t, []ha.Group{group("web", ha.Member{Name: "db", Resource: db,
			Policy: ha.RecoveryPolicy{StartWait: 15 * time.Second}})})
		h.online("web", 1)
		time.Sleep(20 * time.Second)
		if n := len(log.ops("check")); n != 0 {
			t.Fatalf("%d checks without Run", n)
		}
		h.run()
		time.Sleep(25 * time.Second)
		// First check at once (StartWait from the activation has passed),
		// then every 10s.
		if ts := log.times("db", "check"); !slices.Equal(ts, secs(20, 30, 40)) {
			t.Errorf("checks at %v, want 20s 30s 40s", ts)
		}
		h.stop()
		time.Sleep(time.Minute)
		if n := len(log.ops("check")); n != 3 {
			t.Errorf("%d checks, want none after Run returned", n)
		}
		if st := h.status("web"); st.State != ha.Online || !db.isActive() {
			t.Errorf("state %s after Run; want the group left online", st.State)
		}
	})
}

// Status of a fresh engine: every group offline, monitors not checked.
func TestStatusFresh(t *testing.T) {
	log := newCallLog()
	eng, err := ha.NewEngine("n1", []ha.Group{{Name: "web", Nodes: []string{"n1"},
		Members: []ha.Member{{Name: "db", Resource: newFake(log, "db")}},
		Monitors: []ha.GroupMonitor{{Name: "azw", Monitor: monitor.MonitorFunc(func(context.Context, inventory.Target) (monitor.Result, error) {
			return monitor.Result{}, nil
		})}}}})
	if err != nil {
		t.Fatal(err)
	}
	st := eng.Status()
	if len(st) != 1 || st[0].State != ha.Offline || len(st[0].Members) != 1 || len(st[0].Monitors) != 2 {
		t.Fatalf("status %+v", st)
	}
	if m := st[0].Monitors[1]; m.Name != "azw" || m.Status != monitor.Unknown {
		t.Errorf("monitor %+v", m)
	}
}

// Online, Offline, OfflineAll, Suspend, Resume and Status called at once
// from many goroutines, while monitors fail and recover: no member's
// Activate and Deactivate ever overlap, and a final Offline leaves
// everything inactive.
func TestConcurrentCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		var fakes []*fakeRes
		var groups []ha.Group
		for _, gn := range []string{"a", "b"} {
			db, app := newFake(log, gn+"db"), newFake(log, gn+"app")
			db.activateWait, app.activateWait = 3*time.Second, 2*time.Second
			app.checkFn = func(_ context.Context, n int) (monitor.Result, error) {
				if n%3 == 0 {
					return monitor.Result{Status: monitor.Critical, Code: 9, Message: "down"}, nil
				}
				return monitor.Result{Status: monitor.OK}, nil
			}
			fakes = append(fakes, db, app)
			pol := ha.RecoveryPolicy{Interval: time.Second, Retries: -1, Restarts: 100, ResetAfter: time.Second}
			groups = append(groups, group(gn,
				ha.Member{Name: "db", Resource: db, Policy: pol},
				ha.Member{Name: "app", Resource: app, DependsOn: []string{"db"}, Policy: pol}))
		}
		h := start(t, groups)
		ctx := context.Background()
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				for i := range 40 {
					g := groups[(w+i)%2].Name
					switch (w*7 + i) % 6 {
					case 0, 1:
						_ = h.eng.Online(ctx, g, ha.Epoch(i+1))
					case 2:
						_ = h.eng.Offline(ctx, g)
					case 3:
						_ = h.eng.Suspend(g)
						_ = h.eng.Resume(g)
					case 4:
						_ = h.eng.Status()
					case 5:
						if i%10 == 5 {
							_ = h.eng.OfflineAll(ctx)
						}
					}
					time.Sleep(time.Duration(w+1) * 700 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		if err := h.eng.OfflineAll(ctx); err != nil {
			t.Fatal(err)
		}
		checkOverlaps(t, fakes...)
		for _, f := range fakes {
			if f.isActive() {
				t.Errorf("%s active after OfflineAll", f.name)
			}
		}
		for _, st := range h.eng.Status() {
			if st.State != ha.Offline {
				t.Errorf("group %s: %s", st.Group, st.State)
			}
		}
		if len(h.ev.of(ha.EventRestart)) == 0 {
			t.Error("no recovery happened: the test did not exercise it")
		}
	})
}

// spacedRes is a resource whose failure lines have CLUSTERPRO's AWS DNS
// form (a space before the parenthesis), through ha.MessageFormatter.
type spacedRes struct{ *fakeRes }

func (spacedRes) ActivateMessage(res string, err error) string {
	return "Activating " + res + " resource has failed. " + ha.AsResourceError(err).Error()
}

func (spacedRes) DeactivateMessage(res string, err error) string {
	return "Deactivating " + res + " resource has failed. " + ha.AsResourceError(err).Error()
}

func TestMessageFormatter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		dns := newFake(log, "awsdns1")
		dns.activateErrs = []error{ha.Errorf(5, "No hosted zone found with ID: Zbad")}
		h := start(t, []ha.Group{group("failover1", ha.Member{Name: "awsdns1", Resource: spacedRes{dns}})})
		err := h.eng.Online(context.Background(), "failover1", 1)
		const line = "Activating awsdns1 resource has failed. (5 : No hosted zone found with ID: Zbad)"
		if err == nil || !strings.Contains(err.Error(), line) {
			t.Fatalf("Online: %v, want the line %q", err, line)
		}
		equal(t, "events", h.ev.lines(ha.EventActivationFailed), []string{"activation_failed: " + line})
	})
}

// TestMonitorName: a member's own monitor can be named apart from it
// (CLUSTERPRO's awsvipw1 for awsvip1), in messages and status.
func TestMonitorName(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := newCallLog()
		vip := newFake(log, "awsvip1")
		vip.setCheck(critical(8, "The routing for VIP 10.1.0.20 was changed."))
		h := start(t, []ha.Group{group("failover1", ha.Member{Name: "awsvip1", MonitorName: "awsvipw1", Resource: vip,
			Policy: ha.RecoveryPolicy{Interval: time.Second, Retries: -1, Restarts: 1}})})
		h.online("failover1", 1)
		time.Sleep(1500 * time.Millisecond)
		lines := h.ev.lines(ha.EventMonitorError)
		if len(lines) == 0 || lines[0] != "monitor_error: Detected an error in monitoring awsvipw1. (8 : The routing for VIP 10.1.0.20 was changed.)" {
			t.Errorf("monitor errors %q", lines)
		}
		if m := h.monitor("failover1", "awsvipw1"); m.Name != "awsvipw1" {
			t.Errorf("monitor status %+v", m)
		}
	})
	g := group("g", ha.Member{Name: "a", MonitorName: "b", Resource: newFake(newCallLog(), "a")}, ha.Member{Name: "b", Resource: newFake(newCallLog(), "b")})
	if err := g.Validate(); err == nil || !strings.Contains(err.Error(), `"b" is used twice`) {
		t.Errorf("a monitor named like another member: %v", err)
	}
}
