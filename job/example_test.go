package job_test

import (
	"context"
	"fmt"

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
