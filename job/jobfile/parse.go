package jobfile

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/schedule"
	"github.com/minato-ops/minato/job/scheduler"
	"go.yaml.in/yaml/v3"
)

// Definition is a parsed job network definition. Build turns it into a
// runnable [job.Network].
type Definition struct {
	Name        string    `json:"name"`
	Concurrency int       `json:"concurrency,omitempty"`
	OutputLimit int64     `json:"output_limit,omitempty"`
	Units       []UnitDef `json:"units"`
	// Queue is the scheduler queue the network's units wait in; "" means
	// scheduler.DefaultQueue. Names are letters, digits, '.', '_' and '-'.
	Queue string `json:"queue,omitempty"`
	// Schedule says when `minato agent` runs the network; nil means only
	// when submitted.
	Schedule *ScheduleDef `json:"schedule,omitempty"`
}

// ScheduleDef is a Definition's schedule: a cron in a zone, optionally on
// a business-day calendar, with the scheduler's overlap and catch-up
// policies. [ScheduleDef.Schedule] turns it into a [schedule.Schedule].
type ScheduleDef struct {
	// Cron is the cron spec, as [schedule.ParseCron] reads it: 5 fields (6
	// with seconds first), a descriptor such as @daily or "@every 10m",
	// optionally after "TZ=Area/City ". Required.
	Cron string `json:"cron"`
	// Timezone is the IANA zone of the cron's wall times; "" means the
	// agent's local zone (or the cron's TZ= prefix, which must not say
	// otherwise).
	Timezone string `json:"timezone,omitempty"`
	// Calendar names a calendar defined in the agent's configuration;
	// InlineCalendar is one given in the definition itself (named
	// "inline"). At most one of them is set.
	Calendar       string             `json:"calendar,omitempty"`
	InlineCalendar *schedule.Calendar `json:"-"`
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

// InlineCalendarName is the Name of a calendar given inline in a
// definition's schedule.
const InlineCalendarName = "inline"

// Schedule builds the schedule.Schedule: the cron in its zone (Timezone, else
// the agent's local zone), on its calendar when it has one. A named
// calendar is looked up in calendars; an unknown name is an error naming
// it and listing the known ones.
func (s *ScheduleDef) Schedule(calendars map[string]*schedule.Calendar) (schedule.Schedule, error) {
	c, err := s.cron()
	if err != nil {
		return nil, err
	}
	cal := s.InlineCalendar
	if s.Calendar != "" {
		if cal != nil {
			return nil, fmt.Errorf("schedule: calendar: give a name or an inline calendar, not both")
		}
		if cal = calendars[s.Calendar]; cal == nil {
			known := slices.Sorted(maps.Keys(calendars))
			if len(known) == 0 {
				return nil, fmt.Errorf("schedule: calendar %q: no such calendar (none is defined)", s.Calendar)
			}
			return nil, fmt.Errorf("schedule: calendar %q: no such calendar (known: %s)", s.Calendar, strings.Join(known, ", "))
		}
	}
	if cal == nil {
		if s.Shift != "" && s.Shift != schedule.ShiftSkip {
			return nil, fmt.Errorf("schedule: shift %s: only with a calendar", s.Shift)
		}
		return c, nil
	}
	sched, err := schedule.OnCalendar(c, cal, s.Shift)
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	return sched, nil
}

// cron parses Cron in its zone: Timezone, else the TZ= prefix, else the
// local zone. A Timezone and a TZ= prefix that name different zones are an
// error.
func (s *ScheduleDef) cron() (*schedule.Cron, error) {
	loc := time.Local
	if s.Timezone != "" {
		l, err := time.LoadLocation(s.Timezone)
		if err != nil {
			return nil, fmt.Errorf("schedule: timezone %q: unknown time zone (want an IANA name such as Asia/Tokyo or UTC)", s.Timezone)
		}
		loc = l
	}
	c, err := schedule.ParseCron(s.Cron, loc)
	if err != nil {
		return nil, err
	}
	if prefix, ok := tzPrefix(s.Cron); ok && s.Timezone != "" && prefix != s.Timezone {
		return nil, fmt.Errorf("schedule: timezone %q differs from the cron's TZ=%s: give the zone once", s.Timezone, prefix)
	}
	return c, nil
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

// UnitDef is one unit of a Definition. Exactly one of Run, Exec, Host and
// Container is set.
type UnitDef struct {
	Name      string           `json:"name"`
	Needs     []string         `json:"needs,omitempty"`
	When      job.When         `json:"when"`
	Timeout   time.Duration    `json:"timeout,omitempty"`
	Retry     *job.RetryPolicy `json:"retry,omitempty"`
	Run       *RunDef          `json:"run,omitempty"`
	Exec      *ExecDef         `json:"exec,omitempty"`
	Host      *HostDef         `json:"host,omitempty"`
	Container *ContainerDef    `json:"container,omitempty"`
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
	Memory     int64             `json:"memory,omitempty"`
	CPUs       float64           `json:"cpus,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	StopSignal string            `json:"stop_signal,omitempty"`
	StopGrace  time.Duration     `json:"stop_grace,omitempty"`
	Keep       bool              `json:"keep,omitempty"`
}

// ExecDef runs the unit's command in a running container.
type ExecDef struct {
	Container string            `json:"container"`
	Command   []string          `json:"command"`
	Env       map[string]string `json:"env,omitempty"`
	User      string            `json:"user,omitempty"`
	WorkDir   string            `json:"workdir,omitempty"`
}

// HostDef runs a program on minato's own host.
type HostDef struct {
	Command []string          `json:"command"`
	Dir     string            `json:"dir,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
}

// ContainerDef is one of seed 002's container operations on the selected
// containers.
type ContainerDef struct {
	Action string        `json:"action"`
	Names  []string      `json:"names,omitempty"`
	IDs    []string      `json:"ids,omitempty"`
	Grace  time.Duration `json:"grace,omitempty"`
	Force  bool          `json:"force,omitempty"`
}

// ParseFile reads and parses a definition file (YAML or JSON).
func ParseFile(path string) (*Definition, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse parses a definition in YAML or JSON and checks it completely. The
// error lists every problem found, joined, each with its key path.
func Parse(data []byte) (*Definition, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("not valid YAML or JSON: %w", err)
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, errors.New("empty definition: want at least name and units")
	}
	w := &walker{}
	def := w.definition(root.Content[0])
	w.check(def)
	if err := errors.Join(w.errs...); err != nil {
		return nil, err
	}
	return def, nil
}

// walker decodes the node tree, collecting every problem.
type walker struct{ errs []error }

func (w *walker) errorf(path, format string, a ...any) {
	w.errs = append(w.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, a...)))
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "null"
	}
	return fmt.Sprintf("%q", n.Value)
}

// fields walks a mapping node, calling set for each known key and
// reporting unknown and repeated keys.
func (w *walker) fields(n *yaml.Node, path string, allowed []string, set func(key string, v *yaml.Node, p string)) bool {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(path, "want a mapping with keys %s, got %s", strings.Join(allowed, ", "), kindName(n))
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		p := join(path, k)
		switch {
		case !slices.Contains(allowed, k):
			w.errorf(p, "unknown key (allowed: %s)", strings.Join(allowed, ", "))
		case seen[k]:
			w.errorf(p, "given twice")
		default:
			seen[k] = true
			set(k, v, p)
		}
	}
	return true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (w *walker) str(n *yaml.Node, p string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		w.errorf(p, "want a string, got %s", kindName(n))
		return ""
	}
	return n.Value
}

func (w *walker) strList(n *yaml.Node, p string) []string {
	if n.Kind != yaml.SequenceNode {
		w.errorf(p, "want a list of strings, got %s", kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		out = append(out, w.str(c, fmt.Sprintf("%s[%d]", p, i)))
	}
	return out
}

func (w *walker) strMap(n *yaml.Node, p string) map[string]string {
	if n.Kind != yaml.MappingNode {
		w.errorf(p, "want a mapping of strings, got %s", kindName(n))
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if _, dup := out[k]; dup {
			w.errorf(join(p, k), "given twice")
		}
		out[k] = w.str(n.Content[i+1], join(p, k))
	}
	return out
}

func (w *walker) integer(n *yaml.Node, p string, min int64) int64 {
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if n.Kind != yaml.ScalarNode || err != nil {
		w.errorf(p, "want a whole number, got %s", kindName(n))
		return 0
	}
	if v < min {
		w.errorf(p, "%d: want %d or more", v, min)
	}
	return v
}

func (w *walker) number(n *yaml.Node, p string) float64 {
	v, err := strconv.ParseFloat(n.Value, 64)
	if n.Kind != yaml.ScalarNode || err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		w.errorf(p, "want a number, got %s", kindName(n))
		return 0
	}
	return v
}

func (w *walker) boolean(n *yaml.Node, p string) bool {
	v, err := strconv.ParseBool(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || n.Tag != "!!bool" && n.Tag != "!!str" {
		w.errorf(p, "want true or false, got %s", kindName(n))
	}
	return v
}

// duration reads "30s", "1m30s", "2h": Go duration syntax, positive.
func (w *walker) duration(n *yaml.Node, p string) time.Duration {
	if n.Kind != yaml.ScalarNode {
		w.errorf(p, "want a duration such as 30s or 1m30s, got %s", kindName(n))
		return 0
	}
	d, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		w.errorf(p, "%q: want a duration such as 30s or 1m30s (units ns, us, ms, s, m, h)", n.Value)
	case d <= 0:
		w.errorf(p, "%q: want a duration greater than 0", n.Value)
	}
	return d
}

// nonNegativeDuration is duration allowing 0 ("0", "0s").
func (w *walker) nonNegativeDuration(n *yaml.Node, p string) time.Duration {
	if n.Kind != yaml.ScalarNode {
		w.errorf(p, "want a duration such as 30s or 1m30s, got %s", kindName(n))
		return 0
	}
	d, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		w.errorf(p, "%q: want a duration such as 30s or 1m30s (units ns, us, ms, s, m, h)", n.Value)
	case d < 0:
		w.errorf(p, "%q: want a duration of 0 or more", n.Value)
	}
	return d
}

func (w *walker) definition(n *yaml.Node) *Definition {
	def := &Definition{}
	w.fields(n, "", []string{"name", "concurrency", "output_limit", "queue", "schedule", "units"}, func(k string, v *yaml.Node, p string) {
		switch k {
		case "name":
			def.Name = w.str(v, p)
		case "queue":
			if def.Queue = w.str(v, p); !scheduler.ValidName(def.Queue) && v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
				w.errorf(p, "%q: want a queue name of letters, digits, '.', '_' and '-'", def.Queue)
			}
		case "schedule":
			def.Schedule = w.schedule(v, p)
		case "concurrency":
			def.Concurrency = int(w.integer(v, p, 0))
		case "output_limit":
			def.OutputLimit = w.integer(v, p, 1)
		case "units":
			if v.Kind != yaml.SequenceNode {
				w.errorf(p, "want a list of units, got %s", kindName(v))
				return
			}
			for i, u := range v.Content {
				def.Units = append(def.Units, w.unit(u, fmt.Sprintf("units[%d]", i)))
			}
		}
	})
	return def
}

func (w *walker) schedule(n *yaml.Node, path string) *ScheduleDef {
	s := &ScheduleDef{}
	calendarGiven := false
	w.fields(n, path, []string{"cron", "timezone", "calendar", "shift", "overlap", "catch_up"}, func(k string, v *yaml.Node, p string) {
		switch k {
		case "cron":
			s.Cron = w.str(v, p)
		case "timezone":
			if s.Timezone = w.str(v, p); s.Timezone != "" {
				if _, err := time.LoadLocation(s.Timezone); err != nil {
					w.errorf(p, "%q: unknown time zone (want an IANA name such as Asia/Tokyo or UTC)", s.Timezone)
				}
			} else if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
				w.errorf(p, "empty: leave it out for the agent's local zone")
			}
		case "calendar":
			calendarGiven = true
			if v.Kind == yaml.MappingNode || v.Kind == yaml.AliasNode && v.Alias != nil && v.Alias.Kind == yaml.MappingNode {
				s.InlineCalendar = w.calendar(v, p)
				return
			}
			if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
				w.errorf(p, "want the name of a calendar of the agent's configuration, or a mapping with keys weekdays, holidays, workdays; got %s", kindName(v))
				return
			}
			if s.Calendar = v.Value; s.Calendar == "" {
				w.errorf(p, "empty: give the name of a calendar of the agent's configuration")
			}
		case "shift":
			switch s.Shift = schedule.Shift(w.str(v, p)); s.Shift {
			case schedule.ShiftSkip, schedule.ShiftNext, schedule.ShiftPrevious:
			default:
				if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
					w.errorf(p, "%q: want skip, next or previous", string(s.Shift))
				}
			}
		case "overlap":
			switch s.Overlap = scheduler.Overlap(w.str(v, p)); s.Overlap {
			case scheduler.OverlapSkip, scheduler.OverlapQueue, scheduler.OverlapReplace, scheduler.OverlapAllow:
			default:
				if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
					w.errorf(p, "%q: want skip, queue, replace or allow", string(s.Overlap))
				}
			}
		case "catch_up":
			s.CatchUp = w.nonNegativeDuration(v, p)
		}
	})
	if n.Kind != yaml.MappingNode && !(n.Kind == yaml.AliasNode && n.Alias != nil && n.Alias.Kind == yaml.MappingNode) {
		return s // fields reported it
	}
	if s.Cron == "" {
		w.errorf(join(path, "cron"), `required: when the network is due, such as "0 2 * * *", @daily or "@every 10m"`)
		return s
	}
	c, err := schedule.ParseCron(s.Cron, time.UTC)
	if err != nil {
		w.errorf(join(path, "cron"), "%v", err)
		return s
	}
	if prefix, ok := tzPrefix(s.Cron); ok && s.Timezone != "" && prefix != s.Timezone {
		w.errorf(join(path, "timezone"), "%q differs from the cron's TZ=%s: give the zone once", s.Timezone, prefix)
	}
	if s.Shift != "" && s.Shift != schedule.ShiftSkip {
		switch {
		case !calendarGiven:
			w.errorf(join(path, "shift"), "%s: only with a calendar (it moves due times off non-business days)", s.Shift)
		case c.Every() > 0:
			w.errorf(join(path, "shift"), "%s: needs a field schedule: a shift moves a wall time, and %s has none", s.Shift, s.Cron)
		}
	}
	return s
}

// calendar reads an inline calendar: weekdays, holidays, workdays.
func (w *walker) calendar(n *yaml.Node, path string) *schedule.Calendar {
	cal := &schedule.Calendar{Name: InlineCalendarName}
	// each calls parse on every string of the list v, reporting what is
	// not a string and what parse rejects.
	each := func(v *yaml.Node, p, what string, parse func(s string) error) {
		if v.Kind != yaml.SequenceNode {
			w.errorf(p, "want a list of %s, got %s", what, kindName(v))
			return
		}
		for i, c := range v.Content {
			ip := fmt.Sprintf("%s[%d]", p, i)
			if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
				w.errorf(ip, "want a string, got %s", kindName(c))
			} else if err := parse(c.Value); err != nil {
				w.errorf(ip, "%v", err)
			}
		}
	}
	dates := func(v *yaml.Node, p string) []schedule.Date {
		var out []schedule.Date
		each(v, p, "dates (YYYY-MM-DD)", func(s string) error {
			d, err := schedule.ParseDate(s)
			if err == nil {
				out = append(out, d)
			}
			return err
		})
		return out
	}
	w.fields(n, path, []string{"weekdays", "holidays", "workdays"}, func(k string, v *yaml.Node, p string) {
		switch k {
		case "weekdays":
			if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				w.errorf(p, "empty: leave it out for Monday to Friday")
			}
			each(v, p, "weekdays (mon, tue, ...)", func(s string) error {
				wd, err := schedule.ParseWeekday(s)
				if err == nil {
					cal.Weekdays = append(cal.Weekdays, wd)
				}
				return err
			})
		case "holidays":
			cal.Holidays = dates(v, p)
		case "workdays":
			cal.Workdays = dates(v, p)
		}
	})
	if err := cal.Validate(); err != nil {
		for _, e := range unjoin(err) {
			w.errorf(path, "%s", strings.TrimPrefix(e.Error(), fmt.Sprintf("calendar %q: ", cal.Name)))
		}
	}
	return cal
}

// unjoin returns the errors joined in err, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (w *walker) unit(n *yaml.Node, path string) UnitDef {
	var u UnitDef
	w.fields(n, path, []string{"name", "needs", "when", "timeout", "retry", "run", "exec", "host", "container"}, func(k string, v *yaml.Node, p string) {
		switch k {
		case "name":
			u.Name = w.str(v, p)
		case "needs":
			u.Needs = w.strList(v, p)
		case "when":
			u.When = w.when(v, p)
		case "timeout":
			u.Timeout = w.duration(v, p)
		case "retry":
			u.Retry = w.retry(v, p)
		case "run":
			u.Run = w.run(v, p)
		case "exec":
			u.Exec = w.exec(v, p)
		case "host":
			u.Host = w.host(v, p)
		case "container":
			u.Container = w.container(v, p)
		}
	})
	return u
}

func (w *walker) when(n *yaml.Node, p string) job.When {
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "success", "failure", "always":
			return job.When{On: n.Value}
		}
		w.errorf(p, "%q: want success, failure, always or {codes: [...]}", n.Value)
		return job.When{}
	}
	var wh job.When
	w.fields(n, p, []string{"codes"}, func(k string, v *yaml.Node, p string) {
		if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
			w.errorf(p, "want a non-empty list of exit codes")
			return
		}
		for i, c := range v.Content {
			wh.Codes = append(wh.Codes, int(w.integer(c, fmt.Sprintf("%s[%d]", p, i), 0)))
		}
	})
	return wh
}

func (w *walker) retry(n *yaml.Node, path string) *job.RetryPolicy {
	r := &job.RetryPolicy{}
	decision := func(v *yaml.Node, p string) job.Decision {
		s := w.str(v, p)
		switch job.Decision(s) {
		case job.DecideRetry, job.DecideFail, job.DecideIgnore:
			return job.Decision(s)
		}
		if s != "" {
			w.errorf(p, "%q: want retry, fail or ignore", s)
		}
		return ""
	}
	w.fields(n, path, []string{"limit", "delay", "backoff", "max_delay", "on_exit", "default", "retry_errors"}, func(k string, v *yaml.Node, p string) {
		switch k {
		case "limit":
			r.Limit = int(w.integer(v, p, 0))
		case "delay":
			r.Delay = w.duration(v, p)
		case "backoff":
			if r.Backoff = w.number(v, p); r.Backoff != 0 && r.Backoff < 1 {
				w.errorf(p, "%v: want 1 or more (the delay's multiplier per retry)", r.Backoff)
			}
		case "max_delay":
			r.MaxDelay = w.duration(v, p)
		case "default":
			r.Default = decision(v, p)
		case "retry_errors":
			r.RetryErrors = w.boolean(v, p)
		case "on_exit":
			if v.Kind != yaml.MappingNode {
				w.errorf(p, "want a mapping of exit code to retry, fail or ignore, got %s", kindName(v))
				return
			}
			r.OnExit = map[int]job.Decision{}
			for i := 0; i+1 < len(v.Content); i += 2 {
				kp := join(p, v.Content[i].Value)
				code, err := strconv.Atoi(v.Content[i].Value)
				if err != nil || code < 0 || code > 255 {
					w.errorf(kp, "want an exit code from 0 to 255")
					continue
				}
				r.OnExit[code] = decision(v.Content[i+1], kp)
			}
		}
	})
	return r
}

func (w *walker) run(n *yaml.Node, path string) *RunDef {
	r := &RunDef{}
	w.fields(n, path, []string{"image", "command", "entrypoint", "env", "workdir", "user", "mounts", "network", "memory", "cpus", "labels", "stop_signal", "stop_grace", "keep"}, func(k string, v *yaml.Node, p string) {
		switch k {
		case "image":
			r.Image = w.str(v, p)
		case "command":
			r.Command = w.strList(v, p)
		case "entrypoint":
			r.Entrypoint = w.strList(v, p)
		case "env":
			r.Env = w.strMap(v, p)
		case "workdir":
			r.WorkDir = w.str(v, p)
		case "user":
			r.User = w.str(v, p)
		case "mounts":
			r.Mounts = w.strList(v, p)
			for i, m := range r.Mounts {
				if parts := strings.Split(m, ":"); len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !strings.HasPrefix(parts[1], "/") {
					w.errorf(fmt.Sprintf("%s[%d]", p, i), "%q: want HOST:CONTAINER[:ro|rw] with an absolute container path", m)
				}
			}
		case "network":
			r.Network = w.str(v, p)
		case "memory":
			r.Memory = w.integer(v, p, 6<<20) // the engine's minimum is 6 MiB
		case "cpus":
			if r.CPUs = w.number(v, p); r.CPUs <= 0 {
				w.errorf(p, "%v: want a number of CPUs greater than 0, such as 0.5 or 2", r.CPUs)
			}
		case "labels":
			r.Labels = w.strMap(v, p)
		case "stop_signal":
			r.StopSignal = w.str(v, p)
		case "stop_grace":
			r.StopGrace = w.duration(v, p)
		case "keep":
			r.Keep = w.boolean(v, p)
		}
	})
	if r.Image == "" {
		w.errorf(join(path, "image"), "required: the image to run (minato never pulls: it must be on the engine)")
	}
	return r
}

func (w *walker) exec(n *yaml.Node, path string) *ExecDef {
	e := &ExecDef{}
	w.fields(n, path, []string{"container", "command", "env", "user", "workdir"}, func(k string, v *yaml.Node, p string) {
		switch k {
		case "container":
			e.Container = w.str(v, p)
		case "command":
			e.Command = w.strList(v, p)
		case "env":
			e.Env = w.strMap(v, p)
		case "user":
			e.User = w.str(v, p)
		case "workdir":
			e.WorkDir = w.str(v, p)
		}
	})
	if e.Container == "" {
		w.errorf(join(path, "container"), "required: the name or ID of a running container")
	} else if strings.Contains(e.Container, "*") {
		w.errorf(join(path, "container"), "%q: exec takes one container: give its exact name or ID", e.Container)
	}
	if len(e.Command) == 0 {
		w.errorf(join(path, "command"), "required: the command as a list, such as [transform, --fast]")
	}
	return e
}

func (w *walker) host(n *yaml.Node, path string) *HostDef {
	h := &HostDef{}
	w.fields(n, path, []string{"command", "dir", "env"}, func(k string, v *yaml.Node, p string) {
		switch k {
		case "command":
			h.Command = w.strList(v, p)
		case "dir":
			h.Dir = w.str(v, p)
		case "env":
			h.Env = w.strMap(v, p)
		}
	})
	if len(h.Command) == 0 {
		w.errorf(join(path, "command"), "required: the program and its arguments as a list")
	}
	return h
}

func (w *walker) container(n *yaml.Node, path string) *ContainerDef {
	c := &ContainerDef{}
	w.fields(n, path, []string{"action", "names", "ids", "grace", "force"}, func(k string, v *yaml.Node, p string) {
		switch k {
		case "action":
			c.Action = w.str(v, p)
		case "names":
			c.Names = w.strList(v, p)
		case "ids":
			c.IDs = w.strList(v, p)
		case "grace":
			c.Grace = w.duration(v, p)
		case "force":
			c.Force = w.boolean(v, p)
		}
	})
	switch c.Action {
	case "start", "stop", "restart", "remove":
	default:
		w.errorf(join(path, "action"), "%q: want start, stop, restart or remove", c.Action)
	}
	if (len(c.Names) == 0) == (len(c.IDs) == 0) {
		w.errorf(path, "give names or ids (one of them), with a trailing * for a prefix")
	}
	return c
}

// check does the cross-unit checks: names, needs, cycles, one action kind.
func (w *walker) check(def *Definition) {
	if def.Name == "" {
		w.errorf("name", "required: the network's name")
	}
	if len(def.Units) == 0 {
		w.errorf("units", "required: at least one unit")
	}
	index := map[string]int{}
	for i, u := range def.Units {
		p := fmt.Sprintf("units[%d]", i)
		switch {
		case u.Name == "":
			w.errorf(p+".name", "required")
		case strings.ContainsAny(u.Name, " \t/"):
			w.errorf(p+".name", "%q: no spaces or slashes", u.Name)
		default:
			if j, dup := index[u.Name]; dup {
				w.errorf(p+".name", "%q is also the name of units[%d]", u.Name, j)
			} else {
				index[u.Name] = i
			}
		}
		kinds := 0
		for _, set := range []bool{u.Run != nil, u.Exec != nil, u.Host != nil, u.Container != nil} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			w.errorf(p, "give exactly one of run, exec, host or container (found %d)", kinds)
		}
		if (u.When.On != "" || len(u.When.Codes) > 0) && len(u.Needs) == 0 {
			w.errorf(p+".when", "a condition needs units to look at: add needs")
		}
	}
	for i, u := range def.Units {
		for j, n := range u.Needs {
			p := fmt.Sprintf("units[%d].needs[%d]", i, j)
			switch _, ok := index[n]; {
			case n == u.Name:
				w.errorf(p, "unit %q needs itself", n)
			case !ok:
				w.errorf(p, "no unit is named %q", n)
			}
		}
	}
	if cycle := findCycle(def.Units, index); cycle != nil {
		w.errorf("units", "cycle in needs: %s", strings.Join(cycle, " -> "))
	}
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
