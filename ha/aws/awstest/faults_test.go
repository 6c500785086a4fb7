package awstest_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/minato-ops/minato/ha/aws/awstest"
)

func replaceVIP(c *clients, t *testing.T, table, eni string) error {
	_, err := c.ec2.ReplaceRoute(ctx(t), &ec2.ReplaceRouteInput{RouteTableId: sdkaws.String(table), DestinationCidrBlock: sdkaws.String("172.16.0.1/32"), NetworkInterfaceId: sdkaws.String(eni)})
	return err
}

func TestThrottlingIsRetried(t *testing.T) {
	c := start(t, awstest.Options{})
	vpcFixture(c.srv)
	c.srv.Throttle("ReplaceRoute", 2)
	if err := replaceVIP(c, t, "rtb-1", "eni-2"); err != nil {
		t.Fatalf("the SDK did not ride out 2 throttled calls: %v", err)
	}
	if n := c.srv.Calls("ReplaceRoute"); n != 3 {
		t.Fatalf("ReplaceRoute calls = %d, want 3 (2 throttled, 1 answered)", n)
	}
	if c.srv.RouteTarget("rtb-1", "172.16.0.1/32") != "eni-2" {
		t.Fatal("route not replaced after the retries")
	}

	// More throttling than attempts: the caller sees RequestLimitExceeded.
	c.srv.ResetCalls()
	c.srv.Throttle("", 5)
	_, err := c.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{})
	wantAPIError(t, err, "RequestLimitExceeded", "Request limit exceeded.")
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("want HTTP 503, got %v", err)
	}
	if n := c.srv.Calls("DescribeVpcs"); n != 3 {
		t.Fatalf("DescribeVpcs calls = %d, want 3 attempts", n)
	}
	if n := c.srv.Calls(""); n != 3 {
		t.Fatalf("all calls = %d, want 3", n)
	}
	// Two throttles remain queued for any action; cancelling drops them.
	c.srv.Throttle("", 0)
	if _, err := c.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
}

func TestFailAnswersCodes(t *testing.T) {
	c := start(t, awstest.Options{})
	vpcFixture(c.srv)
	cases := []struct {
		action, code, msg string
		call              func() error
	}{
		{"DescribeVpcs", "InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist", func() error {
			_, err := c.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-1"}})
			return err
		}},
		{"ReplaceRoute", "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID 'eni-2' does not exist", func() error {
			return replaceVIP(c, t, "rtb-1", "eni-2")
		}},
		{"ReplaceRoute", "InvalidRouteTableID.NotFound", "The routeTable ID 'rtb-3' does not exist", func() error {
			return replaceVIP(c, t, "rtb-3", "eni-1")
		}},
		{"AssociateAddress", "InvalidAllocationID.NotFound", "The allocation ID 'eipalloc-1' does not exist", func() error {
			_, err := c.ec2.AssociateAddress(ctx(t), &ec2.AssociateAddressInput{AllocationId: sdkaws.String("eipalloc-1"), NetworkInterfaceId: sdkaws.String("eni-1")})
			return err
		}},
		{"DescribeAvailabilityZones", "InvalidParameterValue", "Invalid availability zone: [ap-northeast-1a]", func() error {
			_, err := c.ec2.DescribeAvailabilityZones(ctx(t), &ec2.DescribeAvailabilityZonesInput{ZoneNames: []string{"ap-northeast-1a"}})
			return err
		}},
		{"DescribeInstances", "SomethingOdd", "SomethingOdd (error injected by awstest)", func() error {
			_, err := c.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
			return err
		}},
	}
	for _, tc := range cases {
		c.srv.Fail(tc.action, tc.code, 1)
		wantAPIError(t, tc.call(), tc.code, tc.msg)
		if err := tc.call(); err != nil {
			t.Fatalf("%s still fails after its one failure: %v", tc.action, err)
		}
	}
	// A failure for another action does not touch this one.
	c.srv.Fail("DescribeSubnets", "InternalError", 1)
	if _, err := c.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
}

func TestDeny(t *testing.T) {
	c := start(t, awstest.Options{})
	vpcFixture(c.srv)
	c.srv.Deny("ReplaceRoute", "rtb-2")
	if err := replaceVIP(c, t, "rtb-1", "eni-2"); err != nil {
		t.Fatalf("rtb-1 is not denied: %v", err)
	}
	err := replaceVIP(c, t, "rtb-2", "eni-2")
	ae := apiError(t, err)
	if ae.ErrorCode() != "UnauthorizedOperation" || !strings.HasPrefix(ae.ErrorMessage(), "You are not authorized to perform this operation. Encoded authorization failure message: ") {
		t.Fatalf("got %s %q", ae.ErrorCode(), ae.ErrorMessage())
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
		t.Fatalf("want HTTP 403, got %v", err)
	}
	if c.srv.RouteTarget("rtb-2", "172.16.0.1/32") != "eni-1" {
		t.Fatal("a denied call changed the route")
	}
	c.srv.Deny("DescribeAddresses")
	_, err = c.ec2.DescribeAddresses(ctx(t), &ec2.DescribeAddressesInput{})
	wantAPIError(t, err, "UnauthorizedOperation", "")
	c.srv.ClearFaults()
	if err := replaceVIP(c, t, "rtb-2", "eni-2"); err != nil {
		t.Fatalf("after ClearFaults: %v", err)
	}
}

func TestOutage(t *testing.T) {
	c := start(t, awstest.Options{})
	vpcFixture(c.srv)
	c.srv.SetOutage(true)
	_, err := c.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{})
	wantAPIError(t, err, "Unavailable", "The service is unavailable. Please try again shortly.")
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("want HTTP 503, got %v", err)
	}
	if n := c.srv.Calls("DescribeVpcs"); n != 3 {
		t.Fatalf("the SDK made %d attempts during the outage, want 3 (5xx is retried)", n)
	}
	md := imds.New(imds.Options{Endpoint: c.srv.IMDS("i-1"), Retryer: sdkConfig(1).Retryer()})
	_, err = md.GetMetadata(ctx(t), &imds.GetMetadataInput{Path: "instance-id"})
	if err == nil {
		t.Fatal("IMDS answered during the outage")
	}
	c.srv.SetOutage(false)
	if _, err := c.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
}

func TestUnsignedRequestRefused(t *testing.T) {
	srv := awstest.New(awstest.Options{})
	defer srv.Close()
	resp, err := http.PostForm(srv.URL(), url.Values{"Action": {"DescribeVpcs"}, "Version": {"2016-11-15"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "<Code>AuthFailure</Code>") {
		t.Fatalf("unsigned EC2 call: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/2013-04-01/hostedzone/Z1", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "<Code>MissingAuthenticationToken</Code>") {
		t.Fatalf("unsigned Route 53 call: %d %s", resp.StatusCode, body)
	}
	req, _ = http.NewRequest(http.MethodPost, srv.URL(), strings.NewReader(`{"TableName":"t"}`))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.DescribeTable")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "MissingAuthenticationTokenException") {
		t.Fatalf("unsigned DynamoDB call: %d %s", resp.StatusCode, body)
	}
}

func TestLatency(t *testing.T) {
	c := start(t, awstest.Options{Latency: [2]time.Duration{40 * time.Millisecond, 60 * time.Millisecond}, Seed: 1})
	vpcFixture(c.srv)
	for range 3 {
		t0 := time.Now()
		if _, err := c.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{}); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d < 40*time.Millisecond {
			t.Fatalf("call took %s, below the 40 ms minimum", d)
		}
	}
	c.srv.SetLatency(0, 0)
	t0 := time.Now()
	for range 5 {
		if _, err := c.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(t0); d > 150*time.Millisecond {
		t.Logf("5 calls without latency took %s (slow machine?)", d)
	}
}

func TestConsistencyDelayEC2(t *testing.T) {
	c := start(t, awstest.Options{})
	vpcFixture(c.srv)
	const delay = 300 * time.Millisecond
	c.srv.SetConsistencyDelay(delay)
	t0 := time.Now()
	if err := replaceVIP(c, t, "rtb-1", "eni-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ec2.AssociateAddress(ctx(t), &ec2.AssociateAddressInput{AllocationId: sdkaws.String("eipalloc-1"), NetworkInterfaceId: sdkaws.String("eni-2")}); err != nil {
		t.Fatal(err)
	}
	// The truth changed at once…
	if c.srv.RouteTarget("rtb-1", "172.16.0.1/32") != "eni-2" || c.srv.Association("eipalloc-1") != "eni-2" {
		t.Fatal("the writes were not applied")
	}
	// …and a second association without AllowReassociation is checked against it.
	_, err := c.ec2.AssociateAddress(ctx(t), &ec2.AssociateAddressInput{AllocationId: sdkaws.String("eipalloc-1"), NetworkInterfaceId: sdkaws.String("eni-1")})
	wantAPIError(t, err, "Resource.AlreadyAssociated", "")

	readRoute := func() string {
		out, err := c.ec2.DescribeRouteTables(ctx(t), &ec2.DescribeRouteTablesInput{RouteTableIds: []string{"rtb-1"}})
		if err != nil {
			t.Fatal(err)
		}
		return sdkaws.ToString(routeOf(out.RouteTables[0], "172.16.0.1/32").NetworkInterfaceId)
	}
	readAssoc := func() string {
		out, err := c.ec2.DescribeAddresses(ctx(t), &ec2.DescribeAddressesInput{AllocationIds: []string{"eipalloc-1"}})
		if err != nil {
			t.Fatal(err)
		}
		return sdkaws.ToString(out.Addresses[0].NetworkInterfaceId)
	}
	// …but readers see the old values until the delay passed.
	r, a := readRoute(), readAssoc()
	if time.Since(t0) < delay-50*time.Millisecond && (r != "eni-1" || a != "") {
		t.Fatalf("before the delay readers see route %q, association %q; want the old eni-1 and none", r, a)
	}
	time.Sleep(time.Until(t0.Add(delay + 20*time.Millisecond)))
	if r, a := readRoute(), readAssoc(); r != "eni-2" || a != "eni-2" {
		t.Fatalf("after the delay readers see route %q, association %q", r, a)
	}
	// A change by another actor is visible at once and wins over an older pending write.
	if err := replaceVIP(c, t, "rtb-1", "eni-1"); err != nil {
		t.Fatal(err)
	}
	c.srv.SetRoute("rtb-1", "172.16.0.1/32", "eni-2")
	if r := readRoute(); r != "eni-2" {
		t.Fatalf("another actor's change is not visible: %q", r)
	}
	time.Sleep(delay + 20*time.Millisecond)
	if r := readRoute(); r != "eni-2" || c.srv.RouteTarget("rtb-1", "172.16.0.1/32") != "eni-2" {
		t.Fatalf("the older pending write resurfaced: %q", r)
	}
}

// Latency is slept outside the server's lock: parallel calls (a failover
// replacing the routes of several tables at once) overlap.
func TestLatencyOverlaps(t *testing.T) {
	c := start(t, awstest.Options{Latency: [2]time.Duration{200 * time.Millisecond, 200 * time.Millisecond}})
	vpcFixture(c.srv)
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- replaceVIP(c, t, []string{"rtb-1", "rtb-2", "rtb-3"}[i%3], []string{"eni-1", "eni-2"}[i%2])
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(t0); d > 800*time.Millisecond {
		t.Fatalf("6 parallel calls of 200 ms took %s: latency is serialised", d)
	}
	for _, rt := range []string{"rtb-1", "rtb-2", "rtb-3"} {
		if got := c.srv.RouteTarget(rt, "172.16.0.1/32"); got != "eni-1" && got != "eni-2" {
			t.Fatalf("%s points to %q", rt, got)
		}
	}
	if n := c.srv.Calls("ReplaceRoute"); n != 6 {
		t.Fatalf("ReplaceRoute calls = %d", n)
	}
}
