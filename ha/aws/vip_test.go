package aws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/monitor"
)

var vipNode1, vipNode2 = ha.NodeTarget("node1"), ha.NodeTarget("node2")

// vipFakeLocal is the local interface of a test node.
type vipFakeLocal struct {
	mu    sync.Mutex
	addrs map[string]bool // "eth0 10.1.0.20"
	err   error
}

func (l *vipFakeLocal) add(ifname string, ip netip.Addr) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	l.addrs[ifname+" "+ip.String()] = true
	return nil
}

func (l *vipFakeLocal) del(ifname string, ip netip.Addr) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	delete(l.addrs, ifname+" "+ip.String())
	return nil
}

func (l *vipFakeLocal) has(ifname string, ip netip.Addr) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addrs[ifname+" "+ip.String()], l.err
}

// newVIPFor returns a VIP on vpc-1 for 10.1.0.20 with eni, over w.
func newVIPFor(t *testing.T, w *ec2World, eni string, mod ...func(*VIPConfig)) (*VIP, *fakeEC2) {
	t.Helper()
	f := &fakeEC2{}
	w.install(f)
	cfg := VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: eni, VerifyTimeout: 2 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	v, err := NewVIP(ec2FakeClients(f, &imdsFake{items: imdsItems()}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v, f
}

func TestVIPConfigValidate(t *testing.T) {
	ok := VIPConfig{IP: "10.1.0.20", VPC: "vpc-0123456789abcdef0", ENI: "eni-0a1b", Interface: "eth0", VerifyTimeout: time.Second}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	if err := (VIPConfig{IP: "10.1.0.20", VPC: "vpc-1"}).Validate(); err != nil {
		t.Fatalf("config without ENI and interface refused: %v", err)
	}
	for _, tc := range []struct {
		cfg  VIPConfig
		want string
	}{
		{VIPConfig{IP: "", VPC: "vpc-1"}, `ip: "": want an IPv4 address`},
		{VIPConfig{IP: "10.1.0.20/32", VPC: "vpc-1"}, `ip: "10.1.0.20/32": want an IPv4 address such as 10.1.0.20, without a prefix`},
		{VIPConfig{IP: "fd00::1", VPC: "vpc-1"}, `ip: "fd00::1": want an IPv4 address`},
		{VIPConfig{IP: "::ffff:10.1.0.20", VPC: "vpc-1"}, `ip: "::ffff:10.1.0.20": want an IPv4 address`},
		{VIPConfig{IP: "127.0.0.2", VPC: "vpc-1"}, `ip: "127.0.0.2": want a unicast address`},
		{VIPConfig{IP: "169.254.169.254", VPC: "vpc-1"}, `want a unicast address`},
		{VIPConfig{IP: "224.0.0.1", VPC: "vpc-1"}, `want a unicast address`},
		{VIPConfig{IP: "255.255.255.255", VPC: "vpc-1"}, `want a unicast address`},
		{VIPConfig{IP: "10.1.0.20", VPC: ""}, `vpc: "": want a VPC ID such as vpc-0123456789abcdef0`},
		{VIPConfig{IP: "10.1.0.20", VPC: "subnet-1"}, `vpc: "subnet-1": want a VPC ID`},
		{VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "i-0123"}, `eni: "i-0123": want an ENI ID`},
		{VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "eni-"}, `eni: "eni-": want an ENI ID`},
		{VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", Interface: "eth0/1"}, `interface: "eth0/1": want a network interface name`},
		{VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", Interface: "averyveryverylongname"}, `interface: "averyveryverylongname"`},
		{VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", VerifyTimeout: -time.Second}, `verify_timeout: -1s: want a duration of 0 (the default 10s) or more`},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want it to say %q", tc.cfg, err, tc.want)
		}
	}
	// Every problem at once.
	err := VIPConfig{IP: "x", VPC: "y", ENI: "z"}.Validate()
	for _, w := range []string{"ip:", "vpc:", "eni:"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("joined error %v does not say %q", err, w)
		}
	}
	if _, err := NewVIP(nil, ok); err == nil {
		t.Error("NewVIP without clients: no error")
	}
	if _, err := NewVIP(&Clients{}, VIPConfig{}); err == nil || !strings.Contains(err.Error(), "aws: virtual IP: invalid config: ip:") {
		t.Errorf("NewVIP of an invalid config: %v", err)
	}
	v, err := NewVIP(&Clients{}, VIPConfig{IP: "10.1.0.20", VPC: "vpc-1"})
	if err != nil || v.Config().VerifyTimeout != DefaultVIPVerifyTimeout {
		t.Errorf("defaults: %+v, %v", v.Config(), err)
	}
}

// Guide §6.2 items 3 and 4: on node B, exactly the three tables of vpc-1
// holding the route are re-pointed, not rtb-x (no route) nor vpc-2's
// table; then the monitor is normal (item 11).
func TestVIPActivateRepointsEveryTable(t *testing.T) {
	w := vipWorld()
	v, f := newVIPFor(t, w, "eni-B")
	if err := v.Activate(context.Background(), vipNode2); err != nil {
		t.Fatal(err)
	}
	got := f.called("ReplaceRoute")
	slices.Sort(got)
	want := []string{
		"ReplaceRoute rtb-PrivateA 10.1.0.20/32 eni-B",
		"ReplaceRoute rtb-PrivateB 10.1.0.20/32 eni-B",
		"ReplaceRoute rtb-PublicAB 10.1.0.20/32 eni-B",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ReplaceRoute calls %q, want %q", got, want)
	}
	for _, id := range []string{"rtb-PublicAB", "rtb-PrivateA", "rtb-PrivateB"} {
		if r := w.route(id, "10.1.0.20/32"); r != "eni-B" {
			t.Errorf("%s: route leads to %s, want eni-B", id, r)
		}
	}
	if r := w.route("rtb-other", "10.1.0.20/32"); r != "eni-C" {
		t.Errorf("vpc-2's table was changed: %s", r)
	}
	if _, ok := w.tables["rtb-x"].routes["10.1.0.20/32"]; ok {
		t.Error("a route was added to rtb-x")
	}
	if n := len(f.called("DescribeVpcs vpc-1")); n != 1 {
		t.Errorf("DescribeVpcs called %d times", n)
	}
	if n := len(f.called("DescribeNetworkInterfaces eni-B")); n != 1 {
		t.Errorf("DescribeNetworkInterfaces called %d times", n)
	}
	res, err := v.Check(context.Background(), vipNode2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != monitor.OK || res.Message != "The routing for VIP 10.1.0.20 leads to eni-B in rtb-PrivateA, rtb-PrivateB, rtb-PublicAB." {
		t.Errorf("check after activation: %+v", res)
	}

	// Activating again changes nothing: no write.
	f.reset()
	if err := v.Activate(context.Background(), vipNode2); err != nil {
		t.Fatal(err)
	}
	if c := f.called("ReplaceRoute"); len(c) != 0 {
		t.Errorf("second activation wrote %q", c)
	}
}

// Guide §6.2 item 5: each node targets its own ENI; an empty ENI is the
// instance's primary one, from the instance metadata.
func TestVIPPerNodeENI(t *testing.T) {
	w := vipWorld()
	a, fa := newVIPFor(t, w, "eni-A")
	w.setRoute("rtb-PrivateA", "10.1.0.20/32", "eni-B")
	if err := a.Activate(context.Background(), vipNode1); err != nil {
		t.Fatal(err)
	}
	if got := fa.called("ReplaceRoute"); !slices.Equal(got, []string{"ReplaceRoute rtb-PrivateA 10.1.0.20/32 eni-A"}) {
		t.Errorf("node1 wrote %q", got)
	}

	b, fb := newVIPFor(t, w, "")
	md := b.c.imds.(*imdsFake)
	if err := b.Activate(context.Background(), vipNode2); err != nil {
		t.Fatal(err)
	}
	if n := len(fb.called("ReplaceRoute")); n != 3 {
		t.Errorf("node2 wrote %d routes, want 3", n)
	}
	for _, c := range fb.called("ReplaceRoute") {
		if !strings.HasSuffix(c, " eni-B") {
			t.Errorf("node2 wrote %q, want its primary ENI eni-B", c)
		}
	}
	eni, err := b.ENI(context.Background())
	if err != nil || eni != "eni-B" {
		t.Errorf("ENI() = %q, %v", eni, err)
	}
	calls := md.calls
	if _, err := b.Check(context.Background(), vipNode2); err != nil {
		t.Fatal(err)
	}
	if md.calls != calls {
		t.Error("the instance metadata was asked again: the ENI is not remembered")
	}
}

// Guide §6.2 item 1 and 2: a VIP inside the VPC's CIDR (primary or
// associated) is refused with code 7 and no route is touched.
func TestVIPInsideVPC(t *testing.T) {
	w := vipWorld()
	w.vpcs["vpc-1"] = []string{"10.0.0.0/16", "10.1.0.0/24"}
	for _, tc := range []struct{ ip, line string }{
		{"10.0.5.5", "Activating awsvip1 resource has failed.(7 : The VIP address 10.0.5.5 belongs to a VPC subnet.)"},
		{"10.1.0.20", "Activating awsvip1 resource has failed.(7 : The VIP address 10.1.0.20 belongs to a VPC subnet.)"},
	} {
		v, f := newVIPFor(t, w, "eni-B", func(c *VIPConfig) { c.IP = tc.ip })
		err := v.Activate(context.Background(), vipNode2)
		if got := ha.ActivateMessage("awsvip1", err); got != tc.line {
			t.Errorf("got  %s\nwant %s", got, tc.line)
		}
		if re := vipAsRE(t, err); re.Code != CodeVIPInVPC || !strings.Contains(re.Err.Error(), "10.0.0.0/16") && !strings.Contains(re.Err.Error(), "10.1.0.0/24") {
			t.Errorf("error %+v does not name the block", re)
		}
		if c := f.called("ReplaceRoute"); len(c) != 0 {
			t.Errorf("ReplaceRoute called: %q", c)
		}
	}
}

// Only blocks in use count: a disassociated or failed one does not.
func TestVIPInVPCBlocks(t *testing.T) {
	blk := func(cidr string, st types.VpcCidrBlockStateCode) types.VpcCidrBlockAssociation {
		return types.VpcCidrBlockAssociation{CidrBlock: sdkaws.String(cidr), CidrBlockState: &types.VpcCidrBlockState{State: st}}
	}
	vpc := &types.Vpc{CidrBlock: sdkaws.String("10.0.0.0/16"), CidrBlockAssociationSet: []types.VpcCidrBlockAssociation{
		blk("10.0.0.0/16", types.VpcCidrBlockStateCodeAssociated),
		blk("10.1.0.0/24", types.VpcCidrBlockStateCodeDisassociated),
		blk("10.2.0.0/24", types.VpcCidrBlockStateCodeFailed),
		blk("10.3.0.0/24", types.VpcCidrBlockStateCodeAssociating),
		blk("not a block", types.VpcCidrBlockStateCodeAssociated),
	}}
	for ip, want := range map[string]string{"10.0.9.9": "10.0.0.0/16", "10.1.0.20": "", "10.2.0.1": "", "10.3.0.7": "10.3.0.0/24", "192.168.0.1": ""} {
		got, ok := vipInVPC(vpc, netip.MustParseAddr(ip))
		if got != want || ok != (want != "") {
			t.Errorf("%s: in %q (%v), want %q", ip, got, ok, want)
		}
	}
}

// Guide §6.2 items 6 and 7 and the designed cases: the AWS texts, verbatim.
func TestVIPActivateErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(*ec2World, *VIPConfig, *fakeEC2)
		line  string
		errIs string
	}{
		{"no VPC", func(_ *ec2World, c *VIPConfig, _ *fakeEC2) { c.VPC = "vpc-deadbeef" },
			"Activating awsvip1 resource has failed.(5 : The vpc ID 'vpc-deadbeef' does not exist)", ""},
		{"no ENI", func(_ *ec2World, c *VIPConfig, _ *fakeEC2) { c.ENI = "eni-deadbeef" },
			"Activating awsvip1 resource has failed.(5 : The networkInterface ID 'eni-deadbeef' does not exist)", ""},
		{"ENI of another VPC", func(_ *ec2World, c *VIPConfig, _ *fakeEC2) { c.ENI = "eni-C" },
			"Activating awsvip1 resource has failed.(5 : The networkInterface ID 'eni-C' belongs to vpc-2, not to vpc-1.)", ""},
		{"no route anywhere", func(w *ec2World, _ *VIPConfig, _ *fakeEC2) {
			for _, id := range []string{"rtb-PublicAB", "rtb-PrivateA", "rtb-PrivateB"} {
				delete(w.tables[id].routes, "10.1.0.20/32")
			}
		}, "Activating awsvip1 resource has failed.(5 : None of the route tables of vpc-1 has a route for 10.1.0.20/32. As in CLUSTERPRO, add it beforehand to every route table whose clients use the VIP (to any cluster node's ENI): the AWS virtual IP resource re-points it, it does not create it.)", ""},
		{"AWS does not answer", func(_ *ec2World, _ *VIPConfig, f *fakeEC2) {
			f.describeVpcs = func(context.Context, *ec2.DescribeVpcsInput) (*ec2.DescribeVpcsOutput, error) {
				return nil, &vipOpErr{errors.New("dial tcp 10.0.0.1:443: connect: connection refused")}
			}
		}, "Activating awsvip1 resource has failed.(5 : Failed in the AWS CLI command.)", "connection refused"},
		{"route table listing refused", func(_ *ec2World, _ *VIPConfig, f *fakeEC2) {
			f.describeRouteTables = func(context.Context, *ec2.DescribeRouteTablesInput) (*ec2.DescribeRouteTablesOutput, error) {
				return nil, ec2FakeErr("DescribeRouteTables", "UnauthorizedOperation", "You are not authorized to perform this operation. Encoded authorization failure message: abc")
			}
		}, "Activating awsvip1 resource has failed.(5 : You are not authorized to perform this operation.)", "Encoded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := vipWorld()
			f := &fakeEC2{}
			w.install(f)
			cfg := VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "eni-B"}
			tc.mod(w, &cfg, f)
			v, err := NewVIP(ec2FakeClients(f, nil), cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = v.Activate(context.Background(), vipNode2)
			if got := ha.ActivateMessage("awsvip1", err); got != tc.line {
				t.Errorf("got  %s\nwant %s", got, tc.line)
			}
			if tc.errIs != "" && !strings.Contains(vipAsRE(t, err).Err.Error(), tc.errIs) {
				t.Errorf("Err %v does not keep the cause %q", vipAsRE(t, err).Err, tc.errIs)
			}
			if c := f.called("ReplaceRoute"); len(c) != 0 {
				t.Errorf("ReplaceRoute called: %q", c)
			}
		})
	}
}

// vipOpErr is a transport failure wrapped as the SDK wraps it.
type vipOpErr struct{ err error }

func (e *vipOpErr) Error() string { return "operation error EC2: DescribeVpcs, " + e.err.Error() }
func (e *vipOpErr) Unwrap() error { return e.err }

// Guide §6.2 item 8: ReplaceRoute refused on one table: the verbatim
// text, the table named in Err and the log, the other tables still done.
func TestVIPUnauthorizedTable(t *testing.T) {
	w := vipWorld()
	var logBuf bytes.Buffer
	f := &fakeEC2{}
	w.install(f)
	replace := f.replaceRoute
	f.replaceRoute = func(ctx context.Context, in *ec2.ReplaceRouteInput) (*ec2.ReplaceRouteOutput, error) {
		if *in.RouteTableId == "rtb-PrivateB" {
			return nil, ec2FakeErr("ReplaceRoute", "UnauthorizedOperation", "You are not authorized to perform this operation. Encoded authorization failure message: q1w2e3")
		}
		return replace(ctx, in)
	}
	v, err := NewVIP(ec2FakeClients(f, nil), VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "eni-B"}, WithLogger(slog.New(slog.NewTextHandler(&logBuf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	err = v.Activate(context.Background(), vipNode2)
	want := "Activating awsvip1 resource has failed.(5 : You are not authorized to perform this operation.)"
	if got := ha.ActivateMessage("awsvip1", err); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	re := vipAsRE(t, err)
	if !strings.Contains(re.Err.Error(), "route tables rtb-PrivateB") || strings.Contains(re.Err.Error(), "rtb-PrivateA") {
		t.Errorf("Err %q should name rtb-PrivateB alone", re.Err)
	}
	if !strings.Contains(logBuf.String(), "table=rtb-PrivateB") {
		t.Errorf("log does not name the table:\n%s", logBuf.String())
	}
	if w.route("rtb-PrivateA", "10.1.0.20/32") != "eni-B" || w.route("rtb-PublicAB", "10.1.0.20/32") != "eni-B" {
		t.Error("the tables that were allowed were not re-pointed")
	}
}

// The tables are re-pointed in parallel: every ReplaceRoute is in flight
// before any returns.
func TestVIPReplaceInParallel(t *testing.T) {
	w := vipWorld()
	f := &fakeEC2{}
	w.install(f)
	replace := f.replaceRoute
	var inFlight, peak atomic.Int32
	all := make(chan struct{})
	var once sync.Once
	f.replaceRoute = func(ctx context.Context, in *ec2.ReplaceRouteInput) (*ec2.ReplaceRouteOutput, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n == 3 {
			once.Do(func() { close(all) })
		}
		select {
		case <-all:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return replace(ctx, in)
	}
	v, err := NewVIP(ec2FakeClients(f, nil), VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "eni-B"})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Activate(context.Background(), vipNode2); err != nil {
		t.Fatal(err)
	}
	if peak.Load() != 3 {
		t.Errorf("at most %d ReplaceRoute calls in flight, want 3", peak.Load())
	}
}

// Guide §6.2 item 9: AWS does not answer within the activation's
// deadline (or the per-call timeout): code 6.
func TestVIPTimeout(t *testing.T) {
	w := vipWorld()
	f := &fakeEC2{}
	w.install(f)
	f.describeRouteTables = func(ctx context.Context, _ *ec2.DescribeRouteTablesInput) (*ec2.DescribeRouteTablesOutput, error) {
		<-ctx.Done()
		return nil, fmt.Errorf("operation error EC2: DescribeRouteTables, %w", ctx.Err())
	}
	c := ec2FakeClients(f, nil)
	c.timeout = 50 * time.Millisecond
	v, err := NewVIP(c, VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "eni-B"})
	if err != nil {
		t.Fatal(err)
	}
	err = v.Activate(context.Background(), vipNode2)
	if got, want := ha.ActivateMessage("awsvip1", err), "Activating awsvip1 resource has failed.(6 : Timeout occurred.)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// In Check, the same is an error (AWS could not be asked), not a
	// Critical result: the warning 106 by default.
	res, err := v.Check(context.Background(), vipNode2)
	if err == nil {
		t.Fatalf("Check returned %+v and no error", res)
	}
	re := vipAsRE(t, err)
	if got, want := ha.MonitorWarnMessage("awsvipw1", re.Code+ha.WarnOffset, re.Detail), "Warn monitoring awsvipw1. (106 : Timeout occurred.)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// The read-back tolerates eventual consistency within VerifyTimeout, and
// gives 6 past it.
func TestVIPVerifyEventualConsistency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := vipWorld()
		v, f := newVIPFor(t, w, "eni-B")
		w.setStale(3)
		if err := v.Activate(context.Background(), vipNode2); err != nil {
			t.Fatal(err)
		}
		// 1 listing before the writes, 3 stale, 1 good.
		if n := len(f.called("DescribeRouteTables")); n != 5*3 {
			t.Errorf("%d route table pages read, want 15 (5 listings of 3 pages)", n)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		w := vipWorld()
		v, _ := newVIPFor(t, w, "eni-B", func(c *VIPConfig) { c.VerifyTimeout = 300 * time.Millisecond })
		w.setStale(1000)
		t0 := time.Now()
		err := v.Activate(context.Background(), vipNode2)
		if got, want := ha.ActivateMessage("awsvip1", err), "Activating awsvip1 resource has failed.(6 : Timeout occurred.)"; got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
		if d := time.Since(t0); d < 300*time.Millisecond || d > 400*time.Millisecond {
			t.Errorf("gave up after %s, want 300ms", d)
		}
		re := vipAsRE(t, err)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(re.Err.Error(), "still rtb-PrivateA → eni-A") {
			t.Errorf("Err %v does not say how things stood", re.Err)
		}
	})
}

// Guide §6.2 items 10 and 11, and the designed item 12.
func TestVIPCheck(t *testing.T) {
	w := vipWorld()
	local := &vipFakeLocal{addrs: map[string]bool{}}
	v, f := newVIPFor(t, w, "eni-B", func(c *VIPConfig) { c.Interface = "eth0" })
	v.local = local
	if err := v.Activate(context.Background(), vipNode2); err != nil {
		t.Fatal(err)
	}
	if !local.addrs["eth0 10.1.0.20"] {
		t.Fatal("the VIP was not added to eth0")
	}
	res, err := v.Check(context.Background(), vipNode2)
	if err != nil || res.Status != monitor.OK || !strings.HasSuffix(res.Message, " The VIP address is on interface eth0.") {
		t.Fatalf("check: %+v, %v", res, err)
	}

	// Another ENI.
	w.setRoute("rtb-PrivateB", "10.1.0.20/32", "eni-Z")
	res, err = v.Check(context.Background(), vipNode2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := vipCritLine("awsvipw1", res), "Detected an error in monitoring awsvipw1. (8 : The routing for VIP 10.1.0.20 was changed.)"; got != want || res.Status != monitor.Critical || res.Code != CodeVIPRouteChanged {
		t.Errorf("got  %s (%s)\nwant %s", got, res.Status, want)
	}
	// A blackhole, also one that names this node's ENI (its instance
	// was stopped, or the ENI detached).
	for _, target := range []string{"", "eni-B!"} {
		w.setRoute("rtb-PrivateB", "10.1.0.20/32", target)
		if res, _ = v.Check(context.Background(), vipNode2); res.Code != CodeVIPRouteChanged {
			t.Errorf("blackhole %q: %+v", target, res)
		}
	}
	// Activation re-points a blackhole that names this node's ENI.
	f.reset()
	if err := v.Activate(context.Background(), vipNode2); err != nil {
		t.Fatal(err)
	}
	if got := f.called("ReplaceRoute"); !slices.Equal(got, []string{"ReplaceRoute rtb-PrivateB 10.1.0.20/32 eni-B"}) {
		t.Errorf("blackhole repair wrote %q", got)
	}
	// No route left at all.
	for _, id := range []string{"rtb-PublicAB", "rtb-PrivateA", "rtb-PrivateB"} {
		delete(w.tables[id].routes, "10.1.0.20/32")
	}
	if res, _ = v.Check(context.Background(), vipNode2); res.Code != CodeVIPRouteChanged {
		t.Errorf("no route: %+v", res)
	}
	for _, id := range []string{"rtb-PublicAB", "rtb-PrivateA", "rtb-PrivateB"} {
		w.setRoute(id, "10.1.0.20/32", "eni-B")
	}

	// The VIP gone from the interface.
	delete(local.addrs, "eth0 10.1.0.20")
	res, err = v.Check(context.Background(), vipNode2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := vipCritLine("awsvipw1", res), "Detected an error in monitoring awsvipw1. (9 : The VIP address 10.1.0.20 does not exist on the own server.)"; got != want || res.Code != CodeVIPNotLocal {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// ...is detected even while AWS cannot be asked.
	f.describeRouteTables = func(context.Context, *ec2.DescribeRouteTablesInput) (*ec2.DescribeRouteTablesOutput, error) {
		return nil, ec2FakeErr("DescribeRouteTables", "RequestLimitExceeded", "Request limit exceeded.")
	}
	if res, err = v.Check(context.Background(), vipNode2); err != nil || res.Code != CodeVIPNotLocal {
		t.Errorf("VIP missing during an outage: %+v, %v", res, err)
	}
	// AWS refusing, with the VIP in place: an error with AWS's text.
	local.addrs["eth0 10.1.0.20"] = true
	res, err = v.Check(context.Background(), vipNode2)
	re := vipAsRE(t, err)
	if got, want := ha.MonitorWarnMessage("awsvipw1", re.Code+ha.WarnOffset, re.Detail), "Warn monitoring awsvipw1. (105 : Request limit exceeded.)"; got != want {
		t.Errorf("got  %s (result %+v)\nwant %s", got, res, want)
	}
}

// Recovery from drift (item 10): the restart (Deactivate, Activate)
// re-points the changed route, and Deactivate leaves the routes alone.
func TestVIPRestartRepairsDrift(t *testing.T) {
	w := vipWorld()
	local := &vipFakeLocal{addrs: map[string]bool{}}
	v, f := newVIPFor(t, w, "eni-A", func(c *VIPConfig) { c.Interface = "eth0" })
	v.local = local
	ctx := context.Background()
	if err := v.Activate(ctx, vipNode1); err != nil {
		t.Fatal(err)
	}
	w.setRoute("rtb-PublicAB", "10.1.0.20/32", "eni-Z")
	f.reset()
	if err := v.Deactivate(ctx, vipNode1); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 0 {
		t.Errorf("Deactivate called AWS: %q", f.calls)
	}
	if local.addrs["eth0 10.1.0.20"] {
		t.Error("Deactivate left the VIP on eth0")
	}
	if err := v.Deactivate(ctx, vipNode1); err != nil {
		t.Errorf("second Deactivate: %v", err)
	}
	if err := v.Activate(ctx, vipNode1); err != nil {
		t.Fatal(err)
	}
	if got := f.called("ReplaceRoute"); !slices.Equal(got, []string{"ReplaceRoute rtb-PublicAB 10.1.0.20/32 eni-A"}) {
		t.Errorf("repair wrote %q", got)
	}
	if res, err := v.Check(ctx, vipNode1); err != nil || res.Status != monitor.OK {
		t.Errorf("after repair: %+v, %v", res, err)
	}
	// A local failure is code 5 naming the interface.
	local.err = errors.New("no such network interface")
	err := v.Deactivate(ctx, vipNode1)
	if got, want := ha.DeactivateMessage("awsvip1", err), "Deactivating awsvip1 resource has failed.(5 : Could not remove the VIP address 10.1.0.20 from interface eth0 of the own server: no such network interface)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// The ha engine runs the VIP's monitor and, on drift, restarts the
// resource, which re-points the route (guide T4: "the AWS virtual IP
// resource is automatically restarted").
func TestVIPEngineRecoversDrift(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := vipWorld()
		v, _ := newVIPFor(t, w, "eni-A")
		var mu sync.Mutex
		var lines []string
		eng, err := ha.NewEngine("node1", []ha.Group{{Name: "failover1", Nodes: []string{"node1", "node2"},
			Members: []ha.Member{{Name: "awsvip1", Resource: v, Policy: ha.RecoveryPolicy{Interval: 10 * time.Second, Retries: -1}}}}},
			ha.WithEvents(func(ev ha.Event) {
				mu.Lock()
				defer mu.Unlock()
				lines = append(lines, string(ev.Kind)+": "+ev.Message)
			}))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := eng.Online(ctx, "failover1", 1); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = eng.Run(ctx); close(done) }()
		time.Sleep(5 * time.Second)
		w.setRoute("rtb-PrivateA", "10.1.0.20/32", "eni-Z")
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if r := w.route("rtb-PrivateA", "10.1.0.20/32"); r != "eni-A" {
			t.Errorf("route after recovery leads to %s, want eni-A", r)
		}
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		text := strings.Join(lines, "\n")
		for _, want := range []string{
			"monitor_error: Detected an error in monitoring awsvip1. (8 : The routing for VIP 10.1.0.20 was changed.)",
			"restart: Restarting awsvip1 resource",
			"monitor_recovered:",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("events lack %q:\n%s", want, text)
			}
		}
	})
}

func TestVIPLocalRefusedOutsideLinux(t *testing.T) {
	if vipLocalSupported {
		t.Skip("local addresses are supported here")
	}
	if _, err := NewVIP(&Clients{}, VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", Interface: "eth0"}); err == nil || !strings.Contains(err.Error(), "not supported on") {
		t.Errorf("NewVIP with an interface: %v", err)
	}
}

// An activation logs the epoch it acts under and warns of an ENI whose
// Source/Dest. Check is on (guide T3: activation succeeds, ping fails).
func TestVIPLogsEpochAndSourceDestCheck(t *testing.T) {
	w := vipWorld()
	w.sdc["eni-B"] = true
	var logBuf bytes.Buffer
	f := &fakeEC2{}
	w.install(f)
	v, err := NewVIP(ec2FakeClients(f, nil), VIPConfig{IP: "10.1.0.20", VPC: "vpc-1", ENI: "eni-B"}, WithLogger(slog.New(slog.NewTextHandler(&logBuf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Activate(ha.WithEpoch(context.Background(), 42), vipNode2); err != nil {
		t.Fatal(err)
	}
	out := logBuf.String()
	for _, want := range []string{"epoch=42", "Source/Dest. Check enabled", "route re-pointed"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func FuzzVIPConfig(f *testing.F) {
	for _, s := range []string{"10.1.0.20", "10.1.0.20/32", "::1", "", "1.2.3.4%eth0", "vpc-1", "eni-1", "eth0", "255.255.255.255"} {
		f.Add(s, "vpc-1", "eni-1", "eth0")
	}
	f.Fuzz(func(t *testing.T, ip, vpc, eni, ifname string) {
		cfg := VIPConfig{IP: ip, VPC: vpc, ENI: eni, Interface: ifname}
		err := cfg.Validate()
		if err != nil {
			return
		}
		a, perr := vipParseIP(ip)
		if perr != nil || !a.Is4() {
			t.Fatalf("accepted ip %q", ip)
		}
		if !strings.HasPrefix(vpc, "vpc-") || eni != "" && !strings.HasPrefix(eni, "eni-") {
			t.Fatalf("accepted vpc %q eni %q", vpc, eni)
		}
	})
}

// A virtual IP must be an IPv4 address outside the VPC; the IDs are
// checked for their form (whether they exist is AWS's answer, at
// activation).
func ExampleVIPConfig_Validate() {
	cfg := VIPConfig{IP: "10.1.0.20/32", VPC: "vpc-0a1b2c3d", ENI: "i-0a1b2c3d"}
	fmt.Println(cfg.Validate())
	// Output:
	// ip: "10.1.0.20/32": want an IPv4 address such as 10.1.0.20, without a prefix (the route is always /32)
	// eni: "i-0a1b2c3d": want an ENI ID such as eni-0123456789abcdef0, or nothing for this instance's primary ENI
}
