package monitor_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/minato-ops/minato/internal/strictyaml"
	"github.com/minato-ops/minato/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr(v float64) *float64 { return &v }

func TestHinemosJudge(t *testing.T) {
	// The Hinemos Docker monitoring scripts' CPU monitor as set up on
	// screen: info 0.0 以上 40.0 未満, warning 40.0 以上 80.0 未満,
	// critical 情報・警告以外.
	cpu := monitor.HinemosBands{Info: monitor.Band{Lower: 0, Upper: 40}, Warning: monitor.Band{Lower: 40, Upper: 80}}
	// The same scripts' settings table: CONTAINER_CPU info 0–80, warning 80–90.
	cpuTable := monitor.HinemosBands{Info: monitor.Band{Lower: 0, Upper: 80}, Warning: monitor.Band{Lower: 80, Upper: 90}}
	// The same scripts' daemon status monitor DOC_HOST_STATUS: info [0,1),
	// warning [0,1).
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

func TestParseBand(t *testing.T) {
	cases := []struct {
		in   string
		want monitor.Band
		text string
	}{
		{"0:80", monitor.Band{Lower: 0, Upper: 80}, "[0,80)"},
		{"80:90", monitor.Band{Lower: 80, Upper: 90}, "[80,90)"},
		{"80%:90%", monitor.Band{Lower: 80, Upper: 90}, "[80,90)"},
		{"0:12%%", monitor.Band{Lower: 0, Upper: 12}, "[0,12)"},
		{"-5.5:1e3", monitor.Band{Lower: -5.5, Upper: 1000}, "[-5.5,1000)"},
		{"0:0", monitor.Band{}, "[0,0)"},
		{"0.1:1e21", monitor.Band{Lower: 0.1, Upper: 1e21}, "[0.1,1000000000000000000000)"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := monitor.ParseBand(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.text, got.String())
		})
	}
}

func TestParseBandErrors(t *testing.T) {
	grammar := `want LOWER:UPPER, the half-open band LOWER <= v < UPPER`
	cases := map[string]string{
		"":        `monitor: bad band "": no colon; ` + grammar,
		"80":      `monitor: bad band "80": no colon; ` + grammar,
		"80:":     `monitor: bad band "80:": upper "" is not a number; ` + grammar,
		":80":     `lower "" is not a number`,
		"~:80":    `lower "~" is not a number`,
		"0:inf":   `upper "inf" is not a finite number`,
		"0:NaN":   `upper "NaN" is not a finite number`,
		"0:1e999": `upper "1e999" is out of range`,
		"90:80":   `monitor: bad band "90:80": lower 90 is greater than upper 80`,
		"0:8:9":   `upper "8:9" is not a number`,
		"%:80":    `lower "%" is not a number`,
		"0:80%x":  `upper "80%x" is not a number`,
		"0x1:2":   `lower "0x1" is not a number`,
		"1_0:20":  `lower "1_0" is not a decimal number`,
		" 0:80":   `lower " 0" is not a number`,
	}
	for in, want := range cases {
		_, err := monitor.ParseBand(in)
		require.Error(t, err, in)
		assert.ErrorIs(t, err, monitor.ErrBadBand, in)
		assert.Contains(t, err.Error(), want, in)
	}
}

func FuzzParseBand(f *testing.F) {
	for _, s := range []string{"0:80", "80:90", "80%:90%", "0:0", ":", "", "90:80", "-0:0", "1e308:1e308", "4.9e-324:1", "~:1", "1:2:3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := monitor.ParseBand(s)
		if err != nil {
			return
		}
		h := monitor.HinemosBands{Info: b, Warning: b}
		if err := h.Validate(); err != nil {
			t.Fatalf("ParseBand(%q) = %#v, which fails Validate: %v", s, b, err)
		}
		text := b.String()
		back, err := monitor.ParseBand(strings.Replace(text[1:len(text)-1], ",", ":", 1))
		if err != nil {
			t.Fatalf("ParseBand(%q).String() = %q, whose bounds do not parse: %v", s, text, err)
		}
		if back != b {
			t.Fatalf("ParseBand(%q) = %#v, but %q parses to %#v", s, b, text, back)
		}
		if b.Contains(b.Upper) || (b.Lower < b.Upper && !b.Contains(b.Lower)) {
			t.Fatalf("ParseBand(%q) = %#v is not half-open", s, b)
		}
	})
}

func TestThresholdBandsDecode(t *testing.T) {
	want := monitor.Threshold{Sample: "cpu_percent", Bands: &monitor.HinemosBands{
		Info:    monitor.Band{Lower: 0, Upper: 80},
		Warning: monitor.Band{Lower: 80, Upper: 90},
	}}
	var fromJSON monitor.Threshold
	require.NoError(t, json.Unmarshal([]byte(`{"sample":"cpu_percent","bands":{"info":{"lower":0,"upper":80},"warning":{"lower":80,"upper":90}}}`), &fromJSON))
	assert.Equal(t, want, fromJSON)
	b, err := json.Marshal(want)
	require.NoError(t, err)
	assert.JSONEq(t, `{"sample":"cpu_percent","bands":{"info":{"lower":0,"upper":80},"warning":{"lower":80,"upper":90}}}`, string(b))

	// The agent's strict YAML decoder reads the same mapping.
	var fromYAML monitor.Threshold
	require.NoError(t, strictyaml.Unmarshal([]byte("sample: cpu_percent\nbands: {info: {lower: 0, upper: 80}, warning: {lower: 80, upper: 90}}\n"), &fromYAML))
	assert.Equal(t, want, fromYAML)
	require.NoError(t, fromYAML.Validate())
}
