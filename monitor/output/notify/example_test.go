package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/notify"
)

// A Queue in front of a destination that refuses some messages for good
// and is briefly down for others.
func ExampleQueue() {
	attempts := map[string]int{}
	deliver := func(ctx context.Context, m string) error {
		attempts[m]++ // deliver is never called concurrently
		switch {
		case strings.HasPrefix(m, "bad"):
			return notify.Permanent(errors.New("status 400"))
		case m == "flaky" && attempts[m] < 3:
			return errors.New("connection refused") // retried
		}
		fmt.Println("delivered", m, "after", attempts[m], "attempts")
		return nil
	}
	cfg := notify.DefaultQueueConfig()
	cfg.Backoff = 1 // nanosecond, to keep the example quick
	q, err := notify.NewQueue(cfg, deliver)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range []string{"first", "bad request", "flaky", "last"} {
		if err := q.Enqueue(context.Background(), m); err != nil {
			fmt.Println(err)
		}
	}
	if err := q.Close(context.Background()); err != nil { // flushes first
		fmt.Println(err)
	}
	fmt.Printf("%+v\n", q.Stats())
	// Output:
	// delivered first after 1 attempts
	// delivered flaky after 3 attempts
	// delivered last after 1 attempts
	// {Sent:3 Dropped:1 Pending:0}
}

// printer is a Notifier that prints each Evaluation at once.
type printer struct{ c notify.Counter }

func (p *printer) Notify(_ context.Context, ev monitor.Evaluation) error {
	_, err := fmt.Printf("%s %s %s\n", ev.Check, ev.Target.Name, ev.Status)
	return p.c.Count(err)
}
func (p *printer) Flush(context.Context) error { return nil }
func (p *printer) Stats() notify.Stats         { return p.c.Stats() }
func (p *printer) Close(context.Context) error { return nil }

// A FanOut as a Runner's transition callback: the first, "no baseline
// yet" round after a start is not news, and neither is the return to OK
// that follows it.
func ExampleFanOut_Transition() {
	fan := notify.NewFanOut(notify.FanOutConfig{})
	if err := fan.Add("stdout", &printer{}); err != nil {
		fmt.Println(err)
		return
	}
	// monitor.NewRunner(cfg, resolver, monitor.WithTransitions(fan.Transition))
	web := inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57", Name: "web-1"}
	ctx := context.Background()
	fan.Transition(ctx, monitor.Transition{From: monitor.OK, Evaluation: monitor.Evaluation{
		Check: "cpu", Target: web, Status: monitor.Unknown, Err: monitor.ErrNoBaseline,
	}})
	fan.Transition(ctx, monitor.Transition{From: monitor.Unknown, Evaluation: monitor.Evaluation{
		Check: "cpu", Target: web, Status: monitor.OK,
	}})
	fan.Transition(ctx, monitor.Transition{From: monitor.OK, Evaluation: monitor.Evaluation{
		Check: "cpu", Target: web, Status: monitor.Critical, Message: "cpu_percent=95% (critical 90)",
	}})
	if err := fan.Close(ctx); err != nil {
		fmt.Println(err)
	}
	_ = json.NewEncoder(os.Stdout).Encode(fan.Stats()) // for /metrics
	// Output:
	// cpu web-1 CRITICAL
	// [{"name":"stdout","sent":1,"dropped":0,"pending":0}]
}
