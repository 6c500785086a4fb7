// Package monitor is the monitor core: a [Monitor] measures one aspect of
// one [inventory.Target] and returns a [Result] of typed [Sample]s; the
// framework around it (thresholds, damping, scheduling, outputs) turns
// Results into verdicts and notifications.
//
// The package imports only the standard library and inventory. Docker
// monitors live in monitor/docker, SNMP polling in monitor/snmp, and the
// output formats (Nagios, Hinemos key,value, JSON, Prometheus) in
// monitor/output.
//
// # Samples
//
// Sample names are snake_case with a unit suffix (cpu_percent,
// memory_working_set_bytes, network_rx_bytes_total) so that every output
// format is a 1:1 mapping. Every Sample carries when it was taken and by
// which collection [Mode]. A value that cannot be had is not reported as 0:
// it is absent from the Result, and the Monitor says why with
// [ErrNoBaseline] or [ErrNotSupported].
//
// # Verdicts and failures
//
// A verdict is data and a failure is an error: a CRITICAL value is a Result
// (with its Status set by thresholds), while an error from Check means the
// value could not be obtained, which outputs report as [Unknown].
//
// # Judging
//
// A [Threshold] judges the samples of one name in one of two ways: a
// warning and a critical [Range] in the Monitoring Plugins grammar ("10",
// "10:", "~:10", "10:20", "@10:20", a trailing "80%" tolerated; see
// [ParseRange]), or Hinemos' numeric judgement, [HinemosBands]: an info
// and a warning band, half-open ("0:80" is 0 <= v < 80; see [ParseBand]),
// anything else critical. [EvaluateThresholds] raises a Result's own
// Status with them. A [Damper] implements [Damping]: a new status must
// repeat before it is reported.
//
// # Running checks
//
// A [Check] is the framework-owned configuration of a Monitor (targets,
// interval, timeout, start delay, thresholds, damping). A [Runner]
// schedules Checks, bounds concurrency, applies thresholds and damping,
// writes each round's [Evaluation]s to [Sink]s (monitor/output has Nagios,
// JSON and Prometheus renderings) and reports [Transition]s, which a
// binary connects to a job or an HA recovery.
//
// A source that pushes (the Docker Engine's events) is a [Watcher]. A
// Check whose Monitor is a Watcher, with Interval 0, is watched: the
// Runner runs its Watch, restarts it with backoff when the stream fails
// (reporting the failure as an Unknown Evaluation), and judges, damps,
// writes and reports each observation as it arrives, keeping the latest
// per Target. [WatchFunc] adapts a function; monitor/docker's
// EventWatcher is the Docker one.
//
// An error a Monitor returns becomes an Unknown Evaluation whose Message
// is the one text operators see for it, whichever output prints it: "no
// value yet: a rate needs the previous sample (the next run has one)"
// for [ErrNoBaseline], "unsupported: ..." for [ErrNotSupported].
//
// # Usage
//
//	run, err := monitor.NewRunner(monitor.DefaultRunnerConfig(), resolver,
//		monitor.WithLogger(log),
//		monitor.WithSink(jsonout.NewLineSink(os.Stdout)),
//		monitor.WithTransitions(func(ctx context.Context, t monitor.Transition) {
//			log.Info("status changed", "check", t.Check, "target", t.Target, "from", t.From, "to", t.Status)
//		}))
//	if err != nil {
//		return err
//	}
//	crit, _ := monitor.ParseRange("90")
//	err = run.Add(monitor.Check{
//		Name:       "cpu",
//		Monitor:    cpu, // a Monitor from monitor/docker, or a MonitorFunc
//		Targets:    inventory.Selector{Names: []string{"web*"}},
//		Interval:   time.Minute,
//		Thresholds: []monitor.Threshold{{Sample: "cpu_percent", Critical: &crit}},
//		Damping:    monitor.Damping{Raise: 3},
//	})
//	if err != nil {
//		return err
//	}
//	err = run.Add(monitor.Check{
//		Name:    "events",
//		Monitor: events, // a Watcher, such as monitor/docker's EventWatcher; no Interval
//		Damping: monitor.Damping{Clear: 2},
//	})
//	if err != nil {
//		return err
//	}
//	return run.Run(ctx) // until ctx is cancelled
package monitor
