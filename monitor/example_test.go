package monitor_test

import (
	"context"
	"fmt"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

func ExampleParseRange() {
	for _, s := range []string{"10", "10:", "~:10", "10:20", "@10:20"} {
		r, err := monitor.ParseRange(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%-7s alert for 5: %-5v 15: %-5v 25: %v\n", r, r.Alert(5), r.Alert(15), r.Alert(25))
	}
	_, err := monitor.ParseRange("20:10")
	fmt.Println(err)
	// Output:
	// 10      alert for 5: false 15: true  25: true
	// 10:     alert for 5: true  15: false 25: false
	// ~:10    alert for 5: false 15: true  25: true
	// 10:20   alert for 5: true  15: false 25: true
	// @10:20  alert for 5: false 15: true  25: false
	// monitor: bad range "20:10": start 20 is greater than end 10
}

func ExampleHinemosBands_Judge() {
	// Seed 002's CPU monitor: info 0.0 以上 40.0 未満, warning 40.0 以上 80.0 未満.
	cpu := monitor.HinemosBands{
		Info:    monitor.Band{Lower: 0, Upper: 40},
		Warning: monitor.Band{Lower: 40, Upper: 80},
	}
	for _, v := range []float64{0.08, 40, 80} {
		fmt.Println(v, cpu.Judge(&v))
	}
	fmt.Println("no value", cpu.Judge(nil))
	// Output:
	// 0.08 OK
	// 40 WARNING
	// 80 CRITICAL
	// no value UNKNOWN
}

func ExampleWorst() {
	fmt.Println(monitor.Worst(monitor.OK, monitor.Unknown, monitor.Warning))
	fmt.Println(monitor.Worst(monitor.OK, monitor.Unknown))
	fmt.Println(monitor.Worst())
	// Output:
	// WARNING
	// UNKNOWN
	// OK
}

func ExampleDamper() {
	// Hinemos "times before the first notification" = 3.
	d := monitor.NewDamper(monitor.Damping{Raise: 3})
	for _, s := range []monitor.Status{monitor.Critical, monitor.Critical, monitor.Critical, monitor.OK} {
		reported, changed := d.Observe(s)
		fmt.Println(s, "->", reported, changed)
	}
	// Output:
	// CRITICAL -> OK false
	// CRITICAL -> OK false
	// CRITICAL -> CRITICAL true
	// OK -> OK true
}

func ExampleRunner_CheckOnce() {
	web := inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57", Name: "web-1"}
	load := monitor.MonitorFunc(func(ctx context.Context, t inventory.Target) (monitor.Result, error) {
		return monitor.Result{Samples: []monitor.Sample{{Name: "cpu_percent", Value: 93.5, Unit: monitor.Percent}}}, nil
	})
	r, err := monitor.NewRunner(monitor.DefaultRunnerConfig(), inventory.Static(web))
	if err != nil {
		fmt.Println(err)
		return
	}
	warn, _ := monitor.ParseRange("80")
	crit, _ := monitor.ParseRange("90")
	err = r.Add(monitor.Check{
		Name:       "cpu",
		Monitor:    load,
		Interval:   time.Minute,
		Thresholds: []monitor.Threshold{{Sample: "cpu_percent", Warning: &warn, Critical: &crit}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	evs, err := r.CheckOnce(context.Background(), "cpu")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ev := range evs {
		fmt.Printf("%s %s: %s (exit %d)\n", ev.Status, ev.Target.Name, ev.Message, ev.Status.ExitCode())
	}
	// Output: CRITICAL web-1: cpu_percent=93.5% (critical 90) (exit 2)
}
