package monitor_test

import (
	"testing"

	"github.com/minato-ops/minato/monitor"
	"github.com/stretchr/testify/assert"
)

const (
	O = monitor.OK
	W = monitor.Warning
	C = monitor.Critical
	U = monitor.Unknown
)

func TestDamper(t *testing.T) {
	cases := []struct {
		name    string
		damping monitor.Damping
		in      []monitor.Status
		want    []monitor.Status // reported after each observation
		changes []int            // indexes where changed is true
	}{
		{"zero damping is immediate", monitor.Damping{}, []monitor.Status{O, C, C, O, W}, []monitor.Status{O, C, C, O, W}, []int{1, 3, 4}},
		{"1 is immediate too", monitor.Damping{Raise: 1, Clear: 1}, []monitor.Status{C, O}, []monitor.Status{C, O}, []int{0, 1}},
		{"first result non-OK is a change", monitor.Damping{}, []monitor.Status{W}, []monitor.Status{W}, []int{0}},
		{"first result OK is not", monitor.Damping{}, []monitor.Status{O, O}, []monitor.Status{O, O}, nil},
		{"raise 3 needs three in a row", monitor.Damping{Raise: 3}, []monitor.Status{C, C, C, C}, []monitor.Status{O, O, C, C}, []int{2}},
		{"raise 3 first notification (Hinemos)", monitor.Damping{Raise: 3}, []monitor.Status{U, U, O, U, U, U}, []monitor.Status{O, O, O, O, O, U}, []int{5}},
		{"clear 2 needs two good results", monitor.Damping{Clear: 2}, []monitor.Status{C, O, C, O, O}, []monitor.Status{C, C, C, C, O}, []int{0, 4}},
		{"flapping never raises", monitor.Damping{Raise: 2}, []monitor.Status{C, O, C, O, C, O}, []monitor.Status{O, O, O, O, O, O}, nil},
		{"flapping never clears", monitor.Damping{Clear: 2}, []monitor.Status{C, O, C, O, C, O}, []monitor.Status{C, C, C, C, C, C}, []int{0}},
		{"alternating bad levels restart the count", monitor.Damping{Raise: 2}, []monitor.Status{W, C, W, C, C}, []monitor.Status{O, O, O, O, C}, []int{4}},
		{"worse level while raised is a raise", monitor.Damping{Raise: 2, Clear: 3}, []monitor.Status{W, W, C, C, W, W, W}, []monitor.Status{O, W, W, C, C, C, W}, []int{1, 3, 6}},
		{"unknown after OK is a raise", monitor.Damping{Raise: 2}, []monitor.Status{U, U}, []monitor.Status{O, U}, []int{1}},
		{"unknown after critical is a clear", monitor.Damping{Clear: 2}, []monitor.Status{C, U, U}, []monitor.Status{C, C, U}, []int{0, 2}},
		{"seeing the reported status cancels a pending change", monitor.Damping{Raise: 2}, []monitor.Status{W, O, W, W}, []monitor.Status{O, O, O, W}, []int{3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := monitor.NewDamper(tc.damping)
			var got []monitor.Status
			var changes []int
			for i, s := range tc.in {
				r, changed := d.Observe(s)
				got = append(got, r)
				if changed {
					changes = append(changes, i)
				}
				assert.Equal(t, r, d.Reported())
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.changes, changes)
		})
	}
}

func TestZeroDamper(t *testing.T) {
	var d monitor.Damper
	s, changed := d.Observe(C)
	assert.Equal(t, C, s)
	assert.True(t, changed)
}

func TestDampingValidate(t *testing.T) {
	assert.NoError(t, monitor.Damping{Raise: 3}.Validate())
	err := monitor.Damping{Raise: -1, Clear: -2}.Validate()
	assert.ErrorContains(t, err, "raise: -1")
	assert.ErrorContains(t, err, "clear: -2")
}
