package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Date is a calendar day without a time or a zone. Its text form (String,
// MarshalText, ParseDate) is "2026-01-01", so it is that string in JSON and
// YAML. Dates compare with == and [Date.Before].
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses a date written as YYYY-MM-DD ("2026-01-01"), the only
// form accepted: four-digit year, two-digit month 01-12 and two-digit day
// that exists in that month.
func ParseDate(s string) (Date, error) {
	bad := func(why string) (Date, error) {
		return Date{}, fmt.Errorf("date %q: %s", s, why)
	}
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !isDigits(s[:4]) || !isDigits(s[5:7]) || !isDigits(s[8:]) {
		return bad("want YYYY-MM-DD, such as 2026-01-01")
	}
	y, _ := atoi(s[:4])
	m, _ := atoi(s[5:7])
	d, _ := atoi(s[8:])
	if m < 1 || m > 12 {
		return bad(fmt.Sprintf("month %02d out of range 01-12", m))
	}
	if n := daysIn(y, m); d < 1 || d > n {
		return bad(fmt.Sprintf("day %02d out of range 01-%02d for %s %04d", d, n, time.Month(m), y))
	}
	return Date{Year: y, Month: time.Month(m), Day: d}, nil
}

// DateOf returns t's calendar day in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// String returns the date as YYYY-MM-DD ("2026-01-01"), the fields as they
// are (an invalid date such as 2026-02-30 is not normalised).
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// valid reports whether d is a day that exists, in the years ParseDate
// reads.
func (d Date) valid() bool {
	return d.Year >= 0 && d.Year <= 9999 && d.Month >= time.January && d.Month <= time.December &&
		d.Day >= 1 && d.Day <= daysIn(d.Year, int(d.Month))
}

// days returns the number of days from 1970-01-01 to d; an out-of-range
// month or day counts on as time.Date normalises it.
func (d Date) days() int64 {
	y, m := int64(d.Year), int(d.Month)-1
	y += int64(m / 12)
	if m %= 12; m < 0 {
		m += 12
		y--
	}
	return daysFromCivil(y, m+1, d.Day)
}

func dateOfDays(z int64) Date {
	y, m, d := civilFromDays(z)
	return Date{Year: int(y), Month: time.Month(m), Day: d}
}

// AddDays returns the date n days after d (before it for negative n). An
// invalid d is normalised first, as time.Date does (2026-02-30 is 2026-03-02).
func (d Date) AddDays(n int) Date {
	return dateOfDays(d.days() + int64(n))
}

// Weekday returns the day of the week of d (of d normalised as time.Date
// does, when d is invalid).
func (d Date) Weekday() time.Weekday {
	return time.Weekday(weekdayOfDays(d.days()))
}

// Before reports whether d is before o, comparing year, month and day in
// that order (invalid dates are not normalised).
func (d Date) Before(o Date) bool {
	if d.Year != o.Year {
		return d.Year < o.Year
	}
	if d.Month != o.Month {
		return d.Month < o.Month
	}
	return d.Day < o.Day
}

// MarshalText returns d as YYYY-MM-DD; a date that does not exist or whose
// year is outside 0000-9999 is an error, since ParseDate could not read it
// back.
func (d Date) MarshalText() ([]byte, error) {
	if !d.valid() {
		return nil, fmt.Errorf("date %s is not a valid date", d)
	}
	return []byte(d.String()), nil
}

// UnmarshalText sets d from YYYY-MM-DD text, as [ParseDate].
func (d *Date) UnmarshalText(text []byte) error {
	v, err := ParseDate(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Calendar is a business-day calendar (Hinemos' and JobCenter's
// "operating days"): which days a scheduled job runs on. A day is a
// business day when it is one of Workdays, or else when it is not one of
// Holidays and its weekday is one of Weekdays. [OnCalendar] applies a
// Calendar to a [Cron] schedule.
type Calendar struct {
	// Name names the calendar, for references and messages.
	Name string `json:"name"`
	// Weekdays are the business weekdays; empty means Monday to Friday.
	// They are names in JSON and YAML ("Monday"; see [ParseWeekday] for
	// what is read).
	Weekdays []Weekday `json:"weekdays,omitempty"`
	// Holidays are days that are not business days whatever their weekday.
	Holidays []Date `json:"holidays,omitempty"`
	// Workdays are days that are business days whatever their weekday (a
	// Saturday made a workday).
	Workdays []Date `json:"workdays,omitempty"`
}

// Validate reports every problem of the calendar, joined: a weekday out of
// range 0-6, a weekday listed twice, a holiday or workday that is not a
// valid date, and a date that is both a holiday and a workday, each with
// its key path ("weekdays[2]: Monday listed twice"). A date listed twice
// in Holidays (or in Workdays) is not a problem.
func (c *Calendar) Validate() error {
	if c == nil {
		return errors.New("calendar: nil")
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	var seen [7]bool
	for i, w := range c.Weekdays {
		switch {
		case !w.valid():
			add("weekdays[%d]: %d out of range 0-6 (Sunday-Saturday)", i, int(w))
		case seen[w]:
			add("weekdays[%d]: %s listed twice", i, w)
		default:
			seen[w] = true
		}
	}
	holidays := make(map[Date]bool, len(c.Holidays))
	for i, d := range c.Holidays {
		if !d.valid() {
			add("holidays[%d]: %s is not a valid date", i, d)
		}
		holidays[d] = true
	}
	both := make(map[Date]bool)
	for i, d := range c.Workdays {
		if !d.valid() {
			add("workdays[%d]: %s is not a valid date", i, d)
		}
		if holidays[d] && !both[d] {
			both[d] = true
			add("workdays[%d]: %s is both a holiday and a workday", i, d)
		}
	}
	return errors.Join(errs...)
}

// IsBusinessDay reports whether d is a business day of the calendar: one
// of Workdays, or else not one of Holidays and on one of Weekdays (Monday
// to Friday when Weekdays is empty). On a calendar that fails Validate
// because d is both a holiday and a workday, d is not a business day.
func (c *Calendar) IsBusinessDay(d Date) bool {
	if c == nil {
		return false
	}
	for _, h := range c.Holidays {
		if h == d {
			return false
		}
	}
	for _, w := range c.Workdays {
		if w == d {
			return true
		}
	}
	wd := d.Weekday()
	if len(c.Weekdays) == 0 {
		return wd >= time.Monday && wd <= time.Friday
	}
	for _, w := range c.Weekdays {
		if time.Weekday(w) == wd {
			return true
		}
	}
	return false
}

// Weekday is a day of the week, as time.Weekday (Sunday is 0), whose text
// form is its English name ("Monday"), so that a [Calendar]'s weekdays are
// names in JSON and YAML. It reads every form [ParseWeekday] reads.
type Weekday time.Weekday

// The days of the week.
const (
	Sunday    = Weekday(time.Sunday)
	Monday    = Weekday(time.Monday)
	Tuesday   = Weekday(time.Tuesday)
	Wednesday = Weekday(time.Wednesday)
	Thursday  = Weekday(time.Thursday)
	Friday    = Weekday(time.Friday)
	Saturday  = Weekday(time.Saturday)
)

// ParseWeekday parses a day of the week: an English name or its 3-letter
// abbreviation in any case ("Monday", "mon", "MON"), or a number 0-7 as in
// cron (0 and 7 are Sunday).
func ParseWeekday(s string) (Weekday, error) {
	if len(s) == 1 && s[0] >= '0' && s[0] <= '7' {
		return Weekday((s[0] - '0') % 7), nil
	}
	for w := Sunday; w <= Saturday; w++ {
		name := w.String()
		if strings.EqualFold(s, name) || strings.EqualFold(s, name[:3]) {
			return w, nil
		}
	}
	return 0, fmt.Errorf("weekday %q: want a name (Monday or Mon, any case) or 0-7 (0 and 7 are Sunday)", s)
}

// String returns the English name of the day ("Monday").
func (w Weekday) String() string { return time.Weekday(w).String() }

func (w Weekday) valid() bool { return w >= Sunday && w <= Saturday }

// MarshalText returns the English name of the day; a Weekday out of range
// 0-6 is an error.
func (w Weekday) MarshalText() ([]byte, error) {
	if !w.valid() {
		return nil, fmt.Errorf("weekday %d out of range 0-6 (Sunday-Saturday)", int(w))
	}
	return []byte(w.String()), nil
}

// UnmarshalText sets w from text, as [ParseWeekday].
func (w *Weekday) UnmarshalText(text []byte) error {
	v, err := ParseWeekday(string(text))
	if err == nil {
		*w = v
	}
	return err
}

// Shift says what happens to a due time that falls on a day that is not a
// business day.
type Shift string

const (
	// ShiftSkip: it is not due. The empty Shift means ShiftSkip.
	ShiftSkip Shift = "skip"
	// ShiftNext: it is due at the same wall time on the next business day.
	ShiftNext Shift = "next"
	// ShiftPrevious: it is due at the same wall time on the previous
	// business day.
	ShiftPrevious Shift = "previous"
)

// maxShiftDays is how far ShiftNext and ShiftPrevious move a due time.
const maxShiftDays = 31

// OnCalendar returns a Schedule that follows s on cal's business days, with
// shift for s's due times on other days. Days are s's calendar days in s's
// zone ([Cron.Location]).
//
// For a field schedule, the due times on a business day T are s's own due
// times on T, and:
//   - with [ShiftNext], at the same wall times, those of every
//     non-business day after the previous business day and before T (a
//     Saturday's, Sunday's and Friday holiday's due times are due on
//     Monday);
//   - with [ShiftPrevious], at the same wall times, those of every
//     non-business day after T and before the next business day.
//
// Due times that land on the same instant are one due time. A due time is
// shifted at most 31 days: one whose day is further than that from a
// business day is dropped. Wall times follow the DST rules of [Cron].
//
// For an @every schedule the due times are those of s whose instant is on
// a business day in s's zone; only [ShiftSkip] is allowed, since a shift
// moves a wall time and @every has none.
//
// cal is copied: later changes to it do not change the Schedule. The
// Schedule has a String method for messages. Errors: a nil s or cal, a cal
// that fails Validate, a shift other than skip, next, previous or "", and
// ShiftNext or ShiftPrevious with an @every schedule.
func OnCalendar(s *Cron, cal *Calendar, shift Shift) (Schedule, error) {
	if s == nil {
		return nil, errors.New("on calendar: nil schedule")
	}
	if cal == nil {
		return nil, fmt.Errorf("schedule %q on calendar: nil calendar", s)
	}
	if err := cal.Validate(); err != nil {
		var msgs []string
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			msgs = append(msgs, e.Error())
		}
		return nil, fmt.Errorf("calendar %q: %s", cal.Name, strings.Join(msgs, "; "))
	}
	switch shift {
	case "":
		shift = ShiftSkip
	case ShiftSkip, ShiftNext, ShiftPrevious:
	default:
		return nil, fmt.Errorf("schedule %q on calendar %q: unknown shift %q (want skip, next or previous)", s, cal.Name, string(shift))
	}
	if s.every > 0 && shift != ShiftSkip {
		return nil, fmt.Errorf("schedule %q on calendar %q: shift %s needs a field schedule: a shift moves a wall time, and @every has none", s, cal.Name, shift)
	}
	cs := &calendarSchedule{
		cron:     s,
		name:     cal.Name,
		shift:    shift,
		holidays: make(map[int64]bool, len(cal.Holidays)),
		workdays: make(map[int64]bool, len(cal.Workdays)),
	}
	weekdays := cal.Weekdays
	if len(weekdays) == 0 {
		weekdays = []Weekday{Monday, Tuesday, Wednesday, Thursday, Friday}
	}
	for _, w := range weekdays {
		cs.weekdays |= 1 << w
	}
	for _, d := range cal.Holidays {
		cs.holidays[d.days()] = true
	}
	for _, d := range cal.Workdays {
		cs.workdays[d.days()] = true
	}
	return cs, nil
}

// calendarSchedule is the Schedule OnCalendar returns. Immutable.
type calendarSchedule struct {
	cron     *Cron
	name     string
	shift    Shift
	weekdays uint8          // bit per time.Weekday
	holidays map[int64]bool // by day since 1970-01-01
	workdays map[int64]bool
}

// String describes the schedule, as `0 2 * * * on calendar "jp" (shift next)`.
func (cs *calendarSchedule) String() string {
	return fmt.Sprintf("%s on calendar %q (shift %s)", cs.cron, cs.name, cs.shift)
}

// business reports whether day z (since 1970-01-01) is a business day, as
// Calendar.IsBusinessDay.
func (cs *calendarSchedule) business(z int64) bool {
	if cs.holidays[z] {
		return false
	}
	return cs.workdays[z] || cs.weekdays&(1<<weekdayOfDays(z)) != 0
}

// cronDay reports whether day z is one of the cron's due days.
func (cs *calendarSchedule) cronDay(z int64) bool {
	y, m, d := civilFromDays(z)
	return cs.cron.matchDay(int(y), m, d, weekdayOfDays(z))
}

// Next returns the first due time strictly after t (see OnCalendar), or the
// zero Time when there is none within 5 years of t.
func (cs *calendarSchedule) Next(t time.Time) time.Time {
	c := cs.cron
	if c.every > 0 {
		return cs.nextEvery(t)
	}
	// A business day carries the cron's wall times when it is a due day of
	// the cron, or when one of the days shifted to it is: every due day has
	// the same wall times, so their union is those wall times.
	return c.scan(t, func(z int64, y, m, d, wd int) bool {
		if !cs.business(z) {
			return false
		}
		if c.matchDay(y, m, d, wd) {
			return true
		}
		step := int64(0)
		switch cs.shift {
		case ShiftNext:
			step = -1 // the days before z, back to the previous business day
		case ShiftPrevious:
			step = 1 // the days after z, up to the next business day
		}
		for k := int64(1); step != 0 && k <= maxShiftDays; k++ {
			src := z + step*k
			if cs.business(src) {
				break
			}
			if cs.cronDay(src) {
				return true
			}
		}
		return false
	})
}

// nextEvery returns the first due time of an @every cron after t that is
// on a business day.
func (cs *calendarSchedule) nextEvery(t time.Time) time.Time {
	c := cs.cron
	loc := c.loc
	limit := t.AddDate(horizonYears, 0, 0)
	for x := c.Next(t); !x.IsZero() && !x.After(limit); x = c.Next(t) {
		z := DateOf(x.In(loc)).days()
		if cs.business(z) {
			return x
		}
		// Jump to just before the start of the next business day.
		next := z + 1
		for !cs.business(next) {
			next++
		}
		y, m, d := civilFromDays(next)
		start, _, _ := resolve(loc, int(y), m, d, 0)
		if t = time.Unix(start, 0).Add(-time.Nanosecond); !t.After(x) {
			t = x // never go backwards
		}
	}
	return time.Time{}
}
