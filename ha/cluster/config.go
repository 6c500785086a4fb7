package cluster

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/minato-ops/minato/inventory"
)

// Defaults of [Config].
const (
	// DefaultInterval is how often heartbeats are sent on every network.
	DefaultInterval = time.Second
	// DefaultTimeout is how long a node may stay silent on every network
	// before it is lost.
	DefaultTimeout = 3 * time.Second
	// DefaultMaxClockSkew is the freshness window of a heartbeat's send
	// time.
	DefaultMaxClockSkew = 10 * time.Second
	// DefaultWitnessTimeout bounds one probe of the witness.
	DefaultWitnessTimeout = 5 * time.Second
	// DefaultLeaveTimeout bounds the deactivations of a clean leave.
	DefaultLeaveTimeout = 60 * time.Second
)

// Limits of a cluster.
const (
	// MinNodes and MaxNodes bound the size of a cluster.
	MinNodes, MaxNodes = 2, 3
	// MaxNetworks is how many heartbeat networks a cluster may use.
	MaxNetworks = 8
	// MinKeySize is the shortest shared key [New] accepts, in bytes.
	MinKeySize = 32
)

// Config is one node's cluster settings. Every node of a cluster has the
// same Cluster, Nodes (in any order), Interval and Timeout; Node differs.
// Durations are written "1s" in configuration files; zero means the
// default.
type Config struct {
	// Cluster names the cluster. It is part of every authenticated
	// heartbeat: a node rejects heartbeats of another cluster, even one
	// sharing its key.
	Cluster string `json:"cluster"`
	// Node is this node's name: one of Nodes.
	Node string `json:"node"`
	// Nodes are every node of the cluster, this one included: 2 or 3.
	Nodes []NodeConfig `json:"nodes"`
	// Interval between two heartbeats on each network; default 1 s.
	Interval time.Duration `json:"interval,omitempty"`
	// Timeout: a node silent on every network this long is lost (then
	// the witness decides whether it is down or this node is isolated);
	// default 3 s, at least twice Interval.
	Timeout time.Duration `json:"timeout,omitempty"`
	// LeaseTTL is the time to live of a group's hold on the lease, when a
	// lease is configured ([WithLease]); default Timeout, at least
	// Interval. The holder renews every LeaseTTL/3 and stops the group
	// LeaseTTL/10 before its hold could expire.
	LeaseTTL time.Duration `json:"lease_ttl,omitempty"`
	// MaxClockSkew is the freshness window: a heartbeat whose send time
	// is further than this from the receiver's clock is rejected, which
	// stops replays of old captured heartbeats. The nodes' clocks must
	// agree within it (run NTP or chrony); default 10 s, at least Timeout.
	MaxClockSkew time.Duration `json:"max_clock_skew,omitempty"`
	// WitnessTimeout bounds one probe of the witness; default 5 s.
	WitnessTimeout time.Duration `json:"witness_timeout,omitempty"`
	// LeaveTimeout bounds the clean leave when [Cluster.Run] returns:
	// waiting for activations in progress and deactivating every group
	// here; default 60 s.
	LeaveTimeout time.Duration `json:"leave_timeout,omitempty"`
}

// NodeConfig is one node of a [Config].
type NodeConfig struct {
	// Name identifies the node, as the groups' Nodes spell it.
	Name string `json:"name"`
	// Addresses are the node's UDP host:port, one per heartbeat network,
	// in the same network order on every node (the first address of each
	// node is on the first network, and so on). This node listens on its
	// own addresses and sends to the others'.
	Addresses []string `json:"addresses"`
}

// DefaultConfig returns a Config with every default duration spelled out;
// the caller fills in Cluster, Node and Nodes.
func DefaultConfig() Config {
	return Config{
		Interval:       DefaultInterval,
		Timeout:        DefaultTimeout,
		LeaseTTL:       DefaultTimeout,
		MaxClockSkew:   DefaultMaxClockSkew,
		WitnessTimeout: DefaultWitnessTimeout,
		LeaveTimeout:   DefaultLeaveTimeout,
	}
}

func (c Config) withDefaults() Config {
	set := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	set(&c.Interval, DefaultInterval)
	set(&c.Timeout, DefaultTimeout)
	set(&c.LeaseTTL, c.Timeout)
	set(&c.MaxClockSkew, DefaultMaxClockSkew)
	set(&c.WitnessTimeout, DefaultWitnessTimeout)
	set(&c.LeaveTimeout, DefaultLeaveTimeout)
	return c
}

// Validate reports every problem, joined, each with its field path
// ("nodes[1].addresses[0]: ...").
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := validName(c.Cluster); err != nil {
		add("cluster: %w", err)
	}
	if len(c.Nodes) < MinNodes || len(c.Nodes) > MaxNodes {
		add("nodes: %d nodes: a cluster has %d or %d", len(c.Nodes), MinNodes, MaxNodes)
	}
	names := map[string]bool{}
	addrs := map[string]string{}
	for i, n := range c.Nodes {
		if err := validName(n.Name); err != nil {
			add("nodes[%d].name: %w", i, err)
		} else if names[n.Name] {
			add("nodes[%d].name: %q is listed twice", i, n.Name)
		}
		names[n.Name] = true
		switch {
		case len(n.Addresses) == 0:
			add("nodes[%d].addresses: give one UDP host:port per heartbeat network", i)
		case len(n.Addresses) > MaxNetworks:
			add("nodes[%d].addresses: %d networks, at most %d", i, len(n.Addresses), MaxNetworks)
		case i > 0 && len(n.Addresses) != len(c.Nodes[0].Addresses):
			add("nodes[%d].addresses: %d addresses, but nodes[0] has %d: every node has one per network", i, len(n.Addresses), len(c.Nodes[0].Addresses))
		}
		for j, a := range n.Addresses {
			if err := validAddr(a); err != nil {
				add("nodes[%d].addresses[%d]: %w", i, j, err)
			} else if other, dup := addrs[a]; dup {
				add("nodes[%d].addresses[%d]: %q is also %s", i, j, a, other)
			}
			addrs[a] = fmt.Sprintf("nodes[%d].addresses[%d]", i, j)
		}
	}
	if c.Node == "" {
		add("node: required: this node's name, one of nodes")
	} else if !names[c.Node] {
		add("node: %q is not one of nodes", c.Node)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"interval", c.Interval}, {"timeout", c.Timeout}, {"lease_ttl", c.LeaseTTL}, {"max_clock_skew", c.MaxClockSkew},
		{"witness_timeout", c.WitnessTimeout}, {"leave_timeout", c.LeaveTimeout}} {
		if d.v < 0 {
			add("%s: %s: want 0 (the default) or a positive duration", d.name, d.v)
		}
	}
	if len(errs) == 0 {
		d := c.withDefaults()
		if d.Timeout < 2*d.Interval {
			add("timeout: %s: want at least twice interval (%s)", d.Timeout, d.Interval)
		}
		if d.LeaseTTL < d.Interval {
			add("lease_ttl: %s: want at least interval (%s)", d.LeaseTTL, d.Interval)
		}
		if d.MaxClockSkew < d.Timeout {
			add("max_clock_skew: %s: want at least timeout (%s)", d.MaxClockSkew, d.Timeout)
		}
	}
	return errors.Join(errs...)
}

// validName accepts what a Hinemos facility ID accepts, up to maxName
// bytes (the wire format's limit).
func validName(s string) error {
	if len(s) > maxName {
		return fmt.Errorf("%.40q...: %d bytes, at most %d", s, len(s), maxName)
	}
	if err := inventory.ValidFacilityID(s); err != nil {
		return fmt.Errorf("%q: want letters, digits, -, _, . or @", s)
	}
	return nil
}

func validAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("%q: want host:port", a)
	}
	if host == "" {
		return fmt.Errorf("%q: give the host (the address the other nodes reach this one at)", a)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%q: port must be 1-65535", a)
	}
	return nil
}
