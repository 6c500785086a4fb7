package aws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// The guide's DNS example: hosted zone, record name, and the two nodes'
// addresses (private subnets 2A and 2B).
const (
	tZone  = "Z123"
	tName  = "srv.hz1.local."
	tIPA   = "10.0.110.10"
	tIPB   = "10.0.120.10"
	tRes   = "awsdns1"
	tMon   = "awsdnsw1"
	tOther = "10.9.9.9"
)

var (
	nodeA = ha.NodeTarget("server1")
	nodeB = ha.NodeTarget("server2")
)

// testDNSServer is a tiny authoritative DNS server on 127.0.0.1 (UDP)
// answering A queries from a map, NXDOMAIN for other names; it can be
// told to answer SERVFAIL or nothing at all.
type testDNSServer struct {
	pc      net.PacketConn
	mu      sync.Mutex
	answers map[string][]string // lower-case name with the dot → addresses
	mode    string              // "", "servfail", "drop"
	queries atomic.Int64
}

func startTestDNSServer(t *testing.T) *testDNSServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testDNSServer{pc: pc, answers: map[string][]string{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serve()
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return s
}

func (s *testDNSServer) Addr() string { return s.pc.LocalAddr().String() }

func (s *testDNSServer) set(name string, addrs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(addrs) == 0 {
		delete(s.answers, name)
		return
	}
	s.answers[name] = addrs
}

func (s *testDNSServer) setMode(m string) {
	s.mu.Lock()
	s.mode = m
	s.mu.Unlock()
}

func (s *testDNSServer) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		s.queries.Add(1)
		if out := s.answer(buf[:n]); out != nil {
			_, _ = s.pc.WriteTo(out, from)
		}
	}
}

func (s *testDNSServer) answer(q []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		return nil
	}
	question, err := p.Question()
	if err != nil {
		return nil
	}
	s.mu.Lock()
	mode := s.mode
	addrs, known := s.answers[strings.ToLower(question.Name.String())]
	s.mu.Unlock()
	rcode := dnsmessage.RCodeSuccess
	switch {
	case mode == "drop":
		return nil
	case mode == "servfail":
		rcode, addrs = dnsmessage.RCodeServerFailure, nil
	case !known:
		rcode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionAvailable: true, RCode: rcode})
	if err := b.StartQuestions(); err != nil {
		return nil
	}
	if err := b.Question(question); err != nil {
		return nil
	}
	if err := b.StartAnswers(); err != nil {
		return nil
	}
	if question.Type == dnsmessage.TypeA {
		for _, a := range addrs {
			ip := netip.MustParseAddr(a).As4()
			if err := b.AResource(dnsmessage.ResourceHeader{Name: question.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: ip}); err != nil {
				return nil
			}
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}

// lookupFunc is a dnsLookuper from a function (for tests that cannot use
// the network, such as synctest bubbles).
type lookupFunc func(ctx context.Context, network, host string) ([]netip.Addr, error)

func (f lookupFunc) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	return f(ctx, network, host)
}

func dnsClients(f *fakeR53, timeout time.Duration) *Clients {
	return &Clients{route53: f, region: "ap-northeast-1", timeout: timeout}
}

// newTestDNS builds a DNS resource on the fake with fast INSYNC polling.
func newTestDNS(t *testing.T, c *Clients, cfg DNSConfig) *DNS {
	t.Helper()
	d, err := NewDNS(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.pollMin, d.pollMax = time.Millisecond, 5*time.Millisecond
	return d
}

func cfgFor(ip, resolver string) DNSConfig {
	return DNSConfig{HostedZoneID: tZone, Name: tName, IP: ip, Resolver: resolver}
}

// errorLine is the engine's line for a Critical result.
func errorLine(r monitor.Result) string {
	return ha.MonitorErrorMessage(tMon, &ha.ResourceError{Code: r.Code, Detail: r.Message})
}

func TestDNSConfigValidate(t *testing.T) {
	good := cfgFor(tIPA, "")
	if err := good.Validate(); err != nil {
		t.Fatalf("guide's example: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*DNSConfig)
		want []string // substrings of the error; none means valid
	}{
		// Guide §6.2 item 16.
		{"upper case", func(c *DNSConfig) { c.Name = "SRV.hz1.local." }, []string{`name: "SRV.hz1.local."`, "lower case", `"srv.hz1.local."`}},
		{"no trailing dot", func(c *DNSConfig) { c.Name = "srv.hz1.local" }, []string{`name: "srv.hz1.local"`, "trailing dot", `"srv.hz1.local."`}},
		{"empty name", func(c *DNSConfig) { c.Name = "" }, []string{"name: required"}},
		{"root", func(c *DNSConfig) { c.Name = "." }, []string{"root"}},
		{"empty label", func(c *DNSConfig) { c.Name = "srv..local." }, []string{"label 2", "empty label"}},
		{"wildcard", func(c *DNSConfig) { c.Name = "*.hz1.local." }, []string{"label 1", `"*"`}},
		{"hyphen first", func(c *DNSConfig) { c.Name = "-srv.hz1.local." }, []string{"hyphen"}},
		{"long label", func(c *DNSConfig) { c.Name = strings.Repeat("a", 64) + ".local." }, []string{"64 characters", "at most 63"}},
		{"long name", func(c *DNSConfig) { c.Name = strings.Repeat(strings.Repeat("a", 60)+".", 5) }, []string{"at most 253"}},
		{"underscore ok", func(c *DNSConfig) { c.Name = "_svc.hz1.local." }, nil},
		{"zone prefix ok", func(c *DNSConfig) { c.HostedZoneID = "/hostedzone/Z123" }, nil},
		{"zone missing", func(c *DNSConfig) { c.HostedZoneID = "" }, []string{"hosted_zone_id", "required"}},
		{"zone bad", func(c *DNSConfig) { c.HostedZoneID = "Z12/3" }, []string{"hosted_zone_id", "letters and digits"}},
		{"zone long", func(c *DNSConfig) { c.HostedZoneID = strings.Repeat("Z", 33) }, []string{"at most 32"}},
		{"ipv6", func(c *DNSConfig) { c.IP = "fd00::1" }, []string{`ip: "fd00::1"`, "IPv4"}},
		{"ip empty ok: the instance's own", func(c *DNSConfig) { c.IP = "" }, nil},
		{"ip zero", func(c *DNSConfig) { c.IP = "0.0.0.0" }, []string{"0.0.0.0"}},
		{"ip junk", func(c *DNSConfig) { c.IP = "10.0.110" }, []string{"IPv4"}},
		{"ttl -1 ok", func(c *DNSConfig) { c.TTL = -1 }, nil},
		{"ttl max ok", func(c *DNSConfig) { c.TTL = 2147483647 }, nil},
		{"ttl too big", func(c *DNSConfig) { c.TTL = 2147483648 }, []string{"ttl: 2147483648", "2147483647"}},
		{"ttl -2", func(c *DNSConfig) { c.TTL = -2 }, []string{"ttl: -2"}},
		{"resolver ip", func(c *DNSConfig) { c.Resolver = "10.0.0.2" }, nil},
		{"resolver host:port", func(c *DNSConfig) { c.Resolver = "127.0.0.1:5353" }, nil},
		{"resolver ipv6", func(c *DNSConfig) { c.Resolver = "[fd00::2]:53" }, nil},
		{"resolver bad port", func(c *DNSConfig) { c.Resolver = "10.0.0.2:99999" }, []string{"resolver", "port"}},
		{"resolver junk", func(c *DNSConfig) { c.Resolver = "resolver" }, []string{"resolver", "host:port"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mod(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate: no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, err := NewDNS(dnsClients(newFakeR53(tZone), 0), c); err == nil {
				t.Error("NewDNS accepted an invalid config")
			}
		})
	}
	// Several problems are all reported.
	err := DNSConfig{Name: "X", IP: "x", TTL: -5}.Validate()
	for _, f := range []string{"hosted_zone_id:", "name:", "ip:", "ttl:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("joined error %v lacks %s", err, f)
		}
	}
}

func TestDNSConfigDefaults(t *testing.T) {
	c := DNSConfig{HostedZoneID: "/hostedzone/Z123", Name: tName, IP: tIPA, Resolver: "10.0.0.2"}.WithDefaults()
	if c.HostedZoneID != "Z123" || c.TTL != 60 || c.InSyncTimeout != 60*time.Second || c.KeepOnDeactivate || c.Resolver != "10.0.0.2:53" {
		t.Errorf("WithDefaults = %+v", c)
	}
	if d := DefaultDNSConfig(); d.TTL != DefaultDNSTTL || d.InSyncTimeout != DefaultDNSInSyncTimeout {
		t.Errorf("DefaultDNSConfig = %+v", d)
	}
	c = DNSConfig{HostedZoneID: tZone, Name: tName, IP: tIPA, TTL: -1, InSyncTimeout: -1}.WithDefaults()
	if c.TTL != 0 || c.InSyncTimeout != 0 {
		t.Errorf("-1s: TTL %d InSyncTimeout %s, want 0 and 0", c.TTL, c.InSyncTimeout)
	}
	if _, err := NewDNS(nil, cfgFor(tIPA, "")); err == nil {
		t.Error("NewDNS(nil clients) accepted")
	}
}

// Guide §6.2 item 17: one change, an UPSERT of name, TTL 60 and the IP.
func TestDNSActivateUpserts(t *testing.T) {
	f := newFakeR53(tZone)
	f.pending = 2
	d := newTestDNS(t, dnsClients(f, time.Second), DNSConfig{HostedZoneID: "/hostedzone/" + tZone, Name: tName, IP: tIPA, TTL: 60})
	if err := d.Activate(context.Background(), nodeA); err != nil {
		t.Fatal(err)
	}
	ch := f.submitted()
	if len(ch) != 1 || f.Calls("ChangeResourceRecordSets") != 1 {
		t.Fatalf("changes = %d (calls %d), want 1", len(ch), f.Calls("ChangeResourceRecordSets"))
	}
	rr := ch[0].ResourceRecordSet
	if ch[0].Action != types.ChangeActionUpsert || sdkaws.ToString(rr.Name) != tName || rr.Type != types.RRTypeA ||
		sdkaws.ToInt64(rr.TTL) != 60 || len(rr.ResourceRecords) != 1 || sdkaws.ToString(rr.ResourceRecords[0].Value) != tIPA ||
		rr.SetIdentifier != nil || rr.AliasTarget != nil {
		t.Errorf("change = %s %s %s ttl %d %v", ch[0].Action, sdkaws.ToString(rr.Name), rr.Type, sdkaws.ToInt64(rr.TTL), dnsValues(rr))
	}
	if got, ok := f.get(tZone, tName); !ok || got.values[0] != tIPA {
		t.Errorf("zone holds %v %v", got, ok)
	}
	// PENDING twice, then INSYNC: three polls.
	if n := f.Calls("GetChange"); n != 3 {
		t.Errorf("GetChange calls = %d, want 3 (until INSYNC)", n)
	}
	// Idempotent: a second activation leaves the record as it is.
	if err := d.Activate(context.Background(), nodeA); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.get(tZone, tName); got.ttl != 60 || len(got.values) != 1 || got.values[0] != tIPA {
		t.Errorf("after second activation: %+v", got)
	}
}

func TestDNSActivateInSyncBound(t *testing.T) {
	f := newFakeR53(tZone)
	f.pending = 1 << 30 // never INSYNC
	cfg := cfgFor(tIPA, "")
	cfg.InSyncTimeout = 60 * time.Millisecond
	d := newTestDNS(t, dnsClients(f, time.Second), cfg)
	start := time.Now()
	if err := d.Activate(context.Background(), nodeA); err != nil {
		t.Fatalf("change accepted but not INSYNC: %v, want success with a warning", err)
	}
	if el := time.Since(start); el < 60*time.Millisecond || el > 5*time.Second {
		t.Errorf("waited %s, want about the 60ms InSyncTimeout", el)
	}
	if f.Calls("GetChange") < 2 {
		t.Errorf("GetChange polled %d times", f.Calls("GetChange"))
	}

	cfg.RequireInSync = true
	d = newTestDNS(t, dnsClients(f, time.Second), cfg)
	err := d.Activate(context.Background(), nodeA)
	if got, want := d.ActivateMessage(tRes, err), "Activating awsdns1 resource has failed. (6 : Timeout occurred.)"; got != want {
		t.Errorf("line = %q, want %q", got, want)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v does not wrap the deadline", err)
	}

	// The activation's own deadline ends the wait too.
	cfg.RequireInSync = false
	cfg.InSyncTimeout = time.Hour
	d = newTestDNS(t, dnsClients(f, time.Second), cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := d.Activate(ctx, nodeA); err != nil {
		t.Errorf("activation deadline during the INSYNC wait: %v", err)
	}

	// No wait at all with a negative InSyncTimeout.
	before := f.Calls("GetChange")
	cfg.InSyncTimeout = -1
	d = newTestDNS(t, dnsClients(f, time.Second), cfg)
	if err := d.Activate(context.Background(), nodeA); err != nil || f.Calls("GetChange") != before {
		t.Errorf("no-wait activation: %v, GetChange %d → %d", err, before, f.Calls("GetChange"))
	}
}

// The guide's IAM policy has no route53:GetChange: activation must not
// fail for it, nor keep asking.
func TestDNSActivateGetChangeDenied(t *testing.T) {
	f := newFakeR53(tZone)
	f.getChange = func(context.Context, *route53.GetChangeInput) (*route53.GetChangeOutput, error) {
		return nil, r53Err("AccessDenied", "User: arn:aws:sts::123456789012:assumed-role/ha/i-1 is not authorized to perform: route53:GetChange")
	}
	d := newTestDNS(t, dnsClients(f, time.Second), cfgFor(tIPA, ""))
	if err := d.Activate(context.Background(), nodeA); err != nil {
		t.Fatal(err)
	}
	if n := f.Calls("GetChange"); n != 1 {
		t.Errorf("GetChange calls = %d, want 1", n)
	}
	// Throttling is retried until INSYNC.
	var n atomic.Int32
	f.getChange = func(ctx context.Context, in *route53.GetChangeInput) (*route53.GetChangeOutput, error) {
		if n.Add(1) <= 2 {
			return nil, r53Err("Throttling", "Rate exceeded")
		}
		return &route53.GetChangeOutput{ChangeInfo: &types.ChangeInfo{Id: in.Id, Status: types.ChangeStatusInsync}}, nil
	}
	if err := d.Activate(context.Background(), nodeA); err != nil || n.Load() != 3 {
		t.Errorf("throttled GetChange: err %v after %d polls, want nil after 3", err, n.Load())
	}
}

// Guide §6.2 item 21 and the other activation lines of T7, with the space
// before the parenthesis.
func TestDNSActivateErrors(t *testing.T) {
	block := func(ctx context.Context, _ *route53.ChangeResourceRecordSetsInput) (*route53.ChangeResourceRecordSetsOutput, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	for _, tc := range []struct {
		name   string
		zone   string
		change func(context.Context, *route53.ChangeResourceRecordSetsInput) (*route53.ChangeResourceRecordSetsOutput, error)
		want   string
	}{
		{"no such zone", "Zbad", nil, "Activating awsdns1 resource has failed. (5 : No hosted zone found with ID: Zbad)"},
		{"timeout", tZone, block, "Activating awsdns1 resource has failed. (6 : Timeout occurred.)"},
		{"no answer", tZone, func(context.Context, *route53.ChangeResourceRecordSetsInput) (*route53.ChangeResourceRecordSetsOutput, error) {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
		}, "Activating awsdns1 resource has failed. (5 : Failed in the AWS CLI command.)"},
		{"denied", tZone, func(context.Context, *route53.ChangeResourceRecordSetsInput) (*route53.ChangeResourceRecordSetsOutput, error) {
			return nil, r53Err("AccessDenied", "User: arn:aws:sts::123456789012:assumed-role/ha/i-1 is not authorized to perform: route53:ChangeResourceRecordSets")
		}, "Activating awsdns1 resource has failed. (5 : You are not authorized to perform this operation.)"},
		{"invalid batch", tZone, func(context.Context, *route53.ChangeResourceRecordSetsInput) (*route53.ChangeResourceRecordSetsOutput, error) {
			return nil, &types.InvalidChangeBatch{Message: sdkaws.String("[RRSet with DNS name srv.hz1.local. is not permitted in zone other.local.]")}
		}, "Activating awsdns1 resource has failed. (5 : [RRSet with DNS name srv.hz1.local. is not permitted in zone other.local.])"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeR53(tZone)
			f.change = tc.change
			cfg := cfgFor(tIPA, "")
			cfg.HostedZoneID = tc.zone
			d := newTestDNS(t, dnsClients(f, 50*time.Millisecond), cfg)
			err := d.Activate(context.Background(), nodeA)
			var re *ha.ResourceError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a *ha.ResourceError", err)
			}
			if got := d.ActivateMessage(tRes, err); got != tc.want {
				t.Errorf("line = %q\nwant   %q", got, tc.want)
			}
			if got, want := d.DeactivateMessage(tRes, err), "Deactivating"+strings.TrimPrefix(tc.want, "Activating"); got != want {
				t.Errorf("deactivation line = %q, want %q", got, want)
			}
			if f.Calls("GetChange") != 0 {
				t.Error("waited for a change that failed")
			}
		})
	}
}

// Guide §6.2 items 18 and 20: deletion at deactivation; the next holder
// creates the record with its address.
func TestDNSDeactivateDeletes(t *testing.T) {
	f := newFakeR53(tZone)
	f.pending = -1
	c := dnsClients(f, time.Second)
	a := newTestDNS(t, c, cfgFor(tIPA, ""))
	b := newTestDNS(t, c, cfgFor(tIPB, ""))
	ctx := context.Background()
	if err := a.Activate(ctx, nodeA); err != nil {
		t.Fatal(err)
	}
	if err := a.Deactivate(ctx, nodeA); err != nil {
		t.Fatal(err)
	}
	ch := f.submitted()
	last := ch[len(ch)-1]
	if last.Action != types.ChangeActionDelete || sdkaws.ToString(last.ResourceRecordSet.ResourceRecords[0].Value) != tIPA {
		t.Errorf("last change = %s %v, want DELETE of %s", last.Action, dnsValues(last.ResourceRecordSet), tIPA)
	}
	if _, ok := f.get(tZone, tName); ok {
		t.Fatal("record still there after deactivation")
	}
	// Idempotent: nothing to delete any more, no change submitted.
	n := f.Calls("ChangeResourceRecordSets")
	if err := a.Deactivate(ctx, nodeA); err != nil || f.Calls("ChangeResourceRecordSets") != n {
		t.Errorf("second deactivation: %v, changes %d → %d", err, n, f.Calls("ChangeResourceRecordSets"))
	}
	if err := b.Activate(ctx, nodeB); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.get(tZone, tName); len(got.values) != 1 || got.values[0] != tIPB {
		t.Errorf("after failover the record holds %v, want %s", got.values, tIPB)
	}

	// Same address on both nodes (a VIP or EIP in the record): the
	// failover keeps it, whoever activates.
	f2 := newFakeR53(tZone)
	f2.pending = -1
	c2 := dnsClients(f2, time.Second)
	vip := "10.1.0.20"
	for _, n := range []inventory.Target{nodeA, nodeB} {
		d := newTestDNS(t, c2, cfgFor(vip, ""))
		if err := d.Activate(ctx, n); err != nil {
			t.Fatal(err)
		}
		if got, _ := f2.get(tZone, tName); got.values[0] != vip {
			t.Errorf("on %s the record holds %v", n.Name, got.values)
		}
	}
}

// Deactivation never deletes the record another node now holds.
func TestDNSDeactivateSparesNewHolder(t *testing.T) {
	f := newFakeR53(tZone)
	f.pending = -1
	a := newTestDNS(t, dnsClients(f, time.Second), cfgFor(tIPA, ""))
	ctx := context.Background()
	f.set(tZone, tName, 60, tIPB)
	if err := a.Deactivate(ctx, nodeA); err != nil {
		t.Fatal(err)
	}
	if got, ok := f.get(tZone, tName); !ok || got.values[0] != tIPB {
		t.Fatalf("new holder's record = %v %v", got, ok)
	}
	if f.Calls("ChangeResourceRecordSets") != 0 {
		t.Error("a change was submitted")
	}
	// A record of several values including ours is not ours alone either.
	f.set(tZone, tName, 60, tIPA, tIPB)
	if err := a.Deactivate(ctx, nodeA); err != nil || f.Calls("ChangeResourceRecordSets") != 0 {
		t.Errorf("multi-value record: %v, changes %d", err, f.Calls("ChangeResourceRecordSets"))
	}

	// The record moves to the new holder between the read and the DELETE:
	// Route 53 refuses the DELETE (values differ), the re-read sees the
	// new holder, and its record stays.
	f.set(tZone, tName, 60, tIPA)
	var reads atomic.Int32
	f.list = func(ctx context.Context, in *route53.ListResourceRecordSetsInput) (*route53.ListResourceRecordSetsOutput, error) {
		out, err := f.modelList(ctx, in)
		if reads.Add(1) == 1 {
			f.set(tZone, tName, 60, tIPB) // the takeover lands now
		}
		return out, err
	}
	if err := a.Deactivate(ctx, nodeA); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.get(tZone, tName); got.values[0] != tIPB {
		t.Errorf("record = %v, want the new holder's %s", got.values, tIPB)
	}
	if reads.Load() != 2 || f.Calls("ChangeResourceRecordSets") != 1 {
		t.Errorf("reads %d, changes %d; want 2 and 1 refused DELETE", reads.Load(), f.Calls("ChangeResourceRecordSets"))
	}

	// A hosted zone that is gone has no record to delete.
	gone := newTestDNS(t, dnsClients(f, time.Second), DNSConfig{HostedZoneID: "Zgone", Name: tName, IP: tIPA})
	f.list = nil
	if err := gone.Deactivate(ctx, nodeA); err != nil {
		t.Errorf("deactivation in a missing zone: %v", err)
	}
	// Route 53 not answering is a deactivation failure.
	f.list = func(ctx context.Context, _ *route53.ListResourceRecordSetsInput) (*route53.ListResourceRecordSetsOutput, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	a = newTestDNS(t, dnsClients(f, 30*time.Millisecond), cfgFor(tIPA, ""))
	err := a.Deactivate(ctx, nodeA)
	if got, want := a.DeactivateMessage(tRes, err), "Deactivating awsdns1 resource has failed. (6 : Timeout occurred.)"; got != want {
		t.Errorf("line = %q, want %q", got, want)
	}
}

// Guide §6.2 item 19: with the checkbox off, deactivation leaves the record
// and makes no call; the next holder only updates the address.
func TestDNSKeepOnDeactivate(t *testing.T) {
	f := newFakeR53(tZone)
	f.pending = -1
	cfg := cfgFor(tIPA, "")
	cfg.KeepOnDeactivate = true
	a := newTestDNS(t, dnsClients(f, time.Second), cfg)
	ctx := context.Background()
	if err := a.Activate(ctx, nodeA); err != nil {
		t.Fatal(err)
	}
	f.calls = map[string]int{}
	if err := a.Deactivate(ctx, nodeA); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 0 {
		t.Errorf("calls at deactivation: %v, want none", f.calls)
	}
	if got, ok := f.get(tZone, tName); !ok || got.values[0] != tIPA {
		t.Fatalf("record after deactivation = %v %v, want kept", got, ok)
	}
	cfg.IP = tIPB
	b := newTestDNS(t, dnsClients(f, time.Second), cfg)
	if err := b.Activate(ctx, nodeB); err != nil {
		t.Fatal(err)
	}
	ch := f.submitted()
	if last := ch[len(ch)-1]; last.Action != types.ChangeActionUpsert || len(ch) != 2 {
		t.Errorf("changes = %d, last %s; want an UPSERT only", len(ch), last.Action)
	}
	if got, _ := f.get(tZone, tName); got.values[0] != tIPB {
		t.Errorf("record = %v, want %s", got.values, tIPB)
	}
}

// Guide §6.2 item 22, through a real resolver talking to a local DNS
// server.
func TestDNSCheck(t *testing.T) {
	srv := startTestDNSServer(t)
	f := newFakeR53(tZone)
	f.pending = -1
	d := newTestDNS(t, dnsClients(f, 2*time.Second), cfgFor(tIPA, srv.Addr()))
	ctx := context.Background()
	check := func() monitor.Result {
		t.Helper()
		r, err := d.Check(ctx, nodeA)
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		if r.Time.IsZero() {
			t.Error("result without time")
		}
		return r
	}
	for _, tc := range []struct {
		name    string
		setup   func()
		status  monitor.Status
		code    int
		line    string
		queried bool
	}{
		{"missing", func() {}, monitor.Critical, 7,
			"Detected an error in monitoring awsdnsw1. (7 : The resource record set in Amazon Route 53 does not exist.)", false},
		{"other IP", func() { f.set(tZone, tName, 60, tIPB) }, monitor.Critical, 8,
			"Detected an error in monitoring awsdnsw1. (8 : IP address different from the setting is registered in the resource record set of Amazon Route 53.)", false},
		{"two IPs", func() { f.set(tZone, tName, 60, tIPA, tIPB) }, monitor.Critical, 8, "", false},
		{"nxdomain", func() { f.set(tZone, tName, 60, tIPA) }, monitor.Critical, 9,
			"Detected an error in monitoring awsdnsw1. (9 : Failed to resolve domain name.)", true},
		{"servfail", func() { srv.set(tName, tIPA); srv.setMode("servfail") }, monitor.Critical, 9, "", true},
		{"wrong answer", func() { srv.setMode(""); srv.set(tName, tOther) }, monitor.Critical, 10,
			"Detected an error in monitoring awsdnsw1. (10 : IP address which is resolved domain name from the DNS resolver does not match setting.)", true},
		{"ok", func() { srv.set(tName, tOther, tIPA) }, monitor.OK, 0, "", true},
		{"ok, upper-case record name from Route 53", func() {
			f.list = func(ctx context.Context, in *route53.ListResourceRecordSetsInput) (*route53.ListResourceRecordSetsOutput, error) {
				return &route53.ListResourceRecordSetsOutput{ResourceRecordSets: []types.ResourceRecordSet{{Name: sdkaws.String("SRV.hz1.local."), Type: types.RRTypeA,
					TTL: sdkaws.Int64(60), ResourceRecords: []types.ResourceRecord{{Value: sdkaws.String(tIPA)}}}}}, nil
			}
		}, monitor.OK, 0, "", true},
		{"next name is not ours", func() {
			f.list = func(ctx context.Context, in *route53.ListResourceRecordSetsInput) (*route53.ListResourceRecordSetsOutput, error) {
				return &route53.ListResourceRecordSetsOutput{ResourceRecordSets: []types.ResourceRecordSet{{Name: sdkaws.String("tsrv.hz1.local."), Type: types.RRTypeA,
					TTL: sdkaws.Int64(60), ResourceRecords: []types.ResourceRecord{{Value: sdkaws.String(tIPA)}}}}}, nil
			}
		}, monitor.Critical, 7, "", false},
		{"alias", func() {
			f.list = func(ctx context.Context, in *route53.ListResourceRecordSetsInput) (*route53.ListResourceRecordSetsOutput, error) {
				return &route53.ListResourceRecordSetsOutput{ResourceRecordSets: []types.ResourceRecordSet{{Name: sdkaws.String(tName), Type: types.RRTypeA,
					AliasTarget: &types.AliasTarget{DNSName: sdkaws.String("lb.example.com.")}}}}, nil
			}
		}, monitor.Critical, 8, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			q := srv.queries.Load()
			r := check()
			if r.Status != tc.status || r.Code != tc.code {
				t.Fatalf("result = %s %d %q, want %s %d", r.Status, r.Code, r.Message, tc.status, tc.code)
			}
			if tc.line != "" {
				if got := errorLine(r); got != tc.line {
					t.Errorf("line = %q\nwant   %q", got, tc.line)
				}
			}
			if asked := srv.queries.Load() > q; asked != tc.queried {
				t.Errorf("resolver asked: %v, want %v", asked, tc.queried)
			}
		})
	}
	f.list = nil
	f.set(tZone, tName, 60, tIPA)
	srv.set(tName, tIPA)
	if r := check(); r.Status != monitor.OK || !strings.Contains(r.Message, tName) || !strings.Contains(r.Message, tIPA) {
		t.Errorf("OK result = %+v", r)
	}
	// Results carry the resource's clock.
	at := time.Date(2021, 7, 26, 9, 0, 0, 0, time.UTC)
	d2, err := NewDNS(dnsClients(f, 2*time.Second), cfgFor(tIPA, srv.Addr()), withClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := d2.Check(ctx, nodeA); err != nil || !r.Time.Equal(at) {
		t.Errorf("result time = %v, %v; want %v", r.Time, err, at)
	}
}

// A resolver that does not answer is a resolution failure (9), bounded by
// the per-call timeout, not an AWS failure.
func TestDNSCheckResolverSilent(t *testing.T) {
	srv := startTestDNSServer(t)
	srv.setMode("drop")
	f := newFakeR53(tZone)
	f.set(tZone, tName, 60, tIPA)
	d := newTestDNS(t, dnsClients(f, 300*time.Millisecond), cfgFor(tIPA, srv.Addr()))
	start := time.Now()
	r, err := d.Check(context.Background(), nodeA)
	if err != nil || r.Status != monitor.Critical || r.Code != CodeDNSResolveFailed {
		t.Fatalf("Check = %+v, %v; want Critical 9", r, err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %s, want about the 300ms call timeout", el)
	}
	// Nothing listens at all.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	d = newTestDNS(t, dnsClients(f, 300*time.Millisecond), cfgFor(tIPA, addr))
	if r, err := d.Check(context.Background(), nodeA); err != nil || r.Code != CodeDNSResolveFailed {
		t.Errorf("closed port: %+v, %v; want Critical 9", r, err)
	}
	// The check's own deadline running out is not a finding.
	ctx, cancel := context.WithCancel(context.Background())
	d.resolver = lookupFunc(func(ctx context.Context, _, _ string) ([]netip.Addr, error) {
		cancel()
		<-ctx.Done()
		return nil, ctx.Err()
	})
	if r, err := d.Check(ctx, nodeA); err == nil {
		t.Errorf("check cancelled during resolution: %+v, want an error", r)
	}
}

// AWS failures are errors for the response-failure action, never
// Critical results (guide §6.2 item 24; T10).
func TestDNSCheckAWSErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		list      func(context.Context, *route53.ListResourceRecordSetsInput) (*route53.ListResourceRecordSetsOutput, error)
		code      int
		warn      string
		unavailab bool
	}{
		{"timeout", func(ctx context.Context, _ *route53.ListResourceRecordSetsInput) (*route53.ListResourceRecordSetsOutput, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}, 6, "Warn monitoring awsdnsw1. (106 : Timeout occurred.)", true},
		{"throttled", func(context.Context, *route53.ListResourceRecordSetsInput) (*route53.ListResourceRecordSetsOutput, error) {
			return nil, r53Err("Throttling", "Rate exceeded")
		}, 5, "Warn monitoring awsdnsw1. (105 : Rate exceeded)", true},
		{"no such zone", func(_ context.Context, in *route53.ListResourceRecordSetsInput) (*route53.ListResourceRecordSetsOutput, error) {
			return nil, noSuchZone(sdkaws.ToString(in.HostedZoneId))
		}, 5, "Warn monitoring awsdnsw1. (105 : No hosted zone found with ID: Z123)", false},
		{"unreachable", func(context.Context, *route53.ListResourceRecordSetsInput) (*route53.ListResourceRecordSetsOutput, error) {
			return nil, errors.New(`dial tcp: lookup route53.amazonaws.com: no such host`)
		}, 5, "Warn monitoring awsdnsw1. (105 : Failed in the AWS CLI command.)", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeR53(tZone)
			f.list = tc.list
			d := newTestDNS(t, dnsClients(f, 40*time.Millisecond), cfgFor(tIPA, ""))
			d.resolver = lookupFunc(func(context.Context, string, string) ([]netip.Addr, error) {
				t.Error("resolver asked although Route 53 could not be read")
				return nil, nil
			})
			r, err := d.Check(context.Background(), nodeA)
			var re *ha.ResourceError
			if !errors.As(err, &re) {
				t.Fatalf("Check = %+v, %v; want a *ha.ResourceError", r, err)
			}
			if re.Code != tc.code {
				t.Errorf("code = %d, want %d", re.Code, tc.code)
			}
			if got := ha.MonitorWarnMessage(tMon, re.Code+ha.WarnOffset, re.Detail); got != tc.warn {
				t.Errorf("warning = %q, want %q", got, tc.warn)
			}
			if got := unavailable(re.Err); got != tc.unavailab {
				t.Errorf("unavailable = %v, want %v", got, tc.unavailab)
			}
		})
	}
}

// Guide §6.2 item 24 and drift recovery, through the ha engine: an AWS
// timeout warns (106), is silent, or recovers (6) as the policy says; a
// changed record (8) restarts the resource, which puts it back.
func TestDNSMonitorInEngine(t *testing.T) {
	for _, tc := range []struct {
		on      ha.UnreachableAction
		kind    ha.EventKind
		line    string
		restart bool
	}{
		{ha.UnreachableWarn, ha.EventMonitorWarn, "Warn monitoring awsdnsw1. (106 : Timeout occurred.)", false},
		{ha.UnreachableSilent, "", "", false},
		{ha.UnreachableRecover, ha.EventMonitorError, "Detected an error in monitoring awsdnsw1. (6 : Timeout occurred.)", true},
	} {
		t.Run(string(tc.on), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeR53(tZone)
				f.pending = -1
				var blocked atomic.Bool
				f.list = func(ctx context.Context, in *route53.ListResourceRecordSetsInput) (*route53.ListResourceRecordSetsOutput, error) {
					if blocked.Load() {
						<-ctx.Done()
						return nil, ctx.Err()
					}
					return f.modelList(ctx, in)
				}
				evs := runDNSEngine(t, f, tc.on, func() { blocked.Store(true) })
				var got []ha.Event
				restarted := false
				for _, ev := range evs {
					if ev.Monitor == tMon && (ev.Kind == ha.EventMonitorWarn || ev.Kind == ha.EventMonitorError) {
						got = append(got, ev)
					}
					if ev.Kind == ha.EventRestart {
						restarted = true
					}
				}
				if tc.kind == "" {
					if len(got) != 0 {
						t.Errorf("silent policy emitted %v", got)
					}
				} else if len(got) == 0 || got[0].Kind != tc.kind || got[0].Message != tc.line {
					t.Errorf("events = %v, want %s %q", got, tc.kind, tc.line)
				}
				if restarted != tc.restart {
					t.Errorf("restarted = %v, want %v", restarted, tc.restart)
				}
			})
		})
	}

	t.Run("drift", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFakeR53(tZone)
			f.pending = -1
			evs := runDNSEngine(t, f, ha.UnreachableWarn, func() { f.set(tZone, tName, 60, tOther) })
			var lines []string
			for _, ev := range evs {
				if ev.Monitor == tMon || ev.Kind == ha.EventRestart {
					lines = append(lines, string(ev.Kind)+": "+ev.Message)
				}
			}
			want := "monitor_error: Detected an error in monitoring awsdnsw1. (8 : IP address different from the setting is registered in the resource record set of Amazon Route 53.)"
			if len(lines) == 0 || lines[0] != want {
				t.Fatalf("events = %q, want first %q", lines, want)
			}
			if got, _ := f.get(tZone, tName); len(got.values) != 1 || got.values[0] != tIPA {
				t.Errorf("after recovery the record holds %v, want %s", got.values, tIPA)
			}
			if want := "monitor_recovered: Monitoring awsdnsw1 is normal again."; len(lines) < 3 || !strings.HasPrefix(lines[1], "restart: ") || lines[len(lines)-1] != want {
				t.Errorf("events = %q, want a restart, then %q", lines, want)
			}
		})
	})
}

// runDNSEngine runs group failover1 with awsdns1 and its monitor awsdnsw1
// (every 10 s, no retry, recovery restarts awsdns1) on node server1 in a
// synctest bubble; after the group is online and checked once, fault is
// applied and the engine runs 25 s more. It returns the events.
func runDNSEngine(t *testing.T, f *fakeR53, on ha.UnreachableAction, fault func()) []ha.Event {
	t.Helper()
	d, err := NewDNS(dnsClients(f, 2*time.Second), cfgFor(tIPA, ""))
	if err != nil {
		t.Fatal(err)
	}
	d.resolver = lookupFunc(func(ctx context.Context, _, host string) ([]netip.Addr, error) {
		rr, ok := f.get(tZone, host)
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		var out []netip.Addr
		for _, v := range rr.values {
			out = append(out, netip.MustParseAddr(v))
		}
		return out, nil
	})
	var mu sync.Mutex
	var evs []ha.Event
	pol := ha.RecoveryPolicy{Interval: 10 * time.Second, Timeout: 5 * time.Second, Retries: -1, Restarts: 3, OnUnreachable: on}
	eng, err := ha.NewEngine("server1", []ha.Group{{
		Name:     "failover1",
		Nodes:    []string{"server1"},
		Members:  []ha.Member{{Name: tRes, Resource: d, Policy: ha.RecoveryPolicy{Interval: time.Hour}}},
		Monitors: []ha.GroupMonitor{{Name: tMon, Monitor: d, Policy: pol, Recover: tRes}},
	}}, ha.WithEvents(func(ev ha.Event) {
		mu.Lock()
		evs = append(evs, ev)
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	if err := eng.Online(ctx, "failover1", 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(11 * time.Second)
	synctest.Wait()
	fault()
	time.Sleep(25 * time.Second)
	synctest.Wait()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]ha.Event(nil), evs...)
}

// The resource satisfies the ha interfaces, and formats its lines with the
// guide's space.
func TestDNSMessageFormatter(t *testing.T) {
	var r ha.Resource = &DNS{}
	mf, ok := r.(ha.MessageFormatter)
	if !ok {
		t.Fatal("DNS is not a MessageFormatter")
	}
	err := &ha.ResourceError{Code: 5, Detail: "Failed in the AWS CLI command."}
	if got, want := mf.ActivateMessage(tRes, err), "Activating awsdns1 resource has failed. (5 : Failed in the AWS CLI command.)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if got := ha.ActivateMessage(tRes, err); !strings.Contains(got, "failed.(5") {
		t.Errorf("the common grammar changed: %q", got)
	}
	if got, want := mf.DeactivateMessage(tRes, fmt.Errorf("x: %w", context.DeadlineExceeded)), "Deactivating awsdns1 resource has failed. (6 : Timeout occurred.)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

func FuzzDNSName(f *testing.F) {
	for _, s := range []string{tName, "SRV.hz1.local.", "srv.hz1.local", ".", "", "a.", "*.x.", "a..b.", "-a.b.", "a-.b.", "_x.y.",
		strings.Repeat("a", 63) + ".", strings.Repeat("a", 64) + ".", strings.Repeat("a.", 127), "é.local.", "a\x00.b.", "a b.c."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidateDNSName(name)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error text")
			}
			return
		}
		if !strings.HasSuffix(name, ".") || strings.ToLower(name) != name || len(name) > 254 || name == "." ||
			strings.Contains(name, "..") || strings.ContainsAny(name, "* \\\x00") {
			t.Errorf("accepted %q", name)
		}
		for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
			if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
				t.Errorf("accepted %q (label %q)", name, l)
			}
		}
		// A valid name makes a valid config.
		if err := (DNSConfig{HostedZoneID: tZone, Name: name, IP: tIPA}).Validate(); err != nil {
			t.Errorf("config with valid name %q: %v", name, err)
		}
	})
}

func FuzzDNSConfig(f *testing.F) {
	f.Add("/hostedzone/Z123", tName, tIPA, "10.0.0.2", int64(60))
	f.Add("Z", "x.", "1.2.3.4", "[::1]:53", int64(-1))
	f.Add("", "", "", ":", int64(-7))
	f.Add("hostedzone/", "A.", "::ffff:1.2.3.4", "h:0", int64(1<<40))
	f.Fuzz(func(t *testing.T, zone, name, ip, resolver string, ttl int64) {
		c := DNSConfig{HostedZoneID: zone, Name: name, IP: ip, Resolver: resolver, TTL: ttl}
		if err := c.Validate(); err != nil {
			return
		}
		d := c.WithDefaults()
		if d.HostedZoneID == "" || strings.Contains(d.HostedZoneID, "/") || d.TTL < 0 || d.TTL > dnsMaxTTL {
			t.Errorf("valid %+v gave defaults %+v", c, d)
		}
		if _, err := NewDNS(dnsClients(newFakeR53(), 0), c); err != nil {
			t.Errorf("NewDNS(valid %+v): %v", c, err)
		}
	})
}

func ExampleDNSConfig_Validate() {
	for _, name := range []string{"srv.hz1.local.", "SRV.hz1.local.", "srv.hz1.local"} {
		err := DNSConfig{HostedZoneID: "Z123", Name: name, IP: "10.0.110.10"}.Validate()
		fmt.Println(err)
	}
	// Output:
	// <nil>
	// name: "SRV.hz1.local.": specify the resource record set name in lower case ("srv.hz1.local."): an upper-case name makes the activation fail
	// name: "srv.hz1.local": specify the resource record set name as a fully qualified domain name with the trailing dot ("srv.hz1.local.")
}
