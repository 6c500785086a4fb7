package jobfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/internal/strictyaml"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/schedule"
	"github.com/minato-ops/minato/job/scheduler"
)

// Definition is a parsed job network definition. Build turns it into a
// runnable [job.Network].
type Definition struct {
	Name string `json:"name"`
	// Concurrency is how many units run at once; 0 means no limit.
	Concurrency int `json:"concurrency,omitempty"`
	// OutputLimit is how many bytes of each unit's output are kept in
	// memory; 0 means 1 MiB.
	OutputLimit int64     `json:"output_limit,omitempty"`
	Units       []UnitDef `json:"units"`
	// Queue is the scheduler queue the network's units wait in; "" means
	// scheduler.DefaultQueue. Names are letters, digits, '.', '_' and '-'.
	Queue string `json:"queue,omitempty"`
	// Schedule says when `minato agent` runs the network; nil means only
	// when submitted.
	Schedule *ScheduleDef `json:"schedule,omitempty"`
	// Group is the failover group (the agent's ha: groups) the network
	// belongs to: it runs only on the node that holds the group, and each
	// due time once across a failover (scheduler.Entry.Group).
	Group string `json:"group,omitempty"`
}

// ScheduleDef is a Definition's schedule: a cron in a zone, optionally on
// a business-day calendar, with the scheduler's overlap and catch-up
// policies. [ScheduleDef.Schedule] turns it into a [schedule.Schedule].
// In a file it is a mapping of these fields or, for a cron alone, the cron
// spec as a plain string (`schedule: "0 2 * * *"`).
type ScheduleDef struct {
	// Cron is the cron spec, as [schedule.ParseCron] reads it: 5 fields (6
	// with seconds first), a descriptor such as @daily or "@every 10m",
	// optionally after "TZ=Area/City ". Required.
	Cron string `json:"cron"`
	// Timezone is the IANA zone of the cron's wall times; "" means the
	// agent's local zone (or the cron's TZ= prefix, which must not say
	// otherwise).
	Timezone string `json:"timezone,omitempty"`
	// Calendar is the business-day calendar the network runs on; nil means
	// every day.
	Calendar *CalendarRef `json:"calendar,omitempty"`
	// Shift moves due times that fall on non-business days ("" means
	// schedule.ShiftSkip); only with a calendar.
	Shift schedule.Shift `json:"shift,omitempty"`
	// Overlap is the policy for a run due while an earlier one has not
	// finished; "" means scheduler.OverlapSkip.
	Overlap scheduler.Overlap `json:"overlap,omitempty"`
	// CatchUp is how far back a due time missed while the agent was down
	// is still run; 0 means none is.
	CatchUp time.Duration `json:"catch_up,omitempty"`
}

// CalendarRef is a schedule's calendar: the name of a calendar of the
// agent's configuration, written as a plain string (`calendar: business`),
// or a calendar given inline as a mapping of Weekdays, Holidays and
// Workdays (see [schedule.Calendar]), named "inline" in messages.
type CalendarRef struct {
	// Name is the name of one of the agent's calendars; "" for an inline
	// calendar.
	Name     string             `json:"-"`
	Weekdays []schedule.Weekday `json:"weekdays,omitempty"`
	Holidays []schedule.Date    `json:"holidays,omitempty"`
	Workdays []schedule.Date    `json:"workdays,omitempty"`
}

// InlineCalendarName is the Name of a calendar given inline in a
// definition's schedule.
const InlineCalendarName = "inline"

// UnmarshalText sets the schedule from a cron spec alone.
func (s *ScheduleDef) UnmarshalText(text []byte) error {
	*s = ScheduleDef{Cron: string(text)}
	return nil
}

// Validate reports the problems of the schedule's own fields, joined, each
// as "key: text": cron required, unknown shift or overlap, a shift without
// a calendar. The Calendar has its own Validate; whether the cron parses
// in its zone needs the zone database, which Parse and Schedule read.
func (s *ScheduleDef) Validate() error {
	var p problems
	if s.Cron == "" {
		p.add(`cron: required: when the network is due, such as "0 2 * * *", @daily or "@every 10m"`)
	}
	switch s.Shift {
	case "", schedule.ShiftSkip, schedule.ShiftNext, schedule.ShiftPrevious:
	default:
		p.add("shift: %s: want skip, next or previous", strictyaml.Quote(string(s.Shift)))
	}
	switch s.Overlap {
	case "", scheduler.OverlapSkip, scheduler.OverlapQueue, scheduler.OverlapReplace, scheduler.OverlapAllow:
	default:
		p.add("overlap: %s: want skip, queue, replace or allow", strictyaml.Quote(string(s.Overlap)))
	}
	if s.shifts() && s.Calendar == nil {
		p.add("shift: %s: only with a calendar (it moves due times off non-business days)", s.Shift)
	}
	return p.err()
}

// shifts reports whether Shift moves due times.
func (s *ScheduleDef) shifts() bool {
	return s.Shift == schedule.ShiftNext || s.Shift == schedule.ShiftPrevious
}

// cron parses Cron in its zone: Timezone, else the TZ= prefix, else the
// local zone. Its problems are "key: text": an unknown zone, a cron that
// does not parse, a Timezone and a TZ= prefix that differ, a shift on an
// @every cron.
func (s *ScheduleDef) cron() (*schedule.Cron, error) {
	var p problems
	loc := time.Local
	if s.Timezone != "" {
		l, err := time.LoadLocation(s.Timezone)
		if err != nil {
			p.add("timezone: %s: unknown time zone (want an IANA name such as Asia/Tokyo or UTC)", strictyaml.Quote(s.Timezone))
			l = time.UTC // still check the cron
		}
		loc = l
	}
	c, err := schedule.ParseCron(s.Cron, loc)
	if err != nil {
		p.add("cron: %s", strings.ReplaceAll(err.Error(), strconv.Quote(s.Cron), strictyaml.Quote(s.Cron)))
		return nil, p.err()
	}
	if prefix, ok := tzPrefix(s.Cron); ok && s.Timezone != "" && prefix != s.Timezone {
		p.add("timezone: %s differs from the cron's TZ=%s: give the zone once", strictyaml.Quote(s.Timezone), prefix)
	}
	if s.shifts() && s.Calendar != nil && c.Every() > 0 {
		p.add("shift: %s: needs a field schedule: a shift moves a wall time, and %s has none", s.Shift, s.Cron)
	}
	return c, p.err()
}

// Schedule builds the schedule.Schedule: the cron in its zone (Timezone,
// else the agent's local zone), on its calendar when it has one. A named
// calendar is looked up in calendars; an unknown name is an error naming
// it and listing the known ones. A ScheduleDef made in Go is checked as
// Parse checks one.
func (s *ScheduleDef) Schedule(calendars map[string]*schedule.Calendar) (schedule.Schedule, error) {
	if err := s.Validate(); err != nil {
		return nil, under("schedule", err)
	}
	c, err := s.cron()
	if err != nil {
		return nil, under("schedule", err)
	}
	if s.Calendar == nil {
		return c, nil
	}
	cal, err := s.Calendar.calendar(calendars)
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	sched, err := schedule.OnCalendar(c, cal, s.Shift)
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	return sched, nil
}

// tzPrefix returns the zone of a cron's "TZ=" or "CRON_TZ=" prefix.
func tzPrefix(spec string) (string, bool) {
	fields := strings.Fields(spec)
	if len(fields) == 0 {
		return "", false
	}
	key, name, ok := strings.Cut(fields[0], "=")
	if !ok || !strings.EqualFold(key, "TZ") && !strings.EqualFold(key, "CRON_TZ") {
		return "", false
	}
	return name, true
}

// UnmarshalText sets the name of one of the agent's calendars.
func (r *CalendarRef) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		return errors.New("want the name of a calendar of the agent's configuration")
	}
	*r = CalendarRef{Name: string(text)}
	return nil
}

// Validate reports the problems of an inline calendar (as
// [schedule.Calendar.Validate], and an empty list of weekdays), joined, and
// a reference that has both a name and inline days.
func (r *CalendarRef) Validate() error {
	if r.Name != "" {
		if r.Weekdays != nil || r.Holidays != nil || r.Workdays != nil {
			return errors.New("give a name or an inline calendar, not both")
		}
		return nil
	}
	var p problems
	if r.Weekdays != nil && len(r.Weekdays) == 0 {
		p.add("weekdays: empty: leave it out for Monday to Friday")
	}
	prefix := fmt.Sprintf("calendar %q: ", InlineCalendarName)
	for _, e := range unjoin(r.inline().Validate()) {
		p.add("%s", strings.TrimPrefix(e.Error(), prefix))
	}
	return p.err()
}

// inline returns the inline calendar.
func (r *CalendarRef) inline() *schedule.Calendar {
	return &schedule.Calendar{Name: InlineCalendarName, Weekdays: r.Weekdays, Holidays: r.Holidays, Workdays: r.Workdays}
}

// calendar returns the named calendar from calendars, or the inline one.
func (r *CalendarRef) calendar(calendars map[string]*schedule.Calendar) (*schedule.Calendar, error) {
	if r.Name == "" {
		return r.inline(), nil
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	if cal := calendars[r.Name]; cal != nil {
		return cal, nil
	}
	known := slices.Sorted(maps.Keys(calendars))
	if len(known) == 0 {
		return nil, fmt.Errorf("calendar %s: no such calendar (none is defined)", strictyaml.Quote(r.Name))
	}
	return nil, fmt.Errorf("calendar %s: no such calendar (known: %s)", strictyaml.Quote(r.Name), strings.Join(known, ", "))
}

// UnitDef is one unit of a Definition. Exactly one of Run, Exec, Host and
// Container is set.
type UnitDef struct {
	Name    string        `json:"name"`
	Needs   []string      `json:"needs,omitempty"`
	When    job.When      `json:"when"`
	Timeout time.Duration `json:"timeout,omitempty"`
	// Retry is the retry policy, checked by its own Validate; exit codes
	// in OnExit are 0-255.
	Retry     *job.RetryPolicy `json:"retry,omitempty"`
	Run       *RunDef          `json:"run,omitempty"`
	Exec      *ExecDef         `json:"exec,omitempty"`
	Host      *HostDef         `json:"host,omitempty"`
	Container *ContainerDef    `json:"container,omitempty"`
}

// Validate reports the problems of the unit's own fields, joined, each as
// "key: text" or about the unit as a whole. Its action (Run, Exec, Host or
// Container) and Retry have their own Validate; names in Needs are checked
// by [Definition.Validate].
func (u *UnitDef) Validate() error {
	var p problems
	switch {
	case u.Name == "":
		p.add("name: required")
	case strings.ContainsAny(u.Name, " \t/"):
		p.add("name: %s: no spaces or slashes", strictyaml.Quote(u.Name))
	}
	kinds := 0
	for _, set := range []bool{u.Run != nil, u.Exec != nil, u.Host != nil, u.Container != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		p.add("give exactly one of run, exec, host or container (found %d)", kinds)
	}
	w := u.When
	switch {
	case !slices.Contains([]string{"", job.WhenSuccess, job.WhenFailure, job.WhenAlways, job.WhenExit}, w.On):
		p.add("when.on: %s: want success, failure, always or exit", strictyaml.Quote(w.On))
	case w.Codes != nil && len(w.Codes) == 0 || w.On == job.WhenExit && len(w.Codes) == 0:
		p.add("when.codes: want a non-empty list of exit codes")
	case len(w.Codes) > 0 && w.On != "" && w.On != job.WhenExit:
		p.add("when.codes: only without on (or with on: exit)")
	case (w.On != "" || len(w.Codes) > 0) && len(u.Needs) == 0:
		p.add("when: a condition needs units to look at: add needs")
	}
	for i, c := range w.Codes {
		if c < 0 || c > 255 {
			p.add("when.codes[%d]: %d: want an exit code from 0 to 255", i, c)
		}
	}
	if u.Retry != nil {
		for _, c := range slices.Sorted(maps.Keys(u.Retry.OnExit)) {
			if c < 0 || c > 255 {
				p.add("retry.on_exit[%d]: want an exit code from 0 to 255", c)
			}
		}
	}
	return p.err()
}

// RunDef runs the unit in a new container.
type RunDef struct {
	Image      string            `json:"image"`
	Command    []string          `json:"command,omitempty"`
	Entrypoint []string          `json:"entrypoint,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	WorkDir    string            `json:"workdir,omitempty"`
	User       string            `json:"user,omitempty"`
	Mounts     []string          `json:"mounts,omitempty"`
	Network    string            `json:"network,omitempty"`
	// Memory is the memory limit in bytes, at least 6 MiB (the engine's
	// minimum); 0 means none.
	Memory int64 `json:"memory,omitempty"`
	// CPUs is how many CPUs the container may use (0.5, 2); 0 means no
	// limit.
	CPUs       float64           `json:"cpus,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	StopSignal string            `json:"stop_signal,omitempty"`
	StopGrace  time.Duration     `json:"stop_grace,omitempty"`
	Keep       bool              `json:"keep,omitempty"`
}

// Validate reports the problems of the run, joined, each as "key: text".
func (r *RunDef) Validate() error {
	var p problems
	if r.Image == "" {
		p.add("image: required: the image to run (minato never pulls: it must be on the engine)")
	}
	for i, m := range r.Mounts {
		if parts := strings.Split(m, ":"); len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !strings.HasPrefix(parts[1], "/") {
			p.add("mounts[%d]: %s: want HOST:CONTAINER[:ro|rw] with an absolute container path", i, strictyaml.Quote(m))
		}
	}
	if r.Memory != 0 && r.Memory < 6<<20 {
		p.add("memory: %d: want %d or more", r.Memory, 6<<20)
	}
	if r.CPUs < 0 {
		p.add("cpus: %v: want a number of CPUs greater than 0, such as 0.5 or 2", r.CPUs)
	}
	return p.err()
}

// ExecDef runs the unit's command in a running container.
type ExecDef struct {
	Container string            `json:"container"`
	Command   []string          `json:"command"`
	Env       map[string]string `json:"env,omitempty"`
	User      string            `json:"user,omitempty"`
	WorkDir   string            `json:"workdir,omitempty"`
}

// Validate reports the problems of the exec, joined, each as "key: text".
func (e *ExecDef) Validate() error {
	var p problems
	if e.Container == "" {
		p.add("container: required: the name or ID of a running container")
	} else if strings.Contains(e.Container, "*") {
		p.add("container: %s: exec takes one container: give its exact name or ID", strictyaml.Quote(e.Container))
	}
	if len(e.Command) == 0 {
		p.add("command: required: the command as a list, such as [transform, --fast]")
	}
	return p.err()
}

// HostDef runs a program on minato's own host.
type HostDef struct {
	Command []string          `json:"command"`
	Dir     string            `json:"dir,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
}

// Validate reports the problem of the host command, as "key: text".
func (h *HostDef) Validate() error {
	if len(h.Command) == 0 {
		return errors.New("command: required: the program and its arguments as a list")
	}
	return nil
}

// ContainerDef is one of the container operations of the Hinemos Docker
// job scripts (start, stop, restart, remove) on the selected
// containers: by names or ids (not both), or by repository scopes (the
// nodes of those scopes, on every engine; names or ids then narrow the
// selection), as a JobCenter or Hinemos job runs on a scope.
type ContainerDef struct {
	Action string        `json:"action"`
	Names  []string      `json:"names,omitempty"`
	IDs    []string      `json:"ids,omitempty"`
	Scopes []string      `json:"scopes,omitempty"`
	Grace  time.Duration `json:"grace,omitempty"`
	Force  bool          `json:"force,omitempty"`
}

// Validate reports the problems of the operation, joined.
func (c *ContainerDef) Validate() error {
	var p problems
	switch c.Action {
	case "start", "stop", "restart", "remove":
	default:
		p.add("action: %s: want start, stop, restart or remove", strictyaml.Quote(c.Action))
	}
	switch {
	case len(c.Names) > 0 && len(c.IDs) > 0:
		p.add("give names or ids, not both")
	case len(c.Names) == 0 && len(c.IDs) == 0 && len(c.Scopes) == 0:
		p.add("give names or ids (with a trailing * for a prefix), or scopes")
	}
	for _, sc := range c.Scopes {
		if err := inventory.ValidFacilityID(sc); err != nil {
			p.add("scopes: %s", strings.TrimPrefix(err.Error(), "inventory: invalid: "))
		}
	}
	return p.err()
}

// ParseFile reads and parses a definition file (YAML or JSON) of at most
// strictyaml.MaxBytes (4 MiB).
func ParseFile(path string) (*Definition, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, strictyaml.MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > strictyaml.MaxBytes {
		return nil, fmt.Errorf("%s: more than the %d MiB a definition may have", path, strictyaml.MaxBytes>>20)
	}
	return Parse(b)
}

// Parse parses a definition in YAML or JSON and checks it completely: the
// schedule's time zones are looked up in the zone database, named
// calendars are left to [ScheduleDef.Schedule]. The error lists every
// problem found (up to 100), one a line, each with its key path. A
// document larger than 4 MiB, or whose aliases expand to more than 100000
// values, is refused at once.
func Parse(data []byte) (*Definition, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty definition: want at least name and units")
	}
	def := &Definition{}
	whole := func() error {
		err := def.Validate()
		if s := def.Schedule; s != nil && s.Cron != "" {
			_, zerr := s.cron()
			err = errors.Join(err, under("schedule", zerr))
		}
		return err
	}
	if err := (strictyaml.Options{Validate: whole}).Unmarshal(data, def); err != nil {
		return nil, err
	}
	return def, nil
}

// Validate reports the problems of the definition's own fields and those
// across units, joined, each as "key: text": name and units required,
// concurrency, output limit and queue name, duplicate unit names, needs
// that name no unit or the unit itself, and cycles. Each unit, its action
// and the schedule have their own Validate, which Parse calls.
func (d *Definition) Validate() error {
	var p problems
	if d.Name == "" {
		p.add("name: required: the network's name")
	}
	if d.Concurrency < 0 {
		p.add("concurrency: %d: want 0 or more", d.Concurrency)
	}
	if d.OutputLimit < 0 {
		p.add("output_limit: %d: want 0 (1 MiB) or more", d.OutputLimit)
	}
	if d.Queue != "" && !scheduler.ValidName(d.Queue) {
		p.add("queue: %s: want a queue name of letters, digits, '.', '_' and '-'", strictyaml.Quote(d.Queue))
	}
	if d.Group != "" && inventory.ValidFacilityID(d.Group) != nil {
		p.add("group: %s: want a failover group's name (letters, digits, -, _, . or @)", strictyaml.Quote(d.Group))
	}
	if len(d.Units) == 0 {
		p.add("units: required: at least one unit")
	}
	index := map[string]int{}
	for i, u := range d.Units {
		if j, dup := index[u.Name]; dup {
			p.add("units[%d].name: %s is also the name of units[%d]", i, strictyaml.Quote(u.Name), j)
		} else if u.Name != "" {
			index[u.Name] = i
		}
	}
	for i, u := range d.Units {
		for j, n := range u.Needs {
			switch _, ok := index[n]; {
			case n == u.Name:
				p.add("units[%d].needs[%d]: unit %s needs itself", i, j, strictyaml.Quote(n))
			case !ok:
				p.add("units[%d].needs[%d]: no unit is named %s", i, j, strictyaml.Quote(n))
			}
		}
	}
	if cycle := findCycle(d.Units, index); cycle != nil {
		p.add("units: cycle in needs: %s", strings.Join(cycle, " -> "))
	}
	return p.err()
}

// findCycle returns one cycle of needs as unit names (first == last), or nil.
func findCycle(units []UnitDef, index map[string]int) []string {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(units))
	var stack []string
	var found []string
	var visit func(i int) bool
	visit = func(i int) bool {
		color[i] = grey
		stack = append(stack, units[i].Name)
		for _, n := range units[i].Needs {
			j, ok := index[n]
			if !ok || n == units[i].Name {
				continue
			}
			if color[j] == grey {
				k := slices.Index(stack, n)
				found = append(append([]string{}, stack[k:]...), n)
				return true
			}
			if color[j] == white && visit(j) {
				return true
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
		return false
	}
	for i := range units {
		if color[i] == white && visit(i) {
			return found
		}
	}
	return nil
}

// problems collects a Validate method's problems.
type problems []error

func (p *problems) add(format string, a ...any) {
	*p = append(*p, fmt.Errorf(format, a...))
}

func (p problems) err() error { return errors.Join(p...) }

// under puts each problem of err ("key: text") under the key path prefix.
func under(prefix string, err error) error {
	var p problems
	for _, e := range unjoin(err) {
		p.add("%s.%s", prefix, e.Error())
	}
	return p.err()
}

// unjoin returns the errors joined in err, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}
