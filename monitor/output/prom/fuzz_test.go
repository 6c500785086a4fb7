package prom_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/prom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// FuzzWriteText feeds arbitrary check, Target, sample and label names and
// values through the Collector: the registry must accept every series
// (names sanitised, label values valid UTF-8, no duplicates) and the text
// must parse back with legacy (pre-UTF-8) name validation.
func FuzzWriteText(f *testing.F) {
	f.Add("cpu", "/web-1", "cpu_percent", "core", "0", 85.5)
	f.Add("mem", `db "main"`, "memory_usage_bytes", "interface", "eth0", 1e15)
	f.Add("", "", "", "", "", math.NaN())
	f.Add("c\xff", "n\xfe", "rule:x", "__name__", "v\n\\\"", math.Inf(-1))
	f.Add("check", "x", "check_status", "check", "container_id", 1.0)
	f.Add("é", "日本", "9lives", "1st", "\x00", math.Copysign(0, -1))
	f.Add("net", "web", "network_rx_bytes_total", "exported_check", "a", 3.0)
	f.Fuzz(func(t *testing.T, check, name, sample, key, value string, v float64) {
		container := inventory.Target{Kind: inventory.KindContainer, ID: strings.Repeat("ab", 32), Name: name}
		host := inventory.Target{Kind: inventory.KindHost, ID: name}
		samples := []monitor.Sample{
			{Name: sample, Value: v},
			{Name: sample, Value: v, Labels: map[string]string{key: value}},
			{Name: sample, Value: v, Labels: map[string]string{key: value, "interface": value}},
			{Name: "memory_usage_bytes", Value: v, Labels: map[string]string{key: value}},
			{Name: "network_rx_bytes_total", Value: v, Labels: map[string]string{key: value}},
		}
		evs := []monitor.Evaluation{
			{Check: check, Target: container, Result: monitor.Result{Samples: samples}},
			{Check: check + "2", Target: container, Result: monitor.Result{Samples: samples}},
			{Check: check, Target: host, Result: monitor.Result{Samples: samples}},
			{Check: check},
		}
		descs := []monitor.SampleDesc{{Name: sample, Kind: monitor.Counter, Help: value}}

		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(prom.NewCollector(func() []monitor.Evaluation { return evs }, descs))
		if _, err := reg.Gather(); err != nil {
			t.Fatalf("gather: %v", err)
		}
		var buf bytes.Buffer
		if err := prom.WriteText(&buf, evs, descs); err != nil {
			t.Fatalf("WriteText: %v", err)
		}
		p := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := p.TextToMetricFamilies(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("parse: %v\n%s", err, buf.String())
		}
		if got, want := len(fams), strings.Count(buf.String(), "\n# TYPE "); got != want {
			t.Fatalf("%d families parsed, %d written:\n%s", got, want, buf.String())
		}
	})
}
