//go:build linux

package hatest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha"
)

// group is the failover group every test cluster runs.
const group = "web"

// Environment variables for looking into a run: logLevelEnv sets the
// agents' --log-level (default info; their logs are shown when a test
// fails), keepLogsEnv names a directory the agents' logs and the
// resource's journal are copied into at the end of every test
// (<dir>/<test>/).
const (
	logLevelEnv = "MINATO_HX_LOG_LEVEL"
	keepLogsEnv = "MINATO_HX_KEEP_LOGS"
)

// clusterOpts describes a test cluster.
type clusterOpts struct {
	nodes    int           // 2 or 3
	interval time.Duration // heartbeat interval (default 200ms)
	timeout  time.Duration // heartbeat timeout (default 1s)
	// httpWitness adds CLUSTERPRO's HTTP witness; lease the etcd lease.
	httpWitness bool
	lease       bool
	// witnessTimeout bounds one HTTP witness probe (default 500ms).
	witnessTimeout time.Duration
	failback       bool
	// policy is the script resource's monitor policy (default: interval
	// 200ms, the rest CLUSTERPRO's defaults).
	policy string
	// resources, when set, replaces the script resource: YAML list items
	// for node name, indented for the resources: key.
	resources func(node string) string
	// env is added to the agents' environment.
	env []string
	// haExtra, when set, gives text inserted in node's ha: section right
	// after the witness entries: lines indented by four spaces add
	// witnesses (`    dynamodb: {table: t}`), lines indented by two add
	// keys of ha: (`  aws: {…}`, `  lease_ttl: 1s`). With neither
	// httpWitness nor lease it must begin with witness lines.
	haExtra func(node string) string
	// groups, when set, replaces the groups: list of node's config: YAML
	// list items indented for it ("    - name: web"). script is the
	// harness's script resource (or resources' text), for the resources:
	// list of the group web: the checker and settled() watch that group
	// and, with the script resource, its markers and journal.
	groups func(node, script string) string
	// tp, when set, is the topology to run on (built by newTopology with
	// nodes nodes), for a test that starts its own services in the switch's
	// namespace before the agents; nil builds one.
	tp *topology
}

// harness is a running test cluster.
type harness struct {
	t        testing.TB
	bin      string
	dir      string // the shared directory: marks/, journal, fence, broken/
	tp       *topology
	api      *apiClient
	nodes    []*agentNode
	opts     clusterOpts
	env      []string
	logLevel string
	etcd     string // endpoint, when the lease is on
	// witnessLog has the HTTP witness's probes, when it runs.
	witnessLog *witnessLog
}

// newCluster builds the topology, the witnesses and the configurations,
// and starts every agent.
func newCluster(t testing.TB, o clusterOpts) *harness {
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
	if o.policy == "" {
		o.policy = "{interval: 200ms}"
	}
	tp := o.tp
	if tp == nil {
		tp = newTopology(t, o.nodes) // skips first where namespaces cannot be had
	}
	bin := minatoBinary(t)
	dir := t.TempDir()
	h := &harness{t: t, bin: bin, dir: dir, tp: tp, opts: o, env: o.env, logLevel: "info"}
	if v := os.Getenv(logLevelEnv); v != "" {
		h.logLevel = v
	}
	for _, d := range []string{"marks", "broken"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	token := "hatest-token-" + tp.id
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tokenFile := write("token", token+"\n")
	keyFile := write("ha.key", strings.Repeat("x", 40))
	h.api = newAPIClient(tp, token)

	var witness strings.Builder
	if o.httpWitness {
		var target string
		target, h.witnessLog = startHTTPWitness(t, tp)
		fmt.Fprintf(&witness, "    http: {target: %q, timeout: %s}\n", target, o.witnessTimeout)
	}
	if o.lease {
		h.etcd = startEtcd(t, tp)
		fmt.Fprintf(&witness, "    etcd: {endpoints: [%q], dial_timeout: 1s, request_timeout: 500ms}\n", h.etcd)
	}
	if witness.Len() == 0 && o.haExtra == nil {
		witness.WriteString("    {}\n")
	}
	var names, nodesYAML []string
	for k := 1; k <= o.nodes; k++ {
		n := &agentNode{name: "node" + strconv.Itoa(k), k: k, ns: tp.nodes[k-1]}
		n.api = "http://" + n.mgmtIP() + ":" + strconv.Itoa(apiPort)
		h.nodes = append(h.nodes, n)
		names = append(names, n.name)
		nodesYAML = append(nodesYAML, fmt.Sprintf("    - {name: %s, addresses: [%q]}", n.name, n.hbAddr()))
	}
	for _, n := range h.nodes {
		ndir := filepath.Join(dir, n.name)
		if err := os.MkdirAll(ndir, 0o700); err != nil {
			t.Fatal(err)
		}
		res := h.scriptResource()
		if o.resources != nil {
			res = o.resources(n.name)
		}
		groups := fmt.Sprintf(`    - name: %s
      nodes: [%s]
      auto_failback: %t
      resources:
%s`, group, strings.Join(names, ", "), o.failback, res)
		if o.groups != nil {
			groups = o.groups(n.name, res)
		}
		wit := witness.String()
		if o.haExtra != nil {
			wit += o.haExtra(n.name)
		}
		cfg := fmt.Sprintf(`listen: %q
insecure: true
api: {token_file: %q}
state_dir: %q
ha:
  cluster: hx
  node: %s
  key_file: %q
  interval: %s
  timeout: %s
  leave_timeout: 10s
  nodes:
%s
  witness:
%s  groups:
%s`, n.mgmtIP()+":"+strconv.Itoa(apiPort), tokenFile, filepath.Join(ndir, "state"), n.name, keyFile,
			o.interval, o.timeout, strings.Join(nodesYAML, "\n"), wit, groups)
		n.cfg = filepath.Join(ndir, "agent.yaml")
		n.log = filepath.Join(ndir, "agent.log")
		if err := os.WriteFile(n.cfg, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, n := range h.nodes {
			n.mu.Lock()
			if n.cmd != nil && n.state != procDown {
				_ = n.cmd.Process.Kill()
				<-n.done
				n.recordLocked(procDown, false)
			}
			n.mu.Unlock()
		}
		if root := os.Getenv(keepLogsEnv); root != "" {
			keep := filepath.Join(root, strings.ReplaceAll(t.Name(), "/", "_"))
			if err := os.MkdirAll(keep, 0o755); err == nil {
				for _, n := range h.nodes {
					if data, err := os.ReadFile(n.log); err == nil {
						_ = os.WriteFile(filepath.Join(keep, n.name+".log"), data, 0o644)
					}
				}
				if data, err := os.ReadFile(filepath.Join(dir, "journal")); err == nil {
					_ = os.WriteFile(filepath.Join(keep, "journal"), data, 0o644)
				}
			}
		}
		if t.Failed() {
			for _, n := range h.nodes {
				t.Logf("%s's log:\n%s", n.name, h.logTail(n, 6000))
			}
			if j, err := os.ReadFile(filepath.Join(dir, "journal")); err == nil {
				t.Logf("journal:\n%s", j)
			}
		}
	})
	for _, n := range h.nodes {
		h.start(n)
	}
	return h
}

// scriptResource is the group's script resource: start creates the node's
// marker (refusing an epoch older than the newest seen, the fencing-token
// rule), stop removes it, check tests it (and that no broken/<node> flag
// says the service is broken on the node). Every start and stop is a
// journal line: "<unix ns> <node> start|stop|refused <epoch> [newest]".
func (h *harness) scriptResource() string {
	d := h.dir
	start := `exec 9>>` + d + `/lock; flock 9; now=$(date +%s%N); e=${MINATO_HA_EPOCH:-0}; max=$(cat ` + d + `/fence 2>/dev/null || echo 0); ` +
		`if [ "$e" -lt "$max" ]; then echo "$now $MINATO_HA_NODE refused $e $max" >>` + d + `/journal; exit 1; fi; ` +
		`echo "$e" >` + d + `/fence; touch ` + d + `/marks/$MINATO_HA_NODE; echo "$now $MINATO_HA_NODE start $e" >>` + d + `/journal`
	stop := `exec 9>>` + d + `/lock; flock 9; rm -f ` + d + `/marks/$MINATO_HA_NODE; echo "$(date +%s%N) $MINATO_HA_NODE stop ${MINATO_HA_EPOCH:-0}" >>` + d + `/journal`
	check := `test -f ` + d + `/marks/$MINATO_HA_NODE && test ! -e ` + d + `/broken/$MINATO_HA_NODE || exit 2`
	return fmt.Sprintf(`        - name: svc
          script:
            start: {argv: [sh, -c, %q], timeout: 5s}
            stop: {argv: [sh, -c, %q], timeout: 5s}
            check: {argv: [sh, -c, %q], timeout: 2s}
          policy: %s
`, start, stop, check, h.opts.policy)
}

// node returns the node named name.
func (h *harness) node(name string) *agentNode {
	for _, n := range h.nodes {
		if n.name == name {
			return n
		}
	}
	h.t.Fatalf("no node %s", name)
	return nil
}

// marks lists the nodes whose marker exists, with its modification time.
func (h *harness) marks() map[string]time.Time {
	es, _ := os.ReadDir(filepath.Join(h.dir, "marks"))
	out := map[string]time.Time{}
	for _, e := range es {
		if fi, err := e.Info(); err == nil {
			out[e.Name()] = fi.ModTime()
		}
	}
	return out
}

// setBroken makes node's check fail (or pass again).
func (h *harness) setBroken(node string, broken bool) {
	p := filepath.Join(h.dir, "broken", node)
	if broken {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			h.t.Fatal(err)
		}
		return
	}
	_ = os.Remove(p)
}

// journalLine is one start, stop or refusal of the script resource.
type journalLine struct {
	at     time.Time
	node   string
	action string // start, stop, refused
	epoch  ha.Epoch
}

func (h *harness) journal() []journalLine {
	f, err := os.Open(filepath.Join(h.dir, "journal"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []journalLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 {
			continue
		}
		ns, _ := strconv.ParseInt(fs[0], 10, 64)
		e, _ := strconv.ParseUint(fs[3], 10, 64)
		out = append(out, journalLine{at: time.Unix(0, ns), node: fs[1], action: fs[2], epoch: ha.Epoch(e)})
	}
	return out
}

// checkJournal asserts that no start ran under an epoch older than an
// earlier start's, and that none was refused (a node acting on a stale
// epoch); it returns the starts.
func (h *harness) checkJournal(t testing.TB) []journalLine {
	t.Helper()
	var starts []journalLine
	var newest ha.Epoch
	for _, l := range h.journal() {
		switch l.action {
		case "refused":
			t.Errorf("%s tried to start the resource at %s under epoch %d, older than one already used: it acted on a stale epoch",
				l.node, l.at.Format("15:04:05.000"), l.epoch)
		case "start":
			if l.epoch < newest {
				t.Errorf("%s started the resource under epoch %d after epoch %d was used", l.node, l.epoch, newest)
			}
			newest = max(newest, l.epoch)
			starts = append(starts, l)
		}
	}
	return starts
}

// eventually polls cond every 50ms until it holds, or fails the test
// after d.
func (h *harness) eventually(d time.Duration, what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// view is the cluster as the running nodes report it.
type view struct {
	reports map[string]haReport
	// online are the nodes whose engine has the group online.
	online []string
	// holders is what each node says holds the group.
	holders map[string]string
}

func (h *harness) view() view {
	v := view{reports: map[string]haReport{}, holders: map[string]string{}}
	for _, n := range h.nodes {
		r, err := h.ask(n)
		if err != nil {
			continue
		}
		v.reports[n.name] = r
		c, e := r.group(group)
		v.holders[n.name] = c.Holder
		if e.State == ha.Online || e.State == ha.Suspended {
			v.online = append(v.online, n.name)
		}
	}
	return v
}

// settled reports the one node every running node names as the holder,
// that has the group online, and is the only one with a marker among
// running nodes' current incarnations.
func (h *harness) settled() (string, bool) {
	v := h.view()
	if len(v.online) != 1 || len(v.reports) == 0 {
		return "", false
	}
	holder := v.online[0]
	for _, n := range h.nodes {
		if st, _, _ := n.snapshot(); st != procRunning {
			continue
		}
		if _, ok := v.reports[n.name]; !ok || v.holders[n.name] != holder {
			return "", false
		}
	}
	if h.opts.resources != nil {
		return holder, true // no markers
	}
	marks := h.marks()
	if _, ok := marks[holder]; !ok {
		return "", false
	}
	for name, mt := range marks {
		// A marker a running node's current incarnation made, other than
		// the holder's. Down and frozen nodes' markers are stale: they
		// cannot remove them.
		st, started, _ := h.node(name).snapshot()
		if name != holder && st == procRunning && !mt.Before(started) {
			return "", false
		}
	}
	return holder, true
}

// waitHolder waits until node alone holds the group.
func (h *harness) waitHolder(d time.Duration, node string) {
	h.t.Helper()
	h.eventually(d, node+" alone holds the group, as every node says", func() bool {
		got, ok := h.settled()
		return ok && got == node
	})
}

// waitSettled waits until exactly one node holds the group.
func (h *harness) waitSettled(d time.Duration) string {
	h.t.Helper()
	var holder string
	h.eventually(d, "exactly one node holds the group, as every node says", func() bool {
		var ok bool
		holder, ok = h.settled()
		return ok
	})
	return holder
}

// events returns the report's events of kind since since (an agent keeps
// its latest 100).
func events(r haReport, kind ha.EventKind, since time.Time) []haEvent {
	var out []haEvent
	for _, ev := range r.Events {
		if ev.Kind == kind && !ev.Time.Before(since) {
			out = append(out, ev)
		}
	}
	return out
}
