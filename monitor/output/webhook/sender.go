package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrBufferFull is returned (wrapped) by Send when BufferSize messages
	// are already queued or being posted. The message is counted as
	// dropped.
	ErrBufferFull = errors.New("webhook: buffer full")
	// ErrClosed is returned by Send after Close.
	ErrClosed = errors.New("webhook: sender closed")
	// ErrUndelivered is returned (wrapped) by Close when queued messages
	// could not be delivered within twice the Timeout.
	ErrUndelivered = errors.New("webhook: messages not delivered")
)

// UserAgent is the User-Agent of every POST, unless Config.Headers sets
// one.
const UserAgent = "minato"

// maxDrain is how much of a response body is read, so that the
// connection can be reused; maxExcerpt is how much of it is logged when a
// message is dropped.
const (
	maxDrain   = 64 << 10
	maxExcerpt = 200
)

// Option configures optional collaborators of a Sender.
type Option func(*Sender)

// WithLogger logs what Send cannot report, as it happens in the
// background: each retry (at debug) and each dropped message (at warn,
// with the HTTP status or the network error, and never the headers, the
// body sent or the URL's path and query). Default: silent.
func WithLogger(l *slog.Logger) Option {
	return func(s *Sender) {
		if l != nil {
			s.log = l
		}
	}
}

// WithHTTPClient posts with c instead of a client of the Sender's own
// (which uses the system's TLS roots and the proxy of the environment):
// for a private CA, a client certificate, or a custom proxy. The Sender
// works on a copy of c that follows no redirect, and bounds each POST by
// Config.Timeout itself. Verification is up to c's transport: do not
// disable it.
func WithHTTPClient(c *http.Client) Option {
	return func(s *Sender) {
		if c != nil {
			s.client = c
		}
	}
}

// Sender posts JSON messages to one webhook endpoint. It is safe for
// concurrent use.
//
// Send encodes the payload and queues it (at most BufferSize messages);
// one goroutine posts them in order, each with Content-Type
// application/json, User-Agent "minato" and Config.Headers. The outcome
// of a POST:
//
//   - 2xx: delivered, counted as sent.
//   - 5xx, 429 and network errors (refused, reset, timed out): retried
//     up to Config.Retries times, after Config.Backoff, doubling, capped
//     at 30 s. A 429's Retry-After (seconds, or an HTTP date) replaces
//     the backoff for that wait, capped at 30 s as well. The messages
//     behind wait, so that the order is kept. When the retries are spent
//     the message is dropped.
//   - any other status (4xx, and 3xx as redirects are not followed) and
//     TLS certificate errors: dropped at once, as retrying cannot help.
//
// A message is never dropped silently: it is counted in [Sender.Stats],
// and logged at warn (see [WithLogger]). A Send to a full queue fails with
// ErrBufferFull, and Close reports the messages it could not flush.
type Sender struct {
	cfg       Config
	endpoint  string // scheme://host, all that is logged of the URL
	client    *http.Client
	ownClient bool // made by New, not given by WithHTTPClient
	log       *slog.Logger

	sent, dropped, pending atomic.Uint64

	mu     sync.RWMutex // closed vs. Send
	closed bool

	queue  chan []byte
	quit   chan struct{}   // closed by Close
	done   chan struct{}   // closed when loop returns
	ctx    context.Context // cancelled when Close's flush must end
	cancel context.CancelFunc
}

// New validates cfg, fills in its defaults and starts the goroutine that
// posts. It does not contact the endpoint. Close stops it.
func New(cfg Config, opts ...Option) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	cfg = cfg.withDefaults()
	cfg.Headers = maps.Clone(cfg.Headers)
	u, _ := parseURL(cfg.URL) // valid: checked above
	s := &Sender{
		cfg:      cfg,
		endpoint: endpoint(u),
		log:      slog.New(slog.DiscardHandler),
		queue:    make(chan []byte, cfg.BufferSize),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	if s.client == nil {
		s.client, s.ownClient = newClient(), true
	}
	c := *s.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s.client = &c
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.loop()
	return s, nil
}

// newClient returns a client with a transport of its own, like
// http.DefaultTransport: the system's TLS roots, the environment's proxy.
func newClient() *http.Client {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return &http.Client{Transport: t.Clone()}
	}
	return &http.Client{Transport: http.DefaultTransport}
}

// Config returns the Sender's configuration with the defaults filled in.
func (s *Sender) Config() Config {
	c := s.cfg
	c.Headers = maps.Clone(c.Headers)
	return c
}

// Send encodes payload as JSON (with [json.Marshal]) and queues it for
// posting. It never blocks: ctx is only checked before anything is done,
// and delivery goes on in the background after Send returns. Every
// payload given to Send is eventually counted once in [Sender.Stats]: as
// sent, or as dropped when Send returns an error, the endpoint refuses it
// or Close cannot flush it.
func (s *Sender) Send(ctx context.Context, payload any) error {
	if err := ctx.Err(); err != nil {
		s.dropped.Add(1)
		return err
	}
	body, err := json.Marshal(payload)
	if err != nil {
		s.dropped.Add(1)
		return fmt.Errorf("webhook: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.dropped.Add(1)
		return ErrClosed
	}
	if !s.reserve() {
		s.dropped.Add(1)
		return fmt.Errorf("%w: %d messages already wait for %s", ErrBufferFull, s.cfg.BufferSize, s.endpoint)
	}
	s.queue <- body // never blocks: pending ≤ cap(queue)
	return nil
}

// reserve counts one more pending message unless BufferSize are pending.
func (s *Sender) reserve() bool {
	for {
		n := s.pending.Load()
		if n >= uint64(s.cfg.BufferSize) {
			return false
		}
		if s.pending.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Dropped returns the number of messages that were not and will not be
// delivered.
func (s *Sender) Dropped() uint64 { return s.dropped.Load() }

// Stats returns the number of messages sent (answered with a 2xx
// status), dropped (Send failed, the endpoint refused them, their retries
// were spent, or Close could not flush them) and pending (queued or being
// posted).
func (s *Sender) Stats() (sent, dropped, pending uint64) {
	return s.sent.Load(), s.dropped.Load(), s.pending.Load()
}

// Close stops accepting messages and goes on posting the queued ones,
// retries included, for at most twice the Timeout; a POST still running
// then is cancelled. The messages not delivered by then are counted as
// dropped and reported by an error wrapping ErrUndelivered. Close is
// idempotent; later calls return nil.
func (s *Sender) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	flush := 2 * s.cfg.Timeout
	stop := time.AfterFunc(flush, s.cancel)
	close(s.quit)
	<-s.done
	stop.Stop()
	s.cancel()
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
	n := s.pending.Swap(0)
	if n == 0 {
		return nil
	}
	s.dropped.Add(n)
	return fmt.Errorf("%w: %d messages could not be posted to %s within %s (%d dropped in all)",
		ErrUndelivered, n, s.endpoint, flush, s.dropped.Load())
}

// loop posts the queued messages in order until Close.
func (s *Sender) loop() {
	defer close(s.done)
	for {
		var body []byte
		select {
		case body = <-s.queue:
		case <-s.quit:
			select {
			case body = <-s.queue:
			default:
				return
			}
		}
		if !s.deliver(body) {
			return // Close's flush is over; body is still pending
		}
	}
}

// outcome is the result of one POST.
type outcome struct {
	status     int           // HTTP status; 0 for a network error
	err        error         // network error
	retry      bool          // worth trying again
	retryAfter time.Duration // from a 429's Retry-After; < 0 when absent
	excerpt    string        // start of the response body
}

// deliver posts body until it is delivered, refused or its retries are
// spent, and counts it. It returns false, without counting it, when
// Close's flush ended first.
func (s *Sender) deliver(body []byte) bool {
	retries := max(s.cfg.Retries, 0)
	delay := s.cfg.Backoff
	for attempt := 1; ; attempt++ {
		o := s.post(body)
		if o.status >= 200 && o.status < 300 {
			s.pending.Add(^uint64(0))
			s.sent.Add(1)
			return true
		}
		if s.ctx.Err() != nil {
			return false // cut by the end of Close's flush
		}
		if !o.retry || attempt > retries {
			why := "refused by the endpoint"
			if o.retry {
				why = "retries spent"
			}
			s.log.Warn("webhook: message dropped: "+why, o.attrs(s.endpoint, attempt)...)
			s.pending.Add(^uint64(0)) // after the log: a drop counted is logged
			s.dropped.Add(1)
			return true
		}
		wait := delay
		if o.retryAfter >= 0 {
			wait = min(o.retryAfter, MaxBackoff)
		}
		s.log.Debug("webhook: post failed; retrying", append(o.attrs(s.endpoint, attempt), "retry_in", wait)...)
		if !s.sleep(wait) {
			return false
		}
		delay = min(2*delay, MaxBackoff)
	}
}

// attrs are the log attributes of o: never the headers nor the body sent.
func (o outcome) attrs(endpoint string, attempts int) []any {
	a := []any{"endpoint", endpoint, "attempts", attempts}
	if o.err != nil {
		return append(a, "error", o.err)
	}
	a = append(a, "status", o.status)
	if o.excerpt != "" {
		a = append(a, "response", o.excerpt)
	}
	return a
}

// sleep waits for d; it returns false when Close's flush ends first.
func (s *Sender) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// post makes one POST of body.
func (s *Sender) post(body []byte) outcome {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return outcome{err: errors.New("cannot build the request"), retryAfter: -1}
	}
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", UserAgent)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a secret
		}
		var ce *tls.CertificateVerificationError
		return outcome{err: err, retry: !errors.As(err, &ce), retryAfter: -1}
	}
	defer resp.Body.Close()
	o := outcome{status: resp.StatusCode, retryAfter: -1}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
	case resp.StatusCode == http.StatusTooManyRequests:
		o.retry = true
		o.retryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	case resp.StatusCode >= 500:
		o.retry = true
	}
	if o.status < 200 || o.status >= 300 {
		o.excerpt = excerpt(resp.Body)
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	return o
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
// It returns -1 when v is empty or invalid.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return -1
		}
		if n > int64(MaxBackoff/time.Second) {
			return MaxBackoff
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return -1
}

// excerpt returns the start of a response body, as one line of valid
// UTF-8, for the log.
func excerpt(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, maxExcerpt+1))
	cut := len(b) > maxExcerpt
	if cut {
		b = b[:maxExcerpt]
	}
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
	if cut {
		s += "…"
	}
	return s
}
