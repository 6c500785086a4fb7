package console

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChanges(t *testing.T) {
	var c Changes
	assert.Equal(t, uint64(0), c.Version())
	c.Bump()
	v, err := c.Wait(context.Background(), 0)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), v, "a version already past returns at once")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	v, err = c.Wait(ctx, 1)
	cancel()
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, uint64(1), v)

	got := make(chan uint64, 3)
	for range 3 {
		go func() { v, _ := c.Wait(context.Background(), 1); got <- v }()
	}
	time.Sleep(20 * time.Millisecond)
	c.Bump()
	for range 3 {
		select {
		case v := <-got:
			assert.Equal(t, uint64(2), v)
		case <-time.After(5 * time.Second):
			t.Fatal("a bump did not wake every waiter")
		}
	}

	go func() { v, _ := c.Wait(context.Background(), 2); got <- v }()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	select {
	case v := <-got:
		assert.Equal(t, uint64(2), v)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake a waiter")
	}
	_, err = c.Wait(context.Background(), 2)
	assert.NoError(t, err, "after Close a wait returns at once")
	c.Close()
}

// countingAPI counts the reads of /api/v1/inventory.
type countingAPI struct {
	*fakeAPI
	inventory atomic.Int64
}

func (c *countingAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/v1/inventory" {
		c.inventory.Add(1)
	}
	c.fakeAPI.ServeHTTP(w, r)
}

func TestLongPollAndReuse(t *testing.T) {
	api := &countingAPI{fakeAPI: newFakeAPI(12, 3)}
	ch := &Changes{}
	c, err := New(Config{Wait: 2 * time.Second}, api, api.guard, WithGraph(fakeGraph), WithChanges(ch))
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", api)
	c.Register(mux)
	srv := newServer(t, mux)
	t.Cleanup(ch.Close) // before the server's Close waits for a waiting request

	// The page carries the version and ETag of what it shows.
	code, body := get(t, srv, "/")
	require.Equal(t, http.StatusOK, code)
	has(t, body, `data-version="0"`)
	etag := regexp.MustCompile(`data-etag="&#34;([0-9a-f]+)&#34;"`).FindStringSubmatch(body)
	require.Len(t, etag, 2, "the page carries its ETag")
	reads := api.inventory.Load()

	// Nothing changed: the rendered view is reused, and with its ETag the
	// answer is 304 without a body.
	resp := do(t, srv, "/api/v1/console/estate?format=html", "If-None-Match", `"`+etag[1]+`"`)
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.Equal(t, "0", resp.Header.Get("X-Console-Version"))
	assert.Equal(t, reads, api.inventory.Load(), "reused, not read again")

	// A waiting refresh answers at the next bump.
	start := time.Now()
	go func() { time.Sleep(300 * time.Millisecond); ch.Bump() }()
	resp = do(t, srv, "/api/v1/console/estate?format=html&since=0")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("X-Console-Version"))
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond, "it waited for the bump")
	assert.Equal(t, reads+1, api.inventory.Load(), "read again after the change")

	// Without a bump it answers after Config.Wait (2s), 304 with the ETag.
	start = time.Now()
	resp = do(t, srv, "/api/v1/console/estate?format=html&since=1", "If-None-Match", resp.Header.Get("ETag"))
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond, "it waited for Config.Wait")

	// A stale version answers at once.
	start = time.Now()
	resp = do(t, srv, "/api/v1/console/estate?format=html&since=0")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Less(t, time.Since(start), 1500*time.Millisecond)

	// The views the changes do not cover (a job run's units) never wait
	// and carry no version.
	start = time.Now()
	resp = do(t, srv, "/api/v1/console/jobs?format=html&since=1&run=net-01@1")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, resp.Header.Get("X-Console-Version"))
	assert.Less(t, time.Since(start), 1500*time.Millisecond)

	code, body = get(t, srv, "/api/v1/console/estate?format=html&since=x")
	assert.Equal(t, http.StatusBadRequest, code)
	has(t, body, `since \"x\": want the X-Console-Version of a previous answer`)
	code, _ = get(t, srv, "/api/v1/console/estate?since=1")
	assert.Equal(t, http.StatusBadRequest, code, "since needs format=html")
}

func TestNotModifiedWithoutChanges(t *testing.T) {
	api := newFakeAPI(12, 3)
	srv := serve(t, api, api.guard, WithGraph(fakeGraph))
	resp := do(t, srv, "/api/v1/console/jobs?format=html")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("ETag"))
	assert.Empty(t, resp.Header.Get("X-Console-Version"), "no changes: the page polls")
	resp = do(t, srv, "/api/v1/console/jobs?format=html&since=3", "If-None-Match", resp.Header.Get("ETag"))
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
}

// TestInlineStyle checks that the inlined stylesheet is the one the
// Content-Security-Policy allows by hash.
func TestInlineStyle(t *testing.T) {
	api := newFakeAPI(2, 1)
	srv := serve(t, api, api.guard)
	resp := do(t, srv, "/console/checks")
	_, body := get(t, srv, "/console/checks")
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(body)
	require.Len(t, m, 2)
	sum := sha256.Sum256([]byte(m[1]))
	csp := resp.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "style-src 'self' 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	assert.Contains(t, csp, "script-src 'self';", "no inline script")
	assert.True(t, strings.HasPrefix(m[1], "/* minato console"), "the stylesheet itself")
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// do GETs path with headers (name, value pairs) and returns the answer,
// its body read and closed.
func do(t *testing.T, srv *httptest.Server, path string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// FuzzETagMatch checks the If-None-Match reading: it never panics, an
// ETag always matches itself (also weak and in a list), and a header
// without the ETag's text (nor "*") never matches.
func FuzzETagMatch(f *testing.F) {
	for _, s := range []string{`"abc"`, `W/"abc"`, `"x", "abc"`, `*`, ``, `,,`, `"abc`, ` "abc" `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		const etag = `"0123456789abcdef01234567"`
		got := etagMatch(header, etag)
		if got && !strings.Contains(header, etag) && !strings.Contains(header, "*") {
			t.Fatalf("%q matched %s", header, etag)
		}
		if !etagMatch(header+", "+etag, etag) || !etagMatch("W/"+etag, etag) {
			t.Fatalf("%q: the ETag itself did not match", header)
		}
	})
}

func TestConfigWait(t *testing.T) {
	assert.NoError(t, Config{Wait: 25 * time.Second}.Validate())
	err := Config{Wait: time.Minute}.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "console.wait: 1m0s: want 500ms (or poll, when longer) to 50s (default 10s)")
	assert.Error(t, Config{Poll: 5 * time.Second, Wait: 2 * time.Second}.Validate(), "wait shorter than poll")
	assert.Equal(t, 5*time.Second, Config{Poll: 5 * time.Second}.withDefaults().Poll)
	assert.Equal(t, 20*time.Second, Config{Poll: 20 * time.Second}.withDefaults().Wait, "wait is at least poll")
}
