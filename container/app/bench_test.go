package app_test

import (
	"context"
	"slices"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/app"
)

// BenchmarkNoopReconcile measures a reconcile pass over 50 applications of
// 2 replicas each that are already as declared; writes/op must be 0.
func BenchmarkNoopReconcile(b *testing.B) {
	e := newEnv(b)
	r := e.reconciler(b)
	ctx := ctxT(b, 10*time.Minute)
	var specs []app.Spec
	for range 50 {
		specs = append(specs, e.spec(uniq("n"), 2))
	}
	if _, err := r.Apply(ctx, specs, app.ApplyOptions{}); err != nil {
		b.Fatal(err)
	}
	before := e.cnt.writes.Load()
	b.ResetTimer()
	for b.Loop() {
		res, err := r.Apply(ctx, specs, app.ApplyOptions{})
		if err != nil || !res.Plan.Converged() {
			b.Fatalf("%v\n%s", err, res.Plan)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(e.cnt.writes.Load()-before)/float64(b.N), "writes/op")
}

// BenchmarkDriftRepair removes a replica by hand (docker rm -f) b.N times
// and measures how long Run takes to have a replacement running; it
// reports the p50 and p99 latencies in ms.
func BenchmarkDriftRepair(b *testing.B) {
	e := newEnv(b)
	r := e.reconciler(b, app.WithResyncInterval(time.Minute))
	ctx, cancel := context.WithCancel(ctxT(b, 20*time.Minute))
	s := e.spec(uniq("r"), 1)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, []app.Spec{s}) }()
	defer func() { cancel(); <-done }()
	name := s.Name + "-1"
	running := func(old string) string {
		l, err := e.c.List(ctx, container.ListOptions{Labels: map[string]string{app.LabelApp: s.Name}, States: []container.State{container.Running}})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range l.Containers {
			if c.Name == name && c.ID != old {
				return c.ID
			}
		}
		return ""
	}
	id := ""
	for deadline := time.Now().Add(time.Minute); id == ""; time.Sleep(20 * time.Millisecond) {
		if id = running(""); id == "" && time.Now().After(deadline) {
			b.Fatal("first replica never ran")
		}
	}
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if err := e.h.Client.ContainerRemove(ctx, id, dcontainer.RemoveOptions{Force: true}); err != nil {
			b.Fatal(err)
		}
		old := id
		for id = ""; id == ""; time.Sleep(10 * time.Millisecond) {
			if id = running(old); id == "" && time.Since(start) > time.Minute {
				b.Fatal("replica not replaced within a minute")
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
