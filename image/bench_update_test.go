package image

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	dimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/internal/imagetest"
)

// BenchmarkUpdateGate: a health-gated update of 10 containers, one at a
// time, against the plain sequential script an operator would write:
// for each container stop, rm, run with the same settings on the new
// image, then poll docker inspect every 100 ms until it reports healthy.
// Both wait for the same health check (interval 1 s), so the difference is
// what the gate, the intent decision and the rollback safety net cost.
// Each iteration moves the tag to the other of two images.
func BenchmarkUpdateGate(b *testing.B) {
	const n = 10
	h := dockertest.New(b)
	cc, err := container.New(container.Config{Host: h.Host})
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	c, err := New(cc, Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	repo := "minato-bench-gate-" + h.RunID()
	opts := func(v string) imagetest.Options {
		return imagetest.Options{Env: []string{"V=" + v}, Cmd: []string{"sleep", "forever"}, Healthcheck: []string{"/testbox", "exit", "0"}, HealthInterval: time.Second, HealthRetries: 3}
	}
	ids := []string{imagetest.Build(b, h, repo+":a", opts("a")), imagetest.Build(b, h, repo+":b", opts("b"))}
	ref := repo + ":live"
	var names []string
	for i := range n {
		name := fmt.Sprintf("%s-%d", repo, i)
		names = append(names, name)
	}
	setup := func(b *testing.B) {
		b.Helper()
		if err := h.Client.ImageTag(ctx, ids[0], ref); err != nil {
			b.Fatal(err)
		}
		for _, name := range names {
			_ = h.Client.ContainerRemove(ctx, name, dcontainer.RemoveOptions{Force: true})
			cfg := &dcontainer.Config{Image: ref, Env: []string{"MODE=explicit"}, Labels: map[string]string{dockertest.LabelKey: h.RunID()}}
			r, err := h.Client.ContainerCreate(ctx, cfg, &dcontainer.HostConfig{}, nil, nil, name)
			if err != nil {
				b.Fatal(err)
			}
			if err := h.Client.ContainerStart(ctx, r.ID, dcontainer.StartOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		// The tag moves to the other image.
		if err := h.Client.ImageTag(ctx, ids[1], ref); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		for _, name := range names {
			_ = h.Client.ContainerRemove(context.Background(), name, dcontainer.RemoveOptions{Force: true})
		}
		_, _ = h.Client.ImageRemove(context.Background(), ref, dimage.RemoveOptions{})
	})

	b.Run("minato", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			setup(b)
			b.StartTimer()
			res, err := c.Update(ctx, UpdateOptions{Containers: names, BatchSize: 1, Gate: GateOptions{Timeout: time.Minute}})
			if err != nil {
				b.Fatal(err)
			}
			for _, u := range res.Containers {
				if u.Outcome != OutcomeUpdated {
					b.Fatalf("%s: %s %s", u.Name, u.Outcome, u.Gate)
				}
			}
		}
	})
	b.Run("script", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			setup(b)
			b.StartTimer()
			for _, name := range names {
				ins, err := h.Client.ContainerInspect(ctx, name)
				if err != nil {
					b.Fatal(err)
				}
				if err := h.Client.ContainerStop(ctx, name, dcontainer.StopOptions{}); err != nil {
					b.Fatal(err)
				}
				if err := h.Client.ContainerRemove(ctx, name, dcontainer.RemoveOptions{}); err != nil {
					b.Fatal(err)
				}
				cfg := &dcontainer.Config{Image: ref, Env: []string{"MODE=explicit"}, Labels: ins.Config.Labels}
				r, err := h.Client.ContainerCreate(ctx, cfg, ins.HostConfig, &network.NetworkingConfig{}, nil, name)
				if err != nil {
					b.Fatal(err)
				}
				if err := h.Client.ContainerStart(ctx, r.ID, dcontainer.StartOptions{}); err != nil {
					b.Fatal(err)
				}
				for {
					now, err := h.Client.ContainerInspect(ctx, r.ID)
					if err != nil {
						b.Fatal(err)
					}
					if now.State.Health != nil && strings.EqualFold(now.State.Health.Status, "healthy") {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}
	})
}
