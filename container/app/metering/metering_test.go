package metering

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const shopBody = `# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code="200",app="inner"} 10
http_requests_total{code="500"} 2
# HELP heap_bytes Heap in use.
# TYPE heap_bytes gauge
heap_bytes 1.5e+06
`

const omBody = `# TYPE jobs counter
# HELP jobs Jobs run.
# UNIT jobs
jobs_total{kind="a"} 3 1700000000.5 # {trace_id="x"} 1 1700000000.1
jobs_created{kind="a"} 1700000000
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 1
latency_seconds_bucket{le="+Inf"} 2
latency_seconds_sum 0.3
latency_seconds_count 2
latency_seconds_created 1700000000
# TYPE build info
build_info{version="1.2"} 1
# EOF
`

// serve returns a server answering body with content type ct.
func serve(t testing.TB, ct, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

const textCT = "text/plain; version=0.0.4; charset=utf-8"

func TestWriteBothFormats(t *testing.T) {
	t.Parallel()
	a := serve(t, textCT, shopBody)
	b := serve(t, textCT, "# TYPE heap_bytes gauge\nheap_bytes 7\n")
	om := serve(t, "application/openmetrics-text; version=1.0.0; charset=utf-8", omBody)
	s, err := New(Config{Interval: time.Minute, Timeout: 5 * time.Second})
	require.NoError(t, err)
	require.NoError(t, s.SetTargets([]Target{
		{App: "shop", Container: "shop-1", URL: a.URL + "/metrics"},
		{App: "shop", Container: "shop-2", URL: b.URL + "/metrics"},
		{App: "batch", Container: "batch-1", URL: om.URL + "/metrics"},
	}))
	require.NoError(t, s.ScrapeAll(t.Context()))

	var buf bytes.Buffer
	require.NoError(t, s.Write(&buf, "shop", FormatPrometheus))
	assert.Equal(t, `# TYPE heap_bytes gauge
# HELP heap_bytes Heap in use.
heap_bytes{app="shop",container="shop-1"} 1.5e+06
heap_bytes{app="shop",container="shop-2"} 7
# TYPE http_requests_total counter
# HELP http_requests_total Requests served.
http_requests_total{app="shop",container="shop-1",code="200",exported_app="inner"} 10
http_requests_total{app="shop",container="shop-1",code="500"} 2
`, buf.String(), "TYPE before HELP (§2.7), every sample labelled, the target's own labels kept")

	buf.Reset()
	require.NoError(t, s.Write(&buf, "batch", FormatJSON))
	assert.JSONEq(t, `{"batch": [
	  {"name": "build_info", "help": "", "type": "gauge", "metrics": [{"labels": {"app": "batch", "container": "batch-1", "version": "1.2"}, "value": "1"}]},
	  {"name": "jobs_total", "help": "Jobs run.", "type": "counter", "metrics": [{"labels": {"app": "batch", "container": "batch-1", "kind": "a"}, "value": "3"}]},
	  {"name": "latency_seconds", "help": "", "type": "histogram", "metrics": [{"labels": {"app": "batch", "container": "batch-1"},
	    "buckets": {"0.1": "1", "+Inf": "2"}, "count": "2", "sum": "0.3"}]}
	]}`, buf.String(), "OpenMetrics read: counter named _total, _created and exemplars dropped, info as a gauge")

	buf.Reset()
	require.NoError(t, s.Write(&buf, "", FormatJSON))
	var all map[string][]Family
	require.NoError(t, json.Unmarshal(buf.Bytes(), &all))
	assert.Len(t, all, 2, "every application, keyed by name")
	assert.Len(t, all["shop"], 2)

	buf.Reset()
	require.NoError(t, s.Write(&buf, "", FormatPrometheus))
	assert.Equal(t, 1, strings.Count(buf.String(), "# TYPE heap_bytes gauge"), "one family per name across applications")
	assert.Contains(t, buf.String(), `jobs_total{app="batch",container="batch-1",kind="a"} 3`)

	err = s.Write(&buf, "nope", FormatJSON)
	require.ErrorIs(t, err, ErrUnknownApp)
	assert.Contains(t, err.Error(), `"nope": metered applications: batch, shop`)
}

func TestNegotiate(t *testing.T) {
	t.Parallel()
	for accept, want := range map[string]Format{
		"":                                   FormatPrometheus,
		"application/json":                   FormatJSON,
		"Application/JSON; charset=utf-8":    FormatJSON,
		"text/plain":                         FormatPrometheus,
		"*/*":                                FormatPrometheus,
		"application/json, text/plain;q=0.5": FormatJSON,
		"text/plain, application/json;q=0.5": FormatPrometheus,
		"application/json;q=0":               FormatPrometheus,
		"application/openmetrics-text":       FormatPrometheus,
		"garbage;;;":                         FormatPrometheus,
	} {
		assert.Equal(t, want, Negotiate(accept), "Accept: %q", accept)
	}
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestDownTargetKeepsErrorAndDropsSamples: a target that stops answering
// keeps its last samples for StaleAfter intervals, with its error, then
// loses them; the application stays known.
func TestDownTargetKeepsErrorAndDropsSamples(t *testing.T) {
	t.Parallel()
	srv := serve(t, textCT, shopBody)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s, err := New(Config{Interval: 10 * time.Second, Timeout: 2 * time.Second}, WithClock(clk.now))
	require.NoError(t, err)
	require.NoError(t, s.SetTargets([]Target{{App: "shop", Container: "shop-1", URL: srv.URL}}))
	require.NoError(t, s.ScrapeAll(t.Context()))
	srv.Close()

	clk.add(25 * time.Second)
	err = s.ScrapeAll(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shop/shop-1: scrape "+srv.URL)
	st := s.Status()
	require.Len(t, st, 1)
	assert.Equal(t, 3, st[0].Samples, "kept within 3 intervals")
	assert.NotEmpty(t, st[0].Error)

	clk.add(6 * time.Second) // 31 s > 3 × 10 s
	st = s.Status()
	assert.Zero(t, st[0].Samples, "dropped after 3 intervals")
	assert.True(t, st[0].LastSuccess.IsZero())
	assert.NotEmpty(t, st[0].Error, "the error is kept")
	var buf bytes.Buffer
	require.NoError(t, s.Write(&buf, "shop", FormatJSON))
	assert.JSONEq(t, `{"shop": []}`, buf.String())
}

// TestSlowTargetBoundedByTimeout: a target that never answers fails after
// the timeout, and does not hold the others up.
func TestSlowTargetBoundedByTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	fast := serve(t, textCT, shopBody)
	s, err := New(Config{Interval: time.Minute, Timeout: time.Second, MaxConcurrent: 2})
	require.NoError(t, err)
	require.NoError(t, s.SetTargets([]Target{{App: "a", Container: "slow", URL: slow.URL}, {App: "a", Container: "fast", URL: fast.URL}}))
	start := time.Now()
	err = s.ScrapeAll(t.Context())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "timed out after 1s (metering timeout)")
	assert.Less(t, time.Since(start), 30*time.Second)
	st := s.Status()
	require.Len(t, st, 2)
	assert.Equal(t, "fast", st[0].Container)
	assert.Equal(t, 3, st[0].Samples)
	assert.NoError(t, st[0].Err)
}

// TestConcurrencyBounded: no more than MaxConcurrent scrapes at once.
func TestConcurrencyBounded(t *testing.T) {
	t.Parallel()
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		_, _ = w.Write([]byte("up 1\n"))
	}))
	t.Cleanup(srv.Close)
	s, err := New(Config{Interval: time.Minute, MaxConcurrent: 3})
	require.NoError(t, err)
	var ts []Target
	for i := range 20 {
		ts = append(ts, Target{App: "a", Container: fmt.Sprint("c", i), URL: srv.URL})
	}
	require.NoError(t, s.SetTargets(ts))
	require.NoError(t, s.ScrapeAll(t.Context()))
	assert.LessOrEqual(t, peak.Load(), int32(3))
	assert.Positive(t, peak.Load())
}

// TestRunDiscovers: Run takes its targets from discover and scrapes them.
func TestRunDiscovers(t *testing.T) {
	t.Parallel()
	srv := serve(t, textCT, shopBody)
	var calls atomic.Int32
	s, err := New(Config{Interval: time.Second})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		done <- s.Run(ctx, func(context.Context) ([]Target, error) {
			calls.Add(1)
			return []Target{{App: "shop", Container: "shop-1", URL: srv.URL}}, nil
		})
	}()
	require.Eventually(t, func() bool {
		st := s.Status()
		return len(st) == 1 && st[0].Samples == 3
	}, 20*time.Second, 20*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	assert.Positive(t, calls.Load())
}

func TestSetTargetsValidates(t *testing.T) {
	t.Parallel()
	s, err := New(Config{})
	require.NoError(t, err)
	err = s.SetTargets([]Target{
		{App: "a", Container: "c", URL: "http://x/metrics"},
		{App: "a", Container: "c", URL: "http://y/metrics"},
		{App: "", Container: "d", URL: "ftp://x"},
		{App: "b", Container: "e", URL: "http://x", Interval: time.Millisecond},
	})
	require.Error(t, err)
	for _, want := range []string{`targets[1]: app "a" container "c" is also targets[0]`, "app: required", `url: "ftp://x": want an absolute http or https URL`, "interval: 1ms: want 0"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Equal(t, []string{"a"}, s.Apps(), "the valid ones are set")
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, Config{}.Validate())
	require.NoError(t, DefaultConfig().Validate())
	err := Config{Interval: 100 * time.Millisecond, Timeout: -1, MaxConcurrent: -1, MaxBytes: -1}.Validate()
	require.Error(t, err)
	for _, want := range []string{"interval: 100ms: want 0 (default 30s) or at least 1s", "timeout: -1ns", "max_concurrent: -1", "max_bytes: -1"} {
		assert.Contains(t, err.Error(), want)
	}
	err = Config{Interval: 5 * time.Second, Timeout: 6 * time.Second}.Validate()
	assert.ErrorContains(t, err, "timeout: 6s: want at most the interval (5s)")
	assert.Equal(t, 5*time.Second, Config{Interval: 5 * time.Second}.withDefaults().Timeout)
}

func TestBadBodyAndStatus(t *testing.T) {
	t.Parallel()
	bad := serve(t, textCT, "this is { not metrics\n")
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	s, err := New(Config{MaxBytes: 1 << 10})
	require.NoError(t, err)
	big := serve(t, textCT, strings.Repeat("x 1\n", 1000))
	require.NoError(t, s.SetTargets([]Target{{App: "a", Container: "bad", URL: bad.URL}, {App: "a", Container: "nf", URL: notFound.URL}, {App: "a", Container: "big", URL: big.URL}}))
	err = s.ScrapeAll(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a/bad: scrape")
	assert.Contains(t, err.Error(), "parsing the metrics")
	assert.Contains(t, err.Error(), "HTTP status 404 Not Found: want 200 OK")
	assert.Contains(t, err.Error(), "body larger than 1024 bytes")
	var joined interface{ Unwrap() []error }
	require.True(t, errors.As(err, &joined))
	assert.Len(t, joined.Unwrap(), 3)
}

// BenchmarkScrape100 scrapes 100 targets (one loopback server, a 40-sample
// body each) per op and renders the result once as text.
func BenchmarkScrape100(b *testing.B) {
	var body strings.Builder
	body.WriteString("# HELP req_total Requests.\n# TYPE req_total counter\n")
	for i := range 40 {
		fmt.Fprintf(&body, "req_total{path=\"/p%d\"} %d\n", i, i*10)
	}
	srv := serve(b, textCT, body.String())
	s, err := New(Config{Interval: time.Minute, MaxConcurrent: 8})
	require.NoError(b, err)
	var ts []Target
	for i := range 100 {
		ts = append(ts, Target{App: fmt.Sprint("app", i%10), Container: fmt.Sprint("c", i), URL: srv.URL})
	}
	require.NoError(b, s.SetTargets(ts))
	var out bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		if err := s.ScrapeAll(context.Background()); err != nil {
			b.Fatal(err)
		}
		out.Reset()
		if err := s.Write(&out, "", FormatPrometheus); err != nil {
			b.Fatal(err)
		}
	}
}
