// Package syslog sends messages to a syslog receiver (rsyslog, syslog-ng,
// the Hinemos manager, a SIEM) in the RFC 5424 or the BSD (RFC 3164)
// format, over UDP or TCP. This is how the Hinemos Docker monitoring
// scripts hand their Docker events and container states to Hinemos's
// system-log monitor: the receiver files each message under the node
// named by its HOSTNAME, so a container's state is sent with the
// container's 12-character ID as HOSTNAME, and a host's events with the
// host's name.
//
//	<14>1 2015-09-06T07:15:16.000000Z 90b56eb899e7 minato - container_status - running
//	<14>Sep  6 07:15:16 90b56eb899e7 minato: running
//
// [Format5424] and [Format3164] render one [Message]. A [Writer] sends
// them: over UDP one datagram per message, synchronously (loss cannot be
// detected); over TCP through a bounded queue (a [notify.Queue]) and one
// persistent connection that is re-established with backoff, framed as
// RFC 6587 says (octet counting for RFC 5424, a newline after RFC 3164
// messages). A Writer never drops a message silently: Send fails with
// [ErrBufferFull] when the queue is full, Close reports what it could not
// flush, and [Writer.Stats] counts sent, dropped and pending messages in
// the [notify.Stats] every notifier reports. [Writer.Flush] waits until
// the messages sent before are written, and Close keeps to its context.
//
// [NewNotifier] adapts a Writer to a [notify.Notifier] that sends one
// key=value message per Evaluation that is not OK, for a [notify.FanOut];
// [NewSink] is the same as a [monitor.Sink] of its own.
//
// # Usage
//
//	cfg := syslog.DefaultConfig()
//	cfg.Address = "127.0.0.1:514"
//	cfg.Protocol = syslog.TCP
//	w, err := syslog.New(cfg, syslog.WithLogger(logger))
//	if err != nil {
//		return err
//	}
//	defer w.Close(closeCtx) // flushes for at most Timeout, or until closeCtx ends
//	err = w.Send(ctx, syslog.Message{Severity: syslog.Critical, Hostname: "90b56eb899e7", Text: "exited"})
//	err = w.Flush(ctx) // written to the connection
//
// or, as one of the notifiers of a Runner:
//
//	err = fan.Add("syslog", syslog.NewNotifier(w, syslog.SinkOptions{All: true}))
package syslog
