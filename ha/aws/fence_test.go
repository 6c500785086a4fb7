package aws

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fenceStates is a fenceScripted instance: each DescribeInstances of an ID
// answers the next state of its script (the last one repeats).
type fenceStates struct {
	mu     sync.Mutex
	script map[string][]ec2types.InstanceStateName
}

func (s *fenceStates) describe(id string) (ec2types.InstanceStateName, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.script[id]
	if len(sc) == 0 {
		return "", nil
	}
	st := sc[0]
	if len(sc) > 1 {
		s.script[id] = sc[1:]
	}
	return st, nil
}

const (
	fenceRunning  = ec2types.InstanceStateNameRunning
	fencePending  = ec2types.InstanceStateNamePending
	fenceStopping = ec2types.InstanceStateNameStopping
	fenceStopped  = ec2types.InstanceStateNameStopped
)

// newFakeFence returns a Fence of node-a (i-aaa, this instance) and
// node-b (i-bbb) on ec.
func newFakeFence(t *testing.T, ec *fakeFenceEC2, mod ...func(*FenceConfig)) *Fence {
	t.Helper()
	cfg := FenceConfig{Instances: map[string]string{"node-a": "i-aaa", "node-b": "i-bbb"}, Timeout: 5 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	f, err := NewFence(&Clients{ec2: ec, region: "ap-northeast-1", timeout: time.Second}, cfg)
	require.NoError(t, err)
	f.self = func(context.Context) (string, error) { return "i-aaa", nil }
	f.pollFirst, f.pollMax = 10*time.Millisecond, 20*time.Millisecond
	return f
}

func fenceScripted(script map[string][]ec2types.InstanceStateName) *fakeFenceEC2 {
	s := &fenceStates{script: script}
	return &fakeFenceEC2{describe: s.describe}
}

// TestFenceStopsThePeer: a running peer is stopped with Force and
// SkipOsShutdown and awaited until stopped.
func TestFenceStopsThePeer(t *testing.T) {
	ec := fenceScripted(map[string][]ec2types.InstanceStateName{
		"i-aaa": {fenceRunning},
		"i-bbb": {fenceRunning, fenceStopping, fenceStopping, fenceStopped},
	})
	f := newFakeFence(t, ec)
	require.NoError(t, f.Fence(context.Background(), "node-b"))
	stops, describes := ec.counts()
	assert.Equal(t, 1, stops, "one StopInstances: stopping needs no second")
	assert.Equal(t, 5, describes, "the peer, this instance, then the peer until stopped")
	in := ec.stops[0]
	assert.Equal(t, []string{"i-bbb"}, in.InstanceIds)
	assert.True(t, sdkaws.ToBool(in.Force))
	assert.True(t, sdkaws.ToBool(in.SkipOsShutdown), "fence_aws skips the OS shutdown by default")
	assert.Nil(t, in.Hibernate)
	assert.Equal(t, []string{"i-bbb", "i-aaa", "i-bbb", "i-bbb", "i-bbb"}, ec.describes)
}

// TestFenceGracefulAndAcceptStopping: Graceful lets the OS shut down;
// AcceptStopping returns at the first "stopping".
func TestFenceGracefulAndAcceptStopping(t *testing.T) {
	ec := fenceScripted(map[string][]ec2types.InstanceStateName{
		"i-aaa": {fenceRunning},
		"i-bbb": {fenceRunning, fenceStopping, fenceStopped},
	})
	f := newFakeFence(t, ec, func(c *FenceConfig) { c.Graceful, c.AcceptStopping = true, true })
	require.NoError(t, f.Fence(context.Background(), "node-b"))
	stops, describes := ec.counts()
	assert.Equal(t, 1, stops)
	assert.Equal(t, 3, describes, "done at stopping")
	assert.True(t, sdkaws.ToBool(ec.stops[0].Force), "always forced")
	assert.False(t, sdkaws.ToBool(ec.stops[0].SkipOsShutdown))
	require.NotNil(t, ec.stops[0].SkipOsShutdown)
}

// TestFenceIdempotent: an instance already stopped (or terminated) is
// fenced: success without a stop, even when this instance is not
// running; one already stopping gets a forced stop (a stuck stop).
func TestFenceIdempotent(t *testing.T) {
	for _, st := range []ec2types.InstanceStateName{fenceStopped, ec2types.InstanceStateNameTerminated} {
		ec := fenceScripted(map[string][]ec2types.InstanceStateName{"i-aaa": {fenceStopping}, "i-bbb": {st}})
		require.NoError(t, newFakeFence(t, ec).Fence(context.Background(), "node-b"), st)
		stops, describes := ec.counts()
		assert.Equal(t, 0, stops, st)
		assert.Equal(t, 1, describes, st)
	}
	ec := fenceScripted(map[string][]ec2types.InstanceStateName{"i-aaa": {fenceRunning}, "i-bbb": {fenceStopping, fenceStopping, fenceStopped}})
	require.NoError(t, newFakeFence(t, ec).Fence(context.Background(), "node-b"))
	stops, _ := ec.counts()
	assert.Equal(t, 1, stops, "a stopping instance is stopped by force")
}

// TestFenceRefusals: fence_aws's guards and the configuration's, each
// with its error and without any StopInstances.
func TestFenceRefusals(t *testing.T) {
	for _, c := range []struct {
		name   string
		node   string
		script map[string][]ec2types.InstanceStateName
		self   func(context.Context) (string, error)
		is     error
		text   string
	}{
		{name: "unknown node", node: "node-x", is: ErrFenceUnknownNode,
			text: `aws: fence node "node-x": the node is not in the fencing configuration (it knows node-a, node-b)`},
		{name: "own instance", node: "node-a", is: ErrFenceSelf,
			text: `aws: fence node "node-a" (instance i-aaa): refusing to fence this instance itself`},
		{name: "own instance unknown", node: "node-b", self: func(context.Context) (string, error) {
			return "", errors.New("instance metadata: instance-id: connection refused")
		}, text: `aws: fence node "node-b" (instance i-bbb): this instance's ID is unknown, so it fences nobody: instance metadata: instance-id: connection refused`},
		{name: "peer not in the region", node: "node-b", script: map[string][]ec2types.InstanceStateName{"i-aaa": {fenceRunning}},
			is: ErrFenceNotFound, text: `aws: fence node "node-b" (instance i-bbb): the instance does not exist in this region (ap-northeast-1)`},
		{name: "this instance stopping", node: "node-b", script: map[string][]ec2types.InstanceStateName{"i-aaa": {fenceStopping}, "i-bbb": {fenceRunning}},
			is: ErrFenceSelfNotRunning, text: `aws: fence node "node-b" (instance i-bbb, running): this instance is not running, so it fences nobody (this instance i-aaa is stopping)`},
		{name: "this instance not in the region", node: "node-b", script: map[string][]ec2types.InstanceStateName{"i-bbb": {fenceRunning}},
			is: ErrFenceNotFound, text: `this instance i-aaa: the instance does not exist in this region (ap-northeast-1)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			ec := fenceScripted(c.script)
			f := newFakeFence(t, ec)
			if c.self != nil {
				f.self = c.self
			}
			err := f.Fence(context.Background(), c.node)
			require.Error(t, err)
			var fe *FenceError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, c.node, fe.Node)
			if c.is != nil {
				assert.ErrorIs(t, err, c.is)
			}
			assert.Contains(t, err.Error(), c.text)
			stops, _ := ec.counts()
			assert.Zero(t, stops, "nothing stopped")
		})
	}
}

// TestFenceAWSErrors: a refused permission ends the fencing at once with
// AWS's error; throttling is retried until the Timeout.
func TestFenceAWSErrors(t *testing.T) {
	denied := fakeDDBAPIError("UnauthorizedOperation", "You are not authorized to perform this operation. Encoded authorization failure message: xyz", smithy.FaultClient)
	ec := fenceScripted(map[string][]ec2types.InstanceStateName{"i-aaa": {fenceRunning}, "i-bbb": {fenceRunning}})
	ec.stop = func(*ec2.StopInstancesInput) error { return denied }
	err := newFakeFence(t, ec).Fence(context.Background(), "node-b")
	require.ErrorIs(t, err, denied)
	assert.ErrorContains(t, err, `aws: fence node "node-b" (instance i-bbb, running): stop the instance: `)
	stops, _ := ec.counts()
	assert.Equal(t, 1, stops, "not retried")

	throttled := fakeDDBAPIError("RequestLimitExceeded", "Request limit exceeded.", smithy.FaultClient)
	ec = fenceScripted(map[string][]ec2types.InstanceStateName{"i-aaa": {fenceRunning}, "i-bbb": {fenceRunning, fenceRunning, fenceStopping, fenceStopped}})
	n := 0
	ec.stop = func(*ec2.StopInstancesInput) error {
		if n++; n == 1 {
			return throttled
		}
		return nil
	}
	require.NoError(t, newFakeFence(t, ec).Fence(context.Background(), "node-b"))
	stops, _ = ec.counts()
	assert.Equal(t, 2, stops, "the throttled stop is sent again")

	ec = fenceScripted(map[string][]ec2types.InstanceStateName{"i-aaa": {fenceRunning}})
	ec.describe = func(id string) (ec2types.InstanceStateName, error) { return "", throttled }
	err = newFakeFence(t, ec).Fence(context.Background(), "node-b")
	require.ErrorIs(t, err, throttled)
	assert.ErrorContains(t, err, "describe the instance: ")
}

// TestFencePendingThenRunning: a pending instance cannot be stopped yet
// (IncorrectInstanceState); the stop is sent again once it runs.
func TestFencePendingThenRunning(t *testing.T) {
	ec := fenceScripted(map[string][]ec2types.InstanceStateName{"i-aaa": {fenceRunning}, "i-bbb": {fencePending, fenceRunning, fenceStopping, fenceStopped}})
	n := 0
	ec.stop = func(*ec2.StopInstancesInput) error {
		if n++; n == 1 {
			return fakeDDBAPIError("IncorrectInstanceState", "The instance 'i-bbb' is not in a state from which it can be stopped.", smithy.FaultClient)
		}
		return nil
	}
	require.NoError(t, newFakeFence(t, ec).Fence(context.Background(), "node-b"))
	stops, _ := ec.counts()
	assert.Equal(t, 2, stops)
}

// TestFenceTimeout: an instance that never stops is ErrFenceTimeout
// after the Timeout, with its last state; the caller's own cancellation
// is its error.
func TestFenceTimeout(t *testing.T) {
	ec := fenceScripted(map[string][]ec2types.InstanceStateName{"i-aaa": {fenceRunning}, "i-bbb": {fenceRunning, fenceStopping}})
	f := newFakeFence(t, ec, func(c *FenceConfig) { c.Timeout = 700 * time.Millisecond })
	start := time.Now()
	err := f.Fence(context.Background(), "node-b")
	took := time.Since(start)
	require.ErrorIs(t, err, ErrFenceTimeout)
	var fe *FenceError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "stopping", fe.State)
	assert.EqualError(t, err, `aws: fence node "node-b" (instance i-bbb, stopping): the instance did not stop in time (700ms)`)
	assert.GreaterOrEqual(t, took, 700*time.Millisecond)
	assert.Less(t, took, 3*time.Second)

	ec = fenceScripted(map[string][]ec2types.InstanceStateName{"i-aaa": {fenceRunning}, "i-bbb": {fenceRunning}})
	f = newFakeFence(t, ec)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = f.Fence(ctx, "node-b")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, ErrFenceTimeout)
	stops, _ := ec.counts()
	assert.GreaterOrEqual(t, stops, 2, "a peer still running is stopped again")
}

// TestFenceCheck: this instance's ID must be known (and is kept), and
// every configured instance must exist in the region.
func TestFenceCheck(t *testing.T) {
	ec := fenceScripted(map[string][]ec2types.InstanceStateName{"i-aaa": {fenceRunning}, "i-bbb": {fenceStopped}})
	f := newFakeFence(t, ec)
	asked := 0
	f.self = func(context.Context) (string, error) {
		if asked++; asked > 1 {
			return "", errors.New("instance metadata: unreachable")
		}
		return "i-aaa", nil
	}
	require.NoError(t, f.Check(context.Background()))
	require.NoError(t, f.Fence(context.Background(), "node-b"), "the ID read by Check is kept")
	assert.Equal(t, 1, asked)

	f = newFakeFence(t, ec)
	f.self = func(context.Context) (string, error) { return "", errors.New("instance metadata: unreachable") }
	assert.EqualError(t, f.Check(context.Background()), "aws: fence: this instance's ID is unknown: instance metadata: unreachable")
	ec = fenceScripted(map[string][]ec2types.InstanceStateName{"i-aaa": {fenceRunning}})
	err := newFakeFence(t, ec).Check(context.Background())
	require.ErrorIs(t, err, ErrFenceNotFound)
	assert.EqualError(t, err, `aws: fence node "node-b" (instance i-bbb): the instance does not exist in this region (ap-northeast-1)`)
}

func TestFenceConfigValidate(t *testing.T) {
	assert.Equal(t, 60*time.Second, FenceConfig{}.WithDefaults().Timeout)
	for _, c := range []struct {
		cfg  FenceConfig
		want []string
	}{
		{FenceConfig{Instances: map[string]string{"a": "i-0123456789abcdef0", "b": "i-01234567"}}, nil},
		{FenceConfig{}, []string{`instances: none; want each node's instance ID, such as {"node-a": "i-0123456789abcdef0"}`}},
		{FenceConfig{Instances: map[string]string{"a": "vol-1"}}, []string{`instances.a: "vol-1": want an EC2 instance ID such as i-0123456789abcdef0`}},
		{FenceConfig{Instances: map[string]string{"": "i-1"}}, []string{`instances: an empty node name (instance "i-1")`}},
		{FenceConfig{Instances: map[string]string{"a": "i-1", "b": "i-1"}}, []string{"instances.b: i-1 is also node a's instance; want one instance per node"}},
		{FenceConfig{Instances: map[string]string{"a": "i-1"}, Timeout: -time.Second}, []string{"timeout: -1s: want 0 to 30m0s (0 for the default 1m0s)"}},
		{FenceConfig{Instances: map[string]string{"a": "i-1"}, Timeout: time.Hour}, []string{"timeout: 1h0m0s"}},
	} {
		err := c.cfg.Validate()
		if c.want == nil {
			assert.NoError(t, err)
			continue
		}
		for _, w := range c.want {
			assert.ErrorContains(t, err, w)
		}
		_, err = NewFence(&Clients{ec2: &fakeFenceEC2{}}, c.cfg)
		assert.ErrorContains(t, err, "aws: fence: "+c.want[0])
	}
	_, err := NewFence(nil, FenceConfig{Instances: map[string]string{"a": "i-1"}})
	assert.ErrorContains(t, err, "no EC2 client")
}

// ExampleNewFence stops node-b's instance from node-a's before taking
// node-b's groups over. It needs AWS, so it is compiled but not run.
func ExampleNewFence() {
	ctx := context.Background()
	clients, err := Load(ctx, Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fence, err := NewFence(clients, FenceConfig{Instances: map[string]string{
		"node-a": "i-0123456789abcdef0",
		"node-b": "i-0fedcba9876543210",
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = fence.Fence(ctx, "node-b")
	switch {
	case errors.Is(err, ErrFenceSelfNotRunning):
		fmt.Println("this node is being stopped itself: leave node-b alone")
	case err != nil:
		fmt.Println("node-b is not fenced:", err)
	default:
		fmt.Println("node-b is stopped: take its groups over")
	}
}

func ExampleFenceConfig_Validate() {
	cfg := FenceConfig{Instances: map[string]string{"node-a": "i-0123456789abcdef0", "node-b": "eni-0123"}, Timeout: time.Hour}
	fmt.Println(cfg.Validate())
	// Output:
	// instances.node-b: "eni-0123": want an EC2 instance ID such as i-0123456789abcdef0
	// timeout: 1h0m0s: want 0 to 30m0s (0 for the default 1m0s)
}
