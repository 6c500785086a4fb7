// Package snmp polls an SNMP agent (SNMPv1, v2c or v3) for host-wide
// memory and CPU, the values the Hinemos Docker monitoring scripts'
// --with-host options read from the Docker host: the UCD-SNMP-MIB memory
// group (memTotalReal, memAvailReal, memBuffer, memCached) and raw CPU
// counters (ssCpuRaw*). [HostRemainder] turns them into the host's use
// outside its containers.
//
// It is a leaf adapter: the only package that imports
// github.com/gosnmp/gosnmp. It imports minato's monitor core only for the
// sentinels [monitor.ErrNoBaseline] and [monitor.ErrNotSupported].
//
// # Use
//
// [New] takes a [Config] (defaults as in the Hinemos Docker monitoring
// scripts: version "1", community "public", port 161) and sends nothing; every [Client] method takes a
// context first and returns as soon as it ends.
//
//   - [Client.Get] returns typed [Value]s; an OID the agent has no value
//     for is TypeAbsent, never 0.
//   - [Client.HostMemory] returns [Memory]; [Memory.UsedBytes] is
//     (memTotalReal − memAvailReal − memBuffer − memCached) × 1024.
//   - [Client.HostCPU] returns raw tick counters ([CPU]); [CPUPercent] turns
//     two samples into a percentage, wrapping [monitor.ErrNoBaseline] when
//     there is no usable interval (first sample, no tick, reboot).
//
// net-snmp refreshes the CPU counters every 5 seconds, so sample CPU at
// least that far apart.
//
// # Host minus containers
//
// [HostRemainder] is a [monitor.Monitor] of the host's use outside its
// containers, given a [ContainerUsage] that reports the containers'
// samples (an adapter over a Docker resources monitor, with a baseline
// key of its own):
//
//   - memory: (host used − Σ container memory_rss_bytes) / host total ×
//     100, never below 0 ([MemoryRemainder]), as memory_host_percent and
//     memory_limit_percent;
//   - cpu: the host's busy share of all CPUs since the previous run
//     ([CPUPercent] of the raw counters kept in a baseline store) minus Σ
//     container cpu_percent / CPUs, never below 0 ([CPURemainder]), as
//     cpu_percent; the first run of the key wraps [monitor.ErrNoBaseline].
//
// The samples keep the containers' names, so the containers' output
// mappings (the Hinemos key sets, Nagios thresholds) print the host too:
//
//	m, err := snmp.NewHostRemainder(snmp.RemainderConfig{Measure: snmp.RemainderCPU, CPUs: ncpu, BaselineKey: key + ".snmp-cpu"},
//		client, store, containers)
//	res, err := m.Check(ctx, inventory.Target{Kind: inventory.KindHost, ID: engineAddr, Name: "host"})
//
// # Errors
//
// Failures wrap [ErrTimeout] (no answer: agent down, filtered, or, for
// SNMPv1/v2c, a wrong community, which agents answer with silence),
// [ErrUnreachable], [ErrAuth] (SNMPv3 user or passphrase refused),
// [ErrClosed], or the context's error. Error messages and logs name the
// agent's address and version, never the community or passphrases.
//
// # Least privilege
//
// The poller needs read access to .1.3.6.1.4.1.2021 (UCD-SNMP-MIB) only.
// Give it a read-only community or SNMPv3 user restricted to that view and
// to the poller's address, for example in net-snmp's snmpd.conf:
//
//	createUser minato SHA-256 "auth passphrase" AES "priv passphrase"
//	rouser     minato priv .1.3.6.1.4.1.2021
//	# or, for v1/v2c, from the poller's address only:
//	rocommunity S3cret 192.0.2.10 .1.3.6.1.4.1.2021
//
// Prefer SNMPv3 at authPriv (SHA-256 or better, AES): SNMPv1 and v2c send the
// community in clear text in every request, so anyone on the path can read
// it and reuse it. Use "public" only on a trusted, isolated network.
package snmp
