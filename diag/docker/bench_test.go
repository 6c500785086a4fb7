package docker_test

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	"golang.org/x/sync/errgroup"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/diag"
	"github.com/minato-ops/minato/diag/docker"
	"github.com/minato-ops/minato/internal/dockertest"
)

// BenchmarkChecks100 runs every check (engine, containers, and the host
// checks of the local engine; DNS without a probe image) over the whole
// engine with 100 more running containers, 10 of them publishing a port,
// beside what the Docker client alone needs to list and inspect the same
// containers (docker ps -a plus docker inspect of each), one at a time and
// 8 at a time as the checks do.
//
//	go test -run '^$' -bench BenchmarkChecks100 -benchtime 10x ./diag/docker/
func BenchmarkChecks100(b *testing.B) {
	h := dockertest.New(b)
	c, err := container.New(container.Config{Host: h.Host})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	img := h.Image(b)
	labels := map[string]string{dockertest.LabelKey: h.RunID(), dockertest.NameLabelKey: b.Name()}
	ids := make([]string, 100)
	b.Cleanup(func() {
		g := errgroup.Group{}
		g.SetLimit(4)
		for _, id := range ids {
			if id != "" {
				g.Go(func() error {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					return h.Client.ContainerRemove(ctx, id, dcontainer.RemoveOptions{Force: true, RemoveVolumes: true})
				})
			}
		}
		if err := g.Wait(); err != nil {
			b.Errorf("cleanup: %v", err)
		}
	})
	// Ten distinct free ports: held open together so that none repeats.
	var ports []int
	var ls []net.Listener
	for range 10 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	g := errgroup.Group{}
	g.SetLimit(4)
	for i := range ids {
		g.Go(func() error {
			cfg := &dcontainer.Config{Image: img, Cmd: []string{"sleep", "forever"}, Labels: labels}
			hc := &dcontainer.HostConfig{RestartPolicy: dcontainer.RestartPolicy{Name: "unless-stopped"}}
			if i%10 == 0 {
				cfg.ExposedPorts = nat.PortSet{"80/tcp": {}}
				hc.PortBindings = nat.PortMap{"80/tcp": {{HostIP: "127.0.0.1", HostPort: strconv.Itoa(ports[i/10])}}}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			resp, err := h.Client.ContainerCreate(ctx, cfg, hc, nil, nil, fmt.Sprintf("minato-diag-bench-%s-%03d", h.RunID(), i))
			if err != nil {
				return err
			}
			ids[i] = resp.ID
			return h.Client.ContainerStart(ctx, resp.ID, dcontainer.StartOptions{})
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	all, err := h.Client.ContainerList(ctx, dcontainer.ListOptions{All: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d containers on the engine", len(all))

	b.Run("checks", func(b *testing.B) {
		var last diag.Report
		for b.Loop() {
			last = diag.Run(ctx, docker.Checks(c, docker.Options{}), diag.RunOptions{})
			if errs := last.Errors(); len(errs) > 0 {
				b.Fatalf("%s: %s", errs[0].Check.ID, errs[0].Err)
			}
		}
		b.ReportMetric(float64(len(last.Findings())), "findings")
		slices.SortFunc(last.Results, func(x, y diag.CheckResult) int { return cmp.Compare(y.Duration, x.Duration) })
		for _, r := range last.Results[:3] {
			b.Logf("slowest: %s %v", r.Check.ID, r.Duration)
		}
	})
	raw := func(parallel int) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				list, err := h.Client.ContainerList(ctx, dcontainer.ListOptions{All: true})
				if err != nil {
					b.Fatal(err)
				}
				g := errgroup.Group{}
				g.SetLimit(parallel)
				for _, s := range list {
					g.Go(func() error {
						_, err := h.Client.ContainerInspect(ctx, s.ID)
						return err
					})
				}
				if err := g.Wait(); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("list+inspect/sequential", raw(1))
	b.Run("list+inspect/parallel8", raw(8))
	b.Run("container-checks-only", func(b *testing.B) {
		for b.Loop() {
			var cs []diag.Check
			for _, ch := range docker.Checks(c, docker.Options{SkipHost: true}) {
				switch ch.Info().ID {
				case docker.CheckPorts, docker.CheckHygiene, docker.CheckCrashes:
					cs = append(cs, ch)
				}
			}
			rep := diag.Run(ctx, cs, diag.RunOptions{})
			if errs := rep.Errors(); len(errs) > 0 {
				b.Fatalf("%s: %s", errs[0].Check.ID, errs[0].Err)
			}
		}
	})
}
