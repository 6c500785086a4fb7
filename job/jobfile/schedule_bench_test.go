package jobfile_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/boltstore"
	"github.com/minato-ops/minato/job/jobfile"
)

// BenchmarkDueToStart measures the time from a schedule's due time to the
// unit's container starting (the engine's "start" event), on an idle
// engine, side by side with the floor: a program that waits for the same
// due time on a timer and creates and starts the container with the raw
// Docker API. Each iteration is one due time (one per second). Reported:
// p50 and p99 of the latency in milliseconds.
//
//	go test ./job/jobfile -run '^$' -bench DueToStart -benchtime 60x -count 1
func BenchmarkDueToStart(b *testing.B) {
	h := dockertest.New(b)
	img := h.Image(b)
	c := clienttest.New(b, h)

	b.Run("impl=raw", func(b *testing.B) {
		ctx := context.Background()
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			due := time.Now().Truncate(time.Second).Add(time.Second)
			time.Sleep(time.Until(due))
			res, err := h.Client.ContainerCreate(ctx, &dcontainer.Config{Image: img, Cmd: []string{"exit", "0"},
				Labels: map[string]string{dockertest.LabelKey: h.RunID()}}, nil, nil, nil, "")
			if err != nil {
				b.Fatal(err)
			}
			if err := h.Client.ContainerStart(ctx, res.ID, dcontainer.StartOptions{}); err != nil {
				b.Fatal(err)
			}
			ins, err := h.Client.ContainerInspect(ctx, res.ID)
			if err != nil {
				b.Fatal(err)
			}
			started, _ := time.Parse(time.RFC3339Nano, ins.State.StartedAt)
			lat = append(lat, started.Sub(due))
			_ = h.Client.ContainerRemove(ctx, res.ID, dcontainer.RemoveOptions{Force: true})
		}
		b.StopTimer()
		reportLatency(b, lat)
	})

	b.Run("impl=raw-precreated", func(b *testing.B) {
		ctx := context.Background()
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			due := time.Now().Truncate(time.Second).Add(time.Second)
			res, err := h.Client.ContainerCreate(ctx, &dcontainer.Config{Image: img, Cmd: []string{"exit", "0"},
				Labels: map[string]string{dockertest.LabelKey: h.RunID()}}, nil, nil, nil, "")
			if err != nil {
				b.Fatal(err)
			}
			time.Sleep(time.Until(due))
			if err := h.Client.ContainerStart(ctx, res.ID, dcontainer.StartOptions{}); err != nil {
				b.Fatal(err)
			}
			ins, err := h.Client.ContainerInspect(ctx, res.ID)
			if err != nil {
				b.Fatal(err)
			}
			started, _ := time.Parse(time.RFC3339Nano, ins.State.StartedAt)
			lat = append(lat, started.Sub(due))
			_ = h.Client.ContainerRemove(ctx, res.ID, dcontainer.RemoveOptions{Force: true})
		}
		b.StopTimer()
		reportLatency(b, lat)
	})

	b.Run("impl=minato", func(b *testing.B) {
		name := "due-" + h.RunID()[:8]
		def := []byte(fmt.Sprintf(`name: %s
schedule: {cron: "@every 1s", overlap: allow}
units:
  - name: u
    run: {image: %q, command: [exit, "0"], labels: {%s: %s}}
`, name, img, dockertest.LabelKey, h.RunID()))
		d, err := jobfile.Parse(def)
		if err != nil {
			b.Fatal(err)
		}
		sched, err := d.Schedule.Schedule(nil)
		if err != nil {
			b.Fatal(err)
		}
		store, err := boltstore.Open(filepath.Join(b.TempDir(), "jobs.db"), boltstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close()
		s, err := job.NewScheduler(job.SchedulerConfig{}, store)
		if err != nil {
			b.Fatal(err)
		}
		spill := b.TempDir()
		err = s.Add(job.Entry{Name: name, Schedule: sched, Overlap: job.OverlapAllow, Definition: def,
			Build: func(def []byte, runID string) (*job.Network, error) {
				d, err := jobfile.Parse(def)
				if err != nil {
					return nil, err
				}
				return jobfile.Build(d, c, jobfile.BuildOptions{RunID: runID, SpillDir: spill, Adoptable: true})
			}})
		if err != nil {
			b.Fatal(err)
		}

		// Watch the engine's start events of the network's containers.
		var (
			mu  sync.Mutex
			lat []time.Duration
		)
		enough := make(chan struct{})
		ectx, ecancel := context.WithCancel(context.Background())
		defer ecancel()
		evDone := make(chan error, 1)
		go func() {
			evDone <- c.Events(ectx, container.EventsOptions{Filters: map[string][]string{
				"type": {"container"}, "event": {"start"}, "label": {jobfile.LabelNetwork + "=" + name}}},
				func(e container.Event) error {
					run := e.Attributes[jobfile.LabelRun]
					due, err := time.Parse("20060102T150405Z", strings.TrimPrefix(run, name+"@"))
					if err != nil {
						return fmt.Errorf("run label %q: %w", run, err)
					}
					mu.Lock()
					defer mu.Unlock()
					lat = append(lat, e.Time.Sub(due))
					if len(lat) == b.N {
						close(enough)
					}
					return nil
				})
		}()
		time.Sleep(200 * time.Millisecond) // the subscription is in place
		ctx, cancel := context.WithCancel(context.Background())
		runDone := make(chan error, 1)
		b.ResetTimer()
		go func() { runDone <- s.Run(ctx) }()
		select {
		case <-enough:
		case err := <-evDone:
			b.Fatalf("events: %v", err)
		case <-time.After(time.Duration(b.N)*time.Second + time.Minute):
			b.Fatal("not enough runs started")
		}
		b.StopTimer()
		cancel()
		if err := <-runDone; err != nil {
			b.Fatal(err)
		}
		// Let the detached runs' containers finish and clean them up.
		time.Sleep(time.Second)
		ids, _ := c.List(context.Background(), container.ListOptions{All: true, Labels: map[string]string{jobfile.LabelNetwork: name}})
		for _, s := range ids.Containers {
			_, _ = c.Remove(context.Background(), s.ID, container.RemoveOptions{Force: true})
		}
		mu.Lock()
		defer mu.Unlock()
		reportLatency(b, lat[:b.N])
	})
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		b.Fatal(errors.New("no latency recorded"))
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	q := func(p float64) float64 {
		i := int(p*float64(len(s))+0.5) - 1
		i = min(max(i, 0), len(s)-1)
		return float64(s[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1.0), "max-ms")
	b.ReportMetric(0, "ns/op")
}
