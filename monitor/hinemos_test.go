package monitor_test

import (
	"math"
	"testing"

	"github.com/minato-ops/minato/monitor"
	"github.com/stretchr/testify/assert"
)

func ptr(v float64) *float64 { return &v }

func TestHinemosJudge(t *testing.T) {
	// Seed 002 §2.6 screenshot variant: info 0.0 以上 40.0 未満, warning 40.0
	// 以上 80.0 未満, critical 情報・警告以外.
	cpu := monitor.HinemosBands{Info: monitor.Band{Lower: 0, Upper: 40}, Warning: monitor.Band{Lower: 40, Upper: 80}}
	// Seed 002 §2.6 table: CONTAINER_CPU info 0–80, warning 80–90.
	cpuTable := monitor.HinemosBands{Info: monitor.Band{Lower: 0, Upper: 80}, Warning: monitor.Band{Lower: 80, Upper: 90}}
	// Seed 002 §2.4 DOC_HOST_STATUS: info [0,1), warning [0,1).
	status := monitor.HinemosBands{Info: monitor.Band{Lower: 0, Upper: 1}, Warning: monitor.Band{Lower: 0, Upper: 1}}

	cases := []struct {
		name  string
		bands monitor.HinemosBands
		v     *float64
		want  monitor.Status
	}{
		{"cpu 0 is info", cpu, ptr(0), monitor.OK},
		{"cpu 0.08 is info", cpu, ptr(0.08), monitor.OK},
		{"cpu 39.99 is info", cpu, ptr(39.99), monitor.OK},
		{"cpu 40 is warning (upper is exclusive)", cpu, ptr(40), monitor.Warning},
		{"cpu 79.99 is warning", cpu, ptr(79.99), monitor.Warning},
		{"cpu 80 is critical", cpu, ptr(80), monitor.Critical},
		{"cpu 200 (two cores) is critical", cpu, ptr(200), monitor.Critical},
		{"cpu -0.01 is critical (below every band)", cpu, ptr(-0.01), monitor.Critical},
		{"cpu no value is unknown", cpu, nil, monitor.Unknown},
		{"cpu NaN is unknown", cpu, ptr(math.NaN()), monitor.Unknown},
		{"table 79.9 is info", cpuTable, ptr(79.9), monitor.OK},
		{"table 85 is warning", cpuTable, ptr(85), monitor.Warning},
		{"table 90 is critical", cpuTable, ptr(90), monitor.Critical},
		{"daemon up (0) is info", status, ptr(0), monitor.OK},
		{"daemon down (1) is critical", status, ptr(1), monitor.Critical},
		{"daemon unknown", status, nil, monitor.Unknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.bands.Judge(tc.v))
		})
	}
}

func TestHinemosValidate(t *testing.T) {
	assert.NoError(t, monitor.HinemosBands{Info: monitor.Band{Lower: 0, Upper: 1}, Warning: monitor.Band{Lower: 0, Upper: 1}}.Validate())
	assert.NoError(t, monitor.HinemosBands{}.Validate())
	err := monitor.HinemosBands{Info: monitor.Band{Lower: 5, Upper: 1}, Warning: monitor.Band{Lower: math.NaN()}}.Validate()
	assert.ErrorContains(t, err, "info: lower 5 is greater than upper 1")
	assert.ErrorContains(t, err, "warning: lower and upper must be numbers")
}
