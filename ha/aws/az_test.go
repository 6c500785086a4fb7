package aws

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

func azWorld() *ec2World {
	w := newEC2World()
	w.zones["ap-northeast-1a"] = types.AvailabilityZone{ZoneName: sdkaws.String("ap-northeast-1a"), State: types.AvailabilityZoneStateAvailable}
	w.zones["ap-northeast-1c"] = types.AvailabilityZone{ZoneName: sdkaws.String("ap-northeast-1c"), State: types.AvailabilityZoneStateAvailable}
	return w
}

func newAZFor(t *testing.T, w *ec2World, zone string) (*AZMonitor, *fakeEC2) {
	t.Helper()
	f := &fakeEC2{}
	w.install(f)
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	m, err := NewAZMonitor(ec2FakeClients(f, &imdsFake{items: imdsItems()}), AZConfig{Zone: zone}, withClock(func() time.Time { return t0 }))
	if err != nil {
		t.Fatal(err)
	}
	return m, f
}

func TestAZConfigValidate(t *testing.T) {
	for _, ok := range []string{"", "ap-northeast-1a", "us-west-2-lax-1a", "ap-northeast-1x"} {
		if err := (AZConfig{Zone: ok}).Validate(); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"AP-NORTHEAST-1A", "ap northeast", "-a", "ap-northeast-1a\n", strings.Repeat("a", 65)} {
		if err := (AZConfig{Zone: bad}).Validate(); err == nil || !strings.Contains(err.Error(), "zone: ") {
			t.Errorf("%q accepted (%v)", bad, err)
		}
	}
	if _, err := NewAZMonitor(nil, AZConfig{}); err == nil {
		t.Error("no clients: no error")
	}
	if _, err := NewAZMonitor(&Clients{}, AZConfig{Zone: "A"}); err == nil || !strings.Contains(err.Error(), "aws: AZ monitor: invalid config: zone") {
		t.Errorf("invalid zone: %v", err)
	}
}

// Guide §6.2 item 27 and §2.7: the zone's state judged.
func TestAZCheckStates(t *testing.T) {
	msgs := []types.AvailabilityZoneMessage{{Message: sdkaws.String("Elevated API error rates")}, {Message: sdkaws.String("Instance launches delayed")}}
	for _, tc := range []struct {
		state  types.AvailabilityZoneState
		msgs   []types.AvailabilityZoneMessage
		status monitor.Status
		code   int
		msg    string
	}{
		{types.AvailabilityZoneStateAvailable, nil, monitor.OK, 0, "The availability zone ap-northeast-1a is available."},
		{types.AvailabilityZoneStateInformation, msgs, monitor.Warning, 0, "The availability zone ap-northeast-1a is information: Elevated API error rates; Instance launches delayed."},
		{types.AvailabilityZoneStateConstrained, nil, monitor.Warning, 0, "The availability zone ap-northeast-1a is constrained."},
		{types.AvailabilityZoneStateImpaired, msgs, monitor.Critical, CodeAZUnhealthy, "The availability zone ap-northeast-1a is impaired."},
		{types.AvailabilityZoneStateUnavailable, nil, monitor.Critical, CodeAZUnhealthy, "The availability zone ap-northeast-1a is unavailable."},
		{"flooded", nil, monitor.Critical, CodeAZUnhealthy, "The availability zone ap-northeast-1a is flooded."},
	} {
		w := azWorld()
		w.zones["ap-northeast-1a"] = types.AvailabilityZone{ZoneName: sdkaws.String("ap-northeast-1a"), State: tc.state, Messages: tc.msgs}
		m, f := newAZFor(t, w, "ap-northeast-1a")
		res, err := m.Check(context.Background(), vipNode1)
		if err != nil {
			t.Errorf("%s: %v", tc.state, err)
			continue
		}
		if res.Status != tc.status || res.Code != tc.code || res.Message != tc.msg || res.Time.IsZero() {
			t.Errorf("%s: got %s %d %q, want %s %d %q", tc.state, res.Status, res.Code, res.Message, tc.status, tc.code, tc.msg)
		}
		if got := f.called("DescribeAvailabilityZones"); len(got) != 1 || got[0] != "DescribeAvailabilityZones ap-northeast-1a" {
			t.Errorf("calls %q", got)
		}
	}
	w := azWorld()
	w.zones["ap-northeast-1a"] = types.AvailabilityZone{ZoneName: sdkaws.String("ap-northeast-1a"), State: types.AvailabilityZoneStateImpaired}
	m, _ := newAZFor(t, w, "ap-northeast-1a")
	res, _ := m.Check(context.Background(), vipNode1)
	if got, want := vipCritLine("awsazw1", res), "Detected an error in monitoring awsazw1. (7 : The availability zone ap-northeast-1a is impaired.)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// Guide §6.2 item 26 and T11: API failures are errors (5 / 6) whose
// warning forms are 105 / 106, with AWS's texts.
func TestAZCheckErrors(t *testing.T) {
	warn := func(err error) string {
		re := vipAsRE(t, err)
		return ha.MonitorWarnMessage("awsazw1", re.Code+ha.WarnOffset, re.Detail)
	}
	w := azWorld()
	m, f := newAZFor(t, w, "ap-northeast-1x")
	_, err := m.Check(context.Background(), vipNode1)
	if got, want := ha.MonitorErrorMessage("awsazw1", err), "Detected an error in monitoring awsazw1. (5 : Invalid availability zone: [ap-northeast-1x])"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got, want := warn(err), "Warn monitoring awsazw1. (105 : Invalid availability zone: [ap-northeast-1x])"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// An answer that lacks the zone means the same.
	f.describeAvailabilityZones = func(context.Context, *ec2.DescribeAvailabilityZonesInput) (*ec2.DescribeAvailabilityZonesOutput, error) {
		return &ec2.DescribeAvailabilityZonesOutput{}, nil
	}
	if _, err = m.Check(context.Background(), vipNode1); warn(err) != "Warn monitoring awsazw1. (105 : Invalid availability zone: [ap-northeast-1x])" {
		t.Errorf("empty answer: %s", warn(err))
	}
	f.describeAvailabilityZones = func(context.Context, *ec2.DescribeAvailabilityZonesInput) (*ec2.DescribeAvailabilityZonesOutput, error) {
		return nil, &vipOpErr{azErrNoRoute}
	}
	_, err = m.Check(context.Background(), vipNode1)
	if got, want := warn(err), "Warn monitoring awsazw1. (105 : Failed in the AWS CLI command.)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got, want := ha.MonitorErrorMessage("awsazw1", err), "Detected an error in monitoring awsazw1. (5 : Failed in the AWS CLI command.)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	f.describeAvailabilityZones = func(ctx context.Context, _ *ec2.DescribeAvailabilityZonesInput) (*ec2.DescribeAvailabilityZonesOutput, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	m.c.timeout = 20 * time.Millisecond
	_, err = m.Check(context.Background(), vipNode1)
	if got, want := warn(err), "Warn monitoring awsazw1. (106 : Timeout occurred.)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got, want := ha.MonitorErrorMessage("awsazw1", err), "Detected an error in monitoring awsazw1. (6 : Timeout occurred.)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

var azErrNoRoute = &azNetErr{"dial tcp 52.95.0.1:443: connect: no route to host"}

type azNetErr struct{ s string }

func (e *azNetErr) Error() string { return e.s }

// An empty zone is this instance's own, asked once.
func TestAZOwnZone(t *testing.T) {
	w := azWorld()
	w.zones["ap-northeast-1c"] = types.AvailabilityZone{ZoneName: sdkaws.String("ap-northeast-1c"), State: types.AvailabilityZoneStateUnavailable}
	m, f := newAZFor(t, w, "")
	for range 2 {
		res, err := m.Check(context.Background(), vipNode1)
		if err != nil || res.Code != CodeAZUnhealthy || !strings.Contains(res.Message, "ap-northeast-1c is unavailable") {
			t.Errorf("check: %+v, %v", res, err)
		}
	}
	if md := m.c.imds.(*imdsFake); md.calls == 0 || md.calls > 20 {
		t.Errorf("instance metadata asked %d times", md.calls)
	}
	calls := m.c.imds.(*imdsFake).calls
	if _, err := m.Check(context.Background(), vipNode1); err != nil {
		t.Fatal(err)
	}
	if m.c.imds.(*imdsFake).calls != calls {
		t.Error("the zone is not remembered")
	}
	_ = f
	// Metadata that cannot be read: an error, so OnUnreachable decides.
	m2, _ := newAZFor(t, w, "")
	m2.c.imds.(*imdsFake).err = &azNetErr{"connection refused"}
	if _, err := m2.Check(context.Background(), vipNode1); err == nil || vipAsRE(t, err).Code != ha.CodeFailed {
		t.Errorf("metadata down: %v", err)
	}
}

// With the silent unreachable action, an impaired zone still recovers
// (the guide: errors other than AWS CLI failures are still detected),
// while an API failure does nothing.
func TestAZSilentPolicyStillDetects(t *testing.T) {
	w := azWorld()
	w.zones["ap-northeast-1a"] = types.AvailabilityZone{ZoneName: sdkaws.String("ap-northeast-1a"), State: types.AvailabilityZoneStateImpaired}
	m, _ := newAZFor(t, w, "ap-northeast-1a")
	lines := azRunInEngine(t, m)
	if !strings.Contains(lines, "monitor_error: Detected an error in monitoring awsazw1. (7 : The availability zone ap-northeast-1a is impaired.)") {
		t.Errorf("impaired zone not acted on:\n%s", lines)
	}
	m2, f2 := newAZFor(t, azWorld(), "ap-northeast-1a")
	f2.describeAvailabilityZones = func(context.Context, *ec2.DescribeAvailabilityZonesInput) (*ec2.DescribeAvailabilityZonesOutput, error) {
		return nil, ec2FakeErr("DescribeAvailabilityZones", "RequestLimitExceeded", "Request limit exceeded.")
	}
	if lines := azRunInEngine(t, m2); strings.Contains(lines, "monitor_") {
		t.Errorf("an API failure was reported under the silent action:\n%s", lines)
	}
}

// azNopResource is a member that is always fine.
type azNopResource struct{}

func (azNopResource) Activate(context.Context, inventory.Target) error   { return nil }
func (azNopResource) Deactivate(context.Context, inventory.Target) error { return nil }
func (azNopResource) Check(context.Context, inventory.Target) (monitor.Result, error) {
	return monitor.Result{Status: monitor.OK}, nil
}

// azRunInEngine runs m as group failover1's AZ monitor, with the silent
// unreachable action and no retry, for 15 s of fake time, and returns the
// events' lines.
func azRunInEngine(t *testing.T, m *AZMonitor) string {
	t.Helper()
	var lines []string
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		eng, err := ha.NewEngine("node1", []ha.Group{{Name: "failover1", Nodes: []string{"node1", "node2"},
			Members: []ha.Member{{Name: "md", Resource: azNopResource{}}},
			Monitors: []ha.GroupMonitor{{Name: "awsazw1", Monitor: m,
				Policy: ha.RecoveryPolicy{Interval: 10 * time.Second, Retries: -1, OnUnreachable: ha.UnreachableSilent}}}}},
			ha.WithEvents(func(ev ha.Event) {
				mu.Lock()
				defer mu.Unlock()
				lines = append(lines, string(ev.Kind)+": "+ev.Message)
			}))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if err := eng.Online(ctx, "failover1", 1); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = eng.Run(ctx); close(done) }()
		time.Sleep(15 * time.Second)
		synctest.Wait()
		cancel()
		<-done
	})
	return strings.Join(lines, "\n")
}
