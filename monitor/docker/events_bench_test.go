package docker_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
	"github.com/minato-ops/minato/monitor/docker"
)

// death is one die event as the watcher emitted it.
type death struct {
	id      string
	latency time.Duration // emit time minus the engine's event time
	exit    float64
}

// BenchmarkDetectionLatency measures how long a container's death takes
// to reach the sink: an EventWatcher (the agent's path: EventStream.Follow,
// the analyzer, and the inspect it makes for a non-zero exit to tell an
// OOM kill) runs on the local engine; b.N containers (testbox
// "sleep 50ms -- exit 1", created beforehand) are started one after
// another, each after the previous one's death was emitted. A death's
// latency is the time of the emit call minus the die event's engine
// timestamp (ns precision, same host clock). It reports the nearest-rank
// p50_ms, p99_ms and max_ms; ns/op is one whole cycle (start, 50 ms of
// sleep, exit, detection), not the latency. The figure is over
// 200 deaths:
//
//	go test ./monitor/docker -run '^$' -bench DetectionLatency -benchtime 200x -count 1
//
// inspect=true is the agent's watcher as configured by default;
// inspect=false turns off its inspect on a non-zero exit
// (EventWatcher.InspectOnDie), which shows what that inspect costs.
func BenchmarkDetectionLatency(b *testing.B) {
	for _, inspect := range []bool{true, false} {
		b.Run(fmt.Sprintf("inspect=%v", inspect), func(b *testing.B) { detectionLatency(b, inspect) })
	}
}

func detectionLatency(b *testing.B, inspect bool) {
	h := dockertest.New(b)
	c := clienttest.New(b, h)
	image := h.Image(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The containers: one sentinel, which proves the watcher is live, then
	// b.N; created 4 at a time, untimed.
	ids := make([]string, b.N+1)
	b.Cleanup(func() {
		for _, id := range ids {
			if id != "" {
				_, _ = c.Remove(context.Background(), id, container.RemoveOptions{Force: true, Volumes: true})
			}
		}
	})
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	sem := make(chan struct{}, 4)
	for i := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res, err := c.Create(ctx, container.CreateOptions{Image: image, Cmd: []string{"sleep", "50ms", "--", "exit", "1"},
				Labels: map[string]string{dockertest.LabelKey: h.RunID(), dockertest.NameLabelKey: b.Name()}})
			ids[i] = res.ID
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}

	store, err := baseline.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	s, err := docker.NewEventStream(c, store, "latency", docker.EventStreamOptions{Filters: labelFilter(h), Start: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	w := docker.NewEventWatcher(s, docker.AnalyzerConfig{})
	w.InspectOnDie = inspect
	deaths := make(chan death, len(ids)+1) // never blocks the watcher
	done := make(chan error, 1)
	go func() {
		done <- w.Watch(ctx, func(t inventory.Target, r monitor.Result) {
			now := time.Now()
			if t.Kind == inventory.KindContainer && strings.HasPrefix(r.Message, "container die") {
				d := death{id: t.ID, latency: now.Sub(r.Time), exit: -1}
				for _, smp := range r.Samples {
					if smp.Name == "container_exit_code" {
						d.exit = smp.Value
					}
				}
				deaths <- d
			}
		})
	}()

	die := func(id string) death {
		if _, err := c.Start(ctx, id, container.StartOptions{}); err != nil {
			b.Fatal(err)
		}
		select {
		case d := <-deaths:
			if d.id != id || d.exit != 1 {
				b.Fatalf("death of %.12s with exit %v, want %.12s with exit 1", d.id, d.exit, id)
			}
			return d
		case err := <-done:
			b.Fatalf("watcher ended: %v", err)
		case <-time.After(15 * time.Second):
			b.Fatalf("no death of %.12s within 15 s", id)
		}
		return death{}
	}
	die(ids[0])

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for _, id := range ids[1:] {
		lat = append(lat, die(id).latency)
	}
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}

	slices.Sort(lat)
	rank := func(p float64) time.Duration { // nearest rank
		return lat[max(0, int(math.Ceil(p*float64(len(lat))))-1)]
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(rank(0.50)), "p50_ms")
	b.ReportMetric(ms(rank(0.99)), "p99_ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max_ms")
	if b.N >= 100 {
		b.Logf("%d deaths: min %.1f ms, p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms",
			len(lat), ms(lat[0]), ms(rank(0.5)), ms(rank(0.9)), ms(rank(0.99)), ms(lat[len(lat)-1]))
	}
}
