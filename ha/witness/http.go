package witness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minato-ops/minato/ha"
)

// DefaultTimeout is how long a probe waits for its answer when the
// Config does not say: 5 seconds, for [HTTPConfig] and [PingConfig].
const DefaultTimeout = 5 * time.Second

// maxDrain bounds what is read of a response body (a HEAD answer has
// none; a misbehaving server may send one anyway).
const maxDrain = 4 << 10

// maxHeaderBytes bounds the response headers a target may send.
const maxHeaderBytes = 64 << 10

// HTTPConfig configures an [HTTPWitness]: CLUSTERPRO's HTTP network
// partition resolution, a HEAD request to a target both nodes can reach,
// healthy only when it answers 200. It is plain data with json tags; zero
// fields mean their defaults.
type HTTPConfig struct {
	// Target is the URL asked, such as "https://aws.amazon.com/" (the
	// target CLUSTERPRO's AWS guide uses). Without a scheme it is an
	// https URL: "aws.amazon.com" and "aws.amazon.com:443" mean
	// "https://aws.amazon.com/" and "https://aws.amazon.com:443/" (TLS
	// on, as in CLUSTERPRO's default). "http://" turns TLS off. User info
	// in the URL is sent as basic authentication and never shown in logs
	// or errors; nor is the query. Required.
	Target string `json:"target"`
	// Timeout bounds a probe, from resolving the host to the status line.
	// Default 5 s ([DefaultTimeout]). The caller's context may end it
	// sooner.
	Timeout time.Duration `json:"timeout,omitempty"`
	// CAFile is a PEM file of the certificate authorities trusted for an
	// https target instead of the system's roots (a private witness
	// server). It is read by [HTTP]. Default: the system's roots.
	CAFile string `json:"ca_file,omitempty"`
	// InsecureSkipVerify turns certificate verification off: any server
	// that answers 200 over TLS counts, including one that impersonates
	// the target. Off by default; for tests and closed networks only.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`
}

// DefaultHTTPConfig returns the defaults: a 5 s timeout, the system's
// certificate roots, verification on. Target is empty and must be set.
func DefaultHTTPConfig() HTTPConfig {
	return HTTPConfig{Timeout: DefaultTimeout}
}

// Validate checks the configuration and returns every problem found,
// joined, each naming the field by its json name. It reads no file.
func (c HTTPConfig) Validate() error {
	var errs []error
	u, err := parseTarget(c.Target)
	if err != nil {
		errs = append(errs, err)
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s: want a positive duration, or 0 for the default %s", c.Timeout, DefaultTimeout))
	}
	if c.CAFile != "" && c.InsecureSkipVerify {
		errs = append(errs, errors.New("ca_file and insecure_skip_verify: both set; want a CA file to verify with, or (for tests only) no verification"))
	}
	if u != nil && u.Scheme == "http" {
		if c.CAFile != "" {
			errs = append(errs, fmt.Errorf("ca_file: set, but target %s is plain http; want an https target", shownURL(u)))
		}
		if c.InsecureSkipVerify {
			errs = append(errs, fmt.Errorf("insecure_skip_verify: set, but target %s is plain http; want an https target", shownURL(u)))
		}
	}
	return errors.Join(errs...)
}

// parseTarget parses an HTTPConfig.Target, adding "https://" when it has
// no scheme. Errors never show the user info or the query.
func parseTarget(raw string) (*url.URL, error) {
	const want = `want an https:// or http:// URL or a host[:port], such as "https://aws.amazon.com/"`
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("target: empty; " + want)
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			// The parser's message may quote the user info.
			return nil, fmt.Errorf("target: cannot be parsed (not shown: it has user info); %s", want)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("target: cannot be parsed (%v); %s", err, want)
	}
	switch u.Scheme {
	case "https", "http":
	default:
		return nil, fmt.Errorf("target scheme %q: %s", u.Scheme, want)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("target %q: no host; %s", u.Scheme+"://", want)
	}
	if p := u.Port(); p != "" {
		if n, err := parsePort(p); err != nil || n == 0 {
			return nil, fmt.Errorf("target %s: port %q is not 1-65535; %s", u.Scheme+"://"+u.Hostname(), p, want)
		}
	}
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" && u.RawPath == "" {
		u.Path = "/"
	}
	return u, nil
}

func parsePort(p string) (int, error) {
	if len(p) > 5 {
		return 0, errors.New("too long")
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0, errors.New("too large")
	}
	return n, nil
}

// shownURL is what may be shown of u: scheme, host and path, without
// the user info and the query.
func shownURL(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return v.String()
}

// HTTPWitness is an [ha.Witness] that sends a HEAD request to a target
// and counts only a 200 answer as healthy. It is safe for concurrent use
// and holds no connection between probes.
type HTTPWitness struct {
	url     *url.URL
	shown   string
	timeout time.Duration
	client  *http.Client
	log     *slog.Logger
}

var _ ha.Witness = (*HTTPWitness)(nil)

// HTTP returns the witness cfg describes. It reads cfg.CAFile, failing
// when the file cannot be read or holds no PEM certificate; it makes no
// request.
func HTTP(cfg HTTPConfig, opts ...Option) (*HTTPWitness, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("witness: http: %w", err)
	}
	o := buildOptions(opts)
	u, _ := parseTarget(cfg.Target)
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("witness: http: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("witness: http: ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	if cfg.InsecureSkipVerify {
		tlsConf.InsecureSkipVerify = true
		o.log.Warn("witness: certificate verification is off: any server answering 200 counts as the target", "target", shownURL(u))
	}
	dialer := &net.Dialer{Timeout: timeout}
	transport := &http.Transport{
		// No proxy: the witness must prove that this node itself reaches
		// the target, not that a proxy does.
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        tlsConf,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		DisableKeepAlives:      true, // every probe proves a fresh path
		MaxResponseHeaderBytes: maxHeaderBytes,
	}
	client := &http.Client{
		Transport: transport,
		// A redirect is an answer other than 200: report it, never follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &HTTPWitness{url: u, shown: shownURL(u), timeout: timeout, client: client, log: o.log}, nil
}

// String returns "HEAD " and the target, without user info and query.
func (w *HTTPWitness) String() string { return "HEAD " + w.shown }

// Probe sends one HEAD request and returns nil when the target answers
// 200 within the timeout (and ctx). It returns an error wrapping
// [ErrStatus] for any other status, one wrapping
// [context.DeadlineExceeded] when no answer came in time, and the
// network or TLS error otherwise. At most a few KiB of a body are read.
// Errors name the target without its user info and query.
func (w *HTTPWitness) Probe(ctx context.Context) error {
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(pctx, http.MethodHead, w.url.String(), nil)
	if err != nil {
		return fmt.Errorf("witness: HEAD %s: %v", w.shown, stripURL(err))
	}
	req.Header.Set("User-Agent", "minato-witness")
	resp, err := w.client.Do(req)
	if err != nil {
		err = stripURL(err)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return fmt.Errorf("witness: HEAD %s: no answer within %s: %w", w.shown, w.timeout, context.DeadlineExceeded)
		}
		return fmt.Errorf("witness: HEAD %s: %w", w.shown, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: HEAD %s: got %d %s", ErrStatus, w.shown, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	w.log.Debug("witness: healthy", "target", w.shown, "status", resp.StatusCode, "took", time.Since(start))
	return nil
}

// stripURL returns the error a *url.Error wraps, whose text would carry
// the request URL (and with it the user info and query).
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
