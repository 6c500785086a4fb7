package dockerinv_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	dockerinv "github.com/minato-ops/minato/inventory/docker"
	"golang.org/x/sync/errgroup"
)

// benchN is how many containers the benchmarks list.
const benchN = 500

// bench holds the benchmark containers: created (not started) once per
// test binary on the local engine, labelled, and removed by TestMain.
var bench struct {
	once sync.Once
	err  error
	c    *client.Client
	host string
	run  string // value of dockertest.LabelKey on every bench container
}

func benchFixture(b *testing.B) (host, run string) {
	b.Helper()
	h := dockertest.New(b) // skips without an engine
	img := h.Image(b)
	bench.once.Do(func() {
		bench.c, bench.err = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if bench.err != nil {
			return
		}
		bench.host, bench.run = bench.c.DaemonHost(), "bench-"+randomHex(6)
		var g errgroup.Group
		g.SetLimit(4)
		for i := range benchN {
			g.Go(func() error {
				_, err := bench.c.ContainerCreate(context.Background(), &dcontainer.Config{
					Image: img, Cmd: []string{"sleep", "forever"},
					Labels: map[string]string{dockertest.LabelKey: bench.run, dockertest.NameLabelKey: "dockerinv benchmarks", "app": fmt.Sprintf("app-%d", i%10)},
				}, nil, nil, nil, fmt.Sprintf("minato-bench-%s-%03d", bench.run, i))
				return err
			})
		}
		bench.err = g.Wait()
	})
	if bench.err != nil {
		b.Fatalf("benchmark containers: %v", bench.err)
	}
	return bench.host, bench.run
}

// removeBenchContainers removes what benchFixture created; TestMain calls it.
func removeBenchContainers() error {
	if bench.c == nil {
		return nil
	}
	defer bench.c.Close()
	ctx := context.Background()
	cs, err := bench.c.ContainerList(ctx, dcontainer.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", dockertest.LabelKey+"="+bench.run))})
	if err != nil {
		return err
	}
	var g errgroup.Group
	g.SetLimit(4)
	var mu sync.Mutex
	var errs []error
	for _, c := range cs {
		g.Go(func() error {
			if err := bench.c.ContainerRemove(ctx, c.ID, dcontainer.RemoveOptions{Force: true}); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	return errors.Join(errs...)
}

func benchEngine(b *testing.B, host string, opts ...dockerinv.Option) *dockerinv.Engine {
	b.Helper()
	c, err := container.New(container.Config{Host: host})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	e, err := dockerinv.NewEngine("local", c, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkRawList is the floor: GET /containers/json?all=1 through the
// Docker client, decoded, nothing else.
func BenchmarkRawList(b *testing.B) {
	host, _ := benchFixture(b)
	benchRawList(b, host)
}

// BenchmarkSnapshot is a containers snapshot of the same engine: one list
// call (the identity is cached), turned into Items.
func BenchmarkSnapshot(b *testing.B) {
	host, _ := benchFixture(b)
	benchSnapshot(b, host)
}

// BenchmarkListPair runs the two above alternately (impl=raw, then
// impl=snapshot, at every -count), so that a shared engine whose load
// drifts during the run weighs on both alike; compare them with
// benchstat -col /impl.
func BenchmarkListPair(b *testing.B) {
	host, _ := benchFixture(b)
	b.Run("impl=raw", func(b *testing.B) { benchRawList(b, host) })
	b.Run("impl=snapshot", func(b *testing.B) { benchSnapshot(b, host) })
}

func benchRawList(b *testing.B, host string) {
	c, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.ContainerList(ctx, dcontainer.ListOptions{All: true}); err != nil {
		b.Fatal(err)
	}
	n := 0
	b.ResetTimer()
	for b.Loop() {
		cs, err := c.ContainerList(ctx, dcontainer.ListOptions{All: true})
		if err != nil {
			b.Fatal(err)
		}
		n = len(cs)
	}
	b.ReportMetric(float64(n), "containers")
}

func benchSnapshot(b *testing.B, host string) {
	e := benchEngine(b, host)
	ctx := context.Background()
	sel := inventory.Selector{Kind: inventory.KindContainer}
	if _, err := e.Snapshot(ctx, sel); err != nil {
		b.Fatal(err)
	}
	n := 0
	b.ResetTimer()
	for b.Loop() {
		snap, err := e.Snapshot(ctx, sel)
		if err != nil || !snap.Engines[0].Up() {
			b.Fatal(err, snap.Engines)
		}
		n = len(snap.Items)
	}
	b.ReportMetric(float64(n), "containers")
}

// BenchmarkSnapshotDetail inspects the benchmark's containers as well
// (DefaultDetailConcurrency at a time).
func BenchmarkSnapshotDetail(b *testing.B) {
	host, run := benchFixture(b)
	e := benchEngine(b, host, dockerinv.WithDetail(0))
	ctx := context.Background()
	sel := inventory.Selector{Kind: inventory.KindContainer, Labels: map[string]string{dockertest.LabelKey: run}}
	if _, err := e.Snapshot(ctx, sel); err != nil {
		b.Fatal(err)
	}
	n := 0
	b.ResetTimer()
	for b.Loop() {
		snap, err := e.Snapshot(ctx, sel)
		if err != nil || !snap.Engines[0].Up() {
			b.Fatal(err, snap.Engines)
		}
		n = len(snap.Items)
	}
	if n != benchN {
		b.Fatalf("%d containers, want %d", n, benchN)
	}
	b.ReportMetric(float64(n), "containers")
}
