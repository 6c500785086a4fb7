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

// The AZ monitor through the real SDK: the instance's own zone from
// IMDSv2, its states, an unknown zone and an outage.
func TestAZAWSTest(t *testing.T) {
	srv := vipAWSTestServer(t, awstest.Options{})
	ctx := context.Background()
	c := vipAWSTestClients(t, srv, "i-B", 5*time.Second)
	m, err := NewAZMonitor(c, AZConfig{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Check(ctx, vipNode2)
	if err != nil || res.Status != monitor.OK || res.Message != "The availability zone ap-northeast-1c is available." {
		t.Fatalf("available: %+v, %v", res, err)
	}
	srv.SetZoneState("ap-northeast-1c", "impaired")
	res, err = m.Check(ctx, vipNode2)
	if got, want := vipCritLine("awsazw1", res), "Detected an error in monitoring awsazw1. (7 : The availability zone ap-northeast-1c is impaired.)"; err != nil || got != want {
		t.Errorf("got  %s (%v)\nwant %s", got, err, want)
	}
	srv.SetZoneState("ap-northeast-1c", "information")
	if res, err = m.Check(ctx, vipNode2); err != nil || res.Status != monitor.Warning {
		t.Errorf("information: %+v, %v", res, err)
	}

	bad, err := NewAZMonitor(c, AZConfig{Zone: "ap-northeast-1x"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Check(ctx, vipNode2)
	re := vipAsRE(t, err)
	if got, want := ha.MonitorWarnMessage("awsazw1", re.Code+ha.WarnOffset, re.Detail), "Warn monitoring awsazw1. (105 : Invalid availability zone: [ap-northeast-1x])"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got, want := ha.MonitorErrorMessage("awsazw1", err), "Detected an error in monitoring awsazw1. (5 : Invalid availability zone: [ap-northeast-1x])"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	srv.SetOutage(true)
	res, err = m.Check(ctx, vipNode2)
	srv.SetOutage(false)
	if err == nil {
		t.Errorf("outage: %+v and no error", res)
	}

	slow, err := NewAZMonitor(vipAWSTestClients(t, srv, "i-B", 100*time.Millisecond), AZConfig{Zone: "ap-northeast-1a"})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetLatency(300*time.Millisecond, 300*time.Millisecond)
	_, err = slow.Check(ctx, vipNode2)
	srv.SetLatency(0, 0)
	re = vipAsRE(t, err)
	if got, want := ha.MonitorWarnMessage("awsazw1", re.Code+ha.WarnOffset, re.Detail), "Warn monitoring awsazw1. (106 : Timeout occurred.)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// The AZ monitor of an instance in an impaired zone (its own, learnt
// from the instance metadata service).
func ExampleNewAZMonitor() {
	srv := awstest.New(awstest.Options{})
	defer srv.Close()
	srv.AddInstance("i-A", "ap-northeast-1a")
	srv.SetZoneState("ap-northeast-1a", "impaired")
	defer vipExampleEnv()()

	ctx := context.Background()
	c, err := Load(ctx, Config{Region: "ap-northeast-1", Endpoint: srv.URL(), IMDSEndpoint: srv.IMDS("i-A")})
	if err != nil {
		log.Fatal(err)
	}
	m, err := NewAZMonitor(c, AZConfig{})
	if err != nil {
		log.Fatal(err)
	}
	res, err := m.Check(ctx, ha.NodeTarget("node1"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.Code, res.Message)
	// Output:
	// CRITICAL 7 The availability zone ap-northeast-1a is impaired.
}
