package docker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	jobdocker "github.com/minato-ops/minato/job/docker"
	"github.com/minato-ops/minato/job/jobtest"
)

// benchLabels are set on every container the benchmarks create themselves
// (not through the harness): the harness's run ID, so that
// removeLabelled and dockertest.Sweep find them.
func benchLabels(b *testing.B, h *dockertest.Harness) map[string]string {
	return map[string]string{dockertest.LabelKey: h.RunID(), dockertest.NameLabelKey: b.Name()}
}

// labelledContainers lists the containers, running or not, carrying the
// harness's run ID.
func labelledContainers(ctx context.Context, h *dockertest.Harness) ([]dcontainer.Summary, error) {
	return h.Client.ContainerList(ctx, dcontainer.ListOptions{
		All: true, Filters: filters.NewArgs(filters.Arg("label", dockertest.LabelKey+"="+h.RunID())),
	})
}

// removeLabelled registers a cleanup that force-removes every container
// still carrying the harness's run ID, whatever happened to the benchmark.
// Registered after dockertest.New, it runs before the harness closes its
// client.
func removeLabelled(b *testing.B, h *dockertest.Harness) {
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cs, err := labelledContainers(ctx, h)
		if err != nil {
			b.Errorf("cleanup: list containers: %v", err)
			return
		}
		for _, x := range cs {
			err := h.Client.ContainerRemove(ctx, x.ID, dcontainer.RemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !container.IsNotFound(err) {
				b.Errorf("cleanup: remove %.12s: %v", x.ID, err)
			}
		}
	})
}

// BenchmarkExecUnit compares one exec done by a one-unit job.Network (an
// Exec action: inspect, then container.Client.Exec, output captured into
// the unit's report) with the same exec done with the raw Docker client,
// in the same run. Goal: the network's overhead is at most 15 %.
//
//	go test ./job/docker -run '^$' -bench 'ExecUnit' -count 6 | tee execunit.txt; benchstat -col /impl execunit.txt
func BenchmarkExecUnit(b *testing.B) {
	h := dockertest.New(b)
	x := h.Run(b, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	h.WaitState(b, x.ID, "running", 10*time.Second)
	c := clienttest.New(b, h)
	ctx := context.Background()
	cmd := []string{"/testbox", "exit", "0"}

	b.Run("impl=raw-api", func(b *testing.B) {
		for b.Loop() {
			code, err := h.RawExec(ctx, x.ID, cmd)
			if err != nil || code != 0 {
				b.Fatalf("exit %d: %v", code, err)
			}
		}
	})
	b.Run("impl=network-unit", func(b *testing.B) {
		target := inventory.Target{Kind: inventory.KindContainer, ID: x.ID, Name: x.Name, Engine: h.Host}
		n := &job.Network{Name: "bench", Units: []job.Unit{{
			Name:   "x",
			Action: jobdocker.Exec(c, jobdocker.ExecOptions{Cmd: cmd}),
			Target: target,
		}}}
		for b.Loop() {
			rep, err := jobtest.RunNetwork(ctx, n, nil)
			if err != nil {
				b.Fatal(err)
			}
			if rep.ExitCode() != 0 {
				u, _ := rep.Unit("x")
				b.Fatalf("network %s: unit %s, exit %d: %s", rep.State, u.State, u.ExitCode, u.Message)
			}
		}
	})
}

// runContainerUnits is K, the containers each iteration of
// BenchmarkRunContainerUnits runs.
const runContainerUnits = 8

// rawRun runs one container to completion the way a plain API client
// would: create, start, wait for it to stop (collecting its exit code),
// then force-remove it with its anonymous volumes. The container is
// removed on every path once it was created.
func rawRun(ctx context.Context, h *dockertest.Harness, img string, labels map[string]string) (err error) {
	created, err := h.Client.ContainerCreate(ctx,
		&dcontainer.Config{Image: img, Cmd: []string{"exit", "0"}, Labels: labels},
		&dcontainer.HostConfig{}, nil, nil, "")
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	defer func() {
		rerr := h.Client.ContainerRemove(context.WithoutCancel(ctx), created.ID, dcontainer.RemoveOptions{Force: true, RemoveVolumes: true})
		if rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove %.12s: %w", created.ID, rerr))
		}
	}()
	if err := h.Client.ContainerStart(ctx, created.ID, dcontainer.StartOptions{}); err != nil {
		return fmt.Errorf("start %.12s: %w", created.ID, err)
	}
	resc, errc := h.Client.ContainerWait(ctx, created.ID, dcontainer.WaitConditionNotRunning)
	select {
	case res := <-resc:
		if res.Error != nil {
			return fmt.Errorf("wait %.12s: %s", created.ID, res.Error.Message)
		}
		if res.StatusCode != 0 {
			return fmt.Errorf("container %.12s exited %d", created.ID, res.StatusCode)
		}
	case err := <-errc:
		return fmt.Errorf("wait %.12s: %w", created.ID, err)
	}
	return nil
}

// rawRunAll runs k containers with rawRun, at most conc at once (a bounded
// pool of conc workers), and returns every failure joined.
func rawRunAll(ctx context.Context, h *dockertest.Harness, img string, labels map[string]string, k, conc int) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan struct{})
	)
	for range conc {
		wg.Go(func() {
			for range next {
				if err := rawRun(ctx, h, img, labels); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for range k {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// BenchmarkRunContainerUnits runs K = 8 short-lived containers (the
// testbox image, command "exit 0") per iteration, at concurrency 1, 4 and
// 8, through a job.Network of K RunContainer units and through the raw
// Docker client with a bounded pool of the same size, in the same run.
// Goal: the network reaches at least 90 % of the raw API's containers/s at
// each concurrency.
//
// The sides do not make the same engine calls. raw-api: create, start,
// wait (exit code), remove (force, with volumes). network: RunContainer's
// create, attach (before start, relaying the output to the unit's
// capture), start, wait, inspect (OOM check), remove (force, with
// volumes), plus the network's own scheduling.
//
//	go test ./job/docker -run '^$' -bench 'RunContainerUnits' -count 6 -benchtime 3x | tee runctr.txt; benchstat -col /impl runctr.txt
func BenchmarkRunContainerUnits(b *testing.B) {
	h := dockertest.New(b)
	removeLabelled(b, h)
	img := h.Image(b)
	c := clienttest.New(b, h)
	ctx := context.Background()
	labels := benchLabels(b, h)

	// noLeftovers fails b when a container of this run is still there
	// after a sub-benchmark: both sides must remove what they ran.
	noLeftovers := func(b *testing.B) {
		b.Helper()
		cs, err := labelledContainers(ctx, h)
		if err != nil {
			b.Fatal(err)
		}
		if len(cs) > 0 {
			b.Fatalf("%d containers left behind, first %.12s (%s)", len(cs), cs[0].ID, cs[0].State)
		}
	}
	report := func(b *testing.B, iterations int) {
		b.ReportMetric(float64(runContainerUnits*iterations)/b.Elapsed().Seconds(), "containers/s")
	}

	for _, conc := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("conc=%d/impl=raw-api", conc), func(b *testing.B) {
			iterations := 0
			for b.Loop() {
				if err := rawRunAll(ctx, h, img, labels, runContainerUnits, conc); err != nil {
					b.Fatal(err)
				}
				iterations++
			}
			report(b, iterations)
			noLeftovers(b)
		})
		b.Run(fmt.Sprintf("conc=%d/impl=network", conc), func(b *testing.B) {
			a := jobdocker.RunContainer(c, jobdocker.RunOptions{Image: img, Command: []string{"exit", "0"}, Labels: labels})
			n := &job.Network{Name: "bench", Concurrency: conc}
			for i := range runContainerUnits {
				n.Units = append(n.Units, job.Unit{Name: fmt.Sprintf("c%d", i), Action: a})
			}
			iterations := 0
			for b.Loop() {
				rep, err := jobtest.RunNetwork(ctx, n, nil)
				if err != nil {
					b.Fatal(err)
				}
				if rep.ExitCode() != 0 {
					for _, u := range rep.Units {
						if u.State != job.Succeeded {
							b.Fatalf("network %s: unit %s %s, exit %d: %s", rep.State, u.Name, u.State, u.ExitCode, u.Message)
						}
					}
				}
				iterations++
			}
			report(b, iterations)
			noLeftovers(b)
		})
	}
}
