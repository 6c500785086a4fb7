package app

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/internal/strictyaml"
)

// The labels minato sets on every container, network and volume it creates
// for an application.
const (
	// LabelApp names the application.
	LabelApp = "minato.app"
	// LabelReplica is the replica index, 1 to Replicas, on containers.
	LabelReplica = "minato.app.replica"
	// LabelSpec is the [Spec.Hash] the container was created from.
	LabelSpec = "minato.app.spec"
	// LabelConfig is the container's recorded configuration (JSON, with
	// environment values replaced by digests), which lets a plan say
	// field by field what changed.
	LabelConfig = "minato.app.config"
)

// Defaults of a [Spec]'s optional fields.
const (
	DefaultReplicas       = 1
	DefaultUpdateOrder    = "stop-first"
	DefaultUpdateBatch    = 1
	DefaultUpdateTimeout  = 60 * time.Second
	DefaultStableFor      = 5 * time.Second
	DefaultMeteringScheme = "http"
	DefaultMeteringPath   = "/metrics"
	DefaultMeteringEvery  = 30 * time.Second
)

// MaxNameLength is the longest application name: a DNS label (63) less room
// for the replica suffix "-NNNN".
const MaxNameLength = 58

// Spec declares one application. It is plain data with json tags, decoded
// by [Parse]; [Spec.Validate] says what is wrong with it. The zero values
// of optional fields mean the defaults documented on each field.
type Spec struct {
	// Name is the application's name: a DNS label (lower-case letters,
	// digits and '-', starting with a letter, not ending with '-'), at
	// most MaxNameLength characters. Required. Containers are named
	// "<name>-<replica>".
	Name string `json:"name"`
	// Image is the image reference the replicas run. Required. It must be
	// present on the engine: the reconciler never pulls.
	Image string `json:"image"`
	// Replicas is how many containers run; nil means 1, 0 is allowed (the
	// application is declared but runs nothing).
	Replicas *int `json:"replicas,omitempty"`
	// Command replaces the image's command (the entrypoint's arguments);
	// nil means the image's.
	Command []string `json:"command,omitempty"`
	// Entrypoint replaces the image's entrypoint; nil means the image's.
	Entrypoint []string `json:"entrypoint,omitempty"`
	// Env is the environment; it overrides the values from EnvFiles.
	// Values are secrets as far as minato is concerned: plans say
	// "changed", never the value.
	Env map[string]string `json:"env,omitempty"`
	// EnvFiles are files of NAME=value lines (see [ParseEnvFile]), read in
	// order, later files overriding earlier ones. A relative path is
	// relative to the declaration file's directory. Their contents count
	// in [Spec.Hash]: changing a file changes the application.
	EnvFiles []string `json:"env_files,omitempty"`
	// Ports are published ports: "[HOST_IP:][HOST_PORT[-LAST]:]CONTAINER_PORT[/PROTO]"
	// ("8080:80/tcp", "127.0.0.1:8080:80", "80", "8080-8081:80").
	// With more than one replica a single host port is refused: give a
	// range with one port per replica (replica i gets the i-th), or none
	// (the engine picks free ports). With backend swarm a single host port
	// is published once by the routing mesh for every replica.
	Ports []string `json:"ports,omitempty"`
	// Mounts are bind mounts, volumes and tmpfs mounts.
	Mounts []Mount `json:"mounts,omitempty"`
	// Volumes are named volumes the application owns: created with its
	// labels when missing and removed by [Reconciler.Delete]. A volume
	// mount whose source is not listed here uses an existing volume.
	Volumes []string `json:"volumes,omitempty"`
	// Networks are the networks the replicas join, the first at creation.
	// A missing network is created with the application's labels (and
	// removed by [Reconciler.Delete]); empty means the default bridge.
	Networks []string `json:"networks,omitempty"`
	// Resources are the replicas' limits.
	Resources Resources `json:"resources"`
	// Restart is the engine's restart policy: "no" (or empty), "always",
	// "unless-stopped", "on-failure" or "on-failure:N".
	Restart string `json:"restart,omitempty"`
	// Healthcheck, when set, replaces the image's health check.
	Healthcheck *Healthcheck `json:"healthcheck,omitempty"`
	// Labels are set on the containers. Keys starting with "minato.app"
	// are reserved.
	Labels map[string]string `json:"labels,omitempty"`
	// Update says how changed replicas are replaced.
	Update Update `json:"update"`
	// Metering says whether and how the replicas' metrics are scraped.
	Metering Metering `json:"metering"`
	// Backend is "engine" (or empty: containers on one engine) or "swarm"
	// (a Swarm service).
	Backend string `json:"backend,omitempty"`

	// fileEnv holds the EnvFiles' merged contents once loaded.
	fileEnv map[string]string
	// envLoaded says LoadEnvFiles has run.
	envLoaded bool
}

// Mount is one mount of the replicas.
type Mount struct {
	// Type is "bind", "volume" or "tmpfs". Required.
	Type string `json:"type"`
	// Source is the host path for bind (absolute, or relative to the
	// declaration file), the volume name for volume ("" for an anonymous
	// volume), and must be empty for tmpfs.
	Source string `json:"source,omitempty"`
	// Target is the absolute path inside the container. Required.
	Target string `json:"target"`
	// ReadOnly mounts it read-only.
	ReadOnly bool `json:"read_only,omitempty"`
}

// Resources are limits on each replica.
type Resources struct {
	// CPUs is the CPU limit in CPUs (0.5 is half a CPU); 0 means none.
	CPUs float64 `json:"cpus,omitempty"`
	// Memory is the memory limit: a size such as "512Mi", "1g" or
	// "1073741824" (bytes). The units k, m, g, t and Ki, Mi, Gi, Ti (and
	// KB, MB, ... as docker run -m reads them) are powers of 1024. Empty
	// means none.
	Memory string `json:"memory,omitempty"`
}

// Healthcheck is a container health check.
type Healthcheck struct {
	// Test is the check: ["CMD", prog, args...], ["CMD-SHELL", "command"],
	// or ["NONE"] to disable the image's check. A list not starting with
	// one of those is taken as ["CMD", ...]. Required.
	Test []string `json:"test"`
	// Interval between checks; 0 means the engine's 30 s.
	Interval time.Duration `json:"interval,omitempty"`
	// Timeout of one check; 0 means the engine's 30 s.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Retries is how many failures in a row make the replica unhealthy;
	// 0 means the engine's 3.
	Retries int `json:"retries,omitempty"`
	// StartPeriod is the time after start during which failures do not
	// count; 0 means none.
	StartPeriod time.Duration `json:"start_period,omitempty"`
}

// Update says how changed replicas are replaced.
type Update struct {
	// Order is "stop-first" (the default: the old replica stops before the
	// new one starts) or "start-first" (the new one starts while the old
	// one runs; it cannot publish the same fixed host port).
	Order string `json:"order,omitempty"`
	// Batch is how many replicas are replaced at a time; 0 means 1.
	Batch int `json:"batch,omitempty"`
	// Timeout is how long a batch may take to pass its gate (healthy, or
	// running for StableFor) before it is rolled back; 0 means 60 s.
	Timeout time.Duration `json:"timeout,omitempty"`
	// StableFor is how long a replica without a health check must keep
	// running to pass the gate; 0 means 5 s.
	StableFor time.Duration `json:"stable_for,omitempty"`
}

// Metering says whether and how a metering agent scrapes the replicas.
type Metering struct {
	// Enabled turns scraping on.
	Enabled bool `json:"enabled,omitempty"`
	// Scheme is "http" (the default) or "https".
	Scheme string `json:"scheme,omitempty"`
	// Port is the container port serving the metrics; required when
	// Enabled.
	Port int `json:"port,omitempty"`
	// Path is the metrics path; "" means "/metrics".
	Path string `json:"path,omitempty"`
	// Interval between scrapes; 0 means 30 s.
	Interval time.Duration `json:"interval,omitempty"`
}

// ReplicaCount returns Replicas, or 1 when it is nil.
func (s *Spec) ReplicaCount() int {
	if s.Replicas == nil {
		return DefaultReplicas
	}
	return *s.Replicas
}

// WithDefaults returns s with every defaulted field of Update and Metering
// set to its default and Backend set to "engine" when empty. Replicas is
// left as it is (see [Spec.ReplicaCount]).
func (s Spec) WithDefaults() Spec {
	s.Update.Order = cmpOr(s.Update.Order, DefaultUpdateOrder)
	if s.Update.Batch == 0 {
		s.Update.Batch = DefaultUpdateBatch
	}
	if s.Update.Timeout == 0 {
		s.Update.Timeout = DefaultUpdateTimeout
	}
	if s.Update.StableFor == 0 {
		s.Update.StableFor = DefaultStableFor
	}
	s.Metering.Scheme = cmpOr(s.Metering.Scheme, DefaultMeteringScheme)
	s.Metering.Path = cmpOr(s.Metering.Path, DefaultMeteringPath)
	if s.Metering.Interval == 0 {
		s.Metering.Interval = DefaultMeteringEvery
	}
	s.Backend = cmpOr(s.Backend, "engine")
	return s
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

var dnsLabel = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)

// problems collects "field: text" lines.
type problems []error

func (p *problems) add(format string, a ...any) { *p = append(*p, fmt.Errorf(format, a...)) }

// under adds err's lines below prefix ("resources" + "memory: ..." gives
// "resources.memory: ...").
func (p *problems) under(prefix string, err error) {
	for _, e := range flatten(err) {
		msg := e.Error()
		if strings.HasPrefix(msg, "[") {
			*p = append(*p, errors.New(prefix+msg))
		} else {
			*p = append(*p, errors.New(prefix+"."+msg))
		}
	}
}

func (p problems) err() error { return errors.Join(p...) }

func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// ValidateName reports whether name is a valid application name, and
// what is wrong with it if not.
func ValidateName(name string) error {
	switch {
	case name == "":
		return errors.New("required: give the application a name (a DNS label such as web or billing-api)")
	case len(name) > MaxNameLength:
		return fmt.Errorf("%s: %d characters, at most %d allowed", strictyaml.Quote(name), len(name), MaxNameLength)
	case !dnsLabel.MatchString(name):
		return fmt.Errorf("%s: want a DNS label: lower-case letters, digits and '-', starting with a letter and not ending with '-'", strictyaml.Quote(name))
	}
	return nil
}

// Validate returns every problem of s joined, one error per problem, each
// starting with the field's key path ("resources.memory: ...",
// "ports[1]: ..."). It does not read env files (see [Spec.LoadEnvFiles]).
func (s Spec) Validate() error {
	var p problems
	if err := ValidateName(s.Name); err != nil {
		p.add("name: %v", err)
	}
	if strings.TrimSpace(s.Image) == "" {
		p.add("image: required: give the image reference the replicas run (it must be present on the engine)")
	} else if strings.ContainsAny(s.Image, " \t\n") {
		p.add("image: %s: a reference has no spaces", strictyaml.Quote(s.Image))
	}
	n := s.ReplicaCount()
	if n < 0 || n > 9999 {
		p.add("replicas: %d: want 0 to 9999", n)
	}
	for k := range s.Env {
		if err := validEnvName(k); err != nil {
			p.add("env.%s: %v", k, err)
		}
	}
	for i, f := range s.EnvFiles {
		if strings.TrimSpace(f) == "" {
			p.add("env_files[%d]: empty path", i)
		}
	}
	for i, ps := range s.Ports {
		pm, err := ParsePort(ps)
		if err != nil {
			p.add("ports[%d]: %v", i, err)
			continue
		}
		// On Swarm the routing mesh publishes one port for every replica.
		if n > 1 && pm.HostPort != 0 && pm.span() < n && s.Backend != "swarm" {
			if pm.span() == 1 {
				p.add("ports[%d]: %s: fixed host port %d with %d replicas: give a range with one port per replica (%d-%d:%d) or no host port", i, strictyaml.Quote(ps), pm.HostPort, n, pm.HostPort, int(pm.HostPort)+n-1, pm.ContainerPort)
			} else {
				p.add("ports[%d]: %s: host port range of %d ports for %d replicas: want one port per replica", i, strictyaml.Quote(ps), pm.span(), n)
			}
		}
	}
	for i, m := range s.Mounts {
		if err := m.Validate(); err != nil {
			p.under(fmt.Sprintf("mounts[%d]", i), err)
		}
	}
	for i, v := range s.Volumes {
		if !objectName.MatchString(v) {
			p.add("volumes[%d]: %s: want a volume name of letters, digits, '_', '.' and '-'", i, strictyaml.Quote(v))
		}
	}
	for i, nw := range s.Networks {
		if !objectName.MatchString(nw) {
			p.add("networks[%d]: %s: want a network name of letters, digits, '_', '.' and '-'", i, strictyaml.Quote(nw))
		} else if j := slices.Index(s.Networks, nw); j < i {
			p.add("networks[%d]: %s is also networks[%d]", i, strictyaml.Quote(nw), j)
		}
	}
	if err := s.Resources.Validate(); err != nil {
		p.under("resources", err)
	}
	if _, _, err := parseRestart(s.Restart); err != nil {
		p.add("restart: %v", err)
	}
	if s.Healthcheck != nil {
		if err := s.Healthcheck.Validate(); err != nil {
			p.under("healthcheck", err)
		}
	}
	for k := range s.Labels {
		if strings.HasPrefix(k, LabelApp) {
			p.add("labels.%s: keys starting with %q are set by minato", k, LabelApp)
		} else if k == "" {
			p.add("labels: empty key")
		}
	}
	if err := s.Update.Validate(); err != nil {
		p.under("update", err)
	}
	if err := s.Metering.Validate(); err != nil {
		p.under("metering", err)
	}
	switch s.Backend {
	case "", "engine", "swarm":
	default:
		p.add("backend: %s: want engine or swarm (empty means engine)", strictyaml.Quote(s.Backend))
	}
	return p.err()
}

var objectName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

func validEnvName(k string) error {
	if k == "" {
		return errors.New("empty variable name")
	}
	if strings.ContainsAny(k, "=\x00") || strings.TrimSpace(k) != k {
		return fmt.Errorf("%s: a variable name has no '=', NUL or surrounding spaces", strictyaml.Quote(k))
	}
	return nil
}

// Validate checks the mount.
func (m Mount) Validate() error {
	var p problems
	switch m.Type {
	case "bind":
		if m.Source == "" {
			p.add("source: required for a bind mount (a host path)")
		}
	case "volume":
		if m.Source != "" && !objectName.MatchString(m.Source) {
			p.add("source: %s: want a volume name of letters, digits, '_', '.' and '-'", strictyaml.Quote(m.Source))
		}
	case "tmpfs":
		if m.Source != "" {
			p.add("source: a tmpfs mount has no source")
		}
	default:
		p.add("type: %s: want bind, volume or tmpfs", strictyaml.Quote(m.Type))
	}
	if !path.IsAbs(m.Target) {
		p.add("target: %s: want an absolute path inside the container", strictyaml.Quote(m.Target))
	}
	return p.err()
}

// Validate checks the limits.
func (r Resources) Validate() error {
	var p problems
	if r.CPUs < 0 || math.IsNaN(r.CPUs) || r.CPUs > 1024 {
		p.add("cpus: %v: want 0 (no limit) or a number of CPUs such as 0.5 or 2", r.CPUs)
	}
	if r.Memory != "" {
		if _, err := ParseSize(r.Memory); err != nil {
			p.add("memory: %v", err)
		}
	}
	return p.err()
}

// Validate checks the health check.
func (h Healthcheck) Validate() error {
	var p problems
	switch {
	case len(h.Test) == 0:
		p.add("test: required: give [\"CMD\", program, args...], [\"CMD-SHELL\", command] or [\"NONE\"]")
	case (h.Test[0] == "CMD" || h.Test[0] == "CMD-SHELL") && len(h.Test) < 2:
		p.add("test: %s needs a command after it", h.Test[0])
	case h.Test[0] == "NONE" && len(h.Test) > 1:
		p.add("test: NONE takes no arguments")
	}
	if h.Retries < 0 {
		p.add("retries: %d: want 0 or more", h.Retries)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"interval", h.Interval}, {"timeout", h.Timeout}, {"start_period", h.StartPeriod}} {
		if d.v < 0 || (d.v > 0 && d.v < time.Millisecond) {
			p.add("%s: %v: want 0 (the engine default) or at least 1ms", d.name, d.v)
		}
	}
	return p.err()
}

// test returns the engine's form of Test.
func (h Healthcheck) test() []string {
	if len(h.Test) > 0 {
		switch h.Test[0] {
		case "CMD", "CMD-SHELL", "NONE":
			return h.Test
		}
	}
	return append([]string{"CMD"}, h.Test...)
}

// Validate checks the update settings.
func (u Update) Validate() error {
	var p problems
	switch u.Order {
	case "", "stop-first", "start-first":
	default:
		p.add("order: %s: want stop-first or start-first", strictyaml.Quote(u.Order))
	}
	if u.Batch < 0 {
		p.add("batch: %d: want 1 or more (0 means 1)", u.Batch)
	}
	if u.Timeout < 0 {
		p.add("timeout: %v: want a duration of 0 (60s) or more", u.Timeout)
	}
	if u.StableFor < 0 {
		p.add("stable_for: %v: want a duration of 0 (5s) or more", u.StableFor)
	}
	return p.err()
}

// Validate checks the metering settings.
func (m Metering) Validate() error {
	var p problems
	switch m.Scheme {
	case "", "http", "https":
	default:
		p.add("scheme: %s: want http or https", strictyaml.Quote(m.Scheme))
	}
	if m.Enabled && (m.Port < 1 || m.Port > 65535) {
		p.add("port: %d: want the container port serving the metrics, 1-65535", m.Port)
	} else if m.Port < 0 || m.Port > 65535 {
		p.add("port: %d: want 1-65535", m.Port)
	}
	if m.Path != "" && !strings.HasPrefix(m.Path, "/") {
		p.add("path: %s: want an absolute URL path such as /metrics", strictyaml.Quote(m.Path))
	}
	if m.Interval < 0 {
		p.add("interval: %v: want 0 (30s) or more", m.Interval)
	}
	return p.err()
}

// parseRestart splits "on-failure:N".
func parseRestart(s string) (string, int, error) {
	name, n, hasN := strings.Cut(s, ":")
	switch name {
	case "", "no", "always", "unless-stopped":
		if hasN {
			return "", 0, fmt.Errorf("%s: only on-failure takes a retry count", strictyaml.Quote(s))
		}
		return cmpOr(name, "no"), 0, nil
	case "on-failure":
		if !hasN {
			return name, 0, nil
		}
		r, err := strconv.Atoi(n)
		if err != nil || r < 0 {
			return "", 0, fmt.Errorf("%s: want on-failure:N with N a whole number of 0 or more", strictyaml.Quote(s))
		}
		return name, r, nil
	}
	return "", 0, fmt.Errorf("%s: want no, always, unless-stopped, on-failure or on-failure:N", strictyaml.Quote(s))
}

// PortMapping is a parsed entry of [Spec.Ports].
type PortMapping struct {
	// HostIP is the host address; "" means all.
	HostIP string `json:"host_ip,omitempty"`
	// HostPort is the (first) host port; 0 lets the engine choose.
	HostPort uint16 `json:"host_port,omitempty"`
	// HostLast is the last port of a host range; equal to HostPort for a
	// single port and 0 when HostPort is.
	HostLast uint16 `json:"host_last,omitempty"`
	// ContainerPort is the port inside the container.
	ContainerPort uint16 `json:"container_port"`
	// Protocol is "tcp", "udp" or "sctp".
	Protocol string `json:"protocol"`
}

func (m PortMapping) span() int {
	if m.HostPort == 0 {
		return 0
	}
	return int(m.HostLast) - int(m.HostPort) + 1
}

// ForReplica returns the host port replica i (from 1) publishes on: the
// i-th port of a range, HostPort itself for a single port, 0 for none.
func (m PortMapping) ForReplica(i int) uint16 {
	if m.HostPort == 0 || m.HostPort == m.HostLast {
		return m.HostPort
	}
	return m.HostPort + uint16(i-1)
}

// ParsePort parses "[HOST_IP:][HOST_PORT[-LAST]:]CONTAINER_PORT[/PROTO]";
// an IPv6 host address is bracketed ("[::1]:8080:80"), and
// "HOST_IP::CONTAINER_PORT" publishes on a port the engine chooses.
func ParsePort(s string) (PortMapping, error) {
	bad := func(why string) (PortMapping, error) {
		return PortMapping{}, fmt.Errorf("%s: %s (want [HOST_IP:][HOST_PORT[-LAST]:]CONTAINER_PORT[/tcp|udp|sctp], e.g. 8080:80/tcp)", strictyaml.Quote(s), why)
	}
	m := PortMapping{Protocol: "tcp"}
	rest := s
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		m.Protocol = rest[i+1:]
		rest = rest[:i]
		switch m.Protocol {
		case "tcp", "udp", "sctp":
		default:
			return bad("protocol " + strictyaml.Quote(m.Protocol) + " is not tcp, udp or sctp")
		}
	}
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]:")
		if end < 0 {
			return bad("unclosed IPv6 address")
		}
		m.HostIP = rest[1:end]
		rest = rest[end+2:]
		if _, err := netip.ParseAddr(m.HostIP); err != nil || !strings.Contains(m.HostIP, ":") {
			return bad("host address " + strictyaml.Quote(m.HostIP) + " is not an IPv6 address")
		}
		if !strings.Contains(rest, ":") {
			rest = ":" + rest
		}
	}
	parts := strings.Split(rest, ":")
	var host, ctr string
	switch len(parts) {
	case 1:
		ctr = parts[0]
	case 2:
		host, ctr = parts[0], parts[1]
	case 3:
		if m.HostIP != "" {
			return bad("too many ':'")
		}
		m.HostIP, host, ctr = parts[0], parts[1], parts[2]
		if _, err := netip.ParseAddr(m.HostIP); err != nil || strings.Contains(m.HostIP, ":") {
			return bad("host address " + strictyaml.Quote(m.HostIP) + " is not an IPv4 address (bracket IPv6 ones)")
		}
	default:
		return bad("too many ':'")
	}
	cp, err := portNumber(ctr)
	if err != nil {
		if strings.Contains(ctr, "-") {
			return bad("container port ranges are not supported")
		}
		return bad("container port: " + err.Error())
	}
	m.ContainerPort = cp
	if host != "" {
		first, last, isRange := strings.Cut(host, "-")
		hp, err := portNumber(first)
		if err != nil {
			return bad("host port: " + err.Error())
		}
		m.HostPort, m.HostLast = hp, hp
		if isRange {
			hl, err := portNumber(last)
			if err != nil {
				return bad("last host port: " + err.Error())
			}
			if hl < hp {
				return bad("host port range ends before it starts")
			}
			m.HostLast = hl
		}
	}
	return m, nil
}

func portNumber(s string) (uint16, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%s is not a port number 1-65535", strictyaml.Quote(s))
	}
	return uint16(n), nil
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "ki": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mi": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gi": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "ti": 1 << 40, "tib": 1 << 40,
}

// ParseSize parses a memory size: a number (decimals allowed) followed by
// an optional unit b, k, m, g, t, Ki, Mi, Gi, Ti, KB, MB, GB, TB (any case,
// all powers of 1024, as docker run -m reads them). The result is whole
// bytes, at least 1 and at most 1 PiB.
func ParseSize(s string) (int64, error) {
	bad := fmt.Errorf("%s: want a size such as 512Mi or 1g", strictyaml.Quote(s))
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	if i == 0 {
		return 0, bad
	}
	unit, ok := sizeUnits[strings.ToLower(t[i:])]
	if !ok {
		return 0, bad
	}
	f, err := strconv.ParseFloat(t[:i], 64)
	if err != nil {
		return 0, bad
	}
	v := f * float64(unit)
	if v < 1 || v > float64(int64(1)<<50) {
		return 0, fmt.Errorf("%s: want a size between 1 byte and 1 PiB", strictyaml.Quote(s))
	}
	return int64(v), nil
}

// Environment returns the replicas' environment: the loaded EnvFiles'
// values overridden by Env. Before [Spec.LoadEnvFiles] it is Env alone.
// The map is new.
func (s *Spec) Environment() map[string]string {
	out := maps.Clone(s.fileEnv)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, s.Env)
	return out
}

// The labels by which the metering agent (package container/app/metering)
// finds the replicas it scrapes; set on every replica of an application
// whose Metering is enabled.
const (
	LabelMeteringPort     = "minato.metering.port"
	LabelMeteringPath     = "minato.metering.path"
	LabelMeteringScheme   = "minato.metering.scheme"
	LabelMeteringInterval = "minato.metering.interval"
)

// meteringLabels returns the metering labels of s's replicas, nil when
// metering is off.
func (s *Spec) meteringLabels() map[string]string {
	m := s.Metering
	if !m.Enabled {
		return nil
	}
	l := map[string]string{LabelMeteringPort: strconv.Itoa(m.Port), LabelMeteringPath: cmp.Or(m.Path, "/metrics"), LabelMeteringScheme: cmp.Or(m.Scheme, "http")}
	if m.Interval > 0 {
		l[LabelMeteringInterval] = m.Interval.String()
	}
	return l
}
