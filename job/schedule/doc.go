// Package schedule says when work is due: [Cron] schedules in a time zone
// (five or six fields, descriptors such as @daily, "@every 10m" aligned
// to the Unix epoch, a TZ= prefix), safe across daylight-saving changes,
// and business-day [Calendar]s (weekdays, holidays, extra workdays) on
// which [OnCalendar] runs a Cron, skipping or shifting due times that fall
// on days off, as JobCenter's calendars do.
//
// Everything here is pure: values are immutable once built, safe for
// concurrent use, and [Schedule.Next] never blocks. The package imports
// only the standard library; job/scheduler runs networks on these
// schedules.
//
// # Usage
//
//	c, err := schedule.ParseCron("30 2 * * 1-5", tokyo)
//	if err != nil {
//		return err // says which field is wrong and what is allowed
//	}
//	cal := &schedule.Calendar{Name: "jp", Holidays: holidays}
//	s, err := schedule.OnCalendar(c, cal, schedule.ShiftNext)
//	if err != nil {
//		return err
//	}
//	next := s.Next(time.Now())
package schedule
