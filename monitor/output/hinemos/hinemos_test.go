package hinemos_test

import (
	"math"
	"testing"

	"github.com/minato-ops/minato/monitor/output/hinemos"
	"github.com/stretchr/testify/assert"
)

func TestLine(t *testing.T) {
	cases := []struct {
		key      string
		v        float64
		decimals int
		want     string
	}{
		// The Hinemos Docker monitoring scripts' examples.
		{"Status", 0, 0, "Status,0"},
		{"running", 3, 0, "running,3"},
		{"image", 474361657, 0, "image,474361657"},
		{"cpu_usage:conteiner_C", 0.07, 2, "cpu_usage:conteiner_C,0.07"},
		{"cpu_usage:host", 0.65, 2, "cpu_usage:host,0.65"},
		{"cpu_usage#0:conteiner_C", 0.05, 2, "cpu_usage#0:conteiner_C,0.05"},
		// Fixed decimals and rounding.
		{"k", 0.0, 2, "k,0.00"},
		{"k", 0.236, 2, "k,0.24"},
		{"k", 200, 2, "k,200.00"},
		{"k", 0.125, 2, "k,0.12"}, // exact binary 0.125: round half to even, like Python
		{"k", 0.135, 2, "k,0.14"}, // 0.135 is 0.13500000000000000888 in binary
		{"k", -1.5, 1, "k,-1.5"},
		// Integers.
		{"k", 2.5, 0, "k,3"},
		{"k", -2.5, 0, "k,-3"},
		{"k", 1e20, 0, "k,100000000000000000000"},
		{"k", -7, -1, "k,-7"},
		// Not values.
		{"k", math.NaN(), 2, "k,nan"},
		{"k", math.Inf(1), 0, "k,inf"},
		{"k", math.Inf(-1), 2, "k,-inf"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, hinemos.Line(tc.key, tc.v, tc.decimals), "%v %d", tc.v, tc.decimals)
	}
}
