package schedule_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minato-ops/minato/job/schedule"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var _ schedule.Schedule = (*schedule.Cron)(nil)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func mustCron(t testing.TB, spec string, loc *time.Location) *schedule.Cron {
	t.Helper()
	c, err := schedule.ParseCron(spec, loc)
	require.NoError(t, err, spec)
	return c
}

// utc parses "2006-01-02 15:04:05" in UTC.
func utc(t testing.TB, s string) time.Time {
	t.Helper()
	x, err := time.Parse(time.DateTime, s)
	require.NoError(t, err)
	return x
}

// in parses "2006-01-02 15:04:05" as a wall time in loc (the test's inputs
// avoid DST gaps and overlaps).
func in(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	x, err := time.ParseInLocation(time.DateTime, s, loc)
	require.NoError(t, err)
	return x
}

// nexts returns the first n due times after from.
func nexts(s schedule.Schedule, from time.Time, n int) []time.Time {
	var out []time.Time
	for x := from; len(out) < n; {
		x = s.Next(x)
		if x.IsZero() {
			break
		}
		out = append(out, x)
	}
	return out
}

func fmtUTC(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, x := range ts {
		out[i] = x.UTC().Format(time.DateTime)
	}
	return out
}

func TestParseCronErrors(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"0 25 * * *", `cron "0 25 * * *": hour: 25 out of range 0-23`},
		{"60 * * * *", `cron "60 * * * *": minute: 60 out of range 0-59`},
		{"61 * * * * *", `cron "61 * * * * *": second: 61 out of range 0-59`},
		{"* * 0 * *", `cron "* * 0 * *": day-of-month: 0 out of range 1-31`},
		{"* * 32 * *", `cron "* * 32 * *": day-of-month: 32 out of range 1-31`},
		{"* * * 13 *", `cron "* * * 13 *": month: 13 out of range 1-12 or JAN-DEC`},
		{"* * * 0 *", `cron "* * * 0 *": month: 0 out of range 1-12 or JAN-DEC`},
		{"* * * FOO *", `cron "* * * FOO *": month: "FOO" is not a value (want 1-12 or JAN-DEC)`},
		{"* * * JANUARY *", `cron "* * * JANUARY *": month: "JANUARY" is not a value (want 1-12 or JAN-DEC)`},
		{"* * * * 8", `cron "* * * * 8": day-of-week: 8 out of range 0-7 (0 and 7 are Sunday) or SUN-SAT`},
		{"* * * * MON-FRX", `cron "* * * * MON-FRX": day-of-week: "FRX" is not a value (want 0-7 (0 and 7 are Sunday) or SUN-SAT)`},
		{"* JAN * * *", `cron "* JAN * * *": hour: "JAN" is not a value (want 0-23)`},
		{"1a * * * *", `cron "1a * * * *": minute: "1a" is not a value (want 0-59)`},
		{"+1 * * * *", `cron "+1 * * * *": minute: "+1" is not a value (want 0-59)`},
		{"99999999999 * * * *", `cron "99999999999 * * * *": minute: 99999999999 out of range 0-59`},
		{"*/0 * * * *", `cron "*/0 * * * *": minute: step "0" in "*/0" out of range 1-60`},
		{"*/61 * * * *", `cron "*/61 * * * *": minute: step "61" in "*/61" out of range 1-60`},
		{"* */25 * * *", `cron "* */25 * * *": hour: step "25" in "*/25" out of range 1-24`},
		{"*/x * * * *", `cron "*/x * * * *": minute: step "x" in "*/x" out of range 1-60`},
		{"1/ * * * *", `cron "1/ * * * *": minute: step "" in "1/" out of range 1-60`},
		{"5-3 * * * *", `cron "5-3 * * * *": minute: range 5-3 goes backwards (5 > 3)`},
		{"* * * * FRI-MON", `cron "* * * * FRI-MON": day-of-week: range FRI-MON goes backwards (5 > 1)`},
		{"-5 * * * *", `cron "-5 * * * *": minute: missing value (want 0-59)`},
		{"5- * * * *", `cron "5- * * * *": minute: missing value (want 0-59)`},
		{"1,,2 * * * *", `cron "1,,2 * * * *": minute: empty item in list "1,,2"`},
		{"1, * * * *", `cron "1, * * * *": minute: empty item in list "1,"`},
		{"? * * * *", `cron "? * * * *": minute: '?' is allowed only in day-of-month and day-of-week`},
		{"* * * ? *", `cron "* * * ? *": month: '?' is allowed only in day-of-month and day-of-week`},
		{"", `cron "": empty spec`},
		{"   ", `cron "   ": empty spec`},
		{"* * * *", `cron "* * * *": 4 fields, want 5 (minute hour day-of-month month day-of-week), 6 (second first) or a descriptor such as @daily`},
		{"0 0 0 * * * 2026", `cron "0 0 0 * * * 2026": 7 fields, want 5 (minute hour day-of-month month day-of-week), 6 (second first) or a descriptor such as @daily`},
		{"@fortnightly", `cron "@fortnightly": unknown descriptor @fortnightly (want @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>)`},
		{"@daily 5", `cron "@daily 5": @daily takes no arguments`},
		{"@every", `cron "@every": @every takes one duration, such as "@every 1h30m"`},
		{"@every 1h 2h", `cron "@every 1h 2h": @every takes one duration, such as "@every 1h30m"`},
		{"@every 500ms", `cron "@every 500ms": @every: 500ms is shorter than the minimum 1s`},
		{"@every -1h", `cron "@every -1h": @every: -1h0m0s is shorter than the minimum 1s`},
		{"@every soon", `cron "@every soon": @every: time: invalid duration "soon"`},
		{"TZ=Mars/Olympus 0 0 * * *", `cron "TZ=Mars/Olympus 0 0 * * *": time zone "Mars/Olympus": unknown time zone Mars/Olympus`},
		{"TZ= 0 0 * * *", `cron "TZ= 0 0 * * *": time zone: no name after TZ=`},
		{"CRON_TZ=Asia/Tokyo", `cron "CRON_TZ=Asia/Tokyo": no schedule after the time zone`},
		{"TZ=Asia/Tokyo 0 24 * * *", `cron "TZ=Asia/Tokyo 0 24 * * *": hour: 24 out of range 0-23`},
	} {
		c, err := schedule.ParseCron(tc.spec, time.UTC)
		if assert.Error(t, err, tc.spec) {
			assert.Equal(t, tc.want, err.Error())
			assert.Nil(t, c)
		}
	}
}

func TestParseCronStringAndAccessors(t *testing.T) {
	tokyo := zone(t, "Asia/Tokyo")
	for _, tc := range []struct {
		spec  string
		loc   *time.Location
		zone  string
		every time.Duration
	}{
		{"30 2 * * *", time.UTC, "UTC", 0},
		{"  30  2\t* * *  ", tokyo, "Asia/Tokyo", 0},
		{"TZ=America/New_York 30 2 * * *", tokyo, "America/New_York", 0},
		{"CRON_TZ=Europe/London 0 0 0 29 2 *", time.UTC, "Europe/London", 0},
		{"TZ=Asia/Tokyo @daily", time.UTC, "Asia/Tokyo", 0},
		{"@every 1h30m", tokyo, "Asia/Tokyo", 90 * time.Minute},
		{"@EVERY 1.5s", time.UTC, "UTC", 1500 * time.Millisecond},
		{"0 0 * * *", nil, time.Local.String(), 0},
	} {
		c := mustCron(t, tc.spec, tc.loc)
		assert.Equal(t, tc.spec, c.String())
		assert.Equal(t, tc.zone, c.Location().String(), tc.spec)
		assert.Equal(t, tc.every, c.Every(), tc.spec)
		// Round trip: the String parses to the same schedule.
		again := mustCron(t, c.String(), tc.loc)
		from := utc(t, "2026-03-01 00:00:00")
		assert.Equal(t, nexts(c, from, 20), nexts(again, from, 20), tc.spec)
	}
	var nilCron *schedule.Cron
	assert.True(t, nilCron.Next(time.Now()).IsZero())
	assert.Equal(t, "", nilCron.String())
	assert.Zero(t, nilCron.Every())
}

// TestParseCronEquivalents checks that specs that should mean the same
// thing (names, ranges, steps, descriptors, 0 and 7 for Sunday, '?')
// give the same due times.
func TestParseCronEquivalents(t *testing.T) {
	from := utc(t, "2026-01-01 00:00:00")
	for _, tc := range []struct{ a, b string }{
		{"0 0 * jan-mar mon-fri", "0 0 * 1-3 1-5"},
		{"0 0 * Jan,Jul Sun", "0 0 * 1,7 0"},
		{"0 0 * * 7", "0 0 * * 0"},
		{"0 0 * * SUN", "0 0 * * 7"},
		{"0 0 * * 5-7", "0 0 * * 0,5,6"},
		{"0 0 ? * MON", "0 0 * * 1"},
		{"0 0 1 * ?", "0 0 1 * *"},
		{"*/15 * * * *", "0,15,30,45 * * * *"},
		{"1/20 * * * *", "1,21,41 * * * *"},
		{"10-40/15 * * * *", "10,25,40 * * * *"},
		{"0 0 * * */2", "0 0 * * 0,2,4,6"},
		{"0 0 * * 1/2", "0 0 * * 1,3,5"},
		{"0 0 * 2/5 *", "0 0 * 2,7,12 *"},
		{"0 0 */10 * *", "0 0 1,11,21,31 * *"},
		{"*/60 * * * *", "0 * * * *"},
		{"0 * * * * *", "* * * * *"},
		{"@yearly", "0 0 1 1 *"},
		{"@annually", "0 0 1 1 *"},
		{"@monthly", "0 0 1 * *"},
		{"@weekly", "0 0 * * 0"},
		{"@daily", "0 0 * * *"},
		{"@midnight", "0 0 * * *"},
		{"@hourly", "0 * * * *"},
		{"@Daily", "0 0 * * *"},
	} {
		a, b := mustCron(t, tc.a, time.UTC), mustCron(t, tc.b, time.UTC)
		assert.Equal(t, fmtUTC(nexts(b, from, 30)), fmtUTC(nexts(a, from, 30)), "%s vs %s", tc.a, tc.b)
	}
}

func TestCronNext(t *testing.T) {
	for _, tc := range []struct {
		spec, from string
		want       []string // UTC
	}{
		{"0 2 * * *", "2026-01-01 00:00:00", []string{"2026-01-01 02:00:00", "2026-01-02 02:00:00"}},
		{"0 2 * * *", "2026-01-01 02:00:00", []string{"2026-01-02 02:00:00"}}, // strictly after
		{"0 2 * * *", "2026-01-01 01:59:59", []string{"2026-01-01 02:00:00"}},
		// Leap days.
		{"0 0 29 2 *", "2026-03-01 00:00:00", []string{"2028-02-29 00:00:00", "2032-02-29 00:00:00"}},
		{"0 0 29 2 *", "2024-02-28 12:00:00", []string{"2024-02-29 00:00:00", "2028-02-29 00:00:00"}},
		{"0 0 29 2 *", "2096-03-01 00:00:00", nil}, // 2100 is no leap year: 2104 is beyond 5 years
		{"0 0 30 2 *", "2026-01-01 00:00:00", nil},
		{"0 0 31 4 *", "2026-01-01 00:00:00", nil},
		// Last days of months.
		{"0 0 31 * *", "2026-01-31 00:00:00", []string{"2026-03-31 00:00:00", "2026-05-31 00:00:00", "2026-07-31 00:00:00", "2026-08-31 00:00:00"}},
		{"0 12 28-31 2 *", "2026-02-27 00:00:00", []string{"2026-02-28 12:00:00", "2027-02-28 12:00:00"}},
		{"0 12 28-31 2 *", "2028-02-28 12:00:00", []string{"2028-02-29 12:00:00", "2029-02-28 12:00:00"}},
		{"0 0 30 * *", "2026-01-30 00:00:00", []string{"2026-03-30 00:00:00"}},
		// Year rollover.
		{"59 23 31 12 *", "2026-12-31 23:59:00", []string{"2027-12-31 23:59:00"}},
		{"0 0 1 1 *", "2026-06-01 00:00:00", []string{"2027-01-01 00:00:00", "2028-01-01 00:00:00"}},
		{"* * * * *", "2026-12-31 23:59:30", []string{"2027-01-01 00:00:00", "2027-01-01 00:01:00"}},
		{"*/20 * * * * *", "2026-12-31 23:59:45", []string{"2027-01-01 00:00:00", "2027-01-01 00:00:20"}},
		// 6 fields: seconds first.
		{"*/15 * * * * *", "2026-05-01 10:00:07", []string{"2026-05-01 10:00:15", "2026-05-01 10:00:30", "2026-05-01 10:00:45", "2026-05-01 10:01:00"}},
		{"30 0 9 * * *", "2026-05-01 09:00:30", []string{"2026-05-02 09:00:30"}},
		{"5,10 30 9 * * *", "2026-05-01 09:30:05", []string{"2026-05-01 09:30:10", "2026-05-02 09:30:05"}},
		// Vixie rule: both restricted, either matches. 2026-02-13 is a Friday.
		{"0 0 13 * FRI", "2026-02-01 00:00:00", []string{"2026-02-06 00:00:00", "2026-02-13 00:00:00", "2026-02-20 00:00:00", "2026-02-27 00:00:00", "2026-03-06 00:00:00", "2026-03-13 00:00:00"}},
		{"0 0 1-7 * 1", "2026-02-06 00:00:00", []string{"2026-02-07 00:00:00", "2026-02-09 00:00:00", "2026-02-16 00:00:00"}},
		// One of them starts with '*' or '?': both must match.
		{"0 0 */2 * MON", "2026-02-01 00:00:00", []string{"2026-02-09 00:00:00", "2026-02-23 00:00:00", "2026-03-09 00:00:00"}},
		{"0 0 13 * ?", "2026-02-01 00:00:00", []string{"2026-02-13 00:00:00", "2026-03-13 00:00:00"}},
		{"0 0 ? * FRI", "2026-02-01 00:00:00", []string{"2026-02-06 00:00:00", "2026-02-13 00:00:00"}},
		{"0 0 13 * */1", "2026-02-01 00:00:00", []string{"2026-02-13 00:00:00", "2026-03-13 00:00:00"}},
		// Friday the 13th, the AND way: the weekday restricted by a step.
		{"0 0 13 * 5/7", "2026-01-01 00:00:00", []string{"2026-01-02 00:00:00", "2026-01-09 00:00:00", "2026-01-13 00:00:00"}},
		{"@weekly", "2026-02-01 00:00:00", []string{"2026-02-08 00:00:00"}},
		{"@monthly", "2026-02-01 00:00:00", []string{"2026-03-01 00:00:00"}},
		{"@hourly", "2026-02-01 00:59:59", []string{"2026-02-01 01:00:00"}},
		// Far and early dates.
		{"0 0 1 1 *", "9999-06-01 00:00:00", []string{"10000-01-01 00:00:00"}},
		{"0 0 29 2 *", "1896-03-01 00:00:00", nil}, // 1900 is no leap year: 8 years
		{"0 0 29 2 *", "1899-03-01 00:00:00", []string{"1904-02-29 00:00:00"}},
		{"0 0 * * 4", "1970-01-01 00:00:00", []string{"1970-01-08 00:00:00"}},
		{"0 0 * * 3", "1969-12-30 00:00:00", []string{"1969-12-31 00:00:00"}},
	} {
		c := mustCron(t, tc.spec, time.UTC)
		from := utc(t, tc.from)
		got := nexts(c, from, len(tc.want)+1)
		want := tc.want
		if len(got) > len(want) {
			got = got[:len(want)]
		}
		g := make([]string, len(got))
		for i, x := range got {
			g[i] = x.UTC().Format("2006-01-02 15:04:05")
			assert.Equal(t, time.UTC, x.Location())
		}
		if want == nil {
			want = []string{}
		}
		assert.Equal(t, want, g, "%s from %s", tc.spec, tc.from)
	}
}

func TestCronNextSubSecondAndZone(t *testing.T) {
	tokyo := zone(t, "Asia/Tokyo")
	c := mustCron(t, "0 9 * * *", tokyo)
	from := time.Date(2026, 5, 1, 8, 59, 59, 999_999_999, tokyo)
	got := c.Next(from)
	assert.Equal(t, time.Date(2026, 5, 1, 9, 0, 0, 0, tokyo), got)
	assert.Equal(t, tokyo, got.Location())
	// t's own zone does not matter.
	assert.Equal(t, got.Unix(), c.Next(from.UTC()).Unix())
	assert.Equal(t, time.Date(2026, 5, 2, 9, 0, 0, 0, tokyo), c.Next(got))
	// Just after a due time, not the due time again.
	assert.Equal(t, time.Date(2026, 5, 2, 9, 0, 0, 0, tokyo), c.Next(got.Add(time.Nanosecond)))

	s := mustCron(t, "* * * * * *", time.UTC)
	at := time.Date(2026, 5, 1, 10, 0, 0, 500, time.UTC)
	assert.Equal(t, time.Date(2026, 5, 1, 10, 0, 1, 0, time.UTC), s.Next(at))

	// TZ= beats loc.
	ny := mustCron(t, "TZ=America/New_York 0 9 * * *", tokyo)
	assert.Equal(t, "2026-05-01 13:00:00", ny.Next(utc(t, "2026-05-01 00:00:00")).UTC().Format(time.DateTime))
}

func TestCronEvery(t *testing.T) {
	tokyo := zone(t, "Asia/Tokyo")
	c := mustCron(t, "@every 7s", tokyo)
	for _, tc := range []struct{ from, want int64 }{
		{0, 7}, {1, 7}, {6, 7}, {7, 14}, {100, 105}, {105, 112}, {-1, 0}, {-7, 0}, {-8, -7},
	} {
		got := c.Next(time.Unix(tc.from, 0))
		assert.Equal(t, time.Unix(tc.want, 0).In(tokyo), got, "from %d", tc.from)
		assert.Equal(t, tokyo, got.Location())
	}
	// Sub-second instants.
	assert.Equal(t, time.Unix(7, 0), c.Next(time.Unix(6, 999_999_999)).UTC().Local())
	assert.Equal(t, time.Unix(14, 0).Unix(), c.Next(time.Unix(7, 1)).Unix())

	// Aligned to the epoch, not to the moment of parsing or to t: a
	// restarted agent computes the same due times.
	h := mustCron(t, "@every 1h30m", time.UTC)
	assert.Equal(t, "2026-01-01 01:30:00", h.Next(utc(t, "2026-01-01 00:10:00")).Format(time.DateTime))
	assert.Equal(t, "2026-01-01 03:00:00", h.Next(utc(t, "2026-01-01 01:30:00")).Format(time.DateTime))
	// Not aligned to midnight: 2026-01-02 00:00 is not a multiple of 7h.
	s := mustCron(t, "@every 7h", time.UTC)
	d := s.Next(utc(t, "2026-01-02 00:00:00"))
	assert.Zero(t, d.Unix()%(7*3600))
	assert.Equal(t, "2026-01-02 04:00:00", d.Format(time.DateTime)) // 1767326400 = 70132 * 25200
	// Fractions of a second.
	f := mustCron(t, "@every 1.5s", time.UTC)
	assert.Equal(t, time.Unix(3, 0).UTC(), f.Next(time.Unix(1, 600_000_000)).UTC())
	assert.Equal(t, time.Unix(4, 500_000_000).UTC(), f.Next(time.Unix(3, 0)).UTC())

	// DST does not matter: every 1h is every real hour.
	ny := mustCron(t, "@every 1h", zone(t, "America/New_York"))
	assert.Equal(t, []string{"2026-11-01 05:00:00", "2026-11-01 06:00:00", "2026-11-01 07:00:00"},
		fmtUTC(nexts(ny, utc(t, "2026-11-01 04:30:00"), 3)))

	// Far from the epoch (beyond int64 nanoseconds): still multiples of d.
	for _, from := range []time.Time{
		time.Date(3000, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(1000, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(123456, 7, 8, 9, 10, 11, 12, time.UTC),
	} {
		for _, spec := range []string{"@every 7s", "@every 1.5s", "@every 1234567ms", "@every 2540400h"} {
			e := mustCron(t, spec, time.UTC)
			got := e.Next(from)
			require.True(t, got.After(from), "%s from %s", spec, from)
			assert.LessOrEqual(t, got.Sub(from), e.Every())
			ns := new(big.Int).Mul(big.NewInt(got.Unix()), big.NewInt(1e9))
			ns.Add(ns, big.NewInt(int64(got.Nanosecond())))
			assert.Zero(t, new(big.Int).Mod(ns, big.NewInt(int64(e.Every()))).Sign(), "%s from %s: %s", spec, from, got)
		}
	}
}

// The DST cases. America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT
// (07:00Z), 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z). Europe/London:
// 2026-03-29 01:00 GMT -> 02:00 BST (01:00Z), 2026-10-25 02:00 BST ->
// 01:00 GMT (01:00Z).
func TestCronNextDST(t *testing.T) {
	ny := zone(t, "America/New_York")
	london := zone(t, "Europe/London")
	for _, tc := range []struct {
		name string
		loc  *time.Location
		spec string
		from string // UTC
		want []string
	}{
		// Spring forward, New York: 02:30 does not exist; it is due at
		// 03:30 EDT (07:30Z), once.
		{"ny spring 02:30", ny, "30 2 * * *", "2026-03-06 12:00:00", []string{"2026-03-07 07:30:00", "2026-03-08 07:30:00", "2026-03-09 06:30:00"}},
		// 02:00 moves to 03:00 EDT, which is also 03:00's due time: one.
		{"ny spring hourly", ny, "0 * * * *", "2026-03-08 05:30:00", []string{"2026-03-08 06:00:00", "2026-03-08 07:00:00", "2026-03-08 08:00:00"}},
		{"ny spring hourly :30", ny, "30 * * * *", "2026-03-08 05:45:00", []string{"2026-03-08 06:30:00", "2026-03-08 07:30:00", "2026-03-08 08:30:00"}},
		{"ny spring 01:30", ny, "30 1 * * *", "2026-03-07 12:00:00", []string{"2026-03-08 06:30:00", "2026-03-09 05:30:00"}},
		// Wall times before and after the gap whose instants interleave.
		{"ny spring 2 and 3", ny, "0,30 2,3 * * *", "2026-03-08 05:00:00", []string{"2026-03-08 07:00:00", "2026-03-08 07:30:00", "2026-03-09 06:00:00"}},
		// t after the gap ended but before 02:30's instant: still due.
		{"ny spring from 03:00 EDT", ny, "30 2 * * *", "2026-03-08 07:00:00", []string{"2026-03-08 07:30:00", "2026-03-09 06:30:00"}},
		{"ny spring from 03:15 EDT", ny, "0,30 2,3 * * *", "2026-03-08 07:15:00", []string{"2026-03-08 07:30:00", "2026-03-09 06:00:00"}},
		{"ny spring from 03:30 EDT", ny, "30 2 * * *", "2026-03-08 07:30:00", []string{"2026-03-09 06:30:00"}},
		// Fall back, New York: 01:30 occurs twice; due at the first (EDT).
		{"ny fall 01:30", ny, "30 1 * * *", "2026-10-31 12:00:00", []string{"2026-11-01 05:30:00", "2026-11-02 06:30:00"}},
		{"ny fall 02:30", ny, "30 2 * * *", "2026-10-31 12:00:00", []string{"2026-11-01 07:30:00", "2026-11-02 07:30:00"}},
		// Hourly: 01:00 EDT then 02:00 EST, two real hours apart.
		{"ny fall hourly", ny, "0 * * * *", "2026-11-01 03:30:00", []string{"2026-11-01 04:00:00", "2026-11-01 05:00:00", "2026-11-01 07:00:00", "2026-11-01 08:00:00"}},
		// t in the second 01:xx (EST): the next is 02:00 EST.
		{"ny fall from 01:30 EST", ny, "*/15 * * * *", "2026-11-01 06:30:00", []string{"2026-11-01 07:00:00", "2026-11-01 07:15:00"}},
		{"ny fall from 01:30 EDT", ny, "*/15 * * * *", "2026-11-01 05:30:00", []string{"2026-11-01 05:45:00", "2026-11-01 07:00:00"}},
		// Spring forward, London: 01:30 does not exist; due at 02:30 BST (01:30Z).
		{"london spring 01:30", london, "30 1 * * *", "2026-03-28 12:00:00", []string{"2026-03-29 01:30:00", "2026-03-30 00:30:00"}},
		{"london spring hourly", london, "0 * * * *", "2026-03-28 23:30:00", []string{"2026-03-29 00:00:00", "2026-03-29 01:00:00", "2026-03-29 02:00:00"}},
		{"london spring 02:30", london, "30 2 * * *", "2026-03-28 12:00:00", []string{"2026-03-29 01:30:00", "2026-03-30 01:30:00"}},
		// Fall back, London: 01:30 occurs twice; due at the first (BST,
		// 00:30Z). (Go's time.Date gives the second one here.)
		{"london fall 01:30", london, "30 1 * * *", "2026-10-24 12:00:00", []string{"2026-10-25 00:30:00", "2026-10-26 01:30:00"}},
		{"london fall hourly", london, "0 * * * *", "2026-10-24 22:30:00", []string{"2026-10-24 23:00:00", "2026-10-25 00:00:00", "2026-10-25 02:00:00", "2026-10-25 03:00:00"}},
		{"london fall 02:30", london, "30 2 * * *", "2026-10-24 12:00:00", []string{"2026-10-25 02:30:00", "2026-10-26 02:30:00"}},
		{"london fall from 01:10 GMT", london, "*/15 * * * *", "2026-10-25 01:10:00", []string{"2026-10-25 02:00:00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCron(t, tc.spec, tc.loc)
			assert.Equal(t, tc.want, fmtUTC(nexts(c, utc(t, tc.from), len(tc.want))))
		})
	}
}

// TestCronNextMatchesBruteForce compares Next with a minute-by-minute walk
// over days around DST changes, for hand-picked and random specs.
func TestCronNextMatchesBruteForce(t *testing.T) {
	windows := []struct {
		zone string
		from string // UTC, the walk covers 3 days
	}{
		{"America/New_York", "2026-03-07 00:00:00"},
		{"America/New_York", "2026-10-31 00:00:00"},
		{"Europe/London", "2026-03-28 00:00:00"},
		{"Europe/London", "2026-10-24 00:00:00"},
		{"Australia/Lord_Howe", "2026-04-04 00:00:00"}, // 02:00 -> 01:30 on 2026-04-05
		{"Australia/Lord_Howe", "2026-10-03 00:00:00"}, // 02:00 -> 02:30 on 2026-10-04
		{"UTC", "2026-02-27 00:00:00"},
	}
	specs := []string{"* * * * *", "*/7 * * * *", "30 1 * * *", "30 2 * * *", "0 * * * *", "0,30 2,3 * * *", "15,45 1-3 * * *", "59 * * * *", "0 0 * * *", "*/20 1,2 * * SUN"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 40 {
		specs = append(specs, fmt.Sprintf("%s %s * * *", randList(rng, 60), randList(rng, 24)))
	}
	for _, w := range windows {
		loc := zone(t, w.zone)
		from := utc(t, w.from)
		to := from.Add(72 * time.Hour)
		var minutes []bruteMinute
		for x := from; x.Before(to); x = x.Add(time.Minute) {
			minutes = append(minutes, bruteAt(loc, x))
		}
		for _, spec := range specs {
			c := mustCron(t, spec, loc)
			fields := strings.Fields(spec)
			sundayOnly := fields[4] == "SUN"
			mins, hours := parseListForTest(t, fields[0], 60), parseListForTest(t, fields[1], 24)
			match := func(x time.Time) bool { // x's wall clock, read in UTC
				return mins[x.Minute()] && hours[x.Hour()] && (!sundayOnly || x.Weekday() == time.Sunday)
			}
			var want []string
			for _, m := range minutes {
				if (!m.second && match(m.wall)) || (m.gap && match(m.gapWall)) {
					want = append(want, m.at.Format(time.DateTime))
				}
			}
			var got []string
			for x := c.Next(from.Add(-time.Second)); !x.IsZero() && x.Before(to); x = c.Next(x) {
				got = append(got, x.UTC().Format(time.DateTime))
			}
			assert.Equal(t, want, got, "%s in %s", spec, w.zone)
		}
	}
}

// bruteMinute is what decides whether an instant x (a whole minute) is
// due, by the rules of Cron but without Cron's code: x is due when its own
// wall time matches and this is the wall time's first occurrence, or when
// x is less than a gap's length after a gap and the wall time of the gap
// read in the offset before it matches.
type bruteMinute struct {
	at      time.Time // UTC
	wall    time.Time // x's wall clock, as a UTC time
	second  bool      // the wall time occurred in the 3 hours before x
	gap     bool      // the clocks jumped forward less than the jump's length before x
	gapWall time.Time // then, the wall time x has in the offset before the jump
}

func bruteAt(loc *time.Location, x time.Time) bruteMinute {
	wall := func(y time.Time) time.Time {
		l := y.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
	}
	m := bruteMinute{at: x.UTC(), wall: wall(x)}
	for k := 1; k <= 180; k++ {
		if wall(x.Add(-time.Duration(k) * time.Minute)).Equal(m.wall) {
			m.second = true
		}
	}
	_, off := x.In(loc).Zone()
	for g := 1; g <= 180; g++ {
		if _, before := x.Add(-time.Duration(g) * time.Minute).In(loc).Zone(); off-before == g*60 {
			m.gap, m.gapWall = true, x.Add(time.Duration(before)*time.Second).UTC()
		}
	}
	return m
}

func randList(rng *rand.Rand, n int) string {
	switch rng.IntN(4) {
	case 0:
		return "*"
	case 1:
		return fmt.Sprintf("*/%d", 1+rng.IntN(n/2))
	case 2:
		a := rng.IntN(n)
		return fmt.Sprintf("%d-%d", a, a+rng.IntN(n-a))
	default:
		var parts []string
		for range 1 + rng.IntN(4) {
			parts = append(parts, fmt.Sprint(rng.IntN(n)))
		}
		return strings.Join(parts, ",")
	}
}

// parseListForTest reads the subset of field syntax randList writes.
func parseListForTest(t *testing.T, s string, n int) []bool {
	set := make([]bool, n)
	for part := range strings.SplitSeq(s, ",") {
		rng, step := part, 1
		if a, b, ok := strings.Cut(part, "/"); ok {
			rng = a
			_, err := fmt.Sscan(b, &step)
			require.NoError(t, err)
		}
		lo, hi := 0, n-1
		if rng != "*" {
			if a, b, ok := strings.Cut(rng, "-"); ok {
				_, err := fmt.Sscan(a+" "+b, &lo, &hi)
				require.NoError(t, err)
			} else {
				_, err := fmt.Sscan(rng, &lo)
				require.NoError(t, err)
				hi = lo
			}
		}
		for v := lo; v <= hi; v += step {
			set[v] = true
		}
	}
	return set
}

// TestCronSleepLoopAcrossDST runs a scheduler-like loop (sleep until Next,
// record the time) on a fake clock over a week with New York's spring
// forward.
func TestCronSleepLoopAcrossDST(t *testing.T) {
	ny := zone(t, "America/New_York")
	synctest.Test(t, func(t *testing.T) {
		c := mustCron(t, "30 2,14 * * *", ny)
		start := time.Date(2026, 3, 5, 0, 0, 0, 0, ny)
		time.Sleep(time.Until(start))
		end := start.AddDate(0, 0, 7)
		var fired []string
		for {
			next := c.Next(time.Now())
			if next.After(end) {
				break
			}
			time.Sleep(time.Until(next))
			fired = append(fired, time.Now().In(ny).Format("2006-01-02 15:04 MST"))
		}
		assert.Equal(t, []string{
			"2026-03-05 02:30 EST", "2026-03-05 14:30 EST",
			"2026-03-06 02:30 EST", "2026-03-06 14:30 EST",
			"2026-03-07 02:30 EST", "2026-03-07 14:30 EST",
			"2026-03-08 03:30 EDT", "2026-03-08 14:30 EDT", // 02:30 does not exist that day
			"2026-03-09 02:30 EDT", "2026-03-09 14:30 EDT",
			"2026-03-10 02:30 EDT", "2026-03-10 14:30 EDT",
			"2026-03-11 02:30 EDT", "2026-03-11 14:30 EDT",
		}, fired)
	})
}

// TestCronSleepLoopEvery runs the loop with an @every schedule: due times
// stay on the epoch grid whenever the loop starts (a restart computes the
// same times).
func TestCronSleepLoopEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustCron(t, "@every 25m", time.UTC)
		time.Sleep(time.Until(time.Date(2026, 11, 1, 0, 7, 13, 0, time.UTC)))
		var fired []string
		for range 4 {
			time.Sleep(time.Until(c.Next(time.Now())))
			fired = append(fired, time.Now().UTC().Format(time.TimeOnly))
		}
		// The grid: 2026-11-01 00:30Z is 1793493000 s = 1195662 * 1500 s.
		assert.Equal(t, []string{"00:30:00", "00:55:00", "01:20:00", "01:45:00"}, fired)
	})
}

func TestCronNextConcurrent(t *testing.T) {
	c := mustCron(t, "TZ=Europe/London */5 * * * *", nil)
	from := utc(t, "2026-10-24 23:00:00")
	want := nexts(c, from, 50)
	done := make(chan []time.Time)
	for range 8 {
		go func() { done <- nexts(c, from, 50) }()
	}
	for range 8 {
		assert.Equal(t, want, <-done)
	}
}

func BenchmarkCronNext(b *testing.B) {
	ny := zone(b, "America/New_York")
	for _, spec := range []string{"0 2 * * *", "*/5 * * * *", "* * * * * *", "0 0 29 2 *", "@every 1h"} {
		b.Run(spec, func(b *testing.B) {
			c := mustCron(b, spec, ny)
			from := time.Date(2026, 5, 1, 10, 17, 0, 0, ny)
			b.ReportAllocs()
			for b.Loop() {
				c.Next(from)
			}
		})
	}
	b.Run("0 2 * * * on calendar, shift next", func(b *testing.B) {
		s, err := schedule.OnCalendar(mustCron(b, "0 2 * * *", ny), &schedule.Calendar{Holidays: []schedule.Date{{Year: 2026, Month: 5, Day: 4}}}, schedule.ShiftNext)
		require.NoError(b, err)
		from := time.Date(2026, 5, 1, 10, 17, 0, 0, ny) // a Friday: next is Tuesday
		b.ReportAllocs()
		for b.Loop() {
			s.Next(from)
		}
	})
}
