package aws

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/aws/awstest"
	"github.com/minato-ops/minato/monitor"
)

// vipAWSTestEnv sets the environment the SDK's default chain reads to
// static test credentials and no shared files.
func vipAWSTestEnv(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_PROFILE", "")
}

// vipAWSTestServer is the guide's VIP example on a test endpoint: vpc-1
// (10.0.0.0/16) with subnets in two zones, instances i-A (eni-A) and i-B
// (eni-B), the route tables rtb-PublicAB, rtb-PrivateA and rtb-PrivateB
// holding 10.1.0.20/32 → eni-A, rtb-x without it, and vpc-2's rtb-other
// holding it toward eni-C; the Elastic IP eipalloc-1 (203.0.113.10) on
// eni-A.
func vipAWSTestServer(t testing.TB, opts awstest.Options) *awstest.Server {
	t.Helper()
	srv := awstest.New(opts)
	t.Cleanup(srv.Close)
	srv.AddVPC("vpc-1", "10.0.0.0/16")
	srv.AddVPC("vpc-2", "10.9.0.0/16")
	srv.AddSubnet("subnet-2a", "vpc-1", "ap-northeast-1a", "10.0.110.0/24")
	srv.AddSubnet("subnet-2b", "vpc-1", "ap-northeast-1c", "10.0.120.0/24")
	srv.AddSubnet("subnet-9", "vpc-2", "ap-northeast-1a", "10.9.0.0/24")
	srv.AddInstance("i-A", "ap-northeast-1a")
	srv.AddInstance("i-B", "ap-northeast-1c")
	srv.AddInstance("i-C", "ap-northeast-1a")
	srv.AddENI("eni-A", "subnet-2a", "i-A", "10.0.110.10")
	srv.AddENI("eni-B", "subnet-2b", "i-B", "10.0.120.10")
	srv.AddENI("eni-C", "subnet-9", "i-C", "10.9.0.10")
	for _, id := range []string{"rtb-PublicAB", "rtb-PrivateA", "rtb-PrivateB"} {
		srv.AddRouteTable(id, "vpc-1", awstest.Route{Destination: "10.1.0.20/32", ENI: "eni-A"})
	}
	srv.AddRouteTable("rtb-x", "vpc-1", awstest.Route{Destination: "0.0.0.0/0", Gateway: "igw-1"})
	srv.AddRouteTable("rtb-other", "vpc-2", awstest.Route{Destination: "10.1.0.20/32", ENI: "eni-C"})
	srv.AddAddress("eipalloc-1", "203.0.113.10")
	srv.SetAssociation("eipalloc-1", "eni-A")
	return srv
}

// vipAWSTestClients loads real SDK clients for instance against srv, as
// the agent does (default chain, adaptive retry, per-call timeout).
func vipAWSTestClients(t testing.TB, srv *awstest.Server, instance string, callTimeout time.Duration) *Clients {
	t.Helper()
	vipAWSTestEnv(t)
	c, err := Load(context.Background(), Config{Region: "ap-northeast-1", Endpoint: srv.URL(), IMDSEndpoint: srv.IMDS(instance), CallTimeout: callTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var vipAWSTestTables = []string{"rtb-PublicAB", "rtb-PrivateA", "rtb-PrivateB"}

func vipAWSTestTargets(srv *awstest.Server) string {
	var s []string
	for _, id := range vipAWSTestTables {
		s = append(s, id+"="+srv.RouteTarget(id, "10.1.0.20/32"))
	}
	return strings.Join(s, " ")
}

// Failover to node B (ENI learnt through IMDSv2), drift by another actor
// detected (8) and repaired by the restart, then back to node A.
func TestVIPAWSTestFailoverAndDrift(t *testing.T) {
	srv := vipAWSTestServer(t, awstest.Options{})
	ctx := context.Background()
	b, err := NewVIP(vipAWSTestClients(t, srv, "i-B", 5*time.Second), VIPConfig{IP: "10.1.0.20", VPC: "vpc-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Activate(ctx, vipNode2); err != nil {
		t.Fatal(err)
	}
	if got, want := vipAWSTestTargets(srv), "rtb-PublicAB=eni-B rtb-PrivateA=eni-B rtb-PrivateB=eni-B"; got != want {
		t.Errorf("routes %s, want %s", got, want)
	}
	if got := srv.RouteTarget("rtb-other", "10.1.0.20/32"); got != "eni-C" {
		t.Errorf("vpc-2's route changed to %s", got)
	}
	if got := srv.RouteTarget("rtb-x", "10.1.0.20/32"); got != "" {
		t.Errorf("a route was added to rtb-x: %s", got)
	}
	if n := srv.Calls("ReplaceRoute"); n != 3 {
		t.Errorf("%d ReplaceRoute calls, want 3", n)
	}
	res, err := b.Check(ctx, vipNode2)
	if err != nil || res.Status != monitor.OK {
		t.Fatalf("check: %+v, %v", res, err)
	}

	srv.SetRoute("rtb-PrivateA", "10.1.0.20/32", "eni-A")
	res, err = b.Check(ctx, vipNode2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := vipCritLine("awsvipw1", res), "Detected an error in monitoring awsvipw1. (8 : The routing for VIP 10.1.0.20 was changed.)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	srv.ResetCalls()
	if err := b.Deactivate(ctx, vipNode2); err != nil {
		t.Fatal(err)
	}
	if err := b.Activate(ctx, vipNode2); err != nil {
		t.Fatal(err)
	}
	if n := srv.Calls("ReplaceRoute"); n != 1 || srv.RouteTarget("rtb-PrivateA", "10.1.0.20/32") != "eni-B" {
		t.Errorf("repair: %d writes, routes %s", n, vipAWSTestTargets(srv))
	}

	a, err := NewVIP(vipAWSTestClients(t, srv, "i-A", 5*time.Second), VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "eni-A"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Activate(ctx, vipNode1); err != nil {
		t.Fatal(err)
	}
	if got, want := vipAWSTestTargets(srv), "rtb-PublicAB=eni-A rtb-PrivateA=eni-A rtb-PrivateB=eni-A"; got != want {
		t.Errorf("routes %s, want %s", got, want)
	}
	if res, err := b.Check(ctx, vipNode2); err != nil || res.Code != CodeVIPRouteChanged {
		t.Errorf("the old holder's monitor: %+v, %v", res, err)
	}
}

// The guide's activation errors, through the real SDK and the wire.
func TestVIPAWSTestErrors(t *testing.T) {
	srv := vipAWSTestServer(t, awstest.Options{})
	c := vipAWSTestClients(t, srv, "i-B", 5*time.Second)
	for _, tc := range []struct {
		cfg  VIPConfig
		deny bool
		line string
	}{
		{VIPConfig{IP: "10.1.0.20", VPC: "vpc-deadbeef", ENI: "eni-B"}, false, "Activating awsvip1 resource has failed.(5 : The vpc ID 'vpc-deadbeef' does not exist)"},
		{VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "eni-deadbeef"}, false, "Activating awsvip1 resource has failed.(5 : The networkInterface ID 'eni-deadbeef' does not exist)"},
		{VIPConfig{IP: "10.0.5.5", VPC: "vpc-1", ENI: "eni-B"}, false, "Activating awsvip1 resource has failed.(7 : The VIP address 10.0.5.5 belongs to a VPC subnet.)"},
		{VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "eni-B"}, true, "Activating awsvip1 resource has failed.(5 : You are not authorized to perform this operation.)"},
	} {
		srv.ResetCalls()
		if tc.deny {
			srv.Deny("ReplaceRoute", "rtb-PrivateB")
		}
		v, err := NewVIP(c, tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = v.Activate(context.Background(), vipNode2)
		if got := ha.ActivateMessage("awsvip1", err); got != tc.line {
			t.Errorf("got  %s\nwant %s", got, tc.line)
		}
		if tc.deny {
			if re := vipAsRE(t, err); !strings.Contains(re.Err.Error(), "rtb-PrivateB") {
				t.Errorf("Err does not name the table: %v", re.Err)
			}
			if srv.RouteTarget("rtb-PrivateA", "10.1.0.20/32") != "eni-B" || srv.RouteTarget("rtb-PrivateB", "10.1.0.20/32") != "eni-A" {
				t.Errorf("routes %s", vipAWSTestTargets(srv))
			}
		} else if n := srv.Calls("ReplaceRoute"); n != 0 {
			t.Errorf("%d ReplaceRoute calls", n)
		}
	}
}

// Throttling within the SDK's retries still activates; an endpoint outage
// makes Check return an error (a warning by policy), not a Critical
// result; a timeout is 6.
func TestVIPAWSTestThrottleOutageTimeout(t *testing.T) {
	srv := vipAWSTestServer(t, awstest.Options{})
	ctx := context.Background()
	v, err := NewVIP(vipAWSTestClients(t, srv, "i-B", 10*time.Second), VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "eni-B"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Throttle("ReplaceRoute", 2)
	if err := v.Activate(ctx, vipNode2); err != nil {
		t.Fatalf("throttled activation: %v", err)
	}
	if n := srv.Calls("ReplaceRoute"); n != 5 {
		t.Errorf("%d ReplaceRoute calls, want 3 + 2 retried", n)
	}
	srv.SetOutage(true)
	res, err := v.Check(ctx, vipNode2)
	if err == nil {
		t.Fatalf("outage: Check returned %+v and no error", res)
	}
	if re := vipAsRE(t, err); re.Code != ha.CodeFailed {
		t.Errorf("outage error %v, want code 5", err)
	}
	srv.SetOutage(false)

	slow, err := NewVIP(vipAWSTestClients(t, srv, "i-B", 200*time.Millisecond), VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "eni-A"})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetLatency(time.Second, time.Second)
	err = slow.Activate(ctx, vipNode1)
	srv.SetLatency(0, 0)
	if got, want := ha.ActivateMessage("awsvip1", err), "Activating awsvip1 resource has failed.(6 : Timeout occurred.)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// Eventual consistency: a 1 s delay is waited out within VerifyTimeout
// 5 s, and gives 6 with 300 ms.
func TestVIPAWSTestConsistencyDelay(t *testing.T) {
	srv := vipAWSTestServer(t, awstest.Options{})
	ctx := context.Background()
	c := vipAWSTestClients(t, srv, "i-B", 5*time.Second)
	srv.SetConsistencyDelay(time.Second)
	b, err := NewVIP(c, VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "eni-B", VerifyTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := b.Activate(ctx, vipNode2); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < time.Second {
		t.Errorf("verified after %s, before the writes were visible", d)
	}
	a, err := NewVIP(c, VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "eni-A", VerifyTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = a.Activate(ctx, vipNode1)
	if got, want := ha.ActivateMessage("awsvip1", err), "Activating awsvip1 resource has failed.(6 : Timeout occurred.)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap the deadline", err)
	}
}

// BenchmarkVIPActivate moves the VIP between two nodes' ENIs (3 route
// tables) against the test endpoint with 100-300 ms per AWS call, and
// reports the AWS calls per activation.
func BenchmarkVIPActivate(b *testing.B) {
	srv := vipAWSTestServer(b, awstest.Options{Latency: [2]time.Duration{100 * time.Millisecond, 300 * time.Millisecond}, Seed: 1})
	c := vipAWSTestClients(b, srv, "i-B", 5*time.Second)
	var nodes [2]*VIP
	for i, eni := range []string{"eni-B", "eni-A"} {
		v, err := NewVIP(c, VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: eni})
		if err != nil {
			b.Fatal(err)
		}
		nodes[i] = v
	}
	ctx := context.Background()
	srv.ResetCalls()
	i := 0
	for b.Loop() {
		if err := nodes[i%2].Activate(ctx, vipNode2); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(srv.Calls(""))/float64(i), "calls/op")
	b.ReportMetric(float64(srv.Calls("ReplaceRoute"))/float64(i), "writes/op")
}

// A virtual IP moved to node B's ENI against the test endpoint: every
// route of the VPC that holds 10.1.0.20/32 now leads to eni-B, and the
// monitor says so.
func ExampleNewVIP() {
	srv := awstest.New(awstest.Options{})
	defer srv.Close()
	srv.AddVPC("vpc-1", "10.0.0.0/16")
	srv.AddSubnet("subnet-1", "vpc-1", "ap-northeast-1a", "10.0.10.0/24")
	srv.AddInstance("i-A", "ap-northeast-1a")
	srv.AddInstance("i-B", "ap-northeast-1a")
	srv.AddENI("eni-A", "subnet-1", "i-A", "10.0.10.10")
	srv.AddENI("eni-B", "subnet-1", "i-B", "10.0.10.11")
	srv.AddRouteTable("rtb-1", "vpc-1", awstest.Route{Destination: "10.1.0.20/32", ENI: "eni-A"})
	srv.AddRouteTable("rtb-2", "vpc-1", awstest.Route{Destination: "10.1.0.20/32", ENI: "eni-A"})

	// Credentials come from the SDK's default chain: here, test keys
	// put in the environment for the example's duration.
	defer vipExampleEnv()()
	ctx := context.Background()
	c, err := Load(ctx, Config{Region: "ap-northeast-1", Endpoint: srv.URL(), IMDSEndpoint: srv.IMDS("i-B")})
	if err != nil {
		log.Fatal(err)
	}
	vip, err := NewVIP(c, VIPConfig{IP: "10.1.0.20", VPC: "vpc-1"}) // ENI: this instance's primary one
	if err != nil {
		log.Fatal(err)
	}
	if err := vip.Activate(ha.WithEpoch(ctx, 2), ha.NodeTarget("node2")); err != nil {
		log.Fatal(err)
	}
	fmt.Println(srv.RouteTarget("rtb-1", "10.1.0.20/32"), srv.RouteTarget("rtb-2", "10.1.0.20/32"))
	res, err := vip.Check(ctx, ha.NodeTarget("node2"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.Message)

	// Another actor re-points a route: the monitor's error line.
	srv.SetRoute("rtb-2", "10.1.0.20/32", "eni-A")
	res, _ = vip.Check(ctx, ha.NodeTarget("node2"))
	fmt.Println(ha.MonitorErrorMessage("awsvipw1", &ha.ResourceError{Code: res.Code, Detail: res.Message}))
	// Output:
	// eni-B eni-B
	// OK The routing for VIP 10.1.0.20 leads to eni-B in rtb-1, rtb-2.
	// Detected an error in monitoring awsvipw1. (8 : The routing for VIP 10.1.0.20 was changed.)
}

// vipExampleEnv puts test credentials in the environment and returns
// what puts it back.
func vipExampleEnv() func() {
	set := map[string]string{"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_PROFILE": ""}
	old := map[string]*string{}
	for k, v := range set {
		if o, ok := os.LookupEnv(k); ok {
			old[k] = &o
		} else {
			old[k] = nil
		}
		os.Setenv(k, v)
	}
	return func() {
		for k, o := range old {
			if o == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *o)
			}
		}
	}
}
