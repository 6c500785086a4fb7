package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minato-ops/minato/monitor/output/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const secret = "Bearer s3cr3t-t0ken"

// request is what the test server received.
type request struct {
	Method, Path string
	Header       http.Header
	Body         string
	At           time.Time
}

// recorder is an http.Handler that records each request and answers with
// what respond says (200 when respond is nil).
type recorder struct {
	respond func(n int, w http.ResponseWriter, r *http.Request) // n counts from 1
	n       atomic.Int64
	got     chan request
}

func newRecorder(respond func(n int, w http.ResponseWriter, r *http.Request)) *recorder {
	return &recorder{respond: respond, got: make(chan request, 1000)}
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec.got <- request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(b), At: time.Now()}
	n := int(rec.n.Add(1))
	if rec.respond != nil {
		rec.respond(n, w, r)
	}
}

// next returns the next request, failing the test after 10 s.
func (rec *recorder) next(t *testing.T) request {
	t.Helper()
	select {
	case r := <-rec.got:
		return r
	case <-time.After(10 * time.Second):
		require.FailNow(t, "no request")
		return request{}
	}
}

// none checks that no further request arrives within d.
func (rec *recorder) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case r := <-rec.got:
		assert.Failf(t, "unexpected request", "%s %s %s", r.Method, r.Path, r.Body)
	case <-time.After(d):
	}
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func newSender(t *testing.T, c webhook.Config, opts ...webhook.Option) *webhook.Sender {
	t.Helper()
	s, err := webhook.New(c, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// fast is a Config for srv with short delays.
func fast(srv *httptest.Server) webhook.Config {
	return webhook.Config{URL: srv.URL + "/hook", Backoff: 10 * time.Millisecond, Timeout: 2 * time.Second}
}

func stats(s *webhook.Sender) [3]uint64 {
	st := s.Stats()
	return [3]uint64{st.Sent, st.Dropped, st.Pending}
}

// syncBuffer is a bytes.Buffer safe for a logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func logger() (*slog.Logger, *syncBuffer) {
	var buf syncBuffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func TestDelivery(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(nil)
	srv := newServer(t, rec)
	s := newSender(t, fast(srv))

	require.NoError(t, s.Send(ctx, map[string]any{"n": 1, "text": "héllo <b>"}))
	require.NoError(t, s.Send(ctx, []int{2}))
	r := rec.next(t)
	assert.Equal(t, http.MethodPost, r.Method)
	assert.Equal(t, "/hook", r.Path)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, "minato", r.Header.Get("User-Agent"))
	assert.JSONEq(t, `{"n":1,"text":"héllo <b>"}`, r.Body)
	assert.Equal(t, "[2]", rec.next(t).Body)

	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, [3]uint64{2, 0, 0}, stats(s))
	assert.ErrorIs(t, s.Send(ctx, 3), webhook.ErrClosed)
	assert.Equal(t, uint64(1), s.Dropped())
	assert.NoError(t, s.Close(context.Background()), "Close is idempotent")
}

func TestHeadersSent(t *testing.T) {
	rec := newRecorder(nil)
	srv := newServer(t, rec)
	c := fast(srv)
	c.Headers = map[string]string{"Authorization": secret, "x-tenant": "ops"}
	s := newSender(t, c)
	require.NoError(t, s.Send(context.Background(), "x"))
	r := rec.next(t)
	assert.Equal(t, secret, r.Header.Get("Authorization"))
	assert.Equal(t, "ops", r.Header.Get("X-Tenant"))
	assert.Equal(t, "minato", r.Header.Get("User-Agent"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))

	// A User-Agent of one's own replaces minato's.
	c.Headers = map[string]string{"User-Agent": "minato-prod/1.0"}
	s2 := newSender(t, c)
	require.NoError(t, s2.Send(context.Background(), "y"))
	assert.Equal(t, "minato-prod/1.0", rec.next(t).Header.Get("User-Agent"))

	// The Sender keeps its own copy of the headers.
	c.Headers["User-Agent"] = "changed"
	require.NoError(t, s2.Send(context.Background(), "z"))
	assert.Equal(t, "minato-prod/1.0", rec.next(t).Header.Get("User-Agent"))
	assert.Equal(t, "minato-prod/1.0", s2.Config().Headers["User-Agent"])
}

func TestRetryOn500ThenSuccess(t *testing.T) {
	rec := newRecorder(func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			http.Error(w, "busy", http.StatusInternalServerError)
		}
	})
	srv := newServer(t, rec)
	log, buf := logger()
	s := newSender(t, fast(srv), webhook.WithLogger(log))
	require.NoError(t, s.Send(context.Background(), "one"))
	require.NoError(t, s.Send(context.Background(), "two"))
	var bodies []string
	var at []time.Time
	for range 4 {
		r := rec.next(t)
		bodies = append(bodies, r.Body)
		at = append(at, r.At)
	}
	assert.Equal(t, []string{`"one"`, `"one"`, `"one"`, `"two"`}, bodies, "the second waits behind the first")
	assert.GreaterOrEqual(t, at[1].Sub(at[0]), 10*time.Millisecond, "first backoff")
	assert.GreaterOrEqual(t, at[2].Sub(at[1]), 20*time.Millisecond, "doubled")
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, [3]uint64{2, 0, 0}, stats(s))
	assert.Contains(t, buf.String(), "retrying")
	assert.Contains(t, buf.String(), "status=500")
}

func TestRetriesSpent(t *testing.T) {
	rec := newRecorder(func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})
	srv := newServer(t, rec)
	log, buf := logger()
	c := fast(srv)
	c.URL = srv.URL + "/services/T0/B0/pathsecret?token=querysecret"
	c.Headers = map[string]string{"Authorization": secret}
	c.Retries = 2
	s := newSender(t, c, webhook.WithLogger(log))
	require.NoError(t, s.Send(context.Background(), "x"))
	for range 3 {
		rec.next(t)
	}
	rec.none(t, 100*time.Millisecond)
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, [3]uint64{0, 1, 0}, stats(s))
	out := buf.String()
	assert.Contains(t, out, "level=WARN")
	assert.Contains(t, out, "retries spent")
	assert.Contains(t, out, "status=502")
	assert.Contains(t, out, "attempts=3")
	assert.Contains(t, out, "endpoint="+srv.URL)
	for _, leak := range []string{"s3cr3t", "pathsecret", "querysecret"} {
		assert.NotContains(t, out, leak)
	}

	// NoRetries: a single attempt.
	c.Retries = webhook.NoRetries
	s1 := newSender(t, c)
	require.NoError(t, s1.Send(context.Background(), "y"))
	rec.next(t)
	rec.none(t, 100*time.Millisecond)
	require.NoError(t, s1.Close(context.Background()))
	assert.Equal(t, [3]uint64{0, 1, 0}, stats(s1))
}

func Test429RetryAfter(t *testing.T) {
	rec := newRecorder(func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	srv := newServer(t, rec)
	s := newSender(t, fast(srv)) // backoff 10 ms: the wait is Retry-After's
	require.NoError(t, s.Send(context.Background(), "x"))
	first, second := rec.next(t), rec.next(t)
	assert.Equal(t, first.Body, second.Body)
	gap := second.At.Sub(first.At)
	assert.GreaterOrEqual(t, gap, 950*time.Millisecond)
	assert.Less(t, gap, 3*time.Second)
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, [3]uint64{1, 0, 0}, stats(s))
}

func Test429WithoutRetryAfterUsesBackoff(t *testing.T) {
	rec := newRecorder(func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	srv := newServer(t, rec)
	s := newSender(t, fast(srv))
	require.NoError(t, s.Send(context.Background(), "x"))
	first, second := rec.next(t), rec.next(t)
	assert.Less(t, second.At.Sub(first.At), 500*time.Millisecond)
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, [3]uint64{1, 0, 0}, stats(s))
}

func TestPermanent400Dropped(t *testing.T) {
	rec := newRecorder(func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			http.Error(w, "invalid_payload:\n missing text", http.StatusBadRequest)
		}
	})
	srv := newServer(t, rec)
	log, buf := logger()
	c := fast(srv)
	c.Headers = map[string]string{"Authorization": secret}
	s := newSender(t, c, webhook.WithLogger(log))
	require.NoError(t, s.Send(context.Background(), "bad"))
	require.NoError(t, s.Send(context.Background(), "good"))
	assert.Equal(t, `"bad"`, rec.next(t).Body)
	assert.Equal(t, `"good"`, rec.next(t).Body, "not retried: the next one follows")
	rec.none(t, 100*time.Millisecond)
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, [3]uint64{1, 1, 0}, stats(s))
	out := buf.String()
	assert.Contains(t, out, "level=WARN")
	assert.Contains(t, out, `reason="permanent error"`)
	assert.Contains(t, out, "status=400")
	assert.Contains(t, out, `response="invalid_payload: missing text"`)
	assert.NotContains(t, out, "s3cr3t")
}

func TestRedirectNotFollowed(t *testing.T) {
	target := newRecorder(nil)
	other := newServer(t, target)
	rec := newRecorder(func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/elsewhere", http.StatusTemporaryRedirect)
	})
	srv := newServer(t, rec)
	c := fast(srv)
	c.Headers = map[string]string{"Authorization": secret}
	s := newSender(t, c)
	require.NoError(t, s.Send(context.Background(), "x"))
	rec.next(t)
	target.none(t, 100*time.Millisecond)
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, [3]uint64{0, 1, 0}, stats(s))
}

// listen starts an HTTP server on addr: "127.0.0.1:0", or the address of
// a server closed before, to restart it. It skips the test when the
// address cannot be had again.
func listen(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestServerDownThenUp(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder(nil)
	srv := listen(t, "127.0.0.1:0", rec)
	addr := srv.Listener.Addr().String()
	c := fast(srv)
	c.Retries = 50
	s := newSender(t, c)

	require.NoError(t, s.Send(ctx, 1))
	assert.Equal(t, "1", rec.next(t).Body)

	srv.Close() // down: connections refused
	for i := 2; i <= 5; i++ {
		require.NoError(t, s.Send(ctx, i))
	}
	time.Sleep(300 * time.Millisecond) // a few refused attempts
	assert.Equal(t, uint64(4), s.Stats().Pending)

	listen(t, addr, rec) // up again, on the same address
	for i := 2; i <= 5; i++ {
		assert.Equal(t, fmt.Sprint(i), rec.next(t).Body, "in order")
	}
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, [3]uint64{5, 0, 0}, stats(s))
}

func TestServerUnavailableForAWhile(t *testing.T) {
	var up atomic.Bool
	rec := newRecorder(func(_ int, w http.ResponseWriter, _ *http.Request) {
		if !up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	srv := newServer(t, rec)
	c := fast(srv)
	c.Retries = 50
	s := newSender(t, c)
	for i := 1; i <= 5; i++ {
		require.NoError(t, s.Send(context.Background(), i))
	}
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, [3]uint64{0, 0, 5}, stats(s), "1 is retried; the others wait")
	up.Store(true)
	require.NoError(t, waitFor(func() bool { return s.Stats().Sent == 5 }))
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, [3]uint64{5, 0, 0}, stats(s))
	var bodies []string
	for len(rec.got) > 0 {
		bodies = append(bodies, (<-rec.got).Body)
	}
	assert.Greater(t, len(bodies), 5, "1 was retried")
	assert.Equal(t, []string{"1", "2", "3", "4", "5"}, dedupe(bodies), "in order")
}

// dedupe drops consecutive repeats (a retry seen after the flip).
func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}

func TestBufferFull(t *testing.T) {
	release := make(chan struct{})
	rec := newRecorder(func(_ int, _ http.ResponseWriter, _ *http.Request) { <-release })
	srv := newServer(t, rec)
	defer close(release) // before srv.Close, which waits for the handlers
	c := fast(srv)
	c.BufferSize = 2
	s := newSender(t, c)
	ctx := context.Background()
	require.NoError(t, s.Send(ctx, 1))
	rec.next(t) // 1 is being posted: still pending
	require.NoError(t, s.Send(ctx, 2))
	err := s.Send(ctx, 3)
	require.ErrorIs(t, err, webhook.ErrBufferFull)
	assert.Contains(t, err.Error(), "2 messages already wait for "+srv.URL)
	assert.Equal(t, [3]uint64{0, 1, 2}, stats(s))
	release <- struct{}{}
	release <- struct{}{}
	assert.Equal(t, "2", rec.next(t).Body)
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, [3]uint64{2, 1, 0}, stats(s))
}

func TestCloseFlushes(t *testing.T) {
	rec := newRecorder(func(_ int, _ http.ResponseWriter, _ *http.Request) { time.Sleep(5 * time.Millisecond) })
	srv := newServer(t, rec)
	s := newSender(t, fast(srv))
	for i := range 20 {
		require.NoError(t, s.Send(context.Background(), i))
	}
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, [3]uint64{20, 0, 0}, stats(s))
	for i := range 20 {
		assert.Equal(t, fmt.Sprint(i), rec.next(t).Body)
	}
}

func TestCloseUndelivered(t *testing.T) {
	hang := make(chan struct{})
	rec := newRecorder(func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	})
	srv := newServer(t, rec)
	defer close(hang)
	c := fast(srv)
	c.Timeout = 100 * time.Millisecond
	s := newSender(t, c)
	for i := range 3 {
		require.NoError(t, s.Send(context.Background(), i))
	}
	rec.next(t)
	start := time.Now()
	err := s.Close(context.Background())
	took := time.Since(start)
	require.ErrorIs(t, err, webhook.ErrUndelivered)
	assert.Contains(t, err.Error(), "3 messages could not be delivered to "+srv.URL+" before the close ended")
	assert.Less(t, took, time.Second, "Close flushes for 2×Timeout")
	assert.Equal(t, [3]uint64{0, 3, 0}, stats(s))
	assert.NoError(t, s.Close(context.Background()))
}

func TestSendContext(t *testing.T) {
	rec := newRecorder(nil)
	srv := newServer(t, rec)
	s := newSender(t, fast(srv))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, s.Send(ctx, "x"), context.Canceled)
	assert.Equal(t, [3]uint64{0, 1, 0}, stats(s))
	rec.none(t, 50*time.Millisecond)

	// Delivery outlives the ctx of Send.
	ctx, cancel = context.WithCancel(context.Background())
	require.NoError(t, s.Send(ctx, "y"))
	cancel()
	assert.Equal(t, `"y"`, rec.next(t).Body)
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, [3]uint64{1, 1, 0}, stats(s))
}

func TestSendUnencodable(t *testing.T) {
	srv := newServer(t, newRecorder(nil))
	s := newSender(t, fast(srv))
	err := s.Send(context.Background(), func() {})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "webhook: json: unsupported type")
	assert.Equal(t, uint64(1), s.Dropped())
}

func TestTLS(t *testing.T) {
	rec := newRecorder(nil)
	srv := httptest.NewUnstartedServer(rec)
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := webhook.Config{URL: srv.URL, Backoff: 10 * time.Millisecond}

	// The test certificate is not in the system's roots: verification
	// fails, and as retrying cannot help the message is dropped at once.
	log, buf := logger()
	s := newSender(t, c, webhook.WithLogger(log))
	require.NoError(t, s.Send(context.Background(), "x"))
	require.NoError(t, waitFor(func() bool { return s.Dropped() == 1 }))
	assert.Contains(t, buf.String(), "certificate")
	assert.Contains(t, buf.String(), "attempts=1")
	rec.none(t, 50*time.Millisecond)

	// A client trusting the test CA.
	s2 := newSender(t, c, webhook.WithHTTPClient(srv.Client()))
	require.NoError(t, s2.Send(context.Background(), "y"))
	assert.Equal(t, `"y"`, rec.next(t).Body)
	require.NoError(t, s2.Close(context.Background()))
	assert.Equal(t, [3]uint64{1, 0, 0}, stats(s2))
}

func waitFor(cond func() bool) error {
	for range 500 {
		if cond() {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("condition not met in 5 s")
}

func TestConcurrentSends(t *testing.T) {
	rec := newRecorder(nil)
	srv := newServer(t, rec)
	s := newSender(t, fast(srv))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				assert.NoError(t, s.Send(context.Background(), g*100+i))
			}
		})
	}
	wg.Wait()
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, [3]uint64{200, 0, 0}, stats(s))
	assert.Len(t, rec.got, 200)
}

func TestNewErrors(t *testing.T) {
	_, err := webhook.New(webhook.Config{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "webhook: url: empty")
	_, err = webhook.New(webhook.Config{URL: "ftp://example.com/x"})
	assert.ErrorContains(t, err, `url scheme "ftp"`)
}

func TestValidate(t *testing.T) {
	ok := webhook.DefaultConfig()
	ok.URL = "https://hooks.example.com/x"
	assert.NoError(t, ok.Validate())
	assert.NoError(t, webhook.Config{URL: "http://[::1]:8080/"}.Validate(), "zero fields mean defaults")

	cases := []struct {
		name string
		c    webhook.Config
		want []string
	}{
		{"empty url", webhook.Config{}, []string{"url: empty; want an http:// or https:// URL"}},
		{"scheme", webhook.Config{URL: "hooks.example.com/x"}, []string{`url scheme "": want an http:// or https:// URL`}},
		{"no host", webhook.Config{URL: "https:///x?token=querysecret"}, []string{`url "https://": the host is empty`}},
		{"unparsable", webhook.Config{URL: "https://h/%zz?token=querysecret"}, []string{`url: cannot be parsed (invalid URL escape "%zz")`}},
		{"header name", webhook.Config{URL: "http://h", Headers: map[string]string{"Bad Name": "v"}}, []string{`headers "Bad Name": not a valid header name`}},
		{"managed header", webhook.Config{URL: "http://h", Headers: map[string]string{"content-type": "text/plain"}}, []string{`headers "content-type": set by the sender`}},
		{"header value", webhook.Config{URL: "http://h", Headers: map[string]string{"Authorization": "s3cr3t\r\nX: y"}}, []string{`headers "Authorization": the value (not shown) contains a line break`}},
		{"all numbers", webhook.Config{URL: "http://h", Timeout: -1, Retries: -2, Backoff: time.Minute, BufferSize: -1}, []string{
			"timeout -1ns: want a positive duration, or 0 for the default 5s",
			"retries -2: want 1 or more, -1 for none, or 0 for the default 5",
			"backoff 1m0s: want a positive duration up to 30s, or 0 for the default 500ms",
			"buffer_size -1: want 1 or more messages, or 0 for the default 1024",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Len(t, strings.Split(err.Error(), "\n"), len(tc.want))
			for _, leak := range []string{"s3cr3t", "querysecret"} {
				assert.NotContains(t, err.Error(), leak)
			}
		})
	}
}

func TestConfigJSON(t *testing.T) {
	var c webhook.Config
	require.NoError(t, json.Unmarshal([]byte(`{"url":"https://h/x","headers":{"Authorization":"Bearer t"},"timeout":2000000000,"retries":3,"backoff":100000000,"buffer_size":10}`), &c))
	assert.Equal(t, webhook.Config{URL: "https://h/x", Headers: map[string]string{"Authorization": "Bearer t"}, Timeout: 2 * time.Second, Retries: 3, Backoff: 100 * time.Millisecond, BufferSize: 10}, c)
	assert.Equal(t, webhook.Config{Timeout: 5 * time.Second, Retries: 5, Backoff: 500 * time.Millisecond, BufferSize: 1024}, webhook.DefaultConfig())
}
