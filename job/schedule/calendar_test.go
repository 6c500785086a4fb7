package schedule_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minato-ops/minato/job/schedule"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func date(t testing.TB, s string) schedule.Date {
	t.Helper()
	d, err := schedule.ParseDate(s)
	require.NoError(t, err)
	return d
}

func dates(t testing.TB, ss ...string) []schedule.Date {
	t.Helper()
	out := make([]schedule.Date, len(ss))
	for i, s := range ss {
		out[i] = date(t, s)
	}
	return out
}

func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want schedule.Date
		err  string
	}{
		{"2026-01-01", schedule.Date{Year: 2026, Month: time.January, Day: 1}, ""},
		{"2024-02-29", schedule.Date{Year: 2024, Month: time.February, Day: 29}, ""},
		{"0001-12-31", schedule.Date{Year: 1, Month: time.December, Day: 31}, ""},
		{"2026-02-29", schedule.Date{}, `date "2026-02-29": day 29 out of range 01-28 for February 2026`},
		{"2026-04-31", schedule.Date{}, `date "2026-04-31": day 31 out of range 01-30 for April 2026`},
		{"2026-04-00", schedule.Date{}, `date "2026-04-00": day 00 out of range 01-30 for April 2026`},
		{"2026-13-01", schedule.Date{}, `date "2026-13-01": month 13 out of range 01-12`},
		{"2026-00-01", schedule.Date{}, `date "2026-00-01": month 00 out of range 01-12`},
		{"2026-1-1", schedule.Date{}, `date "2026-1-1": want YYYY-MM-DD, such as 2026-01-01`},
		{"2026/01/01", schedule.Date{}, `date "2026/01/01": want YYYY-MM-DD, such as 2026-01-01`},
		{"2026-01-01T00:00:00Z", schedule.Date{}, `date "2026-01-01T00:00:00Z": want YYYY-MM-DD, such as 2026-01-01`},
		{" 2026-01-01", schedule.Date{}, `date " 2026-01-01": want YYYY-MM-DD, such as 2026-01-01`},
		{"2026-0a-01", schedule.Date{}, `date "2026-0a-01": want YYYY-MM-DD, such as 2026-01-01`},
		{"+026-01-01", schedule.Date{}, `date "+026-01-01": want YYYY-MM-DD, such as 2026-01-01`},
		{"", schedule.Date{}, `date "": want YYYY-MM-DD, such as 2026-01-01`},
	} {
		got, err := schedule.ParseDate(tc.in)
		if tc.err != "" {
			assert.EqualError(t, err, tc.err)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got)
		assert.Equal(t, tc.in, got.String())
	}
}

func TestDateMethods(t *testing.T) {
	d := date(t, "2026-01-30")
	assert.Equal(t, "2026-01-31", d.AddDays(1).String())
	assert.Equal(t, "2026-03-01", d.AddDays(30).String())
	assert.Equal(t, "2025-12-31", d.AddDays(-30).String())
	assert.Equal(t, "2027-01-30", d.AddDays(365).String())
	assert.Equal(t, "2024-03-01", date(t, "2024-02-28").AddDays(2).String())
	assert.Equal(t, "2026-03-02", schedule.Date{Year: 2026, Month: 2, Day: 30}.AddDays(0).String()) // normalised
	assert.Equal(t, "2027-01-01", schedule.Date{Year: 2026, Month: 13, Day: 1}.AddDays(0).String())
	assert.Equal(t, "2025-12-01", schedule.Date{Year: 2026, Month: 0, Day: 1}.AddDays(0).String())

	assert.Equal(t, time.Thursday, date(t, "2026-01-01").Weekday())
	assert.Equal(t, time.Sunday, date(t, "2026-03-08").Weekday())
	assert.Equal(t, time.Thursday, date(t, "1970-01-01").Weekday())
	assert.Equal(t, time.Wednesday, date(t, "1969-12-31").Weekday())
	assert.Equal(t, time.Monday, date(t, "0001-01-01").Weekday())
	for z := -800_000; z < 800_000; z += 997 { // against the time package
		tm := time.Date(1970, 1, 1+z, 12, 0, 0, 0, time.UTC)
		d := schedule.DateOf(tm)
		require.Equal(t, tm.Weekday(), d.Weekday(), d.String())
		require.Equal(t, schedule.DateOf(tm.AddDate(0, 0, 40)), d.AddDays(40), d.String())
	}

	assert.True(t, date(t, "2025-12-31").Before(date(t, "2026-01-01")))
	assert.True(t, date(t, "2026-01-31").Before(date(t, "2026-02-01")))
	assert.True(t, date(t, "2026-02-01").Before(date(t, "2026-02-02")))
	assert.False(t, date(t, "2026-02-02").Before(date(t, "2026-02-02")))
	assert.False(t, date(t, "2026-02-03").Before(date(t, "2026-02-02")))

	tokyo := zone(t, "Asia/Tokyo")
	at := time.Date(2026, 1, 1, 8, 0, 0, 0, tokyo) // 2025-12-31 23:00 UTC
	assert.Equal(t, "2026-01-01", schedule.DateOf(at).String())
	assert.Equal(t, "2025-12-31", schedule.DateOf(at.UTC()).String())
}

func TestDateText(t *testing.T) {
	type doc struct {
		Day  schedule.Date   `json:"day"`
		Days []schedule.Date `json:"days"`
	}
	in := doc{Day: date(t, "2026-01-01"), Days: dates(t, "2026-05-03", "2026-12-31")}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.JSONEq(t, `{"day":"2026-01-01","days":["2026-05-03","2026-12-31"]}`, string(b))
	var out doc
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)

	err = json.Unmarshal([]byte(`{"day":"2026-02-30"}`), &out)
	assert.ErrorContains(t, err, `date "2026-02-30": day 30 out of range 01-28 for February 2026`)
	_, err = json.Marshal(doc{Day: schedule.Date{Year: 2026, Month: 2, Day: 30}})
	assert.ErrorContains(t, err, "date 2026-02-30 is not a valid date")
	_, err = json.Marshal(doc{})
	assert.ErrorContains(t, err, "date 0000-00-00 is not a valid date")
}

func TestParseWeekday(t *testing.T) {
	for in, want := range map[string]schedule.Weekday{
		"mon": schedule.Monday, "Monday": schedule.Monday, "MON": schedule.Monday, "monday": schedule.Monday, "MONDAY": schedule.Monday,
		"sun": schedule.Sunday, "Sunday": schedule.Sunday, "sat": schedule.Saturday, "Thu": schedule.Thursday, "wednesday": schedule.Wednesday,
		"0": schedule.Sunday, "1": schedule.Monday, "6": schedule.Saturday, "7": schedule.Sunday,
	} {
		got, err := schedule.ParseWeekday(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "mo", "mond", "8", "-1", "01", "Montag", " mon"} {
		_, err := schedule.ParseWeekday(in)
		assert.EqualError(t, err, fmt.Sprintf("weekday %q: want a name (Monday or Mon, any case) or 0-7 (0 and 7 are Sunday)", in))
	}
}

func TestCalendarIsBusinessDay(t *testing.T) {
	jp := &schedule.Calendar{
		Name:     "jp",
		Holidays: dates(t, "2026-01-01", "2026-01-02", "2026-01-03", "2026-01-12"),
		Workdays: dates(t, "2026-01-10"), // a Saturday
	}
	require.NoError(t, jp.Validate())
	for s, want := range map[string]bool{
		"2025-12-31": true,  // Wednesday
		"2026-01-01": false, // Thursday, holiday
		"2026-01-02": false, // Friday, holiday
		"2026-01-03": false, // Saturday, also a holiday
		"2026-01-04": false, // Sunday
		"2026-01-05": true,  // Monday
		"2026-01-09": true,  // Friday
		"2026-01-10": true,  // Saturday made a workday
		"2026-01-11": false, // Sunday
		"2026-01-12": false, // Monday, holiday
		"2026-01-17": false, // Saturday
	} {
		assert.Equal(t, want, jp.IsBusinessDay(date(t, s)), s)
	}

	sixDays := &schedule.Calendar{Name: "shop", Weekdays: []schedule.Weekday{schedule.Tuesday, schedule.Wednesday, schedule.Thursday, schedule.Friday, schedule.Saturday, schedule.Sunday}}
	require.NoError(t, sixDays.Validate())
	assert.False(t, sixDays.IsBusinessDay(date(t, "2026-01-05"))) // Monday
	assert.True(t, sixDays.IsBusinessDay(date(t, "2026-01-04")))  // Sunday
	assert.True(t, sixDays.IsBusinessDay(date(t, "2026-01-10")))  // Saturday

	// On an invalid calendar, a day both holiday and workday is a holiday.
	both := &schedule.Calendar{Holidays: dates(t, "2026-01-10"), Workdays: dates(t, "2026-01-10")}
	assert.False(t, both.IsBusinessDay(date(t, "2026-01-10")))
	var nilCal *schedule.Calendar
	assert.False(t, nilCal.IsBusinessDay(date(t, "2026-01-05")))
}

func TestCalendarValidate(t *testing.T) {
	ok := &schedule.Calendar{Name: "ok", Holidays: dates(t, "2026-01-01", "2026-01-01"), Workdays: dates(t, "2026-01-10")}
	assert.NoError(t, ok.Validate(), "a holiday listed twice is not a problem")
	assert.NoError(t, (&schedule.Calendar{}).Validate())

	bad := &schedule.Calendar{
		Name:     "bad",
		Weekdays: []schedule.Weekday{schedule.Monday, schedule.Monday, 7, -1},
		Holidays: []schedule.Date{date(t, "2026-05-05"), {Year: 2026, Month: 2, Day: 30}, date(t, "2026-05-06")},
		Workdays: []schedule.Date{date(t, "2026-05-05"), {Year: 2026, Month: 13, Day: 1}, date(t, "2026-05-05"), date(t, "2026-05-06")},
	}
	err := bad.Validate()
	require.Error(t, err)
	assert.Equal(t, strings.Join([]string{
		`weekdays[1]: Monday listed twice`,
		`weekdays[2]: 7 out of range 0-6 (Sunday-Saturday)`,
		`weekdays[3]: -1 out of range 0-6 (Sunday-Saturday)`,
		`holidays[1]: 2026-02-30 is not a valid date`,
		`workdays[0]: 2026-05-05 is both a holiday and a workday`,
		`workdays[1]: 2026-13-01 is not a valid date`,
		`workdays[3]: 2026-05-06 is both a holiday and a workday`,
	}, "\n"), err.Error())
	var nilCal *schedule.Calendar
	assert.EqualError(t, nilCal.Validate(), "calendar: nil")
}

func TestCalendarJSON(t *testing.T) {
	in := schedule.Calendar{Name: "jp", Weekdays: []schedule.Weekday{schedule.Monday, schedule.Saturday}, Holidays: dates(t, "2026-01-01"), Workdays: dates(t, "2026-01-04")}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"jp","weekdays":["Monday","Saturday"],"holidays":["2026-01-01"],"workdays":["2026-01-04"]}`, string(b))
	var out schedule.Calendar
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)
	b, err = json.Marshal(schedule.Calendar{Name: "plain"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"plain"}`, string(b))
}

func TestWeekdayText(t *testing.T) {
	for w := schedule.Sunday; w <= schedule.Saturday; w++ {
		b, err := w.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, time.Weekday(w).String(), string(b))
		var back schedule.Weekday
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, w, back)
	}
	_, err := schedule.Weekday(7).MarshalText()
	assert.EqualError(t, err, "weekday 7 out of range 0-6 (Sunday-Saturday)")
	var cal schedule.Calendar
	require.NoError(t, json.Unmarshal([]byte(`{"weekdays": ["mon", "TUE", "wednesday", "4", "7"]}`), &cal))
	assert.Equal(t, []schedule.Weekday{schedule.Monday, schedule.Tuesday, schedule.Wednesday, schedule.Thursday, schedule.Sunday}, cal.Weekdays)
	err = json.Unmarshal([]byte(`{"weekdays": ["funday"]}`), &cal)
	assert.ErrorContains(t, err, `weekday "funday": want a name (Monday or Mon, any case) or 0-7 (0 and 7 are Sunday)`)
}

func onCalendar(t testing.TB, spec string, loc *time.Location, cal *schedule.Calendar, shift schedule.Shift) schedule.Schedule {
	t.Helper()
	s, err := schedule.OnCalendar(mustCron(t, spec, loc), cal, shift)
	require.NoError(t, err)
	return s
}

// fmtIn formats the times as wall times in loc.
func fmtIn(loc *time.Location, ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, x := range ts {
		out[i] = x.In(loc).Format("2006-01-02 Mon 15:04")
	}
	return out
}

func TestOnCalendar(t *testing.T) {
	tokyo := zone(t, "Asia/Tokyo")
	// 2026-05-01 is a Friday: with it a holiday, Friday to Sunday is a
	// long weekend.
	golden := &schedule.Calendar{Name: "golden", Holidays: dates(t, "2026-05-01")}
	everyDay := &schedule.Calendar{Name: "all", Weekdays: []schedule.Weekday{0, 1, 2, 3, 4, 5, 6}}
	for _, tc := range []struct {
		name  string
		spec  string
		cal   *schedule.Calendar
		shift schedule.Shift
		from  string // Tokyo wall time
		want  []string
	}{
		{"skip long weekend", "0 9 * * *", golden, schedule.ShiftSkip, "2026-04-30 10:00:00",
			[]string{"2026-05-04 Mon 09:00", "2026-05-05 Tue 09:00"}},
		{"empty shift is skip", "0 9 * * *", golden, "", "2026-04-30 10:00:00",
			[]string{"2026-05-04 Mon 09:00", "2026-05-05 Tue 09:00"}},
		// Friday's, Saturday's and Sunday's 09:00 all move to Monday 09:00: one.
		{"next long weekend", "0 9 * * *", golden, schedule.ShiftNext, "2026-04-30 10:00:00",
			[]string{"2026-05-04 Mon 09:00", "2026-05-05 Tue 09:00"}},
		// A schedule only on the weekend comes on Monday.
		{"next weekend only", "30 8 * * SAT,SUN", golden, schedule.ShiftNext, "2026-04-27 08:30:00",
			[]string{"2026-05-04 Mon 08:30", "2026-05-11 Mon 08:30", "2026-05-18 Mon 08:30"}},
		// The holiday Friday alone moves to Monday.
		{"next holiday weekday", "0 9 * * MON-FRI", golden, schedule.ShiftNext, "2026-04-30 10:00:00",
			[]string{"2026-05-04 Mon 09:00", "2026-05-05 Tue 09:00"}},
		{"skip weekday only", "0 9 * * FRI", golden, schedule.ShiftSkip, "2026-04-27 00:00:00",
			[]string{"2026-05-08 Fri 09:00", "2026-05-15 Fri 09:00"}},
		{"next weekday only", "0 9 * * FRI", golden, schedule.ShiftNext, "2026-04-27 00:00:00",
			[]string{"2026-05-04 Mon 09:00", "2026-05-08 Fri 09:00"}},
		{"previous weekday only", "0 9 * * FRI", golden, schedule.ShiftPrevious, "2026-04-27 00:00:00",
			[]string{"2026-04-30 Thu 09:00", "2026-05-08 Fri 09:00"}},
		// Thursday's own 09:00 and the long weekend's, moved back: one.
		{"previous long weekend", "0 9 * * *", golden, schedule.ShiftPrevious, "2026-04-30 08:00:00",
			[]string{"2026-04-30 Thu 09:00", "2026-05-04 Mon 09:00"}},
		// Several wall times a day: all are moved, in order.
		{"next several times", "0 9,17 * * SUN", golden, schedule.ShiftNext, "2026-05-02 00:00:00",
			[]string{"2026-05-04 Mon 09:00", "2026-05-04 Mon 17:00", "2026-05-11 Mon 09:00"}},
		// A shifted time that is after t even though its day is before t's.
		{"next from Monday morning", "0 9 * * SUN", golden, schedule.ShiftNext, "2026-05-04 08:00:00",
			[]string{"2026-05-04 Mon 09:00", "2026-05-11 Mon 09:00"}},
		// Across a month end. 2026-01-31 is a Saturday.
		{"skip month end", "0 9 31 * *", golden, schedule.ShiftSkip, "2026-01-01 00:00:00",
			[]string{"2026-03-31 Tue 09:00", "2026-07-31 Fri 09:00"}},
		{"previous month start", "0 9 1 * *", golden, schedule.ShiftPrevious, "2026-07-01 00:00:00",
			[]string{"2026-07-01 Wed 09:00", "2026-07-31 Fri 09:00", "2026-09-01 Tue 09:00", "2026-10-01 Thu 09:00", "2026-10-30 Fri 09:00"}},
		// A year end: 2026-12-31 is a Thursday, a holiday here.
		{"next year end", "0 9 31 12 *", &schedule.Calendar{Holidays: dates(t, "2026-12-31", "2027-01-01")}, schedule.ShiftNext, "2026-12-01 00:00:00",
			[]string{"2027-01-04 Mon 09:00", "2027-12-31 Fri 09:00"}},
		// Shift limit: 31 days is allowed, 32 is too far (dropped).
		{"next 31 days", "0 9 1 8 *", &schedule.Calendar{Name: "aug", Weekdays: everyDay.Weekdays, Holidays: holidayRange(t, "2026-08-01", 31)}, schedule.ShiftNext, "2026-07-01 00:00:00",
			[]string{"2026-09-01 Tue 09:00", "2027-08-01 Sun 09:00"}},
		{"next 32 days dropped", "0 9 1 8 *", &schedule.Calendar{Name: "aug", Weekdays: everyDay.Weekdays, Holidays: holidayRange(t, "2026-08-01", 32)}, schedule.ShiftNext, "2026-07-01 00:00:00",
			[]string{"2027-08-01 Sun 09:00"}},
		{"previous 31 days", "0 9 31 8 *", &schedule.Calendar{Name: "aug", Weekdays: everyDay.Weekdays, Holidays: holidayRange(t, "2026-08-01", 31)}, schedule.ShiftPrevious, "2026-07-01 00:00:00",
			[]string{"2026-07-31 Fri 09:00", "2027-08-31 Tue 09:00"}},
		{"previous 32 days dropped", "0 9 31 8 *", &schedule.Calendar{Name: "aug", Weekdays: everyDay.Weekdays, Holidays: holidayRange(t, "2026-07-31", 32)}, schedule.ShiftPrevious, "2026-07-01 00:00:00",
			[]string{"2027-08-31 Tue 09:00"}},
		// A Saturday made a workday is due like any business day.
		{"workday", "0 9 * * SAT", &schedule.Calendar{Workdays: dates(t, "2026-05-09")}, schedule.ShiftSkip, "2026-05-01 00:00:00",
			[]string{"2026-05-09 Sat 09:00"}},
		// Nothing on business days within 5 years.
		{"never", "0 9 * * SAT", &schedule.Calendar{}, schedule.ShiftSkip, "2026-05-01 00:00:00", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := onCalendar(t, "TZ=Asia/Tokyo "+tc.spec, nil, tc.cal, tc.shift)
			got := nexts(s, in(t, tokyo, tc.from), len(tc.want)+1)
			if len(got) > len(tc.want) {
				got = got[:len(tc.want)]
			}
			want := tc.want
			if want == nil {
				want = []string{}
			}
			assert.Equal(t, want, fmtIn(tokyo, got))
		})
	}
}

func TestOnCalendarNextMonthEnd(t *testing.T) {
	tokyo := zone(t, "Asia/Tokyo")
	// 2026-01-31 is a Saturday: next is Monday 2026-02-02, previous Friday 2026-01-30.
	next := onCalendar(t, "0 9 31 * *", tokyo, &schedule.Calendar{}, schedule.ShiftNext)
	assert.Equal(t, []string{"2026-02-02 Mon 09:00", "2026-03-31 Tue 09:00", "2026-06-01 Mon 09:00"},
		fmtIn(tokyo, nexts(next, in(t, tokyo, "2026-01-01 00:00:00"), 3))) // 2026-05-31 is a Sunday
	prev := onCalendar(t, "0 9 31 * *", tokyo, &schedule.Calendar{}, schedule.ShiftPrevious)
	assert.Equal(t, []string{"2026-01-30 Fri 09:00", "2026-03-31 Tue 09:00", "2026-05-29 Fri 09:00"},
		fmtIn(tokyo, nexts(prev, in(t, tokyo, "2026-01-01 00:00:00"), 3)))
}

func holidayRange(t testing.TB, from string, n int) []schedule.Date {
	d := date(t, from)
	out := make([]schedule.Date, n)
	for i := range out {
		out[i] = d.AddDays(i)
	}
	return out
}

func TestOnCalendarDST(t *testing.T) {
	ny := zone(t, "America/New_York")
	// 2026-03-08 (spring forward) is a Sunday: its 02:30, which does not
	// exist, moves to Monday 02:30 with the shift; Saturday's merges with it.
	s := onCalendar(t, "30 2 * * SAT,SUN", ny, &schedule.Calendar{}, schedule.ShiftNext)
	assert.Equal(t, []string{"2026-03-09 06:30:00", "2026-03-16 06:30:00"}, fmtUTC(nexts(s, utc(t, "2026-03-06 00:00:00"), 2)))
	// On a calendar where Sunday is a business day, the gap rule applies.
	sun := onCalendar(t, "30 2 * * SAT,SUN", ny, &schedule.Calendar{Weekdays: []schedule.Weekday{schedule.Sunday}}, schedule.ShiftSkip)
	assert.Equal(t, []string{"2026-03-08 07:30:00", "2026-03-15 06:30:00"}, fmtUTC(nexts(sun, utc(t, "2026-03-06 00:00:00"), 2)))
	// Fall back on a Sunday shifted to Saturday: Saturday has no overlap.
	prev := onCalendar(t, "30 1 * * SUN", ny, &schedule.Calendar{Weekdays: []schedule.Weekday{schedule.Saturday}}, schedule.ShiftPrevious)
	assert.Equal(t, []string{"2026-10-31 05:30:00", "2026-11-07 06:30:00"}, fmtUTC(nexts(prev, utc(t, "2026-10-30 00:00:00"), 2)))
}

func TestOnCalendarEvery(t *testing.T) {
	tokyo := zone(t, "Asia/Tokyo")
	cal := &schedule.Calendar{Name: "jp", Holidays: dates(t, "2026-05-01")}
	s, err := schedule.OnCalendar(mustCron(t, "@every 6h", tokyo), cal, schedule.ShiftSkip)
	require.NoError(t, err)
	// The @every grid is UTC-based: 03:00, 09:00, 15:00, 21:00 in Tokyo.
	assert.Equal(t, []string{"2026-04-30 Thu 15:00", "2026-04-30 Thu 21:00", "2026-05-04 Mon 03:00", "2026-05-04 Mon 09:00"},
		fmtIn(tokyo, nexts(s, in(t, tokyo, "2026-04-30 10:00:00"), 4)))
	// A short interval over a long weekend does not step through it.
	sec, err := schedule.OnCalendar(mustCron(t, "@every 1s", tokyo), cal, "")
	require.NoError(t, err)
	assert.Equal(t, "2026-05-04 Mon 00:00:00", sec.Next(in(t, tokyo, "2026-04-30 23:59:59")).Format("2006-01-02 Mon 15:04:05"))
	assert.Equal(t, "2026-04-30 Thu 23:59:59", sec.Next(in(t, tokyo, "2026-04-30 23:59:58")).Format("2006-01-02 Mon 15:04:05"))
}

func TestOnCalendarErrors(t *testing.T) {
	c := mustCron(t, "0 9 * * *", time.UTC)
	every := mustCron(t, "@every 1h", time.UTC)
	cal := &schedule.Calendar{Name: "jp"}
	for _, tc := range []struct {
		name  string
		s     *schedule.Cron
		cal   *schedule.Calendar
		shift schedule.Shift
		want  string
	}{
		{"nil schedule", nil, cal, schedule.ShiftSkip, "on calendar: nil schedule"},
		{"nil calendar", c, nil, schedule.ShiftSkip, `schedule "0 9 * * *" on calendar: nil calendar`},
		{"invalid calendar", c, &schedule.Calendar{Name: "x", Weekdays: []schedule.Weekday{9}}, schedule.ShiftSkip, `calendar "x": weekdays[0]: 9 out of range 0-6 (Sunday-Saturday)`},
		{"unknown shift", c, cal, "following", `schedule "0 9 * * *" on calendar "jp": unknown shift "following" (want skip, next or previous)`},
		{"every next", every, cal, schedule.ShiftNext, `schedule "@every 1h" on calendar "jp": shift next needs a field schedule: a shift moves a wall time, and @every has none`},
		{"every previous", every, cal, schedule.ShiftPrevious, `schedule "@every 1h" on calendar "jp": shift previous needs a field schedule: a shift moves a wall time, and @every has none`},
	} {
		s, err := schedule.OnCalendar(tc.s, tc.cal, tc.shift)
		assert.EqualError(t, err, tc.want, tc.name)
		assert.Nil(t, s, tc.name)
	}
}

func TestOnCalendarCopiesCalendar(t *testing.T) {
	cal := &schedule.Calendar{Name: "jp", Holidays: dates(t, "2026-05-04")}
	s := onCalendar(t, "0 9 * * *", time.UTC, cal, schedule.ShiftSkip)
	cal.Holidays[0] = date(t, "2026-05-05")
	cal.Weekdays = []schedule.Weekday{schedule.Saturday}
	assert.Equal(t, "2026-05-05 09:00:00", s.Next(utc(t, "2026-05-01 10:00:00")).Format(time.DateTime))
	assert.Equal(t, `0 9 * * * on calendar "jp" (shift skip)`, fmt.Sprint(s))
}

// TestOnCalendarSleepLoop runs a scheduler-like loop on a fake clock over
// two weeks with a long weekend and a shift to the next business day.
func TestOnCalendarSleepLoop(t *testing.T) {
	tokyo := zone(t, "Asia/Tokyo")
	synctest.Test(t, func(t *testing.T) {
		s := onCalendar(t, "0 9 * * *", tokyo, &schedule.Calendar{Name: "jp", Holidays: dates(t, "2026-05-01", "2026-05-06")}, schedule.ShiftNext)
		start := time.Date(2026, 4, 28, 0, 0, 0, 0, tokyo)
		time.Sleep(time.Until(start))
		end := start.AddDate(0, 0, 14)
		var fired []string
		for next := s.Next(time.Now()); next.Before(end); next = s.Next(time.Now()) {
			time.Sleep(time.Until(next))
			fired = append(fired, time.Now().In(tokyo).Format("01-02 Mon 15:04"))
		}
		assert.Equal(t, []string{
			"04-28 Tue 09:00", "04-29 Wed 09:00", "04-30 Thu 09:00",
			"05-04 Mon 09:00", "05-05 Tue 09:00", // 05-06 holiday moves to 05-07
			"05-07 Thu 09:00", "05-08 Fri 09:00",
			"05-11 Mon 09:00",
		}, fired)
	})
}
