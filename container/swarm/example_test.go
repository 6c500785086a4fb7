package swarm_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/swarm"
)

// Apply declares a service; WaitConverged waits for Swarm to run it, or
// says that Swarm rolled the change back.
func ExampleClient_Apply() {
	ctx := context.Background()
	cc, err := container.New(container.ConfigFromEnv(nil))
	if err != nil {
		return
	}
	defer cc.Close()
	sc, err := swarm.New(cc)
	if err != nil {
		return
	}
	res, err := sc.Apply(ctx, swarm.ServiceSpec{
		Name: "web", Image: "registry.example:5000/web:1.2", Replicas: 2,
		Ports:       []string{"8080:80"},
		Healthcheck: &swarm.Healthcheck{Test: []string{"/web", "-check"}, Interval: 5 * time.Second},
		Update:      swarm.UpdatePolicy{Batch: 1, Timeout: 10 * time.Second, FailureAction: "rollback"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := sc.WaitConverged(ctx, "web")
	switch {
	case errors.Is(err, swarm.ErrRolledBack):
		fmt.Println(res.Action, "but rolled back:", st.Update.Message)
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Printf("%s: %d/%d running\n", res.Action, st.Running, st.Desired)
	}
}

// RunJob runs a one-off task as a Swarm replicated job and reports its exit
// code and output.
func ExampleClient_RunJob() {
	ctx := context.Background()
	cc, err := container.New(container.ConfigFromEnv(nil))
	if err != nil {
		return
	}
	defer cc.Close()
	sc, err := swarm.New(cc)
	if err != nil {
		return
	}
	res, err := sc.RunJob(ctx, swarm.JobSpec{Image: "registry.example:5000/tools:1", Command: []string{"migrate"}, Timeout: 10 * time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("exit %d, timed out %v\n%s", res.ExitCode, res.TimedOut, res.Output)
}
