package container_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func dur(d time.Duration) *time.Duration { return &d }

func TestStopAndRestartQuery(t *testing.T) {
	cases := []struct {
		name string
		opts container.StopOptions
		want url.Values
	}{
		{"engine or container default", container.StopOptions{}, url.Values{}},
		{"whole seconds", container.StopOptions{Grace: dur(5 * time.Second)}, url.Values{"t": {"5"}}},
		{"fraction rounded up", container.StopOptions{Grace: dur(2500 * time.Millisecond)}, url.Values{"t": {"3"}}},
		{"a nanosecond is a second", container.StopOptions{Grace: dur(time.Nanosecond)}, url.Values{"t": {"1"}}},
		{"zero kills at once", container.StopOptions{Grace: dur(0)}, url.Values{"t": {"0"}}},
		{"negative is clamped to zero", container.StopOptions{Grace: dur(-time.Second)}, url.Values{"t": {"0"}}},
		{"signal", container.StopOptions{Grace: dur(10 * time.Second), Signal: "SIGINT"}, url.Values{"t": {"10"}, "signal": {"SIGINT"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, srv := newFake(t, basicDir)
			_, err := c.Stop(context.Background(), "web-1", tc.opts)
			require.NoError(t, err)
			_, err = c.Restart(context.Background(), "web-1", tc.opts)
			require.NoError(t, err)
			stop := only(t, srv, "POST", "/containers/web-1/stop")
			assert.Equal(t, tc.want, stop.Query)
			assert.Empty(t, stop.Body)
			assert.Equal(t, tc.want, only(t, srv, "POST", "/containers/web-1/restart").Query)
		})
	}
}

func TestStart(t *testing.T) {
	c, srv := newFake(t, basicDir)
	_, err := c.Start(context.Background(), idWeb2, container.StartOptions{})
	require.NoError(t, err)
	r := only(t, srv, "POST", "/containers/"+idWeb2+"/start")
	assert.Equal(t, url.Values{}, r.Query)
	assert.Equal(t, "1.51", r.Version, "negotiated with the engine")
}

func TestRemoveQuery(t *testing.T) {
	cases := []struct {
		opts container.RemoveOptions
		want url.Values
	}{
		{container.RemoveOptions{}, url.Values{}},
		{container.RemoveOptions{Force: true, Volumes: true, Links: true}, url.Values{"force": {"1"}, "v": {"1"}, "link": {"1"}}},
		{container.RemoveOptions{Force: true}, url.Values{"force": {"1"}}},
		{container.RemoveOptions{Volumes: true}, url.Values{"v": {"1"}}},
	}
	for _, tc := range cases {
		c, srv := newFake(t, basicDir)
		_, err := c.Remove(context.Background(), "web-2", tc.opts)
		require.NoError(t, err)
		r := only(t, srv, "DELETE", "/containers/web-2")
		assert.Equal(t, tc.want, r.Query, "%+v", tc.opts)
	}
}

func TestRemoveConflict(t *testing.T) {
	c, _ := newFake(t, basicDir) // errors.json: DELETE of the running db gives 409
	_, err := c.Remove(context.Background(), idDB, container.RemoveOptions{})
	require.Error(t, err)
	assert.True(t, container.IsConflict(err), "%v", err)
	assert.False(t, container.IsNotFound(err))
	assert.ErrorContains(t, err, "remove 1a3c428b1a2a: ")
	assert.ErrorContains(t, err, "container is running")
}

func TestLifecycleNotFound(t *testing.T) {
	c, _ := newFake(t, basicDir)
	ctx := context.Background()
	_, err := c.Start(ctx, "gone", container.StartOptions{})
	assert.True(t, container.IsNotFound(err), "start: %v", err)
	_, err = c.Stop(ctx, "gone", container.StopOptions{})
	assert.True(t, container.IsNotFound(err), "stop: %v", err)
	_, err = c.Restart(ctx, "gone", container.StopOptions{})
	assert.True(t, container.IsNotFound(err), "restart: %v", err)
	_, err = c.Remove(ctx, "gone", container.RemoveOptions{Force: true})
	assert.True(t, container.IsNotFound(err), "remove: %v", err)
}
