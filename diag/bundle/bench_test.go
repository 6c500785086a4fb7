package bundle_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/diag/bundle"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
)

// BenchmarkBundle20 writes the bundle of 20 running containers (goal:
// at most 5 s). The raw-api sub-benchmark makes the same per-container
// engine calls (inspect, log tail, top, one stats sample, events, three
// file copies) one after another through the same client, writing
// nothing, so the bundle's own overhead shows beside it.
func BenchmarkBundle20(b *testing.B) {
	h := dockertest.New(b)
	c := clienttest.New(b, h)
	ids := make([]string, 20)
	for i := range ids {
		x := h.Run(b, dockertest.RunOptions{
			Name: fmt.Sprintf("bundle-bench-%s-%02d", h.RunID()[:8], i),
			Args: []string{"print", "line one", "--", "print", "line two", "--", "sleep", "forever"},
			Env:  []string{"SERVICE_PASSWORD=bench-secret", "MODE=bench"},
		})
		ids[i] = x.ID
	}
	for _, id := range ids {
		h.WaitState(b, id, "running", 30*time.Second)
	}
	sel := inventory.Selector{Labels: map[string]string{dockertest.LabelKey: h.RunID()}}
	ctx := context.Background()

	b.Run("minato", func(b *testing.B) {
		for b.Loop() {
			dir, err := os.MkdirTemp("", "bundle-bench")
			if err != nil {
				b.Fatal(err)
			}
			res, err := bundle.Collect(ctx, c, bundle.Options{Dir: dir, Host: "bench", Selector: sel})
			os.RemoveAll(dir)
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Errors) > 0 {
				b.Fatalf("partial failures: %v", res.Errors)
			}
		}
	})
	b.Run("raw-api", func(b *testing.B) {
		for b.Loop() {
			for _, id := range ids {
				insp, err := c.Inspect(ctx, id, container.InspectOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Logs(ctx, id, container.LogsOptions{Stdout: io.Discard, Stderr: io.Discard, Tail: "1000", Timestamps: true}); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Top(ctx, id, container.TopOptions{}); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Stats(ctx, id, container.StatsOptions{}); err != nil {
					b.Fatal(err)
				}
				err = c.Events(ctx, container.EventsOptions{Since: insp.Created.Add(-time.Second), Until: time.Now(),
					Filters: map[string][]string{"container": {id}}}, func(container.Event) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				for _, p := range []string{"/etc/hosts", "/etc/resolv.conf", "/etc/hostname"} {
					r, err := c.CopyFrom(ctx, id, p, container.CopyFromOptions{})
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, r.Archive)
					r.Archive.Close()
				}
			}
		}
	})
}
