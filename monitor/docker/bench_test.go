package docker_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
	"github.com/minato-ops/minato/monitor/docker"
)

// sweepSizes are the container counts of BenchmarkSweep.
var sweepSizes = []int{10, 50, 100}

// startConcurrency bounds the container starts of BenchmarkSweep's setup.
const startConcurrency = 8

// BenchmarkSweep measures one CPU + memory sweep of n running containers
// (n = 10, 50, 100) three ways, on the same engine in the same run:
//
//   - mode=oneshot: minato's Resources monitor (CPU and Memory) over a
//     Collector in mode "oneshot" (the engine's one-shot stats call, every
//     container at once: on engines before 23.0.8 each call waits for the
//     daemon's 1 s stats tick, so a bound would make calls wait a tick
//     more);
//   - mode=direct: the same monitor over a Collector in mode "direct"
//     (cgroupfs and /proc on this host; the engine is asked for a
//     container's details only when its PID changes);
//   - mode=docker-stats: the peer, `docker stats --no-stream` over the n
//     IDs (skipped when the docker CLI is missing).
//
// minato's CPU % needs the previous sample of its key, so each minato
// sub-benchmark first runs one untimed sweep that writes the baseline;
// every timed sweep then yields a cpu_percent and memory samples for every
// container, which is checked. docker stats takes its two samples inside
// one call. The n containers (testbox "sleep forever") are started once
// per size, shared by all the modes, and removed by the harness when the
// size is done, so exactly n of this run's containers are running.
//
//	go test ./monitor/docker -run '^$' -bench Sweep -benchtime 1s -count 6 | tee sweep.txt
//	benchstat -col /mode sweep.txt
//
// bench/monitor-sweep.sh runs this and the CLI's peak-RSS measurement.
func BenchmarkSweep(b *testing.B) {
	h := dockertest.New(b)
	cfg := container.DefaultConfig()
	cfg.Host = h.Host
	c, err := container.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	dockerCLI, _ := exec.LookPath("docker")
	ctx := context.Background()
	sel := inventory.Selector{Labels: map[string]string{dockertest.LabelKey: h.RunID()}, States: []string{"running"}}
	for _, n := range sweepSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			// Started here, not in the parent, so that -bench filters
			// skip the setup of the sizes they skip; removed when this
			// size is done.
			startSleepers(b, h, n)
			ts, err := c.Resolve(ctx, sel)
			if err != nil || len(ts) != n {
				b.Fatalf("resolve: %d targets, want %d: %v", len(ts), n, err)
			}
			b.Run("mode=oneshot", func(b *testing.B) { benchResources(b, c, docker.ModeOneShot, 0, ts) })
			b.Run("mode=direct", func(b *testing.B) { benchResources(b, c, docker.ModeDirect, 0, ts) })
			b.Run("mode=docker-stats", func(b *testing.B) {
				if dockerCLI == "" {
					b.Skip("docker CLI not in PATH")
				}
				benchDockerStats(b, dockerCLI, h.Host, ts)
			})
		})
	}
}

// startSleepers starts n "sleep forever" containers: it creates them one
// by one through the harness (which registers their removal with b) and
// starts them startConcurrency at a time.
func startSleepers(b *testing.B, h *dockertest.Harness, n int) {
	b.Helper()
	no := false
	ids := make([]string, 0, n)
	for range n {
		x := h.Run(b, dockertest.RunOptions{Args: []string{"sleep", "forever"}, Start: &no})
		ids = append(ids, x.ID)
	}
	errs := make([]error, len(ids))
	sem := make(chan struct{}, startConcurrency)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			errs[i] = h.Client.ContainerStart(ctx, id, dcontainer.StartOptions{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			b.Fatalf("start %.12s: %v", ids[i], err)
		}
	}
	for _, id := range ids {
		h.WaitState(b, id, "running", 30*time.Second)
	}
}

// benchResources times CheckAll of a CPU + Memory Resources monitor over
// ts with a Collector in the given mode and concurrency (0: the default).
func benchResources(b *testing.B, c *container.Client, mode string, concurrency int, ts []inventory.Target) {
	ccfg := docker.DefaultCollectorConfig()
	ccfg.Mode = mode
	if concurrency > 0 {
		ccfg.Concurrency = concurrency
	}
	col, err := docker.NewCollector(c, ccfg)
	if err != nil {
		b.Fatal(err)
	}
	defer col.Close()
	store, err := baseline.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	res, err := docker.NewResources(col, store, "bench", docker.CPU, docker.Memory)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// The first sweep of a key writes the baseline and has no CPU %.
	if _, _, err := res.CheckAll(ctx, ts); err != nil {
		b.Fatal(err)
	}
	if col.Mode() != mode {
		b.Fatalf("collector mode %q, want %q", col.Mode(), mode)
	}
	// A classic b.N loop after ResetTimer, as in cgroupfs.BenchmarkStats:
	// the engine's stats collector makes the first one-shot call after an
	// idle spell fast and later ones wait for its 1 s tick, which would
	// mislead b.Loop's ramp-up.
	b.ResetTimer()
	for range b.N {
		results, errs, err := res.CheckAll(ctx, ts)
		if err != nil {
			b.Fatal(err)
		}
		checkResults(b, ts, results, errs)
	}
}

// checkResults fails b unless every target got a CPU % and memory samples.
func checkResults(b *testing.B, ts []inventory.Target, results []monitor.Result, errs []error) {
	for i, t := range ts {
		if errs[i] != nil {
			b.Fatalf("%s: %v", t.Name, errs[i])
		}
		for _, name := range []string{"cpu_percent", "memory_usage_bytes", "memory_working_set_bytes"} {
			if _, ok := results[i].Sample(name, nil); !ok {
				b.Fatalf("%s: no %s sample (message %q)", t.Name, name, results[i].Message)
			}
		}
	}
}

// benchDockerStats times `docker stats --no-stream` over ts and checks that
// it printed a CPU % and a memory usage for each of them.
func benchDockerStats(b *testing.B, dockerCLI, host string, ts []inventory.Target) {
	args := []string{"stats", "--no-stream", "--format", "{{.ID}} {{.CPUPerc}} {{.MemUsage}}"}
	for _, t := range ts {
		args = append(args, t.ID)
	}
	ctx := context.Background()
	for range b.N {
		cmd := exec.CommandContext(ctx, dockerCLI, args...)
		cmd.Env = append(cmd.Environ(), "DOCKER_HOST="+host)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("docker stats: %v\n%s", err, stderr.Bytes())
		}
		checkDockerStats(b, ts, string(out))
	}
}

// checkDockerStats fails b unless out has one "ID CPU% MEM / LIMIT" line
// with values for each target.
func checkDockerStats(b *testing.B, ts []inventory.Target, out string) {
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if id, rest, ok := strings.Cut(l, " "); ok {
			got[id] = rest
		}
	}
	for _, t := range ts {
		v, ok := got[t.ShortID()]
		if !ok {
			b.Fatalf("docker stats: no line for %s in:\n%s", t.ShortID(), out)
		}
		if f := strings.Fields(v); len(f) < 4 || !strings.HasSuffix(f[0], "%") || f[1] == "0B" {
			b.Fatalf("docker stats: %s: no CPU %% or memory usage: %q", t.ShortID(), v)
		}
	}
}
