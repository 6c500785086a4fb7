package job_test

import (
	"context"
	"fmt"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
)

func ExampleRun() {
	states := map[string]string{"web-1": "exited", "web-2": "running"}
	start := job.ActionFunc(func(ctx context.Context, t inventory.Target) (job.Outcome, error) {
		if s := states[t.Name]; s != "exited" {
			return job.Outcome{Skipped: true, Message: s}, nil
		}
		states[t.Name] = "running"
		return job.Outcome{}, nil
	})
	ts := []inventory.Target{
		{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57aaaa", Name: "web-1"},
		{Kind: inventory.KindContainer, ID: "1eae26f41927bbbb", Name: "web-2"},
	}
	rep := job.Run(context.Background(), start, ts, job.RunOptions{})
	for _, r := range rep.Results {
		fmt.Println(r.Target.ShortID(), r.Target.Name, r.Verdict())
	}
	fmt.Println("exit", rep.ExitCode())
	// Output:
	// 0e0d8cdf3a57 web-1 Success
	// 1eae26f41927 web-2 Skipped (running)
	// exit 0
}

func ExampleNetwork_Run() {
	step := func(code int, output string) job.Action {
		return job.ActionFunc(func(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
			fmt.Fprint(job.Output(ctx), output)
			return job.Outcome{ExitCode: code}, nil
		})
	}
	n := &job.Network{
		Name: "nightly-backup",
		Units: []job.Unit{
			{Name: "dump", Action: step(2, "pg_dump: connection refused")},
			{Name: "upload", Action: step(0, "uploaded"), Needs: []string{"dump"}},
			{Name: "alert", Action: step(0, "paged on-call"), Needs: []string{"dump"}, When: job.When{On: job.WhenFailure}},
		},
	}
	rep, err := n.Run(context.Background())
	if err != nil {
		fmt.Println("invalid network:", err)
		return
	}
	for _, u := range rep.Units {
		fmt.Printf("%-6s %-9s exit=%d %s%s\n", u.Name, u.State, u.ExitCode, u.Output, u.Message)
	}
	fmt.Println(rep.State, "exit", rep.ExitCode())
	// Output:
	// dump   failed    exit=2 pg_dump: connection refused
	// upload skipped   exit=0 condition success not met: dump failed
	// alert  succeeded exit=0 paged on-call
	// failed exit 9
}

func ExampleChain() {
	attempts := 0
	flaky := job.ActionFunc(func(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
		attempts++
		if attempts < 3 {
			return job.Outcome{ExitCode: 75}, nil // EX_TEMPFAIL
		}
		return job.Outcome{}, nil
	})
	a := job.Chain(flaky,
		job.Retry(job.RetryPolicy{Limit: 5, OnExit: map[int]job.Decision{75: job.DecideRetry}, Default: job.DecideFail}),
		job.Timeout(time.Minute), // per attempt
	)
	out, err := a.Do(context.Background(), inventory.Target{})
	fmt.Println(out.Succeeded(), out.Attempts, err)
	// Output:
	// true 3 <nil>
}

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
	s, err := job.NewScheduler(job.SchedulerConfig{}, job.NewMemStore())
	if err != nil {
		panic(err)
	}
	err = s.Add(job.Entry{Name: "greet", Build: func(def []byte, runID string) (*job.Network, error) {
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

	rec, _, err := s.Submit(ctx, "greet", job.SubmitOptions{ID: "greet@example", Hold: []string{"world"}})
	if err != nil {
		panic(err)
	}
	wait := func(ok func(job.RunRecord) bool) job.RunRecord {
		for {
			r, err := s.Get(ctx, rec.ID)
			if err == nil && ok(r) {
				return r
			}
			time.Sleep(time.Millisecond)
		}
	}
	r := wait(func(r job.RunRecord) bool { u, _ := r.Report.Unit("hello"); return u.State == job.Succeeded })
	world, _ := r.Report.Unit("world")
	fmt.Println(r.ID, "world is", world.State)
	if err := s.Release(ctx, rec.ID, "world"); err != nil {
		panic(err)
	}
	r = wait(job.RunRecord.Finished)
	for _, u := range r.Report.Units {
		fmt.Printf("%s %s %q\n", u.Name, u.State, u.Output)
	}
	// Output:
	// greet@example world is held
	// hello succeeded "hello\n"
	// world succeeded "world\n"
}
