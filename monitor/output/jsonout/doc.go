// Package jsonout renders Evaluations as JSON for machines: a [Report]
// document for one-shot commands and status APIs, and JSON lines (one
// Evaluation per line) through [LineSink] for a long-running Runner.
//
// The field names are stable and snake_case; statuses are text ("OK",
// "WARNING", "CRITICAL", "UNKNOWN") with the numeric exit code beside
// them; errors are their text; values that are not finite numbers are
// null. One Evaluation looks like this:
//
//	{"check":"cpu","target":{"kind":"container","id":"0e0d…","name":"web-1"},
//	 "status":"CRITICAL","exit_code":2,"observed":"CRITICAL",
//	 "message":"cpu_percent=95% (critical 90)","time":"2015-09-05T21:59:08Z","took_seconds":0.012,
//	 "samples":[{"name":"cpu_percent","value":95,"unit":"%","time":"2015-09-05T21:59:08Z","mode":"oneshot"}]}
//
// # Usage
//
//	run, _ := monitor.NewRunner(cfg, resolver, monitor.WithSink(jsonout.NewLineSink(os.Stdout)))
//
//	evs, _ := run.CheckOnce(ctx, "cpu")
//	_ = jsonout.Write(os.Stdout, evs)
package jsonout
