package dockertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// RequireEnv is the variable that turns "skip when no daemon" into "fail":
// when os.Getenv(RequireEnv) == "1", New calls t.Fatal instead of t.Skip if
// the engine cannot be reached.
const RequireEnv = "MINATO_REQUIRE_DOCKER"

// LabelKey is set on every object the harness creates ("minato.test"). On
// containers and networks its value is the creating Harness's run ID
// (Harness.RunID); on the test image it is "image".
const LabelKey = "minato.test"

// NameLabelKey is set on every container and network the harness creates;
// its value is the name (testing.TB.Name) of the test that created it.
const NameLabelKey = "minato.test.name"

// Timeouts used by the harness for individual engine calls.
const (
	pingTimeout    = 5 * time.Second
	callTimeout    = 30 * time.Second
	cleanupTimeout = 30 * time.Second
	pollInterval   = 50 * time.Millisecond
)

// Harness is a connection to the local Docker Engine plus a unique run ID
// that labels every container and network it creates. A Harness is safe for
// concurrent use by parallel subtests of the test that created it; it must
// not be used after that test (and its cleanups) have finished, because New
// registers a cleanup that closes Client.
type Harness struct {
	// Client is connected to the engine with client.FromEnv and API version
	// negotiation; New has already pinged it successfully.
	Client *client.Client
	// Host is the engine endpoint in DOCKER_HOST form: the value of
	// DOCKER_HOST, or unix:///var/run/docker.sock when it is unset.
	Host string

	runID string
}

// New returns a harness for the local engine (client.FromEnv plus
// client.WithAPIVersionNegotiation), pinging it with a 5 s timeout. When the
// engine is unreachable it calls t.Skip with the reason, or t.Fatal when
// os.Getenv(RequireEnv) == "1". It registers a t.Cleanup that closes the
// client. Every call returns a Harness with a fresh run ID.
func New(t testing.TB) *Harness {
	t.Helper()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
		_, err = c.Ping(ctx)
		cancel()
		if err != nil {
			err = fmt.Errorf("ping %s: %w", c.DaemonHost(), err)
			c.Close()
		}
	}
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("dockertest: Docker Engine required (%s=1) but unreachable: %v", RequireEnv, err)
		} else {
			t.Skipf("dockertest: Docker Engine unreachable, skipping (set %s=1 to fail instead): %v", RequireEnv, err)
		}
		return nil // unreachable with a real testing.TB
	}
	t.Cleanup(func() { c.Close() })
	return &Harness{Client: c, Host: c.DaemonHost(), runID: randomHex(8)}
}

// RunID returns the unique value of LabelKey on every container and network
// this Harness creates. Filter with LabelKey + "=" + h.RunID() to see only
// this harness's objects.
func (h *Harness) RunID() string { return h.runID }

// RunOptions describes a container for Run. The zero value runs the test
// image with no arguments (which makes testbox exit 2 with a usage message).
type RunOptions struct {
	// Name is the container name; default "minato-test-<random 8 hex>".
	Name string
	// Args are the testbox arguments (the container Cmd; the image
	// ENTRYPOINT is /testbox), e.g. []string{"sleep", "forever"}.
	Args []string
	// Labels are added to the container. LabelKey and NameLabelKey are
	// always set by the harness and override entries of the same key.
	Labels map[string]string
	// Env is the container environment, "KEY=value" entries.
	Env []string
	// Start says whether to start the container: nil (the default) or
	// true starts it, false only creates it (state "created").
	Start *bool
	// NetworkID attaches the container to this network (e.g. the ID
	// returned by Harness.Network) instead of the default bridge.
	NetworkID string
	// Memory is the memory limit in bytes; 0 means unlimited. When set,
	// swap is disabled for the container (MemorySwap = Memory), so
	// exceeding it gets the container OOM-killed rather than swapped.
	Memory int64
	// NanoCPUs is the CPU quota in units of 1e-9 CPUs; 0 means unlimited.
	NanoCPUs int64
	// User is the user (name, uid or uid:gid) to run as; default root.
	User string
	// StopTimeout is the container's default stop timeout in seconds
	// (used by a stop without an explicit timeout); nil = engine default.
	StopTimeout *int
	// Tty allocates a pseudo-terminal (logs are then not multiplexed).
	Tty bool
	// Binds are bind mounts in "host-src:container-dest[:options]" form.
	Binds []string
	// Image is the image to run; empty means Image (the plain testbox
	// image). Pass ShellImage for a container with /bin/sh.
	Image string
}

// Container identifies a container created by Run.
type Container struct {
	// ID is the full container ID.
	ID string
	// Name is the container name, without a leading slash.
	Name string
}

// Run creates (and, unless o.Start points to false, starts) a labelled
// container from the test image (Image). Right after creation it registers
// a t.Cleanup that force-removes the container together with its anonymous
// volumes (context.Background with a 30 s timeout; a container that is
// already gone is fine), so the container is removed even when the test
// fails or Run itself fails to start it. Any engine error is fatal to t.
func (h *Harness) Run(t testing.TB, o RunOptions) Container {
	t.Helper()
	img := o.Image
	if img == "" {
		img = h.Image(t)
	}

	name := o.Name
	if name == "" {
		name = "minato-test-" + randomHex(4)
	}
	labels := make(map[string]string, len(o.Labels)+2)
	for k, v := range o.Labels {
		labels[k] = v
	}
	labels[LabelKey] = h.runID
	labels[NameLabelKey] = t.Name()

	cfg := &container.Config{
		Image:       img,
		Cmd:         o.Args,
		Labels:      labels,
		Env:         o.Env,
		User:        o.User,
		StopTimeout: o.StopTimeout,
		Tty:         o.Tty,
	}
	hostCfg := &container.HostConfig{
		Binds: o.Binds,
		Resources: container.Resources{
			Memory:   o.Memory,
			NanoCPUs: o.NanoCPUs,
		},
	}
	if o.Memory > 0 {
		hostCfg.Resources.MemorySwap = o.Memory
	}
	var netCfg *network.NetworkingConfig
	if o.NetworkID != "" {
		hostCfg.NetworkMode = container.NetworkMode(o.NetworkID)
		netCfg = &network.NetworkingConfig{
			EndpointsConfig: map[string]*network.EndpointSettings{o.NetworkID: {}},
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := h.Client.ContainerCreate(ctx, cfg, hostCfg, netCfg, nil, name)
	if err != nil {
		t.Fatalf("dockertest: create container %s (%q): %v", name, o.Args, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		err := h.Client.ContainerRemove(ctx, resp.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !isNotFound(err) {
			t.Errorf("dockertest: cleanup: remove container %s: %v", name, err)
		}
	})
	if o.Start == nil || *o.Start {
		if err := h.Client.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
			t.Fatalf("dockertest: start container %s (%q): %v", name, o.Args, err)
		}
	}
	return Container{ID: resp.ID, Name: name}
}

// WaitState polls ContainerInspect every 50 ms, for up to timeout, until the
// container's State.Status equals want ("created", "running", "paused",
// "restarting", "removing", "exited" or "dead"). On timeout it calls
// t.Fatal, reporting the last status or inspect error seen.
func (h *Harness) WaitState(t testing.TB, id, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := "no inspect yet"
	for {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		info, err := h.Client.ContainerInspect(ctx, id)
		cancel()
		switch {
		case err != nil:
			last = "inspect error: " + err.Error()
		case info.State == nil:
			last = "inspect returned no State"
		case info.State.Status == want:
			return
		default:
			last = fmt.Sprintf("status %q (exit code %d, error %q)", info.State.Status, info.State.ExitCode, info.State.Error)
		}
		if time.Now().After(deadline) {
			t.Fatalf("dockertest: container %.12s did not reach state %q within %v; last: %s", id, want, timeout, last)
		}
		time.Sleep(pollInterval)
	}
}

// Network creates a labelled bridge network and returns its ID. An empty
// name means "minato-test-net-<random 8 hex>". A t.Cleanup removes the
// network (a network that is already gone is fine); containers attached
// through Run after this call are removed before it, since cleanups run in
// reverse order. Any engine error is fatal to t.
func (h *Harness) Network(t testing.TB, name string) string {
	t.Helper()
	if name == "" {
		name = "minato-test-net-" + randomHex(4)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := h.Client.NetworkCreate(ctx, name, network.CreateOptions{
		Driver: "bridge",
		Labels: map[string]string{LabelKey: h.runID, NameLabelKey: t.Name()},
	})
	if err != nil {
		t.Fatalf("dockertest: create network %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := h.Client.NetworkRemove(ctx, resp.ID); err != nil && !isNotFound(err) {
			t.Errorf("dockertest: cleanup: remove network %s: %v", name, err)
		}
	})
	return resp.ID
}

// Unreachable returns a DOCKER_HOST-style endpoint, "tcp://127.0.0.1:<port>",
// that refuses connections: the port was bound and closed again just now,
// so nothing listens on it (barring a race with another process).
func Unreachable(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dockertest: pick a free port: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("dockertest: close %s: %v", addr, err)
	}
	return "tcp://" + addr
}

// Sweep force-removes (with anonymous volumes) every container, and then
// removes every network, that carries LabelKey with any value — leftovers
// of crashed or killed test runs. It is meant for CI or a TestMain run when
// no other test process uses the engine: it also removes the objects of
// concurrently running tests. Objects that vanish meanwhile are not errors;
// all other failures are joined into the returned error. The test image is
// kept.
func Sweep(ctx context.Context, c *client.Client) error {
	return sweep(ctx, c, LabelKey)
}

// sweep is Sweep for an arbitrary label filter ("key" or "key=value").
func sweep(ctx context.Context, c *client.Client, labelFilter string) error {
	f := filters.NewArgs(filters.Arg("label", labelFilter))
	var errs []error
	ctrs, err := c.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		errs = append(errs, fmt.Errorf("list containers: %w", err))
	}
	for _, ctr := range ctrs {
		err := c.ContainerRemove(ctx, ctr.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %.12s: %w", ctr.ID, err))
		}
	}
	nets, err := c.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		errs = append(errs, fmt.Errorf("list networks: %w", err))
	}
	for _, n := range nets {
		if err := c.NetworkRemove(ctx, n.ID); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}

// isNotFound reports whether err is the engine's "no such object" error.
func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// randomHex returns 2*n random hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand.Read does not fail on Linux
	}
	return hex.EncodeToString(b)
}
