package container_test

import (
	"context"
	"net"
	"testing"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPing(t *testing.T) {
	c, srv := newFake(t, basicDir, enginetest.WithAPIVersion("1.41"))
	p, err := c.Ping(context.Background())
	require.NoError(t, err)
	assert.Equal(t, container.PingResult{APIVersion: "1.41", OSType: "linux", SwarmNode: "inactive"}, p)
	r := only(t, srv, "HEAD", "/_ping")
	assert.Empty(t, r.Version, "/_ping is not versioned")
}

func TestAPIVersionNegotiated(t *testing.T) {
	c, srv := newFake(t, basicDir, enginetest.WithAPIVersion("1.41"))
	_, err := c.List(context.Background(), container.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, "1.41", c.APIVersion())
	assert.Equal(t, "1.41", only(t, srv, "GET", "/containers/json").Version)
}

func TestAPIVersionPinned(t *testing.T) {
	srv := enginetest.NewServer(t, basicDir, enginetest.WithAPIVersion("1.43"))
	c, err := container.New(container.Config{Host: srv.URL, APIVersion: "v1.41"})
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, "1.41", c.APIVersion(), "pinned before any call")
	_, err = c.List(context.Background(), container.ListOptions{})
	require.NoError(t, err)
	for _, r := range srv.Requests() {
		assert.NotEqual(t, "/_ping", r.Path, "no negotiation when pinned")
	}
	assert.Equal(t, "1.41", only(t, srv, "GET", "/containers/json").Version)

	tooNew, err := container.New(container.Config{Host: srv.URL, APIVersion: "1.51"})
	require.NoError(t, err)
	defer tooNew.Close()
	_, err = tooNew.List(context.Background(), container.ListOptions{})
	assert.ErrorContains(t, err, "client version 1.51 is too new")
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestUnreachable(t *testing.T) {
	host := "tcp://" + closedAddr(t)
	c, err := container.New(container.Config{Host: host})
	require.NoError(t, err, "New does not contact the engine")
	defer c.Close()
	ctx := context.Background()

	_, err = c.Ping(ctx)
	assert.ErrorIs(t, err, container.ErrUnreachable)
	assert.ErrorContains(t, err, host)
	assert.ErrorContains(t, err, "ping: ")

	_, err = c.List(ctx, container.ListOptions{})
	assert.ErrorIs(t, err, container.ErrUnreachable)
	_, err = c.Inspect(ctx, "web-1", container.InspectOptions{})
	assert.ErrorIs(t, err, container.ErrUnreachable)
	assert.False(t, container.IsNotFound(err))
	_, err = c.Exec(ctx, "web-1", container.ExecOptions{Cmd: []string{"true"}})
	assert.ErrorIs(t, err, container.ErrUnreachable)
	err = c.Events(ctx, container.EventsOptions{}, func(container.Event) error { return nil })
	assert.ErrorIs(t, err, container.ErrUnreachable)
}

func TestUnreachableAfterEngineWentAway(t *testing.T) {
	c, srv := newFake(t, basicDir)
	_, err := c.Ping(context.Background())
	require.NoError(t, err)
	srv.Close()
	_, err = c.List(context.Background(), container.ListOptions{})
	assert.ErrorIs(t, err, container.ErrUnreachable)
}

func TestUnixSocket(t *testing.T) {
	sock := shortSocketPath(t)
	srv := enginetest.NewServer(t, basicDir, enginetest.WithUnixSocket(sock))
	c, err := container.New(container.Config{Host: srv.URL})
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, "unix://"+sock, c.Host())
	res, err := c.List(context.Background(), container.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, res.Containers, 2)
}
