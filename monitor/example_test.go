package monitor_test

import (
	"context"
	"fmt"
	"strings"
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
	// The Hinemos Docker monitoring scripts' CPU monitor: info 0.0 以上
	// 40.0 未満, warning 40.0 以上 80.0 未満.
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

func ExampleParseRange_percent() {
	// Nagios command definitions often write "--warning 80%".
	for _, s := range []string{"80%", "1:12%%", "10%:"} {
		r, err := monitor.ParseRange(s)
		fmt.Println(r, err)
	}
	// Output:
	// 80 <nil>
	// 1:12 <nil>
	// 10: <nil>
}

func ExampleParseBand() {
	b, err := monitor.ParseBand("80:90")
	fmt.Println(b, err, b.Contains(80), b.Contains(90))
	_, err = monitor.ParseBand("90")
	fmt.Println(err)
	// Output:
	// [80,90) <nil> true false
	// monitor: bad band "90": no colon; want LOWER:UPPER, the half-open band LOWER <= v < UPPER (Hinemos "LOWER 以上 UPPER 未満"), e.g. "0:80"
}

func ExampleEvaluateThresholds_bands() {
	// A Hinemos-style threshold: info [0,80) is OK, warning [80,90),
	// anything else critical.
	info, _ := monitor.ParseBand("0:80")
	warn, _ := monitor.ParseBand("80:90")
	th := monitor.Threshold{Sample: "cpu_percent", Bands: &monitor.HinemosBands{Info: info, Warning: warn}}
	for _, v := range []float64{12, 85, 93.5} {
		r := monitor.Result{Samples: []monitor.Sample{{Name: "cpu_percent", Value: v, Unit: monitor.Percent}}}
		st, why := monitor.EvaluateThresholds(r, []monitor.Threshold{th})
		fmt.Println(strings.TrimSpace(st.String() + " " + why))
	}
	// Output:
	// OK
	// WARNING cpu_percent=85% (warning: in [80,90))
	// CRITICAL cpu_percent=93.5% (critical: outside info [0,80) and warning [80,90))
}

func ExampleWatchFunc() {
	web := inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57", Name: "web-1"}
	ctx, cancel := context.WithCancel(context.Background())
	// A source that pushes: two observations, then the demo stops.
	events := monitor.WatchFunc(func(ctx context.Context, emit func(inventory.Target, monitor.Result)) error {
		emit(web, monitor.Result{Status: monitor.Critical, Message: "died with exit code 3"})
		emit(web, monitor.Result{Message: "started"})
		cancel()
		<-ctx.Done()
		return nil
	})
	r, err := monitor.NewRunner(monitor.DefaultRunnerConfig(), inventory.Static(),
		monitor.WithTransitions(func(_ context.Context, t monitor.Transition) {
			fmt.Printf("%s %s: %s -> %s (%s)\n", t.Check, t.Target.Name, t.From, t.Status, t.Message)
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	// A Watcher has no Interval: the Runner runs its Watch.
	if err := r.Add(monitor.Check{Name: "events", Monitor: events}); err != nil {
		fmt.Println(err)
		return
	}
	if err := r.Run(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// events web-1: OK -> CRITICAL (died with exit code 3)
	// events web-1: CRITICAL -> OK (started)
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
