package nagios_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/monitortest"
	"github.com/minato-ops/minato/monitor/output/nagios"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func target(name string) inventory.Target {
	return inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57aaaabbbbccccddddeeeeffff000011112222333344445555666", Name: name}
}

var t0 = time.Date(2015, 9, 5, 21, 59, 8, 0, time.UTC)

func cpu(v float64, labels map[string]string) monitor.Sample {
	return monitor.Sample{Name: "cpu_percent", Value: v, Unit: monitor.Percent, Labels: labels}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), got)
}

func TestFormatGolden(t *testing.T) {
	ths := []monitor.Threshold{
		{Sample: "cpu_percent", Warning: monitortest.ParseRange(t, "80"), Critical: monitortest.ParseRange(t, "90")},
		{Sample: "memory_usage_bytes", Critical: monitortest.ParseRange(t, "@~:0")},
	}
	okSamples := []monitor.Sample{
		cpu(12.5, nil),
		{Name: "memory_usage_bytes", Value: 14479360, Unit: monitor.Bytes},
		{Name: "pids_current", Value: 4},
		{Name: "cpu_usage_seconds_total", Value: 19.377187586, Unit: monitor.Seconds},
	}
	noThresholds := []monitor.Threshold{}
	cases := []struct {
		name string
		evs  []monitor.Evaluation
		ths  []monitor.Threshold // nil: ths above
	}{
		// With thresholds, only the samples they match are shown.
		{"ok", []monitor.Evaluation{{
			Check: "cpu", Target: target("web-1"), Status: monitor.OK,
			Result: monitor.Result{Time: t0, Samples: okSamples},
		}}, nil},
		// Without thresholds, every sample is.
		{"ok_all_samples", []monitor.Evaluation{{
			Check: "cpu", Target: target("web-1"), Status: monitor.OK,
			Result: monitor.Result{Time: t0, Samples: okSamples},
		}}, noThresholds},
		// A threshold's labels select samples too.
		{"core_threshold", []monitor.Evaluation{{
			Check: "cpu", Target: target("web-1"), Status: monitor.OK,
			Result: monitor.Result{Samples: []monitor.Sample{cpu(30, nil), cpu(10, map[string]string{"core": "0"}), cpu(20, map[string]string{"core": "1"})}},
		}}, []monitor.Threshold{{Sample: "cpu_percent", Labels: map[string]string{"core": "1"}, Critical: monitortest.ParseRange(t, "90")}}},
		// An integer a float64 cannot hold keeps its exact text.
		{"exact", []monitor.Evaluation{{
			Check: "memory", Target: target("web-1"), Status: monitor.OK,
			Result: monitor.Result{Samples: []monitor.Sample{
				{Name: "memory_stat", Value: 9223372036854775807, Exact: "9223372036854775807", Labels: map[string]string{"key": "hierarchical_memsw_limit"}},
				{Name: "memory_stat", Value: 4096, Labels: map[string]string{"key": "rss"}},
			}},
		}}, noThresholds},
		{"ok_many", []monitor.Evaluation{
			{Check: "cpu", Target: target("web-1"), Status: monitor.OK, Result: monitor.Result{Samples: []monitor.Sample{cpu(1, nil)}}},
			{Check: "cpu", Target: target("web-2"), Status: monitor.OK, Result: monitor.Result{Samples: []monitor.Sample{cpu(2, nil)}}},
		}, nil},
		{"warning", []monitor.Evaluation{
			{Check: "cpu", Target: target("web-1"), Status: monitor.OK, Result: monitor.Result{Samples: []monitor.Sample{cpu(10, map[string]string{"core": "0"}), cpu(20, map[string]string{"core": "1"})}}},
			{Check: "cpu", Target: target("it's web"), Status: monitor.Warning, Observed: monitor.Warning, Message: `cpu_percent{core="1"}=85% (warning 80)`,
				Result: monitor.Result{Samples: []monitor.Sample{cpu(5, map[string]string{"core": "0"}), cpu(85, map[string]string{"core": "1"})}}},
		}, nil},
		{"critical", []monitor.Evaluation{
			{Check: "cpu", Target: target("web-1"), Status: monitor.Warning, Message: "cpu_percent=85% (warning 80)", Result: monitor.Result{Samples: []monitor.Sample{cpu(85, nil)}}},
			{Check: "cpu", Target: target("web-2"), Status: monitor.Critical, Message: "cpu_percent=95.25% (critical 90)", Result: monitor.Result{Samples: []monitor.Sample{cpu(95.25, nil)}}},
			{Check: "cpu", Target: target("web-3"), Status: monitor.OK, Observed: monitor.Critical, Message: "cpu_percent=99% (critical 90)", Result: monitor.Result{Samples: []monitor.Sample{cpu(99, nil)}}},
			{Check: "cpu", Target: target("web-4"), Status: monitor.Unknown, Message: "no baseline yet", Err: monitor.ErrNoBaseline},
		}, nil},
		{"unknown", []monitor.Evaluation{{
			Check: "cpu", Target: target("web-1"), Status: monitor.Unknown, Observed: monitor.Unknown,
			Err: fmt.Errorf("cpu: %w", monitor.ErrNoBaseline), Message: "no baseline yet",
		}}, nil},
		{"unknown_resolve", []monitor.Evaluation{{
			Check: "cpu", Status: monitor.Unknown, Err: fmt.Errorf("daemon down"), Message: "cannot resolve targets: daemon | down\nnow",
		}}, nil},
		{"unknown_none", nil, nil},
		{"values", []monitor.Evaluation{{
			Check: "odd", Target: inventory.Target{ID: "abcdef0123456789"}, Status: monitor.OK,
			Result: monitor.Result{Samples: []monitor.Sample{
				{Name: "nan_percent", Value: math.NaN(), Unit: monitor.Percent},
				{Name: "restarts_total", Value: 3, Unit: monitor.Count},
				{Name: "latency", Value: 1e-7, Unit: "ns"},
				{Name: "big_bytes", Value: 1e21, Unit: monitor.Bytes},
				{Name: "neg", Value: -2.5},
			}},
		}}, noThresholds},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			use := ths
			if tc.ths != nil {
				use = tc.ths
			}
			text, exit := nagios.Format("CPU", tc.evs, use)
			golden(t, tc.name, fmt.Sprintf("%s\nexit %d\n", text, exit))
		})
	}
}

func TestExitCodes(t *testing.T) {
	for st, want := range map[monitor.Status]int{monitor.OK: 0, monitor.Warning: 1, monitor.Critical: 2, monitor.Unknown: 3} {
		_, exit := nagios.Format("", []monitor.Evaluation{{Status: st}}, nil)
		assert.Equal(t, want, exit, st)
	}
	text, _ := nagios.Format("", []monitor.Evaluation{{Target: target("x"), Status: monitor.Unknown, Message: "no baseline yet"}}, nil)
	assert.Equal(t, "UNKNOWN: x: no baseline yet", text)
}

func TestQuoteLabel(t *testing.T) {
	for in, want := range map[string]string{
		"cpu_percent":         "cpu_percent",
		"cpu_percent:web-1":   "cpu_percent:web-1",
		"disk used":           "'disk used'",
		"a=b":                 "'a=b'",
		"it's":                "'it''s'",
		"cpu{core=0}:it's up": "'cpu{core=0}:it''s up'",
	} {
		assert.Equal(t, want, nagios.QuoteLabel(in), in)
	}
}

func TestSink(t *testing.T) {
	var buf bytes.Buffer
	s := nagios.NewSink(&buf, map[string][]monitor.Threshold{"cpu": {{Sample: "cpu_percent", Critical: monitortest.ParseRange(t, "90")}}})
	require.NoError(t, s.Write(context.Background(), nil))
	require.NoError(t, s.Write(context.Background(), []monitor.Evaluation{{Check: "cpu", Target: target("a"), Result: monitor.Result{Samples: []monitor.Sample{cpu(5, nil)}}}}))
	require.NoError(t, s.Write(context.Background(), []monitor.Evaluation{{Check: "mem", Target: target("a"), Status: monitor.Critical, Message: "oom"}}))
	assert.Equal(t, "cpu OK: a: cpu_percent=5% | cpu_percent=5%;;90;0;100\nmem CRITICAL: a: oom\n", buf.String())
}

// TestPerfdataSelects: with thresholds, Perfdata shows the samples they
// match, as Format does, and neither changes the caller's Evaluations.
func TestPerfdataSelects(t *testing.T) {
	evs := []monitor.Evaluation{
		{Target: target("a"), Result: monitor.Result{Samples: []monitor.Sample{cpu(5, nil), {Name: "cpu_usage_seconds_total", Value: 3, Unit: monitor.Seconds}}}},
		{Target: target("b"), Result: monitor.Result{Samples: []monitor.Sample{{Name: "memory_rss_bytes", Value: 1024, Unit: monitor.Bytes}}}},
	}
	ths := []monitor.Threshold{{Sample: "cpu_percent", Warning: monitortest.ParseRange(t, "80")}, {Sample: "memory_rss_bytes"}}
	assert.Equal(t, "cpu_percent:a=5%;80;;0;100 memory_rss_bytes:b=1024B", nagios.Perfdata(evs, ths))
	assert.Equal(t, "cpu_percent:a=5%;;;0;100 cpu_usage_seconds_total:a=3s memory_rss_bytes:b=1024B", nagios.Perfdata(evs, nil))
	text, _ := nagios.Format("CPU", evs, ths[:1])
	assert.Equal(t, "CPU OK: all 2 targets OK | cpu_percent:a=5%;80;;0;100", text)
	assert.Len(t, evs[0].Result.Samples, 2, "the caller's Evaluations are not modified")
	assert.Len(t, evs[1].Result.Samples, 1)
}
