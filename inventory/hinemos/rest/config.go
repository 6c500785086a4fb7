package rest

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/minato-ops/minato/inventory"
)

// Defaults of [Config].
const (
	// DefaultUser is the Hinemos login the Hinemos Docker repository
	// scripts use.
	DefaultUser = "hinemos"
	// DefaultOwnerRoleID is the owner role given to the nodes and scopes
	// the client creates: ALL_USERS, the Hinemos client's default.
	DefaultOwnerRoleID = "ALL_USERS"
	// DefaultTimeout bounds each HTTP request to the manager.
	DefaultTimeout = 30 * time.Second
)

// apiPath is where a Hinemos 7 manager publishes its REST API, below the
// address it listens on (the manager property rest.client.address).
const apiPath = "/HinemosWeb/api"

// Config says which Hinemos manager a [Client] talks to and as whom. It is
// plain data with json tags, decoded from a configuration file or built by
// hand; start from [DefaultConfig]. Zero User, OwnerRoleID and Timeout
// also mean their defaults.
type Config struct {
	// URL is the manager's address, "http://host:8080" or
	// "https://host:8443", as typed in the Hinemos client's login dialog:
	// a trailing "/HinemosWeb/" or "/HinemosWeb/api" is accepted and
	// ignored. It must not hold a user, password, query or fragment.
	// Required.
	URL string `json:"url"`
	// User is the Hinemos login. It needs the Repository privileges
	// read, add and modify. Default "hinemos".
	User string `json:"user,omitempty"`
	// PasswordFile is the file holding the password, alone on its first
	// line (a trailing newline is ignored). It is read at each login, so
	// that a rotated password is picked up, and never logged nor put in
	// an error. Required.
	PasswordFile string `json:"password_file"`
	// CAFile is a PEM bundle of the CA certificates that sign an https
	// manager's certificate; empty means the system's roots.
	CAFile string `json:"ca_file,omitempty"`
	// InsecureSkipVerify disables the verification of an https manager's
	// certificate. Off by default; never turn it on outside a test bed.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`
	// Timeout bounds each HTTP request, from connecting to reading the
	// whole answer. Default 30 s.
	Timeout time.Duration `json:"timeout,omitempty"`
	// OwnerRoleID is the owner role of the nodes and scopes the client
	// creates; the roles of existing ones are kept. The user must belong
	// to it. Default "ALL_USERS".
	OwnerRoleID string `json:"owner_role_id,omitempty"`
}

// DefaultConfig returns the defaults: user "hinemos", owner role
// ALL_USERS, 30 s per request, certificates verified against the system's
// roots. URL and PasswordFile are empty and must be set.
func DefaultConfig() Config {
	return Config{User: DefaultUser, OwnerRoleID: DefaultOwnerRoleID, Timeout: DefaultTimeout}
}

// Validate checks the Config and returns every problem found, joined, each
// naming the field by its json name. It does not read the files.
func (c Config) Validate() error {
	var errs []error
	if _, err := baseURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	if strings.ContainsAny(c.User, "\r\n\x00") {
		errs = append(errs, errors.New("user: contains a line break or NUL; want a Hinemos user ID such as hinemos"))
	}
	if c.PasswordFile == "" {
		errs = append(errs, errors.New("password_file: empty; want the path of a file holding the Hinemos password"))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s: want a positive duration, or 0 for the default %s", c.Timeout, DefaultTimeout))
	}
	if c.OwnerRoleID != "" {
		if err := inventory.ValidFacilityID(c.OwnerRoleID); err != nil {
			errs = append(errs, fmt.Errorf("owner_role_id %q: want a Hinemos role ID such as ALL_USERS (letters, digits, -, _, . and @)", c.OwnerRoleID))
		}
	}
	return errors.Join(errs...)
}

// withDefaults fills the zero fields that have defaults.
func (c Config) withDefaults() Config {
	if c.User == "" {
		c.User = DefaultUser
	}
	if c.OwnerRoleID == "" {
		c.OwnerRoleID = DefaultOwnerRoleID
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// baseURL parses Config.URL into the manager's address without the API
// path and without a trailing slash: "https://host:8443" or, behind a
// reverse proxy, "https://host/prefix".
func baseURL(raw string) (*url.URL, error) {
	const want = `want the manager's http:// or https:// address, such as "https://hinemos.example.com:8443"`
	if raw == "" {
		return nil, errors.New("url: empty; " + want)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a password
		}
		return nil, fmt.Errorf("url: cannot be parsed (%v); %s", err, want)
	}
	switch u.Scheme {
	case "http", "https":
	default:
		return nil, fmt.Errorf("url scheme %q: %s", u.Scheme, want)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("url %q: the host is empty; %s", u.Scheme+"://"+u.Host, want)
	}
	if u.User != nil {
		return nil, fmt.Errorf("url %q: holds a user or password; give them in user and password_file", u.Scheme+"://"+u.Host)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, fmt.Errorf("url %q: has a query or fragment; %s", u.Scheme+"://"+u.Host, want)
	}
	p := strings.TrimRight(u.Path, "/")
	if q, ok := strings.CutSuffix(p, apiPath); ok {
		p = q
	} else {
		p = strings.TrimSuffix(p, "/HinemosWeb")
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host, Path: p}, nil
}
