package agent

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/minato-ops/minato/job/jobfile"
	"github.com/minato-ops/minato/job/schedule"
	"github.com/minato-ops/minato/job/scheduler"
)

// jobnetFile is one configured job network file, read and parsed.
type jobnetFile struct {
	path     string
	data     []byte
	def      *jobfile.Definition
	schedule schedule.Schedule // nil: run only when submitted
}

// compiledJobs is the scheduler's part of a valid Config.
type compiledJobs struct {
	calendars map[string]*schedule.Calendar
	nets      []jobnetFile
}

// compileJobs reads the jobnet files and converts the calendars, returning
// every problem of the scheduler's keys (jobnets, queues, calendars, jobs,
// api), each with its key path.
func (c Config) compileJobs() (compiledJobs, []error) {
	var errs []error
	add := func(path, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, a...)))
	}
	out := compiledJobs{calendars: map[string]*schedule.Calendar{}}

	// Queues: the scheduler's own checks, with their key paths.
	if _, err := scheduler.New(scheduler.Config{Queues: c.Queues}, scheduler.NewMemStore(), scheduler.NewMemStore()); err != nil {
		errs = append(errs, flatten(err)...)
	}
	queues := []string{scheduler.DefaultQueue}
	for _, q := range c.Queues {
		if scheduler.ValidName(q.Name) && !slices.Contains(queues, q.Name) {
			queues = append(queues, q.Name)
		}
	}

	calIndex := map[string]int{}
	badCal := map[string]bool{} // calendars with problems of their own
	for i, cc := range c.Calendars {
		p := fmt.Sprintf("calendars[%d]", i)
		cal := &schedule.Calendar{Name: cc.Name}
		switch j, dup := calIndex[cc.Name]; {
		case cc.Name == "":
			add(p+".name", "required")
		case !scheduler.ValidName(cc.Name):
			add(p+".name", "%q: want letters, digits, '.', '_' or '-'", cc.Name)
		case dup:
			add(p+".name", "%q is also the name of calendars[%d]", cc.Name, j)
		default:
			calIndex[cc.Name] = i
		}
		n := len(errs)
		for j, s := range cc.Weekdays {
			w, err := schedule.ParseWeekday(s)
			if err != nil {
				add(fmt.Sprintf("%s.weekdays[%d]", p, j), "%v", err)
				continue
			}
			cal.Weekdays = append(cal.Weekdays, w)
		}
		dates := func(key string, list []string) []schedule.Date {
			var ds []schedule.Date
			for j, s := range list {
				d, err := schedule.ParseDate(s)
				if err != nil {
					add(fmt.Sprintf("%s.%s[%d]", p, key, j), "%v", err)
					continue
				}
				ds = append(ds, d)
			}
			return ds
		}
		cal.Holidays = dates("holidays", cc.Holidays)
		cal.Workdays = dates("workdays", cc.Workdays)
		for _, err := range flatten(cal.Validate()) {
			add(p, "%v", err)
		}
		if len(errs) > n {
			badCal[cc.Name] = true
		}
		if cc.Name != "" && out.calendars[cc.Name] == nil {
			// Known even when invalid: the schedules naming it are not
			// checked (its own problems are reported above).
			out.calendars[cc.Name] = cal
		}
	}

	names := map[string]int{}
	for i, path := range c.Jobnets {
		p := fmt.Sprintf("jobnets[%d]", i)
		if path == "" {
			add(p, "empty: want the path of a job network file")
			continue
		}
		p += " (" + path + ")"
		data, err := os.ReadFile(path)
		if err != nil {
			add(p, "%v", err)
			continue
		}
		def, err := jobfile.Parse(data)
		if err != nil {
			for _, e := range flatten(err) {
				add(p, "%v", e)
			}
			continue
		}
		f := jobnetFile{path: path, data: data, def: def}
		if !scheduler.ValidName(def.Name) {
			add(p, "name: %q: want letters, digits, '.', '_' or '-' (the name starts its run IDs)", def.Name)
		} else if j, dup := names[def.Name]; dup {
			add(p, "name: network %q is also defined by jobnets[%d] (%s)", def.Name, j, c.Jobnets[j])
		} else {
			names[def.Name] = i
		}
		if def.Queue != "" && !slices.Contains(queues, def.Queue) {
			add(p, "queue: %q is not defined in queues (have %s)", def.Queue, strings.Join(queues, ", "))
		}
		if def.Schedule != nil && !badCal[def.Schedule.Calendar] {
			s, err := def.Schedule.Schedule(out.calendars)
			if err != nil {
				for _, e := range flatten(err) {
					add(p, "%v", e)
				}
			}
			f.schedule = s
		}
		out.nets = append(out.nets, f)
	}

	if len(c.Jobnets) > 0 && c.API.TokenFile == "" && !isLoopback(c.Listen) {
		add("api.token_file", "required when listen (%s) is not loopback: the job controls would be open to the network", c.Listen)
	}
	return out, errs
}

// flatten returns the errors a joined error holds, recursively.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// isLoopback reports whether the listen address accepts connections from
// this host only: localhost or a loopback IP. An empty host (every
// interface) or any other name is not.
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	return isLoopbackHost(host)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
