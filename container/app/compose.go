package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// Warning is a part of a Compose file that has no equivalent in a [Spec]
// and was left out.
type Warning struct {
	// Service is the service ("" for a top-level key).
	Service string `json:"service,omitempty"`
	// Key is the key path within the service (or the top-level key).
	Key string `json:"key"`
	// Message says what was left out and why.
	Message string `json:"message"`
}

// String renders the warning as "services.web.build: not supported: ...".
func (w Warning) String() string {
	if w.Service == "" {
		return w.Key + ": " + w.Message
	}
	return "services." + w.Service + "." + w.Key + ": " + w.Message
}

// ComposeInput is a Compose file for [ParseCompose].
type ComposeInput struct {
	// Path is the file's path. Relative paths in the file (env_file, bind
	// mounts) are resolved against its directory. With Data set it only
	// names the file and sets that directory ("" means the working
	// directory).
	Path string
	// Data is the file's content; nil means read Path.
	Data []byte
	// Env is the environment ${VAR} interpolation reads; nil means none
	// (unset variables give compose-go's warnings and defaults).
	Env map[string]string
}

// composeMapped are the service keys that map to a Spec.
var composeMapped = []string{
	"image", "command", "entrypoint", "environment", "env_file", "ports", "volumes", "networks",
	"deploy", "restart", "healthcheck", "labels", "mem_limit", "cpus",
}

// ParseCompose loads a Compose file with compose-go (interpolation,
// extends, env_file reading and validation are compose-go's) and maps
// each service to a Spec: image, command, entrypoint, environment and
// env_file (merged into Env), ports, volumes (bind, volume, tmpfs),
// networks, deploy.replicas, deploy.resources.limits (cpus, memory; also
// the service-level cpus and mem_limit), restart, healthcheck and labels.
// Every other key, service-level or top-level (build, secrets, configs,
// depends_on, ...), is returned as a [Warning] naming the service and key:
// nothing is dropped silently.
//
// Applications are named "<project>-<service>", or after the service
// alone when project is "" (compose-go then takes the project name from
// the file or its directory, which names its volumes and networks). Named
// volumes and networks declared at the top level (not external) become
// the application's own Volumes and Networks under compose's names
// ("<project>_data"). The specs are validated; an invalid one is an
// error naming the service.
func ParseCompose(ctx context.Context, in ComposeInput, project string) ([]Spec, []Warning, error) {
	dir, err := os.Getwd()
	if in.Path != "" {
		dir, err = filepath.Abs(filepath.Dir(in.Path))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("compose: %w", err)
	}
	name := cmpOr(in.Path, "compose.yaml")
	details := types.ConfigDetails{WorkingDir: dir, ConfigFiles: []types.ConfigFile{{Filename: name, Content: in.Data}}, Environment: maps.Clone(in.Env)}
	if details.Environment == nil {
		details.Environment = types.Mapping{}
	}
	compProject := project
	if compProject == "" {
		compProject = loader.NormalizeProjectName(filepath.Base(dir))
	}
	setName := func(o *loader.Options) { o.SetProjectName(compProject, project != "") }
	raw, err := loader.LoadModelWithContext(ctx, details, setName, func(o *loader.Options) {
		o.SkipNormalization, o.SkipResolveEnvironment, o.SkipConsistencyCheck = true, true, true
	})
	if err != nil {
		return nil, nil, fmt.Errorf("compose: %s: %w", name, err)
	}
	p, err := loader.LoadWithContext(ctx, details, setName)
	if err != nil {
		return nil, nil, fmt.Errorf("compose: %s: %w", name, err)
	}
	var warns []Warning
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		switch {
		case k == "services", k == "volumes", k == "networks", k == "name", k == "version":
		case strings.HasPrefix(k, "x-"):
		default:
			warns = append(warns, Warning{Key: k, Message: "top-level key not supported by minato applications: ignored"})
		}
	}
	rawServices, _ := raw["services"].(map[string]any)
	var specs []Spec
	var errs []error
	for _, svcName := range slices.Sorted(maps.Keys(p.Services)) {
		svc := p.Services[svcName]
		rs, _ := rawServices[svcName].(map[string]any)
		s, w := composeService(p, svc, rs)
		if project != "" {
			s.Name = project + "-" + svcName
		}
		warns = append(warns, w...)
		if err := s.Validate(); err != nil {
			for _, e := range flatten(err) {
				errs = append(errs, fmt.Errorf("services.%s: %v", svcName, e))
			}
			continue
		}
		specs = append(specs, s)
	}
	if len(errs) > 0 {
		return nil, warns, fmt.Errorf("compose: %s: %w", name, errors.Join(errs...))
	}
	return specs, warns, nil
}

func composeService(p *types.Project, svc types.ServiceConfig, raw map[string]any) (Spec, []Warning) {
	var warns []Warning
	warn := func(key, msg string) { warns = append(warns, Warning{Service: svc.Name, Key: key, Message: msg}) }
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if strings.HasPrefix(k, "x-") || slices.Contains(composeMapped, k) {
			continue
		}
		switch k {
		case "build":
			warn(k, "not supported: minato does not build images; build and push it, then give image")
		case "depends_on":
			warn(k, "not kept: applications are reconciled independently, in no start order")
		default:
			warn(k, "not supported by minato applications: ignored")
		}
	}
	s := Spec{Name: svc.Name, Image: svc.Image, Command: svc.Command, Entrypoint: svc.Entrypoint, Restart: svc.Restart}
	if len(svc.Environment) > 0 {
		s.Env = map[string]string{}
		for _, k := range slices.Sorted(maps.Keys(svc.Environment)) {
			if v := svc.Environment[k]; v != nil {
				s.Env[k] = *v
			} else {
				warn("environment."+k, "no value (not set in the environment given): left out")
			}
		}
	}
	if svc.Labels != nil {
		s.Labels = maps.Clone(map[string]string(svc.Labels))
		for k := range s.Labels {
			if strings.HasPrefix(k, "com.docker.compose.") {
				delete(s.Labels, k)
			}
		}
		if len(s.Labels) == 0 {
			s.Labels = nil
		}
	}
	for i, pc := range svc.Ports {
		key := "ports[" + strconv.Itoa(i) + "]"
		if pc.Mode == "host" || pc.Mode == "" || pc.Mode == "ingress" {
			port := strconv.Itoa(int(pc.Target))
			if pc.Published != "" {
				port = pc.Published + ":" + port
			}
			if pc.HostIP != "" {
				ip := pc.HostIP
				if strings.Contains(ip, ":") {
					ip = "[" + ip + "]"
				}
				if pc.Published == "" {
					port = ":" + port
				}
				port = ip + ":" + port
			}
			if pc.Protocol != "" {
				port += "/" + pc.Protocol
			}
			s.Ports = append(s.Ports, port)
		} else {
			warn(key, "mode "+strconv.Quote(pc.Mode)+" not supported: ignored")
		}
	}
	for i, v := range svc.Volumes {
		key := "volumes[" + strconv.Itoa(i) + "]"
		m := Mount{Type: v.Type, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}
		switch v.Type {
		case types.VolumeTypeBind, types.VolumeTypeTmpfs:
		case types.VolumeTypeVolume:
			if vc, ok := p.Volumes[v.Source]; ok {
				m.Source = vc.Name
				if !bool(vc.External) && !slices.Contains(s.Volumes, vc.Name) {
					s.Volumes = append(s.Volumes, vc.Name)
				}
			}
		default:
			warn(key, "type "+strconv.Quote(v.Type)+" not supported: ignored")
			continue
		}
		s.Mounts = append(s.Mounts, m)
	}
	if _, explicit := raw["networks"]; explicit {
		for _, n := range slices.Sorted(maps.Keys(svc.Networks)) {
			name := n
			if nc, ok := p.Networks[n]; ok && nc.Name != "" {
				name = nc.Name
			}
			s.Networks = append(s.Networks, name)
		}
	}
	if svc.CPUS > 0 {
		s.Resources.CPUs = float64(svc.CPUS)
	}
	if svc.MemLimit > 0 {
		s.Resources.Memory = strconv.FormatInt(int64(svc.MemLimit), 10)
	}
	if d := svc.Deploy; d != nil {
		if d.Replicas != nil {
			n := *d.Replicas
			s.Replicas = &n
		}
		if l := d.Resources.Limits; l != nil {
			if l.NanoCPUs > 0 {
				s.Resources.CPUs = float64(l.NanoCPUs)
			}
			if l.MemoryBytes > 0 {
				s.Resources.Memory = strconv.FormatInt(int64(l.MemoryBytes), 10)
			}
		}
		if rd, ok := raw["deploy"].(map[string]any); ok {
			for _, k := range slices.Sorted(maps.Keys(rd)) {
				switch k {
				case "replicas":
				case "resources":
					if rr, ok := rd[k].(map[string]any); ok {
						for _, rk := range slices.Sorted(maps.Keys(rr)) {
							if rk != "limits" {
								warn("deploy.resources."+rk, "only limits (cpus, memory) are supported: ignored")
							}
						}
					}
				default:
					warn("deploy."+k, "not supported by minato applications: ignored")
				}
			}
		}
	}
	if h := svc.HealthCheck; h != nil {
		hc := &Healthcheck{Test: h.Test}
		if h.Disable {
			hc.Test = []string{"NONE"}
		}
		if h.Interval != nil {
			hc.Interval = time.Duration(*h.Interval)
		}
		if h.Timeout != nil {
			hc.Timeout = time.Duration(*h.Timeout)
		}
		if h.StartPeriod != nil {
			hc.StartPeriod = time.Duration(*h.StartPeriod)
		}
		if h.Retries != nil {
			hc.Retries = int(*h.Retries)
		}
		if h.StartInterval != nil {
			warn("healthcheck.start_interval", "not supported: ignored")
		}
		if len(hc.Test) > 0 {
			s.Healthcheck = hc
		}
	}
	return s, warns
}
