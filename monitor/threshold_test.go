package monitor_test

import (
	"math"
	"testing"

	"github.com/minato-ops/minato/monitor"
	"github.com/stretchr/testify/assert"
)

func rng(t *testing.T, s string) *monitor.Range {
	t.Helper()
	r, err := monitor.ParseRange(s)
	if err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestEvaluateThresholds(t *testing.T) {
	cpu := func(v float64, labels map[string]string) monitor.Sample {
		return monitor.Sample{Name: "cpu_percent", Value: v, Unit: monitor.Percent, Labels: labels}
	}
	core := func(c string) map[string]string { return map[string]string{"core": c} }
	cpuTh := monitor.Threshold{Sample: "cpu_percent", Warning: rng(t, "80"), Critical: rng(t, "90")}
	cases := []struct {
		name    string
		result  monitor.Result
		ths     []monitor.Threshold
		want    monitor.Status
		message string
	}{
		{"no thresholds keeps own status", monitor.Result{Status: monitor.Warning}, nil, monitor.Warning, ""},
		{"ok", monitor.Result{Samples: []monitor.Sample{cpu(12, nil)}}, []monitor.Threshold{cpuTh}, monitor.OK, ""},
		{"boundary is inclusive", monitor.Result{Samples: []monitor.Sample{cpu(80, nil)}}, []monitor.Threshold{cpuTh}, monitor.OK, ""},
		{"warning", monitor.Result{Samples: []monitor.Sample{cpu(85, nil)}}, []monitor.Threshold{cpuTh}, monitor.Warning, "cpu_percent=85% (warning 80)"},
		{"critical wins over warning", monitor.Result{Samples: []monitor.Sample{cpu(93.5, nil)}}, []monitor.Threshold{cpuTh}, monitor.Critical, "cpu_percent=93.5% (critical 90)"},
		{"thresholds raise but never lower", monitor.Result{Status: monitor.Critical, Samples: []monitor.Sample{cpu(1, nil)}}, []monitor.Threshold{cpuTh}, monitor.Critical, ""},
		{"missing sample is unknown", monitor.Result{Samples: []monitor.Sample{{Name: "memory_percent", Value: 1}}}, []monitor.Threshold{cpuTh}, monitor.Unknown, "no sample cpu_percent"},
		{"missing labelled sample names labels", monitor.Result{Samples: []monitor.Sample{cpu(1, core("0"))}},
			[]monitor.Threshold{{Sample: "cpu_percent", Labels: core("3"), Critical: rng(t, "90")}}, monitor.Unknown, `no sample cpu_percent{core="3"}`},
		{"critical beats missing", monitor.Result{Samples: []monitor.Sample{cpu(99, nil)}},
			[]monitor.Threshold{cpuTh, {Sample: "pids_current", Critical: rng(t, "100")}}, monitor.Critical, "cpu_percent=99% (critical 90), no sample pids_current"},
		{"missing beats OK own status", monitor.Result{}, []monitor.Threshold{cpuTh}, monitor.Unknown, "no sample cpu_percent"},
		{"warning beats missing (Worst order)", monitor.Result{Samples: []monitor.Sample{cpu(85, nil)}},
			[]monitor.Threshold{cpuTh, {Sample: "pids_current"}}, monitor.Warning, "cpu_percent=85% (warning 80), no sample pids_current"},
		{"unlabelled threshold applies to every core", monitor.Result{Samples: []monitor.Sample{cpu(10, core("0")), cpu(95, core("1")), cpu(85, core("2"))}},
			[]monitor.Threshold{cpuTh}, monitor.Critical, `cpu_percent{core="1"}=95% (critical 90), cpu_percent{core="2"}=85% (warning 80)`},
		{"labelled threshold applies to its core only", monitor.Result{Samples: []monitor.Sample{cpu(95, core("0")), cpu(10, core("1"))}},
			[]monitor.Threshold{{Sample: "cpu_percent", Labels: core("1"), Critical: rng(t, "90")}}, monitor.OK, ""},
		{"inside range", monitor.Result{Samples: []monitor.Sample{{Name: "status", Value: 1}}},
			[]monitor.Threshold{{Sample: "status", Critical: rng(t, "@1:1")}}, monitor.Critical, "status=1 (critical @1:1)"},
		{"NaN is unknown", monitor.Result{Samples: []monitor.Sample{cpu(math.NaN(), nil)}}, []monitor.Threshold{cpuTh}, monitor.Unknown, "cpu_percent is NaN"},
		{"threshold without ranges only requires presence", monitor.Result{Samples: []monitor.Sample{cpu(1e9, nil)}}, []monitor.Threshold{{Sample: "cpu_percent"}}, monitor.OK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, msg := monitor.EvaluateThresholds(tc.result, tc.ths)
			assert.Equal(t, tc.want, st)
			assert.Equal(t, tc.message, msg)
		})
	}
}

func TestThresholdValidate(t *testing.T) {
	assert.NoError(t, monitor.Threshold{Sample: "x"}.Validate())
	err := monitor.Threshold{Warning: &monitor.Range{Start: 2, End: 1}}.Validate()
	assert.ErrorContains(t, err, "sample: empty")
	assert.ErrorContains(t, err, "warning: monitor: bad range: start 2 is greater than end 1")
}
