package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/aws/awstest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// awsEnv gives the SDK's default chain static test credentials and no
// shared files, so that nothing of the machine's own AWS setup is used.
func awsEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDAGENTTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "agent-test-secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "")
}

// TestHAOnAWS: two agents, each an instance of the test AWS endpoint,
// keep CLUSTERPRO's three client-access patterns (a virtual IP by route
// tables, an Elastic IP, a Route 53 record) with an AZ monitor and the
// DynamoDB lease: the first node in priority takes them from wherever the
// account had them, a manual move re-points them, another actor's change
// is repaired by the monitors, an EC2 API that throttles everything gives
// warnings and no failover, and an impaired zone moves the group.
func TestHAOnAWS(t *testing.T) {
	dockertest.New(t) // the agents' container part needs an engine
	awsEnv(t)
	srv := awstest.New(awstest.Options{Latency: [2]time.Duration{5 * time.Millisecond, 20 * time.Millisecond}})
	t.Cleanup(srv.Close)
	g := srv.Guide(2)
	// The account starts with everything on node2: node1 must take it.
	for _, rt := range g.RouteTables {
		srv.SetRoute(rt, g.VIP+"/32", g.ENIs[1])
	}
	srv.SetAssociation(g.AllocationID, g.ENIs[1])
	srv.SetRecord(g.HostedZoneID, g.RecordName, "A", 60, g.PrivateIPs[1])

	dir := t.TempDir()
	key := filepath.Join(dir, "ha.key")
	require.NoError(t, os.WriteFile(key, []byte(strings.Repeat("a", 32)), 0o600))
	a1, a2 := freeUDP(t), freeUDP(t)
	type node struct {
		agent *Agent
		srv   *httptest.Server
		stop  func()
	}
	var nodes []*node
	for k, name := range []string{"node1", "node2"} {
		ndir := filepath.Join(dir, name)
		path := write(t, ndir, "agent.yaml", fmt.Sprintf(`
listen: 127.0.0.1:0
state_dir: state
ha:
  cluster: aws
  node: %s
  key_file: %q
  interval: 200ms
  timeout: 1s
  leave_timeout: 20s
  nodes: [{name: node1, addresses: [%q]}, {name: node2, addresses: [%q]}]
  aws: {region: %s, endpoint: %q, imds_endpoint: %q, call_timeout: 3s}
  witness:
    dynamodb: {table: %s, max_clock_skew: 200ms}
  fence:
    aws: {instances: {node1: i-node1, node2: i-node2}, accept_stopping: true, timeout: 10s}
  groups:
    - name: vip
      nodes: [node1, node2]
      resources:
        - name: awsvip1
          aws_vip: {ip: %s, vpc: %s}
          policy: {interval: 200ms}
      monitors:
        - name: awsazw1
          aws_az: {}
          policy: {interval: 200ms, retries: -1}
    - name: eip
      nodes: [node1, node2]
      resources:
        - name: awseip1
          aws_eip: {allocation_id: %s}
          policy: {interval: 200ms}
    - name: dns
      nodes: [node1, node2]
      resources:
        - name: awsdns1
          aws_dns: {hosted_zone_id: %s, name: %s, resolver: %q, insync_timeout: 5s}
          policy: {interval: 200ms, start_wait: 100ms}
`, name, key, a1, a2, srv.Region(), srv.URL(), srv.IMDS(g.Instances[k]), g.LeaseTable, g.VIP, g.VPC, g.AllocationID,
			g.HostedZoneID, g.RecordName, srv.DNS()))
		cfg, err := Load(path)
		require.NoError(t, err)
		a, err := New(cfg, os.Getenv, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		<-a.Addr()
		n := &node{agent: a, srv: httptest.NewServer(a.handler())}
		n.stop = func() { cancel(); require.NoError(t, <-done); n.srv.Close() }
		nodes = append(nodes, n)
	}
	defer func() {
		for _, n := range nodes {
			if n.stop != nil {
				n.stop()
			}
		}
	}()
	holder := func(n *node, group string) string {
		for _, gs := range n.agent.ha.cluster.Status().Groups {
			if gs.Name == group {
				return gs.Holder
			}
		}
		return ""
	}
	// on reports whether the AWS side of all three groups points to node k.
	on := func(k int) func() bool {
		return func() bool {
			for _, rt := range g.RouteTables {
				if srv.RouteTarget(rt, g.VIP+"/32") != g.ENIs[k] {
					return false
				}
			}
			v, _, ok := srv.Record(g.HostedZoneID, g.RecordName, "A")
			return srv.Association(g.AllocationID) == g.ENIs[k] && ok && len(v) == 1 && v[0] == g.PrivateIPs[k]
		}
	}
	eventually(t, 30*time.Second, "node1 holds the three groups and AWS points to it", func() bool {
		return holder(nodes[1], "vip") == "node1" && holder(nodes[1], "eip") == "node1" && holder(nodes[1], "dns") == "node1" && on(0)()
	})

	// A manual move of each group.
	for _, grp := range []string{"vip", "eip", "dns"} {
		code, body, _ := call(t, nodes[0].srv, "POST", "/api/v1/ha/groups/"+grp+"/move", `{"node":"node2"}`, "Content-Type", "application/json")
		require.Equal(t, 200, code, body)
	}
	eventually(t, 30*time.Second, "the groups moved to node2 and AWS points to it", on(1))

	// Another actor re-points a route, takes the EIP and changes the
	// record: each monitor detects it and its restart repairs it.
	srv.SetRoute(g.RouteTables[1], g.VIP+"/32", g.ENIs[0])
	srv.SetAssociation(g.AllocationID, "")
	srv.SetRecord(g.HostedZoneID, g.RecordName, "A", 60, "10.9.9.9")
	eventually(t, 20*time.Second, "the drift was repaired on node2", on(1))
	errs := haLines(nodes[1].agent, ha.EventMonitorError)
	for _, want := range []string{
		"Detected an error in monitoring awsvipw1. (8 : The routing for VIP 10.1.0.20 was changed.)",
		"Detected an error in monitoring awseipw1. (7 : The EIP address does not exist. (EIP ALLOCATION ID=eipalloc-guide))",
		"Detected an error in monitoring awsdnsw1. (8 : IP address different from the setting is registered in the resource record set of Amazon Route 53.)",
	} {
		assert.Contains(t, errs, want)
	}

	eventually(t, 20*time.Second, "node2's monitors are all OK again after the repairs", func() bool {
		n := 0
		for _, gs := range nodes[1].agent.ha.engine.Status() {
			for _, m := range gs.Monitors {
				if m.Status != monitor.OK {
					return false
				}
				n++
			}
		}
		return n == 4
	})

	// EC2 throttles every read for a while: warnings (105, or 106 once the
	// SDK's retries outlast the 3 s call timeout), no failover.
	srv.Throttle("DescribeRouteTables", 1000)
	srv.Throttle("DescribeAddresses", 1000)
	time.Sleep(6 * time.Second)
	srv.ClearFaults()
	for _, grp := range []string{"vip", "eip", "dns"} {
		assert.Equal(t, "node2", holder(nodes[0], grp), "group %s moved while EC2 throttled", grp)
	}
	warns := strings.Join(haLines(nodes[1].agent, ha.EventMonitorWarn), "\n")
	assert.Regexp(t, `Warn monitoring awsvipw1\. \(10[56] : `, warns)
	assert.Regexp(t, `Warn monitoring awseipw1\. \(10[56] : `, warns)
	assert.True(t, on(1)(), "AWS still points to node2")

	// node2's availability zone is impaired: its AZ monitor fails the
	// vip group over to node1, in the other zone.
	srv.SetZoneState(g.Zones[1], "impaired")
	eventually(t, 30*time.Second, "the vip group left node2's impaired zone", func() bool {
		for _, rt := range g.RouteTables {
			if srv.RouteTarget(rt, g.VIP+"/32") != g.ENIs[0] {
				return false
			}
		}
		return holder(nodes[1], "vip") == "node1"
	})
	assert.Contains(t, haLines(nodes[1].agent, ha.EventMonitorError),
		"Detected an error in monitoring awsazw1. (7 : The availability zone "+g.Zones[1]+" is impaired.)")
	item := srv.Item(g.LeaseTable, "aws/vip")
	assert.Equal(t, "node1", item["holder"], "the lease table names the holder: %v", item)
}

// haLines returns the messages of the agent's recent HA events of kind.
func haLines(a *Agent, kind ha.EventKind) []string {
	a.ha.mu.Lock()
	defer a.ha.mu.Unlock()
	var out []string
	for _, ev := range a.ha.events {
		if kind == "" || ev.Kind == kind {
			out = append(out, ev.Message)
		}
	}
	return out
}
