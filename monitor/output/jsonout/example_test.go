package jsonout_test

import (
	"context"
	"os"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/jsonout"
)

func ExampleLineSink() {
	sink := jsonout.NewLineSink(os.Stdout)
	_ = sink.Write(context.Background(), []monitor.Evaluation{{
		Check:  "status",
		Target: inventory.Target{Kind: inventory.KindHost, ID: "tcp://docker_host1:2375"},
		Status: monitor.OK,
		Result: monitor.Result{Samples: []monitor.Sample{{Name: "engine_up", Value: 1, Mode: monitor.ModeAPI}}},
	}})
	// Output:
	// {"check":"status","target":{"kind":"host","id":"tcp://docker_host1:2375"},"status":"OK","exit_code":0,"observed":"OK","took_seconds":0,"samples":[{"name":"engine_up","value":1,"mode":"api"}]}
}
