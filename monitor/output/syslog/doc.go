// Package syslog sends messages to a syslog receiver (rsyslog, syslog-ng,
// the Hinemos manager, a SIEM) in the RFC 5424 or the BSD (RFC 3164)
// format, over UDP or TCP. This is how seed 002 hands its Docker events
// and container states to Hinemos's system-log monitor: the receiver
// files each message under the node named by its HOSTNAME, so a
// container's state is sent with the container's 12-character ID as
// HOSTNAME, and a host's events with the host's name.
//
//	<14>1 2015-09-06T07:15:16.000000Z 90b56eb899e7 minato - container_status - running
//	<14>Sep  6 07:15:16 90b56eb899e7 minato: running
//
// [Format5424] and [Format3164] render one [Message]. A [Writer] sends
// them: over UDP one datagram per message, synchronously (loss cannot be
// detected); over TCP through a bounded queue and one persistent
// connection that is re-established with backoff, framed as RFC 6587
// says (octet counting for RFC 5424, a newline after RFC 3164 messages).
// A Writer never drops a message silently: Send fails with
// [ErrBufferFull] when the queue is full, Close reports what it could not
// flush, and [Writer.Stats] counts sent, dropped and pending messages.
//
// [NewSink] adapts a Writer to a [monitor.Sink] that sends one key=value
// message per Evaluation that is not OK.
//
// # Usage
//
//	cfg := syslog.DefaultConfig()
//	cfg.Address = "127.0.0.1:514"
//	w, err := syslog.New(cfg)
//	if err != nil {
//		return err
//	}
//	defer w.Close()
//	err = w.Send(ctx, syslog.Message{Severity: syslog.Critical, Hostname: "90b56eb899e7", Text: "exited"})
//
//	run, _ := monitor.NewRunner(rcfg, resolver, monitor.WithSink(syslog.NewSink(w, syslog.SinkOptions{})))
package syslog
