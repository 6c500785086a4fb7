package webhook

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults of [Config].
const (
	DefaultTimeout    = 5 * time.Second
	DefaultRetries    = 5
	DefaultBackoff    = 500 * time.Millisecond
	DefaultBufferSize = 1024
)

// MaxBackoff caps the delay between two attempts, whether it comes from
// the doubling of [Config.Backoff] or from a 429 response's Retry-After.
const MaxBackoff = 30 * time.Second

// NoRetries is the [Config.Retries] value that disables retrying: a POST
// that fails is dropped at once.
const NoRetries = -1

// managedHeaders are the headers the Sender or net/http sets itself; a
// [Config.Headers] entry for one of them is refused by Validate.
var managedHeaders = []string{"Connection", "Content-Length", "Content-Type", "Host", "Transfer-Encoding"}

// Config says where and how a [Sender] posts. It is plain data with json
// tags so that it can be decoded from a configuration file. Start from
// [DefaultConfig]; in a Config built by hand, zero Timeout, Retries,
// Backoff and BufferSize also mean their defaults.
//
// There is deliberately no option to skip TLS certificate verification:
// https URLs are verified against the system's roots. To trust a private
// CA, give New an [http.Client] whose transport has it ([WithHTTPClient]).
type Config struct {
	// URL is the http:// or https:// endpoint that receives the POSTs.
	// Required. Webhook URLs often carry a secret in their path or query
	// (Slack's do), so only the scheme and host are ever logged or put in
	// errors.
	URL string `json:"url"`
	// Headers are added to every POST, such as "Authorization". Their
	// values are never logged nor put in errors. Content-Type (always
	// application/json) and the headers net/http manages (Host,
	// Content-Length, Transfer-Encoding, Connection) cannot be set; a
	// User-Agent here replaces the default "minato".
	Headers map[string]string `json:"headers,omitempty"`
	// Timeout bounds each POST, from connecting to reading the response.
	// Close flushes the queue for at most twice this. Default 5 s.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Retries is how many times a POST that failed with a network error,
	// a 5xx or a 429 status is tried again before the message is dropped.
	// 0 means the default 5; -1 (NoRetries) means a single attempt.
	Retries int `json:"retries,omitempty"`
	// Backoff is the delay before the first retry; it doubles after each
	// further failure, up to MaxBackoff (30 s). Default 500 ms.
	Backoff time.Duration `json:"backoff,omitempty"`
	// BufferSize is the number of messages queued (or being posted)
	// while the receiver is slow or down; a Send beyond it fails with
	// ErrBufferFull. Default 1024.
	BufferSize int `json:"buffer_size,omitempty"`
}

// DefaultConfig returns the defaults: 5 s per POST, 5 retries starting
// 500 ms apart, 1024 queued messages. URL is empty and must be set.
func DefaultConfig() Config {
	return Config{
		Timeout:    DefaultTimeout,
		Retries:    DefaultRetries,
		Backoff:    DefaultBackoff,
		BufferSize: DefaultBufferSize,
	}
}

// Validate checks the Config and returns every problem found, joined, each
// naming the field (by its json name), the bad value and what is allowed.
// Header values are never shown, nor the URL's user info, path and query.
func (c Config) Validate() error {
	var errs []error
	c = c.withDefaults()
	if _, err := parseURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Headers)) {
		if err := checkHeader(name, c.Headers[name]); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s: want a positive duration, or 0 for the default %s", c.Timeout, DefaultTimeout))
	}
	if c.Retries < NoRetries {
		errs = append(errs, fmt.Errorf("retries %d: want 1 or more, -1 for none, or 0 for the default %d", c.Retries, DefaultRetries))
	}
	if c.Backoff < 0 || c.Backoff > MaxBackoff {
		errs = append(errs, fmt.Errorf("backoff %s: want a positive duration up to %s, or 0 for the default %s", c.Backoff, MaxBackoff, DefaultBackoff))
	}
	if c.BufferSize < 0 {
		errs = append(errs, fmt.Errorf("buffer_size %d: want 1 or more messages, or 0 for the default %d", c.BufferSize, DefaultBufferSize))
	}
	return errors.Join(errs...)
}

// parseURL checks the endpoint URL.
func parseURL(raw string) (*url.URL, error) {
	const want = `want an http:// or https:// URL, such as "https://hooks.example.com/minato"`
	if raw == "" {
		return nil, errors.New("url: empty; " + want)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a secret
		}
		return nil, fmt.Errorf("url: cannot be parsed (%v); %s", err, want)
	}
	switch u.Scheme {
	case "http", "https":
	default:
		return nil, fmt.Errorf("url scheme %q: %s", u.Scheme, want)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("url %q: the host is empty; %s", endpoint(u), want)
	}
	return u, nil
}

// checkHeader checks one Headers entry, never showing its value.
func checkHeader(name, value string) error {
	if !validToken(name) {
		return fmt.Errorf("headers %q: not a valid header name; want letters, digits and !#$%%&'*+-.^_`|~", name)
	}
	if slices.Contains(managedHeaders, http.CanonicalHeaderKey(name)) {
		return fmt.Errorf("headers %q: set by the sender (Content-Type is always application/json); want another header, such as Authorization", name)
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return fmt.Errorf("headers %q: the value (not shown) contains a line break or NUL; want a single line", name)
	}
	return nil
}

// validToken reports whether s is an RFC 9110 token, as header names are.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// endpoint is what may be shown of u: its scheme and host.
func endpoint(u *url.URL) string {
	return u.Scheme + "://" + u.Host
}

// withDefaults fills the zero fields that have defaults.
func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.BufferSize == 0 {
		c.BufferSize = DefaultBufferSize
	}
	return c
}
