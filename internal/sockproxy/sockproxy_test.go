package sockproxy_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/sockproxy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echo serves a line echo on a unix socket in a temporary directory.
func echo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "echo.sock")
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return path
}

func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, msg string) {
	t.Helper()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	_, err := io.WriteString(c, msg+"\n")
	require.NoError(t, err)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, msg+"\n", line)
}

func dial(t *testing.T, p *sockproxy.Proxy) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

// waitOpen waits until the proxy forwards n connections (Accept runs
// after the client's dial returns).
func waitOpen(t *testing.T, p *sockproxy.Proxy, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for p.Open() != n {
		if time.Now().After(deadline) {
			t.Fatalf("open connections: %d, want %d", p.Open(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestProxy(t *testing.T) {
	p, err := sockproxy.New(echo(t))
	require.NoError(t, err)
	defer p.Close()
	assert.Equal(t, "tcp://"+p.Addr(), p.Host())

	a, ra := dial(t, p)
	b, rb := dial(t, p)
	roundTrip(t, a, ra, "hello a")
	roundTrip(t, b, rb, "hello b")
	waitOpen(t, p, 2)
	assert.Equal(t, 2, p.Accepted())

	// Cut: both clients read EOF; new connections still work.
	assert.Equal(t, 2, p.Cut())
	for _, r := range []*bufio.Reader{ra, rb} {
		_, err := r.ReadString('\n')
		assert.ErrorIs(t, err, io.EOF)
	}
	waitOpen(t, p, 0)
	c, rc := dial(t, p)
	roundTrip(t, c, rc, "after cut")

	// Refuse: the port refuses; the open connection goes on until Reset,
	// which the client reads as a RST.
	p.Refuse()
	_, err = net.Dial("tcp", p.Addr())
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	roundTrip(t, c, rc, "while refusing")
	waitOpen(t, p, 1)
	assert.Equal(t, 1, p.Reset())
	_, err = rc.ReadString('\n')
	assert.ErrorIs(t, err, syscall.ECONNRESET)

	// Accept: the same port serves again.
	require.NoError(t, p.Accept())
	require.NoError(t, p.Accept(), "a second Accept is a no-op")
	d, rd := dial(t, p)
	roundTrip(t, d, rd, "accepted again")
	assert.Equal(t, 4, p.Accepted())

	// Close ends everything and refuses.
	require.NoError(t, p.Close())
	_, err = rd.ReadString('\n')
	assert.Error(t, err)
	_, err = net.Dial("tcp", p.Addr())
	assert.Error(t, err)
	assert.Error(t, p.Accept())
}

// TestProxyHalfClose: a client's half-close reaches the socket, and the
// socket's answer still reaches the client.
func TestProxyHalfClose(t *testing.T) {
	p, err := sockproxy.New(echo(t))
	require.NoError(t, err)
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = io.WriteString(c, "last words")
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	b, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Equal(t, "last words", string(b))
	waitOpen(t, p, 0)
}

// TestProxyTargetDown: with nothing on the socket, a connection is
// accepted and closed at once.
func TestProxyTargetDown(t *testing.T) {
	p, err := sockproxy.New(filepath.Join(t.TempDir(), "none.sock"))
	require.NoError(t, err)
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = c.Read(make([]byte, 1))
	assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), "%v", err)
	assert.Equal(t, 0, p.Accepted())
}
