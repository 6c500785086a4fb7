// Package monitor is the monitor core: a [Monitor] measures one aspect of
// one [inventory.Target] and returns a [Result] of typed [Sample]s; the
// framework around it (thresholds, damping, scheduling, outputs) turns
// Results into verdicts and notifications.
//
// The package imports only the standard library and inventory. Docker
// monitors live in monitor/docker, SNMP polling in monitor/snmp, and the
// output formats (Nagios, Hinemos key,value, JSON, Prometheus) in
// monitor/output.
//
// # Samples
//
// Sample names are snake_case with a unit suffix (cpu_percent,
// memory_working_set_bytes, network_rx_bytes_total) so that every output
// format is a 1:1 mapping. Every Sample carries when it was taken and by
// which collection [Mode]. A value that cannot be had is not reported as 0:
// it is absent from the Result, and the Monitor says why with
// [ErrNoBaseline] or [ErrNotSupported].
//
// # Verdicts and failures
//
// A verdict is data and a failure is an error: a CRITICAL value is a Result
// (with its Status set by thresholds), while an error from Check means the
// value could not be obtained, which outputs report as [Unknown].
package monitor
