package monitor_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/minato-ops/minato/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var inf = math.Inf(1)

func TestParseRange(t *testing.T) {
	cases := []struct {
		in     string
		want   monitor.Range
		canon  string
		alerts []float64
		quiet  []float64
	}{
		// The Monitoring Plugins guideline examples.
		{"10", monitor.Range{Start: 0, End: 10}, "10", []float64{-1, -0.001, 10.5, 11}, []float64{0, 5, 10}},
		{"10:", monitor.Range{Start: 10, End: inf}, "10:", []float64{9.99, -5}, []float64{10, 1e300}},
		{"~:10", monitor.Range{Start: -inf, End: 10}, "~:10", []float64{10.01, 1e9}, []float64{10, -1e300}},
		{"10:20", monitor.Range{Start: 10, End: 20}, "10:20", []float64{9, 21}, []float64{10, 15, 20}},
		{"@10:20", monitor.Range{Start: 10, End: 20, Inside: true}, "@10:20", []float64{10, 15, 20}, []float64{9.99, 20.01}},
		// Other forms of the grammar.
		{":10", monitor.Range{Start: 0, End: 10}, "10", nil, nil},
		{"0:10", monitor.Range{Start: 0, End: 10}, "10", nil, nil},
		{"@10", monitor.Range{Start: 0, End: 10, Inside: true}, "@10", []float64{0, 10}, []float64{-1, 11}},
		{"~:", monitor.Range{Start: -inf, End: inf}, "~:", nil, []float64{-1e300, 0, 1e300}},
		{":", monitor.Range{Start: 0, End: inf}, "0:", []float64{-1}, []float64{0}},
		{"@~:0", monitor.Range{Start: -inf, End: 0, Inside: true}, "@~:0", []float64{0, -3}, []float64{0.1}},
		{"-10:-5", monitor.Range{Start: -10, End: -5}, "-10:-5", []float64{-4, -11}, []float64{-7}},
		{"0.5:1.5e2", monitor.Range{Start: 0.5, End: 150}, "0.5:150", nil, nil},
		{"+5", monitor.Range{Start: 0, End: 5}, "5", nil, nil},
		{"5:5", monitor.Range{Start: 5, End: 5}, "5:5", []float64{4.9, 5.1}, []float64{5}},
		{"1e21", monitor.Range{Start: 0, End: 1e21}, "1000000000000000000000", nil, nil},
		{"0", monitor.Range{}, "0", []float64{-1, 1}, []float64{0}},
		// Trailing % signs after a number are ignored, as the Monitoring
		// Plugins C library does ("--warning 80%").
		{"80%", monitor.Range{Start: 0, End: 80}, "80", []float64{80.5}, []float64{80}},
		{"1:12%%", monitor.Range{Start: 1, End: 12}, "1:12", []float64{0.5, 13}, []float64{1, 12}},
		{"@10:20%", monitor.Range{Start: 10, End: 20, Inside: true}, "@10:20", []float64{15}, []float64{21}},
		{"~:80%", monitor.Range{Start: -inf, End: 80}, "~:80", []float64{81}, []float64{-5}},
		{"10%:", monitor.Range{Start: 10, End: inf}, "10:", []float64{9}, []float64{1e9}},
		{"10%:20%", monitor.Range{Start: 10, End: 20}, "10:20", nil, nil},
		{"@0.5%", monitor.Range{Start: 0, End: 0.5, Inside: true}, "@0.5", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := monitor.ParseRange(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.canon, got.String())
			back, err := monitor.ParseRange(got.String())
			require.NoError(t, err)
			assert.Equal(t, got, back)
			for _, v := range tc.alerts {
				assert.True(t, got.Alert(v), "%s should alert for %v", tc.in, v)
			}
			for _, v := range tc.quiet {
				assert.False(t, got.Alert(v), "%s should not alert for %v", tc.in, v)
			}
			assert.False(t, got.Alert(math.NaN()))
		})
	}
}

func TestParseRangeErrors(t *testing.T) {
	cases := map[string]string{
		"":       `monitor: bad range "": empty; want [@][START:]END`,
		"@":      `monitor: bad range "@": empty`,
		"20:10":  `monitor: bad range "20:10": start 20 is greater than end 10`,
		"abc":    `monitor: bad range "abc": end "abc" is not a number`,
		"x:10":   `monitor: bad range "x:10": start "x" is not a number`,
		"10:~":   `~ (minus infinity) is allowed only as the start`,
		"~":      `~ (minus infinity) is allowed only as the start`,
		"1:2:3":  `end "2:3" is not a number`,
		" 10":    `end " 10" is not a number`,
		"inf":    `end "inf" is not a finite number (use ~ for -∞, an empty end for +∞)`,
		"-Inf:0": `start "-Inf" is not a finite number`,
		"NaN":    `end "NaN" is not a finite number`,
		"1e999":  `end "1e999" is out of range`,
		"0x10":   `end "0x10" is not a number`,
		"0x1p4":  `end "0x1p4" is not a decimal number`,
		"1_000":  `end "1_000" is not a decimal number`,
		"@@10":   `end "@10" is not a number`,
		// Only trailing % after a number is tolerated.
		"%":      `monitor: bad range "%": end "%" is not a number`,
		"@%":     `end "%" is not a number`,
		"10:%":   `end "%" is not a number`,
		"~%:10":  `start "~%" is not a number`,
		"%80":    `end "%80" is not a number`,
		"80%x":   `end "80%x" is not a number`,
		"80 %":   `end "80 %" is not a number`,
		"80%:~":  `~ (minus infinity) is allowed only as the start`,
		"inf%":   `end "inf%" is not a finite number`,
		"0x10%":  `end "0x10%" is not a number`,
		"1e999%": `end "1e999%" is out of range`,
		"20%:10": `start 20 is greater than end 10`,
	}
	for in, want := range cases {
		_, err := monitor.ParseRange(in)
		require.Error(t, err, in)
		assert.ErrorIs(t, err, monitor.ErrBadRange, in)
		assert.Contains(t, err.Error(), want, in)
	}
}

func TestRangeValidate(t *testing.T) {
	assert.NoError(t, monitor.Range{Start: -inf, End: inf}.Validate())
	for _, bad := range []monitor.Range{
		{Start: math.NaN(), End: 1},
		{Start: inf, End: inf},
		{Start: -inf, End: -inf},
		{Start: 2, End: 1},
	} {
		assert.ErrorIs(t, bad.Validate(), monitor.ErrBadRange, "%#v", bad)
	}
}

func TestRangeText(t *testing.T) {
	type cfg struct {
		Warn *monitor.Range `json:"warn"`
		Crit monitor.Range  `json:"crit"`
	}
	var c cfg
	require.NoError(t, json.Unmarshal([]byte(`{"warn":"80","crit":"@~:0"}`), &c))
	assert.Equal(t, cfg{Warn: &monitor.Range{End: 80}, Crit: monitor.Range{Start: -inf, End: 0, Inside: true}}, c)
	b, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, `{"warn":"80","crit":"@~:0"}`, string(b))

	require.NoError(t, json.Unmarshal([]byte(`{"warn":"80%","crit":"@~:0%"}`), &c), "a trailing %% is tolerated in files too")
	assert.Equal(t, cfg{Warn: &monitor.Range{End: 80}, Crit: monitor.Range{Start: -inf, End: 0, Inside: true}}, c)

	err = json.Unmarshal([]byte(`{"warn":"9:1"}`), &c)
	assert.ErrorIs(t, err, monitor.ErrBadRange)
	_, err = json.Marshal(monitor.Range{Start: 2, End: 1})
	assert.ErrorIs(t, err, monitor.ErrBadRange)
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"10", "10:", "~:10", "10:20", "@10:20", ":", "~:", "@", "", "-0", "-0:-0", "1e308:", "@~:-1e-300", "4.9e-324", "1:2:3", "0x1p3", "80%", "1:12%%", "@10:20%", "~:80%", "10%:", "%", "~%:1", "1%%:%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := monitor.ParseRange(s)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseRange(%q) = %#v, which fails Validate: %v", s, r, err)
		}
		back, err := monitor.ParseRange(r.String())
		if err != nil {
			t.Fatalf("ParseRange(%q).String() = %q does not parse: %v", s, r.String(), err)
		}
		if back != r {
			t.Fatalf("ParseRange(%q) = %#v, but its String %q parses to %#v", s, r, r.String(), back)
		}
		_ = r.Alert(0)
	})
}
