package schedule

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Schedule says when something is due.
type Schedule interface {
	// Next returns the first due time strictly after t, or the zero Time
	// when nothing is due any more (or nothing is due within the search
	// horizon of 5 years). It is safe for concurrent use and never blocks.
	Next(t time.Time) time.Time
}

// Cron is a parsed cron schedule in one time zone, made by [ParseCron]. It
// is immutable and safe for concurrent use; *Cron is a [Schedule].
//
// # Field schedules
//
// A field schedule ("30 2 * * *") is wall-clock based in the schedule's
// zone ([Cron.Location]): it is due at every wall time whose second,
// minute, hour, day of month, month and weekday match. Daylight saving time
// changes are handled so that every matching wall time is due exactly once:
//
//   - A wall time that does not exist on a day (the spring-forward gap, e.g.
//     02:30 in America/New_York on the day clocks jump from 02:00 to 03:00)
//     is due once, at the instant the gap ends plus the same offset into the
//     gap: 02:30 is due at 03:30 in the new offset, the instant 02:30 would
//     have been without the change. (Go's time.Date is not used for this: it
//     normalises that wall time forwards in some zones and backwards in
//     others.) When that instant is also another due time of the schedule
//     (02:00 is moved to 03:00, which "0 * * * *" has anyway), the two are
//     one due time.
//   - A wall time that occurs twice (the fall-back overlap, e.g. 01:30 on the
//     day clocks go back from 02:00 to 01:00) is due once, at its first
//     occurrence (01:30 in the summer offset). So "0 * * * *" is due at 01:00
//     summer time and next at 02:00 winter time, two real hours apart, and
//     "*/15 * * * *" is due at 01:45 summer time and next at 02:00 winter
//     time, 75 minutes apart.
//
// Next is strictly increasing and never returns the same instant twice.
// It searches calendar days up to 5 years after t; a field schedule with no
// due time in that horizon ("0 0 30 2 *", or a leap day more than 5 years
// away) returns the zero Time. Due times are whole seconds.
//
// # @every schedules
//
// "@every d" is elapsed-time based: it is due at the instants
// time.Unix(0, 0).Add(k*d) for every integer k, that is, at the multiples
// of d counted from the Unix epoch. The due times do not depend on when the
// schedule was parsed or on the zone, so an agent restarted at any moment
// computes the same due times as before (which keeps run IDs derived from
// due times stable). DST changes do not affect it. It has no horizon.
type Cron struct {
	spec  string
	loc   *time.Location
	every time.Duration

	months  uint16 // bits 1-12
	doms    uint32 // bits 1-31
	dows    uint8  // bits 0-6, Sunday = 0
	domStar bool   // the day-of-month field starts with '*' or '?'
	dowStar bool   // the day-of-week field starts with '*' or '?'

	hours, minutes, seconds []uint8 // ascending
}

// horizonYears bounds the search of Next.
const horizonYears = 5

// maxUnix bounds the instants Next works with (about 1.1 billion years
// either side of 1970), so the day and second arithmetic cannot overflow.
const maxUnix = 1 << 55

// cronField describes one field of a cron spec.
type cronField struct {
	name     string
	min, max int
	// stepMax is the top of "*" and "N/S" (day-of-week: 6, though 7 is a
	// valid value meaning Sunday).
	stepMax int
	names   string // 3-letter names, concatenated, for values min.. (month, day-of-week)
	what    string // what is allowed, for errors
	qmark   bool   // '?' is allowed as '*'
}

const (
	monthNames   = "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC"
	weekdayNames = "SUNMONTUEWEDTHUFRISAT"
)

func cronFields(i int) cronField {
	switch i {
	case 0:
		return cronField{name: "second", min: 0, max: 59, stepMax: 59, what: "0-59"}
	case 1:
		return cronField{name: "minute", min: 0, max: 59, stepMax: 59, what: "0-59"}
	case 2:
		return cronField{name: "hour", min: 0, max: 23, stepMax: 23, what: "0-23"}
	case 3:
		return cronField{name: "day-of-month", min: 1, max: 31, stepMax: 31, what: "1-31", qmark: true}
	case 4:
		return cronField{name: "month", min: 1, max: 12, stepMax: 12, names: monthNames, what: "1-12 or JAN-DEC"}
	default:
		return cronField{name: "day-of-week", min: 0, max: 7, stepMax: 6, names: weekdayNames, what: "0-7 (0 and 7 are Sunday) or SUN-SAT", qmark: true}
	}
}

// ParseCron parses spec, a cron schedule, in loc (nil means time.Local).
//
// A spec is one of:
//   - 5 fields: minute hour day-of-month month day-of-week;
//   - 6 fields: second minute hour day-of-month month day-of-week (seconds
//     first, as robfig/cron's optional-seconds parser);
//   - a descriptor: @yearly (or @annually, "0 0 1 1 *"), @monthly
//     ("0 0 1 * *"), @weekly ("0 0 * * 0"), @daily (or @midnight,
//     "0 0 * * *"), @hourly ("0 * * * *"), or "@every d" with d a Go
//     duration of at least 1s (see [Cron] for its due times).
//
// Fields are separated by spaces or tabs. A field is a comma-separated list
// of items, each *, N, N-M, */S, N-M/S or N/S (N to the field's maximum,
// step S). Values: second and minute 0-59, hour 0-23, day-of-month 1-31,
// month 1-12 or JAN-DEC, day-of-week 0-7 (0 and 7 are Sunday) or SUN-SAT;
// names are case-insensitive. A step is 1 to the field's number of values.
// '?' is accepted as '*' in day-of-month and day-of-week.
//
// When both day-of-month and day-of-week are restricted (neither starts
// with '*' or '?'), a day is due when either matches, as in Vixie cron:
// "0 0 13 * FRI" is due on every 13th and on every Friday. Otherwise both
// must match ("0 0 */2 * MON" is due on odd-numbered days that are Mondays).
//
// A leading "TZ=Area/City " or "CRON_TZ=Area/City " sets the zone instead
// of loc (loaded with time.LoadLocation; an unknown zone is an error).
//
// Errors name the field and the value and say what is allowed, as in
// `cron "0 25 * * *": hour: 25 out of range 0-23`. ParseCron never panics.
func ParseCron(spec string, loc *time.Location) (*Cron, error) {
	if loc == nil {
		loc = time.Local
	}
	c := &Cron{spec: spec, loc: loc}
	if err := c.parse(spec); err != nil {
		return nil, fmt.Errorf("cron %q: %w", spec, err)
	}
	return c, nil
}

func (c *Cron) parse(spec string) error {
	fields := strings.Fields(spec)
	if len(fields) == 0 {
		return fmt.Errorf("empty spec")
	}
	if key, name, ok := strings.Cut(fields[0], "="); ok && (strings.EqualFold(key, "TZ") || strings.EqualFold(key, "CRON_TZ")) {
		if name == "" {
			return fmt.Errorf("time zone: no name after %s=", key)
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			return fmt.Errorf("time zone %q: %w", name, err)
		}
		c.loc = loc
		fields = fields[1:]
		if len(fields) == 0 {
			return fmt.Errorf("no schedule after the time zone")
		}
	}
	if strings.HasPrefix(fields[0], "@") {
		return c.parseDescriptor(fields)
	}
	switch len(fields) {
	case 5:
		fields = append([]string{"0"}, fields...)
	case 6:
	default:
		return fmt.Errorf("%d fields, want 5 (minute hour day-of-month month day-of-week), 6 (second first) or a descriptor such as @daily", len(fields))
	}
	return c.parseFields(fields)
}

func (c *Cron) parseDescriptor(fields []string) error {
	d := strings.ToLower(fields[0])
	if d == "@every" {
		if len(fields) != 2 {
			return fmt.Errorf("@every takes one duration, such as \"@every 1h30m\"")
		}
		every, err := time.ParseDuration(fields[1])
		if err != nil {
			return fmt.Errorf("@every: %w", err)
		}
		if every < time.Second {
			return fmt.Errorf("@every: %s is shorter than the minimum 1s", every)
		}
		c.every = every
		return nil
	}
	var spec string
	switch d {
	case "@yearly", "@annually":
		spec = "0 0 0 1 1 *"
	case "@monthly":
		spec = "0 0 0 1 * *"
	case "@weekly":
		spec = "0 0 0 * * 0"
	case "@daily", "@midnight":
		spec = "0 0 0 * * *"
	case "@hourly":
		spec = "0 0 * * * *"
	default:
		return fmt.Errorf("unknown descriptor %s (want @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>)", fields[0])
	}
	if len(fields) != 1 {
		return fmt.Errorf("%s takes no arguments", fields[0])
	}
	return c.parseFields(strings.Fields(spec))
}

func (c *Cron) parseFields(fields []string) error {
	var bits [6]uint64
	for i, f := range fields {
		b, err := parseCronField(cronFields(i), f)
		if err != nil {
			return err
		}
		bits[i] = b
	}
	c.seconds = bitList(bits[0])
	c.minutes = bitList(bits[1])
	c.hours = bitList(bits[2])
	c.doms = uint32(bits[3])
	c.months = uint16(bits[4])
	dow := bits[5]
	if dow&(1<<7) != 0 {
		dow = dow&^(1<<7) | 1
	}
	c.dows = uint8(dow)
	c.domStar = fields[3][0] == '*' || fields[3][0] == '?'
	c.dowStar = fields[5][0] == '*' || fields[5][0] == '?'
	return nil
}

func bitList(b uint64) []uint8 {
	var l []uint8
	for v := 0; v < 64; v++ {
		if b&(1<<v) != 0 {
			l = append(l, uint8(v))
		}
	}
	return l
}

// parseCronField returns the set of values of one field as a bit set.
func parseCronField(f cronField, s string) (uint64, error) {
	var bits uint64
	for item := range strings.SplitSeq(s, ",") {
		if item == "" {
			return 0, fmt.Errorf("%s: empty item in list %q", f.name, s)
		}
		rng, stepText, hasStep := strings.Cut(item, "/")
		var lo, hi int
		if rng == "*" || rng == "?" {
			if rng == "?" && !f.qmark {
				return 0, fmt.Errorf("%s: '?' is allowed only in day-of-month and day-of-week", f.name)
			}
			lo, hi = f.min, f.stepMax
		} else {
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = f.value(a); err != nil {
				return 0, err
			}
			switch {
			case isRange:
				if hi, err = f.value(b); err != nil {
					return 0, err
				}
				if hi < lo {
					return 0, fmt.Errorf("%s: range %s goes backwards (%d > %d)", f.name, rng, lo, hi)
				}
			case hasStep:
				hi = max(lo, f.stepMax)
			default:
				hi = lo
			}
		}
		step := 1
		if hasStep {
			span := f.stepMax - f.min + 1
			n, ok := atoi(stepText)
			if !ok || n < 1 || n > span {
				return 0, fmt.Errorf("%s: step %q in %q out of range 1-%d", f.name, stepText, item, span)
			}
			step = n
		}
		for v := lo; v <= hi; v += step {
			bits |= 1 << v
		}
	}
	return bits, nil
}

// value parses one number or name of the field.
func (f cronField) value(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("%s: missing value (want %s)", f.name, f.what)
	}
	if isDigits(s) {
		n, ok := atoi(s)
		if !ok || n < f.min || n > f.max {
			return 0, fmt.Errorf("%s: %s out of range %s", f.name, s, f.what)
		}
		return n, nil
	}
	if len(s) == 3 && f.names != "" {
		for i := 0; i+3 <= len(f.names); i += 3 {
			if strings.EqualFold(s, f.names[i:i+3]) {
				return f.min + i/3, nil
			}
		}
	}
	return 0, fmt.Errorf("%s: %q is not a value (want %s)", f.name, s, f.what)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// atoi parses a decimal number of ASCII digits only (no sign) of at most 9
// digits, so it cannot overflow.
func atoi(s string) (int, bool) {
	if len(s) > 9 || !isDigits(s) {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// String returns the spec as it was given to [ParseCron], including any TZ=
// prefix; parsing it again (with the same loc) gives the same schedule.
func (c *Cron) String() string {
	if c == nil {
		return ""
	}
	return c.spec
}

// Location returns the zone the schedule's wall times are in: the TZ=
// prefix's, else the loc given to [ParseCron] (time.Local for nil).
func (c *Cron) Location() *time.Location {
	if c == nil {
		return time.UTC
	}
	return c.loc
}

// Every returns the interval of an "@every" schedule, and 0 for a field
// schedule.
func (c *Cron) Every() time.Duration {
	if c == nil {
		return 0
	}
	return c.every
}

// Next returns the first due time strictly after t (in the schedule's
// zone), or the zero Time when there is none within 5 years of t (field
// schedules only; see [Cron] for the rules). A nil *Cron is never due.
func (c *Cron) Next(t time.Time) time.Time {
	if c == nil {
		return time.Time{}
	}
	if c.every > 0 {
		return c.nextEvery(t)
	}
	return c.scan(t, nil)
}

// nextEvery returns the first multiple of c.every after the Unix epoch
// that is strictly after t.
func (c *Cron) nextEvery(t time.Time) time.Time {
	sec, nsec := t.Unix(), int64(t.Nanosecond())
	if sec > maxUnix || sec < -maxUnix {
		return time.Time{}
	}
	d := int64(c.every)
	const e9 = int64(time.Second)
	if sec > -9e9 && sec < 9e9 { // sec*1e9 fits in an int64
		ns := sec*e9 + nsec
		k := ns / d
		if ns < 0 && ns%d != 0 {
			k-- // floor
		}
		k++
		// k*d may not fit in an int64: split it into seconds and nanoseconds.
		ds, dn := d/e9, d%e9
		return time.Unix(k*ds, k*dn).In(c.loc)
	}
	ns := new(big.Int).Mul(big.NewInt(sec), big.NewInt(e9))
	ns.Add(ns, big.NewInt(nsec))
	k := new(big.Int).Div(ns, big.NewInt(d)) // Euclidean: floor for d > 0
	k.Add(k, big.NewInt(1))
	due := k.Mul(k, big.NewInt(d))
	s, n := new(big.Int).DivMod(due, big.NewInt(e9), new(big.Int))
	return time.Unix(s.Int64(), n.Int64()).In(c.loc)
}

// matchDay reports whether the civil day y-m-d, a weekday wd, is one of
// the schedule's days (month, day of month and day of week, with the Vixie
// rule).
func (c *Cron) matchDay(y, m, d, wd int) bool {
	if c.months&(1<<m) == 0 {
		return false
	}
	domOK := c.doms&(1<<d) != 0
	dowOK := c.dows&(1<<wd) != 0
	if c.domStar || c.dowStar {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// dayTimes calls yield with the schedule's due wall times of one due day,
// as seconds since midnight, at or after from, in ascending order, until
// yield returns false. The times are the same on every due day, so a
// caller iterates only as far as it needs (a per-second schedule has 86400
// of them).
func (c *Cron) dayTimes(from int, yield func(sod int) bool) {
	fh, fm, fs := from/3600, from/60%60, from%60
	for _, h := range c.hours {
		if int(h) < fh {
			continue
		}
		for _, m := range c.minutes {
			if int(h) == fh && int(m) < fm {
				continue
			}
			for _, s := range c.seconds {
				if int(h) == fh && int(m) == fm && int(s) < fs {
					continue
				}
				if !yield(int(h)*3600 + int(m)*60 + int(s)) {
					return
				}
			}
		}
	}
}

// dayFunc reports whether the civil day y-m-d (day number day since
// 1970-01-01, weekday wd) carries the schedule's due wall times.
type dayFunc func(day int64, y, m, d, wd int) bool

// scan returns the first due time of a field schedule strictly after t,
// where the days that carry the schedule's wall times are those active
// reports (nil: the schedule's own days). It walks civil days in c.loc and,
// on each active day, the due wall times in ascending order, resolving
// each to an instant by the DST rules of [Cron], and returns the least
// instant after t.
//
// Wall order is instant order except for wall times in a spring-forward
// gap, which resolve to later instants than the wall times just after the
// gap. So a wall time that resolved inside a gap is only a candidate: the
// scan goes on until a wall time that is not in a gap resolves after t (no
// later wall time can resolve earlier than that one), keeping the least
// candidate.
//
// Wall times that cannot be due after t are skipped, not resolved one by
// one: those before t's own wall time (but for a gap that ended less than
// its length before t), those in an overlap t is in the second half of,
// and, once a gap's first wall time is a candidate, the rest of the gap.
func (c *Cron) scan(t time.Time, active dayFunc) time.Time {
	tu := t.Unix()
	if tu > maxUnix || tu < -maxUnix || len(c.hours) == 0 {
		return time.Time{}
	}
	tl := t.In(c.loc)
	_, off := tl.Zone()
	// wt is t's own wall time. A wall time not in a gap that resolves after
	// t is after wt (the first occurrence of wt is not after t, and the
	// first occurrences of the wall times not in a gap are in wall order).
	wt := tu + int64(off)
	ws := wt // the first wall time to look at
	if start, _ := tl.ZoneBounds(); !start.IsZero() && tu-start.Unix() < maxZoneOffset {
		_, prev := start.Add(-time.Nanosecond).Zone()
		switch d := int64(off - prev); {
		case d > 0 && tu-start.Unix() < d:
			// Less than a gap's length after a gap: the gap's wall times
			// resolve from the gap's end on, so some may resolve after t.
			// t's wall time in the offset before the gap is where they do.
			ws = tu + int64(prev)
		case d < 0 && tu-start.Unix() < -d:
			// In the second occurrence of an overlap: the overlap's wall
			// times are due at their first occurrences, before t.
			ws = start.Unix() + int64(prev)
		}
	}

	var best int64
	found := false
	day := floorDiv(ws, 86400)
	from := int(ws - day*86400)
	y0, m0, d0 := civilFromDays(day)
	end := daysFromCivil(y0+horizonYears, m0, d0)
	const noRestart = math.MinInt64
	for day <= end {
		y64, m, d := civilFromDays(day)
		y := int(y64)
		wd := weekdayOfDays(day)
		restart := int64(noRestart)
		for ; day <= end; day++ {
			if found && day*86400-maxZoneOffset > best {
				break // every wall time of this day or later resolves after best
			}
			var ok bool
			if active == nil {
				ok = c.matchDay(y, m, d, wd)
			} else {
				ok = active(day, y, m, d, wd)
			}
			if ok {
				stop := false
				c.dayTimes(from, func(sod int) bool {
					x, gap, gapEnd := resolve(c.loc, y, m, d, sod)
					if x > tu && (!found || x < best) {
						best, found = x, true
					}
					if !gap {
						stop = x > tu
						return !stop
					}
					if x > tu {
						// The gap's later wall times resolve later, and the
						// wall times after it up to wt not after t.
						if skip := max(gapEnd, wt+1); skip > day*86400+int64(sod)+1 {
							restart = skip
							return false
						}
					}
					return true
				})
				if stop || restart != noRestart {
					break
				}
			}
			from = 0
			wd = (wd + 1) % 7
			if d++; d > daysIn(y, m) {
				d = 1
				if m++; m > 12 {
					m = 1
					y++
				}
			}
		}
		if restart == noRestart {
			break
		}
		day = floorDiv(restart, 86400)
		from = int(restart - day*86400)
	}
	if !found {
		return time.Time{}
	}
	return time.Unix(best, 0).In(c.loc)
}

// maxZoneOffset is more than any zone's offset from UTC, or any change of
// offset, in seconds.
const maxZoneOffset = 26 * 3600

// resolve returns the instant (Unix seconds) of the wall time sod seconds
// after midnight on y-m-d in loc by the DST rules of [Cron], whether the
// wall time is in a gap (does not exist), and then the gap's end as a wall
// time (civil seconds since 1970-01-01).
//
// Both rules come to the same thing: a wall time is read in the offset in
// force before the nearest change. In a gap that gives the instant after
// the gap at the same distance into it; in an overlap the first occurrence.
// time.Date is not relied on for either: it picks the offset after the
// change in some zones and the one before it in others.
func resolve(loc *time.Location, y, m, d, sod int) (x int64, gap bool, gapEnd int64) {
	t := time.Date(y, time.Month(m), d, sod/3600, sod/60%60, sod%60, 0, loc)
	_, off := t.Zone()
	x = t.Unix()
	has := x + int64(off) // the wall time t has
	want := daysFromCivil(int64(y), m, d)*86400 + int64(sod)
	switch {
	case has == want:
		// It exists; if t is its second occurrence, return the first.
		start, _ := t.ZoneBounds()
		if start.IsZero() || x-start.Unix() >= maxZoneOffset {
			return x, false, 0
		}
		_, prev := start.Add(-time.Nanosecond).Zone()
		if prev > off {
			if first := want - int64(prev); first < start.Unix() {
				return first, false, 0
			}
		}
		return x, false, 0
	case has > want:
		// In a gap, and t is after it, in the offset after it: read the
		// wall time in the offset before.
		start, _ := t.ZoneBounds()
		if start.IsZero() {
			return x, true, want
		}
		_, prev := start.Add(-time.Nanosecond).Zone()
		return want - int64(prev), true, start.Unix() + int64(off)
	default:
		// In a gap, and t is before it, so t's offset is the one before.
		_, end := t.ZoneBounds()
		if end.IsZero() {
			return want - int64(off), true, want
		}
		_, next := end.Zone()
		return want - int64(off), true, end.Unix() + int64(next)
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// daysFromCivil returns the number of days from 1970-01-01 to y-m-d
// (proleptic Gregorian; d may be out of the month's range and counts on).
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y int64, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp) + 3
	if m > 12 {
		m -= 12
	}
	y = yoe + era*400
	if m <= 2 {
		y++
	}
	return y, m, d
}

// weekdayOfDays returns the weekday (Sunday = 0) of day z since 1970-01-01,
// a Thursday.
func weekdayOfDays(z int64) int {
	w := (z + 4) % 7
	if w < 0 {
		w += 7
	}
	return int(w)
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
