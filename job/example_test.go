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

func ExampleNetwork_Start() {
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
	e, err := n.Start(context.Background(), job.StartOptions{})
	if err != nil {
		fmt.Println("invalid network:", err)
		return
	}
	rep := e.Wait()
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
