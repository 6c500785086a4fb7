package scheduler_test

import (
	"context"
	"fmt"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
)

// A scheduler with one network, submitted by hand with its second unit
// held, then released by an operator. In an agent, Run runs for the life
// of the process and the store is a job/boltstore file.
func ExampleScheduler() {
	say := func(word string) job.Action {
		return job.ActionFunc(func(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
			fmt.Fprintln(job.Output(ctx), word)
			return job.Outcome{}, nil
		})
	}
	store := scheduler.NewMemStore()
	s, err := scheduler.New(scheduler.Config{}, store, store)
	if err != nil {
		panic(err)
	}
	err = s.Add(scheduler.Entry{Name: "greet", Build: func(def []byte, runID string) (*job.Network, error) {
		return &job.Network{Name: "greet", Units: []job.Unit{
			{Name: "hello", Action: say("hello")},
			{Name: "world", Action: say("world"), Needs: []string{"hello"}},
		}}, nil
	}})
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = s.Run(ctx) }()

	rec, _, err := s.Submit(ctx, "greet", scheduler.SubmitOptions{ID: "greet@example", Hold: []string{"world"}})
	if err != nil {
		panic(err)
	}
	wait := func(ok func(scheduler.RunRecord) bool) scheduler.RunRecord {
		for {
			r, err := s.Get(ctx, rec.ID)
			if err == nil && ok(r) {
				return r
			}
			time.Sleep(time.Millisecond)
		}
	}
	r := wait(func(r scheduler.RunRecord) bool { u, _ := r.Report.Unit("hello"); return u.State == job.Succeeded })
	world, _ := r.Report.Unit("world")
	fmt.Println(r.ID, "world is", world.State)
	if err := s.Release(ctx, rec.ID, "world"); err != nil {
		panic(err)
	}
	r = wait(scheduler.RunRecord.Finished)
	for _, u := range r.Report.Units {
		fmt.Printf("%s %s %q\n", u.Name, u.State, u.Output)
	}
	// Output:
	// greet@example world is held
	// hello succeeded "hello\n"
	// world succeeded "world\n"
}
