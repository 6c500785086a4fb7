package snmp_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/snmp"
)

func TestCPUPercent(t *testing.T) {
	linux := func(user, system, idle, wait, irq, soft uint64) snmp.CPU {
		return snmp.CPU{
			User: user, Nice: 0, System: system, Idle: idle,
			Wait: wait, Interrupt: irq, SoftIRQ: soft, Kernel: 0,
			HasWait: true, HasInterrupt: true, HasSoftIRQ: true, HasKernel: true,
			Counter32: true,
		}
	}
	const max32 = math.MaxUint32
	tests := []struct {
		name      string
		prev, cur snmp.CPU
		want      float64
		noBase    bool
	}{
		{
			name: "only the four required counters",
			prev: snmp.CPU{User: 100, Nice: 10, System: 50, Idle: 1000, Counter32: true},
			cur:  snmp.CPU{User: 130, Nice: 20, System: 60, Idle: 1060, Counter32: true},
			want: 50.0 / 110 * 100, // busy 30+10+10 = 50 of 110 ticks
		},
		{
			name: "linux: interrupts are busy, iowait is idle",
			prev: linux(1000, 500, 8000, 100, 10, 20),
			cur:  linux(1060, 520, 8290, 110, 15, 25),
			// busy 60+20+5+5 = 90; total 90+290+10 = 390
			want: 90.0 / 390 * 100,
		},
		{
			name: "kernel reported: it replaces system, which includes interrupts",
			prev: snmp.CPU{User: 100, System: 80, Kernel: 60, Interrupt: 20, Idle: 1000, HasKernel: true, HasInterrupt: true, Counter32: true},
			cur:  snmp.CPU{User: 120, System: 110, Kernel: 84, Interrupt: 26, Idle: 1150, HasKernel: true, HasInterrupt: true, Counter32: true},
			// busy 20+24+6 = 50; total 50+150 = 200
			want: 25,
		},
		{
			name: "optional counter missing in one sample is left out",
			prev: snmp.CPU{User: 100, System: 100, Idle: 100, Wait: 5, HasWait: true, Counter32: true},
			cur:  snmp.CPU{User: 110, System: 110, Idle: 180, Counter32: true},
			want: 20,
		},
		{
			name: "all busy",
			prev: linux(10, 10, 100, 0, 0, 0),
			cur:  linux(60, 60, 100, 0, 0, 0),
			want: 100,
		},
		{
			name: "all idle",
			prev: linux(10, 10, 100, 0, 0, 0),
			cur:  linux(10, 10, 500, 0, 0, 0),
			want: 0,
		},
		{
			name: "Counter32 wrap of idle and user",
			prev: linux(max32-9, 500, max32-99, 0, 0, 0),
			cur:  linux(10, 520, 200, 0, 0, 0),
			// user +20, system +20, idle +300
			want: 40.0 / 340 * 100,
		},
		{
			name:   "backwards without Counter32 is no baseline",
			prev:   snmp.CPU{User: 100, System: 100, Idle: 1000},
			cur:    snmp.CPU{User: 90, System: 110, Idle: 1100},
			noBase: true,
		},
		{
			name:   "backwards by more than half the Counter32 range is a reboot",
			prev:   linux(3_000_000_000, 1_000_000, 3_500_000_000, 0, 0, 0),
			cur:    linux(2_000, 1_000, 40_000, 0, 0, 0),
			noBase: true,
		},
		{
			name:   "one Counter32 sample and one Counter64 sample: no wrap",
			prev:   snmp.CPU{User: max32 - 9, System: 100, Idle: 1000, Counter32: true},
			cur:    snmp.CPU{User: 10, System: 110, Idle: 1100},
			noBase: true,
		},
		{
			name:   "zero delta",
			prev:   linux(100, 100, 1000, 10, 1, 1),
			cur:    linux(100, 100, 1000, 10, 1, 1),
			noBase: true,
		},
		{
			name:   "zero previous sample",
			prev:   snmp.CPU{},
			cur:    linux(100, 100, 1000, 10, 1, 1),
			noBase: true,
		},
		{
			name:   "net-snmp start-up sample of zeros",
			prev:   linux(0, 0, 0, 0, 0, 0),
			cur:    linux(100, 100, 1000, 10, 1, 1),
			noBase: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := snmp.CPUPercent(tt.prev, tt.cur)
			if tt.noBase {
				require.ErrorIs(t, err, monitor.ErrNoBaseline)
				assert.Zero(t, got)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tt.want, got, 1e-9)
			assert.GreaterOrEqual(t, got, 0.0)
			assert.LessOrEqual(t, got, 100.0)
		})
	}
}

func TestMemoryBytes(t *testing.T) {
	tests := []struct {
		name        string
		m           snmp.Memory
		total, used uint64
	}{
		{
			name:  "seed 002 host, all four OIDs",
			m:     snmp.Memory{TotalKB: 3524852, AvailKB: 1024000, BufferKB: 1000, CachedKB: 500000, HasBuffer: true, HasCached: true},
			total: 3524852 * 1024,
			used:  (3524852 - 1024000 - 1000 - 500000) * 1024,
		},
		{
			name:  "no memBuffer or memCached",
			m:     snmp.Memory{TotalKB: 1000, AvailKB: 400, BufferKB: 0, CachedKB: 0},
			total: 1000 * 1024,
			used:  600 * 1024,
		},
		{
			name:  "absent values are not subtracted even if set",
			m:     snmp.Memory{TotalKB: 1000, AvailKB: 400, BufferKB: 100, CachedKB: 100, HasBuffer: true},
			total: 1000 * 1024,
			used:  500 * 1024,
		},
		{
			name:  "free exceeds total: clamped at 0",
			m:     snmp.Memory{TotalKB: 1000, AvailKB: 900, CachedKB: 200, HasCached: true},
			total: 1000 * 1024,
			used:  0,
		},
		{
			name: "zero",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.total, tt.m.TotalBytes())
			assert.Equal(t, tt.used, tt.m.UsedBytes())
		})
	}
}
