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
