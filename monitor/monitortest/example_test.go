package monitortest_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/monitortest"
)

func ExampleScripted() {
	m := &monitortest.Scripted{Steps: monitortest.Values("cpu_percent", monitor.Percent, 12, 95)}
	t := inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57", Name: "web-1"}
	crit, _ := monitor.ParseRange("90")
	for range 3 {
		r, _ := m.Check(context.Background(), t)
		st, why := monitor.EvaluateThresholds(r, []monitor.Threshold{{Sample: "cpu_percent", Critical: &crit}})
		fmt.Println(strings.TrimSpace(st.String() + " " + why))
	}
	// Output:
	// OK
	// CRITICAL cpu_percent=95% (critical 90)
	// CRITICAL cpu_percent=95% (critical 90)
}

func ExampleRecordingSink() {
	var sink monitortest.RecordingSink
	_ = sink.Write(context.Background(), []monitor.Evaluation{{Check: "cpu", Status: monitor.Warning}})
	fmt.Println(len(sink.Writes()), sink.Evaluations()[0].Status)
	// Output: 1 WARNING
}
