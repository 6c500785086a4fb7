package monitor_test

import (
	"math"
	"testing"

	"github.com/minato-ops/minato/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	bandsTh := monitor.Threshold{Sample: "cpu_percent", Bands: &monitor.HinemosBands{
		Info: monitor.Band{Lower: 0, Upper: 80}, Warning: monitor.Band{Lower: 80, Upper: 90}}}
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
		// Hinemos bands: info judged OK, warning band Warning, anything else Critical.
		{"bands: info is OK", monitor.Result{Samples: []monitor.Sample{cpu(79.9, nil)}}, []monitor.Threshold{bandsTh}, monitor.OK, ""},
		{"bands: lower bound is in the band", monitor.Result{Samples: []monitor.Sample{cpu(80, nil)}}, []monitor.Threshold{bandsTh}, monitor.Warning, "cpu_percent=80% (warning: in [80,90))"},
		{"bands: warning", monitor.Result{Samples: []monitor.Sample{cpu(85, nil)}}, []monitor.Threshold{bandsTh}, monitor.Warning, "cpu_percent=85% (warning: in [80,90))"},
		{"bands: upper bound is outside", monitor.Result{Samples: []monitor.Sample{cpu(90, nil)}}, []monitor.Threshold{bandsTh}, monitor.Critical, "cpu_percent=90% (critical: outside info [0,80) and warning [80,90))"},
		{"bands: critical", monitor.Result{Samples: []monitor.Sample{cpu(93.5, nil)}}, []monitor.Threshold{bandsTh}, monitor.Critical, "cpu_percent=93.5% (critical: outside info [0,80) and warning [80,90))"},
		{"bands: below every band is critical", monitor.Result{Samples: []monitor.Sample{cpu(-1, nil)}}, []monitor.Threshold{bandsTh}, monitor.Critical, "cpu_percent=-1% (critical: outside info [0,80) and warning [80,90))"},
		{"bands: empty warning band left out", monitor.Result{Samples: []monitor.Sample{{Name: "daemon_down", Value: 1}}},
			[]monitor.Threshold{{Sample: "daemon_down", Bands: &monitor.HinemosBands{Info: monitor.Band{Upper: 1}}}}, monitor.Critical, "daemon_down=1 (critical: outside info [0,1))"},
		{"bands: both empty", monitor.Result{Samples: []monitor.Sample{{Name: "x", Value: 0}}},
			[]monitor.Threshold{{Sample: "x", Bands: &monitor.HinemosBands{}}}, monitor.Critical, "x=0 (critical: the info and warning bands are empty)"},
		{"bands: NaN is unknown", monitor.Result{Samples: []monitor.Sample{cpu(math.NaN(), nil)}}, []monitor.Threshold{bandsTh}, monitor.Unknown, "cpu_percent is NaN"},
		{"bands: missing sample", monitor.Result{}, []monitor.Threshold{bandsTh}, monitor.Unknown, "no sample cpu_percent"},
		{"bands and ranges: most severe first", monitor.Result{Samples: []monitor.Sample{cpu(85, core("0")), cpu(95, core("1"))}},
			[]monitor.Threshold{bandsTh, {Sample: "pids_current"}}, monitor.Critical,
			`cpu_percent{core="1"}=95% (critical: outside info [0,80) and warning [80,90)), cpu_percent{core="0"}=85% (warning: in [80,90)), no sample pids_current`},
		{"bands raise but never lower", monitor.Result{Status: monitor.Critical, Samples: []monitor.Sample{cpu(1, nil)}}, []monitor.Threshold{bandsTh}, monitor.Critical, ""},
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

func TestThresholdValidateBands(t *testing.T) {
	bands := &monitor.HinemosBands{Info: monitor.Band{Upper: 80}, Warning: monitor.Band{Lower: 80, Upper: 90}}
	assert.NoError(t, monitor.Threshold{Sample: "x", Bands: bands}.Validate())

	err := monitor.Threshold{Sample: "x", Bands: bands, Warning: rng(t, "80"), Critical: rng(t, "90")}.Validate()
	assert.EqualError(t, err, "bands: set together with warning and critical: judge with bands (Hinemos) or with warning and critical ranges (Monitoring Plugins), not both")
	err = monitor.Threshold{Sample: "x", Bands: bands, Critical: rng(t, "90")}.Validate()
	assert.ErrorContains(t, err, "bands: set together with critical: ")
	err = monitor.Threshold{Sample: "x", Bands: bands, Warning: rng(t, "90")}.Validate()
	assert.ErrorContains(t, err, "bands: set together with warning: ")

	err = monitor.Threshold{Sample: "x", Bands: &monitor.HinemosBands{Info: monitor.Band{Lower: 5, Upper: 1}, Warning: monitor.Band{Upper: math.NaN()}}}.Validate()
	assert.ErrorContains(t, err, "bands.info: lower 5 is greater than upper 1")
	assert.ErrorContains(t, err, "bands.warning: lower and upper must be numbers, not NaN")
}

func TestParseThreshold(t *testing.T) {
	th, err := monitor.ParseThreshold("cpu_percent", "80%", "@90:", "", "")
	require.NoError(t, err)
	assert.Equal(t, "80", th.Warning.String())
	assert.Equal(t, "@90:", th.Critical.String())
	assert.Nil(t, th.Bands)
	th, err = monitor.ParseThreshold("cpu_percent", "", "", "0:80", "80:90")
	require.NoError(t, err)
	assert.Equal(t, monitor.HinemosBands{Info: monitor.Band{Lower: 0, Upper: 80}, Warning: monitor.Band{Lower: 80, Upper: 90}}, *th.Bands)
	_, err = monitor.ParseThreshold("x", "10:5", "", "", "")
	require.ErrorIs(t, err, monitor.ErrBadRange)
	assert.Contains(t, err.Error(), "warning: ")
	_, err = monitor.ParseThreshold("x", "", "", "0:80", "")
	require.ErrorIs(t, err, monitor.ErrBadBand)
	assert.Contains(t, err.Error(), "band: ")
	_, err = monitor.ParseThreshold("x", "80", "", "0:80", "80:90")
	require.ErrorIs(t, err, monitor.ErrBadBand, "ranges and bands together")
	th, err = monitor.ParseThreshold("x", "", "", "", "")
	require.NoError(t, err)
	assert.Equal(t, monitor.Threshold{Sample: "x"}, th)
}
