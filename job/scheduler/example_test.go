package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
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

// fullDisk is a Store whose writes fail while full is set, as on a full
// disk (DeleteRun, which the example does not reach, aside).
type fullDisk struct {
	*scheduler.MemStore
	full atomic.Bool
}

var errNoSpace = errors.New("no space left on device")

func (d *fullDisk) CreateRun(ctx context.Context, rec scheduler.RunRecord) (bool, error) {
	if d.full.Load() {
		return false, errNoSpace
	}
	return d.MemStore.CreateRun(ctx, rec)
}

func (d *fullDisk) PutRun(ctx context.Context, rec scheduler.RunRecord) error {
	if d.full.Load() {
		return errNoSpace
	}
	return d.MemStore.PutRun(ctx, rec)
}

func (d *fullDisk) DeleteRuns(ctx context.Context, before time.Time) (int, error) {
	if d.full.Load() {
		return 0, errNoSpace
	}
	return d.MemStore.DeleteRuns(ctx, before)
}

func (d *fullDisk) PutValue(ctx context.Context, key string, v []byte) error {
	if d.full.Load() {
		return errNoSpace
	}
	return d.MemStore.PutValue(ctx, key, v)
}

// While the store fails to write, Health says so (an agent serves it as
// its health check) and Submit refuses new runs with ErrUnavailable; the
// scheduler probes the store, and Health is nil again at its first write
// that succeeds.
func ExampleScheduler_Health() {
	store := &fullDisk{MemStore: scheduler.NewMemStore()}
	s, err := scheduler.New(scheduler.Config{}, store, store)
	if err != nil {
		panic(err)
	}
	err = s.Add(scheduler.Entry{Name: "backup", Build: func([]byte, string) (*job.Network, error) {
		return &job.Network{Name: "backup", Units: []job.Unit{{Name: "dump", Action: job.ActionFunc(
			func(context.Context, inventory.Target) (job.Outcome, error) { return job.Outcome{}, nil })}}}, nil
	}})
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = s.Run(ctx) }()

	store.full.Store(true)
	_, _, err = s.Submit(ctx, "backup", scheduler.SubmitOptions{})
	fmt.Println("submit refused:", errors.Is(err, scheduler.ErrUnavailable))
	fmt.Println("unhealthy:", errors.Is(s.Health(), scheduler.ErrUnavailable), errors.Is(s.Health(), errNoSpace))
	_, _, err = s.Submit(ctx, "backup", scheduler.SubmitOptions{})
	fmt.Println("still refused:", errors.Is(err, scheduler.ErrUnavailable))

	store.full.Store(false) // space freed
	for s.Health() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	_, _, err = s.Submit(ctx, "backup", scheduler.SubmitOptions{})
	fmt.Println("healthy again; submitted:", err == nil)
	// Output:
	// submit refused: true
	// unhealthy: true true
	// still refused: true
	// healthy again; submitted: true
}
