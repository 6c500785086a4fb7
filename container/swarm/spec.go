package swarm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
)

// ServiceSpec declares an application as a replicated Swarm service. Its
// field names follow the application declaration of package container/app.
// The zero value is not valid: Name and Image are required.
type ServiceSpec struct {
	// Name is the service name: letters, digits and '-', starting with a
	// letter or digit, at most 63 characters (Swarm's rule).
	Name string `json:"name"`
	// Image is the image reference. Swarm resolves it on each node; an
	// image that is only local must exist on every node that may run it.
	Image string `json:"image"`
	// Replicas is the number of tasks to run; 0 keeps the service with no
	// task running.
	Replicas int `json:"replicas"`
	// Command is the argument list given to the image's entrypoint
	// (docker run's command); nil means the image's.
	Command []string `json:"command,omitempty"`
	// Env is the containers' environment. Values are never logged.
	Env map[string]string `json:"env,omitempty"`
	// Ports are published ports, "[PUBLISHED:]TARGET[/PROTOCOL]": "8080:80",
	// "8080:80/tcp", "53:53/udp", or "80" to let Swarm choose the published
	// port (30000-32767). PROTOCOL is tcp (default), udp or sctp.
	Ports []string `json:"ports,omitempty"`
	// PublishMode is how Ports are published: "ingress" (the default: the
	// routing mesh, every node answers on the published port and balances
	// over all tasks) or "host" (each task's own node only; a published port
	// can then run one task per node).
	PublishMode string `json:"publish_mode,omitempty"`
	// Mounts are "SOURCE:TARGET[:ro]": SOURCE is a host path when it
	// starts with "/" (a bind mount, which must exist on every node),
	// otherwise a named volume (local to each node).
	Mounts []string `json:"mounts,omitempty"`
	// Networks are the names of swarm-scoped (overlay) networks to attach
	// the tasks to; they must exist.
	Networks []string `json:"networks,omitempty"`
	// Resources limits each task.
	Resources Resources `json:"resources,omitzero"`
	// Restart is the restart policy of a task whose container exits: "" or
	// "always" or "unless-stopped" (Swarm's "any"), "on-failure" or
	// "on-failure:N" (at most N restarts), or "no" (none).
	Restart string `json:"restart,omitempty"`
	// Healthcheck, when set, replaces the image's; Swarm counts a task as
	// running only once it is healthy, and rolling updates wait for it.
	Healthcheck *Healthcheck `json:"healthcheck,omitempty"`
	// Labels are set on the service and on its containers, besides
	// minato's own (LabelApp, LabelSpec), which win on a clash.
	Labels map[string]string `json:"labels,omitempty"`
	// Update says how a changed spec is rolled out.
	Update UpdatePolicy `json:"update,omitzero"`
}

// Resources are the limits of each task.
type Resources struct {
	// CPUs is the CPU limit in CPUs (0.5 = half a CPU); 0 means none.
	CPUs float64 `json:"cpus,omitempty"`
	// Memory is the memory limit in bytes; 0 means none.
	Memory int64 `json:"memory,omitempty"`
}

// Healthcheck is a container healthcheck.
type Healthcheck struct {
	// Test is the check: ["CMD", prog, args...], ["CMD-SHELL", "script"]
	// or ["NONE"] (disable the image's). A list that starts with none of
	// these is run as ["CMD", Test...].
	Test []string `json:"test"`
	// Interval, Timeout and StartPeriod are the engine's; 0 means the
	// engine default (30 s, 30 s, 0).
	Interval    time.Duration `json:"interval,omitempty"`
	Timeout     time.Duration `json:"timeout,omitempty"`
	StartPeriod time.Duration `json:"start_period,omitempty"`
	// Retries is how many consecutive failures make the container
	// unhealthy; 0 means the engine default (3).
	Retries int `json:"retries,omitempty"`
}

// UpdatePolicy is how Swarm rolls a changed spec out, and back.
type UpdatePolicy struct {
	// Order is "stop-first" (the default: a task is stopped before its
	// replacement starts) or "start-first" (the replacement starts first;
	// briefly one task more runs).
	Order string `json:"order,omitempty"`
	// Batch is how many tasks are replaced at a time (Swarm's
	// parallelism); 0 means 1.
	Batch int `json:"batch,omitempty"`
	// Timeout is how long each replaced task is watched for failure
	// (Swarm's monitor period); 0 means Swarm's default, 5 s.
	Timeout time.Duration `json:"timeout,omitempty"`
	// FailureAction is what Swarm does when a replaced task fails within
	// Timeout: "rollback" (the default here: the previous spec is put
	// back, UpdateStatus ends "rollback_completed"), "pause" or
	// "continue".
	FailureAction string `json:"failure_action,omitempty"`
}

// Validation limits.
var serviceName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$`)

// Validate reports every field that is invalid, joined.
func (s ServiceSpec) Validate() error {
	var errs []error
	if !serviceName.MatchString(s.Name) {
		errs = append(errs, fmt.Errorf("name %q: want letters, digits and '-', starting with a letter or digit, at most 63 characters", s.Name))
	}
	if strings.TrimSpace(s.Image) == "" {
		errs = append(errs, errors.New("image: required"))
	}
	if s.Replicas < 0 {
		errs = append(errs, fmt.Errorf("replicas %d: want 0 or more", s.Replicas))
	}
	for i, p := range s.Ports {
		if _, err := ParsePort(p); err != nil {
			errs = append(errs, fmt.Errorf("ports[%d]: %w", i, err))
		}
	}
	switch s.PublishMode {
	case "", "ingress", "host":
	default:
		errs = append(errs, fmt.Errorf("publish_mode %q: want ingress or host", s.PublishMode))
	}
	for i, m := range s.Mounts {
		if _, err := ParseMount(m); err != nil {
			errs = append(errs, fmt.Errorf("mounts[%d]: %w", i, err))
		}
	}
	for i, n := range s.Networks {
		if strings.TrimSpace(n) == "" {
			errs = append(errs, fmt.Errorf("networks[%d]: empty network name", i))
		}
	}
	if s.Resources.CPUs < 0 || math.IsNaN(s.Resources.CPUs) || math.IsInf(s.Resources.CPUs, 0) {
		errs = append(errs, fmt.Errorf("resources.cpus %v: want 0 (no limit) or a positive number of CPUs", s.Resources.CPUs))
	}
	if s.Resources.Memory < 0 {
		errs = append(errs, fmt.Errorf("resources.memory %d: want 0 (no limit) or a positive number of bytes", s.Resources.Memory))
	}
	if _, err := restartPolicy(s.Restart); err != nil {
		errs = append(errs, err)
	}
	if h := s.Healthcheck; h != nil {
		if len(h.Test) == 0 {
			errs = append(errs, errors.New("healthcheck.test: empty; want [CMD, prog, args...], [CMD-SHELL, script] or [NONE]"))
		}
		if h.Interval < 0 || h.Timeout < 0 || h.StartPeriod < 0 {
			errs = append(errs, errors.New("healthcheck: interval, timeout and start_period must not be negative"))
		}
		if h.Retries < 0 {
			errs = append(errs, fmt.Errorf("healthcheck.retries %d: want 0 (engine default) or more", h.Retries))
		}
	}
	u := s.Update
	switch u.Order {
	case "", swarm.UpdateOrderStopFirst, swarm.UpdateOrderStartFirst:
	default:
		errs = append(errs, fmt.Errorf("update.order %q: want stop-first or start-first", u.Order))
	}
	if u.Batch < 0 {
		errs = append(errs, fmt.Errorf("update.batch %d: want 0 (one at a time) or more", u.Batch))
	}
	if u.Timeout < 0 {
		errs = append(errs, fmt.Errorf("update.timeout %v: want 0 (Swarm's 5s) or a positive duration", u.Timeout))
	}
	switch u.FailureAction {
	case "", swarm.UpdateFailureActionRollback, swarm.UpdateFailureActionPause, swarm.UpdateFailureActionContinue:
	default:
		errs = append(errs, fmt.Errorf("update.failure_action %q: want rollback, pause or continue", u.FailureAction))
	}
	return errors.Join(errs...)
}

// Hash returns the spec's hash, the value of the minato.app.spec label:
// 16 hex digits of the SHA-256 of its JSON form, Replicas left out (a
// scale is not a change of spec; Apply compares replicas separately).
// Equal specs have equal hashes; maps are hashed in key order.
func (s ServiceSpec) Hash() string {
	s.Replicas = 0
	b, err := json.Marshal(s)
	if err != nil { // unreachable: every field marshals
		b = []byte(fmt.Sprintf("%#v", s))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Port is a parsed entry of ServiceSpec.Ports.
type Port struct {
	// Published is the port the swarm publishes; 0 lets Swarm choose.
	Published uint16
	// Target is the port inside the container.
	Target uint16
	// Protocol is "tcp", "udp" or "sctp".
	Protocol string
}

// ParsePort parses "[PUBLISHED:]TARGET[/PROTOCOL]" (see ServiceSpec.Ports).
func ParsePort(s string) (Port, error) {
	p := Port{Protocol: "tcp"}
	rest := s
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		p.Protocol = rest[i+1:]
		rest = rest[:i]
		switch p.Protocol {
		case "tcp", "udp", "sctp":
		default:
			return Port{}, fmt.Errorf("port %q: protocol %q: want tcp, udp or sctp", s, p.Protocol)
		}
	}
	pub, target, hasPub := strings.Cut(rest, ":")
	if !hasPub {
		target, pub = pub, ""
	}
	t, err := portNumber(target)
	if err != nil {
		return Port{}, fmt.Errorf("port %q: target: %w; want [PUBLISHED:]TARGET[/PROTOCOL]", s, err)
	}
	p.Target = t
	if hasPub {
		n, err := portNumber(pub)
		if err != nil {
			return Port{}, fmt.Errorf("port %q: published: %w; want [PUBLISHED:]TARGET[/PROTOCOL]", s, err)
		}
		p.Published = n
	}
	return p, nil
}

func portNumber(s string) (uint16, error) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number in 1-65535", s)
	}
	return uint16(n), nil
}

// String returns the port in ParsePort's form.
func (p Port) String() string {
	s := strconv.Itoa(int(p.Target)) + "/" + p.Protocol
	if p.Published != 0 {
		s = strconv.Itoa(int(p.Published)) + ":" + s
	}
	return s
}

// Mount is a parsed entry of ServiceSpec.Mounts.
type Mount struct {
	// Source is a host path (Bind) or a volume name.
	Source string
	// Target is the absolute path in the container.
	Target string
	// Bind says Source is a host path.
	Bind bool
	// ReadOnly mounts it read-only.
	ReadOnly bool
}

// ParseMount parses "SOURCE:TARGET[:ro|:rw]" (see ServiceSpec.Mounts).
func ParseMount(s string) (Mount, error) {
	parts := strings.Split(s, ":")
	var m Mount
	switch len(parts) {
	case 3:
		switch parts[2] {
		case "ro":
			m.ReadOnly = true
		case "rw":
		default:
			return Mount{}, fmt.Errorf("mount %q: option %q: want ro or rw", s, parts[2])
		}
	case 2:
	default:
		return Mount{}, fmt.Errorf("mount %q: want SOURCE:TARGET[:ro]", s)
	}
	m.Source, m.Target = parts[0], parts[1]
	if m.Source == "" {
		return Mount{}, fmt.Errorf("mount %q: empty SOURCE; want a host path or a volume name", s)
	}
	if !strings.HasPrefix(m.Target, "/") {
		return Mount{}, fmt.Errorf("mount %q: TARGET %q must be an absolute path", s, m.Target)
	}
	m.Bind = strings.HasPrefix(m.Source, "/")
	if !m.Bind && !volumeName.MatchString(m.Source) {
		return Mount{}, fmt.Errorf("mount %q: volume name %q: want letters, digits, '_', '.', '-' (or an absolute host path)", s, m.Source)
	}
	return m, nil
}

var volumeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// restartPolicy maps ServiceSpec.Restart to Swarm's policy.
func restartPolicy(r string) (*swarm.RestartPolicy, error) {
	p := &swarm.RestartPolicy{}
	name, n, hasN := strings.Cut(r, ":")
	switch name {
	case "", "always", "unless-stopped":
		p.Condition = swarm.RestartPolicyConditionAny
	case "on-failure":
		p.Condition = swarm.RestartPolicyConditionOnFailure
	case "no":
		p.Condition = swarm.RestartPolicyConditionNone
	default:
		return nil, fmt.Errorf("restart %q: want always, unless-stopped, on-failure[:N] or no", r)
	}
	if hasN {
		k, err := strconv.ParseUint(n, 10, 32)
		if name != "on-failure" || err != nil {
			return nil, fmt.Errorf("restart %q: only on-failure takes a count, on-failure:N with N a whole number", r)
		}
		p.MaxAttempts = &k
	}
	return p, nil
}

// healthConfig converts h to the engine's form.
func healthConfig(h *Healthcheck) *container.HealthConfig {
	if h == nil {
		return nil
	}
	test := slices.Clone(h.Test)
	switch test[0] {
	case "CMD", "CMD-SHELL", "NONE":
	default:
		test = append([]string{"CMD"}, test...)
	}
	return &container.HealthConfig{Test: test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
}

// labels returns user labels plus minato's, which win.
func (s ServiceSpec) labels(hash string) map[string]string {
	l := maps.Clone(s.Labels)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelApp] = s.Name
	l[LabelSpec] = hash
	return l
}

// envList returns env as sorted KEY=value entries.
func envList(env map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// engineSpec converts a valid s to the engine's service spec.
func (s ServiceSpec) engineSpec() swarm.ServiceSpec {
	hash := s.Hash()
	labels := s.labels(hash)
	restart, _ := restartPolicy(s.Restart)
	cs := &swarm.ContainerSpec{
		Image:       s.Image,
		Args:        slices.Clone(s.Command),
		Env:         envList(s.Env),
		Labels:      maps.Clone(labels),
		Healthcheck: healthConfig(s.Healthcheck),
	}
	for _, ms := range s.Mounts {
		m, _ := ParseMount(ms)
		t := mount.TypeVolume
		if m.Bind {
			t = mount.TypeBind
		}
		cs.Mounts = append(cs.Mounts, mount.Mount{Type: t, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	task := swarm.TaskSpec{ContainerSpec: cs, RestartPolicy: restart}
	if s.Resources != (Resources{}) {
		task.Resources = &swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: int64(math.Round(s.Resources.CPUs * 1e9)), MemoryBytes: s.Resources.Memory}}
	}
	for _, n := range s.Networks {
		task.Networks = append(task.Networks, swarm.NetworkAttachmentConfig{Target: n})
	}
	replicas := uint64(s.Replicas)
	spec := swarm.ServiceSpec{
		Annotations:  swarm.Annotations{Name: s.Name, Labels: labels},
		TaskTemplate: task,
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}
	u := s.Update
	batch := uint64(max(u.Batch, 1))
	order := u.Order
	if order == "" {
		order = swarm.UpdateOrderStopFirst
	}
	action := u.FailureAction
	if action == "" {
		action = swarm.UpdateFailureActionRollback
	}
	spec.UpdateConfig = &swarm.UpdateConfig{Parallelism: batch, Order: order, Monitor: u.Timeout, FailureAction: action}
	spec.RollbackConfig = &swarm.UpdateConfig{Parallelism: batch, Order: order, Monitor: u.Timeout, FailureAction: swarm.UpdateFailureActionPause}
	if len(s.Ports) > 0 {
		mode := swarm.PortConfigPublishModeIngress
		if s.PublishMode == "host" {
			mode = swarm.PortConfigPublishModeHost
		}
		ep := &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP}
		for _, ps := range s.Ports {
			p, _ := ParsePort(ps)
			ep.Ports = append(ep.Ports, swarm.PortConfig{Protocol: swarm.PortConfigProtocol(p.Protocol), TargetPort: uint32(p.Target), PublishedPort: uint32(p.Published), PublishMode: mode})
		}
		spec.EndpointSpec = ep
	}
	return spec
}
