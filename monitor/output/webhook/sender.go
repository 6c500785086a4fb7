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
	"time"

	"github.com/minato-ops/minato/monitor/output/notify"
)

// The errors of a Sender are those of package notify, so that a Sender
// and the other notifiers fail alike.
var (
	// ErrBufferFull is wrapped by the error of Send when BufferSize
	// messages are already queued or being posted. The message is
	// counted as dropped. It is [notify.ErrBufferFull].
	ErrBufferFull = notify.ErrBufferFull
	// ErrClosed is returned by Send after Close. It is
	// [notify.ErrClosed].
	ErrClosed = notify.ErrClosed
	// ErrUndelivered is wrapped by the error of Close when queued
	// messages could not be delivered in time. It is
	// [notify.ErrUndelivered].
	ErrUndelivered = notify.ErrUndelivered
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
// background: each retry (at debug) and each dropped message (at warn),
// with the endpoint's scheme and host, the number of attempts, and the
// HTTP status and the start of the response or the network error; never
// the headers, the body sent or the URL's path and query. Default:
// silent.
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
// Send encodes the payload and queues it (at most BufferSize messages,
// in a [notify.Queue]); one goroutine posts them in order, each with
// Content-Type application/json, User-Agent "minato" and Config.Headers.
// The outcome of a POST:
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
	q         *notify.Queue[[]byte]
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
	qc := notify.QueueConfig{
		Name:       s.endpoint,
		BufferSize: cfg.BufferSize,
		Retries:    max(cfg.Retries, 0), // NoRetries: a single attempt
		Backoff:    cfg.Backoff,
		MaxBackoff: MaxBackoff,
	}
	q, err := notify.NewQueue(qc, s.post, notify.WithLogger(s.log.With("endpoint", s.endpoint)))
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	s.q = q
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
// posting. It never blocks: ctx is only checked, and delivery goes on in
// the background after Send returns, whatever becomes of ctx. Every
// payload given to Send is counted once in [Sender.Stats]: as sent, or as
// dropped when Send returns an error, the endpoint refuses it or Close
// cannot flush it.
func (s *Sender) Send(ctx context.Context, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return s.q.Drop(fmt.Errorf("webhook: %w", err))
	}
	return s.q.Enqueue(ctx, body)
}

// Dropped returns the number of messages that were not and will not be
// delivered: Stats().Dropped.
func (s *Sender) Dropped() uint64 { return s.q.Stats().Dropped }

// Stats returns the number of messages sent (answered with a 2xx
// status), dropped (Send failed, the endpoint refused them, their retries
// were spent, or Close could not flush them) and pending (queued or being
// posted).
func (s *Sender) Stats() notify.Stats { return s.q.Stats() }

// Flush waits until every message given to Send before the call was
// delivered or dropped (retries included), and returns nil; when ctx ends
// first it returns an error wrapping ctx's, and the messages stay queued.
func (s *Sender) Flush(ctx context.Context) error { return s.q.Flush(ctx) }

// Close stops accepting messages and goes on posting the queued ones,
// retries included, until ctx ends or for at most twice the Timeout,
// whichever comes first; a POST still running then is canceled at once.
// The messages not delivered by then are counted as dropped and reported
// by an error wrapping ErrUndelivered. Close is idempotent; later calls
// return nil.
func (s *Sender) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*s.cfg.Timeout)
	defer cancel()
	err := s.q.Close(ctx)
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
	return err
}

// statusError is a POST answered with a status that is not 2xx. Its log
// value shows the status and the start of the response as attributes.
type statusError struct {
	status  int
	excerpt string // start of the response body
}

func (e *statusError) Error() string {
	if e.excerpt == "" {
		return "status " + strconv.Itoa(e.status)
	}
	return "status " + strconv.Itoa(e.status) + ": " + e.excerpt
}

func (e *statusError) LogValue() slog.Value {
	a := []slog.Attr{slog.Int("status", e.status)}
	if e.excerpt != "" {
		a = append(a, slog.String("response", e.excerpt))
	}
	return slog.GroupValue(a...)
}

// post makes one POST of body: the Queue's deliver function. Its error
// is a *statusError or a network error, marked for the Queue: permanent
// for a status other than 429 and 5xx and for a certificate that is not
// trusted, with the Retry-After of a 429.
func (s *Sender) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return notify.Permanent(errors.New("cannot build the request"))
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
		if errors.As(err, &ce) {
			return notify.Permanent(err)
		}
		return err
	}
	defer resp.Body.Close()
	defer func() { _, _ = io.CopyN(io.Discard, resp.Body, maxDrain) }()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = &statusError{status: resp.StatusCode, excerpt: excerpt(resp.Body)}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if d := retryAfter(resp.Header.Get("Retry-After"), time.Now()); d >= 0 {
			return notify.RetryAfter(err, d)
		}
		return err
	case resp.StatusCode >= 500:
		return err
	}
	return notify.Permanent(err)
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
