package aws

import (
	"context"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/aws/awstest"
	"github.com/minato-ops/minato/monitor"
)

// The Elastic IP moved between two ENIs through the real SDK: node B
// takes it with one reassociation, node A's monitor then reports 7 and
// its deactivation leaves B's association alone; drift by another actor
// is detected and repaired by the restart.
func TestEIPAWSTestMoveAndDrift(t *testing.T) {
	srv := vipAWSTestServer(t, awstest.Options{})
	ctx := context.Background()
	a, err := NewEIP(vipAWSTestClients(t, srv, "i-A", 5*time.Second), EIPConfig{AllocationID: "eipalloc-1"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewEIP(vipAWSTestClients(t, srv, "i-B", 5*time.Second), EIPConfig{AllocationID: "eipalloc-1", ENI: "eni-B"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := a.Check(ctx, vipNode1); err != nil || res.Status != monitor.OK {
		t.Fatalf("A before: %+v, %v", res, err)
	}
	if err := b.Activate(ctx, vipNode2); err != nil {
		t.Fatal(err)
	}
	if got := srv.Association("eipalloc-1"); got != "eni-B" {
		t.Errorf("associated with %q, want eni-B", got)
	}
	if n, d := srv.Calls("AssociateAddress"), srv.Calls("DisassociateAddress"); n != 1 || d != 0 {
		t.Errorf("%d associations and %d disassociations, want 1 and 0", n, d)
	}
	want7 := "Detected an error in monitoring awseipw1. (7 : The EIP address does not exist. (EIP ALLOCATION ID=eipalloc-1))"
	res, err := a.Check(ctx, vipNode1)
	if err != nil || vipCritLine("awseipw1", res) != want7 {
		t.Errorf("A after the move: %s, %v", vipCritLine("awseipw1", res), err)
	}
	if err := a.Deactivate(ctx, vipNode1); err != nil {
		t.Fatal(err)
	}
	if got := srv.Association("eipalloc-1"); got != "eni-B" || srv.Calls("DisassociateAddress") != 0 {
		t.Errorf("A's deactivation took the address: %q", got)
	}

	srv.SetAssociation("eipalloc-1", "")
	res, err = b.Check(ctx, vipNode2)
	if err != nil || vipCritLine("awseipw1", res) != want7 {
		t.Errorf("disassociated by another actor: %s, %v", vipCritLine("awseipw1", res), err)
	}
	if err := b.Deactivate(ctx, vipNode2); err != nil {
		t.Fatal(err)
	}
	if err := b.Activate(ctx, vipNode2); err != nil {
		t.Fatal(err)
	}
	if res, err := b.Check(ctx, vipNode2); err != nil || res.Status != monitor.OK || srv.Association("eipalloc-1") != "eni-B" {
		t.Errorf("after the repair: %+v, %v", res, err)
	}
	if err := b.Deactivate(ctx, vipNode2); err != nil {
		t.Fatal(err)
	}
	if got := srv.Association("eipalloc-1"); got != "" {
		t.Errorf("B's deactivation left it on %q", got)
	}
	if err := b.Deactivate(ctx, vipNode2); err != nil {
		t.Errorf("second deactivation: %v", err)
	}
}

func TestEIPAWSTestErrorsAndFaults(t *testing.T) {
	srv := vipAWSTestServer(t, awstest.Options{})
	ctx := context.Background()
	c := vipAWSTestClients(t, srv, "i-B", 5*time.Second)
	for _, tc := range []struct {
		cfg  EIPConfig
		line string
	}{
		{EIPConfig{AllocationID: "eipalloc-deadbeef", ENI: "eni-B"}, "Activating awseip1 resource has failed.(5 : The allocation ID 'eipalloc-deadbeef' does not exist)"},
		{EIPConfig{AllocationID: "eipalloc-1", ENI: "eni-deadbeef"}, "Activating awseip1 resource has failed.(5 : The networkInterface ID 'eni-deadbeef' does not exist)"},
	} {
		e, err := NewEIP(c, tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := ha.ActivateMessage("awseip1", e.Activate(ctx, vipNode2)); got != tc.line {
			t.Errorf("got  %s\nwant %s", got, tc.line)
		}
	}
	e, err := NewEIP(c, EIPConfig{AllocationID: "eipalloc-1", ENI: "eni-B"})
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	srv.Throttle("AssociateAddress", 1)
	if err := e.Activate(ctx, vipNode2); err != nil {
		t.Fatalf("throttled activation: %v", err)
	}
	if n := srv.Calls("AssociateAddress"); n != 2 || srv.Association("eipalloc-1") != "eni-B" {
		t.Errorf("%d AssociateAddress calls, association %q", n, srv.Association("eipalloc-1"))
	}
	srv.SetOutage(true)
	res, err := e.Check(ctx, vipNode2)
	srv.SetOutage(false)
	if err == nil {
		t.Errorf("outage: %+v and no error", res)
	}
	// Eventual consistency: 1 s waited out within 5 s.
	srv.SetConsistencyDelay(time.Second)
	a, err := NewEIP(vipAWSTestClients(t, srv, "i-A", 5*time.Second), EIPConfig{AllocationID: "eipalloc-1", ENI: "eni-A", VerifyTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := a.Activate(ctx, vipNode1); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < time.Second {
		t.Errorf("verified after %s, before the association was visible", d)
	}
}

// An Elastic IP taken over by node B: one reassociation moves it from
// node A's ENI; node A's monitor then reports the lost association.
func ExampleNewEIP() {
	srv := awstest.New(awstest.Options{})
	defer srv.Close()
	srv.AddVPC("vpc-1", "10.0.0.0/16")
	srv.AddSubnet("subnet-1", "vpc-1", "ap-northeast-1a", "10.0.10.0/24")
	srv.AddInstance("i-A", "ap-northeast-1a")
	srv.AddInstance("i-B", "ap-northeast-1a")
	srv.AddENI("eni-A", "subnet-1", "i-A", "10.0.10.10")
	srv.AddENI("eni-B", "subnet-1", "i-B", "10.0.10.11")
	srv.AddAddress("eipalloc-1", "203.0.113.10")
	srv.SetAssociation("eipalloc-1", "eni-A")
	defer vipExampleEnv()()

	ctx := context.Background()
	c, err := Load(ctx, Config{Region: "ap-northeast-1", Endpoint: srv.URL()})
	if err != nil {
		log.Fatal(err)
	}
	a, _ := NewEIP(c, EIPConfig{AllocationID: "eipalloc-1", ENI: "eni-A"})
	b, _ := NewEIP(c, EIPConfig{AllocationID: "eipalloc-1", ENI: "eni-B"})
	if err := b.Activate(ctx, ha.NodeTarget("node2")); err != nil {
		log.Fatal(err)
	}
	fmt.Println("associated with", srv.Association("eipalloc-1"))
	res, _ := a.Check(ctx, ha.NodeTarget("node1"))
	fmt.Println(ha.MonitorErrorMessage("awseipw1", &ha.ResourceError{Code: res.Code, Detail: res.Message}))
	// Output:
	// associated with eni-B
	// Detected an error in monitoring awseipw1. (7 : The EIP address does not exist. (EIP ALLOCATION ID=eipalloc-1))
}
