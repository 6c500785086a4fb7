package dockertest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// Engine is a Docker Engine other than the local one, such as a second
// dockerd a test started (internal/dockerdtest): the Docker API side of
// such an engine, kept here so that Docker client code stays in this
// harness. It is safe for concurrent use once prepared.
type Engine struct {
	// Client is connected to the engine with API version negotiation.
	Client *client.Client
	// Host is the engine endpoint ("unix:///tmp/.../docker.sock").
	Host string
	// Image is the test image's reference on this engine, set by Prepare.
	Image string
	// ID is the engine's Info ID, set by Prepare.
	ID string
}

// Dial returns an Engine for host without contacting it. Close releases it.
func Dial(host string) (*Engine, error) {
	c, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("dockertest: client for %s: %w", host, err)
	}
	return &Engine{Client: c, Host: host}, nil
}

// Ping reports whether the engine answers /_ping.
func (e *Engine) Ping(ctx context.Context) error {
	_, err := e.Client.Ping(ctx)
	return err
}

// Prepare reads the engine's Info ID and builds the plain test image on it
// (see [Harness.Image]; the reference depends only on the testbox program
// and the recipe, so it equals the local engine's). Unlike Harness.Image
// nothing is remembered across engines: call it once per engine.
func (e *Engine) Prepare(ctx context.Context) error {
	info, err := e.Client.Info(ctx)
	if err != nil {
		return fmt.Errorf("dockertest: info of %s: %w", e.Host, err)
	}
	e.ID = info.ID
	ref, err := buildImage(ctx, e.Client, imageVariant{repo: ImageRepo, dockerfile: dockerfile})
	if err != nil {
		return fmt.Errorf("dockertest: test image on %s: %w", e.Host, err)
	}
	e.Image = ref
	return nil
}

// RemoveAllContainers force-removes every container of the engine, with
// its anonymous volumes, whoever created it: for tearing down an engine
// that only tests use. Containers that vanish meanwhile are not errors.
func (e *Engine) RemoveAllContainers(ctx context.Context) error {
	cs, err := e.Client.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return fmt.Errorf("list containers on %s: %w", e.Host, err)
	}
	var errs []error
	for _, c := range cs {
		if err := e.Client.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %.12s on %s: %w", c.ID, e.Host, err))
		}
	}
	return errors.Join(errs...)
}

// Close releases the client.
func (e *Engine) Close() error { return e.Client.Close() }

// Harness returns a [Remote] for the engine: labelled containers and
// networks from the engine's test image, removed by t's cleanups. Every
// call gives a fresh run ID. The Engine must stay open until those
// cleanups have run.
func (e *Engine) Harness(t testing.TB) *Remote {
	t.Helper()
	return &Remote{Harness: &Harness{Client: e.Client, Host: e.Host, runID: randomHex(8)}, image: e.Image}
}

// Remote is a [Harness] for an [Engine] other than the local one. It
// labels and cleans up exactly as a Harness does; its Image and Run use the
// test image built on that engine instead of the local engine's.
type Remote struct {
	*Harness
	image string
}

// Image returns the test image's reference on the remote engine.
func (r *Remote) Image(testing.TB) string { return r.image }

// Run is [Harness.Run] on the remote engine; an empty o.Image means the
// remote engine's test image.
func (r *Remote) Run(t testing.TB, o RunOptions) Container {
	t.Helper()
	if o.Image == "" {
		o.Image = r.image
	}
	return r.Harness.Run(t, o)
}
