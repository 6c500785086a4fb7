// Package witness resolves network partitions the way CLUSTERPRO's
// network partition resolution resources do: a node that stops hearing
// its peers probes a device every node can reach. If the device answers,
// the peer is down; if not, this node is the isolated one and deactivates
// its groups. Both witnesses here are an [ha.Witness]:
//
//   - [HTTP]: CLUSTERPRO's HTTP method. A HEAD request to a target, healthy
//     only when it answers 200 within the timeout (5 s by default). A
//     target without a scheme is https, as CLUSTERPRO's "Use SSL" is on in
//     its AWS guide (target aws.amazon.com, port 443). Certificates are
//     verified against the system's roots or a CA file; redirects are not
//     followed (a 302 is not 200); no proxy is used, since the point is
//     that this node reaches the target itself; no body is read beyond
//     a few KiB; each probe opens a fresh connection. The URL's user info
//     is sent as basic authentication but never shown in errors or logs.
//
//   - [Ping]: CLUSTERPRO's ping method. ICMP echo requests to a host (a
//     router, a core switch), a few of them an interval apart, healthy at
//     the first echo reply. On Linux it uses an unprivileged ICMP datagram
//     socket, which the kernel allows to processes whose group is in
//     sysctl net.ipv4.ping_group_range (Docker sets "0 2147483647" in
//     containers, as systemd's defaults do on many distributions); else a
//     raw socket, which needs root or CAP_NET_RAW. The probe's error says
//     which setting would allow it. Packets are built here, with the
//     standard library only.
//
// A witness proves reachability, not exclusivity: two nodes cut from
// each other that both reach it both conclude that the other is down.
// Pair it with a lease (package ha/etcd) where that matters.
//
// A probe returns nil when healthy. An error wrapping [ErrStatus] (an
// HTTP answer other than 200) or [ErrNoReply] (no echo reply) means the
// witness was asked and did not answer as healthy; an error wrapping
// [context.DeadlineExceeded] means no answer came in time (the ha
// package's CLUSTERPRO code 6); any other error says why the witness
// could not be asked. All of them mean "not healthy" to a node deciding
// whether it is isolated.
//
// # Usage
//
//	w, err := witness.HTTP(witness.HTTPConfig{Target: "aws.amazon.com"})
//	if err != nil {
//		return err
//	}
//	if err := w.Probe(ctx); err != nil {
//		// isolated: deactivate the groups
//	}
package witness
