package job_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/jobtest"
)

var noop = job.ActionFunc(func(context.Context, inventory.Target) (job.Outcome, error) { return job.Outcome{}, nil })

// network1000 builds 1,000 no-op units in one of three shapes: "wide"
// (independent), "chain" (each needs the one before) and "layers" (10
// layers of 100, each unit needing every unit of the layer before would be
// 100,000 edges; here each needs 3 units of the previous layer).
func network1000(shape string) *job.Network {
	n := &job.Network{Name: "bench"}
	for i := range 1000 {
		u := job.Unit{Name: fmt.Sprintf("u%04d", i), Action: noop}
		switch shape {
		case "chain":
			if i > 0 {
				u.Needs = []string{fmt.Sprintf("u%04d", i-1)}
			}
		case "layers":
			if layer := i / 100; layer > 0 {
				for k := range 3 {
					u.Needs = append(u.Needs, fmt.Sprintf("u%04d", (layer-1)*100+(i+k*37)%100))
				}
			}
		}
		n.Units = append(n.Units, u)
	}
	return n
}

// BenchmarkNetwork1000 measures the engine's own overhead: a 1,000-unit
// network of no-op actions, against calling the 1,000 actions directly.
// Goal: ≤ 1 s in total per network run.
//
//	go test ./job -run '^$' -bench Network1000 -count 6 | tee net.txt; benchstat -col /shape net.txt
func BenchmarkNetwork1000(b *testing.B) {
	ctx := context.Background()
	b.Run("shape=direct-calls", func(b *testing.B) {
		for b.Loop() {
			for range 1000 {
				if _, err := noop.Do(ctx, inventory.Target{}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	for _, shape := range []string{"wide", "chain", "layers"} {
		b.Run("shape="+shape, func(b *testing.B) {
			n := network1000(shape)
			for b.Loop() {
				rep, err := jobtest.RunNetwork(ctx, n, nil)
				if err != nil || rep.ExitCode() != 0 {
					b.Fatalf("%v %v", err, rep.State)
				}
			}
		})
	}
}
