package docker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	jobdocker "github.com/minato-ops/minato/job/docker"
)

// BenchmarkStopStart20 stops and starts 20 containers, one after another
// (seed 002's scripts) and with bounded concurrency, in the same run:
//
//	go test ./job/docker -run '^$' -bench StopStart20 -count 5 -benchtime 3x | tee stopstart.txt; benchstat stopstart.txt
func BenchmarkStopStart20(b *testing.B) {
	h := dockertest.New(b)
	cfg := container.DefaultConfig()
	cfg.Host = h.Host
	c, err := container.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	prefix := "bench-" + h.RunID()[:6] + "-"
	for i := range 20 {
		x := h.Run(b, dockertest.RunOptions{Name: fmt.Sprintf("%s%02d", prefix, i), Args: []string{"sleep", "forever"}})
		h.WaitState(b, x.ID, "running", 10*time.Second)
	}
	ctx := context.Background()
	ts, err := c.Resolve(ctx, inventory.Selector{Names: []string{prefix + "*"}})
	if err != nil || len(ts) != 20 {
		b.Fatalf("resolve: %d targets, %v", len(ts), err)
	}
	zero := time.Duration(0)
	for _, n := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("concurrency=%d", n), func(b *testing.B) {
			for b.Loop() {
				for _, a := range []job.Action{jobdocker.Stop(c, jobdocker.StopOptions{Grace: &zero}), jobdocker.Start(c)} {
					rep := job.Run(ctx, a, ts, job.RunOptions{Concurrency: n})
					if rep.ExitCode() != 0 {
						b.Fatal(rep.Errors())
					}
					for _, r := range rep.Results {
						if r.Outcome.Skipped {
							b.Fatalf("%s skipped (%s): containers must alternate", r.Target.Name, r.Outcome.Message)
						}
					}
				}
			}
		})
	}
}
