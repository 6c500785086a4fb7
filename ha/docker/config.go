package docker

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Defaults of [Config].
const (
	// DefaultHealthTimeout is Config.HealthTimeout when it is zero.
	DefaultHealthTimeout = 60 * time.Second
	// DefaultStopGrace is Config.StopGrace when it is zero.
	DefaultStopGrace = 10 * time.Second
	// DefaultSettleTime is Config.SettleTime when it is zero.
	DefaultSettleTime = time.Second
)

// Labels set on the containers a [Resource] creates. Docker labels cannot
// change after creation, so they describe the activation that created the
// container; a container managed with Config.Existing gets none.
const (
	// LabelGroup ("minato.ha.group") is the group's name (Config.Group).
	LabelGroup = "minato.ha.group"
	// LabelResource ("minato.ha.resource") is the resource's name
	// (Config.Resource, else the container name).
	LabelResource = "minato.ha.resource"
	// LabelEpoch ("minato.ha.epoch") is the holder's epoch, in decimal,
	// under which the container was created; absent when the activation
	// carried none (see ha.WithEpoch).
	LabelEpoch = "minato.ha.epoch"
	// LabelNode ("minato.ha.node") is the node that created the container.
	LabelNode = "minato.ha.node"
)

// RestartNo is the only restart policy a created container may have: the
// cluster, not the engine, restarts a failed resource (an engine restart
// policy would restart it behind the monitor's back, and on the node the
// group has just left).
const RestartNo = "no"

// Config describes one container held by a [Resource]: either a container
// the resource creates from Create when it is missing, or, with Existing,
// a container set up beforehand that it only starts and stops.
//
// Durations are written "60s" in configuration files; the zero value of
// every optional field means its default, which [DefaultConfig] spells out.
type Config struct {
	// Name is the container's name on this node's engine. Required.
	Name string `json:"name"`
	// Group is the failover group's name, written to the LabelGroup label
	// and checked when an existing container is found; optional.
	Group string `json:"group,omitempty"`
	// Resource is the resource's name in the group, written to the
	// LabelResource label; default Name.
	Resource string `json:"resource,omitempty"`
	// Create is how to create the container when it is missing. Give
	// exactly one of Create and Existing.
	Create *Spec `json:"create,omitempty"`
	// Existing manages a container that exists already, by name, without
	// ever creating or removing it (a container set up by docker run or
	// Compose). Its missing is an activation failure.
	Existing bool `json:"existing,omitempty"`
	// HealthTimeout bounds how long Activate waits, after starting the
	// container, for its health check to report healthy (or, without a
	// health check, for it to be running); default 60 s. The activation's
	// ctx may end it sooner.
	HealthTimeout time.Duration `json:"health_timeout,omitempty"`
	// SettleTime is how long a container without a health check that
	// Activate has just started must keep running before the activation
	// counts as done, so that a container that exits at once fails the
	// activation instead of the first monitor run (as docker service
	// update's --update-monitor does); default 1 s; negative means none.
	// A container that was running already is not waited for.
	SettleTime time.Duration `json:"settle_time,omitempty"`
	// StopGrace is the time between the stop signal and SIGKILL when the
	// container is deactivated (docker stop -t); default 10 s; negative
	// means SIGKILL at once. The engine counts whole seconds.
	StopGrace time.Duration `json:"stop_grace,omitempty"`
	// RemoveOnDeactivate removes the container (with its anonymous
	// volumes; named volumes are kept) after stopping it, so that the next
	// activation creates it afresh from Create. Off by default: the
	// container is only stopped. Not allowed with Existing.
	RemoveOnDeactivate bool `json:"remove_on_deactivate,omitempty"`
}

// Spec is the container a [Resource] creates. Only Image is required;
// every other zero value means the image's or the engine's default. The
// image must be on the engine already: minato never pulls. Ports cannot
// be published yet; use Network "host" for a service that listens on the
// node's addresses.
type Spec struct {
	// Image is the image reference. Required.
	Image string `json:"image"`
	// Cmd is the command (the entrypoint's arguments); nil means the
	// image's.
	Cmd []string `json:"cmd,omitempty"`
	// Entrypoint replaces the image's entrypoint; nil means the image's.
	Entrypoint []string `json:"entrypoint,omitempty"`
	// Env is the container's environment. Values are never logged.
	Env map[string]string `json:"env,omitempty"`
	// Labels are set on the container in addition to minato's own
	// (LabelGroup, LabelResource, LabelEpoch, LabelNode), which win.
	Labels map[string]string `json:"labels,omitempty"`
	// Mounts are bind mounts and named volumes in "source:target[:ro]"
	// form, as docker run -v takes them.
	Mounts []string `json:"mounts,omitempty"`
	// Network is the network name or ID to attach to ("host" for the
	// node's own network stack); "" means the engine's default bridge.
	Network string `json:"network,omitempty"`
	// User and WorkingDir are the process's user and directory; "" means
	// the image's.
	User       string `json:"user,omitempty"`
	WorkingDir string `json:"working_dir,omitempty"`
	// MemoryBytes is the memory limit (swap limited to the same, so the
	// limit is real); NanoCPUs the CPU quota in 1e-9 CPUs. 0 means none.
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	NanoCPUs    int64 `json:"nano_cpus,omitempty"`
	// StopSignal is the container's stop signal ("SIGTERM", "SIGINT");
	// "" means the image's, else SIGTERM.
	StopSignal string `json:"stop_signal,omitempty"`
	// RestartPolicy must be "" or RestartNo ("no"): the container is
	// created without an engine restart policy.
	RestartPolicy string `json:"restart_policy,omitempty"`
}

// DefaultConfig returns a Config with every default spelled out; Name and
// one of Create or Existing remain to be given.
func DefaultConfig() Config {
	return Config{HealthTimeout: DefaultHealthTimeout, SettleTime: DefaultSettleTime, StopGrace: DefaultStopGrace}
}

// Validate reports every problem, joined, each naming its json field.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := validName(c.Name); err != nil {
		add("name: %w", err)
	}
	switch {
	case c.Create == nil && !c.Existing:
		add("create: give create (how to create the container) or existing: true (manage a container that exists)")
	case c.Create != nil && c.Existing:
		add("existing: give create or existing, not both")
	case c.Create != nil:
		for _, err := range c.Create.validate() {
			add("create.%w", err)
		}
	}
	if c.Existing && c.RemoveOnDeactivate {
		add("remove_on_deactivate: not with existing: minato would remove a container it cannot create again")
	}
	if c.HealthTimeout < 0 {
		add("health_timeout: %s: want 0 (default %s) or more", c.HealthTimeout, DefaultHealthTimeout)
	}
	return errors.Join(errs...)
}

func (s *Spec) validate() []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if strings.TrimSpace(s.Image) == "" {
		add("image: required (an image present on the engine; minato never pulls)")
	}
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			add("env: %q: a variable name must be non-empty, without = or NUL", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
		if k == "" {
			add("labels: empty label key")
		}
	}
	for i, m := range s.Mounts {
		if src, dst, ok := strings.Cut(m, ":"); !ok || src == "" || dst == "" {
			add("mounts[%d]: %q: want source:target[:ro]", i, m)
		}
	}
	if s.MemoryBytes < 0 || s.NanoCPUs < 0 {
		add("memory_bytes, nano_cpus: must not be negative")
	}
	if s.RestartPolicy != "" && s.RestartPolicy != RestartNo {
		add("restart_policy: %q: only %q: the cluster restarts a failed container, not the engine", s.RestartPolicy, RestartNo)
	}
	return errs
}

// validName checks a container name as the engine does:
// [a-zA-Z0-9][a-zA-Z0-9_.-]+, an optional leading "/" aside.
func validName(name string) error {
	n := strings.TrimPrefix(name, "/")
	if len(n) < 2 {
		return fmt.Errorf("%q: want a container name of 2 characters or more", name)
	}
	for i, r := range n {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '_' || r == '.' || r == '-')
		if !ok {
			return fmt.Errorf("%q: want letters, digits, _, . and - (not first)", name)
		}
	}
	return nil
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	c.Name = strings.TrimPrefix(c.Name, "/")
	if c.Resource == "" {
		c.Resource = c.Name
	}
	if c.HealthTimeout == 0 {
		c.HealthTimeout = DefaultHealthTimeout
	}
	switch {
	case c.SettleTime == 0:
		c.SettleTime = DefaultSettleTime
	case c.SettleTime < 0:
		c.SettleTime = 0
	}
	switch {
	case c.StopGrace == 0:
		c.StopGrace = DefaultStopGrace
	case c.StopGrace < 0:
		c.StopGrace = 0
	}
	return c
}
