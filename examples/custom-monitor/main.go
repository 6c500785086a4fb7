// Command custom-monitor shows how to write a monitor of your own against
// minato's interfaces and run it next to a built-in one.
//
// httpLatency implements [monitor.Monitor] (and [monitor.Describer]): it
// GETs a URL and returns http_latency_seconds and http_up, with the
// Result's Status taken from the HTTP code (5xx critical, 4xx warning). It
// only measures and gives its own verdict; the [monitor.Runner] owns the
// rest: schedule, timeout (which reaches Check as ctx), the --warning and
// --critical ranges on the latency, damping, and output. The same Runner
// runs docker.NewState over the containers -n selects, and a Nagios Sink
// prints one line per check and round:
//
//	go run ./examples/custom-monitor -url http://localhost:8080/health -n 'web*' -warning 0.5 -critical 2
//	http OK: http://localhost:8080/health: 200 OK | http_latency_seconds=0.0021s;0.5;2 http_up=1
//	state CRITICAL: web-2: exited; 1 of 2 OK | container_running:web-1=1 ...
//
// With -once it runs each check once ([monitor.Runner.CheckOnce]: no
// damping), prints the lines and exits with the worst status as a Nagios
// plugin does: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for usage
// errors). The engine is found from DOCKER_HOST and friends.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/docker"
	"github.com/minato-ops/minato/monitor/output/nagios"
)

// httpLatency GETs the URL in Target.ID. An endpoint that answers badly or
// not at all is a verdict (a Result); only a cancelled ctx is an error, so
// the Runner reports its timeout as UNKNOWN rather than as "down".
type httpLatency struct{ client *http.Client }

func (m httpLatency) Check(ctx context.Context, t inventory.Target) (monitor.Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.ID, nil)
	if err != nil {
		return monitor.Result{}, err
	}
	start := time.Now()
	resp, err := m.client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}
	res := monitor.Result{Time: start, Status: monitor.Critical}
	switch {
	case err != nil && ctx.Err() != nil:
		return monitor.Result{}, ctx.Err()
	case err != nil: // refused, reset, DNS: down, and no latency to report
		res.Message, res.Samples = err.Error(), []monitor.Sample{{Name: "http_up", Value: 0, Mode: monitor.ModeProbe}}
		return res, nil
	}
	up := 0.0
	switch {
	case resp.StatusCode < 400:
		res.Status, up = monitor.OK, 1
	case resp.StatusCode < 500:
		res.Status = monitor.Warning
	}
	res.Code, res.Message = resp.StatusCode, resp.Status
	res.Samples = []monitor.Sample{
		{Name: "http_latency_seconds", Value: time.Since(start).Seconds(), Unit: monitor.Seconds, Mode: monitor.ModeProbe},
		{Name: "http_up", Value: up, Mode: monitor.ModeProbe},
	}
	return res, nil
}

func (httpLatency) Describe() []monitor.SampleDesc {
	return []monitor.SampleDesc{
		{Name: "http_latency_seconds", Unit: monitor.Seconds, Kind: monitor.Gauge, Help: "Time from sending the GET to the end of the body."},
		{Name: "http_up", Kind: monitor.Gauge, Help: "1 when the endpoint answered with a status below 400."},
	}
}

// byKind routes a Selector to the resolver for its Kind. One Runner takes
// one Resolver; routing keeps both checks in one Runner, so they share one
// concurrency bound, one Sink and one Run loop, where two Runners would
// need all of that twice.
func byKind(containers, others inventory.Resolver) inventory.Resolver {
	return inventory.ResolverFunc(func(ctx context.Context, sel inventory.Selector) ([]inventory.Target, error) {
		if sel.Kind == inventory.KindContainer {
			return containers.Resolve(ctx, sel)
		}
		return others.Resolve(ctx, sel)
	})
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("custom-monitor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "HTTP `URL` whose latency to watch (empty: containers only)")
	name := fs.String("n", "", "containers to watch: `NAME` or a prefix NAME* (default all)")
	interval := fs.Duration("interval", 30*time.Second, "time between rounds; also bounds each check")
	warn := fs.String("warning", "", "latency warning `RANGE` in seconds (Nagios grammar: 0.5, 1:, @0:0.1)")
	crit := fs.String("critical", "", "latency critical `RANGE` in seconds")
	once := fs.Bool("once", false, "check once, print the lines and exit with the worst status")
	if err := fs.Parse(args); err != nil {
		return int(monitor.Unknown)
	}
	fail := func(err error) int { fmt.Fprintln(stderr, err); return int(monitor.Unknown) }
	latency := monitor.Threshold{Sample: "http_latency_seconds"}
	var errW, errC error
	latency.Warning, errW = rangeFlag(*warn)
	latency.Critical, errC = rangeFlag(*crit)
	if err := errors.Join(errW, errC); err != nil {
		return fail(err)
	}
	// The Nagios line shows the samples thresholds name: the latency,
	// judged, and whether the URL answered, shown only.
	httpThresholds := []monitor.Threshold{latency, {Sample: "http_up"}}

	client, err := container.New(container.ConfigFromEnv(nil))
	if err != nil {
		return fail(err)
	}
	defer client.Close()
	sel := inventory.Selector{Kind: inventory.KindContainer}
	if *name != "" {
		sel.Names = []string{*name}
	}
	checks := []monitor.Check{{Name: "state", Monitor: docker.NewState(client), Targets: sel, Interval: *interval}}
	urls := inventory.Static() // no URL: the http check is not added
	if *url != "" {
		urls = inventory.Static(inventory.Target{Kind: "url", ID: *url, Name: *url})
		checks = append([]monitor.Check{{
			Name: "http", Monitor: httpLatency{client: &http.Client{}}, Targets: inventory.Selector{Kind: "url"},
			Interval: *interval, Thresholds: httpThresholds,
			Damping: monitor.Damping{Raise: 2, Clear: 2}, // one slow answer is not an alert
		}}, checks...)
	}
	runner, err := monitor.NewRunner(monitor.DefaultRunnerConfig(), byKind(client, urls),
		monitor.WithSink(nagios.NewSink(stdout, map[string][]monitor.Threshold{"http": httpThresholds})),
		monitor.WithTransitions(func(_ context.Context, t monitor.Transition) {
			fmt.Fprintf(stderr, "%s: %s changed from %s to %s\n", t.Check, t.Target.Name, t.From, t.Status)
		}))
	for _, c := range checks {
		if err == nil {
			err = runner.Add(c)
		}
	}
	if err != nil {
		return fail(err)
	}
	if !*once {
		_ = runner.Run(ctx) // nil once ctx is done: Run fails only when called twice
		return int(monitor.OK)
	}
	worst := monitor.OK
	for _, c := range checks {
		evs, err := runner.CheckOnce(ctx, c.Name)
		line, exit := fmt.Sprintf("%s UNKNOWN: %v", c.Name, err), int(monitor.Unknown)
		if err == nil {
			line, exit = nagios.Format(c.Name, evs, c.Thresholds)
		}
		fmt.Fprintln(stdout, line)
		worst = monitor.Worst(worst, monitor.Status(exit))
	}
	return worst.ExitCode()
}

// rangeFlag parses an optional Nagios range flag.
func rangeFlag(s string) (*monitor.Range, error) {
	if s == "" {
		return nil, nil
	}
	r, err := monitor.ParseRange(s)
	return &r, err
}
