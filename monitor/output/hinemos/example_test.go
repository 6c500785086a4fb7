package hinemos_test

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/hinemos"
)

func ExampleLine() {
	fmt.Println(hinemos.Line("cpu_usage:conteiner_A", 0.0812, 2))
	fmt.Println(hinemos.Line("running", 3, 0))
	// Output:
	// cpu_usage:conteiner_A,0.08
	// running,3
}

// The cpu monitor's Evaluations, plus the host's CPU use outside the
// containers, printed with the scripts' CPU keys; the container that has
// no value yet prints nothing on standard output.
func ExampleWrite() {
	evs := []monitor.Evaluation{
		{Target: inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57aaaa", Name: "/conteiner_A"},
			Result: monitor.Result{Samples: []monitor.Sample{{Name: "cpu_percent", Value: 0.0812, Unit: monitor.Percent}}}},
		{Target: inventory.Target{Kind: inventory.KindContainer, ID: "1eae26f41927bbbb", Name: "conteiner_B"},
			Status: monitor.Unknown, Message: "no baseline yet", Err: monitor.ErrNoBaseline},
		{Target: inventory.Target{Kind: inventory.KindHost, ID: "unix:///var/run/docker.sock", Name: "host"},
			Result: monitor.Result{Samples: []monitor.Sample{{Name: "cpu_percent", Value: 0.65, Unit: monitor.Percent}}}},
	}
	if err := hinemos.Write(os.Stdout, evs, hinemos.CPUKeys()); err != nil {
		fmt.Println(err)
	}
	for _, p := range hinemos.Problems(evs) {
		fmt.Println("stderr:", p)
	}
	// Output:
	// cpu_usage:conteiner_A,0.08
	// cpu_usage:host,0.65
	// stderr: 1eae26f41927 conteiner_B: no baseline yet
}

// memory --all prints every memory.stat value exactly, qualified by the
// container's ID when there are several containers.
func ExampleMemoryAllKeys() {
	stat := func(key string, v float64, exact string) monitor.Sample {
		return monitor.Sample{Name: "memory_stat", Value: v, Exact: exact, Labels: map[string]string{"key": key}}
	}
	a := monitor.Evaluation{Target: inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57aaaa"},
		Result: monitor.Result{Samples: []monitor.Sample{stat("cache", 16777216, ""), stat("hierarchical_memsw_limit", 9223372036854775807, "9223372036854775807")}}}
	b := monitor.Evaluation{Target: inventory.Target{Kind: inventory.KindContainer, ID: "1eae26f41927bbbb"},
		Result: monitor.Result{Samples: []monitor.Sample{stat("cache", 4096, "")}}}
	_ = hinemos.Write(os.Stdout, []monitor.Evaluation{a}, hinemos.MemoryAllKeys())
	fmt.Println("--")
	_ = hinemos.Write(os.Stdout, []monitor.Evaluation{a, b}, hinemos.MemoryAllKeys())
	// Output:
	// cache,16777216
	// hierarchical_memsw_limit,9223372036854775807
	// --
	// cache:0e0d8cdf,16777216
	// hierarchical_memsw_limit:0e0d8cdf,9223372036854775807
	// cache:1eae26f4,4096
}

// A key set of your own: the pids share of each container under a
// Hinemos key of your choosing.
func ExampleKey() {
	keys := []hinemos.Key{{Sample: "pids_limit_percent", Format: "pids_usage:{name}", Decimals: 1}}
	evs := []monitor.Evaluation{{Target: inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57", Name: "web-1"},
		Result: monitor.Result{Samples: []monitor.Sample{{Name: "pids_current", Value: 3}, {Name: "pids_limit_percent", Value: 1.171875}}}}}
	if err := hinemos.Write(os.Stdout, evs, keys); err != nil {
		fmt.Println(err)
	}
	fmt.Println(hinemos.Key{Sample: "pids_current", Format: "pids:{nmae}"}.Validate())
	// Output:
	// pids_usage:web-1,1.2
	// format: "pids:{nmae}": unknown placeholder {nmae}: want {name}, {id8}, {id12} or {label:KEY}
}

func ExampleWriteStates() {
	at := time.Date(2015, 9, 5, 21, 59, 8, 0, time.Local)
	evs := []monitor.Evaluation{
		{Target: inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57aaaa"}, Result: monitor.Result{Time: at, Message: "running"}},
		{Target: inventory.Target{Kind: inventory.KindContainer, ID: "1eae26f41927bbbb"}, Result: monitor.Result{Time: at, Message: "exited"}},
		{Target: inventory.Target{Kind: inventory.KindContainer, ID: "2bbe26f41927cccc"}, Err: errors.New("no such container")},
	}
	_ = hinemos.WriteStates(os.Stdout, evs)
	// Output:
	// 2015-09-05 21:59:08 0e0d8cdf3a57 running
	// 2015-09-05 21:59:08 1eae26f41927 exited
}
