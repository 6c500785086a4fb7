package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minato-ops/minato/ha"
	haaws "github.com/minato-ops/minato/ha/aws"
	"github.com/minato-ops/minato/ha/cluster"
	hadocker "github.com/minato-ops/minato/ha/docker"
	haetcd "github.com/minato-ops/minato/ha/etcd"
	"github.com/minato-ops/minato/ha/script"
	"github.com/minato-ops/minato/ha/witness"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/minato-ops/minato/monitor"
)

// HAConfig is the ha: section: this node of a 2-3 node failover cluster
// (CLUSTERPRO's model): groups of resources kept on exactly one node.
type HAConfig struct {
	// Cluster names the cluster; every node gives the same.
	Cluster string `json:"cluster"`
	// Node is this node's name, one of Nodes.
	Node string `json:"node"`
	// KeyFile holds the shared secret that authenticates heartbeats (at
	// least 32 bytes, mode 0600 or 0400), relative to the config file.
	KeyFile string `json:"key_file"`
	// Nodes are every node with its heartbeat addresses (UDP host:port,
	// one per network, in the same network order on every node).
	Nodes []cluster.NodeConfig `json:"nodes"`
	// Interval, Timeout, LeaseTTL, MaxClockSkew: see cluster.Config;
	// defaults 1s, 3s, Timeout, 10s.
	Interval     time.Duration `json:"interval,omitempty"`
	Timeout      time.Duration `json:"timeout,omitempty"`
	LeaseTTL     time.Duration `json:"lease_ttl,omitempty"`
	MaxClockSkew time.Duration `json:"max_clock_skew,omitempty"`
	// WitnessTimeout bounds one probe of the witness; default 5s (a
	// witness's own timeout above it is cut to it).
	WitnessTimeout time.Duration `json:"witness_timeout,omitempty"`
	// LeaveTimeout bounds the clean leave at stop (SIGTERM): the groups
	// held here are deactivated before the agent exits; default 60s. The
	// agent's stop budget grows by it.
	LeaveTimeout time.Duration `json:"leave_timeout,omitempty"`
	// Witness resolves network partitions.
	Witness WitnessConfig `json:"witness"`
	// Groups are the failover groups.
	Groups []GroupConfig `json:"groups"`
	// Fence powers a peer declared down off before its groups are taken
	// over (STONITH).
	Fence *FenceConfig `json:"fence,omitempty"`
	// AWS says how to reach AWS for the aws_* resources and monitors and
	// the DynamoDB lease (credentials come from the SDK's default chain:
	// the instance's IAM role, the environment, ~/.aws).
	AWS *haaws.Config `json:"aws,omitempty"`
}

// WitnessConfig: at most one of HTTP and Ping (CLUSTERPRO's network
// partition resolution: reachability), and optionally one lease, Etcd or
// DynamoDB (exclusivity and the fencing epochs).
type WitnessConfig struct {
	HTTP     *witness.HTTPConfig `json:"http,omitempty"`
	Ping     *witness.PingConfig `json:"ping,omitempty"`
	Etcd     *haetcd.Config      `json:"etcd,omitempty"`
	DynamoDB *haaws.LeaseConfig  `json:"dynamodb,omitempty"`
}

// GroupConfig is one failover group.
type GroupConfig struct {
	Name string `json:"name"`
	// Nodes that may run the group, in priority order.
	Nodes []string `json:"nodes"`
	// AutoFailback moves the group back to a higher-priority node when
	// it returns; off by default.
	AutoFailback bool `json:"auto_failback,omitempty"`
	// Resources are activated in order of their depends_on.
	Resources []ResourceConfig `json:"resources"`
	// Monitors watch what is not a resource of the group (an
	// availability zone).
	Monitors []GroupMonitorConfig `json:"monitors,omitempty"`
}

// ResourceConfig is one resource of a group: exactly one of Container,
// Script, AWSVIP, AWSEIP and AWSDNS.
type ResourceConfig struct {
	Name string `json:"name"`
	// Container manages a container on this node's engine.
	Container *hadocker.Config `json:"container,omitempty"`
	// Script runs start, stop and check commands (CLUSTERPRO's exec
	// resource).
	Script *script.Config `json:"script,omitempty"`
	// AWSVIP, AWSEIP and AWSDNS are CLUSTERPRO's AWS virtual IP, Elastic
	// IP and DNS resources (each with its monitor).
	AWSVIP *haaws.VIPConfig `json:"aws_vip,omitempty"`
	AWSEIP *haaws.EIPConfig `json:"aws_eip,omitempty"`
	AWSDNS *haaws.DNSConfig `json:"aws_dns,omitempty"`
	// PerNode overrides the ENI or IP of an AWS resource per node.
	PerNode map[string]PerNodeConfig `json:"per_node,omitempty"`
	// MonitorName names the resource's own monitor in messages; default
	// the resource's name, and for the aws_* resources CLUSTERPRO's
	// monitor name (a "w" before the trailing digits: awsvip1 → awsvipw1).
	MonitorName string `json:"monitor_name,omitempty"`
	// DependsOn names resources activated before this one.
	DependsOn []string `json:"depends_on,omitempty"`
	// Policy is how the resource's monitor runs and recovers.
	Policy ha.RecoveryPolicy `json:"policy"`
	// ActivateTimeout, DeactivateTimeout: default 60s each.
	ActivateTimeout   time.Duration `json:"activate_timeout,omitempty"`
	DeactivateTimeout time.Duration `json:"deactivate_timeout,omitempty"`
	// ActivateRetries: failed activations retried at once on this node.
	ActivateRetries int `json:"activate_retries,omitempty"`
}

// FenceConfig names the fencing method: AWS (StopInstances, as
// Pacemaker's fence_aws).
type FenceConfig struct {
	AWS *haaws.FenceConfig `json:"aws,omitempty"`
}

// validate checks the ha: section's own rules (the nested library
// configs validated themselves as they were decoded).
func (h *HAConfig) validate() []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf("ha."+format, a...)) }
	if h.KeyFile == "" {
		add("key_file: required: a file of at least 32 random bytes, mode 0600, the same on every node ((umask 077; head -c 32 /dev/urandom > ha.key))")
	}
	if h.Witness.HTTP != nil && h.Witness.Ping != nil {
		add("witness: give http or ping, not both (a lease, etcd or dynamodb, may go with either)")
	}
	if h.Witness.Etcd != nil && h.Witness.DynamoDB != nil {
		add("witness: give one lease, etcd or dynamodb, not both")
	}
	if len(h.Groups) == 0 {
		add("groups: give at least one failover group")
	}
	if f := h.Fence; f != nil {
		if f.AWS == nil {
			add("fence: give aws")
		} else {
			for node := range f.AWS.Instances {
				if !slices.ContainsFunc(h.Nodes, func(n cluster.NodeConfig) bool { return n.Name == node }) {
					add("fence.aws.instances: %q is not one of nodes", node)
				}
			}
		}
	}
	if err := h.clusterConfig().Validate(); err != nil {
		for _, e := range flatten(err) {
			add("%s", e)
		}
	}
	names := map[string]bool{}
	for i, g := range h.Groups {
		if names[g.Name] {
			add("groups[%d].name: %q is used twice", i, g.Name)
		}
		names[g.Name] = true
		for j, r := range g.Resources {
			n := 0
			for _, set := range []bool{r.Container != nil, r.Script != nil, r.AWSVIP != nil, r.AWSEIP != nil, r.AWSDNS != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				add("groups[%d].resources[%d]: resource %q: give exactly one of container, script, aws_vip, aws_eip and aws_dns", i, j, r.Name)
			}
			if len(r.PerNode) > 0 && r.AWSVIP == nil && r.AWSEIP == nil && r.AWSDNS == nil {
				add("groups[%d].resources[%d].per_node: only the aws_* resources take per-node values", i, j)
			}
			for node := range r.PerNode {
				if !slices.Contains(g.Nodes, node) {
					add("groups[%d].resources[%d].per_node: %q is not one of the group's nodes %v", i, j, node, g.Nodes)
				}
			}
		}
		for j, m := range g.Monitors {
			if m.AWSAZ == nil {
				add("groups[%d].monitors[%d]: monitor %q: give aws_az", i, j, m.Name)
			}
			for node := range m.PerNode {
				if !slices.Contains(g.Nodes, node) {
					add("groups[%d].monitors[%d].per_node: %q is not one of the group's nodes %v", i, j, node, g.Nodes)
				}
			}
		}
	}
	return errs
}

func (h *HAConfig) clusterConfig() cluster.Config {
	return cluster.Config{Cluster: h.Cluster, Node: h.Node, Nodes: h.Nodes, Interval: h.Interval,
		Timeout: h.Timeout, LeaseTTL: h.LeaseTTL, MaxClockSkew: h.MaxClockSkew, LeaveTimeout: h.LeaveTimeout, WitnessTimeout: h.WitnessTimeout}
}

// haRuntime is the agent's HA part: the group engine and the cluster.
type haRuntime struct {
	engine  *ha.Engine
	cluster *cluster.Cluster
	lease   *haetcd.Lease
	// claimer claims a due time of an HA job once (the lease's Claim).
	claimer claimer
	groups  []ha.Group
	node    string

	mu     sync.Mutex
	events []ha.Event // the latest, for /api/v1/ha
}

const haEventsKept = 100

// buildHA builds the groups' resources on the first engine, the group
// engine and the cluster; nil when the configuration has no ha: section.
func (a *Agent) buildHA() error {
	h := a.cfg.HA
	if h == nil {
		return nil
	}
	key, err := readKey(h.KeyFile)
	if err != nil {
		return fmt.Errorf("ha.key_file: %w", err)
	}
	groups := make([]ha.Group, len(h.Groups))
	for i, gc := range h.Groups {
		g := ha.Group{Name: gc.Name, Nodes: gc.Nodes, AutoFailback: gc.AutoFailback}
		for j, rc := range gc.Resources {
			rc = awsMemberDefaults(rc)
			res, err := a.haResource(gc.Name, rc)
			if err != nil {
				return fmt.Errorf("ha.groups[%d].resources[%d]: resource %q: %w", i, j, rc.Name, err)
			}
			g.Members = append(g.Members, ha.Member{Name: rc.Name, Resource: res, DependsOn: rc.DependsOn, Policy: rc.Policy,
				ActivateTimeout: rc.ActivateTimeout, DeactivateTimeout: rc.DeactivateTimeout, ActivateRetries: rc.ActivateRetries,
				MonitorName: rc.MonitorName})
		}
		for j, mc := range gc.Monitors {
			m, err := a.groupMonitor(mc)
			if err != nil {
				return fmt.Errorf("ha.groups[%d].monitors[%d]: monitor %q: %w", i, j, mc.Name, err)
			}
			g.Monitors = append(g.Monitors, m)
		}
		groups[i] = g
	}
	rt := &haRuntime{groups: groups, node: h.Node}
	log := a.log.With("component", "ha")
	var clu *cluster.Cluster
	rt.engine, err = ha.NewEngine(h.Node, groups, ha.WithLogger(log), ha.WithEvents(a.haEvent),
		ha.WithFailover(func(ctx context.Context, group string, reason error) error {
			return clu.Failover(ctx, group, reason)
		}),
		ha.WithStopService(func(ctx context.Context, reason error) {
			log.Error("ha: final action: leaving the cluster", "err", reason)
			a.stopHA(reason)
		}))
	if err != nil {
		return fmt.Errorf("ha: %w", err)
	}
	opts := []cluster.Option{cluster.WithLogger(log), cluster.WithEvents(a.haEvent)}
	switch w := h.Witness; {
	case w.HTTP != nil:
		hw, err := witness.HTTP(*w.HTTP, witness.WithLogger(log))
		if err != nil {
			return fmt.Errorf("ha.witness.http: %w", err)
		}
		opts = append(opts, cluster.WithWitness(hw))
	case w.Ping != nil:
		pw, err := witness.Ping(*w.Ping, witness.WithLogger(log))
		if err != nil {
			return fmt.Errorf("ha.witness.ping: %w", err)
		}
		opts = append(opts, cluster.WithWitness(pw))
	}
	if e := h.Witness.Etcd; e != nil {
		rt.lease, err = haetcd.New(*e, haetcd.WithLogger(log))
		if err != nil {
			return fmt.Errorf("ha.witness.etcd: %w", err)
		}
		a.closers = append(a.closers, closerFunc(func() { _ = rt.lease.Close() }))
		rt.claimer = rt.lease
		opts = append(opts, cluster.WithLease(rt.lease))
	}
	if d := h.Witness.DynamoDB; d != nil {
		c, err := a.awsClients()
		if err != nil {
			return err
		}
		l, err := haaws.NewLease(c, *d, haaws.WithLogger(log))
		if err != nil {
			return fmt.Errorf("ha.witness.dynamodb: %w", err)
		}
		rt.claimer = l
		opts = append(opts, cluster.WithLease(l))
	}
	if f := h.Fence; f != nil && f.AWS != nil {
		c, err := a.awsClients()
		if err != nil {
			return err
		}
		fence, err := haaws.NewFence(c, *f.AWS, haaws.WithLogger(log))
		if err != nil {
			return fmt.Errorf("ha.fence.aws: %w", err)
		}
		opts = append(opts, cluster.WithFence(fence))
	}
	clu, err = cluster.New(h.clusterConfig(), key, groups, rt.engine, opts...)
	if err != nil {
		return fmt.Errorf("ha: %w", err)
	}
	rt.cluster = clu
	a.ha = rt
	return nil
}

// haResource builds one resource.
func (a *Agent) haResource(group string, rc ResourceConfig) (ha.Resource, error) {
	if r, err := a.awsResource(rc); r != nil || err != nil {
		return r, err
	}
	if rc.Container != nil {
		c := *rc.Container
		if c.Group == "" {
			c.Group = group
		}
		if c.Resource == "" {
			c.Resource = rc.Name
		}
		return hadocker.New(a.client, c, hadocker.WithLogger(a.log))
	}
	s := *rc.Script
	if s.Name == "" {
		s.Name = rc.Name
	}
	if s.Group == "" {
		s.Group = group
	}
	return script.New(s, script.WithLogger(a.log))
}

// readKey reads the HA key file: at least 32 bytes, owner-only.
func readKey(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if m := st.Mode().Perm(); m&0o077 != 0 {
		return nil, fmt.Errorf("%s: mode %04o lets others read the key: chmod 600 %s", path, m, path)
	}
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 32 {
		return nil, fmt.Errorf("%s: %d bytes: want at least 32 ((umask 077; head -c 32 /dev/urandom > %s))", path, len(b), path)
	}
	return b, nil
}

// haEvent logs an HA event, keeps it for the API and notifies it.
func (a *Agent) haEvent(ev ha.Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	attrs := []any{"kind", string(ev.Kind), "group", ev.Group, "member", ev.Member, "node", ev.Node, "epoch", uint64(ev.Epoch)}
	status := haStatus(ev.Kind)
	switch status {
	case monitor.Critical:
		a.log.Error("ha: "+ev.Message, attrs...)
	case monitor.Warning:
		a.log.Warn("ha: "+ev.Message, attrs...)
	default:
		a.log.Info("ha: "+ev.Message, attrs...)
	}
	if rt := a.ha; rt != nil {
		rt.mu.Lock()
		rt.events = append(rt.events, ev)
		if len(rt.events) > haEventsKept {
			rt.events = rt.events[len(rt.events)-haEventsKept:]
		}
		rt.mu.Unlock()
	}
	// Notifiers get every event as an evaluation of the "ha" check, its
	// target the group (or the node).
	t := ha.NodeTarget(ev.Node)
	if ev.Group != "" {
		t = inventory.Target{Kind: inventory.KindNode, ID: ev.Group, Name: ev.Group, Labels: map[string]string{"node": ev.Node}}
	}
	e := monitor.Evaluation{Check: "ha", Target: t, Status: status, Observed: status, Message: ev.Message,
		Result: monitor.Result{Time: ev.Time}}
	go func() {
		if err := a.fan.Write(context.Background(), []monitor.Evaluation{e}); err != nil {
			a.log.Warn("ha notification failed", "err", err)
		}
	}()
}

// stopBudget is how long a stop may take: the agent's own budget, plus
// the cluster's leave on an HA node.
func (a *Agent) stopBudget() time.Duration {
	if a.cfg.HA == nil {
		return ShutdownTimeout
	}
	leave := a.cfg.HA.LeaveTimeout
	if leave == 0 {
		leave = cluster.DefaultLeaveTimeout
	}
	return ShutdownTimeout + leave
}

// haStatus is how serious an event is.
func haStatus(k ha.EventKind) monitor.Status {
	switch k {
	case ha.EventActivationFailed, ha.EventDeactivationFailed, ha.EventMonitorError, ha.EventIsolated, ha.EventLeaseLost, ha.EventFinalAction, ha.EventFenceFailed:
		return monitor.Critical
	case ha.EventMonitorWarn, ha.EventNodeDown, ha.EventFailover, ha.EventRestart, ha.EventFenced:
		return monitor.Warning
	}
	return monitor.OK
}

// stopHA is the final action "stop the cluster service": the agent
// leaves the cluster (its groups are deactivated by the cluster's leave)
// but keeps running its checks.
func (a *Agent) stopHA(reason error) {
	a.haStopOnce.Do(func() {
		if a.haCancel != nil {
			a.haCancel(fmt.Errorf("ha final action: %w", reason))
		}
	})
}

// runHA runs the engine and the cluster until ctx ends or the final
// action stops them.
func (a *Agent) runHA(ctx context.Context) error {
	a.ha.cleanUp(ctx, a.log)
	hctx, cancel := context.WithCancelCause(ctx)
	a.haCancel = cancel
	defer cancel(nil)
	errc := make(chan error, 2)
	go func() { errc <- a.ha.engine.Run(hctx) }()
	go func() { errc <- a.ha.cluster.Run(hctx) }()
	var errs []error
	for range 2 {
		if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
		cancel(nil)
	}
	return errors.Join(errs...)
}

// online reports whether the group is online on this node's engine.
func (rt *haRuntime) online(group string) bool {
	for _, g := range rt.engine.Status() {
		if g.Group == group {
			return g.State == ha.Online || g.State == ha.Suspended // suspend pauses monitors, not the service
		}
	}
	return false
}

// cleanUp deactivates every resource of every group on this node before
// it joins the cluster: an agent that was killed (SIGKILL, a crash) left
// its resources running, and its peer has taken them over since. Every
// Deactivate is idempotent; failures are logged, and the cluster's
// decisions follow as usual.
func (rt *haRuntime) cleanUp(ctx context.Context, log *slog.Logger) {
	node := ha.NodeTarget(rt.node)
	for _, g := range rt.groups {
		order, err := g.Order()
		if err != nil {
			continue
		}
		byName := map[string]ha.Member{}
		for _, m := range g.Members {
			byName[m.Name] = m
		}
		for i := len(order) - 1; i >= 0; i-- {
			m := byName[order[i]]
			d := m.DeactivateTimeout
			if d == 0 {
				d = ha.DefaultDeactivateTimeout
			}
			dctx, cancel := context.WithTimeout(ctx, d)
			err := m.Resource.Deactivate(dctx, node)
			cancel()
			if err != nil {
				log.Warn("ha: at start, deactivating what an earlier run may have left", "group", g.Name, "member", m.Name, "err", err)
			}
		}
	}
}

// haReport is GET /api/v1/ha.
type haReport struct {
	Cluster cluster.Status   `json:"cluster"`
	Groups  []ha.GroupStatus `json:"groups"`
	Events  []haEventJSON    `json:"events"`
}

type haEventJSON struct {
	ha.Event
	Error string `json:"error,omitempty"`
}

func (a *Agent) haReport() haReport {
	rt := a.ha
	rep := haReport{Cluster: rt.cluster.Status(), Groups: rt.engine.Status()}
	rt.mu.Lock()
	for _, ev := range rt.events {
		j := haEventJSON{Event: ev}
		if ev.Err != nil {
			j.Error = ev.Err.Error()
		}
		rep.Events = append(rep.Events, j)
	}
	rt.mu.Unlock()
	return rep
}

// haGroupAction runs move, suspend or resume on a group.
func (a *Agent) haGroupAction(ctx context.Context, group, action, node string) error {
	rt := a.ha
	switch action {
	case "move":
		if node == "" {
			return fmt.Errorf("%w: move needs the node to move the group to", errBadRequest)
		}
		for _, g := range rt.groups {
			if g.Name == group && !slices.Contains(g.Nodes, node) {
				return fmt.Errorf("%w: group %s cannot run on %s: its nodes are %s", errBadRequest, group, node, strings.Join(g.Nodes, ", "))
			}
		}
		return rt.cluster.Move(ctx, group, node)
	case "suspend":
		return rt.engine.Suspend(group)
	case "resume":
		return rt.engine.Resume(group)
	}
	return fmt.Errorf("%w: %q: want move, suspend or resume", errBadRequest, action)
}

var errBadRequest = errors.New("bad request")

// haGate is the job scheduler's Gate: the networks of a group run on the
// node that holds it, checked (with its epoch) before every run; with an
// etcd lease each due time is claimed in etcd under the holder's epoch, so
// it runs once across a failover, and a deposed holder's claim fails.
type haGate struct{ a *Agent }

// claimer is a lease that records a due time's run once per group
// (ha/etcd and ha/aws leases): true for the first claim of item under
// key at epoch, false when it was claimed already.
type claimer interface {
	Claim(ctx context.Context, key string, epoch ha.Epoch, item string, keep time.Duration) (bool, error)
}

// claimKeep is how long a due time's claim is kept in etcd.
const claimKeep = 7 * 24 * time.Hour

func (g haGate) Admit(ctx context.Context, group, network string, due time.Time) (bool, error) {
	rt := g.a.ha
	epoch, ok := rt.cluster.Holds(group)
	if !ok || !rt.online(group) {
		return false, nil // not held here, or held but stopped here (final action stop_group)
	}
	if rt.claimer == nil || due.IsZero() {
		return true, nil
	}
	return rt.claimer.Claim(ctx, g.a.cfg.HA.Cluster+"/"+group, epoch, scheduler.ScheduledRunID(network, due), claimKeep)
}
