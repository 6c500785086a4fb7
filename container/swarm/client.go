package swarm

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

// Labels minato puts on the services it creates and on their containers.
const (
	// LabelApp ("minato.app") is the application's name. A service without
	// it is not minato's: Apply, Scale and Delete refuse to touch it.
	LabelApp = "minato.app"
	// LabelSpec ("minato.app.spec") is [ServiceSpec.Hash] of the declared
	// spec; Apply makes no update call while it matches.
	LabelSpec = "minato.app.spec"
	// LabelReplica ("minato.app.replica") names a replica on the engine
	// path. Swarm cannot give per-task labels: a service's replica index is
	// its task slot ([TaskStatus.Slot]), which Swarm also puts in the
	// container name (<service>.<slot>.<task id>).
	LabelReplica = "minato.app.replica"
	// LabelJob ("minato.job") is "true" on the services [Client.RunJob]
	// creates.
	LabelJob = "minato.job"
)

// DefaultPollInterval is how often WaitConverged and RunJob look at the
// tasks of a service.
const DefaultPollInterval = 500 * time.Millisecond

// Errors of the package. Engine errors are wrapped with %w and keep their
// class (container.IsNotFound, IsConflict).
var (
	// ErrNotManager says the engine is not a manager of an active swarm,
	// so it cannot create or read services.
	ErrNotManager = errors.New("swarm: the engine is not an active swarm manager")
	// ErrNotOwned says a service of that name exists but carries no
	// minato.app label naming it: minato does not touch it.
	ErrNotOwned = errors.New("swarm: the service is not managed by minato")
	// ErrRolledBack says Swarm rolled the service's last update back (its
	// UpdateStatus is rollback_completed): the declared spec did not
	// take, the previous one runs.
	ErrRolledBack = errors.New("swarm: the update was rolled back")
	// ErrUpdatePaused says Swarm paused the service's update (failure
	// action "pause", or a paused rollback) and waits for an operator.
	ErrUpdatePaused = errors.New("swarm: the update is paused")
)

// Client manages the services and jobs of one Docker Swarm through one of
// its managers. It is safe for concurrent use; create it with [New]. It
// shares the connections of the [container.Client] it is made from.
type Client struct {
	api       client.APIClient
	cc        *container.Client
	log       *slog.Logger
	poll      time.Duration
	negotiate bool
	once      sync.Once
}

// Option configures optional collaborators of a Client.
type Option func(*Client)

// WithLogger sets the logger for debug-level traces. The default discards
// everything. Environment values are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.log = l
		}
	}
}

// WithPollInterval sets how often WaitConverged and RunJob read the tasks
// of a service; d <= 0 keeps [DefaultPollInterval].
func WithPollInterval(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.poll = d
		}
	}
}

// New returns a Client for the swarm whose manager cc talks to, over cc's
// connections. It does not contact the engine: [Client.Info] says whether
// it is a manager. cc must have been made for a real engine
// ([container.New]); a client on a fake engine is refused.
func New(cc *container.Client, opts ...Option) (*Client, error) {
	if cc == nil {
		return nil, errors.New("swarm: a container.Client is required")
	}
	e := cc.Engine()
	if e.HTTPClient == nil {
		return nil, fmt.Errorf("swarm: the container client for %s has no HTTP transport (a fake engine?)", e.Host)
	}
	copts := []client.Opt{client.WithHost(e.Host), client.WithHTTPClient(e.HTTPClient), client.WithScheme(e.Scheme)}
	if e.APIVersion != "" {
		copts = append(copts, client.WithVersion(strings.TrimPrefix(e.APIVersion, "v")))
	} else {
		copts = append(copts, client.WithAPIVersionNegotiation())
	}
	api, err := client.NewClientWithOpts(copts...)
	if err != nil {
		return nil, fmt.Errorf("swarm: %s: %w", e.Host, err)
	}
	c := &Client{api: api, cc: cc, log: slog.New(slog.DiscardHandler), poll: DefaultPollInterval, negotiate: e.APIVersion == ""}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Host returns the engine endpoint the Client talks to.
func (c *Client) Host() string { return c.cc.Host() }

// ready negotiates the API version once, before the first engine request
// (concurrent first requests would race on the Docker client's version).
func (c *Client) ready(ctx context.Context) {
	if c.negotiate {
		c.once.Do(func() {
			nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			c.api.NegotiateAPIVersion(nctx)
		})
	}
}

// Info is the engine's view of the swarm.
type Info struct {
	// State is the engine's local node state: "inactive" (not in a
	// swarm), "pending", "active", "error" or "locked".
	State string `json:"state"`
	// NodeID is this engine's node ID; "" outside a swarm.
	NodeID string `json:"node_id,omitempty"`
	// NodeAddr is the address this node advertises to the others.
	NodeAddr string `json:"node_addr,omitempty"`
	// Manager says the engine is a manager that can answer service calls
	// (it has a raft member and a leader is reachable).
	Manager bool `json:"manager"`
	// Nodes and Managers count the swarm's nodes; they are known on a
	// manager only (0 on a worker).
	Nodes    int `json:"nodes"`
	Managers int `json:"managers"`
	// ClusterID is the swarm's ID, known on a manager only.
	ClusterID string `json:"cluster_id,omitempty"`
	// Error is the engine's last swarm error, if any.
	Error string `json:"error,omitempty"`
}

// Active says the engine is an active member of a swarm.
func (i Info) Active() bool { return i.State == "active" }

// Info reads the engine's swarm state. It works on any engine, in a swarm
// or not; an error means the engine could not be asked.
func (c *Client) Info(ctx context.Context) (Info, error) {
	c.ready(ctx)
	in, err := c.api.Info(ctx)
	if err != nil {
		return Info{}, fmt.Errorf("swarm: info of %s: %w", c.Host(), err)
	}
	s := in.Swarm
	i := Info{State: string(s.LocalNodeState), NodeID: s.NodeID, NodeAddr: s.NodeAddr, Manager: s.ControlAvailable,
		Nodes: s.Nodes, Managers: s.Managers, Error: s.Error}
	if s.Cluster != nil {
		i.ClusterID = s.Cluster.ID
	}
	return i, nil
}

// wrap wraps an engine error of op on subject, keeping its class, and
// adds ErrNotManager when the engine says it is not a manager.
func (c *Client) wrap(op, subject string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "not a swarm manager") || strings.Contains(msg, "not part of a swarm") {
		return fmt.Errorf("swarm: %s %q on %s: %w: %w", op, subject, c.Host(), ErrNotManager, err)
	}
	return fmt.Errorf("swarm: %s %q on %s: %w", op, subject, c.Host(), err)
}
