package container

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestUnixNanoString(t *testing.T) {
	cases := []struct {
		t    time.Time
		want string
	}{
		{time.Unix(0, 0), "0.000000000"},
		{time.Unix(1735732801, 500000123), "1735732801.500000123"},
		{time.Unix(1735732801, 5), "1735732801.000000005"},
		{time.Unix(1735732801, 999999999), "1735732801.999999999"},
		{time.Unix(1735732801, 0).In(time.FixedZone("JST", 9*3600)), "1735732801.000000000"},
		{time.Unix(-1, 500), "-1.000000500"}, // before 1970: whole seconds round down, the fraction stays positive
		{time.Unix(-2, 0), "-2.000000000"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, unixNanoString(tc.t), "%v", tc.t)
	}
}

func TestParseTime(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
	}{
		{"2025-01-01T12:00:00.123456789Z", time.Date(2025, 1, 1, 12, 0, 0, 123456789, time.UTC)},
		{"2025-01-01T12:00:00Z", time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)},
		{"2025-01-01T21:00:00+09:00", time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)},
		{"0001-01-01T00:00:00Z", time.Time{}}, // the engine's "never"
		{"", time.Time{}},
		{"yesterday", time.Time{}},
		{"2025-01-01 12:00:00", time.Time{}},
	}
	for _, tc := range cases {
		got := parseTime(tc.in)
		assert.True(t, tc.want.Equal(got), "%q: got %v, want %v", tc.in, got, tc.want)
	}
}

func TestGraceSeconds(t *testing.T) {
	d := func(d time.Duration) *time.Duration { return &d }
	cases := []struct {
		grace *time.Duration
		t     *int
		extra time.Duration
	}{
		{nil, nil, 10 * time.Second},
		{d(0), ptr(0), 0},
		{d(2500 * time.Millisecond), ptr(3), 3 * time.Second},
		{d(-time.Second), ptr(0), 0},
		{d(time.Minute), ptr(60), time.Minute},
	}
	for _, tc := range cases {
		got, extra := StopOptions{Grace: tc.grace}.graceSeconds()
		assert.Equal(t, tc.t, got)
		assert.Equal(t, tc.extra, extra)
	}
}

func ptr(i int) *int { return &i }

func TestShortIDAndTrimSlash(t *testing.T) {
	assert.Equal(t, "e650e9015225", shortID("e650e9015225f7f0974a07a27296c212b9d39e2033de5b78fdf551fec4b68da1"))
	assert.Equal(t, "web-1", shortID("web-1"))
	assert.Equal(t, "web-1", trimSlash("/web-1"))
	assert.Equal(t, "web-1", trimSlash("web-1"))
	assert.Empty(t, trimSlash(""))
}
