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
	jobdocker "github.com/minato-ops/minato/job/docker"
	"github.com/minato-ops/minato/job/jobfile"
	"github.com/minato-ops/minato/job/scheduler"
)

// BenchmarkDueToStart measures the time from a schedule's due time to the
// unit's container starting (the engine's "start" event, for every
// implementation), on an idle engine, side by side with the floor: a
// program that waits for the same due time on a timer and creates and
// starts the container with the raw Docker API, or creates it ahead and
// only starts it at the due time. Each iteration is one due time (one per
// second). Reported: p50, p99 and max of the latency in milliseconds.
//
//	go test ./job/jobfile -run '^$' -bench DueToStart -benchtime 60x -count 1
func BenchmarkDueToStart(b *testing.B) {
	h := dockertest.New(b)
	img := h.Image(b)
	c := clienttest.New(b, h)

	// raw waits for each due time on a timer and creates and starts the
	// container then (as a scheduler without preparation would);
	// precreated creates it before the due time and only starts it then.
	for _, precreate := range []bool{false, true} {
		impl := "raw"
		if precreate {
			impl = "raw-precreated"
		}
		b.Run("impl="+impl, func(b *testing.B) {
			ctx := context.Background()
			lat := startLatencies(b, c, "bench.impl="+impl+"-"+h.RunID(), func(e container.Event) (time.Time, error) {
				return time.Parse(time.RFC3339Nano, e.Attributes["bench.due"])
			})
			b.ResetTimer()
			for range b.N {
				due := time.Now().Truncate(time.Second).Add(time.Second)
				create := func() string {
					res, err := h.Client.ContainerCreate(ctx, &dcontainer.Config{Image: img, Cmd: []string{"exit", "0"},
						Labels: map[string]string{dockertest.LabelKey: h.RunID(), "bench.impl": impl + "-" + h.RunID(),
							"bench.due": due.Format(time.RFC3339Nano)}}, nil, nil, nil, "")
					if err != nil {
						b.Fatal(err)
					}
					return res.ID
				}
				var id string
				if precreate {
					id = create()
				}
				time.Sleep(time.Until(due))
				if !precreate {
					id = create()
				}
				if err := h.Client.ContainerStart(ctx, id, dcontainer.StartOptions{}); err != nil {
					b.Fatal(err)
				}
				_, _ = h.Client.ContainerWait(ctx, id, dcontainer.WaitConditionNotRunning)
				_ = h.Client.ContainerRemove(ctx, id, dcontainer.RemoveOptions{Force: true})
			}
			reportLatency(b, lat(b.N))
		})
	}

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
		s, err := scheduler.New(scheduler.Config{}, store, store)
		if err != nil {
			b.Fatal(err)
		}
		spill := b.TempDir()
		err = s.Add(scheduler.Entry{Name: name, Schedule: sched, Overlap: scheduler.OverlapAllow, Definition: def,
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

		lat := startLatencies(b, c, jobdocker.LabelNetwork+"="+name, func(e container.Event) (time.Time, error) {
			return time.Parse("20060102T150405Z", strings.TrimPrefix(e.Attributes[jobdocker.LabelRun], name+"@"))
		})
		ctx, cancel := context.WithCancel(context.Background())
		runDone := make(chan error, 1)
		b.ResetTimer()
		go func() { runDone <- s.Run(ctx) }()
		got := lat(b.N)
		b.StopTimer()
		cancel()
		if err := <-runDone; err != nil {
			b.Fatal(err)
		}
		// Let the detached runs' containers finish and clean them up.
		time.Sleep(time.Second)
		ids, _ := c.List(context.Background(), container.ListOptions{All: true, Labels: map[string]string{jobdocker.LabelNetwork: name}})
		for _, s := range ids.Containers {
			_, _ = c.Remove(context.Background(), s.ID, container.RemoveOptions{Force: true})
		}
		reportLatency(b, got)
	})
}

// startLatencies watches the engine's start events of the containers with
// the label and returns a function that waits for n of them and returns
// each one's time minus its due time (which due reads from the event).
func startLatencies(b *testing.B, c *container.Client, label string, due func(container.Event) (time.Time, error)) func(n int) []time.Duration {
	var (
		mu  sync.Mutex
		lat []time.Duration
	)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	errc := make(chan error, 1)
	go func() {
		errc <- c.Events(ctx, container.EventsOptions{Filters: map[string][]string{
			"type": {"container"}, "event": {"start"}, "label": {label}}},
			func(e container.Event) error {
				d, err := due(e)
				if err != nil {
					return err
				}
				mu.Lock()
				lat = append(lat, e.Time.Sub(d))
				mu.Unlock()
				return nil
			})
	}()
	time.Sleep(200 * time.Millisecond) // the subscription is in place
	return func(n int) []time.Duration {
		deadline := time.Now().Add(time.Duration(n)*time.Second + time.Minute)
		for {
			mu.Lock()
			if len(lat) >= n {
				defer mu.Unlock()
				return slices.Clone(lat[:n])
			}
			mu.Unlock()
			select {
			case err := <-errc:
				b.Fatalf("events: %v", err)
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d starts seen", len(lat), n)
			}
		}
	}
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
