package docker_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/minato-ops/minato/diag"
	"github.com/minato-ops/minato/diag/docker"
)

// now is the fixed clock of the fixture tests.
var now = time.Date(2026, 5, 7, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// binding is one docker run -p of a fake container.
type binding struct{ ip, port string }

// fakeCtr describes a container of the fake engine; the zero value with a
// name is a well-configured running container.
type fakeCtr struct {
	Name, State string // State default "running"
	Image       string
	Labels      map[string]string
	Restart     string // default "unless-stopped"; "-" for none stored ("")
	MaxRetries  int
	AutoRemove  bool
	Memory      int64 // default 256 MiB; -1 for none
	Init        *bool // default true, unless InitUnset
	InitUnset   bool
	Privileged  bool
	LogType     string            // default "json-file"
	LogOpts     map[string]string // default max-size 10m
	Ports       map[string][]binding
	NetworkMode string
	Mounts      []container.Mount
	Health      []string // default CMD true; ["NONE"] disables
	NoHealth    bool
	Entrypoint  []string
	Cmd         []string
	OOM         bool
	Exit        int
	Restarts    int
	StartedAt   time.Time // default an hour before now
	FinishedAt  time.Time
}

func idOf(name string) string {
	s := sha256.Sum256([]byte(name))
	return hex.EncodeToString(s[:])
}

func (c fakeCtr) state() string {
	if c.State == "" {
		return "running"
	}
	return c.State
}

func (c fakeCtr) summary() map[string]any {
	var ports []map[string]any
	if c.state() == "running" {
		for key, bs := range c.Ports {
			num, proto, _ := strings.Cut(key, "/")
			n, _ := strconv.Atoi(num)
			for _, b := range bs {
				p, err := strconv.Atoi(b.port)
				if err != nil {
					continue
				}
				ip := b.ip
				if ip == "" {
					ip = "0.0.0.0"
				}
				ports = append(ports, map[string]any{"IP": ip, "PrivatePort": n, "PublicPort": p, "Type": proto})
			}
		}
	}
	return map[string]any{
		"Id": idOf(c.Name), "Names": []string{"/" + c.Name}, "Image": c.image(), "State": c.state(), "Status": c.state(),
		"Labels": c.Labels, "Ports": ports, "HostConfig": map[string]any{"NetworkMode": c.netMode()},
	}
}

func (c fakeCtr) image() string {
	if c.Image == "" {
		return "app:1.0"
	}
	return c.Image
}

func (c fakeCtr) netMode() string {
	if c.NetworkMode == "" {
		return "bridge"
	}
	return c.NetworkMode
}

func (c fakeCtr) inspect() map[string]any {
	restart := c.Restart
	switch restart {
	case "":
		restart = "unless-stopped"
	case "-":
		restart = ""
	}
	mem := c.Memory
	switch mem {
	case 0:
		mem = 256 << 20
	case -1:
		mem = 0
	}
	init := c.Init
	if init == nil && !c.InitUnset {
		init = ptr(true)
	}
	logType, logOpts := c.LogType, c.LogOpts
	if logType == "" {
		logType = "json-file"
		if logOpts == nil {
			logOpts = map[string]string{"max-size": "10m", "max-file": "3"}
		}
	}
	var health any
	switch {
	case c.NoHealth:
	case c.Health != nil:
		health = map[string]any{"Test": c.Health}
	default:
		health = map[string]any{"Test": []string{"CMD", "true"}}
	}
	started := c.StartedAt
	if started.IsZero() && c.state() != "created" {
		started = now.Add(-time.Hour)
	}
	bindings := map[string]any{}
	for key, bs := range c.Ports {
		var list []map[string]string
		for _, b := range bs {
			list = append(list, map[string]string{"HostIp": b.ip, "HostPort": b.port})
		}
		bindings[key] = list
	}
	var mounts []map[string]any
	for _, m := range c.Mounts {
		mounts = append(mounts, map[string]any{"Type": m.Type, "Name": m.Name, "Source": m.Source, "Destination": m.Destination, "RW": m.RW})
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "0001-01-01T00:00:00Z"
		}
		return t.Format(time.RFC3339Nano)
	}
	return map[string]any{
		"Id": idOf(c.Name), "Name": "/" + c.Name, "Image": "sha256:" + idOf(c.image()), "RestartCount": c.Restarts,
		"State": map[string]any{
			"Status": c.state(), "Running": c.state() == "running", "Restarting": c.state() == "restarting",
			"OOMKilled": c.OOM, "ExitCode": c.Exit, "StartedAt": ts(started), "FinishedAt": ts(c.FinishedAt),
		},
		"HostConfig": map[string]any{
			"RestartPolicy": map[string]any{"Name": restart, "MaximumRetryCount": c.MaxRetries},
			"AutoRemove":    c.AutoRemove, "Init": init, "Privileged": c.Privileged, "NetworkMode": c.netMode(),
			"Memory": mem, "LogConfig": map[string]any{"Type": logType, "Config": logOpts}, "PortBindings": bindings,
		},
		"Config": map[string]any{
			"Image": c.image(), "Labels": c.Labels, "Entrypoint": c.Entrypoint, "Cmd": c.Cmd, "Healthcheck": health,
			"Env": []string{"DB_PASSWORD=hunter2"},
		},
		"Mounts": mounts,
	}
}

// fakeEngine is enginetest's fake engine with fixtures written from Go
// values, plus the disk-usage and network endpoints the checks call.
type fakeEngine struct {
	t   *testing.T
	dir string
	srv *enginetest.Server
	c   *container.Client

	mu       sync.Mutex
	df       map[string]any
	dfHook   http.HandlerFunc // when set, answers /system/df instead of df
	networks []map[string]any
}

func newFakeEngine(t *testing.T, info map[string]any, ctrs []fakeCtr, opts ...enginetest.Option) *fakeEngine {
	t.Helper()
	fe := &fakeEngine{t: t, dir: t.TempDir(), df: map[string]any{"LayersSize": 0}, networks: []map[string]any{
		{"Name": "bridge", "Id": "b1", "Driver": "bridge", "Scope": "local"},
		{"Name": "host", "Id": "h1", "Driver": "host", "Scope": "local"},
	}}
	if info == nil {
		info = healthyInfo()
	}
	fe.writeJSON("info.json", info)
	fe.setContainers(ctrs)
	opts = append(opts,
		enginetest.WithHandler("GET", "/system/df", func(w http.ResponseWriter, r *http.Request) {
			fe.mu.Lock()
			defer fe.mu.Unlock()
			if fe.dfHook != nil {
				fe.dfHook(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(fe.df)
		}),
		enginetest.WithHandler("GET", "/networks", func(w http.ResponseWriter, _ *http.Request) {
			fe.mu.Lock()
			defer fe.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(fe.networks)
		}),
	)
	fe.srv = enginetest.NewServer(t, fe.dir, opts...)
	c, err := container.New(container.Config{Host: fe.srv.URL})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	fe.c = c
	return fe
}

func healthyInfo() map[string]any {
	return map[string]any{
		"ID": "ABCD:EFGH", "Name": "node1", "ServerVersion": "24.0.7", "Driver": "overlay2",
		"DriverStatus": [][2]string{{"Backing Filesystem", "extfs"}, {"Supports d_type", "true"}, {"Using metacopy", "false"}},
		"CgroupDriver": "systemd", "CgroupVersion": "2", "DockerRootDir": "/var/lib/docker", "LoggingDriver": "json-file",
		"SystemTime": now.Format(time.RFC3339Nano), "OSType": "linux", "OperatingSystem": "Ubuntu 22.04.4 LTS",
	}
}

func (fe *fakeEngine) writeJSON(name string, v any) {
	fe.t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	require.NoError(fe.t, err)
	require.NoError(fe.t, os.WriteFile(filepath.Join(fe.dir, name), b, 0o644))
}

func (fe *fakeEngine) setContainers(ctrs []fakeCtr) {
	fe.t.Helper()
	old, _ := filepath.Glob(filepath.Join(fe.dir, "inspect_*.json"))
	for _, f := range old {
		require.NoError(fe.t, os.Remove(f))
	}
	list := []map[string]any{}
	for _, c := range ctrs {
		list = append(list, c.summary())
		fe.writeJSON("inspect_"+idOf(c.Name)+".json", c.inspect())
	}
	fe.writeJSON("containers.json", list)
}

// requests counts the requests with this method and path prefix.
func (fe *fakeEngine) requests(method, prefix string) int {
	n := 0
	for _, r := range fe.srv.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

// checks returns the checks with the fixture clock and no host checks.
func (fe *fakeEngine) checks(o docker.Options) []diag.Check {
	if o.Now == nil {
		o.Now = func() time.Time { return now }
	}
	return docker.Checks(fe.c, o)
}

// runCheck runs the check with the given ID.
func runCheck(t *testing.T, checks []diag.Check, id string) ([]diag.Finding, error) {
	t.Helper()
	for _, c := range checks {
		if c.Info().ID == id {
			return c.Run(context.Background())
		}
	}
	t.Fatalf("no check %s", id)
	return nil, nil
}

// codes lists "container-or-engine code" for each finding, sorted.
func codes(fs []diag.Finding) []string {
	var out []string
	for _, f := range fs {
		n := f.Subject.Name
		if f.Subject.Kind == diag.SubjectEngine {
			n = "engine"
		}
		out = append(out, n+" "+f.Code)
	}
	slices.Sort(out)
	return out
}

func findCode(fs []diag.Finding, subject, code string) (diag.Finding, bool) {
	for _, f := range fs {
		if f.Code == code && (subject == "" || f.Subject.Name == subject) {
			return f, true
		}
	}
	return diag.Finding{}, false
}
