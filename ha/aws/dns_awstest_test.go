package aws

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/aws/awstest"
	"github.com/minato-ops/minato/monitor"
)

// dnsEndpoint starts the test endpoint with the guide's private hosted zone
// and returns it with clients of the real SDK pointed at it.
func dnsEndpoint(t testing.TB, opts awstest.Options, callTimeout time.Duration, attempts int) (*awstest.Server, *Clients) {
	t.Helper()
	srv := awstest.New(opts)
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	c, err := Load(context.Background(), Config{Region: "ap-northeast-1", Endpoint: srv.URL(), IMDSEndpoint: srv.IMDS("i-1"),
		CallTimeout: callTimeout, MaxAttempts: attempts})
	if err != nil {
		t.Fatal(err)
	}
	srv.AddHostedZone(tZone, "hz1.local.", true)
	return srv, c
}

func awstestDNS(t testing.TB, c *Clients, cfg DNSConfig) *DNS {
	t.Helper()
	d, err := NewDNS(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.pollMin, d.pollMax = 20*time.Millisecond, 100*time.Millisecond
	return d
}

func recordIs(t *testing.T, srv *awstest.Server, want ...string) {
	t.Helper()
	values, ttl, ok := srv.Record(tZone, tName, "A")
	if len(want) == 0 {
		if ok {
			t.Errorf("record = %v (ttl %d), want none", values, ttl)
		}
		return
	}
	if !ok || !slices.Equal(values, want) || ttl != 60 {
		t.Errorf("record = %v ttl %d (present %v), want %v ttl 60", values, ttl, ok, want)
	}
}

// A failover with the real SDK: activate on A, monitor, deactivate (the
// record is deleted), activate on B; drift and deletion by another actor
// are detected (8, 7) and repaired by re-activation.
func TestDNSAWSTestFailoverAndDrift(t *testing.T) {
	srv, c := dnsEndpoint(t, awstest.Options{}, 2*time.Second, 0)
	res := startTestDNSServer(t)
	a := awstestDNS(t, c, cfgFor(tIPA, res.Addr()))
	b := awstestDNS(t, c, cfgFor(tIPB, res.Addr()))
	ctx := context.Background()
	check := func(d *DNS, code int) {
		t.Helper()
		r, err := d.Check(ctx, nodeA)
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		if r.Code != code || (code == 0) != (r.Status == monitor.OK) {
			t.Fatalf("Check = %s %d %q, want code %d", r.Status, r.Code, r.Message, code)
		}
	}

	if err := a.Activate(ctx, nodeA); err != nil {
		t.Fatal(err)
	}
	recordIs(t, srv, tIPA)
	if srv.Calls("GetChange") < 1 {
		t.Error("activation did not ask whether the change is INSYNC")
	}
	res.set(tName, tIPA) // the VPC resolver follows Route 53
	check(a, 0)

	srv.SetRecord(tZone, tName, "A", 60, tOther) // another cluster takes the name
	check(a, CodeDNSRecordChanged)
	srv.SetRecord(tZone, tName, "A", 0) // deleted behind our back
	check(a, CodeDNSRecordMissing)
	if err := a.Activate(ctx, nodeA); err != nil { // the monitor's recovery restarts the resource
		t.Fatal(err)
	}
	recordIs(t, srv, tIPA)
	check(a, 0)

	srv.ResetCalls()
	if err := a.Deactivate(ctx, nodeA); err != nil {
		t.Fatal(err)
	}
	recordIs(t, srv)
	if err := b.Activate(ctx, nodeB); err != nil {
		t.Fatal(err)
	}
	recordIs(t, srv, tIPB)
	if got := srv.Calls("ListResourceRecordSets") + srv.Calls("ChangeResourceRecordSets"); got != 3 {
		t.Errorf("failover made %d list/change calls, want 3 (read, delete, upsert)", got)
	}
	t.Logf("AWS calls per DNS failover: list %d, change %d, GetChange %d",
		srv.Calls("ListResourceRecordSets"), srv.Calls("ChangeResourceRecordSets"), srv.Calls("GetChange"))
	// The old holder's deactivation, late, spares the new holder's record.
	if err := a.Deactivate(ctx, nodeA); err != nil {
		t.Fatal(err)
	}
	recordIs(t, srv, tIPB)
	res.set(tName, tIPB)
	check(a, CodeDNSRecordChanged)
	check(b, 0)
}

// Route 53's eventual consistency against InSyncTimeout: the change is
// PENDING for 1 s.
func TestDNSAWSTestConsistencyDelay(t *testing.T) {
	srv, c := dnsEndpoint(t, awstest.Options{}, 2*time.Second, 0)
	srv.SetConsistencyDelay(time.Second)
	ctx := context.Background()

	cfg := cfgFor(tIPA, "")
	cfg.InSyncTimeout, cfg.RequireInSync = 5*time.Second, true
	start := time.Now()
	if err := awstestDNS(t, c, cfg).Activate(ctx, nodeA); err != nil {
		t.Fatalf("1 s delay, 5 s bound: %v", err)
	}
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("returned after %s, before the change was INSYNC", el)
	}
	if n := srv.Calls("GetChange"); n < 2 {
		t.Errorf("GetChange calls = %d, want polling", n)
	}

	cfg.IP, cfg.InSyncTimeout = tIPB, 300*time.Millisecond
	d := awstestDNS(t, c, cfg)
	err := d.Activate(ctx, nodeB)
	if got, want := d.ActivateMessage(tRes, err), "Activating awsdns1 resource has failed. (6 : Timeout occurred.)"; got != want {
		t.Errorf("1 s delay, 300 ms bound, require: %q, want %q", got, want)
	}
	cfg.RequireInSync = false
	if err := awstestDNS(t, c, cfg).Activate(ctx, nodeB); err != nil {
		t.Errorf("1 s delay, 300 ms bound, default: %v, want success with a warning", err)
	}

	// Checked before the change is visible (no wait, no start wait): the
	// record looks missing, the guide's first cause of code 7.
	cfg.IP, cfg.InSyncTimeout = "10.0.130.10", -1
	d = awstestDNS(t, c, cfg)
	srv.SetRecord(tZone, tName, "A", 0)
	time.Sleep(1100 * time.Millisecond)
	if err := d.Activate(ctx, nodeA); err != nil {
		t.Fatal(err)
	}
	if r, err := d.Check(ctx, nodeA); err != nil || r.Code != CodeDNSRecordMissing {
		t.Errorf("check before propagation = %+v, %v; want 7", r, err)
	}
}

// Throttling is absorbed by the SDK's retries; an outage is an error from
// Check (the response-failure action applies), not a Critical result.
func TestDNSAWSTestThrottleAndOutage(t *testing.T) {
	srv, c := dnsEndpoint(t, awstest.Options{}, 10*time.Second, 5)
	res := startTestDNSServer(t)
	res.set(tName, tIPA)
	d := awstestDNS(t, c, cfgFor(tIPA, res.Addr()))
	ctx := context.Background()

	// One throttled answer each: the SDK's adaptive retry backs off (up to
	// 2 s with jitter) and tries again.
	srv.Throttle("ChangeResourceRecordSets", 1)
	if err := d.Activate(ctx, nodeA); err != nil {
		t.Fatalf("throttled once: %v", err)
	}
	if n := srv.Calls("ChangeResourceRecordSets"); n != 2 {
		t.Errorf("ChangeResourceRecordSets calls = %d, want 2 (1 throttled)", n)
	}
	recordIs(t, srv, tIPA)
	srv.Throttle("ListResourceRecordSets", 1)
	if r, err := d.Check(ctx, nodeA); err != nil || r.Status != monitor.OK {
		t.Errorf("throttled check = %+v, %v; want OK", r, err)
	}

	srv.SetOutage(true)
	// A shorter per-call bound, so the test is quick.
	c2 := *c
	c2.timeout = time.Second
	d2 := awstestDNS(t, &c2, cfgFor(tIPA, res.Addr()))
	r, err := d2.Check(ctx, nodeA)
	var re *ha.ResourceError
	if !errors.As(err, &re) || (re.Code != ha.CodeFailed && re.Code != ha.CodeTimeout) || !unavailable(re.Err) {
		t.Fatalf("Check during an outage = %+v, %v; want an error of code 5 or 6 that says AWS did not answer", r, err)
	}
	if r.Status == monitor.Critical {
		t.Error("an outage gave a Critical result")
	}
	if err := d2.Activate(ctx, nodeA); err == nil {
		t.Error("activation during an outage succeeded")
	}
	srv.SetOutage(false)
	if r, err := d2.Check(ctx, nodeA); err != nil || r.Status != monitor.OK {
		t.Errorf("after the outage: %+v, %v", r, err)
	}
}

// AWS's own error texts come through the real SDK into the guide's lines.
func TestDNSAWSTestErrors(t *testing.T) {
	srv, c := dnsEndpoint(t, awstest.Options{}, 2*time.Second, 0)
	ctx := context.Background()

	bad := cfgFor(tIPA, "")
	bad.HostedZoneID = "Zbad"
	d := awstestDNS(t, c, bad)
	err := d.Activate(ctx, nodeA)
	if got, want := d.ActivateMessage(tRes, err), "Activating awsdns1 resource has failed. (5 : No hosted zone found with ID: Zbad)"; got != want {
		t.Errorf("%q\nwant %q", got, want)
	}

	srv.Deny("ChangeResourceRecordSets")
	d = awstestDNS(t, c, cfgFor(tIPA, ""))
	err = d.Activate(ctx, nodeA)
	if got, want := d.ActivateMessage(tRes, err), "Activating awsdns1 resource has failed. (5 : You are not authorized to perform this operation.)"; got != want {
		t.Errorf("%q\nwant %q", got, want)
	}
	srv.ClearFaults()

	// The guide's own policy has no route53:GetChange: the activation
	// still succeeds.
	srv.Deny("GetChange")
	srv.SetConsistencyDelay(time.Hour)
	if err := d.Activate(ctx, nodeA); err != nil {
		t.Errorf("GetChange denied: %v", err)
	}
	if n := srv.Calls("GetChange"); n != 1 {
		t.Errorf("GetChange calls = %d, want 1", n)
	}
}

// BenchmarkDNSFailover measures one DNS failover (deactivate on the old
// holder: read and delete; activate on the new one: upsert and wait for
// INSYNC) against the test endpoint with 100-300 ms per AWS call and
// Route 53 changes INSYNC 1 s after they are made.
func BenchmarkDNSFailover(b *testing.B) {
	srv, c := dnsEndpoint(b, awstest.Options{Latency: [2]time.Duration{100 * time.Millisecond, 300 * time.Millisecond}, Seed: 1}, 5*time.Second, 0)
	srv.SetConsistencyDelay(time.Second)
	var nodes []*DNS
	for _, ip := range []string{tIPA, tIPB} {
		d, err := NewDNS(c, cfgFor(ip, "")) // the production INSYNC polling
		if err != nil {
			b.Fatal(err)
		}
		nodes = append(nodes, d)
	}
	ctx := context.Background()
	if err := nodes[0].Activate(ctx, nodeA); err != nil {
		b.Fatal(err)
	}
	srv.ResetCalls()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from, to := nodes[i%2], nodes[(i+1)%2]
		if err := from.Deactivate(ctx, nodeA); err != nil {
			b.Fatal(err)
		}
		if err := to.Activate(ctx, nodeB); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(srv.Calls(""))/float64(b.N), "awscalls/op")
}

// An empty IP is this instance's private address, from IMDSv2.
func TestDNSAWSTestIPFromInstance(t *testing.T) {
	srv, c := dnsEndpoint(t, awstest.Options{}, 3*time.Second, 3)
	srv.AddVPC("vpc-1", "10.0.0.0/16")
	srv.AddSubnet("subnet-1", "vpc-1", "ap-northeast-1a", "10.0.110.0/24")
	srv.AddInstance("i-1", "ap-northeast-1a")
	srv.AddENI("eni-1", "subnet-1", "i-1", "10.0.110.77")
	d := awstestDNS(t, c, DNSConfig{HostedZoneID: tZone, Name: tName})
	if err := d.Activate(context.Background(), ha.NodeTarget("a")); err != nil {
		t.Fatal(err)
	}
	recordIs(t, srv, "10.0.110.77")
	if got := d.Config().IP; got != "10.0.110.77" {
		t.Errorf("Config().IP = %q after activation", got)
	}
}
