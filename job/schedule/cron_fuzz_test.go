package schedule_test

import (
	"testing"
	"time"

	"github.com/minato-ops/minato/job/schedule"
)

func FuzzParseCron(f *testing.F) {
	// The zones specs are evaluated in: no DST, the usual one-hour changes
	// west and east of UTC, a 30-minute change, and a zone that skipped a
	// whole day (Pacific/Apia, 2011-12-30).
	fuzzZones := []string{"UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Apia", "Asia/Kolkata"}
	for _, spec := range []string{
		"0 2 * * *", "30 2 * * *", "*/15 * * * * *", "0 0 29 2 *", "0 0 13 * FRI", "0 0 ? * MON-FRI",
		"TZ=America/New_York 0 * * * *", "CRON_TZ=Europe/London 30 1 * * *", "@every 1h30m", "@every 1.5s",
		"@daily", "@weekly", "0 0 1-31/7 JAN-DEC/3 SUN-SAT", "59 59 23 31 12 7", "0 0 30 2 *", "1,,2 * * * *",
		"* * * * * * *", "@every 9223372036s", "*/61 * * * *", "0 0 * * 7",
	} {
		f.Add(spec, int64(1772900000), uint8(1)) // 2026-03-07
		f.Add(spec, int64(1793500000), uint8(2)) // 2026-10-31
	}
	f.Add("30 2 30 12 *", int64(1325000000), uint8(4)) // Apia, around the skipped day
	f.Add("0 0 * * *", int64(-62135596800), uint8(0))  // year 1
	f.Add("@every 7s", int64(1<<40), uint8(0))
	locs := make([]*time.Location, len(fuzzZones))
	for i, name := range fuzzZones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			f.Fatal(err)
		}
		locs[i] = loc
	}
	f.Fuzz(func(t *testing.T, spec string, sec int64, zi uint8) {
		loc := locs[int(zi)%len(locs)]
		c, err := schedule.ParseCron(spec, loc)
		if err != nil {
			if c != nil {
				t.Fatalf("%q: a Cron and an error", spec)
			}
			return
		}
		if c.String() != spec {
			t.Fatalf("String %q, want %q", c.String(), spec)
		}
		if _, err := schedule.ParseCron(c.String(), loc); err != nil {
			t.Fatalf("%q does not parse again: %v", spec, err)
		}
		// Keep t where years are ordinary numbers (±1.1 billion years).
		sec %= 1 << 55
		from := time.Unix(sec, int64(uint64(sec)%1e9))
		prev := from
		for i := range 5 {
			next := c.Next(prev)
			if next.IsZero() {
				break
			}
			if !next.After(prev) {
				t.Fatalf("%q in %s: Next(%s) = %s (call %d), not after", spec, loc, prev, next, i)
			}
			if c.Every() == 0 {
				if next.Nanosecond() != 0 {
					t.Fatalf("%q: Next(%s) = %s, not a whole second", spec, prev, next)
				}
				// A due time is never more than 5 years (and a day for a
				// gap) after t.
				if next.After(prev.AddDate(5, 0, 2)) {
					t.Fatalf("%q: Next(%s) = %s, beyond the horizon", spec, prev, next)
				}
			} else if next.Sub(prev) > c.Every() {
				t.Fatalf("%q: Next(%s) = %s, more than %s later", spec, prev, next, c.Every())
			}
			if next.Location() != c.Location() {
				t.Fatalf("%q: Next in %s, want %s", spec, next.Location(), c.Location())
			}
			// Next from any instant in between gives the same due time.
			if mid := prev.Add(next.Sub(prev) / 2); mid.After(prev) && !c.Next(mid).Equal(next) {
				t.Fatalf("%q: Next(%s) = %s but Next(%s) = %s", spec, prev, next, mid, c.Next(mid))
			}
			prev = next
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-01-01", "2024-02-29", "2026-02-29", "2026-13-01", "0000-01-01", "9999-12-31", "2026-1-1", "", "2026-01-01T00:00:00Z", "-001-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := schedule.ParseDate(s)
		if err != nil {
			if d != (schedule.Date{}) {
				t.Fatalf("%q: a Date and an error", s)
			}
			return
		}
		if d.String() != s {
			t.Fatalf("%q parsed to %s", s, d)
		}
		b, err := d.MarshalText()
		if err != nil || string(b) != s {
			t.Fatalf("%q: MarshalText %q, %v", s, b, err)
		}
		var back schedule.Date
		if err := back.UnmarshalText(b); err != nil || back != d {
			t.Fatalf("%q: UnmarshalText %v, %v", s, back, err)
		}
		// The same day as the time package's.
		tm, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatalf("%q: ParseDate accepts it, time.Parse does not: %v", s, err)
		}
		if schedule.DateOf(tm) != d || tm.Weekday() != d.Weekday() || schedule.DateOf(tm.AddDate(0, 0, 1)) != d.AddDays(1) {
			t.Fatalf("%q: %v %s, time: %s %s", s, d, d.Weekday(), tm, tm.Weekday())
		}
		if !d.Before(d.AddDays(1)) || d.AddDays(-1).AddDays(1) != d {
			t.Fatalf("%q: AddDays/Before disagree", s)
		}
	})
}
