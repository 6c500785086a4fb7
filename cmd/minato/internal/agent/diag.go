package agent

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minato-ops/minato/diag"
	ddocker "github.com/minato-ops/minato/diag/docker"
	"github.com/minato-ops/minato/internal/httpguard"
	"github.com/minato-ops/minato/inventory"
	dockerinv "github.com/minato-ops/minato/inventory/docker"
	"github.com/minato-ops/minato/monitor"
)

// Defaults and bounds of the diag: section.
const (
	// DefaultDiagInterval is DiagConfig.Interval's default.
	DefaultDiagInterval = 10 * time.Minute
	// MinDiagInterval is the shortest DiagConfig.Interval: a run lists
	// and inspects every container of every engine.
	MinDiagInterval = time.Minute
	// DiagCheck is the check name diagnostics notifications carry.
	DiagCheck = "diag"
)

// diagFirstDelay is how long after the agent starts the first run waits
// (the engines' clients and the other checks settle first). A variable for
// tests.
var diagFirstDelay = 15 * time.Second

// DiagConfig is the diag: section: the checks of "minato diag check" run
// on every engine on a schedule, their new findings notified.
type DiagConfig struct {
	// Enabled runs the checks; off by default.
	Enabled bool `json:"enabled,omitempty"`
	// Interval is the time between two runs (default 10m, at least 1m).
	// The first run is shortly after start.
	Interval time.Duration `json:"interval,omitempty"`
	// ReservedPorts are host ports no container may publish (the
	// Container Service FAQ's D03: 9080, 2376 and 3376 on its nodes).
	ReservedPorts []int `json:"reserved_ports,omitempty"`
	// ProbeImage is an image already on each engine (never pulled) with
	// getent or nslookup, for the DNS check inside containers (D20);
	// empty: DNS is not checked.
	ProbeImage string `json:"probe_image,omitempty"`
	// DNSNames are names outside the engines (a registry, a database)
	// the DNS check resolves from inside a container.
	DNSNames []string `json:"dns_names,omitempty"`
}

// validate checks the section; errors carry their key path.
func (d DiagConfig) validate() []error {
	var errs []error
	add := func(path, format string, a ...any) {
		errs = append(errs, fmt.Errorf("diag.%s: %s", path, fmt.Sprintf(format, a...)))
	}
	if d.Interval != 0 && d.Interval < MinDiagInterval {
		add("interval", "%s: want %s or more (default %s): each run lists and inspects every container of every engine", d.Interval, MinDiagInterval, DefaultDiagInterval)
	}
	for i, p := range d.ReservedPorts {
		if p < 1 || p > 65535 {
			add(fmt.Sprintf("reserved_ports[%d]", i), "%d: want a port from 1 to 65535", p)
		}
	}
	if strings.ContainsFunc(d.ProbeImage, func(r rune) bool { return r <= ' ' }) {
		add("probe_image", "%q: want an image reference such as busybox:1.36 (already on the engines: it is never pulled)", d.ProbeImage)
	}
	for i, n := range d.DNSNames {
		if n == "" || len(n) > 253 || strings.ContainsFunc(n, func(r rune) bool { return r <= ' ' || r == '/' || r > 126 }) {
			add(fmt.Sprintf("dns_names[%d]", i), "%q: want a host name such as registry.example.com", n)
		}
	}
	return errs
}

// diagEngine is one engine's checks and what their last run found.
type diagEngine struct {
	name     string
	endpoint string
	checks   []diag.Check
	// last is the last report; nil before the first run ends.
	last *diag.Report
	// open are the findings at warning or above last notified, by the
	// check that returned them and the finding's key.
	open map[string]map[string]diag.Finding
}

// diagRunner runs the diagnostics of every engine on a schedule.
type diagRunner struct {
	interval time.Duration
	log      *slog.Logger
	notify   func(context.Context, []monitor.Evaluation) error

	mu      sync.Mutex
	engines []*diagEngine
	runs    uint64
	next    time.Time
}

// buildDiag prepares the diagnostics when the diag: section enables them:
// the checks of every engine, the host checks once (with the first engine
// on this machine).
func (a *Agent) buildDiag() {
	d := a.cfg.Diag
	if !d.Enabled {
		return
	}
	r := &diagRunner{interval: cmp.Or(d.Interval, DefaultDiagInterval), log: a.log, notify: a.fan.Write}
	hostDone := false
	for _, e := range a.engines {
		name := cmp.Or(e.name, dockerinv.LocalName)
		o := ddocker.Options{Engine: name, ReservedPorts: d.ReservedPorts, ProbeImage: d.ProbeImage, DNSNames: d.DNSNames,
			ProbeLabels: map[string]string{"minato.agent": "diag"}, SkipHost: hostDone}
		if e.client.Local() {
			hostDone = true
		}
		r.engines = append(r.engines, &diagEngine{name: name, endpoint: e.client.Host(), checks: ddocker.Checks(e.client, o), open: map[string]map[string]diag.Finding{}})
	}
	a.diag = r
}

// run runs the checks shortly after start, then every interval, until ctx
// ends.
func (r *diagRunner) run(ctx context.Context) {
	periodically(ctx, diagFirstDelay, r.interval, func(next time.Time) {
		r.mu.Lock()
		r.next = next
		r.mu.Unlock()
	}, r.runOnce)
}

// periodically calls once after first, then every interval from the start
// of the previous call (at once when a call took longer), until ctx ends;
// before each wait it tells setNext when the next call is due.
func periodically(ctx context.Context, first, interval time.Duration, setNext func(time.Time), once func(context.Context)) {
	delay := first
	for {
		setNext(time.Now().Add(delay))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		start := time.Now()
		once(ctx)
		delay = max(interval-time.Since(start), 0)
	}
}

// runOnce runs every engine's checks at once, keeps the reports and
// notifies what changed.
func (r *diagRunner) runOnce(ctx context.Context) {
	reports := make([]diag.Report, len(r.engines))
	var wg sync.WaitGroup
	for i, e := range r.engines {
		wg.Go(func() {
			reports[i] = diag.Run(ctx, e.checks, diag.RunOptions{})
			reports[i].Scope = "engine " + e.name
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return // a run cut short by the stop is no verdict
	}
	var evs []monitor.Evaluation
	r.mu.Lock()
	r.runs++
	for i, e := range r.engines {
		rep := reports[i]
		e.last = &rep
		evs = append(evs, e.changes(rep)...)
		for _, res := range rep.Errors() {
			r.log.Warn("diag: a check could not answer", "engine", e.name, "check", res.Check.ID, "err", res.Err)
		}
	}
	r.mu.Unlock()
	if len(evs) == 0 {
		return
	}
	for _, ev := range evs {
		r.log.Info("diag: finding "+strings.ToLower(ev.Status.String()), "target", ev.Target.String(), "message", ev.Message)
	}
	if err := r.notify(ctx, evs); err != nil {
		r.log.Warn("diag: notification failed", "err", err)
	}
}

// findingKey identifies a finding across runs: its code and subject.
func findingKey(f diag.Finding) string {
	s := f.Subject
	return strings.Join([]string{f.Code, string(s.Kind), s.Engine, s.ID, s.Name}, "\x00")
}

// changes compares rep with the findings notified before and returns the
// notifications: a finding at warning or above that is new (or changed
// severity) at its severity, one that is gone as resolved (OK). The
// findings of a check that could not answer this time are kept as they
// were: their fate is unknown.
func (e *diagEngine) changes(rep diag.Report) []monitor.Evaluation {
	var evs []monitor.Evaluation
	for _, res := range rep.Results {
		if res.Err != "" {
			continue
		}
		id := res.Check.ID
		was := e.open[id]
		now := map[string]diag.Finding{}
		for _, f := range res.Findings {
			if f.Severity < diag.Warning {
				continue
			}
			k := findingKey(f)
			now[k] = f
			if old, ok := was[k]; !ok || old.Severity != f.Severity {
				evs = append(evs, e.evaluation(f, statusOf(f.Severity), findingMessage(f, ""), rep.Taken))
			}
		}
		for _, k := range slices.Sorted(mapKeys(was)) {
			if _, ok := now[k]; !ok {
				evs = append(evs, e.evaluation(was[k], monitor.OK, findingMessage(was[k], "resolved: "), rep.Taken))
			}
		}
		if len(now) == 0 {
			delete(e.open, id)
		} else {
			e.open[id] = now
		}
	}
	return evs
}

func mapKeys(m map[string]diag.Finding) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// statusOf maps a finding's severity to a monitor status.
func statusOf(s diag.Severity) monitor.Status {
	if s >= diag.Critical {
		return monitor.Critical
	}
	return monitor.Warning
}

// findingMessage is the one line a notification carries: code, subject,
// title and fix.
func findingMessage(f diag.Finding, prefix string) string {
	msg := fmt.Sprintf("%s%s %s: %s", prefix, f.Code, f.Subject, oneLine(f.Title))
	if prefix == "" && f.Remedy != "" {
		msg += "; fix: " + oneLine(f.Remedy)
	}
	return msg
}

// evaluation is the notification of finding f at status st.
func (e *diagEngine) evaluation(f diag.Finding, st monitor.Status, msg string, at time.Time) monitor.Evaluation {
	kind := inventory.Kind(f.Subject.Kind)
	if f.Subject.Kind == diag.SubjectEngine || f.Subject.Kind == diag.SubjectHost {
		kind = inventory.KindHost
	}
	t := inventory.Target{Kind: kind, ID: cmp.Or(f.Subject.ID, f.Subject.Name, e.name), Name: cmp.Or(f.Subject.Name, f.Subject.ID, e.name), Engine: e.endpoint}
	return monitor.Evaluation{Check: DiagCheck, Target: t, Result: monitor.Result{Time: at, Status: st, Message: msg},
		Status: st, Observed: st, Message: msg}
}

// diagView is GET /api/v1/diag: the last report of every engine.
type diagView struct {
	// Interval is the time between two runs; Runs how many have ended;
	// NextRun when the next starts.
	Interval string    `json:"interval"`
	Runs     uint64    `json:"runs"`
	NextRun  time.Time `json:"next_run,omitzero"`
	// Worst and ExitCode are over every engine's last report, as minato
	// diag check reports them (0 ok or info, 1 warning, 2 critical).
	Worst    diag.Severity `json:"worst"`
	ExitCode int           `json:"exit_code"`
	// Message says why there is no report yet.
	Message string           `json:"message,omitempty"`
	Engines []diagEngineView `json:"engines"`
}

// diagEngineView is one engine's last report, in the form of minato diag
// check --format json; null before its first run.
type diagEngineView struct {
	Engine   string          `json:"engine"`
	Endpoint string          `json:"endpoint"`
	Report   json.RawMessage `json:"report"`
}

// writeDiag answers GET /api/v1/diag: JSON by default, ?format=text or
// markdown for the reports as minato diag check prints them.
func (a *Agent) writeDiag(w http.ResponseWriter, r *http.Request) {
	if a.diag == nil {
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusNotFound, Msg: "diagnostics are off on this agent: set diag: {enabled: true} in its configuration"})
		return
	}
	f := diag.FormatJSON
	if q := r.URL.Query().Get("format"); q != "" {
		var err error
		if f, err = diag.ParseFormat(q); err != nil {
			httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusBadRequest, Msg: fmt.Sprintf("format %q: want json, text or markdown", q)})
			return
		}
	}
	d := a.diag
	d.mu.Lock()
	defer d.mu.Unlock()
	if f != diag.FormatJSON {
		var b bytes.Buffer
		for i, e := range d.engines {
			if i > 0 {
				b.WriteString("\n")
			}
			if e.last == nil {
				fmt.Fprintf(&b, "engine %s: not checked yet (next run at %s)\n", e.name, d.next.Format(time.RFC3339))
				continue
			}
			if err := diag.WriteReport(&b, *e.last, f, diag.TextOptions{}); err != nil {
				httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusInternalServerError, Msg: "diag: " + err.Error()})
				return
			}
		}
		ct := "text/plain; charset=utf-8"
		if f == diag.FormatMarkdown {
			ct = "text/markdown; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(b.Bytes())
		return
	}
	v := diagView{Interval: d.interval.String(), Runs: d.runs, NextRun: d.next, Engines: []diagEngineView{}}
	for _, e := range d.engines {
		ev := diagEngineView{Engine: e.name, Endpoint: e.endpoint, Report: json.RawMessage("null")}
		if e.last != nil {
			var b bytes.Buffer
			if err := diag.WriteJSON(&b, *e.last); err != nil {
				httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusInternalServerError, Msg: "diag: " + err.Error()})
				return
			}
			ev.Report = json.RawMessage(bytes.TrimSpace(b.Bytes()))
			v.Worst = max(v.Worst, e.last.Worst())
			v.ExitCode = max(v.ExitCode, e.last.ExitCode())
		}
		v.Engines = append(v.Engines, ev)
	}
	if d.runs == 0 {
		v.Message = fmt.Sprintf("not checked yet: the first run is at %s", d.next.Format(time.RFC3339))
	}
	writeJSON(w, http.StatusOK, v)
}
