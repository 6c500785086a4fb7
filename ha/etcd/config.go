package etcd

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of [Config].
const (
	// DefaultPrefix is put before every key the Lease holds.
	DefaultPrefix = "minato/ha/"
	// DefaultDialTimeout bounds connecting (and, with a username,
	// authenticating) in New.
	DefaultDialTimeout = 5 * time.Second
	// DefaultRequestTimeout bounds each request a method makes when the
	// caller's context has no earlier deadline.
	DefaultRequestTimeout = 5 * time.Second
)

// Config says which etcd cluster a [Lease] uses and how it
// authenticates. It is plain data with json tags; zero fields mean their
// defaults. Files are read by [New].
type Config struct {
	// Endpoints are the cluster's client URLs: "https://10.0.0.5:2379",
	// "http://127.0.0.1:2379" or "10.0.0.5:2379" (plain, or TLS when
	// TLS files are given). All must use the same scheme. Required.
	Endpoints []string `json:"endpoints"`
	// Prefix is put before every key, so that several applications can
	// share a cluster. Default "minato/ha/".
	Prefix string `json:"prefix,omitempty"`
	// DialTimeout bounds New's connecting and, with Username set, its
	// authentication. Default 5 s.
	DialTimeout time.Duration `json:"dial_timeout,omitempty"`
	// RequestTimeout bounds every call of the Lease's methods, in
	// addition to the caller's context. Default 5 s.
	RequestTimeout time.Duration `json:"request_timeout,omitempty"`
	// CAFile is a PEM file of the certificate authorities that sign the
	// servers' certificates. Default, for https endpoints: the system's
	// roots.
	CAFile string `json:"ca_file,omitempty"`
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// a cluster started with --client-cert-auth. Both or neither.
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	// Username and PasswordFile authenticate with etcd's role-based
	// access control. The file holds the password alone (a final line
	// break is ignored); the password is never logged. Both or neither.
	Username     string `json:"username,omitempty"`
	PasswordFile string `json:"password_file,omitempty"`
}

// DefaultConfig returns the defaults: prefix "minato/ha/", 5 s to
// connect, 5 s per request, no TLS files, no user. Endpoints is empty and
// must be set.
func DefaultConfig() Config {
	return Config{Prefix: DefaultPrefix, DialTimeout: DefaultDialTimeout, RequestTimeout: DefaultRequestTimeout}
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	return c
}

// tlsFiles reports whether a TLS file is configured.
func (c Config) tlsFiles() bool { return c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" }

// Validate checks the configuration and returns every problem found,
// joined, each naming the field by its json name. It reads no file.
func (c Config) Validate() error {
	var errs []error
	if len(c.Endpoints) == 0 {
		errs = append(errs, errors.New(`endpoints: none; want the cluster's client URLs, such as ["https://10.0.0.5:2379"]`))
	}
	schemes := map[string]bool{}
	for i, ep := range c.Endpoints {
		scheme, err := checkEndpoint(ep)
		if err != nil {
			errs = append(errs, fmt.Errorf("endpoints[%d]: %w", i, err))
			continue
		}
		schemes[scheme] = true
	}
	if len(schemes) > 1 {
		errs = append(errs, errors.New("endpoints: mixed http://, https:// and bare host:port; want one scheme for all"))
	}
	if schemes["http"] && c.tlsFiles() {
		errs = append(errs, errors.New("endpoints: http:// with ca_file, cert_file or key_file; want https:// endpoints (or bare host:port) for TLS"))
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, errors.New("cert_file and key_file: only one is set; want both (a client certificate and its key) or neither"))
	}
	if (c.Username == "") != (c.PasswordFile == "") {
		errs = append(errs, errors.New("username and password_file: only one is set; want both or neither"))
	}
	if c.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("dial_timeout %s: want a positive duration, or 0 for the default %s", c.DialTimeout, DefaultDialTimeout))
	}
	if c.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("request_timeout %s: want a positive duration, or 0 for the default %s", c.RequestTimeout, DefaultRequestTimeout))
	}
	return errors.Join(errs...)
}

// checkEndpoint checks one endpoint and returns its scheme ("http",
// "https", or "" for a bare host:port).
func checkEndpoint(ep string) (string, error) {
	const want = `want "https://host:port", "http://host:port" or "host:port"`
	if ep == "" {
		return "", errors.New("empty; " + want)
	}
	hostport, scheme := ep, ""
	if strings.Contains(ep, "://") {
		u, err := url.Parse(ep)
		if err != nil || u.User != nil {
			return "", fmt.Errorf("not a URL without user info; %s", want)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return "", fmt.Errorf("scheme %q; %s", u.Scheme, want)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return "", fmt.Errorf("%q has a path or query; %s", ep, want)
		}
		hostport, scheme = u.Host, u.Scheme
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || host == "" {
		return "", fmt.Errorf("%q: no host:port; %s", ep, want)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q: port %q is not 1-65535; %s", ep, port, want)
	}
	return scheme, nil
}
