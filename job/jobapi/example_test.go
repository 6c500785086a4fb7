package jobapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/jobapi"
	"github.com/minato-ops/minato/job/scheduler"
)

// A scheduler served over HTTP on loopback, and a client that submits a
// run and asks for a network that does not exist.
func Example() {
	st := scheduler.NewMemStore()
	s, _ := scheduler.New(scheduler.Config{}, st, st)
	_ = s.Add(scheduler.Entry{Name: "hello", Build: func([]byte, string) (*job.Network, error) {
		return &job.Network{Name: "hello", Units: []job.Unit{{Name: "say", Action: job.ActionFunc(
			func(ctx context.Context, _ inventory.Target) (job.Outcome, error) { return job.Outcome{}, nil })}}}, nil
	}})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { _ = s.Run(ctx) }()

	h, _ := jobapi.NewHandler(s, jobapi.Config{})
	srv := httptest.NewServer(h) // loopback: no token needed
	defer srv.Close()

	c, _ := jobapi.NewClient(srv.URL)
	rec, created, err := c.Submit(ctx, jobapi.SubmitRequest{Network: "hello", ID: "hello@example"})
	fmt.Println(rec.ID, created, err)
	_, _, err = c.Submit(ctx, jobapi.SubmitRequest{Network: "nope"})
	fmt.Println(errors.Is(err, job.ErrNotFound), err)
	// Output:
	// hello@example true <nil>
	// true submit: job: no network "nope"
}
