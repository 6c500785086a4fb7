package docker

import (
	"cmp"
	"context"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/diag"
	"github.com/minato-ops/minato/diag/host"
	"github.com/minato-ops/minato/inventory"
)

// Check IDs, stable across releases.
const (
	CheckEngine      = "engine.reachable"
	CheckWarnings    = "engine.warnings"
	CheckStorage     = "engine.storage"
	CheckCgroup      = "engine.cgroup"
	CheckClock       = "engine.clock"
	CheckDNS         = "engine.dns"
	CheckReclaimable = "engine.reclaimable"
	CheckPorts       = "container.ports"
	CheckHygiene     = "container.hygiene"
	CheckCrashes     = "container.crashes"
)

// Finding codes that are not rows of the Container Service FAQ's
// catalogue. The FAQ's rows used here are D03 (reserved host port), D04
// (host-port conflict), D20 (DNS inside containers) and D30 (clock).
const (
	CodeUnreachable     = "engine.unreachable"
	CodeAPITooOld       = "engine.api_too_old"
	CodeEngineWarning   = "engine.warning"
	CodeStorageDriver   = "engine.storage_driver"
	CodeCgroupDriver    = "engine.cgroup_driver"
	CodeDNSNotChecked   = "engine.dns_not_checked"
	CodeNoRestartPolicy = "container.no_restart_policy"
	CodeNoMemoryLimit   = "container.no_memory_limit"
	CodeNoHealthcheck   = "container.no_healthcheck"
	CodeNoInit          = "container.no_init"
	CodePrivileged      = "container.privileged"
	CodeDockerSocket    = "container.docker_socket"
	CodeUnboundedLog    = "container.unbounded_log"
	CodeOOMKilled       = "container.oom_killed"
	CodeRestartLoop     = "container.restart_loop"
	CodeRestartGaveUp   = "container.restart_gave_up"
	CodeDanglingImages  = "image.dangling"
	CodeUnusedVolumes   = "volume.unused"
)

// Defaults of [Options].
const (
	DefaultRestartLoopRestarts = 5
	DefaultRestartLoopWithin   = time.Minute
	DefaultClockWarn           = time.Second
	DefaultClockCritical       = 30 * time.Second
	DefaultDNSSlow             = 2 * time.Second
	DefaultDNSTimeout          = 20 * time.Second
	DefaultReclaimWarnBytes    = 5 << 30
	DefaultConcurrency         = 8
	// SnapshotReuse is how long the container checks made by one
	// [Checks] call share one listing of the engine's containers: a
	// listing finished less than this long ago (or still being made) is
	// reused, so that a run of all checks lists and inspects each
	// container once.
	SnapshotReuse = 2 * time.Second
)

// ProbeLabel is set on the network and containers the DNS check creates
// (value "dns-probe"), so that leftovers of an interrupted run can be
// found: docker rm -f $(docker ps -aq --filter label=minato.diag).
const ProbeLabel = "minato.diag"

// Options configure [Checks]. The zero value checks every container of
// the engine with the defaults below.
type Options struct {
	// Engine names the engine in findings; default the client's host
	// ("unix:///var/run/docker.sock").
	Engine string `json:"engine,omitempty"`
	// Selector picks the containers the container checks judge; the zero
	// Selector picks all. Host ports are an engine-wide resource: the
	// port check also counts the ports unselected containers claim, and
	// reports a conflict on the selected container whose start would
	// fail.
	Selector inventory.Selector `json:"selector,omitzero"`
	// Host configures the host checks (package diag/host), which run on
	// the engine's host: they are included when Host is set or the engine
	// is local (a unix socket), unless SkipHost. Their Engine hook is
	// filled in from this engine when Host.Engine is nil. (minato in a
	// container with the engine's socket counts as local: give it
	// --network host and the host's root as Host.Root, or set SkipHost.)
	Host     *host.Options `json:"host,omitempty"`
	SkipHost bool          `json:"skip_host,omitempty"`
	// Now is the local clock; default time.Now. A test seam.
	Now func() time.Time `json:"-"`
	// ReservedPorts are host ports no container may publish (D03). None
	// by default: the Container Service reserves 9080 (its routing
	// service), 2376 and 3376 on its nodes, and other platforms reserve
	// others, so say which apply to this engine.
	ReservedPorts []int `json:"reserved_ports,omitempty"`
	// RestartLoop says when restarts make a loop.
	RestartLoop RestartLoop `json:"restart_loop,omitzero"`
	// ClockWarn and ClockCritical are the clock differences between the
	// engine and this machine, beyond the request's round trip, from
	// which engine.clock warns (default 1 s) and reports a Critical
	// (default 30 s).
	ClockWarn     time.Duration `json:"clock_warn,omitempty"`
	ClockCritical time.Duration `json:"clock_critical,omitempty"`
	// ProbeImage is an image already on the engine (minato never pulls)
	// that has getent or nslookup, for the DNS check: empty skips that
	// check with an Info finding saying so.
	ProbeImage string `json:"probe_image,omitempty"`
	// DNSNames are names outside the engine (a registry, a database host)
	// the DNS check resolves from inside a container besides the probe
	// container's own name, which tests the engine's embedded DNS.
	DNSNames []string `json:"dns_names,omitempty"`
	// DNSSlow is the lookup time from which a name counts as slow
	// (default 2 s); DNSTimeout bounds each lookup (default 20 s).
	DNSSlow    time.Duration `json:"dns_slow,omitempty"`
	DNSTimeout time.Duration `json:"dns_timeout,omitempty"`
	// ProbeLabels are added to the DNS check's network and containers
	// (besides ProbeLabel).
	ProbeLabels map[string]string `json:"probe_labels,omitempty"`
	// ReclaimWarnBytes is the space held by dangling images or by unused
	// volumes from which engine.reclaimable warns (default 5 GiB); below
	// it the finding is Info.
	ReclaimWarnBytes int64 `json:"reclaim_warn_bytes,omitempty"`
	// Concurrency is how many containers are inspected at once (default 8).
	Concurrency int `json:"concurrency,omitempty"`
}

// RestartLoop says when a container's restarts count as a loop: it is
// restarting now, or the engine restarted it at least Restarts times
// (default 5) and its last start is less than Within ago (default 1 min).
type RestartLoop struct {
	Restarts int           `json:"restarts,omitempty"`
	Within   time.Duration `json:"within,omitempty"`
}

func (o Options) withDefaults(c *container.Client) Options {
	o.Engine = cmp.Or(o.Engine, c.Host())
	if o.Now == nil {
		o.Now = time.Now
	}
	o.RestartLoop.Restarts = cmp.Or(max(o.RestartLoop.Restarts, 0), DefaultRestartLoopRestarts)
	o.RestartLoop.Within = cmp.Or(max(o.RestartLoop.Within, 0), DefaultRestartLoopWithin)
	o.ClockWarn = cmp.Or(max(o.ClockWarn, 0), DefaultClockWarn)
	o.ClockCritical = cmp.Or(max(o.ClockCritical, 0), DefaultClockCritical)
	o.DNSSlow = cmp.Or(max(o.DNSSlow, 0), DefaultDNSSlow)
	o.DNSTimeout = cmp.Or(max(o.DNSTimeout, 0), DefaultDNSTimeout)
	o.ReclaimWarnBytes = cmp.Or(max(o.ReclaimWarnBytes, 0), DefaultReclaimWarnBytes)
	o.Concurrency = cmp.Or(max(o.Concurrency, 0), DefaultConcurrency)
	return o
}

// Checks returns the engine and container checks for the engine c talks
// to, followed by the host checks when they apply (see [Options.Host]).
// They contact the engine when they run, not here; c must stay open while
// they are used. The checks are safe for concurrent use, and the
// container checks share one listing of the engine's containers (see
// [SnapshotReuse]).
//
// When the engine cannot be reached, engine.reachable reports it as a
// Critical finding and the other checks return errors.
func Checks(c *container.Client, o Options) []diag.Check {
	o = o.withDefaults(c)
	e := &checker{c: c, o: o, snaps: &loader{}}
	checks := []diag.Check{
		diag.NewCheck(diag.CheckInfo{ID: CheckEngine, Title: "Engine reachable", Subject: diag.SubjectEngine}, e.reachable),
		diag.NewCheck(diag.CheckInfo{ID: CheckWarnings, Title: "Engine reports no warnings", Subject: diag.SubjectEngine}, e.warnings),
		diag.NewCheck(diag.CheckInfo{ID: CheckStorage, Title: "Storage driver fit for use", Subject: diag.SubjectEngine}, e.storage),
		diag.NewCheck(diag.CheckInfo{ID: CheckCgroup, Title: "Cgroup driver matches the init system", Subject: diag.SubjectEngine}, e.cgroup),
		diag.NewCheck(diag.CheckInfo{ID: CheckClock, Title: "Engine clock agrees with this machine", Subject: diag.SubjectEngine, Reference: "D30"}, e.clock),
		diag.NewCheck(diag.CheckInfo{ID: CheckDNS, Title: "DNS works inside containers", Subject: diag.SubjectEngine, Reference: "D20"}, e.dns),
		diag.NewCheck(diag.CheckInfo{ID: CheckPorts, Title: "No host-port conflicts", Subject: diag.SubjectContainer, Reference: "D03, D04"}, e.ports),
		diag.NewCheck(diag.CheckInfo{ID: CheckHygiene, Title: "Containers configured for operation", Subject: diag.SubjectContainer}, e.hygiene),
		diag.NewCheck(diag.CheckInfo{ID: CheckCrashes, Title: "No OOM kills or restart loops", Subject: diag.SubjectContainer}, e.crashes),
		diag.NewCheck(diag.CheckInfo{ID: CheckReclaimable, Title: "Little space held by unused images and volumes", Subject: diag.SubjectEngine}, e.reclaimable),
	}
	if !o.SkipHost && (o.Host != nil || c.Local()) {
		var ho host.Options
		if o.Host != nil {
			ho = *o.Host
		}
		if ho.Engine == nil {
			ho.Engine = e.hostFacts
		}
		checks = append(checks, host.Checks(ho)...)
	}
	return checks
}

// checker holds what the checks of one [Checks] call share.
type checker struct {
	c     *container.Client
	o     Options
	snaps *loader
}

func (e *checker) engineSubject() diag.Subject {
	return diag.Subject{Kind: diag.SubjectEngine, Name: e.o.Engine}
}

func (e *checker) containerSubject(id, name string) diag.Subject {
	return diag.Subject{Kind: diag.SubjectContainer, ID: id, Name: name, Engine: e.o.Engine}
}

// hostFacts tells the host checks the engine's data root and bridge
// networks.
func (e *checker) hostFacts(ctx context.Context) (host.EngineFacts, error) {
	info, err := e.c.Info(ctx)
	if err != nil {
		return host.EngineFacts{}, err
	}
	nets, err := e.c.ListNetworks(ctx, container.ListNetworksOptions{})
	if err != nil {
		return host.EngineFacts{}, err
	}
	f := host.EngineFacts{DataRoot: info.DockerRootDir}
	for _, n := range nets.Networks {
		if n.Driver == "bridge" {
			f.BridgeNetworks = append(f.BridgeNetworks, n.Name)
		}
	}
	return f, nil
}
