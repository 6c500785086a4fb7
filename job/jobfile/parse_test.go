package jobfile_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/jobfile"
	"github.com/minato-ops/minato/job/schedule"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// issueExample is the schema example of the job-network issue, verbatim.
const issueExample = `
name: nightly
concurrency: 2
units:
  - name: extract
    run: {image: "app:1", command: ["extract", "--day", "today"], env: {A: "1"}}
    timeout: 30s
  - name: transform
    exec: {container: "worker", command: ["transform"]}
    needs: [extract]
    retry: {limit: 2, delay: 1s}
  - name: report-failure
    needs: [transform]
    when: failure
    run: {image: "app:1", command: ["notify"]}
`

func TestParseIssueExample(t *testing.T) {
	def, err := jobfile.Parse([]byte(issueExample))
	require.NoError(t, err)
	assert.Equal(t, "nightly", def.Name)
	assert.Equal(t, 2, def.Concurrency)
	require.Len(t, def.Units, 3)
	ex := def.Units[0]
	assert.Equal(t, "app:1", ex.Run.Image)
	assert.Equal(t, []string{"extract", "--day", "today"}, ex.Run.Command)
	assert.Equal(t, map[string]string{"A": "1"}, ex.Run.Env)
	assert.Equal(t, 30*time.Second, ex.Timeout)
	tr := def.Units[1]
	assert.Equal(t, "worker", tr.Exec.Container)
	assert.Equal(t, []string{"extract"}, tr.Needs)
	assert.Equal(t, &job.RetryPolicy{Limit: 2, Delay: time.Second}, tr.Retry)
	assert.Equal(t, job.When{On: "failure"}, def.Units[2].When)
}

func TestParseJSON(t *testing.T) {
	def, err := jobfile.Parse([]byte(`{"name": "n", "units": [
		{"name": "a", "host": {"command": ["/bin/true"]}},
		{"name": "b", "needs": ["a"], "when": {"codes": [0, 3]}, "container": {"action": "restart", "names": ["web*"], "grace": "5s"},
		 "retry": {"limit": 3, "delay": "1s", "backoff": 2, "max_delay": "10s", "on_exit": {"3": "fail", "4": "ignore"}, "default": "retry", "retry_errors": true}}]}`))
	require.NoError(t, err)
	assert.Equal(t, []int{0, 3}, def.Units[1].When.Codes)
	assert.Equal(t, 5*time.Second, def.Units[1].Container.Grace)
	assert.Equal(t, map[int]job.Decision{3: job.DecideFail, 4: job.DecideIgnore}, def.Units[1].Retry.OnExit)
	assert.True(t, def.Units[1].Retry.RetryErrors)
	assert.Equal(t, 2.0, def.Units[1].Retry.Backoff)
}

func TestParseErrorsNameEveryProblem(t *testing.T) {
	cases := []struct {
		yaml string
		want []string
	}{
		{`units: []`, []string{"name: required", "units: required: at least one unit"}},
		{`name: x
colour: red
units: [{name: a, host: {command: [x]}}]`, []string{"colour: unknown key (allowed: concurrency, group, name, output_limit, queue, schedule, units)"}},
		{`name: x
concurrency: -1
units: [{name: a, host: {command: [x]}, timeout: 1x, retry: {delay: soon, limit: two, backoff: 0.5, on_exit: {"300": retry, "2": maybe}}}]`, []string{
			"concurrency: -1: want 0 or more",
			`units[0].timeout: "1x": want a duration such as 30s`,
			`units[0].retry.delay: "soon": want a duration`,
			`units[0].retry.limit: want a whole number, got "two"`,
			"units[0].retry.backoff: must be 0 or at least 1, got 0.5",
			"units[0].retry.on_exit[300]: want an exit code from 0 to 255",
			`units[0].retry.on_exit[2]: unknown decision "maybe" (want retry, fail or ignore)`,
		}},
		{`name: x
units:
  - {name: a, host: {command: [x]}, needs: [b]}
  - {name: b, host: {command: [x]}, needs: [c]}
  - {name: c, host: {command: [x]}, needs: [a]}
  - {name: d, host: {command: [x]}, needs: [d, zz]}
  - {name: a, host: {command: [x]}}`, []string{
			"units: cycle in needs: a -> b -> c -> a",
			`units[3].needs[0]: unit "d" needs itself`,
			`units[3].needs[1]: no unit is named "zz"`,
			`units[4].name: "a" is also the name of units[0]`,
		}},
		{`name: x
units:
  - {name: a}
  - {name: b, host: {command: [x]}, run: {image: i}}
  - {name: c, run: {command: [x]}, when: sometimes}
  - {name: d, exec: {container: "web*"}}
  - {name: e, container: {action: explode}}
  - {name: f, run: {image: i, mounts: ["data"], memory: 100, cpus: -1}}
  - {name: g, host: {command: [x]}, when: failure}`, []string{
			"units[0]: give exactly one of run, exec, host or container (found 0)",
			"units[1]: give exactly one of run, exec, host or container (found 2)",
			"units[2].run.image: required",
			`units[2].when: "sometimes": want success, failure, always or {codes: [...]}`,
			`units[3].exec.container: "web*": exec takes one container`,
			"units[3].exec.command: required",
			`units[4].container.action: "explode": want start, stop, restart or remove`,
			"units[4].container: give names or ids",
			`units[5].run.mounts[0]: "data": want HOST:CONTAINER[:ro|rw]`,
			"units[5].run.memory: 100: want 6291456 or more",
			"units[5].run.cpus: -1: want a number of CPUs greater than 0",
			"units[6].when: a condition needs units to look at: add needs",
		}},
		{`name: [x]
units: {a: 1}`, []string{"name: want a string, got a list", "units: want a list, got a mapping"}},
	}
	for _, c := range cases {
		_, err := jobfile.Parse([]byte(c.yaml))
		require.Error(t, err, c.yaml)
		for _, w := range c.want {
			assert.Contains(t, err.Error(), w, c.yaml)
		}
	}
	_, err := jobfile.Parse([]byte("name: [unterminated"))
	assert.ErrorContains(t, err, "not valid YAML or JSON")
	_, err = jobfile.Parse(nil)
	assert.ErrorContains(t, err, "empty definition")
}

func TestParseShortForms(t *testing.T) {
	def, err := jobfile.Parse([]byte(scheduled(`schedule: "0 2 * * *"`)))
	require.NoError(t, err, "a cron alone is the whole schedule")
	assert.Equal(t, &jobfile.ScheduleDef{Cron: "0 2 * * *"}, def.Schedule)
	_, err = def.Schedule.Schedule(nil)
	require.NoError(t, err)

	def, err = jobfile.Parse([]byte(scheduled(`queue: ""
schedule: {cron: "@daily", timezone: "", calendar: {}}`)))
	require.NoError(t, err, "an empty queue or zone is the default one")
	assert.Empty(t, def.Queue)
	assert.Equal(t, &jobfile.CalendarRef{}, def.Schedule.Calendar, "an empty inline calendar is Monday to Friday")

	def, err = jobfile.Parse([]byte(`name: n
units:
  - {name: a, host: {command: [x]}}
  - {name: b, host: {command: [x]}, needs: [a], when: {codes: [0, 3]}}
  - {name: c, host: {command: [x]}, needs: [a], when: {on: exit, codes: [4]}}
  - {name: d, host: {command: [x]}, needs: [a], when: always}`))
	require.NoError(t, err)
	assert.Equal(t, job.When{Codes: []int{0, 3}}, def.Units[1].When)
	assert.Equal(t, job.When{On: job.WhenExit, Codes: []int{4}}, def.Units[2].When)
	assert.Equal(t, job.When{On: job.WhenAlways}, def.Units[3].When)

	_, err = jobfile.Parse([]byte(`name: n
units:
  - {name: a, host: {command: [x]}}
  - {name: b, host: {command: [x]}, needs: [a], when: {codes: []}}
  - {name: c, host: {command: [x]}, needs: [a], when: {on: failure, codes: [1, 256]}}
  - {name: d, host: {command: [x]}, needs: [a], when: {on: later}}
  - {name: e, host: {command: [x]}, needs: [a], when: [failure]}
  - {name: f, host: {command: [x]}, retry: {on_exit: {"0": fail, "-1": fail, x: fail}}}`))
	assert.EqualError(t, err, strings.Join([]string{
		"units[1].when.codes: want a non-empty list of exit codes",
		"units[2].when.codes: only without on (or with on: exit)",
		"units[2].when.codes[1]: 256: want an exit code from 0 to 255",
		`units[3].when.on: "later": want success, failure, always or exit`,
		"units[4].when: want a string or a mapping with keys on, codes, got a list",
		`units[5].retry.on_exit[x]: want a whole number as the key, got "x"`,
		"units[5].retry.on_exit[0]: exit code 0 is success and is never decided",
		"units[5].retry.on_exit[-1]: want an exit code from 0 to 255",
	}, "\n"))

	// job.When reads both forms from JSON too.
	var w job.When
	require.NoError(t, json.Unmarshal([]byte(`"failure"`), &w))
	assert.Equal(t, job.When{On: job.WhenFailure}, w)
	require.NoError(t, json.Unmarshal([]byte(`{"on": "exit", "codes": [3]}`), &w))
	assert.Equal(t, job.When{On: job.WhenExit, Codes: []int{3}}, w)
	assert.ErrorContains(t, json.Unmarshal([]byte(`"sometimes"`), &w), "want success, failure, always or {codes: [...]}")
}

// scheduled is a definition with the given top-level lines before units.
func scheduled(lines string) string {
	return "name: n\n" + lines + "\nunits: [{name: a, host: {command: [x]}}]\n"
}

func TestParseQueueAndSchedule(t *testing.T) {
	def, err := jobfile.Parse([]byte(scheduled(`queue: batch.night_1-a
schedule:
  cron: "0 2 * * *"
  timezone: Asia/Tokyo
  calendar: business
  shift: next
  overlap: queue
  catch_up: 2h`)))
	require.NoError(t, err)
	assert.Equal(t, "batch.night_1-a", def.Queue)
	assert.Equal(t, &jobfile.ScheduleDef{
		Cron: "0 2 * * *", Timezone: "Asia/Tokyo", Calendar: &jobfile.CalendarRef{Name: "business"},
		Shift: schedule.ShiftNext, Overlap: scheduler.OverlapQueue, CatchUp: 2 * time.Hour,
	}, def.Schedule)

	def, err = jobfile.Parse([]byte(scheduled(`schedule:
  cron: "TZ=Asia/Tokyo 30 1 * * *"
  timezone: Asia/Tokyo
  calendar: {weekdays: [Mon, tuesday, "3", 4, FRI, 6], holidays: [2026-01-01, "2026-01-02"], workdays: [2026-01-10]}
  shift: previous
  catch_up: "0"`)))
	require.NoError(t, err)
	assert.Empty(t, def.Queue)
	s := def.Schedule
	assert.Equal(t, &jobfile.CalendarRef{
		Weekdays: []schedule.Weekday{schedule.Monday, schedule.Tuesday, schedule.Wednesday, schedule.Thursday, schedule.Friday, schedule.Saturday},
		Holidays: []schedule.Date{{Year: 2026, Month: 1, Day: 1}, {Year: 2026, Month: 1, Day: 2}},
		Workdays: []schedule.Date{{Year: 2026, Month: 1, Day: 10}},
	}, s.Calendar)
	assert.Equal(t, schedule.ShiftPrevious, s.Shift)
	assert.Empty(t, s.Overlap, "absent: the scheduler's default (skip)")
	assert.Zero(t, s.CatchUp)

	for _, spec := range []string{"@daily", "@every 10m", "*/5 * * * * *", "CRON_TZ=UTC @hourly"} {
		def, err := jobfile.Parse([]byte(scheduled(`schedule: {cron: "` + spec + `"}`)))
		require.NoError(t, err, spec)
		assert.Equal(t, spec, def.Schedule.Cron)
	}
	def, err = jobfile.Parse([]byte(`{"name": "n", "queue": "q", "schedule": {"cron": "@daily", "overlap": "allow", "calendar": {"holidays": ["2026-05-05"]}},
		"units": [{"name": "a", "host": {"command": ["x"]}}]}`))
	require.NoError(t, err, "JSON")
	assert.Equal(t, scheduler.OverlapAllow, def.Schedule.Overlap)
	assert.Equal(t, []schedule.Date{{Year: 2026, Month: 5, Day: 5}}, def.Schedule.Calendar.Holidays)
}

func TestParseScheduleErrors(t *testing.T) {
	cases := []struct {
		lines string
		want  []string // the whole error, one line per problem
	}{
		{`queue: "night batch"`, []string{`queue: "night batch": want a queue name of letters, digits, '.', '_' and '-'`}},
		{`queue: [a]`, []string{`queue: want a string, got a list`}},
		{`schedule: [x]`, []string{`schedule: want a string or a mapping with keys cron, timezone, calendar, shift, overlap, catch_up, got a list`}},
		{`schedule: "0 2 * *"`, []string{
			`schedule.cron: cron "0 2 * *": 4 fields, want 5 (minute hour day-of-month month day-of-week), 6 (second first) or a descriptor such as @daily`,
		}},
		{`schedule: {}`, []string{`schedule.cron: required: when the network is due, such as "0 2 * * *", @daily or "@every 10m"`}},
		{`schedule: {cron: "0 25 * * *", every: 2}`, []string{
			"schedule.every: unknown key (allowed: calendar, catch_up, cron, overlap, shift, timezone)",
			`schedule.cron: cron "0 25 * * *": hour: 25 out of range 0-23`,
		}},
		{`schedule: {cron: "0 2 * *"}`, []string{
			`schedule.cron: cron "0 2 * *": 4 fields, want 5 (minute hour day-of-month month day-of-week), 6 (second first) or a descriptor such as @daily`,
		}},
		{`schedule: {cron: "@daily", timezone: Mars/Olympus}`, []string{
			`schedule.timezone: "Mars/Olympus": unknown time zone (want an IANA name such as Asia/Tokyo or UTC)`,
		}},
		{`schedule: {cron: "TZ=Asia/Tokyo @daily", timezone: UTC}`, []string{
			`schedule.timezone: "UTC" differs from the cron's TZ=Asia/Tokyo: give the zone once`,
		}},
		{`schedule: {cron: "@daily", shift: next}`, []string{
			"schedule.shift: next: only with a calendar (it moves due times off non-business days)",
		}},
		{`schedule: {cron: "@every 1h", calendar: jp, shift: previous}`, []string{
			"schedule.shift: previous: needs a field schedule: a shift moves a wall time, and @every 1h has none",
		}},
		{`schedule: {cron: "@daily", calendar: jp, shift: later, overlap: sometimes, catch_up: -1m}`, []string{
			`schedule.catch_up: "-1m": want a duration of 0 or more`,
			`schedule.shift: "later": want skip, next or previous`,
			`schedule.overlap: "sometimes": want skip, queue, replace or allow`,
		}},
		{`schedule: {cron: "@daily", catch_up: soon}`, []string{
			`schedule.catch_up: "soon": want a duration such as 30s or 1m30s (units ns, us, ms, s, m, h)`,
		}},
		{`schedule: {cron: "@daily", calendar: [jp]}`, []string{
			"schedule.calendar: want a string or a mapping with keys weekdays, holidays, workdays, got a list",
		}},
		{`schedule: {cron: "@daily", calendar: ""}`, []string{
			`schedule.calendar: "": want the name of a calendar of the agent's configuration`,
		}},
		{`schedule:
  cron: "@daily"
  calendar:
    weekdays: [mon, Monday, funday, 8, null]
    holidays: [2026-01-01, 2026-02-30, 2026/03/01, 2026-01-10]
    workdays: [2026-01-10]
    months: [jan]`, []string{
			`schedule.calendar.weekdays[2]: weekday "funday": want a name (Monday or Mon, any case) or 0-7 (0 and 7 are Sunday)`,
			`schedule.calendar.weekdays[3]: weekday "8": want a name (Monday or Mon, any case) or 0-7 (0 and 7 are Sunday)`,
			`schedule.calendar.weekdays[4]: want a string, got null`,
			`schedule.calendar.holidays[1]: date "2026-02-30": day 30 out of range 01-28 for February 2026`,
			`schedule.calendar.holidays[2]: date "2026/03/01": want YYYY-MM-DD, such as 2026-01-01`,
			"schedule.calendar.months: unknown key (allowed: holidays, weekdays, workdays)",
			"schedule.calendar.weekdays[1]: Monday listed twice",
			"schedule.calendar.workdays[0]: 2026-01-10 is both a holiday and a workday",
		}},
		{`schedule: {cron: "@daily", calendar: {weekdays: [mon, Monday, "1"]}}`, []string{
			"schedule.calendar.weekdays[1]: Monday listed twice",
			"schedule.calendar.weekdays[2]: Monday listed twice",
		}},
		{`schedule: {cron: "@daily", calendar: {weekdays: [], holidays: 2026-01-01}}`, []string{
			`schedule.calendar.holidays: want a list, got "2026-01-01"`,
			"schedule.calendar.weekdays: empty: leave it out for Monday to Friday",
		}},
	}
	for _, c := range cases {
		_, err := jobfile.Parse([]byte(scheduled(c.lines)))
		require.Error(t, err, c.lines)
		assert.Equal(t, strings.Join(c.want, "\n"), err.Error(), c.lines)
	}
}

func TestScheduleDefSchedule(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	// Friday 2026-01-09 03:00 in Tokyo: the next 02:00 is Saturday's.
	from := time.Date(2026, 1, 9, 3, 0, 0, 0, tokyo)
	parse := func(lines string) *jobfile.ScheduleDef {
		t.Helper()
		def, err := jobfile.Parse([]byte(scheduled(lines)))
		require.NoError(t, err)
		return def.Schedule
	}
	calendars := map[string]*schedule.Calendar{
		"business": {Name: "business"},
		"weekend":  {Name: "weekend", Weekdays: []schedule.Weekday{schedule.Saturday, schedule.Sunday}},
	}

	// No calendar: the cron in its zone, from either spelling of the zone.
	for _, lines := range []string{
		"schedule: {cron: \"0 2 * * *\", timezone: Asia/Tokyo}",
		"schedule: {cron: \"TZ=Asia/Tokyo 0 2 * * *\"}",
		"schedule: {cron: \"TZ=Asia/Tokyo 0 2 * * *\", timezone: Asia/Tokyo}",
	} {
		s, err := parse(lines).Schedule(nil)
		require.NoError(t, err, lines)
		assert.Equal(t, time.Date(2026, 1, 10, 2, 0, 0, 0, tokyo), s.Next(from).In(tokyo), lines)
	}

	// A named calendar: Monday to Friday; Saturday's and Sunday's 02:00
	// shifted to Monday are one due time.
	s, err := parse("schedule: {cron: \"0 2 * * *\", timezone: Asia/Tokyo, calendar: business, shift: next}").Schedule(calendars)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 1, 12, 2, 0, 0, 0, tokyo), s.Next(from).In(tokyo))
	s, err = parse("schedule: {cron: \"0 2 * * *\", timezone: Asia/Tokyo, calendar: weekend}").Schedule(calendars)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 1, 10, 2, 0, 0, 0, tokyo), s.Next(from).In(tokyo))

	// An inline one: Saturday 2026-01-10 is a workday, Monday 12th a holiday.
	inline := parse("schedule: {cron: \"0 2 * * *\", timezone: Asia/Tokyo, calendar: {holidays: [2026-01-12], workdays: [2026-01-10]}}")
	s, err = inline.Schedule(nil)
	require.NoError(t, err)
	next := s.Next(from)
	assert.Equal(t, time.Date(2026, 1, 10, 2, 0, 0, 0, tokyo), next.In(tokyo))
	assert.Equal(t, time.Date(2026, 1, 13, 2, 0, 0, 0, tokyo), s.Next(next).In(tokyo))
	assert.Contains(t, s.(fmt.Stringer).String(), `on calendar "inline"`)

	// An unknown calendar names itself and the known ones.
	unknown := parse("schedule: {cron: \"@daily\", calendar: jp}")
	_, err = unknown.Schedule(calendars)
	assert.EqualError(t, err, `schedule: calendar "jp": no such calendar (known: business, weekend)`)
	_, err = unknown.Schedule(nil)
	assert.EqualError(t, err, `schedule: calendar "jp": no such calendar (none is defined)`)

	// The default zone is the agent's.
	s, err = parse("schedule: {cron: \"0 2 * * *\"}").Schedule(nil)
	require.NoError(t, err)
	assert.Equal(t, time.Local, s.(*schedule.Cron).Location())

	// A hand-made ScheduleDef is checked as Parse checks it.
	_, err = (&jobfile.ScheduleDef{Cron: "TZ=UTC @daily", Timezone: "Asia/Tokyo"}).Schedule(nil)
	assert.EqualError(t, err, `schedule.timezone: "Asia/Tokyo" differs from the cron's TZ=UTC: give the zone once`)
	_, err = (&jobfile.ScheduleDef{Cron: "@daily", Shift: schedule.ShiftNext}).Schedule(nil)
	assert.EqualError(t, err, "schedule.shift: next: only with a calendar (it moves due times off non-business days)")
	_, err = (&jobfile.ScheduleDef{Cron: "@daily", Timezone: "Nowhere"}).Schedule(nil)
	assert.EqualError(t, err, `schedule.timezone: "Nowhere": unknown time zone (want an IANA name such as Asia/Tokyo or UTC)`)
	_, err = (&jobfile.ScheduleDef{Cron: "61 * * * *"}).Schedule(nil)
	assert.EqualError(t, err, `schedule.cron: cron "61 * * * *": minute: 61 out of range 0-59`)
	_, err = (&jobfile.ScheduleDef{}).Schedule(nil)
	assert.EqualError(t, err, `schedule.cron: required: when the network is due, such as "0 2 * * *", @daily or "@every 10m"`)
	_, err = (&jobfile.ScheduleDef{Cron: "@daily", Calendar: &jobfile.CalendarRef{Name: "business", Holidays: []schedule.Date{{Year: 2026, Month: 1, Day: 1}}}}).Schedule(calendars)
	assert.EqualError(t, err, "schedule: calendar: give a name or an inline calendar, not both")
	_, err = (&jobfile.ScheduleDef{Cron: "@daily", Calendar: &jobfile.CalendarRef{Weekdays: []schedule.Weekday{schedule.Monday, schedule.Monday}}}).Schedule(calendars)
	assert.EqualError(t, err, `schedule: calendar "inline": weekdays[1]: Monday listed twice`)
}
