package metering

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// StaleAfter is how many of its intervals a target's last good samples
// are kept while its scrapes fail; after that they are dropped (its error
// is kept).
const StaleAfter = 3

// Defaults of [Config].
const (
	DefaultInterval      = 30 * time.Second
	DefaultTimeout       = 10 * time.Second
	DefaultMaxConcurrent = 8
	DefaultMaxBytes      = 10 << 20
)

// MinInterval is the shortest scrape interval allowed.
const MinInterval = time.Second

// acceptHeader asks for the Prometheus text format first, OpenMetrics
// next, as Prometheus does when it prefers text.
const acceptHeader = "text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1"

// ErrUnknownApp is returned (wrapped, naming the application) by
// [Scraper.Write] and [Scraper.Families] for an application that has no
// target.
var ErrUnknownApp = errors.New("metering: unknown application")

// Config is the scraper's configuration. Zero fields take their defaults.
type Config struct {
	// Interval is the time between two scrapes of a target whose own
	// Interval is 0 (default 30s, at least 1s).
	Interval time.Duration `json:"interval,omitempty"`
	// Timeout bounds one scrape, connection included (default 10s, or
	// the interval when shorter; at most the interval).
	Timeout time.Duration `json:"timeout,omitempty"`
	// MaxConcurrent bounds the scrapes in flight (default 8).
	MaxConcurrent int `json:"max_concurrent,omitempty"`
	// MaxBytes bounds a scraped body (default 10 MiB): a larger one is a
	// failed scrape.
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// InsecureSkipVerify accepts any certificate from https targets
	// (applications with self-signed certificates, as the WebOTX
	// operator's Prometheus example does). Ignored with WithHTTPClient.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`
}

// DefaultConfig returns the configuration with every default filled in.
func DefaultConfig() Config {
	return Config{Interval: DefaultInterval, Timeout: DefaultTimeout, MaxConcurrent: DefaultMaxConcurrent, MaxBytes: DefaultMaxBytes}
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	c.Interval = cmp.Or(c.Interval, DefaultInterval)
	if c.Timeout == 0 {
		c.Timeout = min(DefaultTimeout, c.Interval)
	}
	c.MaxConcurrent = cmp.Or(c.MaxConcurrent, DefaultMaxConcurrent)
	c.MaxBytes = cmp.Or(c.MaxBytes, DefaultMaxBytes)
	return c
}

// Validate returns every problem of the configuration, joined, each
// starting with its field's key.
func (c Config) Validate() error {
	var errs []error
	if c.Interval != 0 && c.Interval < MinInterval {
		errs = append(errs, fmt.Errorf("interval: %s: want 0 (default %s) or at least %s", c.Interval, DefaultInterval, MinInterval))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: %s: want 0 (default %s) or more", c.Timeout, DefaultTimeout))
	} else if iv := cmp.Or(c.Interval, DefaultInterval); c.Timeout > iv {
		errs = append(errs, fmt.Errorf("timeout: %s: want at most the interval (%s)", c.Timeout, iv))
	}
	if c.MaxConcurrent < 0 {
		errs = append(errs, fmt.Errorf("max_concurrent: %d: want 0 (default %d) or more", c.MaxConcurrent, DefaultMaxConcurrent))
	}
	if c.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("max_bytes: %d: want 0 (default %d) or more", c.MaxBytes, DefaultMaxBytes))
	}
	return errors.Join(errs...)
}

// Target is one container's metrics endpoint.
type Target struct {
	// App is the application's name: every sample gets the label app.
	App string `json:"app"`
	// Container is the container's name: every sample gets the label
	// container. It is unique within App.
	Container string `json:"container"`
	// URL is the http or https URL scraped, such as
	// http://172.17.0.3:8080/metrics.
	URL string `json:"url"`
	// Interval, when not 0, replaces Config.Interval for this target
	// (at least 1s).
	Interval time.Duration `json:"interval,omitempty"`
}

// Validate checks the target: App and Container set, an absolute http or
// https URL with a host, an interval of 0 or at least 1s.
func (t Target) Validate() error {
	var errs []error
	if t.App == "" {
		errs = append(errs, errors.New("app: required"))
	}
	if t.Container == "" {
		errs = append(errs, errors.New("container: required"))
	}
	if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("url: %q: want an absolute http or https URL such as http://172.17.0.3:8080/metrics", t.URL))
	}
	if t.Interval != 0 && t.Interval < MinInterval {
		errs = append(errs, fmt.Errorf("interval: %s: want 0 (the scraper's) or at least %s", t.Interval, MinInterval))
	}
	return errors.Join(errs...)
}

// TargetStatus is what a scraper knows of one target.
type TargetStatus struct {
	Target
	// LastScrape is when the last scrape started; zero before the first.
	LastScrape time.Time `json:"last_scrape"`
	// LastSuccess is when the samples kept were scraped; zero when none
	// are kept (never scraped, or dropped as stale).
	LastSuccess time.Time `json:"last_success"`
	// Duration is how long the last scrape took.
	Duration time.Duration `json:"duration"`
	// Samples counts the samples kept (a histogram or summary counts one).
	Samples int `json:"samples"`
	// Err is the last scrape's error, nil when it succeeded.
	Err error `json:"-"`
	// Error is Err's text, for JSON.
	Error string `json:"error,omitempty"`
}

// Option configures optional collaborators of a Scraper.
type Option func(*Scraper)

// WithHTTPClient scrapes with hc instead of a client built from the
// configuration (its Timeout should be 0: the scraper bounds each scrape).
func WithHTTPClient(hc *http.Client) Option { return func(s *Scraper) { s.client = hc } }

// WithLogger logs scrape failures at debug level and target changes at
// info; default silent.
func WithLogger(l *slog.Logger) Option { return func(s *Scraper) { s.log = l } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(s *Scraper) { s.now = now } }

// Scraper scrapes targets and keeps their last samples. Its methods are
// safe for concurrent use.
type Scraper struct {
	cfg    Config
	client *http.Client
	log    *slog.Logger
	now    func() time.Time
	sem    chan struct{}

	mu      sync.Mutex
	targets map[targetKey]*targetState
	wake    chan struct{} // SetTargets tells Run to look again
}

type targetKey struct{ app, container string }

type targetState struct {
	t        Target
	fams     []*dto.MetricFamily // labelled with app and container, timestamps cleared
	samples  int
	good     time.Time // when fams were scraped
	last     time.Time // when the last scrape started
	duration time.Duration
	err      error
	next     time.Time // when the next scrape is due
	running  bool
}

// interval is the target's scrape interval.
func (st *targetState) interval(cfg Config) time.Duration { return cmp.Or(st.t.Interval, cfg.Interval) }

// New returns a scraper with no targets.
func New(cfg Config, opts ...Option) (*Scraper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Scraper{cfg: cfg, log: slog.New(slog.DiscardHandler), now: time.Now, targets: map[targetKey]*targetState{}, wake: make(chan struct{}, 1)}
	for _, o := range opts {
		o(s)
	}
	if s.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 2
		tr.DisableCompression = false
		if cfg.InsecureSkipVerify {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by the configuration
		}
		s.client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	s.sem = make(chan struct{}, cfg.MaxConcurrent)
	return s, nil
}

// Config returns the configuration in use, defaults filled in.
func (s *Scraper) Config() Config { return s.cfg }

// SetTargets replaces the targets. A target that stays (same App and
// Container) keeps its samples, status and schedule, even when its URL or
// interval changed; a new one is due at once; a removed one is forgotten
// with its samples. An invalid target, or a second one with the same App
// and Container, is left out and reported in the joined error (prefixed
// "targets[i]"); the others are set.
func (s *Scraper) SetTargets(ts []Target) error {
	var errs []error
	seen := make(map[targetKey]int, len(ts))
	keep := make([]Target, 0, len(ts))
	for i, t := range ts {
		if err := t.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("targets[%d] (%s/%s): %w", i, t.App, t.Container, err))
			continue
		}
		k := targetKey{t.App, t.Container}
		if j, dup := seen[k]; dup {
			errs = append(errs, fmt.Errorf("targets[%d]: app %q container %q is also targets[%d]", i, t.App, t.Container, j))
			continue
		}
		seen[k] = i
		keep = append(keep, t)
	}
	s.mu.Lock()
	added, removed := 0, 0
	for k := range s.targets {
		if _, ok := seen[k]; !ok {
			delete(s.targets, k)
			removed++
		}
	}
	now := s.now()
	for _, t := range keep {
		k := targetKey{t.App, t.Container}
		if st, ok := s.targets[k]; ok {
			st.t = t
			continue
		}
		s.targets[k] = &targetState{t: t, next: now}
		added++
	}
	s.mu.Unlock()
	if added+removed > 0 {
		s.log.Info("metering targets changed", "added", added, "removed", removed, "targets", len(keep))
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return errors.Join(errs...)
}

// Targets returns the targets, sorted by App and Container.
func (s *Scraper) Targets() []Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Target, 0, len(s.targets))
	for _, st := range s.targets {
		out = append(out, st.t)
	}
	slices.SortFunc(out, func(a, b Target) int { return cmp.Or(cmp.Compare(a.App, b.App), cmp.Compare(a.Container, b.Container)) })
	return out
}

// Apps returns the names of the applications that have targets, sorted.
func (s *Scraper) Apps() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appsLocked()
}

func (s *Scraper) appsLocked() []string {
	var apps []string
	for k := range s.targets {
		apps = append(apps, k.app)
	}
	slices.Sort(apps)
	return slices.Compact(apps)
}

// Status returns every target's status, sorted by App and Container.
func (s *Scraper) Status() []TargetStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]TargetStatus, 0, len(s.targets))
	for _, st := range s.targets {
		s.expireLocked(st, now)
		ts := TargetStatus{Target: st.t, LastScrape: st.last, LastSuccess: st.good, Duration: st.duration, Samples: st.samples, Err: st.err}
		if st.err != nil {
			ts.Error = st.err.Error()
		}
		out = append(out, ts)
	}
	slices.SortFunc(out, func(a, b TargetStatus) int {
		return cmp.Or(cmp.Compare(a.App, b.App), cmp.Compare(a.Container, b.Container))
	})
	return out
}

// expireLocked drops the samples of a target last scraped successfully
// more than StaleAfter intervals ago.
func (s *Scraper) expireLocked(st *targetState, now time.Time) {
	if st.fams != nil && now.Sub(st.good) > StaleAfter*st.interval(s.cfg) {
		st.fams, st.samples, st.good = nil, 0, time.Time{}
	}
}

// ScrapeAll scrapes every target once, now, at most MaxConcurrent at a
// time, and waits for them (a target whose scrape is already in flight
// from Run is skipped). It returns the failures joined, each naming its
// application, container and URL; a cancelled ctx ends it early with the
// scrapes not started reported as such.
func (s *Scraper) ScrapeAll(ctx context.Context) error {
	s.mu.Lock()
	var due []*targetState
	for _, st := range s.targets {
		if !st.running {
			st.running = true
			due = append(due, st)
		}
	}
	s.mu.Unlock()
	errs := make([]error, len(due))
	var wg sync.WaitGroup
	for i, st := range due {
		wg.Go(func() { errs[i] = s.scrape(ctx, st) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Run scrapes every target on its interval until ctx ends; it returns
// nil then, after the scrapes in flight have ended. When discover is not
// nil it is called at once and then every Config.Interval, and the targets
// it returns replace the scraper's (with an error as well, the targets it
// did return are used and the error is logged at warn level: a failing
// engine leaves its former targets in place only when it returns none and
// an error).
func (s *Scraper) Run(ctx context.Context, discover func(context.Context) ([]Target, error)) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	nextDiscover := s.now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := s.now()
		if discover != nil && !now.Before(nextDiscover) {
			ts, err := discover(ctx)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				s.log.Warn("metering: discovering targets", "err", err)
			}
			if err == nil || len(ts) > 0 {
				if err := s.SetTargets(ts); err != nil {
					s.log.Warn("metering: targets left out", "err", err)
				}
			}
			nextDiscover = now.Add(s.cfg.Interval)
		}
		wait := time.Duration(-1)
		if discover != nil {
			wait = nextDiscover.Sub(now)
		}
		s.mu.Lock()
		for _, st := range s.targets {
			if st.running {
				continue
			}
			if !now.Before(st.next) {
				st.running = true
				st.next = now.Add(st.interval(s.cfg))
				wg.Go(func() { _ = s.scrape(ctx, st) })
			}
			if d := st.next.Sub(now); wait < 0 || d < wait {
				wait = d
			}
		}
		s.mu.Unlock()
		if wait < 0 {
			wait = s.cfg.Interval
		}
		timer.Reset(max(wait, 10*time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-s.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}
}

// scrape scrapes one target (marked running by the caller) and records
// the outcome; it returns the failure, named.
func (s *Scraper) scrape(ctx context.Context, st *targetState) error {
	s.mu.Lock()
	t := st.t
	s.mu.Unlock()
	var (
		fams    []*dto.MetricFamily
		err     error
		start   = s.now()
		elapsed time.Duration
	)
	select {
	case s.sem <- struct{}{}:
		start = s.now()
		fams, err = s.fetch(ctx, t)
		elapsed = s.now().Sub(start)
		<-s.sem
	case <-ctx.Done():
		err = fmt.Errorf("not scraped: %w", context.Cause(ctx))
	}
	if err == nil {
		label(fams, t)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.running = false
	st.last, st.duration = start, elapsed
	if err != nil {
		err = fmt.Errorf("%s/%s: scrape %s: %w", t.App, t.Container, t.URL, err)
		st.err = err
		s.expireLocked(st, s.now())
		s.log.Debug("metering: scrape failed", "app", t.App, "container", t.Container, "err", err)
		return err
	}
	st.err, st.fams, st.good = nil, fams, start
	st.samples = 0
	for _, f := range fams {
		st.samples += len(f.Metric)
	}
	return nil
}

// fetch GETs the target and parses its body.
func (s *Scraper) fetch(ctx context.Context, t Target) ([]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, s.cfg.Timeout, fmt.Errorf("timed out after %s (metering timeout): %w", s.cfg.Timeout, context.DeadlineExceeded))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", acceptHeader)
	req.Header.Set("User-Agent", "minato-metering")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(s.cfg.Timeout.Seconds(), 'f', -1, 64))
	resp, err := s.client.Do(req)
	if err != nil {
		if c := context.Cause(ctx); c != nil && ctx.Err() != nil {
			return nil, c
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("HTTP status %s: want 200 OK", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxBytes+1))
	if err != nil {
		if c := context.Cause(ctx); c != nil && ctx.Err() != nil {
			return nil, c
		}
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	if int64(len(body)) > s.cfg.MaxBytes {
		return nil, fmt.Errorf("body larger than %d bytes (metering max_bytes)", s.cfg.MaxBytes)
	}
	return Parse(body, resp.Header.Get("Content-Type"))
}
