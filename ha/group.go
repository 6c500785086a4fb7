package ha

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// Default member timeouts.
const (
	DefaultActivateTimeout   = 60 * time.Second
	DefaultDeactivateTimeout = 60 * time.Second
)

// Group is a failover group: resources activated together on one node at
// a time, in dependency order, and deactivated in reverse. It is a value
// built by the program (its Resources are live values); configuration
// files decode into the agent's own types, which build Groups.
type Group struct {
	// Name identifies the group in the cluster.
	Name string
	// Nodes are the names of the nodes that may run the group, in
	// priority order: the first healthy one starts it.
	Nodes []string
	// Members are the resources, each with its own monitor policy.
	Members []Member
	// Monitors are further monitors whose failure recovers a member or the
	// group (CLUSTERPRO's monitor resources that watch something other
	// than a resource of the group, such as an availability zone).
	Monitors []GroupMonitor
	// AutoFailback moves the group back to a higher-priority node when
	// that node comes back. Off by default: a move is an outage, which an
	// operator should choose the moment of.
	AutoFailback bool
}

// Member is one resource of a Group.
type Member struct {
	// Name identifies the resource in the group and in messages.
	Name string
	// Resource does the work.
	Resource Resource
	// DependsOn names members that must be active before this one is
	// activated (and that are deactivated after it).
	DependsOn []string
	// Policy is how the resource's own Check is run and recovered; the
	// recovery target is this member.
	Policy RecoveryPolicy
	// ActivateTimeout and DeactivateTimeout bound each call; default 60 s.
	ActivateTimeout   time.Duration
	DeactivateTimeout time.Duration
	// ActivateRetries is how many times a failed activation is retried
	// at once, on the same node, before the group fails over (CLUSTERPRO's
	// "retry count at activation failure"); 0 means none.
	ActivateRetries int
	// MonitorName names the resource's own monitor in messages and
	// status (CLUSTERPRO's awsvipw1 for the resource awsvip1); empty means
	// Name. It must differ from every other member's and monitor's name.
	MonitorName string
}

// Monitor returns the name of the member's own monitor: MonitorName, or
// Name when that is empty.
func (m Member) Monitor() string {
	if m.MonitorName != "" {
		return m.MonitorName
	}
	return m.Name
}

// GroupMonitor is a monitor of a Group that is not a member's own.
type GroupMonitor struct {
	// Name identifies the monitor in messages.
	Name string
	// Monitor measures; it is given Target, or this node when Target is
	// the zero Target.
	Monitor monitor.Monitor
	Target  inventory.Target
	// Policy is how it is run and recovered.
	Policy RecoveryPolicy
	// Recover names the member restarted by the recovery; empty means
	// the whole group (every member restarted, then the group failed over).
	Recover string
}

// Validate checks the group on its own: a name, at least one node and no
// node twice, members with unique names and a Resource, dependencies that
// exist and form no cycle, monitors with a Monitor and an existing recovery
// target, and every policy. Problems are joined, each with its path.
func (g Group) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := inventory.ValidFacilityID(g.Name); err != nil {
		add("name: %q: want letters, digits, -, _, . or @", g.Name)
	}
	if len(g.Nodes) == 0 {
		add("nodes: give the nodes that may run the group, in priority order")
	}
	seenNode := map[string]bool{}
	for i, n := range g.Nodes {
		if n == "" || seenNode[n] {
			add("nodes[%d]: %q: empty or listed twice", i, n)
		}
		seenNode[n] = true
	}
	names := map[string]bool{}
	for i, m := range g.Members {
		switch {
		case m.Name == "":
			add("members[%d].name: required", i)
		case names[m.Name]:
			add("members[%d].name: %q is used twice", i, m.Name)
		}
		names[m.Name] = true
		if m.MonitorName != "" && m.MonitorName != m.Name {
			if names[m.MonitorName] {
				add("members[%d] (%s).monitor_name: %q is used twice", i, m.Name, m.MonitorName)
			}
			names[m.MonitorName] = true
		}
		if m.Resource == nil {
			add("members[%d] (%s): no resource", i, m.Name)
		}
		if m.ActivateTimeout < 0 || m.DeactivateTimeout < 0 || m.ActivateRetries < 0 {
			add("members[%d] (%s): timeouts and activate retries must not be negative", i, m.Name)
		}
		if err := m.Policy.Validate(); err != nil {
			add("members[%d] (%s).policy: %w", i, m.Name, err)
		}
	}
	for i, m := range g.Members {
		for _, d := range m.DependsOn {
			if !names[d] || d == m.Name {
				add("members[%d] (%s).depends_on: %q is not another member of the group", i, m.Name, d)
			}
		}
	}
	if _, err := g.Order(); err != nil && len(errs) == 0 {
		errs = append(errs, err)
	}
	for i, gm := range g.Monitors {
		if gm.Name == "" || gm.Monitor == nil {
			add("monitors[%d]: give a name and a monitor", i)
		}
		if gm.Recover != "" && !names[gm.Recover] {
			add("monitors[%d] (%s).recover: %q is not a member of the group", i, gm.Name, gm.Recover)
		}
		if err := gm.Policy.Validate(); err != nil {
			add("monitors[%d] (%s).policy: %w", i, gm.Name, err)
		}
	}
	return errors.Join(errs...)
}

// ErrCycle is returned by [Group.Order] when dependencies form a cycle.
var ErrCycle = errors.New("ha: members depend on each other in a cycle")

// Order returns the member names in activation order: every member after
// the members it depends on, and otherwise in the order they are listed.
// Deactivation runs the same list backwards.
func (g Group) Order() ([]string, error) {
	deps := map[string][]string{}
	for _, m := range g.Members {
		deps[m.Name] = m.DependsOn
	}
	var out []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string, []string) error
	visit = func(n string, path []string) error {
		switch state[n] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("%w: %v", ErrCycle, append(path, n))
		}
		state[n] = 1
		for _, d := range deps[n] {
			if _, ok := deps[d]; !ok {
				continue // Validate reports it
			}
			if err := visit(d, append(path, n)); err != nil {
				return err
			}
		}
		state[n] = 2
		out = append(out, n)
		return nil
	}
	for _, m := range g.Members {
		if err := visit(m.Name, nil); err != nil {
			return nil, err
		}
	}
	return slices.Clip(out), nil
}
