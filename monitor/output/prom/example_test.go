package prom_test

import (
	"os"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/prom"
)

func ExampleWriteText() {
	web := inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57cccc0000", Name: "web-1"}
	evs := []monitor.Evaluation{{
		Check: "cpu", Target: web, Status: monitor.Warning,
		Result: monitor.Result{Samples: []monitor.Sample{{Name: "cpu_percent", Value: 85.5, Unit: monitor.Percent}}},
	}}
	descs := []monitor.SampleDesc{{Name: "cpu_percent", Unit: monitor.Percent, Kind: monitor.Gauge, Help: "CPU usage in percent of one core."}}
	_ = prom.WriteText(os.Stdout, evs, descs)
	// Output:
	// # HELP minato_check_duration_seconds How long the last measurement of the target took.
	// # TYPE minato_check_duration_seconds gauge
	// minato_check_duration_seconds{check="cpu",container_id="0e0d8cdf3a57",container_name="web-1"} 0
	// # HELP minato_check_status Reported status of a check for a target: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
	// # TYPE minato_check_status gauge
	// minato_check_status{check="cpu",container_id="0e0d8cdf3a57",container_name="web-1"} 1
	// # HELP minato_check_up 1 when the check could measure the target, 0 when it failed.
	// # TYPE minato_check_up gauge
	// minato_check_up{check="cpu",container_id="0e0d8cdf3a57",container_name="web-1"} 1
	// # HELP minato_cpu_percent CPU usage in percent of one core.
	// # TYPE minato_cpu_percent gauge
	// minato_cpu_percent{check="cpu",container_id="0e0d8cdf3a57",container_name="web-1"} 85.5
}
