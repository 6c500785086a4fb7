package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrRateLimited is wrapped by the error of a registry call that cannot be
// made before the caller's context ends, because the registry asked minato
// to wait (429 Retry-After, RateLimit-Remaining: 0) or the budget
// (Config.RegistryBudget) is spent until later.
var ErrRateLimited = errors.New("registry rate limit reached")

// RegistryStats are the counters of one registry's budget since the
// Client was made.
//
// # What an operation costs
//
// Every HTTP request minato sends on behalf of a registry counts against
// its budget (Config.RegistryBudget), token fetches included:
//
//   - The first operation on a repository of a registry pings it
//     (GET /v2/: 1 call; 2 for a plain-HTTP loopback registry, whose
//     https attempt fails first) and, on a token-auth registry such as
//     Docker Hub, fetches a token (1 call per repository scope). Later
//     operations on the same repository with the same credentials reuse
//     both until the token expires (Docker Hub: 5 minutes), which costs
//     one refused call plus one token fetch.
//   - [Client.RemoteDigest] of a tag: 1 HEAD; 1 more GET when the
//     registry answers HEAD without Docker-Content-Digest. Of a digest:
//     1 HEAD. Docker Hub does not count HEAD requests against its pull
//     limit, but minato's budget does.
//   - [Client.RemoteTags]: 1 per page (up to 1000 tags a page).
//   - [Client.Copy]: 1 GET per manifest read (the index and each
//     platform's manifest), 1 GET per config and layer blob, and at the
//     destination a ping and token (each Copy), 1 HEAD per blob (plus POST/PUT, or PATCH chunks, for
//     each missing one) and 1 HEAD + 1 PUT per manifest.
//
// So checking 50 tags of one repository costs 50 calls plus 1-3 for the
// first one: within the default budget (60 a minute) a check of 50 tags
// runs without waiting.
type RegistryStats struct {
	// Calls is how many HTTP requests were sent to the registry (and its
	// token service), retries included.
	Calls int `json:"calls"`
	// Throttled is how many answers were 429 Too Many Requests.
	Throttled int `json:"throttled"`
	// Waited is the total time calls waited for the budget or for the
	// registry's Retry-After / RateLimit-Reset.
	Waited time.Duration `json:"waited"`
}

// Retry behaviour on 429.
const (
	maxRetries429       = 3
	defaultRetryAfter   = 10 * time.Second
	maxRetryAfter       = 60 * time.Second
	maxRateLimitBackoff = 6 * time.Hour // longest RateLimit window honoured (Docker Hub's)
)

// budget is an http.RoundTripper that limits the calls made to one
// registry: a token bucket of perMinute calls (burst perMinute, refilled
// continuously), plus the waits the registry asks for. It is safe for
// concurrent use.
type budget struct {
	next      http.RoundTripper
	host      string
	perMinute int
	// timeout bounds each non-blob call (0: none).
	timeout time.Duration
	// now and sleep are test seams; sleep waits d or until ctx ends.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu           sync.Mutex
	tokens       float64
	last         time.Time
	blockedUntil time.Time
	stats        RegistryStats
}

func newBudget(next http.RoundTripper, host string, perMinute int, timeout time.Duration) *budget {
	return &budget{next: next, host: host, perMinute: perMinute, timeout: timeout, now: time.Now, sleep: sleepCtx,
		tokens: float64(perMinute)}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Stats returns a copy of the counters.
func (b *budget) Stats() RegistryStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// reserve takes one call from the budget and returns how long the caller
// must wait before making it (0: go now).
func (b *budget) reserve() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	rate := float64(b.perMinute) / 60 // tokens per second
	if !b.last.IsZero() {
		b.tokens += now.Sub(b.last).Seconds() * rate
		if b.tokens > float64(b.perMinute) {
			b.tokens = float64(b.perMinute)
		}
	}
	b.last = now
	b.tokens-- // may go negative: a queue of reserved calls
	var wait time.Duration
	if b.tokens < 0 {
		wait = time.Duration(-b.tokens / rate * float64(time.Second))
	}
	if until := b.blockedUntil.Sub(now); until > wait {
		wait = until
	}
	return wait
}

// cancelReservation gives back a token reserved for a call not made.
func (b *budget) cancelReservation() {
	b.mu.Lock()
	b.tokens++
	b.mu.Unlock()
}

// wait sleeps d within ctx, counting it, or fails at once when ctx ends
// before d would pass.
func (b *budget) wait(ctx context.Context, d time.Duration, why string) error {
	if d <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return fmt.Errorf("registry %s: %w: %s asks to wait %s, beyond the caller's deadline; try again later or raise the timeout", b.host, ErrRateLimited, why, d.Round(time.Millisecond))
	}
	start := b.now()
	err := b.sleep(ctx, d)
	b.mu.Lock()
	b.stats.Waited += b.now().Sub(start)
	b.mu.Unlock()
	if err != nil {
		return fmt.Errorf("registry %s: waiting %s for %s: %w", b.host, d.Round(time.Millisecond), why, err)
	}
	return nil
}

// block makes every call wait until t at least.
func (b *budget) block(t time.Time) {
	b.mu.Lock()
	if t.After(b.blockedUntil) {
		b.blockedUntil = t
	}
	b.mu.Unlock()
}

// RoundTrip sends req when the budget allows, retries 429 answers up to 3
// times after the registry's Retry-After (when the request body can be
// sent again), and honours RateLimit-Remaining: 0 for later calls.
func (b *budget) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		d := b.reserve()
		why := fmt.Sprintf("the budget of %d calls a minute", b.perMinute)
		if err := b.wait(ctx, d, why); err != nil {
			b.cancelReservation()
			closeBody(req)
			return nil, err
		}
		r := req
		if attempt > 0 {
			r = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		var cancel context.CancelFunc
		if b.timeout > 0 && !strings.Contains(r.URL.Path, "/blobs/") {
			var cctx context.Context
			cctx, cancel = context.WithTimeout(ctx, b.timeout)
			r = r.WithContext(cctx)
		}
		b.mu.Lock()
		b.stats.Calls++
		b.mu.Unlock()
		resp, err := b.next.RoundTrip(r)
		if err != nil {
			if cancel != nil {
				cancel()
			}
			return nil, err
		}
		if cancel != nil {
			resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
		}
		now := b.now()
		if reset, ok := rateLimitExhausted(resp.Header); ok {
			b.block(now.Add(reset))
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			return resp, nil
		}
		b.mu.Lock()
		b.stats.Throttled++
		b.mu.Unlock()
		ra := parseRetryAfter(resp.Header.Get("Retry-After"), now)
		b.block(now.Add(ra))
		rewindable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
		if attempt >= maxRetries429 || !rewindable {
			return resp, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// cancelBody ends a call's timeout context when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelBody) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP
// date. An empty, malformed or negative value means 10 s; the result is
// capped at 60 s.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	d := defaultRetryAfter
	if v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil || errors.Is(err, strconv.ErrRange) {
			if secs >= 0 && secs < maxRetryAfter.Seconds()+1 {
				d = time.Duration(secs * float64(time.Second))
			} else if secs >= 0 {
				d = maxRetryAfter
			}
		} else if t, err := http.ParseTime(v); err == nil {
			d = t.Sub(now)
			if d < 0 {
				d = 0
			}
		}
	}
	if d > maxRetryAfter {
		d = maxRetryAfter
	}
	return d
}

// rateLimitExhausted reports whether h says no calls are left
// (RateLimit-Remaining: 0, also Docker Hub's "0;w=21600") and for how
// long: RateLimit-Reset seconds, else the window w, else 60 s; at most
// 6 hours.
func rateLimitExhausted(h http.Header) (time.Duration, bool) {
	rem := h.Get("RateLimit-Remaining")
	if rem == "" {
		return 0, false
	}
	n, params := splitRateLimit(rem)
	if n != 0 {
		return 0, false
	}
	d := time.Minute
	if w, ok := params["w"]; ok && w > 0 {
		d = time.Duration(w) * time.Second
	}
	if r := strings.TrimSpace(h.Get("RateLimit-Reset")); r != "" {
		if secs, _ := splitRateLimit(r); secs >= 0 {
			d = maxRateLimitBackoff
			if secs < int64(maxRateLimitBackoff/time.Second) {
				d = time.Duration(secs) * time.Second
			}
		}
	}
	if d > maxRateLimitBackoff {
		d = maxRateLimitBackoff
	}
	return d, true
}

// splitRateLimit parses "N" or "N;k=v;..." (integer parameters), the
// shape of RateLimit-* header values. n is -1 when N is not a
// non-negative integer.
func splitRateLimit(v string) (n int64, params map[string]int64) {
	parts := strings.Split(v, ";")
	n, err := strconv.ParseInt(strings.TrimSpace(parts[0]), 10, 64)
	if err != nil || n < 0 {
		n = -1
	}
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		i, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil || i < 0 || i > int64(maxRateLimitBackoff/time.Second) {
			continue
		}
		if params == nil {
			params = map[string]int64{}
		}
		params[strings.ToLower(strings.TrimSpace(k))] = i
	}
	return n, params
}
