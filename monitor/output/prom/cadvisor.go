package prom

import (
	"maps"
	"slices"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/prometheus/client_golang/prometheus"
)

// cadvisorSeries maps one minato sample to the cAdvisor series with the
// same meaning and unit.
type cadvisorSeries struct {
	name   string            // cAdvisor's metric name
	family family            // cAdvisor's HELP text and type
	fixed  map[string]string // labels cAdvisor always sets on it
	keep   []string          // sample labels carried over (cAdvisor's label of that name)
}

// cadvisor is the mapping table the package documentation shows. HELP
// texts are cAdvisor's own.
var cadvisor = map[string]cadvisorSeries{
	"cpu_usage_seconds_total": {name: "container_cpu_usage_seconds_total",
		family: family{"Cumulative cpu time consumed in seconds.", prometheus.CounterValue},
		fixed:  map[string]string{"cpu": "total"}},
	"memory_usage_bytes": {name: "container_memory_usage_bytes",
		family: family{"Current memory usage in bytes, including all memory regardless of when it was accessed", prometheus.GaugeValue}},
	"memory_working_set_bytes": {name: "container_memory_working_set_bytes",
		family: family{"Current working set in bytes.", prometheus.GaugeValue}},
	"memory_rss_bytes": {name: "container_memory_rss",
		family: family{"Size of RSS in bytes.", prometheus.GaugeValue}},
	"memory_limit_bytes": {name: "container_spec_memory_limit_bytes",
		family: family{"Memory limit for the container.", prometheus.GaugeValue}},
	"network_rx_bytes_total": {name: "container_network_receive_bytes_total",
		family: family{"Cumulative count of bytes received", prometheus.CounterValue}, keep: []string{"interface"}},
	"network_tx_bytes_total": {name: "container_network_transmit_bytes_total",
		family: family{"Cumulative count of bytes transmitted", prometheus.CounterValue}, keep: []string{"interface"}},
	"network_rx_packets_total": {name: "container_network_receive_packets_total",
		family: family{"Cumulative count of packets received", prometheus.CounterValue}, keep: []string{"interface"}},
	"network_tx_packets_total": {name: "container_network_transmit_packets_total",
		family: family{"Cumulative count of packets transmitted", prometheus.CounterValue}, keep: []string{"interface"}},
	"blkio_read_bytes_total": {name: "container_fs_reads_bytes_total",
		family: family{"Cumulative count of bytes read", prometheus.CounterValue}},
	"blkio_write_bytes_total": {name: "container_fs_writes_bytes_total",
		family: family{"Cumulative count of bytes written", prometheus.CounterValue}},
	"pids_current": {name: "container_threads",
		family: family{"Number of threads running inside the container", prometheus.GaugeValue}},
	"pids_limit": {name: "container_threads_max",
		family: family{"Maximum number of threads allowed inside the container, infinity if value is zero", prometheus.GaugeValue}},
	"processes_all": {name: "container_processes",
		family: family{"Number of processes running inside the container.", prometheus.GaugeValue}},
}

// cadvisorLabels returns the labels cAdvisor gives a Docker container, or
// nil when t is not a container with an ID. cAdvisor's image label is
// left out: a Target does not carry the image.
func cadvisorLabels(t inventory.Target) map[string]string {
	if t.Kind != inventory.KindContainer || t.ID == "" {
		return nil
	}
	return map[string]string{
		"id":   validUTF8("/docker/" + t.ID),
		"name": validUTF8(inventory.TrimName(t.Name)),
	}
}

// addCAdvisor emits the cAdvisor series of s, if it has one and s carries
// no label the cAdvisor series cannot hold. Of two checks that measure
// the same container, the first (by check name) wins: [batch.add] drops
// the second series.
func (b *batch) addCAdvisor(base map[string]string, s monitor.Sample) {
	m, ok := cadvisor[s.Name]
	if !ok {
		return
	}
	labels := maps.Clone(base)
	maps.Copy(labels, m.fixed)
	for k, v := range s.Labels {
		if !slices.Contains(m.keep, k) {
			return // a per-core or per-key sample: no cAdvisor series has that dimension
		}
		labels[k] = validUTF8(v)
	}
	if _, ok := b.fams[m.name]; !ok {
		b.fams[m.name] = m.family
	}
	b.add(m.name, labels, s.Value)
}
