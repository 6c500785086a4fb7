package aws

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/ha/aws/awstest"
)

// fenceLoad returns clients of the real SDK on srv, as instance self
// (its IMDS), with the environment cleared of any real AWS settings.
func fenceLoad(t *testing.T, srv *awstest.Server, self string) *Clients {
	t.Helper()
	return fenceLoadTimeout(t, srv, self, 5*time.Second)
}

// fenceLoadTimeout is fenceLoad with the given per-call timeout.
func fenceLoadTimeout(t *testing.T, srv *awstest.Server, self string, callTimeout time.Duration) *Clients {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Load(ctx, Config{Region: "ap-northeast-1", Endpoint: srv.URL(), IMDSEndpoint: srv.IMDS(self), CallTimeout: callTimeout})
	require.NoError(t, err)
	return c
}

func fenceServer(t *testing.T) *awstest.Server {
	t.Helper()
	srv := awstest.New(awstest.Options{Region: "ap-northeast-1"})
	t.Cleanup(srv.Close)
	srv.AddInstance("i-1", "ap-northeast-1a")
	srv.AddInstance("i-2", "ap-northeast-1c")
	return srv
}

// TestFenceAWSTestStopsThePeer: node-a (i-1) fences node-b (i-2) through
// the real SDK: the instance goes stopping, then stopped; fencing again
// is success without another stop.
func TestFenceAWSTestStopsThePeer(t *testing.T) {
	srv := fenceServer(t)
	c := fenceLoad(t, srv, "i-1")
	f, err := NewFence(c, FenceConfig{Instances: map[string]string{"node-a": "i-1", "node-b": "i-2"}, Timeout: 10 * time.Second})
	require.NoError(t, err)
	require.NoError(t, f.Check(context.Background()))

	start := time.Now()
	require.NoError(t, f.Fence(context.Background(), "node-b"))
	t.Logf("fenced in %s (%d EC2 calls)", time.Since(start).Round(time.Millisecond), srv.Calls(""))
	assert.Equal(t, "stopped", srv.InstanceState("i-2"))
	assert.Equal(t, "running", srv.InstanceState("i-1"))
	assert.Equal(t, 1, srv.Calls("StopInstances"))

	srv.ResetCalls()
	require.NoError(t, f.Fence(context.Background(), "node-b"), "already stopped")
	assert.Zero(t, srv.Calls("StopInstances"))

	// AcceptStopping returns as soon as the stop is under way.
	srv.AddInstance("i-3", "ap-northeast-1a")
	f3, err := NewFence(c, FenceConfig{Instances: map[string]string{"node-a": "i-1", "node-c": "i-3"}, AcceptStopping: true})
	require.NoError(t, err)
	require.NoError(t, f3.Fence(context.Background(), "node-c"))
	assert.Equal(t, "stopping", srv.InstanceState("i-3"))
}

// TestFenceAWSTestRefusals: the own instance (known from IMDSv2), an
// instance not in the region, and fencing from an instance that is being
// stopped itself are refused without any stop.
func TestFenceAWSTestRefusals(t *testing.T) {
	srv := fenceServer(t)
	c := fenceLoad(t, srv, "i-1")
	f, err := NewFence(c, FenceConfig{Instances: map[string]string{"node-a": "i-1", "node-b": "i-2", "node-x": "i-9"}, Timeout: 5 * time.Second})
	require.NoError(t, err)
	ctx := context.Background()

	err = f.Fence(ctx, "node-a")
	assert.ErrorIs(t, err, ErrFenceSelf)
	err = f.Fence(ctx, "node-x")
	assert.ErrorIs(t, err, ErrFenceNotFound)
	err = f.Check(ctx)
	assert.ErrorIs(t, err, ErrFenceNotFound)
	assert.ErrorContains(t, err, `node "node-x" (instance i-9)`)
	assert.Zero(t, srv.Calls("StopInstances"))

	// This instance is being stopped (by its peer, say): it fences nobody.
	_, err = c.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"i-1"}})
	require.NoError(t, err)
	srv.ResetCalls()
	err = f.Fence(ctx, "node-b")
	assert.ErrorIs(t, err, ErrFenceSelfNotRunning)
	assert.Zero(t, srv.Calls("StopInstances"))
	assert.Equal(t, "running", srv.InstanceState("i-2"))
}

// TestFenceAWSTestFaults: throttling is retried (by the SDK, then by the
// Fence); a refused permission is returned with AWS's words; an outage
// ends in a FenceError, not a hang.
func TestFenceAWSTestFaults(t *testing.T) {
	srv := fenceServer(t)
	c := fenceLoad(t, srv, "i-1")
	f, err := NewFence(c, FenceConfig{Instances: map[string]string{"node-a": "i-1", "node-b": "i-2"}, Timeout: 4 * time.Second})
	require.NoError(t, err)
	ctx := context.Background()

	srv.Deny("StopInstances", "i-2")
	err = f.Fence(ctx, "node-b")
	require.Error(t, err)
	var fe *FenceError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "running", fe.State)
	assert.Equal(t, "UnauthorizedOperation", errorCode(err))
	assert.Equal(t, "running", srv.InstanceState("i-2"))
	srv.ClearFaults()

	srv.SetOutage(true)
	f.timeout = 1500 * time.Millisecond
	start := time.Now()
	err = f.Fence(ctx, "node-b")
	require.Error(t, err)
	assert.False(t, errors.Is(err, ErrFenceSelf))
	assert.Less(t, time.Since(start), 4*time.Second)
	srv.SetOutage(false)

	// Fresh clients (the adaptive retryer slowed down the ones above
	// after the outage): throttling within the SDK's attempts is absorbed.
	srv.Throttle("StopInstances", 1)
	c = fenceLoad(t, srv, "i-1")
	f, err = NewFence(c, FenceConfig{Instances: map[string]string{"node-a": "i-1", "node-b": "i-2"}, Timeout: 20 * time.Second})
	require.NoError(t, err)
	srv.ResetCalls()
	start = time.Now()
	require.NoError(t, f.Fence(ctx, "node-b"))
	t.Logf("fenced through a throttled stop in %s", time.Since(start).Round(time.Millisecond))
	assert.Equal(t, "stopped", srv.InstanceState("i-2"))
	assert.Equal(t, 2, srv.Calls("StopInstances"))
}
