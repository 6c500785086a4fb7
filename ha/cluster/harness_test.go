package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/cluster"
)

// The timing of the simulated clusters: the defaults.
const (
	interval = time.Second
	timeout  = 3 * time.Second
)

var key = []byte("0123456789abcdef0123456789abcdef")

// debugLog formats every record (and drops it): the log calls run.
var debugLog = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))

// call is one call to a fake engine.
type call struct {
	at    time.Duration // since the world began
	node  string
	op    string // online, offline, offline_all
	group string
	epoch ha.Epoch
	err   error
}

func (c call) String() string {
	s := fmt.Sprintf("%v %s %s", c.at, c.node, c.op)
	if c.group != "" {
		s += " " + c.group
	}
	if c.epoch != 0 {
		s += fmt.Sprintf("@%d", c.epoch)
	}
	if c.err != nil {
		s += " err=" + c.err.Error()
	}
	return s
}

// world is what every fake engine of a test shares: the calls, which
// node has which group active, and the overlaps seen (a group active on
// two nodes at once: from the start of an Online to the end of the
// Offline that follows).
type world struct {
	mu       sync.Mutex
	start    time.Time
	calls    []call
	active   map[string]map[string]ha.Epoch // group → node → epoch
	overlaps []string
}

func newWorld() *world {
	return &world{start: time.Now(), active: map[string]map[string]ha.Epoch{}}
}

func (w *world) record(c call) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c.at = time.Since(w.start)
	w.calls = append(w.calls, c)
}

func (w *world) activate(group, node string, epoch ha.Epoch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.active[group] == nil {
		w.active[group] = map[string]ha.Epoch{}
	}
	for n, e := range w.active[group] {
		if n != node {
			w.overlaps = append(w.overlaps, fmt.Sprintf("%v: %s active on %s@%d while on %s@%d", time.Since(w.start), group, node, epoch, n, e))
		}
	}
	w.active[group][node] = epoch
}

func (w *world) deactivate(group, node string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.active[group], node)
}

// holders returns the nodes where group is active.
func (w *world) holders(group string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for n := range w.active[group] {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (w *world) epochOn(group, node string) ha.Epoch {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.active[group][node]
}

func (w *world) countCalls(node, op, group string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.calls {
		if c.node == node && c.op == op && (group == "" || c.group == group) {
			n++
		}
	}
	return n
}

func (w *world) log() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for _, c := range w.calls {
		b.WriteString(c.String() + "\n")
	}
	return b.String()
}

// fakeEngine is a node's engine: it records calls in the world. Online
// may be made to fail or take time; Offline may be made to fail.
type fakeEngine struct {
	w      *world
	node   string
	groups []string

	mu          sync.Mutex
	failOnline  map[string]error
	failOffline map[string]error
	onlineTakes time.Duration
}

var _ cluster.Engine = (*fakeEngine)(nil)
var _ cluster.Engine = (*ha.Engine)(nil)

func (e *fakeEngine) Online(ctx context.Context, group string, epoch ha.Epoch) error {
	e.mu.Lock()
	fail, takes := e.failOnline[group], e.onlineTakes
	e.mu.Unlock()
	e.w.activate(group, e.node, epoch)
	if takes > 0 {
		select {
		case <-time.After(takes):
		case <-ctx.Done():
			fail = ctx.Err()
		}
	}
	if fail != nil {
		e.w.deactivate(group, e.node)
	}
	e.w.record(call{node: e.node, op: "online", group: group, epoch: epoch, err: fail})
	return fail
}

func (e *fakeEngine) Offline(ctx context.Context, group string) error {
	e.mu.Lock()
	fail := e.failOffline[group]
	e.mu.Unlock()
	e.w.record(call{node: e.node, op: "offline", group: group, err: fail})
	if fail != nil {
		return fail
	}
	e.w.deactivate(group, e.node)
	return nil
}

func (e *fakeEngine) OfflineAll(ctx context.Context) error {
	e.w.record(call{node: e.node, op: "offline_all"})
	for _, g := range e.groups {
		e.w.deactivate(g, e.node)
	}
	return nil
}

func (e *fakeEngine) setFailOnline(group string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failOnline[group] = err
}

func (e *fakeEngine) setOnlineTakes(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onlineTakes = d
}

func (e *fakeEngine) setFailOffline(group string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failOffline[group] = err
}

// leaseStore is an in-memory lease store shared by the nodes, with the
// TTL on the (synctest) clock; each node reaches it through a nodeLease.
type leaseStore struct {
	// retryAt makes a refusal say when the hold expires, as the DynamoDB
	// lease does (RetryAt).
	retryAt bool

	mu     sync.Mutex
	rev    ha.Epoch
	nextID int64
	holds  map[string]*hold
	grants []ha.Grant // every new hold, in order
}

type hold struct {
	node    string
	epoch   ha.Epoch
	id      int64
	ttl     time.Duration
	expires time.Time
}

// heldUntil is a refusal that says when the hold becomes takeable.
type heldUntil struct {
	error
	at time.Time
}

func (e heldUntil) Unwrap() error      { return e.error }
func (e heldUntil) RetryAt() time.Time { return e.at }

func newLeaseStore() *leaseStore { return &leaseStore{holds: map[string]*hold{}} }

// nodeLease is one node's handle on the store: it can be cut off (every
// call fails) or made to hang on Renew (until ctx ends), as a node frozen
// or a store that stopped answering would.
type nodeLease struct {
	s         *leaseStore
	reachable atomic.Bool
	hang      atomic.Bool
	renewals  atomic.Int64
}

var errUnreachable = errors.New("lease store unreachable")

func (l *nodeLease) Acquire(ctx context.Context, key, node string, ttl time.Duration) (ha.Grant, error) {
	if !l.reachable.Load() {
		return ha.Grant{}, errUnreachable
	}
	now := time.Now()
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.holds[key]; h != nil && now.Before(h.expires) {
		if h.node != node {
			err := fmt.Errorf("%w: %s holds %s", ha.ErrHeld, h.node, key)
			if s.retryAt {
				return ha.Grant{}, heldUntil{err, h.expires}
			}
			return ha.Grant{}, err
		}
		h.expires = now.Add(ttl)
		return ha.Grant{Key: key, Node: node, Epoch: h.epoch, Valid: h.expires, ID: h.id}, nil
	}
	s.rev++
	s.nextID++
	h := &hold{node: node, epoch: s.rev, id: s.nextID, ttl: ttl, expires: now.Add(ttl)}
	s.holds[key] = h
	g := ha.Grant{Key: key, Node: node, Epoch: h.epoch, Valid: h.expires, ID: h.id}
	s.grants = append(s.grants, g)
	return g, nil
}

func (l *nodeLease) Renew(ctx context.Context, g ha.Grant) (ha.Grant, error) {
	if l.hang.Load() {
		<-ctx.Done()
		return ha.Grant{}, ctx.Err()
	}
	if !l.reachable.Load() {
		return ha.Grant{}, errUnreachable
	}
	l.renewals.Add(1)
	now := time.Now()
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.holds[g.Key]
	if h == nil || h.id != g.ID || !now.Before(h.expires) {
		return ha.Grant{}, ha.ErrLost
	}
	h.expires = now.Add(h.ttl)
	g.Valid = h.expires
	return g, nil
}

func (l *nodeLease) Release(ctx context.Context, g ha.Grant) error {
	if !l.reachable.Load() {
		return errUnreachable
	}
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.holds[g.Key]; h != nil && h.id == g.ID {
		delete(s.holds, g.Key)
	}
	return nil
}

func (l *nodeLease) Holder(ctx context.Context, key string) (string, ha.Epoch, error) {
	if !l.reachable.Load() {
		return "", 0, errUnreachable
	}
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.holds[key]; h != nil && time.Now().Before(h.expires) {
		return h.node, h.epoch, nil
	}
	return "", 0, nil
}

// tnode is one simulated node.
type tnode struct {
	name    string
	addrs   []string
	c       *cluster.Cluster
	eng     *fakeEngine
	tr      *cluster.MemTransport
	witness atomic.Bool // reachable
	probes  atomic.Int64
	lease   *nodeLease
	cancel  context.CancelFunc
	done    chan error

	mu     sync.Mutex
	events []ha.Event
}

func (n *tnode) eventKinds() []ha.EventKind {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []ha.EventKind
	for _, e := range n.events {
		out = append(out, e.Kind)
	}
	return out
}

func (n *tnode) hasEvent(kind ha.EventKind, node string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range n.events {
		if e.Kind == kind && (node == "" || e.Node == node) {
			return true
		}
	}
	return false
}

// options of a simulated cluster.
type hopts struct {
	witness  bool        // give every node a witness (reachable at first)
	lease    *leaseStore // give every node the lease
	networks int         // default 2
	fence    cluster.Fencer
	leaseTTL time.Duration // cluster.Config.LeaseTTL (default: timeout)
}

// harness is a simulated cluster inside a synctest bubble.
type harness struct {
	t      *testing.T
	net    *cluster.MemNetwork
	w      *world
	o      hopts
	groups []ha.Group
	names  []string
	nodes  map[string]*tnode
}

func newHarness(t *testing.T, names []string, groups []ha.Group, o hopts) *harness {
	t.Helper()
	if o.networks == 0 {
		o.networks = 2
	}
	h := &harness{t: t, net: cluster.NewMemNetwork(), w: newWorld(), o: o, groups: groups, names: names, nodes: map[string]*tnode{}}
	var gnames []string
	for _, g := range groups {
		gnames = append(gnames, g.Name)
	}
	for _, name := range names {
		n := &tnode{name: name, eng: &fakeEngine{w: h.w, node: name, groups: gnames, failOnline: map[string]error{}, failOffline: map[string]error{}}}
		for i := range o.networks {
			n.addrs = append(n.addrs, fmt.Sprintf("%s-net%d:5405", name, i))
		}
		n.witness.Store(true)
		if o.lease != nil {
			n.lease = &nodeLease{s: o.lease}
			n.lease.reachable.Store(true)
		}
		h.nodes[name] = n
	}
	t.Cleanup(h.stopAll)
	return h
}

func (h *harness) config(name string) cluster.Config {
	cfg := cluster.Config{Cluster: "test", Node: name, LeaseTTL: h.o.leaseTTL}
	for _, n := range h.names {
		cfg.Nodes = append(cfg.Nodes, cluster.NodeConfig{Name: n, Addresses: h.nodes[n].addrs})
	}
	return cfg
}

// start creates node name's Cluster (a fresh process) and runs it.
func (h *harness) start(name string) *tnode {
	h.t.Helper()
	n := h.nodes[name]
	if n.tr == nil {
		tr, err := h.net.Listen(n.addrs...)
		require.NoError(h.t, err)
		n.tr = tr
	}
	opts := []cluster.Option{cluster.WithTransport(n.tr), cluster.WithLogger(debugLog), cluster.WithEvents(func(e ha.Event) {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.events = append(n.events, e)
	})}
	if h.o.witness {
		opts = append(opts, cluster.WithWitness(ha.WitnessFunc(func(ctx context.Context) error {
			n.probes.Add(1)
			if n.witness.Load() {
				return nil
			}
			return errors.New("witness unreachable")
		})))
	}
	if n.lease != nil {
		opts = append(opts, cluster.WithLease(n.lease))
	}
	if h.o.fence != nil {
		opts = append(opts, cluster.WithFence(h.o.fence))
	}
	c, err := cluster.New(h.config(name), key, h.groups, n.eng, opts...)
	require.NoError(h.t, err)
	n.c = c
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	go func() { n.done <- c.Run(ctx) }()
	return n
}

func (h *harness) startAll() {
	for _, n := range h.names {
		h.start(n)
	}
}

// stop ends node name's Run (a clean leave) and returns its error.
func (h *harness) stop(name string) error {
	n := h.nodes[name]
	if n.cancel == nil {
		return nil
	}
	n.cancel()
	err := <-n.done
	n.cancel = nil
	return err
}

// crash makes node name vanish without a word: its transport closes
// (nothing more is sent or received), then its Run ends.
func (h *harness) crash(name string) {
	n := h.nodes[name]
	n.tr.Close()
	n.tr = nil
	h.stop(name)
}

func (h *harness) stopAll() {
	for _, n := range h.names {
		h.stop(n)
	}
}

// cut partitions the nodes of side a from those of side b on every
// network.
func (h *harness) cut(a, b []string) {
	var aa, bb []string
	for _, n := range a {
		aa = append(aa, h.nodes[n].addrs...)
	}
	for _, n := range b {
		bb = append(bb, h.nodes[n].addrs...)
	}
	h.net.Partition(aa, bb)
}

// wait lets the simulated time pass and everything settle.
func (h *harness) wait(d time.Duration) {
	time.Sleep(d)
	synctestWait()
}

// requireNoOverlap fails when a group was ever active on two nodes.
func (h *harness) requireNoOverlap() {
	h.t.Helper()
	h.w.mu.Lock()
	overlaps := slices.Clone(h.w.overlaps)
	h.w.mu.Unlock()
	require.Empty(h.t, overlaps, "a group was active on two nodes at once; calls:\n%s", h.w.log())
}

// requireEpochsIncrease fails unless every activation of group on
// another node than the last one's (a change of holder) has a greater
// epoch than every activation before it; the holder may activate it again
// under its epoch (after a deactivation that failed).
func (h *harness) requireEpochsIncrease(group string) {
	h.t.Helper()
	h.w.mu.Lock()
	calls := slices.Clone(h.w.calls)
	h.w.mu.Unlock()
	var last call
	for _, c := range calls {
		if c.op != "online" || c.group != group {
			continue
		}
		if last.node != "" {
			if c.node == last.node {
				require.GreaterOrEqual(h.t, c.epoch, last.epoch, "%s: %v after %v", group, c, last)
			} else {
				require.Greater(h.t, c.epoch, last.epoch, "%s: %v after %v", group, c, last)
			}
		}
		last = c
	}
}

func (h *harness) status(name string) cluster.Status { return h.nodes[name].c.Status() }

func groupStatus(st cluster.Status, group string) cluster.GroupStatus {
	for _, g := range st.Groups {
		if g.Name == group {
			return g
		}
	}
	return cluster.GroupStatus{}
}

func nodeState(st cluster.Status, node string) cluster.NodeState {
	for _, n := range st.Nodes {
		if n.Name == node {
			return n.State
		}
	}
	return ""
}
