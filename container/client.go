package container

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/client"
)

// Client is minato's door to one Docker Engine. It is safe for concurrent
// use; create it with [New] and release it with [Client.Close].
//
// Every method takes a context first. Calls that return promptly are also
// bounded by [Config.Timeout]; streaming calls only by their context.
// Errors keep the class the Docker client gives them (containerd errdefs:
// cerrdefs.IsNotFound, IsConflict, ...), and an engine that cannot be
// reached yields an error matching [ErrUnreachable].
type Client struct {
	api engineAPI
	// negotiate says the API version is negotiated on first use; once
	// makes that happen exactly once (see ready).
	negotiate bool
	once      sync.Once
	cfg       Config
	log       *slog.Logger
	procDir   string
}

// Option configures optional collaborators of a Client.
type Option func(*options)

type options struct {
	log     *slog.Logger
	httpc   *http.Client
	api     engineAPI
	procDir string
}

// WithLogger sets the logger for debug-level traces of engine calls. The
// default discards everything. Secrets (environment values, registry
// credentials) are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithHTTPClient makes the Client use hc for every request, for example to
// add a RoundTripper in tests. TLS settings in Config are then ignored: hc
// is used as given.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) { o.httpc = hc }
}

// withProcDir makes host-side exec killing look for processes under dir
// instead of /proc; tests only.
func withProcDir(dir string) Option {
	return func(o *options) { o.procDir = dir }
}

// withEngineAPI replaces the whole Docker client; tests only.
func withEngineAPI(api engineAPI) Option {
	return func(o *options) { o.api = api }
}

// New returns a Client for the engine cfg describes. It validates cfg and
// builds the HTTP transport; it does not contact the engine (the first call
// does, negotiating the API version unless Config.APIVersion pins one), so
// an unreachable engine is reported by the first call, not by New.
func New(cfg Config, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("container: invalid config: %w", err)
	}
	o := options{log: slog.New(slog.DiscardHandler), procDir: "/proc"}
	for _, opt := range opts {
		opt(&o)
	}
	c := &Client{cfg: cfg, log: o.log, procDir: o.procDir, api: o.api}
	if c.api != nil {
		return c, nil
	}
	copts := []client.Opt{client.WithHost(cfg.host())}
	if cfg.APIVersion != "" {
		copts = append(copts, client.WithVersion(strings.TrimPrefix(cfg.APIVersion, "v")))
	} else {
		copts = append(copts, client.WithAPIVersionNegotiation())
	}
	if o.httpc != nil {
		copts = append(copts, client.WithHTTPClient(o.httpc))
	} else if t := cfg.TLS; t != nil && !cfg.localSocket() {
		hc, err := tlsHTTPClient(t)
		if err != nil {
			return nil, err
		}
		copts = append(copts, client.WithHTTPClient(hc), client.WithScheme("https"))
	}
	api, err := client.NewClientWithOpts(copts...)
	if err != nil {
		return nil, fmt.Errorf("container: %s: %w", cfg.host(), err)
	}
	c.api = api
	c.negotiate = cfg.APIVersion == ""
	return c, nil
}

// Close releases the Client's idle connections. Calls in flight are not
// interrupted; cancel their contexts for that.
func (c *Client) Close() error {
	return c.api.Close()
}

// Host returns the engine endpoint the Client talks to, as it appears in
// [inventory.Target.Engine] for the containers it lists.
func (c *Client) Host() string {
	return c.cfg.host()
}

// local reports whether the engine is on this machine (a unix socket), so
// that its process IDs are this machine's.
func (c *Client) local() bool {
	return strings.HasPrefix(c.cfg.host(), "unix://")
}

// Local reports whether the engine is reached through a unix socket, that
// is, whether it runs on this machine and its host PIDs and cgroups are
// this machine's. (An engine in another PID namespace still counts as
// local here; callers that read /proc verify what they find.)
func (c *Client) Local() bool { return c.local() }

// ready negotiates the API version once, before the first request. The
// Docker client would otherwise negotiate inside whichever requests come
// first, and concurrent first requests race on its version field (moby
// #43729): negotiating here, once, keeps the Client safe for concurrent
// use from its first call. A failed negotiation (engine down) is retried
// by the Docker client on later requests.
func (c *Client) ready(ctx context.Context) {
	if c.negotiate {
		c.once.Do(func() {
			nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.timeout()+time.Second)
			defer cancel()
			c.api.NegotiateAPIVersion(nctx)
		})
	}
}

// withTimeout bounds ctx by Config.Timeout plus extra, after ready.
func (c *Client) withTimeout(ctx context.Context, extra time.Duration) (context.Context, context.CancelFunc) {
	c.ready(ctx)
	d := c.cfg.timeout()
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d+extra)
}

// PingResult is what the engine's /_ping endpoint reports.
type PingResult struct {
	// APIVersion is the highest API version the engine supports.
	APIVersion string
	// OSType is "linux" or "windows".
	OSType string
	// SwarmNode says whether the engine is part of a swarm, as reported by
	// the Swarm header; empty when unknown.
	SwarmNode string
}

// Ping asks the engine whether it is up. An error means it is not
// reachable or not healthy; it matches [ErrUnreachable] when no connection
// could be made.
func (c *Client) Ping(ctx context.Context) (PingResult, error) {
	// /_ping is not versioned: no negotiation needed first.
	cancel := func() {}
	if d := c.cfg.timeout(); d > 0 {
		ctx, cancel = context.WithTimeout(ctx, d)
	}
	defer cancel()
	p, err := c.api.Ping(ctx)
	if err != nil {
		return PingResult{}, c.wrap("ping", "", err)
	}
	r := PingResult{APIVersion: p.APIVersion, OSType: p.OSType}
	if p.SwarmStatus != nil {
		r.SwarmNode = string(p.SwarmStatus.NodeState)
	}
	return r, nil
}

// APIVersion returns the API version in use: the pinned one, or the
// negotiated one after the first call.
func (c *Client) APIVersion() string {
	return c.api.ClientVersion()
}
