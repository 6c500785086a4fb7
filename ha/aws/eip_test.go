package aws

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/monitor"
)

// eipWorld: eipalloc-1 (203.0.113.10) associated with eni-A; ENIs eni-A
// and eni-B.
func eipWorld() *ec2World {
	w := newEC2World()
	w.enis["eni-A"], w.enis["eni-B"] = "vpc-1", "vpc-1"
	w.addrs["eipalloc-1"] = &ec2FakeAddr{publicIP: "203.0.113.10", eni: "eni-A", privateIP: "10.0.10.10", assoc: "eipassoc-a"}
	return w
}

func newEIPFor(t *testing.T, w *ec2World, eni string, mod ...func(*EIPConfig)) (*EIP, *fakeEC2) {
	t.Helper()
	f := &fakeEC2{}
	w.install(f)
	cfg := EIPConfig{AllocationID: "eipalloc-1", ENI: eni, VerifyTimeout: 2 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	e, err := NewEIP(ec2FakeClients(f, &imdsFake{items: imdsItems()}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, f
}

func TestEIPConfigValidate(t *testing.T) {
	if err := (EIPConfig{AllocationID: "eipalloc-0123abcd", ENI: "eni-1", PrivateIP: "10.0.10.10"}).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  EIPConfig
		want string
	}{
		{EIPConfig{}, `allocation_id: "": want an Elastic IP allocation ID such as eipalloc-0123456789abcdef0`},
		{EIPConfig{AllocationID: "203.0.113.10"}, `allocation_id: "203.0.113.10": want an Elastic IP allocation ID`},
		{EIPConfig{AllocationID: "eipalloc-1", ENI: "eni_1"}, `eni: "eni_1": want an ENI ID`},
		{EIPConfig{AllocationID: "eipalloc-1", PrivateIP: "10.0.10.10/24"}, `private_ip: "10.0.10.10/24": want an IPv4 address of the ENI`},
		{EIPConfig{AllocationID: "eipalloc-1", VerifyTimeout: -1}, `verify_timeout: -1ns: want a duration of 0 (the default 10s) or more`},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
	if _, err := NewEIP(nil, EIPConfig{AllocationID: "eipalloc-1"}); err == nil {
		t.Error("NewEIP without clients: no error")
	}
	if _, err := NewEIP(&Clients{}, EIPConfig{}); err == nil || !strings.Contains(err.Error(), "aws: Elastic IP: invalid config: allocation_id") {
		t.Errorf("NewEIP of an invalid config: %v", err)
	}
}

// Guide §6.2 item 13: the EIP moves to node B's ENI. One AssociateAddress
// with reassociation does it (no disassociate-then-associate window);
// the monitor is then normal on B and Critical 7 on A.
func TestEIPActivateMoves(t *testing.T) {
	w := eipWorld()
	b, fb := newEIPFor(t, w, "eni-B")
	if err := b.Activate(context.Background(), vipNode2); err != nil {
		t.Fatal(err)
	}
	if got := fb.called("AssociateAddress"); !slices.Equal(got, []string{"AssociateAddress eipalloc-1 eni-B reassoc=true"}) {
		t.Errorf("calls %q", got)
	}
	if got := fb.called("DisassociateAddress"); len(got) != 0 {
		t.Errorf("disassociated on activation: %q", got)
	}
	if a := w.addrs["eipalloc-1"]; a.eni != "eni-B" {
		t.Errorf("address on %q", a.eni)
	}
	res, err := b.Check(context.Background(), vipNode2)
	if err != nil || res.Status != monitor.OK || res.Message != "The EIP address 203.0.113.10 (EIP ALLOCATION ID=eipalloc-1) is associated with eni-B (10.0.0.1)." {
		t.Errorf("check on B: %+v, %v", res, err)
	}
	a, _ := newEIPFor(t, w, "eni-A")
	res, err = a.Check(context.Background(), vipNode1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := vipCritLine("awseipw1", res), "Detected an error in monitoring awseipw1. (7 : The EIP address does not exist. (EIP ALLOCATION ID=eipalloc-1))"; got != want || res.Code != CodeEIPNotAssociated {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// Activating where it already is: no write.
	fb.reset()
	if err := b.Activate(context.Background(), vipNode2); err != nil {
		t.Fatal(err)
	}
	if got := fb.called("Associate"); len(got) != 0 {
		t.Errorf("second activation wrote %q", got)
	}
	// With a private IP configured, another private IP of the ENI is
	// not enough.
	bp, fbp := newEIPFor(t, w, "eni-B", func(c *EIPConfig) { c.PrivateIP = "10.0.120.11" })
	if err := bp.Activate(context.Background(), vipNode2); err != nil {
		t.Fatal(err)
	}
	if got := fbp.called("AssociateAddress"); len(got) != 1 || w.addrs["eipalloc-1"].privateIP != "10.0.120.11" {
		t.Errorf("calls %q, address %+v", got, *w.addrs["eipalloc-1"])
	}
}

// Guide §6.2 items 7 and 14: the AWS texts, verbatim; and the timeout.
func TestEIPActivateErrors(t *testing.T) {
	w := eipWorld()
	e, f := newEIPFor(t, w, "eni-B", func(c *EIPConfig) { c.AllocationID = "eipalloc-deadbeef" })
	err := e.Activate(context.Background(), vipNode2)
	if got, want := ha.ActivateMessage("awseip1", err), "Activating awseip1 resource has failed.(5 : The allocation ID 'eipalloc-deadbeef' does not exist)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if c := f.called("Associate"); len(c) != 0 {
		t.Errorf("associated an unknown allocation: %q", c)
	}
	e, f = newEIPFor(t, w, "eni-deadbeef")
	err = e.Activate(context.Background(), vipNode2)
	if got, want := ha.ActivateMessage("awseip1", err), "Activating awseip1 resource has failed.(5 : The networkInterface ID 'eni-deadbeef' does not exist)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if c := f.called("Associate"); len(c) != 0 {
		t.Errorf("associated despite errors: %q", c)
	}
	e, f = newEIPFor(t, w, "eni-B")
	f.associateAddress = func(ctx context.Context, _ *ec2.AssociateAddressInput) (*ec2.AssociateAddressOutput, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	e.c.timeout = 30 * time.Millisecond
	err = e.Activate(context.Background(), vipNode2)
	if got, want := ha.ActivateMessage("awseip1", err), "Activating awseip1 resource has failed.(6 : Timeout occurred.)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// The association is read back within VerifyTimeout, past stale reads.
func TestEIPVerify(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := eipWorld()
		e, f := newEIPFor(t, w, "eni-B")
		w.setStale(2)
		if err := e.Activate(context.Background(), vipNode2); err != nil {
			t.Fatal(err)
		}
		if n := len(f.called("DescribeAddresses")); n != 4 {
			t.Errorf("%d reads, want 4 (before, 2 stale, good)", n)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		w := eipWorld()
		e, _ := newEIPFor(t, w, "eni-B", func(c *EIPConfig) { c.VerifyTimeout = 300 * time.Millisecond })
		w.setStale(1000)
		err := e.Activate(context.Background(), vipNode2)
		if got, want := ha.ActivateMessage("awseip1", err), "Activating awseip1 resource has failed.(6 : Timeout occurred.)"; got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
		if re := vipAsRE(t, err); !strings.Contains(re.Err.Error(), "still associated with eni-A") {
			t.Errorf("Err %v", re.Err)
		}
	})
}

// Guide §6.2 item 15: lost association, or moved to another ENI: 7; the
// restart re-associates.
func TestEIPCheckAndRepair(t *testing.T) {
	w := eipWorld()
	a, f := newEIPFor(t, w, "eni-A")
	if res, err := a.Check(context.Background(), vipNode1); err != nil || res.Status != monitor.OK {
		t.Fatalf("check: %+v, %v", res, err)
	}
	want := "Detected an error in monitoring awseipw1. (7 : The EIP address does not exist. (EIP ALLOCATION ID=eipalloc-1))"
	*w.addrs["eipalloc-1"] = ec2FakeAddr{publicIP: "203.0.113.10"}
	res, err := a.Check(context.Background(), vipNode1)
	if err != nil || vipCritLine("awseipw1", res) != want || res.Status != monitor.Critical {
		t.Errorf("not associated: %s, %v", vipCritLine("awseipw1", res), err)
	}
	*w.addrs["eipalloc-1"] = ec2FakeAddr{publicIP: "203.0.113.10", eni: "eni-Z", assoc: "eipassoc-z"}
	if res, _ = a.Check(context.Background(), vipNode1); vipCritLine("awseipw1", res) != want {
		t.Errorf("on another ENI: %s", vipCritLine("awseipw1", res))
	}
	// The restart: Deactivate leaves the other ENI's association alone;
	// Activate moves it back.
	f.reset()
	if err := a.Deactivate(context.Background(), vipNode1); err != nil {
		t.Fatal(err)
	}
	if c := f.called("Disassociate"); len(c) != 0 {
		t.Errorf("took the address from another ENI: %q", c)
	}
	if err := a.Activate(context.Background(), vipNode1); err != nil {
		t.Fatal(err)
	}
	if res, err := a.Check(context.Background(), vipNode1); err != nil || res.Status != monitor.OK {
		t.Errorf("after repair: %+v, %v", res, err)
	}
	// AWS errors are errors (OnUnreachable decides): a throttle is the
	// warning 105 with AWS's text.
	f.describeAddresses = func(context.Context, *ec2.DescribeAddressesInput) (*ec2.DescribeAddressesOutput, error) {
		return nil, ec2FakeErr("DescribeAddresses", "RequestLimitExceeded", "Request limit exceeded.")
	}
	_, err = a.Check(context.Background(), vipNode1)
	re := vipAsRE(t, err)
	if got := ha.MonitorWarnMessage("awseipw1", re.Code+ha.WarnOffset, re.Detail); got != "Warn monitoring awseipw1. (105 : Request limit exceeded.)" {
		t.Errorf("throttled check: %s", got)
	}
}

// Deactivate disassociates only this node's association, and treats an
// association or allocation already gone as done.
func TestEIPDeactivate(t *testing.T) {
	w := eipWorld()
	a, f := newEIPFor(t, w, "eni-A")
	ctx := context.Background()
	if err := a.Deactivate(ctx, vipNode1); err != nil {
		t.Fatal(err)
	}
	if got := f.called("DisassociateAddress"); !slices.Equal(got, []string{"DisassociateAddress eipassoc-a"}) {
		t.Errorf("calls %q", got)
	}
	if w.addrs["eipalloc-1"].assoc != "" {
		t.Error("still associated")
	}
	f.reset()
	if err := a.Deactivate(ctx, vipNode1); err != nil {
		t.Fatal(err)
	}
	if got := f.called("DisassociateAddress"); len(got) != 0 {
		t.Errorf("second deactivation wrote %q", got)
	}

	// Race: this node read its own association, but node B reassociated
	// before the disassociation arrived: AWS says the association is
	// gone, which is success, and B keeps the address.
	*w.addrs["eipalloc-1"] = ec2FakeAddr{publicIP: "203.0.113.10", eni: "eni-A", assoc: "eipassoc-a"}
	describe := f.describeAddresses
	f.describeAddresses = func(ctx context.Context, in *ec2.DescribeAddressesInput) (*ec2.DescribeAddressesOutput, error) {
		out, err := describe(ctx, in)
		*w.addrs["eipalloc-1"] = ec2FakeAddr{publicIP: "203.0.113.10", eni: "eni-B", assoc: "eipassoc-b"}
		return out, err
	}
	var logBuf bytes.Buffer
	a.log = slog.New(slog.NewTextHandler(&logBuf, nil))
	if err := a.Deactivate(ctx, vipNode1); err != nil {
		t.Fatalf("race: %v", err)
	}
	if w.addrs["eipalloc-1"].eni != "eni-B" {
		t.Error("the new holder lost the address")
	}
	if !strings.Contains(logBuf.String(), "already gone") {
		t.Errorf("log: %s", logBuf.String())
	}
	f.describeAddresses = describe

	// An allocation that no longer exists is inactive here.
	delete(w.addrs, "eipalloc-1")
	if err := a.Deactivate(ctx, vipNode1); err != nil {
		t.Errorf("deleted allocation: %v", err)
	}
	// Other failures are errors with AWS's text.
	f.describeAddresses = func(context.Context, *ec2.DescribeAddressesInput) (*ec2.DescribeAddressesOutput, error) {
		return nil, ec2FakeErr("DescribeAddresses", "UnauthorizedOperation", "You are not authorized to perform this operation. Encoded authorization failure message: x")
	}
	if got, want := ha.DeactivateMessage("awseip1", a.Deactivate(ctx, vipNode1)), "Deactivating awseip1 resource has failed.(5 : You are not authorized to perform this operation.)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// An empty ENI is the instance's primary ENI.
func TestEIPPrimaryENI(t *testing.T) {
	w := eipWorld()
	e, f := newEIPFor(t, w, "")
	if err := e.Activate(context.Background(), vipNode2); err != nil {
		t.Fatal(err)
	}
	if got := f.called("AssociateAddress"); !slices.Equal(got, []string{"AssociateAddress eipalloc-1 eni-B reassoc=true"}) {
		t.Errorf("calls %q", got)
	}
}
