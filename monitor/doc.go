// Package monitor will hold the monitor core: Monitor, Result, Sample,
// Status, Range (Monitoring Plugins grammar), Threshold, Damping, Check and
// the Runner, with adapters for Docker resources, SNMP and outputs for
// Nagios, Hinemos custom monitors and Prometheus. It is being built under
// the resource-and-state-monitors issue; nothing is exported yet.
//
// Like every core package it may import only the standard library and
// inventory.
package monitor
