package awstest_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha/aws/awstest"
)

// resolver asks only srv's DNS.
func resolver(srv *awstest.Server) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", srv.DNS())
	}}
}

func TestDNSAnswersFromTheZones(t *testing.T) {
	srv := awstest.New(awstest.Options{})
	defer srv.Close()
	srv.AddHostedZone("Z1", "hz1.local.", true)
	srv.SetRecord("Z1", "srv.hz1.local.", "A", 60, "10.0.110.10")
	r := resolver(srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	ips, err := r.LookupHost(ctx, "srv.hz1.local")
	if err != nil || len(ips) != 1 || ips[0] != "10.0.110.10" {
		t.Fatalf("srv.hz1.local: %v %v, want [10.0.110.10]", ips, err)
	}
	_, err = r.LookupHost(ctx, "nope.hz1.local")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		t.Errorf("a name no zone holds: %v, want NXDOMAIN", err)
	}

	// A change under the consistency delay is answered once visible.
	srv.SetConsistencyDelay(300 * time.Millisecond)
	srv.SetRecord("Z1", "srv.hz1.local.", "A", 60, "10.0.120.10")
	if ips, _ := r.LookupHost(ctx, "srv.hz1.local"); len(ips) != 1 || ips[0] != "10.0.120.10" {
		// SetRecord is another actor's change: visible at once.
		t.Errorf("after another actor's change: %v, want [10.0.120.10]", ips)
	}
	srv.SetRecord("Z1", "srv.hz1.local.", "A", 60) // deleted
	if _, err := r.LookupHost(ctx, "srv.hz1.local"); err == nil {
		t.Errorf("a deleted record still resolves")
	}

	// An outage: no answer.
	srv.SetRecord("Z1", "srv.hz1.local.", "A", 60, "10.0.110.10")
	srv.SetOutage(true)
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if _, err := r.LookupHost(short, "srv.hz1.local"); err == nil {
		t.Errorf("resolved during an outage")
	}
}

func TestGuide(t *testing.T) {
	srv := awstest.New(awstest.Options{})
	defer srv.Close()
	g := srv.Guide(2)
	for _, rt := range g.RouteTables {
		if got := srv.RouteTarget(rt, g.VIP+"/32"); got != "eni-node1" {
			t.Errorf("%s: VIP route to %q, want eni-node1", rt, got)
		}
	}
	if got := srv.Association(g.AllocationID); got != "eni-node1" {
		t.Errorf("EIP on %q", got)
	}
	if v, _, ok := srv.Record(g.HostedZoneID, g.RecordName, "A"); !ok || len(v) != 1 || v[0] != g.PrivateIPs[0] {
		t.Errorf("record %v %v", v, ok)
	}
	if len(g.ENIs) != 2 || g.Zones[0] == g.Zones[1] {
		t.Errorf("nodes %+v", g)
	}
}
