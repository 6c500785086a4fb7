package hinemos_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/boltrepo"
	"github.com/minato-ops/minato/inventory/hinemos"
)

// BenchmarkSync500 syncs 500 containers (a third of them labelled into a
// scope) into the embedded repository file, as "minato inventory sync"
// and the agent do: the first sync (every node created and assigned), a
// sync with nothing to change, and a sync after 50 containers changed
// state. It reports the fsyncs per container (from the repository's own
// counters).
//
//	go test ./inventory/hinemos -run '^$' -bench Sync500 -benchtime 10x -count 3
func BenchmarkSync500(b *testing.B) {
	items := make([]inventory.Item, 500)
	for i := range items {
		label := ""
		if i%3 == 0 {
			label = "web1"
		}
		items[i] = item(fmt.Sprintf("%012x", i+1), fmt.Sprintf("c%03d", i), "running", "Up 1 minute", label)
	}
	changed := make([]inventory.Item, len(items))
	copy(changed, items)
	for i := 0; i < 50; i++ {
		changed[i*10].State = "exited"
	}
	ctx := context.Background()
	for _, bc := range []struct {
		name        string
		first, then []inventory.Item // then is measured; first prepares
	}{
		{"first", nil, items},
		{"unchanged", items, items},
		{"50-changed", items, changed},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var syncs, commits int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				repo, err := boltrepo.Open(filepath.Join(b.TempDir(), "inventory.db"), boltrepo.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if err := repo.PutScope(ctx, inventory.Scope{FacilityID: "web1", FacilityName: "web1"}); err != nil {
					b.Fatal(err)
				}
				s, err := hinemos.New(hinemos.Config{HostFacilityID: "docker_host1", HostAddress: "10.0.0.1"}, repo)
				if err != nil {
					b.Fatal(err)
				}
				if bc.first != nil {
					if _, err := s.Sync(ctx, bc.first); err != nil {
						b.Fatal(err)
					}
				}
				before := repo.Stats()
				b.StartTimer()
				if _, err := s.Sync(ctx, bc.then); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				after := repo.Stats()
				syncs += after.Syncs - before.Syncs
				commits += after.Commits - before.Commits
			}
			b.ReportMetric(float64(syncs)/float64(b.N)/500, "fsyncs/container")
			b.ReportMetric(float64(commits)/float64(b.N), "commits/sync")
		})
	}
}
