package image

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is the budget's clock and sleep: sleeping advances time at
// once, so the tests never wait for real.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.slept = append(c.slept, d)
	c.mu.Unlock()
	return nil
}

func testBudget(t *testing.T, h http.Handler, perMinute int) (*budget, *fakeClock, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := newBudget(http.DefaultTransport, "test", perMinute, 5*time.Second)
	b.now, b.sleep = clk.now, clk.sleep
	return b, clk, srv.URL
}

func get(t *testing.T, b *budget, ctx context.Context, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.RoundTrip(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestBudgetTokenBucket(t *testing.T) {
	b, clk, url := testBudget(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), 30)
	ctx := context.Background()
	for i := 0; i < 30; i++ {
		if _, err := get(t, b, ctx, url); err != nil {
			t.Fatal(err)
		}
	}
	if len(clk.slept) != 0 {
		t.Fatalf("burst of 30 within a budget of 30 waited: %v", clk.slept)
	}
	// The 31st call waits for one token: 2 s at 30 a minute.
	if _, err := get(t, b, ctx, url); err != nil {
		t.Fatal(err)
	}
	st := b.Stats()
	if st.Calls != 31 || st.Waited != 2*time.Second || st.Throttled != 0 {
		t.Errorf("stats = %+v, want 31 calls, waited 2s", st)
	}
}

func TestBudget429RetryAfter(t *testing.T) {
	var n atomic.Int32
	b, clk, url := testBudget(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}), 600)
	resp, err := get(t, b, context.Background(), url)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("resp %v, err %v", resp, err)
	}
	st := b.Stats()
	if st.Calls != 2 || st.Throttled != 1 || st.Waited != 2*time.Second {
		t.Errorf("stats = %+v, want 2 calls, 1 throttled, waited 2s (slept %v)", st, clk.slept)
	}
}

func TestBudget429GivesUp(t *testing.T) {
	b, clk, url := testBudget(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", clk0.Add(90*time.Second).Format(http.TimeFormat))
		w.WriteHeader(http.StatusTooManyRequests)
	}), 600)
	resp, err := get(t, b, context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("status %d, want the final 429", resp.StatusCode)
	}
	st := b.Stats()
	// 1 call + 3 retries; the HTTP date 90 s ahead is capped at 60 s.
	if st.Calls != 4 || st.Throttled != 4 {
		t.Errorf("stats = %+v, want 4 calls, 4 throttled", st)
	}
	if st.Waited < 60*time.Second || st.Waited > 3*60*time.Second {
		t.Errorf("waited %s, want 60-180 s (capped Retry-After)", st.Waited)
	}
	_ = clk
}

// clk0 is the start of every fakeClock.
var clk0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestBudgetRetriesBody(t *testing.T) {
	var n atomic.Int32
	var bodies []string
	var mu sync.Mutex
	b, _, url := testBudget(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(body))
		mu.Unlock()
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "0.01")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}), 600)
	req, _ := http.NewRequest(http.MethodPut, url+"/v2/x/manifests/t", strings.NewReader("payload"))
	resp, err := b.RoundTrip(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("resp %v err %v", resp, err)
	}
	resp.Body.Close()
	if len(bodies) != 2 || bodies[1] != "payload" {
		t.Errorf("bodies = %q, want the payload sent twice", bodies)
	}
}

func TestBudgetRateLimitHeaders(t *testing.T) {
	var remaining atomic.Value
	remaining.Store("0;w=21600")
	b, _, url := testBudget(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("RateLimit-Remaining", remaining.Load().(string))
		if r.URL.Query().Get("reset") != "" {
			w.Header().Set("RateLimit-Reset", r.URL.Query().Get("reset"))
		}
	}), 600)
	if _, err := get(t, b, context.Background(), url); err != nil {
		t.Fatal(err)
	}
	// Docker Hub's window (6 h) is beyond this caller's deadline: refuse
	// at once rather than sleep into the deadline.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := get(t, b, ctx, url)
	if !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "test") {
		t.Fatalf("err = %v, want ErrRateLimited naming the registry", err)
	}
	if st := b.Stats(); st.Calls != 1 {
		t.Errorf("calls = %d, want 1 (no call while exhausted)", st.Calls)
	}

	// RateLimit-Reset: 3 blocks for 3 s only.
	b2, clk, url2 := testBudget(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("RateLimit-Remaining", "0")
		w.Header().Set("RateLimit-Reset", "3")
	}), 600)
	for i := 0; i < 2; i++ {
		if _, err := get(t, b2, context.Background(), url2); err != nil {
			t.Fatal(err)
		}
	}
	if st := b2.Stats(); st.Waited != 3*time.Second || st.Calls != 2 {
		t.Errorf("stats = %+v (slept %v), want 2 calls, waited 3s", st, clk.slept)
	}
}

func TestBudgetContextEnds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	b := newBudget(http.DefaultTransport, "test", 1, 0) // real clock: 1 call a minute
	if _, err := get(t, b, context.Background(), srv.URL); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := get(t, b, ctx, srv.URL)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The cancelled call gave its token back: one queued call, not two.
	if d := b.reserve(); d > 61*time.Second {
		t.Errorf("next wait %s after a cancelled call, want <= 60s", d)
	}
}

func TestBudgetTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/") {
			time.Sleep(300 * time.Millisecond)
			return
		}
		<-release
	}))
	defer srv.Close()
	defer close(release)
	b := newBudget(http.DefaultTransport, "test", 600, 100*time.Millisecond)
	_, err := get(t, b, context.Background(), srv.URL+"/v2/x/manifests/t")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hanging manifest call: err = %v, want a deadline error", err)
	}
	// Blob transfers are not bounded by the per-call timeout.
	if _, err := get(t, b, context.Background(), srv.URL+"/v2/x/blobs/sha256:00"); err != nil {
		t.Errorf("slow blob: %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := clk0
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 10 * time.Second},
		{"3", 3 * time.Second},
		{" 0.5 ", 500 * time.Millisecond},
		{"0", 0},
		{"120", 60 * time.Second},
		{"-5", 10 * time.Second},
		{"soon", 10 * time.Second},
		{"1e400", 60 * time.Second},
		{"NaN", 10 * time.Second},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(time.Hour).Format(http.TimeFormat), 60 * time.Second},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestRateLimitExhausted(t *testing.T) {
	for _, tc := range []struct {
		remaining, reset string
		want             time.Duration
		ok               bool
	}{
		{"", "", 0, false},
		{"5", "10", 0, false},
		{"5;w=21600", "", 0, false},
		{"0", "", time.Minute, true},
		{"0", "7", 7 * time.Second, true},
		{"0;w=21600", "", 6 * time.Hour, true},
		{"0;w=60", "", time.Minute, true},
		{"0;w=999999999", "", time.Minute, true}, // out-of-range window ignored
		{"0", "99999999999999999", 6 * time.Hour, true},
		{"x", "", 0, false},
	} {
		h := http.Header{}
		if tc.remaining != "" {
			h.Set("RateLimit-Remaining", tc.remaining)
		}
		if tc.reset != "" {
			h.Set("RateLimit-Reset", tc.reset)
		}
		got, ok := rateLimitExhausted(h)
		if got != tc.want || ok != tc.ok {
			t.Errorf("remaining %q reset %q = %s %v, want %s %v", tc.remaining, tc.reset, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzRateLimitHeaders(f *testing.F) {
	for _, s := range []string{"", "0", "3", "0;w=21600", "1.5", "Wed, 21 Oct 2015 07:28:00 GMT", "0;w=", ";;=;", "-1", "9223372036854775807"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if d := parseRetryAfter(a, clk0); d < 0 || d > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %s out of [0, 60s]", a, d)
		}
		h := http.Header{}
		h.Set("RateLimit-Remaining", a)
		h.Set("RateLimit-Reset", b)
		if d, ok := rateLimitExhausted(h); d < 0 || d > maxRateLimitBackoff || (!ok && d != 0) {
			t.Fatalf("rateLimitExhausted(%q, %q) = %s %v", a, b, d, ok)
		}
	})
}
