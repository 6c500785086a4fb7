// Package minato is the root of the minato toolkit for agentless operation
// of Docker container estates: monitoring, container jobs, job networks on
// schedules, and the nouns they share. It talks to the Docker Engine API
// (the local socket, DOCKER_HOST, or tcp:// with TLS), so nothing is
// installed on the Docker hosts or in the containers. This package holds
// no code: import the package you need.
//
// The monitors and container jobs reproduce the Hinemos Docker monitoring
// and job scripts (the 17 scripts of NTT DATA's report on monitoring and
// operating Docker with Hinemos): the same options, output lines and exit
// codes. docs/compatibility.md is that contract.
//
// # Packages
//
// Shared nouns and the Docker boundary:
//
//   - inventory: Target, Selector (select by ID or name, a trailing * for a
//     prefix), Resolver; standard library only.
//   - container: the Docker Engine boundary: list and select, inspect, top,
//     lifecycle, exec with real deadlines, copy, stats, events, the State
//     model; container/enginetest is a fake Engine over httptest.
//   - image: image references, build, push and update detection (nothing
//     exported yet).
//
// Monitoring:
//
//   - monitor: the core: Monitor, Result and Sample, Status, Range
//     (Monitoring Plugins grammar), Threshold and Hinemos bands, Damping,
//     Check, Runner (polled checks and Watchers), Sink.
//   - monitor/docker: engine health, containers per state, disk use; CPU,
//     memory, disk and network I/O, PIDs and processes per container;
//     container state; the event stream with a checkpoint. Four collection
//     modes (one-shot, streamed, two-sample, direct cgroupfs).
//   - monitor/snmp: SNMP v1/v2c/v3 polling of a host's memory and CPU
//     (UCD-SNMP-MIB) and the host's use outside its containers.
//   - monitor/baseline: the previous samples that rates need between runs
//     (the Hinemos scripts' -k KEY_ID), safe across processes.
//   - monitor/output/hinemos, nagios, jsonout, prom: Hinemos custom monitor
//     key,value lines, Monitoring Plugins status lines, JSON, and Prometheus
//     (client_golang, with cAdvisor-compatible names).
//   - monitor/output/notify: the delivery core and fan-out for notifiers;
//     monitor/output/syslog (RFC 3164 and 5424, UDP and TCP),
//     monitor/output/snmptrap (v2c and v3 traps), monitor/output/webhook
//     and jsonout's JSON lines are notifiers on it.
//   - monitor/monitortest: conformance suites and scripted monitors for
//     tests.
//
// Jobs:
//
//   - job: Action, Outcome, Run and Report with the container jobs' exit
//     codes (0, 9, 1); wrappers (Timeout, Retry, SkipIfRunning); job
//     networks (Network, started with Network.Start as an Execution with
//     JobCenter's hold, release, skip and force-stop).
//   - job/docker: the container jobs (start, stop, restart, rm, exec,
//     download), container runs that a restarted process adopts, host
//     commands.
//   - job/schedule: cron in a time zone and business-day calendars (pure).
//   - job/scheduler: runs networks on schedules and on submission, through
//     queues, with overlap and catch-up policies and a crash-safe RunStore
//     and StateStore (MemStore in memory); job/scheduler/storetest is the
//     stores' conformance suite and job/boltstore the store in one bbolt
//     file.
//   - job/jobfile: job network definitions in YAML or JSON, checked
//     completely before anything runs.
//   - job/jobapi: the scheduler's HTTP API (Handler) and its typed Client.
//   - job/jobtest: helpers for tests of code built on job.
//
// Not built yet (doc.go only): ha (HA groups and AWS resources) and diag
// (diagnostics and runbooks).
//
// cmd/minato is the reference command line (agent, job, jobnet, monitor,
// ps, version): flags, wiring and printing only. examples/ holds small
// programs (custom-monitor, exec-deadline, jobnet), each importing only
// what it needs.
//
// # Rules
//
// The core packages (inventory, monitor, job, ha, diag) import only the
// standard library and each other as layered (job, monitor and diag on
// inventory; ha on inventory and monitor); Docker, AWS, SNMP and Prometheus
// code lives in leaf adapter packages. Only container and image import the
// Docker client. The layout test in this directory enforces both rules.
package minato
