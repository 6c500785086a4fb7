// Package host holds the diagnostics about the machine a Docker Engine runs
// on, as [diag.Check]s: the kernel settings that the Container Service FAQ
// names for load-balanced hosts (rp_filter, arp_announce), IP forwarding,
// disk and inode use of the engine's data root, clock synchronisation and
// the kernel releases that make container removal fail with "device or
// resource busy".
//
// The checks read files, never run commands: /proc, /sys, /etc/os-release
// and /run under [Options.Root] ("/" by default), plus statfs(2) and
// adjtimex(2) on the real machine. Pointing Root at a directory that mimics
// those trees (as the tests do) checks a fake host. They are meant for the
// machine the engine runs on; package diag/docker adds them to its checks
// when the engine is local and tells them what only the engine knows (its
// data root, its bridge networks) through [Options.Engine].
//
// The checks, by ID:
//
//	host.rp_filter    D10: net.ipv4.conf.{default,all,<interface>}.rp_filter ≠ 0
//	host.arp_announce D11: net.ipv4.conf.{default,all}.arp_announce ≠ 2
//	host.ip_forward   net.ipv4.ip_forward = 0 (containers lose outside network)
//	host.data_root    D21: disk and inode use of the data root; data root on "/"
//	host.clock        D30: the kernel clock is not synchronised (no NTP daemon)
//	host.kernel       D29: Ubuntu 14.04 kernel ≤ 3.13, CentOS 7 ≤ 3.10.0-514
//
// [KernelTooOld] is the D29 rule on its own, for error-text explanations.
//
// # Usage
//
//	rep := diag.Run(ctx, host.Checks(host.Options{}), diag.RunOptions{})
//	for _, f := range rep.Findings() {
//		fmt.Println(f.Severity, f.Code, f.Title)
//		fmt.Println("  do:", f.Remedy)
//	}
//
// The network settings in /proc/sys/net are those of the network namespace
// minato runs in: run the host checks on the host itself, or in a
// container with --network host and the host's root mounted as Root.
//
// Only the standard library is used; on systems other than Linux the checks
// that need statfs or adjtimex report that they could not answer.
package host
