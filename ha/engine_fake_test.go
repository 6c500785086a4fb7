package ha_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// call is one recorded call on a fake resource.
type call struct {
	At       time.Duration // since the log's start
	Res, Op  string        // "db", "activate" | "deactivate" | "check"
	Epoch    ha.Epoch
	HasEpoch bool
	Budget   time.Duration // the ctx deadline's distance at the call
	Node     string
}

// callLog records calls of every fake resource of a test, in order.
type callLog struct {
	t0    time.Time
	mu    sync.Mutex
	calls []call
}

func newCallLog() *callLog { return &callLog{t0: time.Now()} }

func (l *callLog) add(ctx context.Context, res, op string, node inventory.Target) {
	c := call{At: time.Since(l.t0), Res: res, Op: op, Node: node.Name}
	c.Epoch, c.HasEpoch = ha.EpochFrom(ctx)
	if d, ok := ctx.Deadline(); ok {
		c.Budget = time.Until(d)
	}
	l.mu.Lock()
	l.calls = append(l.calls, c)
	l.mu.Unlock()
}

// ops returns "res op" of every call whose op is one of ops (all when
// none given), in order.
func (l *callLog) ops(ops ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, c := range l.calls {
		if len(ops) == 0 || slices.Contains(ops, c.Op) {
			out = append(out, c.Res+" "+c.Op)
		}
	}
	return out
}

// times returns when res was called for op, since the log's start.
func (l *callLog) times(res, op string) []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Duration
	for _, c := range l.calls {
		if c.Res == res && c.Op == op {
			out = append(out, c.At)
		}
	}
	return out
}

func (l *callLog) all() []call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// fakeRes is a scripted Resource. Activate and Deactivate succeed unless
// scripted otherwise; Check reports OK while active and Critical when not,
// unless checkFn is set. It counts overlapping Activate/Deactivate calls.
type fakeRes struct {
	name string
	log  *callLog

	mu            sync.Mutex
	active        bool
	activateErrs  []error // consumed one per Activate; nil: success
	deactivateErr []error // consumed one per Deactivate
	activateWait  time.Duration
	hang          chan struct{} // when set, Activate waits for it, ignoring ctx
	checkFn       func(ctx context.Context, n int) (monitor.Result, error)
	checks        int
	inOp          int
	overlaps      int
}

func newFake(log *callLog, name string) *fakeRes { return &fakeRes{name: name, log: log} }

func (f *fakeRes) enter() {
	f.mu.Lock()
	if f.inOp > 0 {
		f.overlaps++
	}
	f.inOp++
	f.mu.Unlock()
}

func (f *fakeRes) leave() {
	f.mu.Lock()
	f.inOp--
	f.mu.Unlock()
}

func (f *fakeRes) Activate(ctx context.Context, node inventory.Target) error {
	f.log.add(ctx, f.name, "activate", node)
	f.enter()
	defer f.leave()
	f.mu.Lock()
	hang, wait := f.hang, f.activateWait
	var err error
	if len(f.activateErrs) > 0 {
		err, f.activateErrs = f.activateErrs[0], f.activateErrs[1:]
	}
	f.mu.Unlock()
	if hang != nil {
		<-hang
		return fmt.Errorf("%s: gave up late", f.name)
	}
	if wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.active = true
	f.mu.Unlock()
	return nil
}

func (f *fakeRes) Deactivate(ctx context.Context, node inventory.Target) error {
	f.log.add(ctx, f.name, "deactivate", node)
	f.enter()
	defer f.leave()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.deactivateErr) > 0 {
		var err error
		err, f.deactivateErr = f.deactivateErr[0], f.deactivateErr[1:]
		if err != nil {
			return err
		}
	}
	f.active = false
	return nil
}

func (f *fakeRes) Check(ctx context.Context, node inventory.Target) (monitor.Result, error) {
	f.log.add(ctx, f.name, "check", node)
	f.mu.Lock()
	f.checks++
	n, fn, active := f.checks, f.checkFn, f.active
	f.mu.Unlock()
	if fn != nil {
		return fn(ctx, n)
	}
	if !active {
		return monitor.Result{Status: monitor.Critical, Code: 9, Message: f.name + " is not active"}, nil
	}
	return monitor.Result{Status: monitor.OK}, nil
}

func (f *fakeRes) setCheck(fn func(ctx context.Context, n int) (monitor.Result, error)) {
	f.mu.Lock()
	f.checkFn = fn
	f.mu.Unlock()
}

func (f *fakeRes) isActive() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active
}

// checkAll fails the test if any fake saw overlapping calls.
func checkOverlaps(t *testing.T, fs ...*fakeRes) {
	t.Helper()
	for _, f := range fs {
		f.mu.Lock()
		n := f.overlaps
		f.mu.Unlock()
		if n != 0 {
			t.Errorf("%s: %d Activate/Deactivate calls overlapped", f.name, n)
		}
	}
}

// Check results used by tests.
func critical(code int, msg string) func(context.Context, int) (monitor.Result, error) {
	return func(context.Context, int) (monitor.Result, error) {
		return monitor.Result{Status: monitor.Critical, Code: code, Message: msg}, nil
	}
}

func okResult(context.Context, int) (monitor.Result, error) {
	return monitor.Result{Status: monitor.OK, Message: "fine"}, nil
}

func blockUntilDone(ctx context.Context, _ int) (monitor.Result, error) {
	<-ctx.Done()
	return monitor.Result{}, ctx.Err()
}

// evLog records events.
type evLog struct {
	t0  time.Time
	mu  sync.Mutex
	evs []ha.Event
}

func (l *evLog) add(ev ha.Event) {
	l.mu.Lock()
	l.evs = append(l.evs, ev)
	l.mu.Unlock()
}

func (l *evLog) all() []ha.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.evs)
}

// lines returns "kind: message" of every event whose kind is one of kinds
// (all when none given).
func (l *evLog) lines(kinds ...ha.EventKind) []string {
	var out []string
	for _, ev := range l.all() {
		if len(kinds) == 0 || slices.Contains(kinds, ev.Kind) {
			out = append(out, string(ev.Kind)+": "+ev.Message)
		}
	}
	return out
}

func (l *evLog) of(kind ha.EventKind) []ha.Event {
	var out []ha.Event
	for _, ev := range l.all() {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// harness is an engine under test, with its Run going.
type harness struct {
	t      *testing.T
	eng    *ha.Engine
	ev     *evLog
	cancel context.CancelFunc
	done   chan error
}

// start makes an engine of node "n1" for groups with an event log, and
// starts its Run (stopped by stop, or at the test's end).
func start(t *testing.T, groups []ha.Group, opts ...ha.EngineOption) *harness {
	t.Helper()
	h := newHarness(t, groups, opts...)
	h.run()
	return h
}

func newHarness(t *testing.T, groups []ha.Group, opts ...ha.EngineOption) *harness {
	t.Helper()
	h := &harness{t: t, ev: &evLog{t0: time.Now()}}
	eng, err := ha.NewEngine("n1", groups, append([]ha.EngineOption{ha.WithEvents(h.ev.add)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	h.eng = eng
	return h
}

func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.eng.Run(ctx) }()
	h.t.Cleanup(h.stop)
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Errorf("Run: %v", err)
	}
	h.cancel = nil
}

func (h *harness) online(group string, epoch ha.Epoch) {
	h.t.Helper()
	if err := h.eng.Online(context.Background(), group, epoch); err != nil {
		h.t.Fatalf("Online(%s): %v", group, err)
	}
}

// status returns the group's status.
func (h *harness) status(group string) ha.GroupStatus {
	h.t.Helper()
	for _, st := range h.eng.Status() {
		if st.Group == group {
			return st
		}
	}
	h.t.Fatalf("no status of group %s", group)
	return ha.GroupStatus{}
}

func (h *harness) monitor(group, name string) ha.MonitorStatus {
	h.t.Helper()
	for _, m := range h.status(group).Monitors {
		if m.Name == name {
			return m
		}
	}
	h.t.Fatalf("group %s: no monitor %s", group, name)
	return ha.MonitorStatus{}
}

// group builds a group on nodes n1 and n2.
func group(name string, members ...ha.Member) ha.Group {
	return ha.Group{Name: name, Nodes: []string{"n1", "n2"}, Members: members}
}

func equal[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, show(got), show(want))
	}
}

func show[T any](v []T) string {
	var b strings.Builder
	for _, x := range v {
		fmt.Fprintf(&b, "\n\t%v", x)
	}
	return b.String()
}

func secs(ds ...float64) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = time.Duration(d * float64(time.Second))
	}
	return out
}
