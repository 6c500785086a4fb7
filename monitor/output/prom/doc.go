// Package prom renders Evaluations in the Prometheus text exposition
// format, version 0.0.4, written by hand so that no Prometheus library is
// needed, and serves it over HTTP ([Handler]).
//
// Every Sample becomes a series of the metric "minato_" + sample name
// (unit suffix kept: minato_cpu_percent, minato_network_rx_bytes_total),
// typed counter or gauge from the monitor's [monitor.SampleDesc] (else
// counter for a name ending in "_total", gauge otherwise), with the labels
// check, container_name and container_id (the 12-character short ID) for
// container Targets, target and target_kind for other Targets, plus the
// sample's own labels. For every (check, Target) there are also
//
//	minato_check_status            gauge, the reported Status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
//	minato_check_up                gauge, 1 when the value could be obtained, 0 on error
//	minato_check_duration_seconds  gauge, how long the measurement took
//
// Output is deterministic: families sorted by name, series by labels.
//
// # Usage
//
//	run, _ := monitor.NewRunner(cfg, resolver)
//	// ... run.Add(...); go run.Run(ctx)
//	http.Handle("/metrics", prom.Handler(run.Evaluations, run.Describe()))
package prom
