//go:build linux

package hatest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/aws/awstest"
)

// HA on AWS with real agents. The AWS endpoint (ha/aws/awstest: EC2,
// Route 53, DynamoDB and its resolver) lives in the switch's namespace on
// the witness network, 10.71.0.254, beside the HTTP witness: cutting a
// node's witness link cuts its AWS access too, as an instance that loses
// its NAT gateway or VPC endpoint would. Each instance's IMDSv2 listener
// is in its node's own namespace on 127.0.0.1, reachable whatever is cut,
// as the link-local 169.254.169.254 is on EC2. The agents know nothing of
// AWS but the endpoint's URL and their IMDS's: their credentials come from
// the instance role through IMDSv2, their region, ENI and private address
// are discovered there, and their shared config and credentials files do
// not exist. The group's hold is a DynamoDB lease (lease TTL = heartbeat
// timeout) beside CLUSTERPRO's HTTP witness.
//
// Account layout (awstest's Guide, CLUSTERPRO's AWS guide figure 5.1):
// node k is instance i-node<k> with ENI eni-node<k> and private address
// 10.0.110.1k (odd k) or 10.0.120.1k (even k); the VIP 10.1.0.20 is routed
// by three route tables; one Elastic IP; the record srv.hz1.local. in a
// private hosted zone; the lease table minato-ha, the group's item keyed
// "hx/web".

// awsOpts describes a test cluster on the AWS endpoint.
type awsOpts struct {
	nodes int
	// kinds are the AWS resources of the group web, in order: "vip"
	// (awsvip1), "eip" (awseip1), "dns" (awsdns1).
	kinds []string
	// script keeps the harness's script resource in the group (its
	// markers and journal), depending on the AWS resources; without it the
	// group holds the AWS resources alone.
	script bool
	// interval and timeout are the heartbeat's (200ms and 1s by
	// default); the lease's TTL is timeout.
	interval, timeout time.Duration
	// witnessTimeout bounds an HTTP witness probe (500ms by default).
	witnessTimeout time.Duration
	// latency is every AWS call's (10-30ms by default).
	latency [2]time.Duration
	// maxClockSkew is the DynamoDB lease's (200ms by default; 0 keeps the
	// lease's own default with skewDefault).
	maxClockSkew time.Duration
	skewDefault  bool
	// callTimeout bounds one AWS call (2s by default; 0 with
	// callDefault keeps the SDK configuration's default).
	callTimeout time.Duration
	callDefault bool
	// policy is the AWS resources' monitor policy ({interval: 200ms}).
	policy string
}

// awsCluster is a running test cluster on the AWS endpoint.
type awsCluster struct {
	h   *harness
	srv *awstest.Server
	g   awstest.Guide
	dns string // the endpoint's resolver, host:port (UDP)
	key string // the group's lease item
	o   awsOpts
}

// listenPacket opens a packet socket in the switch's namespace.
func (tp *topology) listenPacket(network, addr string) (net.PacketConn, error) {
	var pc net.PacketConn
	err := inNetns(tp.sw, func() error {
		var err error
		pc, err = net.ListenPacket(network, addr)
		return err
	})
	return pc, err
}

// resourceYAML is the YAML list item of the AWS resource of kind.
func (a *awsCluster) resourceYAML(kind string) string {
	switch kind {
	case "vip":
		return fmt.Sprintf("        - name: awsvip1\n          aws_vip: {ip: %s, vpc: %s}\n          policy: %s\n", a.g.VIP, a.g.VPC, a.o.policy)
	case "eip":
		return fmt.Sprintf("        - name: awseip1\n          aws_eip: {allocation_id: %s}\n          policy: %s\n", a.g.AllocationID, a.o.policy)
	case "dns":
		// The monitor's wait to start (90 s by default, longer than Route
		// 53's propagation) is cut: the test endpoint is INSYNC at once.
		p := "{start_wait: 100ms}"
		if inner := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(a.o.policy, "{"), "}")); inner != "" {
			p = "{" + inner + ", start_wait: 100ms}"
		}
		return fmt.Sprintf("        - name: awsdns1\n          aws_dns: {hosted_zone_id: %s, name: %s, resolver: %q, insync_timeout: 5s}\n          policy: %s\n",
			a.g.HostedZoneID, a.g.RecordName, a.dns, p)
	}
	panic("awsResourceYAML: unknown kind " + kind)
}

// memberName is the resource name of kind.
func memberName(kind string) string { return "aws" + kind + "1" }

// newAWSCluster starts the AWS endpoint in a new topology, then the
// agents.
func newAWSCluster(t testing.TB, o awsOpts) *awsCluster {
	t.Helper()
	if o.interval == 0 {
		o.interval = 200 * time.Millisecond
	}
	if o.timeout == 0 {
		o.timeout = time.Second
	}
	if o.witnessTimeout == 0 {
		o.witnessTimeout = 500 * time.Millisecond
	}
	if o.latency == [2]time.Duration{} {
		o.latency = [2]time.Duration{10 * time.Millisecond, 30 * time.Millisecond}
	}
	if o.maxClockSkew == 0 && !o.skewDefault {
		o.maxClockSkew = 200 * time.Millisecond
	}
	if o.callTimeout == 0 && !o.callDefault {
		o.callTimeout = 2 * time.Second
	}
	if o.policy == "" {
		o.policy = "{interval: 200ms}"
	}
	tp := newTopology(t, o.nodes)
	// The API listens in the switch's namespace on the witness network;
	// each instance's IMDS, as on EC2 where it is link-local and answered
	// by the host, in its node's own namespace on 127.0.0.1, so that no
	// partition cuts it (an agent restarted while its AWS access is cut
	// still learns its region and credentials). listenIn names the
	// namespace of the next IMDS listener.
	var mu sync.Mutex
	listenIn := ""
	listen := func(network, addr string) (net.Listener, error) {
		mu.Lock()
		ns := listenIn
		mu.Unlock()
		if ns == "" {
			return tp.listen(network, addr)
		}
		var ln net.Listener
		err := inNetns(ns, func() error {
			var err error
			ln, err = net.Listen(network, "127.0.0.1:0")
			return err
		})
		return ln, err
	}
	srv := awstest.New(awstest.Options{Host: witNet + switchHost, Listen: listen, ListenPacket: tp.listenPacket,
		Latency: o.latency, Seed: 1})
	t.Cleanup(srv.Close)
	a := &awsCluster{srv: srv, g: srv.Guide(o.nodes), dns: srv.DNS(), key: "hx/" + group, o: o}
	imds := map[string]string{}
	for k := 1; k <= o.nodes; k++ {
		mu.Lock()
		listenIn = tp.nodes[k-1]
		mu.Unlock()
		imds["node"+strconv.Itoa(k)] = srv.IMDS(a.g.Instances[k-1])
	}
	mu.Lock()
	listenIn = ""
	mu.Unlock()
	var aws strings.Builder
	if o.callTimeout > 0 {
		fmt.Fprintf(&aws, ", call_timeout: %s", o.callTimeout)
	}
	var skew string
	if o.maxClockSkew > 0 {
		skew = fmt.Sprintf(", max_clock_skew: %s", o.maxClockSkew)
	}
	var res strings.Builder
	var names []string
	for _, k := range o.kinds {
		res.WriteString(a.resourceYAML(k))
		names = append(names, memberName(k))
	}
	none := filepath.Join(t.TempDir(), "none")
	co := clusterOpts{nodes: o.nodes, interval: o.interval, timeout: o.timeout, httpWitness: true, witnessTimeout: o.witnessTimeout, tp: tp,
		// Nothing of the machine's AWS setup: the instance role it is.
		env: []string{"AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none},
		haExtra: func(node string) string {
			return fmt.Sprintf("    dynamodb: {table: %s%s}\n  lease_ttl: %s\n  aws: {endpoint: %q, imds_endpoint: %q%s}\n",
				a.g.LeaseTable, skew, o.timeout, srv.URL(), imds[node], aws.String())
		}}
	if o.script {
		// The service starts once the addresses lead to the node and stops
		// before they are given up, as CLUSTERPRO's default dependency of
		// an exec resource on the AWS resources has it.
		co.groups = func(node, script string) string {
			script = strings.Replace(script, "        - name: svc\n",
				"        - name: svc\n          depends_on: ["+strings.Join(names, ", ")+"]\n", 1)
			var nodes []string
			for k := 1; k <= o.nodes; k++ {
				nodes = append(nodes, "node"+strconv.Itoa(k))
			}
			return fmt.Sprintf("    - name: %s\n      nodes: [%s]\n      resources:\n%s%s", group, strings.Join(nodes, ", "), res.String(), script)
		}
	} else {
		co.resources = func(string) string { return res.String() }
	}
	a.h = newCluster(t, co)
	return a
}

// nodeK is node's index (node2 → 1).
func nodeK(node string) int {
	k, err := strconv.Atoi(strings.TrimPrefix(node, "node"))
	if err != nil {
		return -1
	}
	return k - 1
}

// nodeOf names the node whose ENI or private address v is, or "".
func (a *awsCluster) nodeOf(v string) string {
	for k := range a.g.ENIs {
		if v == a.g.ENIs[k] || v == a.g.PrivateIPs[k] {
			return "node" + strconv.Itoa(k+1)
		}
	}
	return ""
}

// targetNames names, in order, what the endpoint's state can point to a
// node: each route table's VIP route, the Elastic IP's association and
// the record, for the kinds of the group.
func (a *awsCluster) targetNames() []string {
	var out []string
	for _, k := range a.o.kinds {
		switch k {
		case "vip":
			for _, rt := range a.g.RouteTables {
				out = append(out, "route "+rt)
			}
		case "eip":
			out = append(out, "eip "+a.g.AllocationID)
		case "dns":
			out = append(out, "record "+a.g.RecordName)
		}
	}
	return out
}

// targets reads, now, the node each target of targetNames points to:
// "" for none, "?" for something that is no node's.
func (a *awsCluster) targets() []string {
	var out []string
	who := func(v string) string {
		if v == "" {
			return ""
		}
		if n := a.nodeOf(v); n != "" {
			return n
		}
		return "?"
	}
	for _, k := range a.o.kinds {
		switch k {
		case "vip":
			for _, rt := range a.g.RouteTables {
				out = append(out, who(a.srv.RouteTarget(rt, a.g.VIP+"/32")))
			}
		case "eip":
			out = append(out, who(a.srv.Association(a.g.AllocationID)))
		case "dns":
			v, _, ok := a.srv.Record(a.g.HostedZoneID, a.g.RecordName, "A")
			switch {
			case !ok || len(v) == 0:
				out = append(out, "")
			case len(v) > 1:
				out = append(out, "?")
			default:
				out = append(out, who(v[0]))
			}
		}
	}
	return out
}

// pointsTo reports whether every target points to node.
func (a *awsCluster) pointsTo(node string) bool {
	for _, n := range a.targets() {
		if n != node {
			return false
		}
	}
	return true
}

// waitPoints waits until every target points to node (and, with a DNS
// record, the resolver answers the node's address).
func (a *awsCluster) waitPoints(d time.Duration, node string) {
	a.h.t.Helper()
	a.h.eventually(d, "the endpoint's routes, association and record lead to "+node, func() bool {
		if !a.pointsTo(node) {
			return false
		}
		if !slices.Contains(a.o.kinds, "dns") {
			return true
		}
		ips, err := a.resolve()
		return err == nil && len(ips) == 1 && ips[0] == a.g.PrivateIPs[nodeK(node)]
	})
}

// lease is the group's lease item: holder, epoch and the version of its
// last write.
func (a *awsCluster) lease() (holder string, epoch ha.Epoch, version string) {
	it := a.srv.Item(a.g.LeaseTable, a.key)
	e, _ := strconv.ParseUint(it["epoch"], 10, 64)
	return it["holder"], ha.Epoch(e), it["version"]
}

// resolve asks the endpoint's resolver for the record's A addresses, as
// a client on the witness network would.
func (a *awsCluster) resolve() ([]string, error) {
	name, err := dnsmessage.NewName(a.g.RecordName)
	if err != nil {
		return nil, err
	}
	id := uint16(rand.Uint32())
	q, err := (&dnsmessage.Message{Header: dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}}}).Pack()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := a.h.tp.dial(ctx, "udp", a.dns)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write(q); err != nil {
		return nil, err
	}
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		return nil, err
	}
	var m dnsmessage.Message
	if err := m.Unpack(buf[:n]); err != nil {
		return nil, err
	}
	if m.ID != id {
		return nil, fmt.Errorf("DNS answer for query %d, want %d", m.ID, id)
	}
	if m.RCode != dnsmessage.RCodeSuccess {
		return nil, fmt.Errorf("DNS: %s", m.RCode)
	}
	var out []string
	for _, r := range m.Answers {
		if ar, ok := r.Body.(*dnsmessage.AResource); ok {
			out = append(out, net.IP(ar.A[:]).String())
		}
	}
	return out, nil
}

// incarnation is node n's current incarnation (0 before its first start).
func (n *agentNode) incarnation() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.incs
}

// AWS split brain. Two agents cannot both "run" a route table entry, an
// Elastic IP association or a DNS record: each points to one node at a
// time. What goes wrong instead is a node re-pointing one of them while
// it does not hold the group, so that clients are led to a node that is
// not (or no longer) the holder; a thawed holder whose monitor "repairs"
// the route the new holder just took is the classic case. The rule the
// AWS checker applies, sampling the endpoint every 20 ms:
//
//   - the authority on who holds the group is the DynamoDB lease item:
//     its holder, and the incarnation of that node that wrote the item
//     last (acquiring or renewing it: the incarnation running when the
//     item's version last changed). The agents' API view is a report of
//     it, sampled by the other checker, which asserts no two holders;
//   - a target may point to a node that is no longer the holder: the old
//     holder's routes stay until the new holder re-points them (after a
//     kill, a freeze or a partition nothing else can move them), and that
//     lag is failover time, not split brain;
//   - but every change of a target to node X must be X's doing while X
//     holds the group: at the sample before the change or at the one that
//     sees it (the write happened in between), the lease item names X and
//     was last written by X's current incarnation. A change to X when the
//     item names another node (a thawed or partitioned node acting on its
//     stale hold), nobody (a hold released), or X's killed incarnation (a
//     restarted agent acting on the hold of its previous run) is AWS split
//     brain.
//
// A change to no node (a route deleted, the Elastic IP disassociated, the
// record deleted) is not judged: the old holder's deactivation does that
// too, and it takes no traffic to a wrong node. Within one 20 ms sample
// interval the rule cannot tell which side of a hand-over a write fell
// on, and a target moved and moved back between two samples is not seen.

// awsSample is one reading of the endpoint.
type awsSample struct {
	at      time.Time
	holder  string // the lease item's
	epoch   ha.Epoch
	version string
	incs    map[string]int // each node's current incarnation
	targets []string       // the node each target points to ("" none)
}

// awsIncident is one change of a target to a node that did not hold the
// group.
type awsIncident struct {
	at       time.Time
	target   string
	node     string // where it points now
	holder   string // the lease's holder then
	epoch    ha.Epoch
	holderOK bool // the item names node, but another incarnation wrote it
}

func (i awsIncident) String() string {
	why := fmt.Sprintf("the lease names %q at epoch %d", i.holder, i.epoch)
	if i.holderOK {
		why = fmt.Sprintf("the lease at epoch %d was written by another incarnation of %s", i.epoch, i.node)
	}
	return fmt.Sprintf("%s: %s re-pointed to %s while %s", i.at.Format("15:04:05.000"), i.target, i.node, why)
}

// awsSplits applies the rule above to samples in order, targets named by
// names.
func awsSplits(samples []awsSample, names []string) []awsIncident {
	type hold struct {
		holder string
		inc    int
	}
	holds := make([]hold, len(samples))
	var cur hold
	for i, s := range samples {
		if i == 0 || s.version != samples[i-1].version || s.holder != samples[i-1].holder {
			cur = hold{s.holder, s.incs[s.holder]}
		}
		holds[i] = cur
	}
	var out []awsIncident
	for i := 1; i < len(samples); i++ {
		s, p := samples[i], samples[i-1]
		for r, x := range s.targets {
			if x == "" || r >= len(p.targets) || x == p.targets[r] {
				continue
			}
			owns := func(j int) bool { return holds[j].holder == x && holds[j].inc == s.incs[x] }
			if owns(i-1) || owns(i) {
				continue
			}
			name := strconv.Itoa(r)
			if r < len(names) {
				name = names[r]
			}
			out = append(out, awsIncident{at: s.at, target: name, node: x, holder: s.holder, epoch: s.epoch,
				holderOK: s.holder == x || p.holder == x})
		}
	}
	return out
}

// awsChecker samples the endpoint's targets and the lease item every
// 20 ms until stopped.
type awsChecker struct {
	a      *awsCluster
	names  []string
	every  time.Duration
	stopCh chan struct{}
	done   chan struct{}

	mu      sync.Mutex
	samples []awsSample
}

// watch starts an AWS checker; it stops in t.Cleanup.
func (a *awsCluster) watch() *awsChecker {
	c := &awsChecker{a: a, names: a.targetNames(), every: 20 * time.Millisecond, stopCh: make(chan struct{}), done: make(chan struct{})}
	c.sample()
	go func() {
		defer close(c.done)
		tk := time.NewTicker(c.every)
		defer tk.Stop()
		for {
			select {
			case <-c.stopCh:
				return
			case <-tk.C:
			}
			c.sample()
		}
	}()
	a.h.t.Cleanup(c.stop)
	return c
}

func (c *awsChecker) stop() {
	select {
	case <-c.stopCh:
	default:
		close(c.stopCh)
	}
	<-c.done
}

func (c *awsChecker) sample() {
	s := awsSample{incs: map[string]int{}}
	// The incarnations first: a node started after them is not yet seen
	// writing.
	for _, n := range c.a.h.nodes {
		s.incs[n.name] = n.incarnation()
	}
	s.holder, s.epoch, s.version = c.a.lease()
	s.targets = c.a.targets()
	s.at = time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	// Only changes are kept (the first and last samples always).
	if n := len(c.samples); n >= 2 {
		last, prev := c.samples[n-1], c.samples[n-2]
		if sameSample(last, prev) && sameSample(last, s) {
			c.samples[n-1] = s
			return
		}
	}
	c.samples = append(c.samples, s)
}

// sameSample reports whether two samples read the same state.
func sameSample(x, y awsSample) bool {
	if x.holder != y.holder || x.epoch != y.epoch || x.version != y.version || !slices.Equal(x.targets, y.targets) {
		return false
	}
	for k, v := range x.incs {
		if y.incs[k] != v {
			return false
		}
	}
	return true
}

// snapshot returns the samples so far.
func (c *awsChecker) snapshot() []awsSample {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.samples)
}

// incidents applies the rule to the samples so far.
func (c *awsChecker) incidents() []awsIncident { return awsSplits(c.snapshot(), c.names) }

// since returns the incidents at or after t.
func (c *awsChecker) since(t time.Time) []awsIncident {
	var out []awsIncident
	for _, i := range c.incidents() {
		if !i.at.Before(t) {
			out = append(out, i)
		}
	}
	return out
}

// allOn returns the first sample time at or after t when every target
// pointed to node, waiting up to 2 s for the sampler to see it; it fails
// the test when it does not.
func (c *awsChecker) allOn(node string, t time.Time) time.Time {
	c.a.h.t.Helper()
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(c.every) {
		if at := c.firstAllOn(node, t); !at.IsZero() {
			return at
		}
		if time.Now().After(deadline) {
			c.a.h.t.Fatalf("the AWS checker never saw every target on %s after %s", node, t.Format("15:04:05.000"))
		}
	}
}

// firstAllOn is allOn without waiting (zero if no sample).
func (c *awsChecker) firstAllOn(node string, t time.Time) time.Time {
	for _, s := range c.snapshot() {
		if s.at.Before(t) {
			continue
		}
		all := len(s.targets) > 0
		for _, x := range s.targets {
			all = all && x == node
		}
		if all {
			return s.at
		}
	}
	return time.Time{}
}

// pointedTo lists the samples at or after t in which a target pointed to
// node.
func (c *awsChecker) pointedTo(node string, t time.Time) []string {
	var out []string
	for _, s := range c.snapshot() {
		if s.at.Before(t) {
			continue
		}
		for r, x := range s.targets {
			if x == node {
				out = append(out, s.at.Format("15:04:05.000")+" "+c.names[r])
			}
		}
	}
	return out
}

// changes describes every change of the lease's holder and of a target,
// for logs.
func (c *awsChecker) changes() string {
	ss := c.snapshot()
	var b strings.Builder
	for i, s := range ss {
		if i == 0 || s.holder != ss[i-1].holder || s.epoch != ss[i-1].epoch {
			fmt.Fprintf(&b, "\n  %s lease %q epoch %d", s.at.Format("15:04:05.000"), s.holder, s.epoch)
		}
		for r, x := range s.targets {
			if i == 0 || r >= len(ss[i-1].targets) || x != ss[i-1].targets[r] {
				fmt.Fprintf(&b, "\n  %s %s -> %q", s.at.Format("15:04:05.000"), c.names[r], x)
			}
		}
	}
	return b.String()
}

// assertNone fails t when a target was re-pointed to a node that did
// not hold the group.
func (c *awsChecker) assertNone(t testing.TB) {
	t.Helper()
	is := c.incidents()
	if len(is) == 0 {
		t.Logf("AWS checker: %d samples, no re-pointing to a node that did not hold the group", len(c.snapshot()))
		return
	}
	var lines []string
	for _, i := range is {
		lines = append(lines, i.String())
	}
	t.Errorf("AWS split brain: %s\nlease and targets:%s", strings.Join(lines, "\n"), c.changes())
}

// other is the other node of a two-node cluster.
func other(node string) string {
	return map[string]string{"node1": "node2", "node2": "node1"}[node]
}

// credentialsFromIMDS asserts that the agents asked their instance
// metadata (credentials, region, ENI).
func (a *awsCluster) credentialsFromIMDS(t testing.TB) {
	t.Helper()
	if n := a.srv.Calls("IMDS"); n == 0 {
		t.Errorf("no agent asked its instance metadata service: their credentials and region must come from it")
	}
}

// TestAWSKillActive: the group web (the virtual IP awsvip1 and the
// script resource) on two agents; the active node's agent is SIGKILLed:
// the standby takes the group over at a newer epoch, the lease item
// names it, and every VIP route (three tables) leads to its ENI, read
// from the endpoint. The killed node, started again, does not take it
// back, and no route moves back to it.
func TestAWSKillActive(t *testing.T) {
	a := newAWSCluster(t, awsOpts{nodes: 2, kinds: []string{"vip"}, script: true})
	h := a.h
	c, ac := h.watch(), a.watch()
	n1, n2 := h.node("node1"), h.node("node2")
	if got := h.waitSettled(15 * time.Second); got != "node1" {
		t.Fatalf("node1, first in priority, should hold the group; %s does", got)
	}
	a.waitPoints(5*time.Second, "node1")
	a.credentialsFromIMDS(t)
	_, e1 := h.holderEpoch(n2)

	t0 := time.Now()
	h.kill(n1)
	if got := h.waitSettled(10 * time.Second); got != "node2" {
		t.Fatalf("after node1's SIGKILL, %s holds the group", got)
	}
	a.waitPoints(5*time.Second, "node2")
	routed := ac.allOn("node2", t0).Sub(t0)
	_, e2 := h.holderEpoch(n2)
	if e2 <= e1 {
		t.Errorf("node2 took over at epoch %d, not newer than node1's %d", e2, e1)
	}
	if holder, epoch, _ := a.lease(); holder != "node2" || epoch != e2 {
		t.Errorf("the lease item names %q at epoch %d, want node2 at %d", holder, epoch, e2)
	}
	t.Logf("every route on node2's ENI %s after the SIGKILL (epoch %d -> %d)", routed.Round(time.Millisecond), e1, e2)

	t1 := time.Now()
	h.start(n1)
	time.Sleep(3 * h.opts.timeout)
	if got := h.waitSettled(5 * time.Second); got != "node2" {
		t.Errorf("node1 came back and %s holds the group (failback is off)", got)
	}
	if !a.pointsTo("node2") {
		t.Errorf("node1 came back: the routes lead to %v, want node2's ENI", a.targets())
	}
	if p := ac.pointedTo("node1", ac.allOn("node2", t0)); len(p) > 0 {
		t.Errorf("a route led to node1 again after node2 took them: %v", p)
	}
	for _, l := range h.journalOf("node1", t1) {
		if l.action != "stop" {
			t.Errorf("node1, back, did more than clean up: %s under epoch %d", l.action, l.epoch)
		}
	}
	h.checkJournal(t)
	c.assertNoSplitBrain(t)
	ac.assertNone(t)

	// The checker is not blind: another actor re-pointing a route to
	// node1, which does not hold the group, is AWS split brain to it, and
	// node2's monitor re-points the route (code 8 and a restart).
	t2 := time.Now()
	a.srv.SetRoute(a.g.RouteTables[1], a.g.VIP+"/32", a.g.ENIs[0])
	a.waitPoints(5*time.Second, "node2")
	time.Sleep(2 * ac.every)
	is := ac.since(t2)
	if len(is) != 1 || is[0].node != "node1" || is[0].target != "route "+a.g.RouteTables[1] || is[0].holder != "node2" {
		t.Errorf("a route re-pointed to node1 by another actor: the AWS checker saw %v, want that one change", is)
	}
}

// TestAWSFreezeActive: the active node's agent is frozen (SIGSTOP) past
// the timeout, the standby takes the group and re-points the routes; then
// the frozen agent is thawed. Its monitor finds the routes on another
// ENI and its hold expired: it must give the group up and never re-point
// a route (sampled every 20 ms through the whole test), nor act under its
// stale epoch.
func TestAWSFreezeActive(t *testing.T) {
	a := newAWSCluster(t, awsOpts{nodes: 2, kinds: []string{"vip"}, script: true})
	h := a.h
	c, ac := h.watch(), a.watch()
	active := h.waitSettled(15 * time.Second)
	standby := other(active)
	a.waitPoints(5*time.Second, active)
	n1, n2 := h.node(active), h.node(standby)
	_, e1 := h.holderEpoch(n1)

	t0 := time.Now()
	h.freeze(n1)
	if got := h.waitSettled(10 * time.Second); got != standby {
		t.Fatalf("%s frozen: %s holds the group", active, got)
	}
	a.waitPoints(5*time.Second, standby)
	took := ac.allOn(standby, t0)
	_, e2 := h.holderEpoch(n2)
	if e2 <= e1 {
		t.Fatalf("%s took over at epoch %d, not newer than %s's %d", standby, e2, active, e1)
	}
	time.Sleep(h.opts.timeout) // frozen well past the timeout

	replaces := a.srv.Calls("ReplaceRoute")
	t1 := time.Now()
	h.thaw(n1)
	h.eventually(c.grace, "the thawed "+active+" gives the group up", func() bool {
		r, err := h.ask(n1)
		if err != nil {
			return false
		}
		cg, eg := r.group(group)
		_, marked := h.marks()[active]
		return !marked && eg.State != ha.Online && cg.Holder == standby && cg.Epoch == e2
	})
	// The thawed node's monitor and its recovery had every chance to act.
	time.Sleep(3 * h.opts.timeout)
	if got := h.waitSettled(5 * time.Second); got != standby {
		t.Errorf("after the thaw %s holds the group", got)
	}
	if !a.pointsTo(standby) {
		t.Errorf("after the thaw the routes lead to %v, want %s's ENI", a.targets(), standby)
	}
	if p := ac.pointedTo(active, took); len(p) > 0 {
		t.Errorf("a route led back to the frozen %s after %s took them at %s: %v", active, standby, took.Format("15:04:05.000"), p)
	}
	if n := a.srv.Calls("ReplaceRoute") - replaces; n > 0 {
		t.Errorf("%d ReplaceRoute calls after the thaw: nobody should re-point a route", n)
	}
	for _, l := range h.journalOf(active, t1) {
		if l.action != "stop" {
			t.Errorf("the thawed %s acted: %s under epoch %d", active, l.action, l.epoch)
		}
	}
	r, _ := h.ask(n1)
	for _, ev := range r.Events {
		if ev.Time.After(t1) && (ev.Kind == ha.EventActivated || ev.Kind == ha.EventRestart) {
			t.Errorf("the thawed %s acted: %+v", active, ev)
		}
	}
	h.checkJournal(t)
	c.assertNoSplitBrain(t)
	ac.assertNone(t)
	t.Logf("%s took every route %s after %s's SIGSTOP (epoch %d -> %d)", standby, took.Sub(t0).Round(time.Millisecond), active, e1, e2)
}

// TestAWSCutHeartbeat: the active node loses its heartbeat and its
// witness links at once (the witness network carries its AWS access
// too, as a lost NAT gateway would): it is isolated and fences itself,
// its lease renewals fail, and the standby, which still reaches the
// witness and AWS, takes the group and the routes once the hold
// expired. Healed, the group stays where it went.
func TestAWSCutHeartbeat(t *testing.T) {
	a := newAWSCluster(t, awsOpts{nodes: 2, kinds: []string{"vip"}, script: true})
	h := a.h
	c, ac := h.watch(), a.watch()
	if got := h.waitSettled(15 * time.Second); got != "node1" {
		t.Fatalf("%s holds the group, want node1", got)
	}
	a.waitPoints(5*time.Second, "node1")
	t0 := time.Now()
	for _, l := range []link{linkWit, linkHB} {
		if err := h.tp.setLink(1, l, false); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually(10*time.Second, "node2 alone has the group online and node1 has fenced itself", func() bool {
		v := h.view()
		_, marked := h.marks()["node1"]
		return len(v.online) == 1 && v.online[0] == "node2" && !marked
	})
	a.waitPoints(5*time.Second, "node2")
	routed := ac.allOn("node2", t0)
	// Its lease renewals fail first (the hold ends within the TTL), then
	// the heartbeats' silence and the unreachable witness say isolated.
	h.eventually(5*time.Second, "node1, cut from its peer and the witness, reports isolated", func() bool {
		r, err := h.ask(h.node("node1"))
		return err == nil && len(events(r, ha.EventIsolated, t0)) > 0
	})
	if _, ok := h.marks()["node1"]; ok {
		t.Errorf("node1 isolated still runs the service")
	}
	healed := time.Now()
	for _, l := range []link{linkWit, linkHB} {
		_ = h.tp.setLink(1, l, true)
	}
	time.Sleep(2 * h.opts.timeout)
	if got := h.waitSettled(10 * time.Second); got != "node2" {
		t.Errorf("healed: %s holds the group, want node2", got)
	}
	if !a.pointsTo("node2") {
		t.Errorf("healed: the routes lead to %v, want node2's ENI", a.targets())
	}
	if p := ac.pointedTo("node1", routed); len(p) > 0 {
		t.Errorf("a route led back to node1 after node2 took them: %v", p)
	}
	h.checkJournal(t)
	res := c.result()
	for _, o := range res.journal {
		// The isolated node stops the service as its hold ends; the
		// standby starts it only after the hold expired: no overlap.
		t.Errorf("the service ran on both nodes: %s", o)
	}
	if len(res.api)+len(res.markers) > 0 {
		t.Errorf("split brain: %s", res)
	}
	ac.assertNone(t)
	t.Logf("node2 took every route %s after the cut; healed after %s", routed.Sub(t0).Round(time.Millisecond), healed.Sub(t0).Round(time.Millisecond))
}

// TestAWSEIPAndDNS: the group web holding the Elastic IP awseip1, the
// Route 53 record awsdns1 and the script resource goes through a kill,
// a freeze and a partition of its holder, one after the other on one
// cluster: each time the association and the record (and the resolver's
// answer) follow the new holder, the old one never points them back, and
// no two nodes run the service.
func TestAWSEIPAndDNS(t *testing.T) {
	a := newAWSCluster(t, awsOpts{nodes: 2, kinds: []string{"eip", "dns"}, script: true})
	h := a.h
	c, ac := h.watch(), a.watch()
	holder := h.waitSettled(15 * time.Second)
	a.waitPoints(5*time.Second, holder)
	a.credentialsFromIMDS(t)

	// Kill the holder; the killed node comes back as the standby.
	t0 := time.Now()
	killed := h.node(holder)
	h.kill(killed)
	holder = other(holder)
	h.waitHolder(10*time.Second, holder)
	a.waitPoints(5*time.Second, holder)
	took := ac.allOn(holder, t0)
	t.Logf("kill: %s has the Elastic IP and the record %s after the SIGKILL", holder, took.Sub(t0).Round(time.Millisecond))
	h.start(killed)
	time.Sleep(3 * h.opts.timeout)
	h.waitHolder(5*time.Second, holder)
	if p := ac.pointedTo(killed.name, took); len(p) > 0 {
		t.Errorf("kill: the address or the record led back to %s: %v", killed.name, p)
	}

	// Freeze the holder past the timeout, then thaw it.
	t1 := time.Now()
	frozen := h.node(holder)
	h.freeze(frozen)
	holder = other(holder)
	h.waitHolder(10*time.Second, holder)
	a.waitPoints(5*time.Second, holder)
	took = ac.allOn(holder, t1)
	time.Sleep(h.opts.timeout)
	thawed := time.Now()
	h.thaw(frozen)
	time.Sleep(3 * h.opts.timeout)
	h.waitHolder(5*time.Second, holder)
	a.waitPoints(time.Second, holder)
	if p := ac.pointedTo(frozen.name, took); len(p) > 0 {
		t.Errorf("freeze: the address or the record led back to the thawed %s: %v", frozen.name, p)
	}
	for _, l := range h.journalOf(frozen.name, thawed) {
		if l.action != "stop" {
			t.Errorf("freeze: the thawed %s acted: %s under epoch %d", frozen.name, l.action, l.epoch)
		}
	}
	t.Logf("freeze: %s has the Elastic IP and the record %s after the SIGSTOP", holder, took.Sub(t1).Round(time.Millisecond))

	// Cut the holder's heartbeat and witness (and AWS) links.
	t2 := time.Now()
	cut := h.node(holder)
	for _, l := range []link{linkWit, linkHB} {
		if err := h.tp.setLink(cut.k, l, false); err != nil {
			t.Fatal(err)
		}
	}
	holder = other(holder)
	h.eventually(10*time.Second, holder+" alone has the group online", func() bool {
		v := h.view()
		_, marked := h.marks()[cut.name]
		return len(v.online) == 1 && v.online[0] == holder && !marked
	})
	a.waitPoints(5*time.Second, holder)
	took = ac.allOn(holder, t2)
	for _, l := range []link{linkWit, linkHB} {
		_ = h.tp.setLink(cut.k, l, true)
	}
	time.Sleep(2 * h.opts.timeout)
	h.waitHolder(10*time.Second, holder)
	a.waitPoints(time.Second, holder)
	if p := ac.pointedTo(cut.name, took); len(p) > 0 {
		t.Errorf("cut: the address or the record led back to %s: %v", cut.name, p)
	}
	t.Logf("cut: %s has the Elastic IP and the record %s after the cut", holder, took.Sub(t2).Round(time.Millisecond))

	h.checkJournal(t)
	c.assertNoSplitBrain(t)
	ac.assertNone(t)
}

// TestAWSChaos runs seeded random sequences (chaosStep's kills and
// restarts, freezes and thaws, heartbeat and witness link cuts and heals)
// on three agents holding the group web with the virtual IP and the
// script resource, the DynamoDB lease and the HTTP witness. Throughout,
// no route may be re-pointed to a node that does not hold the group, and
// no two live nodes may run the service; after every sequence, healed,
// exactly one node holds the group and every route leads to it. 10
// sequences (3 with -short); MINATO_HX_SEED and MINATO_HX_SEQUENCES work as
// for TestChaos.
func TestAWSChaos(t *testing.T) {
	count := 10
	if testing.Short() {
		count = 3
	}
	if v := os.Getenv(sequencesEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a count", sequencesEnv, v)
		}
		count = n
	}
	base := uint64(time.Now().UnixNano())
	if v := os.Getenv(seedEnv); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a seed", seedEnv, v)
		}
		base, count = s, 1
	}
	a := newAWSCluster(t, awsOpts{nodes: 3, kinds: []string{"vip"}, script: true})
	h := a.h
	ac := a.watch()
	h.waitSettled(15 * time.Second)
	holders := map[string]int{}
	for i := range count {
		seed := base + uint64(i)
		rng := rand.New(rand.NewPCG(seed, 0x61777361)) // "awsa"
		c := h.watch()
		st := &chaosState{down: map[int]bool{}, frozen: map[int]bool{}, hbCut: map[int]bool{}, witCut: map[int]bool{}}
		var steps []string
		t0 := time.Now()
		for range 3 + rng.IntN(4) {
			steps = append(steps, chaosStep(h, rng, st))
			time.Sleep(200*time.Millisecond + time.Duration(rng.IntN(1300))*time.Millisecond)
		}
		healAll(h, st)
		what := fmt.Sprintf("sequence %d/%d, seed %d (%s=%d): %s", i+1, count, seed, seedEnv, seed, strings.Join(steps, ", "))
		var holder string
		deadline := time.Now().Add(15 * time.Second)
		for {
			var ok bool
			if holder, ok = h.settled(); ok && a.pointsTo(holder) {
				break
			}
			if time.Now().After(deadline) {
				v := h.view()
				t.Fatalf("%s: after healing, no single holder with every route within 15s: online %v, holders %v, markers %v, routes %v",
					what, v.online, v.holders, h.marks(), a.targets())
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(2 * h.opts.interval)
		c.stop()
		if r := c.result(); r.splitBrain() {
			t.Errorf("%s: split brain: %s", what, r)
		}
		if is := ac.since(t0); len(is) > 0 {
			t.Errorf("%s: AWS split brain: %v\nlease and targets:%s", what, is, ac.changes())
		}
		h.checkJournal(t)
		t.Logf("%s -> %s holds the group and every route after %s", what, holder, time.Since(t0).Round(100*time.Millisecond))
		holders[holder]++
		if t.Failed() {
			break
		}
	}
	ac.stop()
	ac.assertNone(t)
	t.Logf("%d sequences, final holders %v", count, holders)
}

// TestAWSSplits: the AWS checker's rule on given samples.
func TestAWSSplits(t *testing.T) {
	names := []string{"rt1", "rt2"}
	inc := func(n1, n2 int) map[string]int { return map[string]int{"node1": n1, "node2": n2} }
	s := func(ms int, holder, version string, incs map[string]int, targets ...string) awsSample {
		return awsSample{at: at(ms), holder: holder, version: version, incs: incs, targets: targets}
	}
	for _, tc := range []struct {
		name    string
		samples []awsSample
		want    string
	}{{
		name: "kill: the new holder re-points; the old routes were legitimately the old holder's until then",
		samples: []awsSample{
			s(0, "node1", "a", inc(1, 1), "node1", "node1"),
			s(20, "node1", "b", inc(1, 1), "node1", "node1"),
			s(3000, "node2", "c", inc(1, 1), "node1", "node1"),
			s(3020, "node2", "c", inc(1, 1), "node2", "node1"),
			s(3040, "node2", "d", inc(1, 1), "node2", "node2"),
		},
	}, {
		name: "the write and the hold in one interval",
		samples: []awsSample{
			s(0, "node1", "a", inc(1, 1), "node1", "node1"),
			s(20, "node2", "b", inc(1, 1), "node2", "node2"),
		},
	}, {
		name: "thawed node re-points after the takeover",
		samples: []awsSample{
			s(0, "node2", "a", inc(1, 1), "node2", "node2"),
			s(20, "node2", "b", inc(1, 1), "node1", "node2"),
		},
		want: "rt1->node1 (node2)",
	}, {
		name: "re-pointing under a released hold",
		samples: []awsSample{
			s(0, "", "a", inc(1, 1), "node2", "node2"),
			s(20, "", "a", inc(1, 1), "node2", "node1"),
		},
		want: "rt2->node1 ()",
	}, {
		name: "restarted agent acting on its killed run's hold",
		samples: []awsSample{
			s(0, "node1", "a", inc(1, 1), "node2", "node2"),
			s(20, "node1", "a", inc(2, 1), "node2", "node2"),
			s(40, "node1", "a", inc(2, 1), "node1", "node2"),
		},
		want: "rt1->node1 (node1, another incarnation)",
	}, {
		name: "restarted agent re-acquires first: fine",
		samples: []awsSample{
			s(0, "node1", "a", inc(1, 1), "node2", "node2"),
			s(20, "node1", "a", inc(2, 1), "node2", "node2"),
			s(40, "node1", "b", inc(2, 1), "node1", "node1"),
		},
	}, {
		name: "a change to no node is not judged",
		samples: []awsSample{
			s(0, "node2", "a", inc(1, 1), "node1", "node1"),
			s(20, "node2", "a", inc(1, 1), "", "node1"),
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, i := range awsSplits(tc.samples, names) {
				g := fmt.Sprintf("%s->%s (%s)", i.target, i.node, i.holder)
				if i.holderOK {
					g = fmt.Sprintf("%s->%s (%s, another incarnation)", i.target, i.node, i.holder)
				}
				got = append(got, g)
			}
			if g := strings.Join(got, ", "); g != tc.want {
				t.Errorf("incidents %q, want %q", g, tc.want)
			}
		})
	}
}
