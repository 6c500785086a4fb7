package scratch

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor/baseline"
	"github.com/minato-ops/minato/monitor/docker"
)

func TestBreakdown(t *testing.T) {
	h := dockertest.New(t)
	cfg := container.DefaultConfig()
	cfg.Host = h.Host
	c, _ := container.New(cfg)
	for range 100 {
		h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	}
	ctx := context.Background()
	ts, _ := c.Resolve(ctx, inventory.Selector{Labels: map[string]string{dockertest.LabelKey: h.RunID()}})
	t.Logf("%d targets", len(ts))
	for _, conc := range []int{1, 8, 32, 100} {
		for range 3 {
			t0 := time.Now()
			sem := make(chan struct{}, conc)
			var wg sync.WaitGroup
			for _, tg := range ts {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					if _, err := c.Inspect(ctx, tg.ID, container.InspectOptions{}); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			t.Logf("inspect x%d conc %d: %v", len(ts), conc, time.Since(t0))
		}
	}
	for _, mode := range []string{"direct", "oneshot"} {
		for _, conc := range []int{32, 128} {
			cc := docker.DefaultCollectorConfig()
			cc.Mode, cc.Concurrency = mode, conc
			col, _ := docker.NewCollector(c, cc)
			for range 3 {
				t0 := time.Now()
				_, _, err := col.Collect(ctx, ts)
				t.Logf("collect %s conc %d: %v %v", mode, conc, time.Since(t0), err)
			}
			store, _ := baseline.Open(t.TempDir())
			r, _ := docker.NewResources(col, store, "k", docker.CPU, docker.Memory)
			for range 3 {
				t0 := time.Now()
				_, _, err := r.CheckAll(ctx, ts)
				t.Logf("checkall %s conc %d: %v %v", mode, conc, time.Since(t0), err)
			}
		}
	}
}
