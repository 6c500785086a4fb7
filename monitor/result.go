package monitor

import (
	"slices"
	"time"
)

// Unit is a sample's unit, spelled as Monitoring Plugins performance data
// spells it.
type Unit string

// The units minato uses.
const (
	// None is a plain number (a count).
	None Unit = ""
	// Percent is a percentage.
	Percent Unit = "%"
	// Bytes is a byte count.
	Bytes Unit = "B"
	// Seconds is a duration in seconds.
	Seconds Unit = "s"
	// Count is a continuous counter (Monitoring Plugins "c").
	Count Unit = "c"
)

// Mode says how a sample was collected.
type Mode string

// The collection modes.
const (
	// ModeOneShot: the engine's one-shot stats call.
	ModeOneShot Mode = "oneshot"
	// ModeStream: the engine's streamed stats.
	ModeStream Mode = "stream"
	// ModeTwoSample: the engine's classic two-sample call (API < 1.41).
	ModeTwoSample Mode = "twosample"
	// ModeDirect: read from cgroupfs and /proc on the engine's host.
	ModeDirect Mode = "direct"
	// ModeAPI: another engine API call (ping, list, inspect, top, df).
	ModeAPI Mode = "api"
	// ModeSNMP: SNMP polling.
	ModeSNMP Mode = "snmp"
	// ModeProbe: an active probe (HTTP, TCP, ...).
	ModeProbe Mode = "probe"
)

// Sample is one measured value.
type Sample struct {
	// Name is snake_case with a unit suffix: "cpu_percent",
	// "memory_working_set_bytes", "network_rx_bytes_total".
	Name string `json:"name"`
	// Value is the measured value.
	Value float64 `json:"value"`
	// Exact is the value's exact decimal text when Value (a float64)
	// cannot represent it exactly (integers beyond 2^53, such as
	// 9223372036854775807, which a float64 holds as ...808); empty
	// otherwise. The Hinemos, JSON and Nagios outputs print Exact when it
	// is set.
	Exact string `json:"exact,omitempty"`
	// Unit is the value's unit.
	Unit Unit `json:"unit,omitempty"`
	// Labels add dimensions ({"core": "0"}, {"interface": "eth0"}); nil
	// for scalars. Do not mutate after the Sample is returned.
	Labels map[string]string `json:"labels,omitempty"`
	// Time is when the value was sampled; zero means Result.Time.
	Time time.Time `json:"time,omitzero"`
	// Mode is how it was collected.
	Mode Mode `json:"mode,omitempty"`
}

// Result is what one Check of one Target measured.
type Result struct {
	// Time is when the measurement was taken; the framework fills it in
	// when zero.
	Time time.Time `json:"time"`
	// Status is the monitor's own verdict, for monitors that judge (a
	// probe, a container state); OK for monitors that only measure.
	// Thresholds can raise it.
	Status Status `json:"status"`
	// Code is an optional monitor-specific code; 0 means none.
	Code int `json:"code,omitempty"`
	// Message is one operator-facing line.
	Message string `json:"message,omitempty"`
	// Samples are the measured values.
	Samples []Sample `json:"samples,omitempty"`
}

// Sample returns the first sample with the given name whose labels include
// all of labels, and whether there was one.
func (r Result) Sample(name string, labels map[string]string) (Sample, bool) {
	i := slices.IndexFunc(r.Samples, func(s Sample) bool { return s.Name == name && hasLabels(s.Labels, labels) })
	if i < 0 {
		return Sample{}, false
	}
	return r.Samples[i], true
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
