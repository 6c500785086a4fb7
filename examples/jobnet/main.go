// Command jobnet builds a small job network in Go, with no YAML, runs it on
// the local engine and reacts to the units' outcomes as they finish.
//
//	go run ./examples/jobnet -image IMAGE [-container NAME]
//
// The network: "prepare" runs a fresh container from IMAGE; "check" runs a
// command in the running container NAME (skipped when -container is not
// given); "cleanup" runs whatever happened; "alert" runs only if something
// failed. It imports job and job/docker, plus container for the engine
// connection that job/docker's actions need.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	jobdocker "github.com/minato-ops/minato/job/docker"
)

func main() {
	image := flag.String("image", "", "image for the run units (must be on the engine; never pulled)")
	worker := flag.String("container", "", "a running container for the exec unit")
	flag.Parse()
	if *image == "" {
		fmt.Fprintln(os.Stderr, "jobnet: -image is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	c, err := container.New(container.ConfigFromEnv(nil))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer c.Close()

	units := []job.Unit{
		{Name: "prepare", Timeout: time.Minute,
			Action: jobdocker.RunContainer(c, jobdocker.RunOptions{Image: *image, Command: []string{"print", "prepared"}})},
		{Name: "cleanup", Needs: []string{"prepare"}, When: job.When{On: "always"},
			Action: jobdocker.RunContainer(c, jobdocker.RunOptions{Image: *image, Command: []string{"print", "cleaned"}})},
		{Name: "alert", Needs: []string{"prepare"}, When: job.When{On: "failure"},
			Action: job.ActionFunc(func(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
				fmt.Fprintln(job.Output(ctx), "prepare failed: paging the operator")
				return job.Outcome{}, nil
			})},
	}
	if *worker != "" {
		ts, err := c.Resolve(ctx, inventory.Selector{Names: []string{*worker}})
		if err != nil || len(ts) != 1 {
			fmt.Fprintf(os.Stderr, "jobnet: container %q: not found (%v)\n", *worker, err)
			os.Exit(1)
		}
		units = append(units, job.Unit{Name: "check", Needs: []string{"prepare"}, Target: ts[0],
			Retry:  &job.RetryPolicy{Limit: 2, Delay: time.Second},
			Action: jobdocker.Exec(c, jobdocker.ExecOptions{Cmd: []string{"/testbox", "print", "checked"}})})
	}
	net := &job.Network{Name: "example", Units: units, Concurrency: 2}

	// React to each unit as it finishes.
	exec, err := net.Start(ctx, job.StartOptions{Observer: func(u job.UnitReport) {
		switch u.State {
		case job.StateFailed, job.TimedOut:
			fmt.Printf("!! %s %s (exit %d): %s\n", u.Name, u.State, u.ExitCode, u.Message)
		case job.Succeeded:
			fmt.Printf("ok %s in %s\n", u.Name, u.Duration().Round(time.Millisecond))
		}
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rep := exec.Wait()
	for _, u := range rep.Units {
		fmt.Printf("%s %s exit=%d attempts=%d\n", u.Name, u.State, u.ExitCode, u.Attempts)
	}
	stop()
	os.Exit(rep.ExitCode())
}
