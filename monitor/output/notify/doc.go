// Package notify is the delivery core shared by minato's notifiers
// (syslog, webhook, SNMP notifications, JSON lines) and the fan-out that
// hands a Runner's Evaluations to all of them.
//
// A [Notifier] passes Evaluations on to one destination. Its contract:
// Notify queues (or sends at once, when that is as quick as a datagram)
// and never blocks for long, Flush waits for what was given before,
// Close stops within its context, and [Stats] counts every message
// exactly once, as Sent or Dropped, with the undecided ones Pending. The
// adapters live beside their protocols: syslog.NewNotifier,
// webhook.NewNotifier, snmptrap.NewNotifier, jsonout.NewLineNotifier and
// jsonout.NewFileNotifier.
//
// A [Queue] is what the notifiers that must not block are built on: a
// bounded buffer (Enqueue never blocks; a full buffer is [ErrBufferFull]
// and a drop), one goroutine delivering in order, retries with
// exponential backoff unless the delivery error is marked [Permanent]
// (or hints a wait with [RetryAfter], as a 429's Retry-After does), a
// Flush that waits without polling, and a Close that keeps to its
// context: when the context ends, the delivery in progress is canceled
// and what is left is counted as dropped and reported with
// [ErrUndelivered]. A [Counter] gives the notifiers that send before
// they return the same Stats.
//
// A [FanOut] holds named Notifiers. It is a [monitor.Sink] (every
// Evaluation of every round) and, through [FanOut.Transition], a
// transition callback (status changes only); one failing notifier does
// not stop the others. It flushes and closes them all together, and
// [FanOut.Stats] lists their counters by name, for a /metrics endpoint.
//
// # Drops are never silent
//
// Every message a notifier does not deliver is counted in Stats.Dropped
// and either returned as an error to the caller that gave it (buffer
// full, closed, a synchronous send that failed, what Close left) or,
// when it is dropped in the background (a permanent error, retries
// spent), logged at warn through [WithLogger] with the reason. It is
// never both, and a log line never holds the message or a secret.
//
// # Usage
//
//	fan := notify.NewFanOut(notify.FanOutConfig{}, notify.WithLogger(logger))
//	defer fan.Close(closeCtx) // a context with the shutdown budget, say 5 s
//	w, err := syslog.New(syslogCfg, syslog.WithLogger(logger))
//	if err != nil {
//		return err
//	}
//	if err := fan.Add("syslog", syslog.NewNotifier(w, syslog.SinkOptions{All: true})); err != nil {
//		return err
//	}
//	run, err := monitor.NewRunner(rcfg, resolver, monitor.WithTransitions(fan.Transition))
//
// and a notifier of one's own on a Queue:
//
//	q, err := notify.NewQueue(notify.DefaultQueueConfig(), func(ctx context.Context, m []byte) error {
//		if err := post(ctx, m); err != nil {
//			return notify.Permanent(err) // or plain err to retry
//		}
//		return nil
//	})
package notify
