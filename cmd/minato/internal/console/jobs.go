package console

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
)

// historyLimit is how many runs the jobs view lists.
const historyLimit = 100

// JobsView is the job networks view and its JSON twin.
type JobsView struct {
	Query query `json:"query"`
	// Jobs says why the job API gave nothing (no scheduler on this agent).
	Jobs     section      `json:"jobs"`
	Networks []NetworkRow `json:"networks"`
	Queues   []QueueRow   `json:"queues"`
	History  []RunRow     `json:"history"`
	// Detail is the run selected with ?run=, with its units' output and
	// the controls that apply.
	Detail *RunDetail `json:"detail,omitempty"`
	// DetailError says why the selected run could not be read.
	DetailError string `json:"detail_error,omitempty"`
}

// NetworkRow is one network: its schedule, queue and the drawing of its
// newest run (or of its definition, before any run).
type NetworkRow struct {
	Name     string    `json:"name"`
	Queue    string    `json:"queue"`
	Overlap  string    `json:"overlap,omitempty"`
	Schedule string    `json:"schedule,omitempty"`
	Next     time.Time `json:"next,omitzero"`
	Running  []string  `json:"running,omitempty"`
	Last     *RunRow   `json:"last,omitempty"`
	Graph    Graph     `json:"graph"`
}

// QueueRow is one queue.
type QueueRow struct {
	Name        string `json:"name"`
	Concurrency int    `json:"concurrency"`
	Running     int    `json:"running"`
	Stopped     bool   `json:"stopped"`
}

// RunRow is one run in the history.
type RunRow struct {
	ID       string    `json:"id"`
	Network  string    `json:"network"`
	Trigger  string    `json:"trigger"`
	State    string    `json:"state"`
	Queue    string    `json:"queue,omitempty"`
	Due      time.Time `json:"due,omitzero"`
	Created  time.Time `json:"created"`
	Ended    time.Time `json:"ended,omitzero"`
	Duration string    `json:"duration,omitempty"`
	RerunOf  string    `json:"rerun_of,omitempty"`
	Message  string    `json:"message,omitempty"`
	Finished bool      `json:"finished"`
}

// RunDetail is one run with its units.
type RunDetail struct {
	RunRow
	Units []UnitRow `json:"units"`
	Graph Graph     `json:"graph"`
	// Controls are the run's controls that apply: "cancel" while it runs,
	// "rerun" once it ended without succeeding.
	Controls []string `json:"controls"`
}

// UnitRow is one unit of a run.
type UnitRow struct {
	Name     string    `json:"name"`
	State    string    `json:"state"`
	ExitCode int       `json:"exit_code"`
	Attempts int       `json:"attempts"`
	Started  time.Time `json:"started,omitzero"`
	Ended    time.Time `json:"ended,omitzero"`
	Duration string    `json:"duration,omitempty"`
	Message  string    `json:"message,omitempty"`
	Output   string    `json:"output,omitempty"`
	// Controls are the unit controls that apply to its state: hold and
	// skip while pending, release and skip while held, stop while
	// running.
	Controls []string `json:"controls"`
}

func runRow(r scheduler.RunRecord) RunRow {
	row := RunRow{ID: r.ID, Network: r.Network, Trigger: string(r.Trigger), State: string(r.Report.State), Queue: r.Queue,
		Due: r.Due, Created: r.Created, Ended: r.Ended, RerunOf: r.RerunOf, Message: r.Message, Finished: r.Finished()}
	if row.State == "" {
		row.State = string(job.Pending)
	}
	if !r.Ended.IsZero() {
		row.Duration = formatDuration(r.Ended.Sub(r.Created))
	}
	return row
}

func unitControls(s job.UnitState, finished bool) []string {
	if finished {
		return []string{}
	}
	switch s {
	case job.Pending:
		return []string{"hold", "skip"}
	case job.Held:
		return []string{"release", "skip"}
	case job.Running:
		return []string{"stop"}
	}
	return []string{}
}

// graphOf lays out a run (or a network without a run): the units and
// needs from the GraphFunc when there is one, else the report's units in
// one column.
func (c *Console) graphOf(ctx context.Context, network, runID string, rep job.NetworkReport) Graph {
	info := make(map[string]unitInfo, len(rep.Units))
	for _, u := range rep.Units {
		info[u.Name] = unitInfo{State: string(u.State), Attempts: u.Attempts, Duration: formatDuration(u.Duration())}
	}
	var units []GraphUnit
	if c.graph != nil {
		us, err := c.graph(ctx, network, runID)
		if err != nil && !errors.Is(err, errors.ErrUnsupported) {
			c.log.Warn("console: graph", "network", network, "run", runID, "err", err)
		}
		units = us
	}
	if len(units) == 0 {
		for _, u := range rep.Units {
			units = append(units, GraphUnit{Name: u.Name})
		}
	}
	return Layout(units, info)
}

// networkBriefs is the estate view's summary of the job networks.
func (c *Console) networkBriefs(f *fetcher) ([]NetworkBrief, section, error) {
	out := []NetworkBrief{}
	var nets []scheduler.EntryStatus
	sec, err := sectionOf(f.get("/api/v1/jobnets", nil, &nets))
	if err != nil || sec.Message != "" {
		return out, sec, err
	}
	var runs []scheduler.RunRecord
	if s, err := sectionOf(f.get("/api/v1/runs", url.Values{"limit": {strconv.Itoa(max(historyLimit, 2*len(nets)))}}, &runs)); err != nil || s.Message != "" {
		return out, s, err
	}
	last := map[string]scheduler.RunRecord{}
	for _, r := range runs {
		if _, ok := last[r.Network]; !ok {
			last[r.Network] = r
		}
	}
	for _, n := range nets {
		b := NetworkBrief{Name: n.Name, Next: n.Next}
		if r, ok := last[n.Name]; ok {
			b.State, b.Run = runRow(r).State, r.ID
		}
		out = append(out, b)
	}
	return out, sec, nil
}

func (c *Console) jobs(ctx context.Context, f *fetcher, q query) (*JobsView, error) {
	v := &JobsView{Query: q, Networks: []NetworkRow{}, Queues: []QueueRow{}, History: []RunRow{}}
	var nets []scheduler.EntryStatus
	sec, err := sectionOf(f.get("/api/v1/jobnets", nil, &nets))
	if err != nil {
		return nil, err
	}
	if v.Jobs = sec; sec.Message != "" {
		return v, nil
	}
	var queues []scheduler.QueueStatus
	if err := f.get("/api/v1/queues", nil, &queues); err != nil {
		if v.Jobs, err = sectionOf(err); err != nil {
			return nil, err
		}
	}
	for _, qs := range queues {
		v.Queues = append(v.Queues, QueueRow{Name: qs.Name, Concurrency: qs.Concurrency, Running: qs.Running, Stopped: qs.Stopped})
	}
	var runs []scheduler.RunRecord
	if err := f.get("/api/v1/runs", url.Values{"limit": {strconv.Itoa(max(historyLimit, 2*len(nets)))}}, &runs); err != nil {
		if v.Jobs, err = sectionOf(err); err != nil {
			return nil, err
		}
	}
	last := map[string]scheduler.RunRecord{}
	for i, r := range runs {
		if _, ok := last[r.Network]; !ok {
			last[r.Network] = r
		}
		if i < historyLimit {
			v.History = append(v.History, runRow(r))
		}
	}
	for _, n := range nets {
		row := NetworkRow{Name: n.Name, Queue: n.Queue, Overlap: string(n.Overlap), Schedule: n.Schedule, Next: n.Next, Running: n.Running}
		if r, ok := last[n.Name]; ok {
			rr := runRow(r)
			row.Last = &rr
			row.Graph = c.graphOf(ctx, n.Name, r.ID, r.Report)
		} else {
			row.Graph = c.graphOf(ctx, n.Name, "", job.NetworkReport{})
		}
		v.Networks = append(v.Networks, row)
	}
	if q.Run != "" {
		var rec scheduler.RunRecord
		err := f.get("/api/v1/runs/"+url.PathEscape(q.Run), nil, &rec)
		if s, err := sectionOf(err); err != nil {
			return nil, err
		} else if s.Message != "" {
			v.DetailError = s.Message
			return v, nil
		}
		d := &RunDetail{RunRow: runRow(rec), Units: []UnitRow{}, Controls: []string{}}
		for _, u := range rec.Report.Units {
			d.Units = append(d.Units, UnitRow{Name: u.Name, State: string(u.State), ExitCode: u.ExitCode, Attempts: u.Attempts,
				Started: u.Started, Ended: u.Ended, Duration: formatDuration(u.Duration()), Message: u.Message, Output: u.Output,
				Controls: unitControls(u.State, rec.Finished())})
		}
		if !rec.Finished() {
			d.Controls = append(d.Controls, "cancel")
		} else if rec.Report.State != job.Succeeded {
			d.Controls = append(d.Controls, "rerun")
		}
		d.Graph = c.graphOf(ctx, rec.Network, rec.ID, rec.Report)
		v.Detail = d
	}
	return v, nil
}
