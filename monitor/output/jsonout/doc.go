// Package jsonout renders Evaluations as JSON for machines: a [Report]
// document for one-shot commands and status APIs, and JSON lines (one
// Evaluation per line) through [LineSink] for a long-running Runner, or
// through a [LineNotifier] ([NewLineNotifier], [NewFileNotifier]): a
// [notify.Notifier] for a [notify.FanOut], safe for concurrent use, that
// counts the lines it could not write and syncs its file on Flush.
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
//	n, err := jsonout.NewFileNotifier("/var/log/minato/notifications.jsonl")
//	err = fan.Add("jsonl", n) // fan.Close(ctx) syncs and closes the file
//
//	evs, _ := run.CheckOnce(ctx, "cpu")
//	_ = jsonout.Write(os.Stdout, evs)
package jsonout
