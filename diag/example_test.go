package diag_test

import (
	"context"
	"fmt"
	"os"

	"github.com/minato-ops/minato/diag"
)

// A check built from a function, run with others and written for a
// terminal.
func Example() {
	restart := diag.NewCheck(diag.CheckInfo{ID: "container.restart_policy", Title: "Restart policy", Subject: diag.SubjectContainer},
		func(ctx context.Context) ([]diag.Finding, error) {
			return []diag.Finding{{
				Code:     "container.no_restart_policy",
				Severity: diag.Warning,
				Subject:  diag.Subject{Kind: diag.SubjectContainer, ID: "4cd2236e6c2c", Name: "web"},
				Title:    "No restart policy",
				Detail:   "The engine will not start the container again after it exits or the host reboots.",
				Remedy:   "docker update --restart unless-stopped web",
				Evidence: []string{"HostConfig.RestartPolicy.Name: \"no\""},
			}}, nil
		})
	engine := diag.NewCheck(diag.CheckInfo{ID: "engine.reachable", Title: "Engine reachable", Subject: diag.SubjectEngine},
		func(ctx context.Context) ([]diag.Finding, error) { return nil, nil })

	rep := diag.Run(context.Background(), []diag.Check{engine, restart}, diag.RunOptions{})
	rep.Scope = "engine local"
	if err := diag.WriteText(os.Stdout, rep, diag.TextOptions{}); err != nil {
		fmt.Println(err)
	}
	fmt.Println("exit", rep.ExitCode())
	// Output:
	// engine local: 2 checks: 1 warning
	//
	// WARNING (1)
	//   [warning] container web: No restart policy (container.no_restart_policy)
	//       The engine will not start the container again after it exits or the host reboots.
	//       evidence:
	//         - HostConfig.RestartPolicy.Name: "no"
	//       fix: docker update --restart unless-stopped web
	//
	// result: warning, exit 1 (1 warning; all 2 checks answered)
	// exit 1
}

// A classifier explaining a pasted error text: the named group becomes a
// field, and a text no rule knows is unclassified.
func ExampleClassifier_Explain() {
	c, err := diag.NewClassifier([]diag.Rule{{
		ID:       "docker.port_allocated",
		Pattern:  `Bind for (?P<address>\S+) failed: port is already allocated`,
		Title:    "host port already in use",
		Remedy:   "Publish another host port, or stop the container that holds this one.",
		Severity: diag.Critical,
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	text := "docker: Error response from daemon: driver failed programming external connectivity on endpoint web: " +
		"Bind for 0.0.0.0:8080 failed: port is already allocated."
	for _, e := range c.Explain(text) {
		fmt.Printf("%s (%s): %s\n", e.Title, e.Severity, e.Fields["address"])
		fmt.Println("fix:", e.Remedy)
	}
	_ = diag.WriteExplanations(os.Stdout, "context deadline exceeded", c.Explain("context deadline exceeded"), diag.FormatText)
	// Output:
	// host port already in use (critical): 0.0.0.0:8080
	// fix: Publish another host port, or stop the container that holds this one.
	// unclassified: no known error was recognised in this text (25 bytes read); nothing is guessed.
}

// The Container Service FAQ's link check with the steps that have no
// counterpart here left nil: they pass as not applicable.
func ExampleConnectivity() {
	ok := func(id string) diag.Check {
		return diag.NewCheck(diag.CheckInfo{ID: id, Title: id}, func(ctx context.Context) ([]diag.Finding, error) { return nil, nil })
	}
	probe := diag.NewCheck(diag.CheckInfo{ID: "probe", Title: "HTTP probe"}, func(ctx context.Context) ([]diag.Finding, error) {
		return []diag.Finding{{Code: "container.http_error", Severity: diag.Critical,
			Subject: diag.Subject{Kind: diag.SubjectContainer, Name: "web"}, Title: "GET / answered 500"}}, nil
	})
	rb := diag.Connectivity(ok("running"), ok("service"), ok("health"), probe, nil, nil, ok("dns"))
	res := rb.Run(context.Background(), 0)
	fmt.Println("failed at step", res.FailedAt, "of", len(rb.Steps))
	fmt.Println(res.Steps[res.FailedAt-1].Title)
	fmt.Println("not run:", len(res.NotRun), "exit", res.ExitCode())
	// Output:
	// failed at step 4 of 7
	// Check that the web container's page responds (bypassing the routing)
	// not run: 3 exit 2
}

// A runbook run written for a terminal: the failed step, the steps not
// run, and the failed step's advice last.
func ExampleWriteRunbookText() {
	ok := diag.NewCheck(diag.CheckInfo{ID: "ok"}, func(ctx context.Context) ([]diag.Finding, error) { return nil, nil })
	down := diag.NewCheck(diag.CheckInfo{ID: "down"}, func(ctx context.Context) ([]diag.Finding, error) {
		return nil, fmt.Errorf("cannot reach the engine at unix:///var/run/docker.sock")
	})
	rb := diag.Runbook{Name: "demo", Title: "Four steps", Steps: []diag.Step{
		{Title: "Engine reachable", Check: ok},
		{Title: "Load balancer healthy"}, // no counterpart here
		{Title: "Web container answers", Check: down, Advice: "Start the engine, then run this again."},
		{Title: "DNS", Check: ok},
	}}
	_ = diag.WriteRunbookText(os.Stdout, rb.Run(context.Background(), 0))
	// Output:
	// runbook demo: Four steps
	//
	//   1. passed  Engine reachable
	//   2. n/a     Load balancer healthy (not applicable here)
	//   3. FAILED  Web container answers
	//        could not answer: cannot reach the engine at unix:///var/run/docker.sock
	//   4. not run DNS
	//
	// result: failed at step 3 of 4
	// advice (step 3):
	//   Start the engine, then run this again.
}
