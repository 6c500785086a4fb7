package awstest_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/minato-ops/minato/ha/aws/awstest"
)

func aRecord(action types.ChangeAction, name string, ttl int64, values ...string) types.Change {
	rs := &types.ResourceRecordSet{Name: sdkaws.String(name), Type: types.RRTypeA, TTL: sdkaws.Int64(ttl)}
	for _, v := range values {
		rs.ResourceRecords = append(rs.ResourceRecords, types.ResourceRecord{Value: sdkaws.String(v)})
	}
	return types.Change{Action: action, ResourceRecordSet: rs}
}

func change(c *clients, t *testing.T, zone string, changes ...types.Change) (*route53.ChangeResourceRecordSetsOutput, error) {
	return c.r53.ChangeResourceRecordSets(ctx(t), &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: sdkaws.String(zone), ChangeBatch: &types.ChangeBatch{Changes: changes},
	})
}

func TestHostedZone(t *testing.T) {
	c := start(t, awstest.Options{})
	c.srv.AddHostedZone("Z1PUBLIC", "Example.COM", false)
	c.srv.AddHostedZone("/hostedzone/Z2PRIVATE", "internal.example.", true)
	out, err := c.r53.GetHostedZone(ctx(t), &route53.GetHostedZoneInput{Id: sdkaws.String("/hostedzone/Z1PUBLIC")})
	if err != nil {
		t.Fatal(err)
	}
	hz := out.HostedZone
	if sdkaws.ToString(hz.Id) != "/hostedzone/Z1PUBLIC" || sdkaws.ToString(hz.Name) != "example.com." || hz.Config == nil || hz.Config.PrivateZone ||
		sdkaws.ToInt64(hz.ResourceRecordSetCount) != 2 || sdkaws.ToString(hz.CallerReference) == "" {
		t.Fatalf("hosted zone = %+v", hz)
	}
	if out.DelegationSet == nil || len(out.DelegationSet.NameServers) != 4 {
		t.Fatalf("delegation set = %+v", out.DelegationSet)
	}
	out, err = c.r53.GetHostedZone(ctx(t), &route53.GetHostedZoneInput{Id: sdkaws.String("Z2PRIVATE")})
	if err != nil || !out.HostedZone.Config.PrivateZone || out.DelegationSet != nil {
		t.Fatalf("private zone = %+v, %v", out, err)
	}
	_, err = c.r53.GetHostedZone(ctx(t), &route53.GetHostedZoneInput{Id: sdkaws.String("ZNONE")})
	wantAPIError(t, err, "NoSuchHostedZone", "No hosted zone found with ID: ZNONE")
	var nz *types.NoSuchHostedZone
	if !errors.As(err, &nz) {
		t.Fatalf("want the SDK's NoSuchHostedZone type, got %T", err)
	}
}

func TestChangeAndListRecords(t *testing.T) {
	c := start(t, awstest.Options{})
	c.srv.AddHostedZone("Z1", "example.com.", false)
	ch, err := change(c, t, "Z1", aRecord(types.ChangeActionUpsert, "VIP.Example.com", 60, "10.0.1.10"))
	if err != nil {
		t.Fatal(err)
	}
	ci := ch.ChangeInfo
	if !strings.HasPrefix(sdkaws.ToString(ci.Id), "/change/C") || ci.Status != types.ChangeStatusPending || ci.SubmittedAt == nil || time.Since(*ci.SubmittedAt) > time.Minute {
		t.Fatalf("change info = %+v", ci)
	}
	if vals, ttl, ok := c.srv.Record("Z1", "vip.example.com.", "A"); !ok || ttl != 60 || !slices.Equal(vals, []string{"10.0.1.10"}) {
		t.Fatalf("record = %v %d %v", vals, ttl, ok)
	}
	gc, err := c.r53.GetChange(ctx(t), &route53.GetChangeInput{Id: ci.Id})
	if err != nil || gc.ChangeInfo.Status != types.ChangeStatusInsync {
		t.Fatalf("GetChange = %+v, %v", gc, err)
	}

	// Route 53's validation texts.
	_, err = change(c, t, "Z1", aRecord(types.ChangeActionCreate, "vip.example.com.", 60, "10.0.1.11"))
	wantAPIError(t, err, "InvalidChangeBatch", "[Tried to create resource record set [name='vip.example.com.', type='A'] but it already exists]")
	var icb *types.InvalidChangeBatch
	if !errors.As(err, &icb) {
		t.Fatalf("want the SDK's InvalidChangeBatch type, got %T", err)
	}
	_, err = change(c, t, "Z1", aRecord(types.ChangeActionDelete, "gone.example.com.", 60, "10.0.1.11"))
	wantAPIError(t, err, "InvalidChangeBatch", "[Tried to delete resource record set [name='gone.example.com.', type='A'] but it was not found]")
	_, err = change(c, t, "Z1", aRecord(types.ChangeActionDelete, "vip.example.com.", 60, "10.0.1.99"))
	wantAPIError(t, err, "InvalidChangeBatch", "[Tried to delete resource record set [name='vip.example.com.', type='A'] but the values provided do not match the current values]")
	_, err = change(c, t, "Z1", aRecord(types.ChangeActionDelete, "vip.example.com.", 300, "10.0.1.10"))
	wantAPIError(t, err, "InvalidChangeBatch", "[Tried to delete resource record set [name='vip.example.com.', type='A'] but the values provided do not match the current values]")
	_, err = change(c, t, "Z1", aRecord(types.ChangeActionUpsert, "vip.other.org.", 60, "10.0.1.10"))
	wantAPIError(t, err, "InvalidChangeBatch", "[RRSet with DNS name vip.other.org. is not permitted in zone example.com.]")
	_, err = change(c, t, "Z1", aRecord(types.ChangeActionUpsert, "bad.example.com.", 60, "10.0.1"))
	wantAPIError(t, err, "InvalidChangeBatch", "[Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '10.0.1'']")
	_, err = change(c, t, "Z1", types.Change{Action: types.ChangeActionUpsert, ResourceRecordSet: &types.ResourceRecordSet{Name: sdkaws.String("x.example.com."), Type: types.RRTypeA}})
	wantAPIError(t, err, "InvalidInput", "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=UPSERT, Name=x.example.com., Type=A, SetIdentifier=null]")
	// A batch with two errors names both and applies nothing.
	_, err = change(c, t, "Z1",
		aRecord(types.ChangeActionCreate, "new.example.com.", 60, "10.0.0.1"),
		aRecord(types.ChangeActionCreate, "vip.example.com.", 60, "10.0.1.11"),
		aRecord(types.ChangeActionDelete, "gone.example.com.", 60, "10.0.1.11"))
	wantAPIError(t, err, "InvalidChangeBatch", "[Tried to create resource record set [name='vip.example.com.', type='A'] but it already exists, Tried to delete resource record set [name='gone.example.com.', type='A'] but it was not found]")
	if _, _, ok := c.srv.Record("Z1", "new.example.com.", "A"); ok {
		t.Fatal("a failed batch was partly applied")
	}
	// DELETE then CREATE in one batch is a replacement.
	if _, err := change(c, t, "Z1", aRecord(types.ChangeActionDelete, "vip.example.com.", 60, "10.0.1.10"), aRecord(types.ChangeActionCreate, "vip.example.com.", 30, "10.0.2.10")); err != nil {
		t.Fatal(err)
	}
	if vals, ttl, _ := c.srv.Record("Z1", "vip.example.com", "a"); ttl != 30 || !slices.Equal(vals, []string{"10.0.2.10"}) {
		t.Fatalf("replaced record = %v %d", vals, ttl)
	}

	// Listing: Route 53's order and paging.
	c.srv.SetRecord("Z1", "a.vip.example.com.", "A", 60, "10.0.3.1")
	c.srv.SetRecord("Z1", "b.example.com.", "A", 60, "10.0.3.2")
	c.srv.SetRecord("Z1", "vip.example.com.", "TXT", 60, `"owner=node1"`)
	list, err := c.r53.ListResourceRecordSets(ctx(t), &route53.ListResourceRecordSetsInput{HostedZoneId: sdkaws.String("Z1")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rs := range list.ResourceRecordSets {
		got = append(got, sdkaws.ToString(rs.Name)+" "+string(rs.Type))
	}
	want := []string{"example.com. NS", "example.com. SOA", "b.example.com. A", "vip.example.com. A", "vip.example.com. TXT", "a.vip.example.com. A"}
	if !slices.Equal(got, want) || list.IsTruncated {
		t.Fatalf("listing = %q (truncated %v), want %q", got, list.IsTruncated, want)
	}
	page, err := c.r53.ListResourceRecordSets(ctx(t), &route53.ListResourceRecordSetsInput{
		HostedZoneId: sdkaws.String("Z1"), StartRecordName: sdkaws.String("VIP.example.com"), StartRecordType: types.RRTypeA, MaxItems: sdkaws.Int32(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	rs := page.ResourceRecordSets
	if len(rs) != 1 || sdkaws.ToString(rs[0].Name) != "vip.example.com." || sdkaws.ToInt64(rs[0].TTL) != 30 || sdkaws.ToString(rs[0].ResourceRecords[0].Value) != "10.0.2.10" {
		t.Fatalf("page = %+v", rs)
	}
	if !page.IsTruncated || sdkaws.ToString(page.NextRecordName) != "vip.example.com." || page.NextRecordType != types.RRTypeTxt || sdkaws.ToInt32(page.MaxItems) != 1 {
		t.Fatalf("page end = truncated %v next %s %s max %d", page.IsTruncated, sdkaws.ToString(page.NextRecordName), page.NextRecordType, sdkaws.ToInt32(page.MaxItems))
	}
	// The SDK's paginator walks every page.
	var all int
	p := route53.NewListResourceRecordSetsPaginator(c.r53, &route53.ListResourceRecordSetsInput{HostedZoneId: sdkaws.String("Z1"), MaxItems: sdkaws.Int32(2)})
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		all += len(pg.ResourceRecordSets)
	}
	if all != len(want) {
		t.Fatalf("paginator saw %d record sets, want %d", all, len(want))
	}
	_, err = c.r53.ListResourceRecordSets(ctx(t), &route53.ListResourceRecordSetsInput{HostedZoneId: sdkaws.String("ZX")})
	wantAPIError(t, err, "NoSuchHostedZone", "No hosted zone found with ID: ZX")
	_, err = c.r53.GetChange(ctx(t), &route53.GetChangeInput{Id: sdkaws.String("/change/CNOSUCH")})
	wantAPIError(t, err, "NoSuchChange", "A change with the specified change ID does not exist.")

	// Drift: another actor deletes the record.
	c.srv.SetRecord("Z1", "vip.example.com.", "A", 0)
	if _, _, ok := c.srv.Record("Z1", "vip.example.com.", "A"); ok {
		t.Fatal("record still there after SetRecord without values")
	}
}

func TestRoute53FaultsAndConsistency(t *testing.T) {
	c := start(t, awstest.Options{})
	c.srv.AddHostedZone("Z1", "example.com.", false)

	c.srv.Throttle("ChangeResourceRecordSets", 2)
	if _, err := change(c, t, "Z1", aRecord(types.ChangeActionUpsert, "vip.example.com.", 60, "10.0.1.10")); err != nil {
		t.Fatalf("throttling not ridden out: %v", err)
	}
	if n := c.srv.Calls("ChangeResourceRecordSets"); n != 3 {
		t.Fatalf("calls = %d, want 3", n)
	}
	c.srv.Throttle("GetHostedZone", 3)
	_, err := c.r53.GetHostedZone(ctx(t), &route53.GetHostedZoneInput{Id: sdkaws.String("Z1")})
	wantAPIError(t, err, "Throttling", "Rate exceeded")

	c.srv.Deny("ChangeResourceRecordSets", "Z1")
	_, err = change(c, t, "Z1", aRecord(types.ChangeActionUpsert, "vip.example.com.", 60, "10.0.1.11"))
	wantAPIError(t, err, "AccessDenied", "")
	c.srv.ClearFaults()

	c.srv.SetOutage(true)
	_, err = c.r53.GetHostedZone(ctx(t), &route53.GetHostedZoneInput{Id: sdkaws.String("Z1")})
	wantAPIError(t, err, "ServiceUnavailable", "")
	c.srv.SetOutage(false)

	const delay = 300 * time.Millisecond
	c.srv.SetConsistencyDelay(delay)
	t0 := time.Now()
	ch, err := change(c, t, "Z1", aRecord(types.ChangeActionUpsert, "vip.example.com.", 60, "10.0.2.10"))
	if err != nil {
		t.Fatal(err)
	}
	if vals, _, _ := c.srv.Record("Z1", "vip.example.com.", "A"); !slices.Equal(vals, []string{"10.0.2.10"}) {
		t.Fatalf("truth = %v", vals)
	}
	read := func() (string, types.ChangeStatus) {
		l, err := c.r53.ListResourceRecordSets(ctx(t), &route53.ListResourceRecordSetsInput{HostedZoneId: sdkaws.String("Z1"), StartRecordName: sdkaws.String("vip.example.com."), StartRecordType: types.RRTypeA, MaxItems: sdkaws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		g, err := c.r53.GetChange(ctx(t), &route53.GetChangeInput{Id: ch.ChangeInfo.Id})
		if err != nil {
			t.Fatal(err)
		}
		return sdkaws.ToString(l.ResourceRecordSets[0].ResourceRecords[0].Value), g.ChangeInfo.Status
	}
	v, st := read()
	if time.Since(t0) < delay-50*time.Millisecond && (v != "10.0.1.10" || st != types.ChangeStatusPending) {
		t.Fatalf("before the delay: value %s, status %s", v, st)
	}
	time.Sleep(time.Until(t0.Add(delay + 20*time.Millisecond)))
	if v, st := read(); v != "10.0.2.10" || st != types.ChangeStatusInsync {
		t.Fatalf("after the delay: value %s, status %s", v, st)
	}
}
