// Package docker holds the Docker monitors, built on package container:
// those of the Hinemos Docker monitoring scripts (engine health,
// containers per state and disk usage; CPU, memory, disk I/O, network I/O
// and processes per container; container state; the event stream; see
// docs/compatibility.md) and what those scripts could not see (CPU against
// the limit, throttling, working set, PIDs, health, restarts, OOM kills).
//
// Resource samples come from a [Collector], which takes one sample per
// container in one of four modes: the engine's one-shot stats call in
// parallel (default on API ≥ 1.41), streamed stats, the classic two-sample
// call (older engines), or a direct read of cgroupfs and /proc when minato
// runs on the engine's host ("auto" picks direct when it can). Every sample
// records its mode.
//
// Rates (CPU %, bytes per interval) come from two samples of our own: the
// previous one is kept in a [baseline.Store] under a key (the Hinemos
// scripts' -k KEY_ID). The first run of a key, a container restart or a counter that
// went backwards yields no value (monitor.ErrNoBaseline), never a negative
// or wild one. The formulas are exported pure functions ([CPUPercent],
// [WorkingSet], ...) so they can be checked and reused.
//
// # Events
//
// [EventStream] follows the engine's event stream from a checkpoint kept in
// the baseline store: exactly once across restarts and disconnects as long
// as the consumer accepts each event (at most one repeat after a crash),
// with gap detection (the engine keeps only its last 256 events) and a
// reconcile from a fresh listing after a gap. [EventWatcher] turns the
// events into Results with derived findings ([EventAnalyzer]): restart
// loops as a rate, OOM kills, health changes, deaths with exit codes.
//
// # Usage
//
//	col, _ := docker.NewCollector(client, docker.DefaultCollectorConfig())
//	store, _ := baseline.Open(dir)
//	cpu, _ := docker.NewResources(col, store, "web_cpu", docker.CPU)
//	results, errs, err := cpu.CheckAll(ctx, targets)
package docker
