package httpserve_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/httpserve"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func start(t *testing.T, cfg httpserve.Config, h http.Handler) (*httpserve.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := httpserve.New(h, cfg, nil)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s, ln.Addr().String()
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd here")
	}
	return len(ents)
}

// TestSlowLoris: far more stalled clients than MaxConns neither exhaust
// file descriptors nor keep a health check from answering promptly.
func TestSlowLoris(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	s, addr := start(t, httpserve.Config{MaxConns: 64, ReadHeaderTimeout: 30 * time.Second}, ok)
	before := openFDs(t)
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	for i := range 3000 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		clients = append(clients, c)
		// Half send nothing, half send half a request line: both stall.
		if i%2 == 0 {
			_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n"))
		}
	}
	time.Sleep(200 * time.Millisecond)
	assert.LessOrEqual(t, s.Conns(), 64, "the server keeps at most MaxConns connections")
	// 400 client sockets are ours; the server's side stays bounded.
	assert.Less(t, openFDs(t)-before, 3000+64+16)

	start := time.Now()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Less(t, time.Since(start), time.Second, "a stalled connection was evicted for the health check")
}

// TestStalledBodyIsCut: a client that sends headers and then stalls its
// body, refused by a handler that answers without reading the body,
// loses its connection at once, not after ReadTimeout.
func TestStalledBodyIsCut(t *testing.T) {
	refuse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// As httpguard.WriteRefusal: do not wait for the body (below 256
		// KiB the server would drain it until ReadTimeout).
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		w.Header().Set("Connection", "close")
		http.Error(w, "no", http.StatusUnauthorized)
	})
	s, addr := start(t, httpserve.Config{ReadTimeout: 30 * time.Second}, refuse)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = fmt.Fprint(c, "POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial")
	require.NoError(t, err)
	start := time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err = c.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the server closed the connection")
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Eventually(t, func() bool { return s.Conns() == 0 }, 2*time.Second, 10*time.Millisecond)
}

func TestInFlightLimit(t *testing.T) {
	release := make(chan struct{})
	var entered sync.WaitGroup
	entered.Add(2)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Done()
		<-release
	})
	_, addr := start(t, httpserve.Config{MaxInFlight: 2}, slow)
	for range 2 {
		go func() {
			resp, err := http.Get("http://" + addr + "/")
			if err == nil {
				_ = resp.Body.Close()
			}
		}()
	}
	entered.Wait()
	resp, err := http.Get("http://" + addr + "/")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	close(release)
}
