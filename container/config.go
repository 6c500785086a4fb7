package container

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultHost is the engine endpoint used when neither [Config.Host] nor
// DOCKER_HOST is set: the local engine's unix socket.
const DefaultHost = "unix:///var/run/docker.sock"

// DefaultTimeout is the default per-call timeout for calls that return
// promptly (list, inspect, top, start, ...). See [Config.Timeout].
const DefaultTimeout = 30 * time.Second

// DefaultPort is the Engine API's plain-TCP port, the default of the Hinemos
// Docker scripts' -p.
const DefaultPort = 2375

// Config says how to reach one Docker Engine. It is plain data with json
// tags so that it can be decoded from a configuration file; the zero value
// plus [Config.Validate] is usable, and [ConfigFromEnv] reads the variables
// Docker users already set.
type Config struct {
	// Host is the engine endpoint: "unix:///var/run/docker.sock",
	// "tcp://10.0.0.5:2375", "npipe:////./pipe/docker_engine". Empty means
	// DefaultHost.
	Host string `json:"host,omitempty"`
	// APIVersion pins the Engine API version ("1.41"). Empty (the default)
	// negotiates the highest version both the client and the engine
	// support on the first call.
	APIVersion string `json:"api_version,omitempty"`
	// TLS, when set, makes tcp:// connections use TLS with these files.
	// It is ignored for unix:// and npipe:// hosts, which are local sockets.
	TLS *TLSConfig `json:"tls,omitempty"`
	// Timeout bounds each call that is expected to return promptly (list,
	// inspect, top, start, remove, one-shot stats). Stop and restart get
	// Timeout plus their grace period. Streaming calls (exec, copy, events)
	// are bounded only by their context and their own options. Zero means
	// DefaultTimeout (30 s); a negative value disables the bound.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// TLSConfig names the PEM files for a TLS connection to the engine, the way
// DOCKER_CERT_PATH does (ca.pem, cert.pem, key.pem).
type TLSConfig struct {
	// CAFile is the CA bundle that signs the engine's certificate; empty
	// means the system roots.
	CAFile string `json:"ca_file,omitempty"`
	// CertFile and KeyFile are the client certificate and key; both or
	// neither.
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	// InsecureSkipVerify disables server certificate verification. It
	// exists for DOCKER_TLS_VERIFY unset with DOCKER_CERT_PATH set, as the
	// docker CLI does; never set it for production use.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`
}

// DefaultConfig returns the Config for the local engine: DefaultHost,
// negotiated API version, DefaultTimeout.
func DefaultConfig() Config {
	return Config{Host: DefaultHost, Timeout: DefaultTimeout}
}

// ConfigFromEnv returns DefaultConfig overridden by the docker CLI's
// variables: DOCKER_HOST, DOCKER_API_VERSION, and for tcp:// hosts
// DOCKER_CERT_PATH with DOCKER_TLS_VERIFY (ca.pem, cert.pem and key.pem in
// that directory, ~/.docker when only DOCKER_TLS_VERIFY is set;
// verification on unless DOCKER_TLS_VERIFY is empty). getenv is usually
// os.Getenv; nil means os.Getenv.
func ConfigFromEnv(getenv func(string) string) Config {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := DefaultConfig()
	if h := getenv("DOCKER_HOST"); h != "" {
		c.Host = h
	}
	c.APIVersion = getenv("DOCKER_API_VERSION")
	verify := getenv("DOCKER_TLS_VERIFY") != ""
	certPath := getenv("DOCKER_CERT_PATH")
	if verify && certPath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			certPath = filepath.Join(home, ".docker")
		}
	}
	// Local sockets never use TLS, so their Config carries none (and
	// Validate does not ask for files that are not needed).
	if certPath != "" && !c.localSocket() {
		c.TLS = &TLSConfig{
			CAFile:             filepath.Join(certPath, "ca.pem"),
			CertFile:           filepath.Join(certPath, "cert.pem"),
			KeyFile:            filepath.Join(certPath, "key.pem"),
			InsecureSkipVerify: !verify,
		}
	}
	return c
}

// TCPHost returns the tcp:// endpoint for the Hinemos scripts' -i ADDRESS -p PORT
// options; port 0 means DefaultPort. IPv6 addresses are bracketed.
func TCPHost(address string, port int) string {
	if port == 0 {
		port = DefaultPort
	}
	if strings.Contains(address, ":") && !strings.HasPrefix(address, "[") {
		address = "[" + address + "]"
	}
	return fmt.Sprintf("tcp://%s:%d", address, port)
}

// Validate checks the Config and returns every problem found, joined, each
// naming the field, the bad value and what is allowed. It reads no file:
// [New] reports TLS files it cannot read.
func (c Config) Validate() error {
	var errs []error
	host := c.Host
	if host == "" {
		host = DefaultHost
	}
	u, err := url.Parse(host)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("host %q: %v", host, err))
	case u.Scheme != "unix" && u.Scheme != "tcp" && u.Scheme != "npipe" && u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("host %q: scheme %q is not supported: use unix://PATH, tcp://HOST:PORT, npipe://PATH", host, u.Scheme))
	case u.Scheme == "tcp" && u.Port() == "":
		errs = append(errs, fmt.Errorf("host %q: tcp:// needs a port (tcp://HOST:%d, or :2376 with TLS)", host, DefaultPort))
	case (u.Scheme == "unix" || u.Scheme == "npipe") && u.Path == "":
		errs = append(errs, fmt.Errorf("host %q: %s:// needs a socket path", host, u.Scheme))
	}
	if c.APIVersion != "" && !validAPIVersion(c.APIVersion) {
		errs = append(errs, fmt.Errorf("api_version %q: want MAJOR.MINOR such as 1.41, or empty to negotiate", c.APIVersion))
	}
	if t := c.TLS; t != nil {
		if (t.CertFile == "") != (t.KeyFile == "") {
			errs = append(errs, fmt.Errorf("tls: cert_file %q and key_file %q go together: give both or neither", t.CertFile, t.KeyFile))
		}
	}
	return errors.Join(errs...)
}

func validAPIVersion(v string) bool {
	major, minor, ok := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	return ok && isDigits(major) && isDigits(minor)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (c Config) host() string {
	if c.Host == "" {
		return DefaultHost
	}
	return c.Host
}

// localSocket reports whether Host is a unix socket or a named pipe, which
// never use TLS.
func (c Config) localSocket() bool {
	h := c.host()
	return strings.HasPrefix(h, "unix://") || strings.HasPrefix(h, "npipe://")
}

func (c Config) timeout() time.Duration {
	switch {
	case c.Timeout == 0:
		return DefaultTimeout
	case c.Timeout < 0:
		return 0
	}
	return c.Timeout
}
