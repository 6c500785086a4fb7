package strictyaml_test

import (
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/strictyaml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type level string

func (l *level) UnmarshalText(b []byte) error {
	switch string(b) {
	case "low", "high":
		*l = level(b)
		return nil
	}
	return assert.AnError
}

type inner struct {
	Sample  string            `json:"sample"`
	Warning *string           `json:"warning,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
}

type config struct {
	Listen   string        `json:"listen"`
	Interval time.Duration `json:"interval"`
	Count    int           `json:"count"`
	Ratio    float64       `json:"ratio"`
	On       bool          `json:"on"`
	Level    level         `json:"level"`
	Items    []inner       `json:"items"`
	Sub      *inner        `json:"sub"`
	skipped  int
}

func TestUnmarshal(t *testing.T) {
	c := config{Listen: "default", Count: 7}
	require.NoError(t, strictyaml.Unmarshal([]byte(`
interval: 2s
ratio: 0.5
on: true
level: high
items:
  - {sample: cpu_percent, warning: "50", labels: {core: "0"}}
sub: {sample: x}
`), &c))
	assert.Equal(t, "default", c.Listen, "absent keys keep defaults")
	assert.Equal(t, 7, c.Count)
	assert.Equal(t, 2*time.Second, c.Interval)
	assert.Equal(t, level("high"), c.Level)
	require.Len(t, c.Items, 1)
	assert.Equal(t, "50", *c.Items[0].Warning)
	assert.Equal(t, map[string]string{"core": "0"}, c.Items[0].Labels)
	assert.Equal(t, "x", c.Sub.Sample)
	_ = c.skipped

	require.NoError(t, strictyaml.Unmarshal([]byte(`{"listen": "127.0.0.1:1", "items": []}`), &c), "JSON works too")
	assert.Equal(t, "127.0.0.1:1", c.Listen)
}

func TestUnmarshalErrors(t *testing.T) {
	var c config
	err := strictyaml.Unmarshal([]byte(`
listen: [a]
interval: soon
count: many
ratio: .nan
on: maybe
level: medium
colour: red
items:
  - {sample: x, warnig: "1"}
  - 5
sub: []
`), &c)
	require.Error(t, err)
	for _, want := range []string{
		"listen: want a string, got a list",
		`interval: "soon": want a duration`,
		`count: want a whole number, got "many"`,
		"ratio: want a number",
		`on: want true or false, got "maybe"`,
		`level: "medium":`,
		"colour: unknown key (allowed: count, interval, items, level, listen, on, ratio, sub)",
		"items[0].warnig: unknown key (allowed: labels, sample, warning)",
		`items[1]: want a mapping with keys sample, warning, labels, got "5"`,
		"sub: want a mapping",
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.ErrorContains(t, strictyaml.Unmarshal([]byte("a: [b"), &c), "not valid YAML or JSON")
	assert.Error(t, strictyaml.Unmarshal([]byte("x: 1"), c), "needs a pointer")
}

func FuzzUnmarshal(f *testing.F) {
	f.Add("listen: x\nitems: [{sample: a}]\n")
	f.Add(`{"sub": null, "count": 99999999999999999999}`)
	f.Add("items: &a [*a]")
	f.Fuzz(func(t *testing.T, s string) {
		var c config
		_ = strictyaml.Unmarshal([]byte(s), &c)
	})
}
