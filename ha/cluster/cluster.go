package cluster

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minato-ops/minato/ha"
)

// Engine is what the cluster drives on this node: the node's group engine
// ([*ha.Engine] implements it). Its methods are called from the cluster's
// goroutines, for different groups concurrently, but the cluster never
// calls Online and Offline of one group at the same time; only OfflineAll
// (the self-fence, the clean leave) may overlap an Online in progress,
// which the cluster has just cancelled and the engine must stop.
//
// Online activates group here under epoch and returns once it is online;
// an error means it could not be (the cluster then fails it over). It
// must honour ctx: the cluster cancels it when this node must stop (it
// was fenced, it lost the lease, it is leaving). Offline deactivates
// group here; an error means it may still be (partly) active, and the
// cluster then does not let another node take it. OfflineAll deactivates
// every group: the self-fence of an isolated node.
type Engine interface {
	Online(ctx context.Context, group string, epoch ha.Epoch) error
	Offline(ctx context.Context, group string) error
	OfflineAll(ctx context.Context) error
}

// Errors of a [Cluster], besides [ha.ErrUnknownGroup], [ha.ErrNotStartable]
// and [ha.ErrNoFailover].
var (
	// ErrNotRunning: [Cluster.Run] is not running.
	ErrNotRunning = errors.New("cluster: not running")
	// ErrIsolated: this node is isolated (it hears no other node and
	// cannot reach the witness) and takes part in nothing.
	ErrIsolated = errors.New("cluster: this node is isolated")
	// ErrNodeDown: the node asked for is not up.
	ErrNodeDown = errors.New("cluster: node is not up")
	// ErrMoveFailed: a move did not end with the target holding the
	// group.
	ErrMoveFailed = errors.New("cluster: move failed")
)

// Option configures an optional collaborator of a [Cluster].
type Option func(*options)

type options struct {
	witness   ha.Witness
	lease     ha.Lease
	transport Transport
	events    func(ha.Event)
	log       *slog.Logger
	fence     Fencer
}

// Fencer powers off (or otherwise cuts off) a node declared down before
// this node takes its groups over: STONITH, as Pacemaker's fence agents
// and CLUSTERPRO's forced stop do. Fence returns nil once node can no
// longer act (its machine stopped); an error means it may still, and the
// takeover waits and tries again. It must be idempotent (a node already
// off is fenced) and refuse to fence this node.
type Fencer interface {
	Fence(ctx context.Context, node string) error
}

// WithFence fences a peer declared down before any of its groups is taken
// over. A node is fenced once per down episode (again after it was heard
// up); a failing fence delays the takeover, retried every Interval, so
// the groups stay offline rather than risk running twice.
func WithFence(f Fencer) Option { return func(o *options) { o.fence = f } }

// WithWitness sets the witness that tells a dead peer from this node's
// isolation (see the decision table in the package documentation).
// Without one, a silent peer is taken for down, and two nodes cut from
// each other both hold the groups (split brain) unless a lease is set.
func WithWitness(w ha.Witness) Option { return func(o *options) { o.witness = w } }

// WithLease sets the lease that makes holding a group exclusive: a node
// activates a group only under a live hold of the key
// "<cluster>/<group>" (under the lease store's own prefix, "minato/ha/" for ha/etcd), whose epoch becomes the group's.
func WithLease(l ha.Lease) Option { return func(o *options) { o.lease = l } }

// WithTransport sets the transport (by default [Cluster.Run] listens on
// this node's UDP addresses). The cluster does not close it.
func WithTransport(t Transport) Option { return func(o *options) { o.transport = t } }

// WithEvents sets the callback that receives the cluster's events
// ([ha.EventNodeUp], [ha.EventNodeDown], [ha.EventIsolated],
// [ha.EventHolderChanged], [ha.EventFailover] of an activation that failed
// here, [ha.EventLeaseLost]), one at a time, in order. It must not block
// long and must not call [Cluster.Move]; it may call [Cluster.Status] and
// [Cluster.Holds].
func WithEvents(f func(ha.Event)) Option { return func(o *options) { o.events = f } }

// WithLogger sets the logger; nil (the default) discards. The cluster logs
// routine work at Debug and trouble (a node lost, isolation, a lease
// lost, a deactivation that failed) at Warn.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// Cluster is one node's membership in a cluster of 2 or 3 nodes: it
// exchanges heartbeats, decides with the others which node holds each
// group, and drives this node's [Engine] accordingly. Create it with
// [New], then call [Cluster.Run]. Its methods are safe for concurrent
// use.
type Cluster struct {
	cfg    Config
	key    []byte
	engine Engine
	o      options
	log    *slog.Logger
	nets   int
	addrs  []string // this node's
	peers  []*peer
	byPeer map[string]*peer
	groups []*group
	byName map[string]*group

	emitMu sync.Mutex

	mu       sync.Mutex
	running  bool
	leaving  bool // Run's ctx ended: deactivating before returning
	left     bool // deactivated: the last heartbeats say so
	isolated bool
	fencing  bool
	fenced   map[string]bool // peers fenced in their current down episode
	probing  bool
	boot     uint64
	seq      uint64
	sent     [][]sentRec // by network, a ring of the last sends
	counters Counters
	changed  chan struct{} // closed and replaced on every change Move waits for
	hbNow    chan struct{}
	pending  []ha.Event
	rs       *runState
}

// runState is one Run's: the context and goroutines of its actions.
type runState struct {
	ctx  context.Context // cancelled when the node starts leaving
	quit <-chan struct{} // Run's ctx: closed when the node must leave
	wg   sync.WaitGroup
}

// stoppingLocked reports whether this node is leaving or about to: it
// then starts nothing new.
func (c *Cluster) stoppingLocked() bool {
	if c.leaving || c.rs == nil {
		return true
	}
	select {
	case <-c.rs.quit:
		return true
	default:
		return false
	}
}

type sentRec struct {
	seq uint64
	at  time.Time
}

const sentRing = 32

// peer is another node, as this one knows it.
type peer struct {
	name  string
	addrs []string
	state NodeState // up, down or unknown
	// silent: unknown because heard by no network for Timeout (or never
	// since since), waiting for the witness to say down or isolated.
	silent bool
	since  time.Time

	boot      uint64
	bootKnown bool
	left      bool     // this boot said it left
	lastSent  int64    // newest accepted send time, any boot
	lastSeq   []uint64 // by network, in boot
	heard     []time.Time
	rtt       []time.Duration
	echoSeq   []uint64
	echoAt    []time.Time
	facts     map[string]facts // by group, from its last heartbeat
}

// facts are what a node says of itself about a group.
type facts struct {
	state     ha.GroupState
	failed    bool
	noLease   bool
	move      string
	moveEpoch ha.Epoch
}

func (p *peer) lastHeard() time.Time {
	var t time.Time
	for _, h := range p.heard {
		if h.After(t) {
			t = h
		}
	}
	return t
}

// intent is what this node should do about a group.
type intent int

const (
	idle     intent = iota // hold nothing: be offline
	takeOver               // take the group over
	keep                   // hold it
	release                // deactivate it and release the claim to next
)

// group is one group, as this node knows it.
type group struct {
	def ha.Group
	key string // lease key

	claim     claim
	announced claim               // the last claim reported as holder_changed
	claimedBy map[string]ha.Epoch // the newest epoch each node claimed it at

	local   ha.GroupState // the engine's state of it here, as last done
	epoch   ha.Epoch      // the epoch local (starting, online) is under
	failed  bool          // it failed here
	lastErr error

	move      string // this node's pending move request
	moveEpoch ha.Epoch

	intent    intent
	next      string
	failover  bool // asked to leave (failed here): release
	dropLease bool // the lease hold is lost: release
	notBefore time.Time
	retryAt   time.Time
	// noLeaseUntil: this node could not reach the lease store for the
	// group; until then it is no candidate.
	noLeaseUntil time.Time

	busy   bool
	cancel context.CancelFunc
	wake   chan struct{}

	grant     ha.Grant
	stopRenew context.CancelFunc
}

// New returns the cluster membership of node cfg.Node. key is the shared
// secret that authenticates heartbeats (at least [MinKeySize] bytes,
// random, the same on every node; keep it in a file only its owner can
// read). groups are the failover groups, the same on every node (their
// Name, Nodes and AutoFailback are used; every node of a group must be a
// node of the cluster); engine is this node's. Problems are joined, each
// with its field path.
func New(cfg Config, key []byte, groups []ha.Group, engine Engine, opts ...Option) (*Cluster, error) {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(key) < MinKeySize {
		add("key: %d bytes, want at least %d random bytes", len(key), MinKeySize)
	}
	if engine == nil {
		add("engine: required")
	}
	nodes := map[string]bool{}
	longest := ""
	for _, n := range cfg.Nodes {
		nodes[n.Name] = true
		if len(n.Name) > len(longest) {
			longest = n.Name
		}
	}
	seen := map[string]bool{}
	for i, g := range groups {
		if err := g.Validate(); err != nil {
			add("groups[%d] (%s): %w", i, g.Name, err)
		}
		if seen[g.Name] {
			add("groups[%d]: %q is used twice", i, g.Name)
		}
		seen[g.Name] = true
		if len(g.Name) > maxName {
			add("groups[%d]: name of %d bytes, at most %d", i, len(g.Name), maxName)
		}
		for j, n := range g.Nodes {
			if !nodes[n] {
				add("groups[%d] (%s).nodes[%d]: %q is not a node of the cluster", i, g.Name, j, n)
			}
		}
	}
	if len(errs) == 0 {
		// The largest heartbeat these groups can make must fit a datagram.
		m := message{Cluster: cfg.Cluster, Sender: cfg.Node}
		for range len(cfg.Nodes) - 1 {
			m.Echoes = append(m.Echoes, echo{Node: longest})
		}
		for _, g := range groups {
			m.Groups = append(m.Groups, view{Name: g.Name, Claim: claim{Holder: longest, Next: longest}, Move: longest})
		}
		if n := len(seal(key, m)); n > MaxDatagram {
			add("groups: %d groups make heartbeats of up to %d bytes, more than %d: use fewer or shorter names", len(groups), n, MaxDatagram)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := &Cluster{
		cfg:     cfg.withDefaults(),
		key:     slices.Clone(key),
		engine:  engine,
		byPeer:  map[string]*peer{},
		byName:  map[string]*group{},
		changed: make(chan struct{}),
		hbNow:   make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(&c.o)
	}
	c.log = c.o.log
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.nets = len(cfg.Nodes[0].Addresses)
	c.sent = make([][]sentRec, c.nets)
	for _, n := range cfg.Nodes {
		if n.Name == cfg.Node {
			c.addrs = slices.Clone(n.Addresses)
			continue
		}
		p := &peer{name: n.Name, addrs: slices.Clone(n.Addresses), state: NodeUnknown, facts: map[string]facts{},
			lastSeq: make([]uint64, c.nets), heard: make([]time.Time, c.nets), rtt: make([]time.Duration, c.nets),
			echoSeq: make([]uint64, c.nets), echoAt: make([]time.Time, c.nets)}
		c.peers = append(c.peers, p)
		c.byPeer[p.name] = p
	}
	for _, gd := range groups {
		g := &group{def: gd, key: cfg.Cluster + "/" + gd.Name, local: ha.Offline, wake: make(chan struct{}, 1),
			claimedBy: map[string]ha.Epoch{}}
		g.def.Nodes = slices.Clone(gd.Nodes)
		c.groups = append(c.groups, g)
		c.byName[gd.Name] = g
	}
	return c, nil
}

// Run takes part in the cluster until ctx ends: it sends heartbeats,
// follows the other nodes, decides with them which node holds each group
// and drives the engine. When ctx ends it leaves cleanly: it stops the
// activations in progress, takes every group offline here
// ([Engine.OfflineAll]), tells the others (who then take over at once,
// without waiting for Timeout) and returns, within LeaveTimeout. It
// returns nil after a clean leave, the deactivation's error otherwise, or
// an error when the transport could not be opened or failed. Run may be
// called again after it returned, not twice at once; each Run is a new
// boot for the others.
func (c *Cluster) Run(ctx context.Context) error {
	errRunning := errors.New("cluster: Run is already running")
	c.mu.Lock()
	running := c.running
	c.mu.Unlock()
	if running {
		return errRunning
	}
	tr := c.o.transport
	var own *UDPTransport
	if tr == nil {
		u, err := ListenUDP(c.addrs)
		if err != nil {
			return err
		}
		own, tr = u, u
	}
	bg := context.WithoutCancel(ctx)
	netCtx, netCancel := context.WithCancel(bg)
	defer netCancel()
	actCtx, actCancel := context.WithCancel(bg)
	defer actCancel()

	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		if own != nil {
			own.Close()
		}
		return errRunning
	}
	rs := &runState{ctx: actCtx, quit: ctx.Done()}
	c.beginLocked(time.Now(), rs)
	boot := c.boot
	c.mu.Unlock()
	c.log.Debug("cluster: joining", "cluster", c.cfg.Cluster, "node", c.cfg.Node, "boot", boot)

	var netWG sync.WaitGroup
	recvErr := make(chan error, 1)
	netWG.Go(func() { recvErr <- c.receive(netCtx, tr) })
	for _, g := range c.groups {
		rs.wg.Go(func() { c.actor(actCtx, g) })
	}

	tick := time.NewTicker(c.cfg.Interval)
	defer tick.Stop()
	// Silence is judged four times an interval, so a lost peer is seen
	// within a quarter interval of its timeout, not up to a whole one.
	judge := time.NewTicker(max(c.cfg.Interval/4, 10*time.Millisecond))
	defer judge.Stop()
	c.send(netCtx, tr)
	done := ctx.Done()
	var left chan error // nil until the leave starts
	var runErr error
	startLeave := func() {
		done = nil
		left = make(chan error, 1)
		go func() { left <- c.leave(bg, rs, actCancel) }()
	}
	for {
		select {
		case <-done:
			startLeave()
		case err := <-recvErr:
			recvErr = nil
			runErr = err
			if left == nil {
				startLeave()
			}
		case <-tick.C:
			c.send(netCtx, tr)
			c.tick(time.Now())
		case <-judge.C:
			c.tick(time.Now())
		case <-c.hbNow:
			c.send(netCtx, tr)
		case err := <-left:
			runErr = errors.Join(runErr, err)
			c.send(netCtx, tr) // the last heartbeats: left, nothing held
			netCancel()
			netWG.Wait()
			if own != nil {
				if err := own.Close(); err != nil {
					c.log.Debug("cluster: closing the sockets", "err", err)
				}
			}
			c.mu.Lock()
			c.running = false
			c.notifyLocked()
			c.unlock()
			c.log.Debug("cluster: left", "cluster", c.cfg.Cluster, "node", c.cfg.Node)
			return runErr
		}
	}
}

// beginLocked starts a run: a new boot, every peer unknown, nothing held.
func (c *Cluster) beginLocked(now time.Time, rs *runState) {
	c.running, c.leaving, c.left, c.isolated, c.fencing, c.probing = true, false, false, false, false, false
	c.rs = rs
	c.boot = newBoot()
	c.seq = 0
	for i := range c.sent {
		c.sent[i] = c.sent[i][:0]
	}
	for _, p := range c.peers {
		p.state, p.silent, p.since = NodeUnknown, false, now
		clear(p.heard)
		clear(p.rtt)
		clear(p.echoSeq)
		clear(p.echoAt)
		p.facts = map[string]facts{}
	}
	for _, g := range c.groups {
		g.local, g.epoch, g.failed, g.lastErr = ha.Offline, 0, false, nil
		g.move, g.moveEpoch = "", 0
		g.intent, g.next, g.failover, g.dropLease = idle, "", false, false
		g.notBefore, g.retryAt, g.noLeaseUntil = time.Time{}, time.Time{}, time.Time{}
		g.busy, g.cancel, g.grant, g.stopRenew = false, nil, ha.Grant{}, nil
	}
}

func newBoot() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:]) // never fails (crypto/rand)
		if v := binary.BigEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

// leave stops the run's actions, deactivates every group here and
// releases what this node held, within LeaveTimeout.
func (c *Cluster) leave(bg context.Context, rs *runState, actCancel context.CancelFunc) error {
	ctx, cancel := context.WithTimeout(bg, c.cfg.LeaveTimeout)
	defer cancel()
	c.mu.Lock()
	c.leaving = true
	for _, g := range c.groups {
		if g.cancel != nil {
			g.cancel()
		}
		if g.stopRenew != nil {
			g.stopRenew()
			g.stopRenew = nil
		}
	}
	c.notifyLocked()
	c.unlock()
	c.log.Debug("cluster: leaving: deactivating every group here")
	actCancel()
	waitGroup(ctx, &rs.wg)

	err := c.engine.OfflineAll(ctx)
	c.mu.Lock()
	var grants []ha.Grant
	for _, g := range c.groups {
		if err != nil {
			g.local = ha.Failed
		} else {
			g.local = ha.Offline
		}
		if c.mineLocked(g) {
			g.claim.Released, g.claim.Next = true, ""
		}
		if g.grant.Key != "" {
			grants = append(grants, g.grant)
			g.grant = ha.Grant{}
		}
		g.move, g.moveEpoch = "", 0
	}
	c.left = true
	c.notifyLocked()
	c.unlock()
	c.releaseGrants(ctx, grants)
	if err != nil {
		return fmt.Errorf("cluster: leaving: %w", err)
	}
	return nil
}

// waitGroup waits for wg, or for ctx to end.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (c *Cluster) releaseGrants(ctx context.Context, grants []ha.Grant) {
	for _, gr := range grants {
		if err := c.o.lease.Release(ctx, gr); err != nil {
			c.log.Debug("cluster: releasing the lease", "key", gr.Key, "err", err)
		}
	}
}

// receive reads datagrams until ctx ends or the transport fails.
func (c *Cluster) receive(ctx context.Context, tr Transport) error {
	for {
		d, err := tr.Receive(ctx)
		switch {
		case err == nil:
			c.handle(d, time.Now())
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, net.ErrClosed):
			return fmt.Errorf("cluster: the transport was closed: %w", err)
		default:
			c.log.Debug("cluster: receive", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// send sends this node's heartbeat on every network to every peer.
func (c *Cluster) send(ctx context.Context, tr Transport) {
	c.mu.Lock()
	dgs := c.heartbeatsLocked(time.Now())
	c.mu.Unlock()
	var n uint64
	for i, b := range dgs {
		for _, p := range c.peers {
			if err := tr.Send(ctx, i, p.addrs[i], b); err != nil {
				c.log.Debug("cluster: send", "node", p.name, "network", i, "err", err)
				continue
			}
			n++
		}
	}
	c.mu.Lock()
	c.counters.HeartbeatsSent += n
	c.mu.Unlock()
}

// heartbeatsLocked builds this node's heartbeat for each network.
func (c *Cluster) heartbeatsLocked(now time.Time) [][]byte {
	views := make([]view, len(c.groups))
	for i, g := range c.groups {
		views[i] = view{Name: g.def.Name, Claim: g.claim, State: g.local, Failed: g.failed, NoLease: now.Before(g.noLeaseUntil),
			Move: g.move, MoveEpoch: g.moveEpoch}
	}
	out := make([][]byte, c.nets)
	for i := range c.nets {
		c.seq++
		m := message{Network: uint8(i), Leaving: c.left, Cluster: c.cfg.Cluster, Sender: c.cfg.Node,
			Boot: c.boot, Seq: c.seq, Sent: now.UnixNano(), Groups: views}
		for _, p := range c.peers {
			if p.bootKnown && p.echoSeq[i] != 0 {
				m.Echoes = append(m.Echoes, echo{Node: p.name, Boot: p.boot, Seq: p.echoSeq[i], Held: now.Sub(p.echoAt[i])})
			}
		}
		if len(c.sent[i]) == sentRing {
			c.sent[i] = append(c.sent[i][:0], c.sent[i][1:]...)
		}
		c.sent[i] = append(c.sent[i], sentRec{seq: c.seq, at: now})
		out[i] = seal(c.key, m)
	}
	return out
}

// tick is the periodic check: silent peers, then decisions.
func (c *Cluster) tick(now time.Time) {
	c.mu.Lock()
	defer c.unlock()
	if !c.running || c.stoppingLocked() {
		return
	}
	c.checkPeersLocked(now)
	c.evaluateLocked(now)
}

// emitLocked queues an event; unlock delivers it.
func (c *Cluster) emitLocked(e ha.Event) {
	e.Time = time.Now()
	lvl := slog.LevelDebug
	switch e.Kind {
	case ha.EventNodeDown, ha.EventIsolated, ha.EventLeaseLost, ha.EventFailover, ha.EventFenced, ha.EventFenceFailed:
		if c.o.events == nil { // else the events' receiver logs them
			lvl = slog.LevelWarn
		}
	}
	attrs := []any{"kind", e.Kind, "group", e.Group, "node", e.Node, "epoch", e.Epoch}
	if e.Err != nil {
		attrs = append(attrs, "err", e.Err)
	}
	c.log.Log(context.Background(), lvl, "cluster: "+strings.TrimSuffix(e.Message, "."), attrs...)
	if c.o.events != nil {
		c.pending = append(c.pending, e)
	}
}

// unlock releases c.mu and delivers the events queued meanwhile, in order.
func (c *Cluster) unlock() {
	has := len(c.pending) > 0
	c.mu.Unlock()
	if !has {
		return
	}
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	c.mu.Lock()
	ev := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, e := range ev {
		c.o.events(e)
	}
}

// notifyLocked wakes whoever waits for a change (Move).
func (c *Cluster) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// sendSoonLocked asks for a heartbeat now rather than at the next tick.
func (c *Cluster) sendSoonLocked() {
	select {
	case c.hbNow <- struct{}{}:
	default:
	}
}
