package cgroupfs_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
)

// BenchmarkStats compares one container's full sample read directly from
// cgroupfs and /proc (mode=direct, with the PID; mode=direct-nopid, through
// the conventional path and without network counters) with the engine's
// one-shot stats call (mode=api), on the real engine. mode=fixture reads
// the v1 fixture tree and needs no engine.
func BenchmarkStats(b *testing.B) {
	b.Run("mode=fixture", func(b *testing.B) {
		base := filepath.Join("testdata", "v1-cgroupfs")
		r, err := newReader(filepath.Join(base, "sys/fs/cgroup"), filepath.Join(base, "proc"), "cgroupfs", "1")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Stats(idV1, 4242); err != nil {
				b.Fatal(err)
			}
		}
	})

	h, c, r := engine(b)
	id, pid := start(b, h, c, dockertest.RunOptions{Args: []string{"spawn", "1", "--", "sleep", "forever"}})
	b.Run("mode=direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Stats(id, pid); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mode=direct-nopid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Stats(id, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mode=api", func(b *testing.B) {
		b.ReportAllocs()
		ctx := context.Background()
		// On engines before 23.0.8 a one-shot call waits for the stats
		// collector's next tick (about 1 s), except the first when the
		// collector is idle. Warm up untimed so that the first timed call
		// is typical, and use a classic b.N loop: b.Loop's ramp-up from a
		// fast first call would run for minutes.
		if _, err := c.Stats(ctx, id, container.StatsOptions{}); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			if _, err := c.Stats(ctx, id, container.StatsOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
