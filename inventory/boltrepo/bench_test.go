package boltrepo_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/boltrepo"
)

// containers is the size of the benchmark's sync.
const containers = 500

// syncHost does what a sync of one Docker host with n containers does to
// the repository: per container a PutNode and two Assigns (the host's
// scope and a scope of every container).
func syncHost(b *testing.B, repo inventory.Repository, n int) {
	ctx := b.Context()
	for i := range n {
		c := node("dockerhost01", fmt.Sprintf("c%04d", i))
		if err := repo.PutNode(ctx, c); err != nil {
			b.Fatal(err)
		}
		if err := repo.Assign(ctx, "dockerhost01_scope", c.FacilityID); err != nil {
			b.Fatal(err)
		}
		if err := repo.Assign(ctx, "containers", c.FacilityID); err != nil {
			b.Fatal(err)
		}
	}
}

// freshRepo returns a repository with the two scopes and, when full, the
// containers already synced.
func freshRepo(b *testing.B, full bool) *boltrepo.Repo {
	ctx := b.Context()
	r, err := boltrepo.Open(filepath.Join(b.TempDir(), "inventory.db"), boltrepo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	err = r.Batch(ctx, func(tx inventory.Repository) error {
		for _, s := range []string{"dockerhost01_scope", "containers"} {
			if err := tx.PutScope(ctx, inventory.Scope{FacilityID: s}); err != nil {
				return err
			}
		}
		if full {
			syncHost(b, tx, containers)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkSync syncs 500 containers (a PutNode and two Assigns each) into
// a new repository, and again into one that already holds them (every
// call then changes nothing): in one Batch, and call by call. ns/op is a
// whole sync; fsyncs/container and commits/container come from
// [boltrepo.Repo.Stats].
func BenchmarkSync(b *testing.B) {
	for _, tc := range []struct {
		name        string
		batch, full bool
	}{
		{"new/batch", true, false},
		{"new/calls", false, false},
		{"unchanged/batch", true, true},
		{"unchanged/calls", false, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var commits, syncs, opens int64
			for b.Loop() {
				b.StopTimer()
				r := freshRepo(b, tc.full)
				before := r.Stats()
				b.StartTimer()
				if tc.batch {
					err := r.Batch(b.Context(), func(tx inventory.Repository) error {
						syncHost(b, tx, containers)
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				} else {
					syncHost(b, r, containers)
				}
				after := r.Stats()
				commits += after.Commits - before.Commits
				syncs += after.Syncs - before.Syncs
				opens += after.Opens - before.Opens
			}
			per := float64(b.N * containers)
			b.ReportMetric(float64(syncs)/per, "fsyncs/container")
			b.ReportMetric(float64(commits)/per, "commits/container")
			b.ReportMetric(float64(opens)/per, "opens/container")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/per, "µs/container")
		})
	}
}

// BenchmarkNode is one read call (Node) on a repository of 500 and of
// 5,000 containers: the cost of opening, checking and closing the file
// that every call pays.
func BenchmarkNode(b *testing.B) {
	for _, n := range []int{500, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "inventory.db")
			goodRepo(b, path, n)
			r, err := boltrepo.Open(path, boltrepo.Options{})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := r.Node(b.Context(), "dockerhost01-c0007"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
