package nagios_test

import (
	"fmt"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/nagios"
)

func ExampleFormat() {
	warn, _ := monitor.ParseRange("80")
	crit, _ := monitor.ParseRange("90")
	ths := []monitor.Threshold{{Sample: "cpu_percent", Warning: &warn, Critical: &crit}}
	evs := []monitor.Evaluation{
		{Check: "cpu", Target: inventory.Target{Name: "web-1"}, Status: monitor.OK,
			Result: monitor.Result{Samples: []monitor.Sample{{Name: "cpu_percent", Value: 12.5, Unit: monitor.Percent}}}},
		{Check: "cpu", Target: inventory.Target{Name: "web-2"}, Status: monitor.Critical, Message: "cpu_percent=95% (critical 90)",
			Result: monitor.Result{Samples: []monitor.Sample{{Name: "cpu_percent", Value: 95, Unit: monitor.Percent}}}},
	}
	text, exit := nagios.Format("CPU", evs, ths)
	fmt.Println(text)
	fmt.Println("exit", exit)

	text, exit = nagios.Format("CPU", []monitor.Evaluation{{Target: inventory.Target{Name: "web-1"}, Status: monitor.Unknown, Message: "no baseline yet"}}, ths)
	fmt.Println(text)
	fmt.Println("exit", exit)
	// Output:
	// CPU CRITICAL: web-2: cpu_percent=95% (critical 90); 1 of 2 OK | cpu_percent:web-1=12.5%;80;90;0;100 cpu_percent:web-2=95%;80;90;0;100
	// exit 2
	// CPU UNKNOWN: web-1: no baseline yet
	// exit 3
}

// The thresholds choose what the line shows: the memory monitor measured
// a dozen samples, the check is about memory_host_percent, and a
// threshold without ranges adds memory_rss_bytes without judging it.
func ExampleFormat_selection() {
	crit, _ := monitor.ParseRange("90")
	ths := []monitor.Threshold{{Sample: "memory_host_percent", Critical: &crit}, {Sample: "memory_rss_bytes"}}
	evs := []monitor.Evaluation{{Check: "memory", Target: inventory.Target{Name: "web-1"}, Status: monitor.OK,
		Result: monitor.Result{Samples: []monitor.Sample{
			{Name: "memory_usage_bytes", Value: 52428800, Unit: monitor.Bytes},
			{Name: "memory_rss_bytes", Value: 25165824, Unit: monitor.Bytes},
			{Name: "memory_host_percent", Value: 0.61, Unit: monitor.Percent},
			{Name: "memory_stat", Value: 16777216, Labels: map[string]string{"key": "cache"}},
		}}}}
	text, _ := nagios.Format("MEMORY", evs, ths)
	fmt.Println(text)
	text, _ = nagios.Format("MEMORY", evs, nil)
	fmt.Println(text)
	// Output:
	// MEMORY OK: web-1: memory_rss_bytes=25165824B, memory_host_percent=0.61% | memory_rss_bytes=25165824B memory_host_percent=0.61%;;90;0;100
	// MEMORY OK: web-1: memory_usage_bytes=52428800B, memory_rss_bytes=25165824B, memory_host_percent=0.61% (+1 more) | memory_usage_bytes=52428800B memory_rss_bytes=25165824B memory_host_percent=0.61%;;;0;100 'memory_stat{key=cache}'=16777216
}
