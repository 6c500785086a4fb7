// Command ha-aws-sim plays the AWS account of CLUSTERPRO's AWS guide on one
// machine, so that minato's AWS resources can be tried without AWS:
//
//	go run ./examples/ha-aws-sim -dir /tmp/sim [-nodes 2] [-latency 100ms-300ms] [-port 9471]
//
// It starts ha/aws/awstest on 127.0.0.1 with the guide's topology (a VPC
// 10.0.0.0/16 in two availability zones, one instance and ENI per node,
// three route tables that send the virtual IP 10.1.0.20/32 to node1, an
// Elastic IP on node1, a private hosted zone whose srv.hz1.local. points to
// node1, and the DynamoDB table minato-ha for the lease), and writes into
// DIR:
//
//   - node1.yaml, node2.yaml (node3.yaml): one `minato agent` configuration
//     per node, the same but for the node's name, its API port (PORT,
//     PORT+1, ...: 9471, 9472 by default), its state directory and its
//     instance metadata endpoint; heartbeats go over loopback UDP ports
//     PORT+10 and up. Each has three groups, vip, eip and dns, one per
//     client-access pattern of the guide, each with its AWS resource, an AZ
//     monitor and the DynamoDB lease;
//   - ha.key: the shared heartbeat key (52 random characters, mode 0600).
//
// The agents need no AWS credentials in their environment: when the SDK's
// default chain finds none in the environment or ~/.aws, it takes the
// instance role's from the node's metadata endpoint, as on EC2.
//
// It prints how to start each agent, then reads commands on stdin, one per
// line, and prints what they did (type help). The commands play what
// happens to an account: another actor changing a route, the Elastic IP or
// the record (drift), an availability zone in trouble, throttling, an
// outage. When stdin ends (a background run), it keeps serving until
// interrupted.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/minato-ops/minato/ha/aws/awstest"
)

// cluster is the name of the simulated cluster; lease items are keyed
// "<cluster>/<group>".
const cluster = "sim"

// driftIP is the address another actor writes into the record.
const driftIP = "192.0.2.1"

// actions are the AWS API operations the agents call, which throttle takes.
var actions = []string{
	"DescribeVpcs", "DescribeNetworkInterfaces", "DescribeRouteTables", "ReplaceRoute",
	"DescribeAddresses", "AssociateAddress", "DisassociateAddress", "DescribeAvailabilityZones",
	"ListResourceRecordSets", "ChangeResourceRecordSets", "GetChange",
	"GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable",
}

// zoneStates are the availability-zone states az takes, as EC2 names them.
var zoneStates = []string{"available", "information", "impaired", "unavailable"}

// sim is the simulated account and what the command loop knows of it.
type sim struct {
	srv   *awstest.Server
	g     awstest.Guide
	nodes []string          // node1, node2, ...
	zones map[string]string // zone → state, as az last set it
}

// newSim starts the endpoint with the guide's topology for n nodes.
func newSim(n int, latency [2]time.Duration) *sim {
	srv := awstest.New(awstest.Options{Latency: latency, Seed: time.Now().UnixNano()})
	s := &sim{srv: srv, g: srv.Guide(n), zones: map[string]string{}}
	for k := 1; k <= n; k++ {
		s.nodes = append(s.nodes, fmt.Sprintf("node%d", k))
	}
	for _, z := range s.g.Zones {
		s.zones[z] = "available"
	}
	return s
}

func (s *sim) close() { s.srv.Close() }

// writeConfigs writes ha.key and one agent configuration per node into
// dir, whose API ports start at port and heartbeat ports at port+10. It
// returns the configuration files' paths.
func (s *sim) writeConfigs(dir string, port int) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	key := filepath.Join(dir, "ha.key")
	_ = os.Remove(key) // a new key each run: WriteFile keeps an old file's mode
	if err := os.WriteFile(key, []byte(rand.Text()+rand.Text()), 0o600); err != nil {
		return nil, err
	}
	var paths []string
	for k, node := range s.nodes {
		path := filepath.Join(dir, node+".yaml")
		if err := os.WriteFile(path, []byte(s.config(k, port)), 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// config is node k's agent configuration.
func (s *sim) config(k, port int) string {
	g := s.g
	node := s.nodes[k]
	var b strings.Builder
	// w writes one line, its comment (after " # ", if any) in a column.
	w := func(format string, a ...any) {
		line := fmt.Sprintf(format, a...)
		if code, comment, ok := strings.Cut(line, " # "); ok && !strings.HasPrefix(line, "#") {
			line = fmt.Sprintf("%-48s # %s", strings.TrimRight(code, " "), comment)
		}
		b.WriteString(line + "\n")
	}
	perNode := func(indent string, value func(i int) string) {
		w("%sper_node: # CLUSTERPRO's \"set individually\" tab", indent)
		for i, n := range s.nodes {
			w("%s  %s: {%s}", indent, n, value(i))
		}
	}
	list := "[" + strings.Join(s.nodes, ", ") + "]"
	w("# %s of the ha-aws-sim try-out (examples/ha-aws-sim): minato agent --config %s.yaml", node, node)
	w("# Every node's file is the same but for node, listen, state_dir and imds_endpoint.")
	w("listen: 127.0.0.1:%d # this node's API (minato ha ... --agent http://127.0.0.1:%d)", port+k, port+k)
	w("state_dir: %s-state", node)
	w("ha:")
	w("  cluster: %s", cluster)
	w("  node: %s", node)
	w("  key_file: ha.key # 32+ random bytes, mode 0600, the same on every node")
	w("  nodes: # UDP heartbeats, on loopback here")
	for i, n := range s.nodes {
		w("    - {name: %s, addresses: [\"127.0.0.1:%d\"]}", n, port+10+i)
	}
	w("  aws:")
	w("    region: %s", s.srv.Region())
	w("    endpoint: %s # the simulator; on AWS leave it out", s.srv.URL())
	w("    imds_endpoint: %s # %s's metadata; on AWS leave it out", s.srv.IMDS(g.Instances[k]), g.Instances[k])
	w("  witness:")
	w("    dynamodb: {table: %s} # the lease: one holder per group", g.LeaseTable)
	w("  groups:")
	az := func() {
		w("      monitors:")
		w("        - name: awsazw1 # CLUSTERPRO's AWS AZ monitor")
		w("          aws_az: {}")
		perNode("          ", func(i int) string { return "zone: " + g.Zones[i] })
	}
	w("    - name: vip # clients in the same VPC: a virtual IP")
	w("      nodes: %s", list)
	w("      resources:")
	w("        - name: awsvip1 # its monitor is awsvipw1")
	w("          aws_vip: {ip: %s, vpc: %s}", g.VIP, g.VPC)
	perNode("          ", func(i int) string { return "eni: " + g.ENIs[i] })
	az()
	w("    - name: eip # clients on the Internet: an Elastic IP")
	w("      nodes: %s", list)
	w("      resources:")
	w("        - name: awseip1 # its monitor is awseipw1")
	w("          aws_eip: {allocation_id: %s}", g.AllocationID)
	perNode("          ", func(i int) string { return "eni: " + g.ENIs[i] })
	az()
	w("    - name: dns # clients anywhere: a Route 53 record")
	w("      nodes: %s", list)
	w("      resources:")
	w("        - name: awsdns1 # its monitor is awsdnsw1")
	w("          aws_dns: {hosted_zone_id: %s, name: %s, resolver: \"%s\"}", g.HostedZoneID, g.RecordName, s.srv.DNS())
	perNode("          ", func(i int) string { return "ip: " + g.PrivateIPs[i] })
	w("          policy: {start_wait: 10s} # default 90s (Route 53's propagation)")
	az()
	return b.String()
}

// loop runs the commands read from in, writing to out, until quit (true)
// or the end of in (false).
func (s *sim) loop(in io.Reader, out io.Writer) bool {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if s.exec(out, sc.Text()) {
			return true
		}
	}
	return false
}

// exec runs one command line; it reports whether it was quit.
func (s *sim) exec(out io.Writer, line string) (quit bool) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return false
	}
	errorf := func(format string, a ...any) { fmt.Fprintf(out, "error: "+format+"\n", a...) }
	switch cmd, args := f[0], f[1:]; {
	case cmd == "quit" || cmd == "exit":
		fmt.Fprintln(out, "bye: the simulated account is gone, the agents' AWS calls will fail")
		return true
	case cmd == "help":
		fmt.Fprint(out, help)
	case cmd == "state" && len(args) == 0:
		s.state(out)
	case cmd == "calls" && len(args) == 0:
		s.calls(out)
	case cmd == "calls" && len(args) == 1 && args[0] == "reset":
		s.srv.ResetCalls()
		fmt.Fprintln(out, "call counts set to 0")
	case cmd == "drift" && len(args) == 1:
		s.drift(out, args[0], errorf)
	case cmd == "az" && len(args) == 2:
		k := slices.Index(s.nodes, args[0])
		if k < 0 {
			errorf("az: no node %q: want one of %s", args[0], strings.Join(s.nodes, ", "))
			return false
		}
		if !slices.Contains(zoneStates, args[1]) {
			errorf("az: state %q: want one of %s", args[1], strings.Join(zoneStates, ", "))
			return false
		}
		zone := s.g.Zones[k]
		s.srv.SetZoneState(zone, args[1])
		s.zones[zone] = args[1]
		fmt.Fprintf(out, "zone %s (%s) is %s\n", zone, strings.Join(s.nodesIn(zone), ", "), args[1])
	case cmd == "throttle" && len(args) == 2:
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 || n > 1_000_000 {
			errorf("throttle: count %q: want a whole number from 1 to 1000000", args[1])
			return false
		}
		action := args[0]
		if action == "all" {
			action = ""
		} else if !slices.Contains(actions, action) {
			errorf("throttle: action %q: want all or one of %s", args[0], strings.Join(actions, ", "))
			return false
		}
		s.srv.Throttle(action, n)
		fmt.Fprintf(out, "the next %d calls of %s are throttled (RequestLimitExceeded, Throttling, ThrottlingException)\n", n, args[0])
	case cmd == "clear" && len(args) == 0:
		s.srv.ClearFaults()
		fmt.Fprintln(out, "throttling and outage cleared")
	case cmd == "outage" && len(args) == 1 && (args[0] == "on" || args[0] == "off"):
		s.srv.SetOutage(args[0] == "on")
		if args[0] == "on" {
			fmt.Fprintln(out, "outage: every AWS call, instance metadata and DNS query fails (503, no DNS answer)")
		} else {
			fmt.Fprintln(out, "outage over")
		}
	default:
		errorf("%q: unknown command or wrong arguments: type help", line)
	}
	return false
}

const help = `commands:
  state                        every VIP route's target, the EIP's association, the record,
                               the lease items and the zones, each with the node it points to
  drift vip|eip|dns            another actor re-points one VIP route, disassociates the EIP,
                               or changes the record: watch the monitor repair it
  az NODE available|information|impaired|unavailable
                               the state of NODE's availability zone
  throttle ACTION|all N        the next N calls of ACTION are throttled
  outage on|off                every AWS call fails (503), metadata and DNS included
  clear                        ends every throttle and the outage
  calls [reset]                the AWS calls received so far, per action
  help, quit
`

// state prints where the account's resources point.
func (s *sim) state(out io.Writer) {
	g := s.g
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "virtual IP %s (group vip)\n", g.VIP)
	for _, rt := range g.RouteTables {
		eni := s.srv.RouteTarget(rt, g.VIP+"/32")
		fmt.Fprintf(tw, "  %s\t%s/32 -> %s\t%s\n", rt, g.VIP, orNone(eni), s.nodeOf(g.ENIs, eni))
	}
	fmt.Fprintf(tw, "Elastic IP %s (group eip)\n", g.PublicIP)
	eni := s.srv.Association(g.AllocationID)
	fmt.Fprintf(tw, "  %s\t-> %s\t%s\n", g.AllocationID, orNone(eni), s.nodeOf(g.ENIs, eni))
	fmt.Fprintf(tw, "record %s in %s (group dns)\n", g.RecordName, g.HostedZoneID)
	if vals, ttl, ok := s.srv.Record(g.HostedZoneID, g.RecordName, "A"); ok {
		fmt.Fprintf(tw, "  A %s\tttl %d\t%s\n", strings.Join(vals, ","), ttl, s.nodeOf(g.PrivateIPs, strings.Join(vals, ",")))
	} else {
		fmt.Fprintf(tw, "  (no A record)\t\t-\n")
	}
	fmt.Fprintf(tw, "lease table %s\n", g.LeaseTable)
	now := time.Now()
	for _, grp := range []string{"vip", "eip", "dns"} {
		key := cluster + "/" + grp
		it := s.srv.Item(g.LeaseTable, key)
		switch {
		case it == nil:
			fmt.Fprintf(tw, "  %s\t(no item yet)\t\n", key)
		case it["holder"] == "":
			fmt.Fprintf(tw, "  %s\treleased, epoch %s\t\n", key, it["epoch"])
		default:
			fmt.Fprintf(tw, "  %s\tholder %s, epoch %s\t%s\n", key, it["holder"], it["epoch"], expiry(it["expires_ms"], now))
		}
	}
	fmt.Fprintln(tw, "availability zones")
	for _, z := range slices.Sorted(maps.Keys(s.zones)) {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", z, s.zones[z], strings.Join(s.nodesIn(z), ", "))
	}
	_ = tw.Flush()
}

// expiry describes a hold's expires_ms against now.
func expiry(ms string, now time.Time) string {
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return "expires_ms " + ms
	}
	d := time.UnixMilli(n).Sub(now).Round(100 * time.Millisecond)
	if d < 0 {
		return fmt.Sprintf("expired %s ago", -d)
	}
	return fmt.Sprintf("expires in %s", d)
}

// calls prints the calls received per action.
func (s *sim) calls(out io.Writer) {
	fmt.Fprintln(out, "AWS calls received")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, a := range append(slices.Clone(actions), "IMDS") {
		if n := s.srv.Calls(a); n > 0 {
			fmt.Fprintf(tw, "  %s\t%d\n", a, n)
		}
	}
	fmt.Fprintf(tw, "  total\t%d\n", s.srv.Calls(""))
	_ = tw.Flush()
}

// drift plays another actor changing one resource behind the cluster.
func (s *sim) drift(out io.Writer, what string, errorf func(string, ...any)) {
	g := s.g
	switch what {
	case "vip":
		rt := g.RouteTables[1]
		was := s.srv.RouteTarget(rt, g.VIP+"/32")
		k := (slices.Index(g.ENIs, was) + 1) % len(g.ENIs) // another node's ENI
		s.srv.SetRoute(rt, g.VIP+"/32", g.ENIs[k])
		fmt.Fprintf(out, "%s: %s/32 -> %s (was %s): awsvipw1 reports code 8, and restarting awsvip1 re-points it\n", rt, g.VIP, g.ENIs[k], orNone(was))
	case "eip":
		was := s.srv.Association(g.AllocationID)
		s.srv.SetAssociation(g.AllocationID, "")
		fmt.Fprintf(out, "%s disassociated (was %s): awseipw1 reports code 7, and restarting awseip1 associates it again\n", g.AllocationID, orNone(was))
	case "dns":
		vals, _, _ := s.srv.Record(g.HostedZoneID, g.RecordName, "A")
		s.srv.SetRecord(g.HostedZoneID, g.RecordName, "A", 60, driftIP)
		fmt.Fprintf(out, "%s A %s (was %s): awsdnsw1 reports code 8, and restarting awsdns1 writes it back\n", g.RecordName, driftIP, orNone(strings.Join(vals, ",")))
	default:
		errorf("drift: %q: want vip, eip or dns", what)
	}
}

// nodeOf names the node whose value (ENI or IP) v is.
func (s *sim) nodeOf(values []string, v string) string {
	if v == "" {
		return "-"
	}
	if k := slices.Index(values, v); k >= 0 {
		return s.nodes[k]
	}
	return "(no node)"
}

// nodesIn lists the nodes in zone.
func (s *sim) nodesIn(zone string) []string {
	var in []string
	for k, z := range s.g.Zones {
		if z == zone {
			in = append(in, s.nodes[k])
		}
	}
	return in
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// parseLatency reads "MIN-MAX" ("100ms-300ms"), one duration (fixed), or
// "0" (none).
func parseLatency(s string) ([2]time.Duration, error) {
	lo, hi, ranged := strings.Cut(s, "-")
	a, err := time.ParseDuration(strings.TrimSpace(lo))
	if err == nil && !ranged {
		hi = lo
	}
	var b time.Duration
	if err == nil {
		b, err = time.ParseDuration(strings.TrimSpace(hi))
	}
	switch {
	case err != nil:
		return [2]time.Duration{}, fmt.Errorf("-latency %q: want MIN-MAX such as 100ms-300ms, one duration, or 0", s)
	case a < 0 || b < a || b > time.Minute:
		return [2]time.Duration{}, fmt.Errorf("-latency %q: want 0 <= MIN <= MAX <= 1m", s)
	}
	return [2]time.Duration{a, b}, nil
}

func main() {
	dir := flag.String("dir", "", "`DIR` to write node1.yaml, node2.yaml, ... and ha.key into (required)")
	nodes := flag.Int("nodes", 2, "number of nodes, 2 or 3")
	lat := flag.String("latency", "100ms-300ms", "time each AWS call takes: `MIN-MAX`, one duration, or 0")
	port := flag.Int("port", 9471, "first node's API `PORT`; heartbeats use PORT+10 and up")
	flag.Parse()
	latency, err := parseLatency(*lat)
	switch {
	case err != nil:
	case *dir == "":
		err = errors.New("-dir is required")
	case *nodes < 2 || *nodes > 3:
		err = fmt.Errorf("-nodes %d: want 2 or 3", *nodes)
	case *port < 1 || *port > 65535-20:
		err = fmt.Errorf("-port %d: want 1 to %d", *port, 65535-20)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ha-aws-sim:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	s := newSim(*nodes, latency)
	defer s.close()
	paths, err := s.writeConfigs(*dir, *port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ha-aws-sim:", err)
		s.close()
		os.Exit(1)
	}
	fmt.Printf("simulated AWS account (region %s) at %s, each AWS call taking %s-%s\n", s.srv.Region(), s.srv.URL(), latency[0], latency[1])
	fmt.Println("the agents need no AWS credentials: each takes its instance role's from its metadata endpoint")
	fmt.Println("start each node in a terminal of its own:")
	for k, p := range paths {
		fmt.Printf("  minato agent --config %s        # API http://127.0.0.1:%d\n", p, *port+k)
	}
	fmt.Printf("then: minato ha status --agent http://127.0.0.1:%d\n", *port)
	fmt.Print("type help for the commands\n\n")

	done := make(chan bool, 1)
	go func() { done <- s.loop(os.Stdin, os.Stdout) }()
	select {
	case quit := <-done:
		if !quit {
			fmt.Println("stdin closed: serving until interrupted")
			<-ctx.Done()
		}
	case <-ctx.Done():
	}
}
