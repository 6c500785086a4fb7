package image

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/client"
	"github.com/minato-ops/minato/container"
)

// Config is the image Client's configuration. The zero value is usable:
// every field has a default, applied by [DefaultConfig] and by [New].
type Config struct {
	// DockerConfig is the directory holding the docker CLI's config.json,
	// where registry credentials and credential helpers are found. "" means
	// $DOCKER_CONFIG, else ~/.docker, as the docker CLI looks.
	DockerConfig string `json:"docker_config,omitempty"`
	// CertsDir holds per-registry CA certificates for registries with a
	// private CA, as the engine reads them: <CertsDir>/<host:port>/*.crt.
	// "" means /etc/docker/certs.d. Registry calls made without the engine
	// (digests, tag lists, copies) trust these besides the system roots.
	CertsDir string `json:"certs_dir,omitempty"`
	// RegistryTimeout bounds one registry call made without the engine (a
	// HEAD for a digest, one page of a tag list). 0 means 30 s.
	RegistryTimeout time.Duration `json:"registry_timeout,omitempty"`
	// RegistryBudget is how many registry calls per minute minato makes to
	// one registry at most, whatever its RateLimit headers still allow.
	// 0 means 60. A 429 answer, or RateLimit-Remaining reaching 0, makes
	// minato wait as the registry asks (Retry-After, RateLimit-Reset)
	// within the caller's context.
	RegistryBudget int `json:"registry_budget,omitempty"`
}

// Defaults of [Config].
const (
	DefaultCertsDir        = "/etc/docker/certs.d"
	DefaultRegistryTimeout = 30 * time.Second
	DefaultRegistryBudget  = 60
)

// DefaultConfig returns the Config with every default filled in.
func DefaultConfig() Config {
	return Config{CertsDir: DefaultCertsDir, RegistryTimeout: DefaultRegistryTimeout, RegistryBudget: DefaultRegistryBudget}
}

// Validate reports every field that is out of range, joined.
func (c Config) Validate() error {
	var errs []error
	if c.RegistryTimeout < 0 {
		errs = append(errs, fmt.Errorf("registry_timeout %s: want a positive duration, or 0 for %s", c.RegistryTimeout, DefaultRegistryTimeout))
	}
	if c.RegistryBudget < 0 {
		errs = append(errs, fmt.Errorf("registry_budget %d: want calls per minute per registry, or 0 for %d", c.RegistryBudget, DefaultRegistryBudget))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.CertsDir == "" {
		c.CertsDir = d.CertsDir
	}
	if c.RegistryTimeout == 0 {
		c.RegistryTimeout = d.RegistryTimeout
	}
	if c.RegistryBudget == 0 {
		c.RegistryBudget = d.RegistryBudget
	}
	return c
}

// Client works with the images of one Docker Engine (pull, build, tag,
// push, list, remove, prune) and with registries directly (digests, tag
// lists, copies), and updates containers to new images. It is safe for
// concurrent use; create it with [New]. It shares the connections of the
// [container.Client] it is made from; closing that one closes both.
type Client struct {
	api client.APIClient
	cc  *container.Client
	cfg Config
	log *slog.Logger
	// negotiate says the API version is negotiated on first use; once
	// makes that happen exactly once (see ready).
	negotiate bool
	once      sync.Once
	// creds finds registry credentials; tests may replace it.
	creds credentialStore
	// regs holds the per-registry call budgets and transports.
	regs *registries
}

// Option configures optional collaborators of a Client.
type Option func(*Client)

// WithLogger sets the logger for debug-level traces. The default discards
// everything. Credentials are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) { c.log = l }
}

// New returns a Client for the engine cc talks to, over cc's connections.
// It does not contact the engine or any registry. cc must have been made
// for a real engine ([container.New]); a Client on a fake engine is
// refused.
func New(cc *container.Client, cfg Config, opts ...Option) (*Client, error) {
	if cc == nil {
		return nil, errors.New("image: a container.Client is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("image: invalid config: %w", err)
	}
	e := cc.Engine()
	if e.HTTPClient == nil {
		return nil, fmt.Errorf("image: the container client for %s has no HTTP transport (a fake engine?)", e.Host)
	}
	copts := []client.Opt{client.WithHost(e.Host), client.WithHTTPClient(e.HTTPClient), client.WithScheme(e.Scheme)}
	if e.APIVersion != "" {
		copts = append(copts, client.WithVersion(strings.TrimPrefix(e.APIVersion, "v")))
	} else {
		copts = append(copts, client.WithAPIVersionNegotiation())
	}
	api, err := client.NewClientWithOpts(copts...)
	if err != nil {
		return nil, fmt.Errorf("image: %s: %w", e.Host, err)
	}
	c := &Client{api: api, cc: cc, cfg: cfg.withDefaults(), log: slog.New(slog.DiscardHandler), negotiate: e.APIVersion == ""}
	for _, o := range opts {
		o(c)
	}
	if c.creds == nil {
		c.creds = newCredentialStore(c.cfg.DockerConfig)
	}
	c.regs = newRegistries(c.cfg, c.creds, c.log)
	return c, nil
}

// Host returns the engine endpoint the Client talks to.
func (c *Client) Host() string { return c.cc.Host() }

// ready negotiates the API version once, before the first engine request
// (see container.Client's ready for why once).
func (c *Client) ready(ctx context.Context) {
	if c.negotiate {
		c.once.Do(func() {
			nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			c.api.NegotiateAPIVersion(nctx)
		})
	}
}
