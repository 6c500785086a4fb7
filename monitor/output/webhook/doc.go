// Package webhook posts JSON messages to an HTTP(S) endpoint: a chat
// incoming webhook, an incident tool, an in-house collector.
// [NewNotifier] adapts a [Sender] to a [notify.Notifier] (for a
// [notify.FanOut]) that posts one JSON object per Evaluation, in the
// shape of [jsonout.NewEvaluation]; [NewSink] is the same as a
// [monitor.Sink] of its own:
//
//	POST /minato HTTP/1.1
//	Content-Type: application/json
//	User-Agent: minato
//	Authorization: Bearer …
//
//	{"check":"cpu","target":{"kind":"container","id":"0e0d8cdf3a57","name":"web-1"},"status":"CRITICAL",…}
//
// [Sender.Send] only queues (at most BufferSize messages, in a
// [notify.Queue]); one goroutine posts them in order. A 2xx status is
// delivered. 5xx, 429 (whose Retry-After is honoured, up to 30 s) and
// network errors are retried with a backoff doubling from Config.Backoff
// up to 30 s, at most Config.Retries times; other statuses (4xx, and
// 3xx: redirects are not followed) are dropped at once. A message is never dropped silently:
// Send fails with [ErrBufferFull] when the queue is full, each drop is
// counted by [Sender.Stats] (the [notify.Stats] every notifier reports)
// and either returned or logged at warn ([WithLogger]), and Close reports
// what it could not deliver with [ErrUndelivered]. [Sender.Flush] waits
// for the messages sent before it. Close flushes until its context ends
// or for at most twice the Timeout, and then cancels the POST in flight,
// so that a hanging endpoint cannot hold up a shutdown.
//
// # Security
//
// https URLs are verified against the system's roots, and there is
// deliberately no option to skip verification; a private CA is trusted
// through a client of one's own ([WithHTTPClient]). Header values (such
// as Authorization) are never logged nor put in errors, and neither are
// the URL's user info, path and query, which often hold the webhook's
// secret: only its scheme and host are shown. Redirects are not followed,
// so headers never reach another host.
//
// # Usage
//
//	cfg := webhook.DefaultConfig()
//	cfg.URL = "https://hooks.example.com/minato"
//	cfg.Headers = map[string]string{"Authorization": "Bearer " + token}
//	s, err := webhook.New(cfg, webhook.WithLogger(logger))
//	if err != nil {
//		return err
//	}
//	err = fan.Add("webhook", webhook.NewNotifier(s)) // fan.Close(ctx) closes s
//
//	run, _ := monitor.NewRunner(rcfg, resolver, monitor.WithTransitions(fan.Transition))
package webhook
