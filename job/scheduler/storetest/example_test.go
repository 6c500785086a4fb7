package storetest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
)

// A store package runs the suite from its own tests, giving it a function
// that opens a fresh, empty store for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storetest.TestStore(t, func(t *testing.T) scheduler.Store {
//			st, err := boltstore.Open(filepath.Join(t.TempDir(), "jobs.db"), boltstore.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return st
//		})
//	}
//
// Among what the suite checks is the order ListRuns returns, newest Created
// first and then ID descending, and that a run that has not reached a final
// state is kept by DeleteRuns whatever its Ended says. Here on scheduler.MemStore:
func Example() {
	ctx := context.Background()
	st := scheduler.NewMemStore()
	defer st.Close()
	t0 := time.Date(2025, 3, 14, 1, 0, 0, 0, time.UTC)
	for _, r := range []struct {
		id      string
		created time.Time
		state   job.UnitState
	}{
		{"backup@1", t0, job.Succeeded},
		{"backup@2", t0.Add(time.Hour), job.Running},
		{"report@2", t0.Add(time.Hour), job.StateFailed},
	} {
		_ = st.PutRun(ctx, scheduler.RunRecord{
			ID: r.id, Created: r.created, Ended: r.created.Add(time.Minute),
			Report: job.NetworkReport{State: r.state},
		})
	}
	list := func() {
		runs, _ := st.ListRuns(ctx, scheduler.RunFilter{})
		for _, r := range runs {
			fmt.Println(r.ID, r.Report.State)
		}
	}
	list()
	n, _ := st.DeleteRuns(ctx, t0.Add(24*time.Hour))
	fmt.Println("deleted", n)
	list()
	// Output:
	// report@2 failed
	// backup@2 running
	// backup@1 succeeded
	// deleted 2
	// backup@2 running
}
