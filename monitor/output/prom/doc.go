// Package prom exposes Evaluations to Prometheus through
// github.com/prometheus/client_golang: a [Collector] to register in any
// registry, [HandlerFor] and [Handler] to serve it (text format 0.0.4,
// OpenMetrics 1.0.0 or protobuf, as the scraper asks), and [WriteText] for
// a one-shot text exposition.
//
// # minato's series
//
// Every Sample becomes a series of the metric "minato_" + sample name
// (unit suffix kept: minato_cpu_percent, minato_network_rx_bytes_total),
// with the labels check, container_name and container_id (the
// 12-character short ID) for container Targets, target and target_kind
// for other Targets, plus the sample's own labels. For every (check,
// Target) there are also
//
//	minato_check_status            gauge, the reported Status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
//	minato_check_up                gauge, 1 when the value could be obtained, 0 on error
//	minato_check_duration_seconds  gauge, how long the measurement took
//
// HELP text comes from the monitor's [monitor.SampleDesc] (a generic one
// without). The type follows the name: counter when it ends in "_total",
// gauge otherwise. When the SampleDesc's Kind contradicts the name (a
// Counter without "_total", a Gauge with it), the family is untyped
// instead: the name stays the sample's, and the text format ("untyped"),
// OpenMetrics ("unknown") and Prometheus' linter all agree, where a
// counter without "_total" would read "counter" in one format and
// "unknown" in the other.
//
// Names are sanitised: a byte that is not an ASCII letter, "_" or (after
// the first) a digit becomes "_" (colons too: Prometheus reserves them
// for recording rules). A sample label that collides with one of the
// labels above, or starts with "__", is renamed "exported_<name>". Label
// values and HELP texts that are not valid UTF-8 get U+FFFD in place of
// the bad bytes. A sample named like one of the three metrics above is
// dropped, and of two series with the same name and labels the first is
// kept, Evaluations taken in the order [monitor.Runner.Evaluations]
// returns them (by check name, then Target).
//
// # cAdvisor-compatible series
//
// For a container Target the same values are also exposed under
// cAdvisor's names, so that dashboards and recording rules written for
// cAdvisor (rate(container_cpu_usage_seconds_total[5m]), working set
// against container_spec_memory_limit_bytes) work on what minato
// measures. Their labels are cAdvisor's: id="/docker/<full container ID>"
// (the cgroupfs driver's path; with the systemd driver cAdvisor shows
// /system.slice/docker-<ID>.scope instead), name=<container name> and
// the ones in the table. cAdvisor's image label is left out: a Target
// does not carry its image, and no label is better than a wrong one.
//
//	minato sample             cAdvisor series                            type     labels added
//	cpu_usage_seconds_total   container_cpu_usage_seconds_total          counter  cpu="total"
//	memory_usage_bytes        container_memory_usage_bytes               gauge
//	memory_working_set_bytes  container_memory_working_set_bytes         gauge
//	memory_rss_bytes          container_memory_rss                       gauge
//	memory_limit_bytes        container_spec_memory_limit_bytes          gauge
//	network_rx_bytes_total    container_network_receive_bytes_total      counter  interface, when the sample has it
//	network_tx_bytes_total    container_network_transmit_bytes_total     counter  interface, when the sample has it
//	network_rx_packets_total  container_network_receive_packets_total    counter  interface, when the sample has it
//	network_tx_packets_total  container_network_transmit_packets_total   counter  interface, when the sample has it
//	blkio_read_bytes_total    container_fs_reads_bytes_total             counter
//	blkio_write_bytes_total   container_fs_writes_bytes_total            counter
//	pids_current              container_threads                          gauge
//	pids_limit                container_threads_max                      gauge
//	processes_all             container_processes                        gauge
//
// Where the two differ:
//   - container_spec_memory_limit_bytes: for a container without a memory
//     limit Docker reports the host's memory as the limit, and so does
//     this series; cAdvisor reports 0.
//   - container_threads and container_threads_max are what cAdvisor
//     reads from the pids cgroup (pids.current, pids.max), which counts
//     tasks, that is threads; container_processes counts processes, as
//     docker top lists them. cAdvisor reports container_threads_max 0
//     when there is no limit; minato has no pids_limit sample then, so
//     there is no series.
//   - container_fs_*_bytes_total and the network series are the sums over
//     all block devices and interfaces, without cAdvisor's device label
//     (and without interface unless the sample has it).
//   - container_memory_failcnt is not exposed: cAdvisor's counter lacks
//     the "_total" suffix, so promtool check metrics refuses it; use
//     minato_memory_failcnt_total, the same count.
//
// Not mapped: cpu_limit_cpus (cAdvisor's container_spec_cpu_quota is the
// CFS quota in microseconds per period, not a number of CPUs),
// percentages (cAdvisor has none: use rate()), per-interval deltas,
// per-core and memory.stat samples, and any mapped sample that carries a
// label the cAdvisor series has no place for. When several checks measure
// one container (a cpu check and a resources check both giving
// cpu_usage_seconds_total), the cAdvisor series is emitted once, with the
// first check's value by check name; minato's own series keep every
// check. If cAdvisor itself is also scraped on the host, select by job
// (or drop container_.* from minato's job with metric_relabel_configs) so
// that sums do not count a container twice.
//
// # Usage
//
// Serve a Runner's evaluations on /metrics:
//
//	run, _ := monitor.NewRunner(cfg, resolver)
//	// ... run.Add(...) every check first; go run.Run(ctx)
//	http.Handle("/metrics", prom.Handler(run.Evaluations, run.Describe()))
//
// Or beside the Go and process collectors and counters of your own:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(
//		collectors.NewGoCollector(),
//		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
//		prom.NewCollector(run.Evaluations, run.Describe()),
//		sent, // a prometheus.CounterVec of your own
//	)
//	http.Handle("/metrics", prom.HandlerFor(reg, prom.WithLogger(log)))
//
// Print one round (what minato monitor --format prometheus does):
//
//	evs, _ := run.CheckOnce(ctx, "cpu")
//	_ = prom.WriteText(os.Stdout, evs, run.Describe())
package prom
