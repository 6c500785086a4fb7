package console

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ChecksView is the checks view and its JSON twin: every check and
// target's status, last value, thresholds and since when, and the events
// timeline.
type ChecksView struct {
	Status section `json:"status"`
	// Overall is the worst status; Message why there is nothing yet.
	Overall  string          `json:"overall"`
	Message  string          `json:"message,omitempty"`
	Rows     []CheckRow      `json:"rows"`
	Timeline []TimelineEntry `json:"timeline"`
}

// CheckRow is one check on one target.
type CheckRow struct {
	Check      string    `json:"check"`
	Monitor    string    `json:"monitor,omitempty"`
	Target     string    `json:"target"`
	Kind       string    `json:"kind,omitempty"`
	Engine     string    `json:"engine,omitempty"`
	Status     string    `json:"status"`
	Observed   string    `json:"observed"`
	Value      string    `json:"value,omitempty"`
	Thresholds []string  `json:"thresholds,omitempty"`
	Message    string    `json:"message,omitempty"`
	Time       time.Time `json:"time,omitzero"`
	Since      time.Time `json:"since,omitzero"`
}

func (c *Console) checksView(f *fetcher) (*ChecksView, error) {
	rep, sec, err := c.status(f)
	if err != nil {
		return nil, err
	}
	v := &ChecksView{Status: sec, Rows: []CheckRow{}, Overall: rep.Status.String(), Message: rep.Message}
	defs := map[string]CheckDef{}
	if c.checks != nil {
		for _, d := range c.checks() {
			defs[d.Name] = d
		}
	}
	for _, ev := range rep.Evaluations {
		row := CheckRow{Check: ev.Check, Target: cmp.Or(ev.Target.Name, ev.Target.ID), Kind: string(ev.Target.Kind), Engine: ev.Target.Engine,
			Status: ev.Status.String(), Observed: ev.Observed.String(), Message: cmp.Or(ev.Message, ev.Error), Time: ev.Time}
		for _, s := range ev.Samples {
			if s.Value != nil {
				row.Value = s.Name + " = " + formatValue(*s.Value, s.Name)
				break
			}
			if s.Exact != "" {
				row.Value = s.Name + " = " + s.Exact
				break
			}
		}
		name, _, _ := strings.Cut(ev.Check, "@")
		if d, ok := defs[name]; ok {
			row.Monitor = d.Monitor
			for _, th := range d.Thresholds {
				var parts []string
				if th.Warning != nil {
					parts = append(parts, "warning "+th.Warning.String())
				}
				if th.Critical != nil {
					parts = append(parts, "critical "+th.Critical.String())
				}
				if th.Bands != nil {
					b, _ := json.Marshal(th.Bands)
					parts = append(parts, "bands "+string(b))
				}
				row.Thresholds = append(row.Thresholds, cmp.Or(th.Sample, "(primary)")+": "+strings.Join(parts, ", "))
			}
		}
		row.Since = c.rec.sinceOf(ev.Check, targetRef{Engine: ev.Target.Engine, ID: ev.Target.ID, Name: ev.Target.Name})
		v.Rows = append(v.Rows, row)
	}
	slices.SortFunc(v.Rows, func(a, b CheckRow) int {
		return cmp.Or(statusRank(b.Status)-statusRank(a.Status), strings.Compare(a.Check, b.Check), strings.Compare(a.Target, b.Target))
	})
	v.Timeline = c.rec.timelineEntries()
	return v, nil
}

// HAView is the HA view and its JSON twin, from GET /api/v1/ha.
type HAView struct {
	HA      section    `json:"ha"`
	Cluster string     `json:"cluster,omitempty"`
	Node    string     `json:"node,omitempty"`
	Running bool       `json:"running"`
	Nodes   []HANode   `json:"nodes"`
	Groups  []HAGroup  `json:"groups"`
	Events  []HAEvent  `json:"events"`
	Counts  HACounters `json:"counters"`
}

// HANode is one cluster node as this node sees it.
type HANode struct {
	Name      string    `json:"name"`
	Self      bool      `json:"self,omitempty"`
	State     string    `json:"state"`
	LastHeard time.Time `json:"last_heard,omitzero"`
	Addresses []string  `json:"addresses,omitempty"`
}

// HAGroup is one failover group: the holder and epoch, this node's copy,
// its resources and monitors.
type HAGroup struct {
	Name       string       `json:"name"`
	Holder     string       `json:"holder,omitempty"`
	Epoch      uint64       `json:"epoch,omitempty"`
	State      string       `json:"state"`
	Local      string       `json:"local,omitempty"`
	LocalError string       `json:"local_error,omitempty"`
	FailedOn   []string     `json:"failed_on,omitempty"`
	Resources  []HAResource `json:"resources"`
	Monitors   []HAMonitor  `json:"monitors"`
	// MoveTo are the nodes the group may be moved to (every node but the
	// holder).
	MoveTo []string `json:"move_to"`
}

// HAResource is one resource of a group on this node.
type HAResource struct {
	Name    string `json:"name"`
	Active  bool   `json:"active"`
	LastErr string `json:"last_err,omitempty"`
}

// HAMonitor is one monitor of a group.
type HAMonitor struct {
	Name      string `json:"name"`
	Status    string `json:"status"`
	Failures  int    `json:"failures"`
	Restarts  int    `json:"restarts"`
	Failovers int    `json:"failovers"`
	Message   string `json:"message,omitempty"`
}

// HAEvent is one HA event, newest first.
type HAEvent struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Group   string    `json:"group,omitempty"`
	Node    string    `json:"node,omitempty"`
	Epoch   uint64    `json:"epoch,omitempty"`
	Message string    `json:"message"`
	Error   string    `json:"error,omitempty"`
}

// HACounters are the cluster's counters the view shows.
type HACounters struct {
	Takeovers  uint64 `json:"takeovers"`
	Failovers  uint64 `json:"failovers"`
	Isolations uint64 `json:"isolations"`
}

type haJSON struct {
	Cluster struct {
		Cluster string `json:"cluster"`
		Node    string `json:"node"`
		Running bool   `json:"running"`
		Nodes   []struct {
			Name     string `json:"name"`
			Self     bool   `json:"self"`
			State    string `json:"state"`
			Networks []struct {
				Address   string    `json:"address"`
				LastHeard time.Time `json:"last_heard"`
			} `json:"networks"`
		} `json:"nodes"`
		Groups []struct {
			Name       string   `json:"name"`
			Holder     string   `json:"holder"`
			Epoch      uint64   `json:"epoch"`
			State      string   `json:"state"`
			Local      string   `json:"local"`
			LocalError string   `json:"local_error"`
			FailedOn   []string `json:"failed_on"`
		} `json:"groups"`
		Counters HACounters `json:"counters"`
	} `json:"cluster"`
	Groups []struct {
		Group   string `json:"group"`
		State   string `json:"state"`
		Members []struct {
			Name    string `json:"name"`
			Active  bool   `json:"active"`
			LastErr string `json:"last_err"`
		} `json:"members"`
		Monitors []HAMonitor `json:"monitors"`
	} `json:"groups"`
	Events []HAEvent `json:"events"`
}

func (c *Console) haView(f *fetcher) (*HAView, error) {
	v := &HAView{Nodes: []HANode{}, Groups: []HAGroup{}, Events: []HAEvent{}}
	var h haJSON
	sec, err := sectionOf(f.get("/api/v1/ha", nil, &h))
	if err != nil {
		return nil, err
	}
	if v.HA = sec; sec.Message != "" {
		return v, nil
	}
	v.Cluster, v.Node, v.Running, v.Counts = h.Cluster.Cluster, h.Cluster.Node, h.Cluster.Running, h.Cluster.Counters
	for _, n := range h.Cluster.Nodes {
		hn := HANode{Name: n.Name, Self: n.Self, State: n.State}
		for _, nw := range n.Networks {
			hn.Addresses = append(hn.Addresses, nw.Address)
			if nw.LastHeard.After(hn.LastHeard) {
				hn.LastHeard = nw.LastHeard
			}
		}
		v.Nodes = append(v.Nodes, hn)
	}
	for _, g := range h.Cluster.Groups {
		hg := HAGroup{Name: g.Name, Holder: g.Holder, Epoch: g.Epoch, State: g.State, Local: g.Local, LocalError: g.LocalError,
			FailedOn: g.FailedOn, Resources: []HAResource{}, Monitors: []HAMonitor{}, MoveTo: []string{}}
		for _, eg := range h.Groups {
			if eg.Group != g.Name {
				continue
			}
			for _, m := range eg.Members {
				hg.Resources = append(hg.Resources, HAResource{Name: m.Name, Active: m.Active, LastErr: m.LastErr})
			}
			hg.Monitors = append(hg.Monitors, eg.Monitors...)
		}
		for _, n := range h.Cluster.Nodes {
			if n.Name != g.Holder {
				hg.MoveTo = append(hg.MoveTo, n.Name)
			}
		}
		v.Groups = append(v.Groups, hg)
	}
	for i := len(h.Events) - 1; i >= 0 && len(v.Events) < 50; i-- {
		v.Events = append(v.Events, h.Events[i])
	}
	return v, nil
}

// ImagesView is the images view and its JSON twin, from GET
// /api/v1/images: each container's image and whether an update is
// pending.
type ImagesView struct {
	Images   section        `json:"images"`
	Interval string         `json:"interval,omitempty"`
	Runs     uint64         `json:"runs"`
	NextRun  time.Time      `json:"next_run,omitzero"`
	Message  string         `json:"message,omitempty"`
	Summary  map[string]int `json:"summary"`
	Pending  int            `json:"pending"`
	Engines  []ImagesEngine `json:"engines"`
}

// ImagesEngine is one engine's last update check.
type ImagesEngine struct {
	Engine     string     `json:"engine"`
	Endpoint   string     `json:"endpoint"`
	Checked    time.Time  `json:"checked,omitzero"`
	Containers []ImageRow `json:"containers"`
}

// ImageRow is one container's image check.
type ImageRow struct {
	Container string   `json:"container"`
	ID        string   `json:"id"`
	Reference string   `json:"reference"`
	Status    string   `json:"status"`
	ImageID   string   `json:"image_id,omitempty"`
	Running   string   `json:"running_digest,omitempty"`
	Latest    string   `json:"latest_digest,omitempty"`
	NewerTags []string `json:"newer_tags,omitempty"`
	Error     string   `json:"error,omitempty"`
	// Pending says an update is waiting: the tag moved (outdated) or the
	// engine has a newer image the container does not run (stale-local),
	// or newer tags exist.
	Pending bool `json:"pending"`
}

func (c *Console) imagesView(f *fetcher) (*ImagesView, error) {
	v := &ImagesView{Summary: map[string]int{}, Engines: []ImagesEngine{}}
	var raw struct {
		Interval string         `json:"interval"`
		Runs     uint64         `json:"runs"`
		NextRun  time.Time      `json:"next_run"`
		Message  string         `json:"message"`
		Summary  map[string]int `json:"summary"`
		Engines  []ImagesEngine `json:"engines"`
	}
	sec, err := sectionOf(f.get("/api/v1/images", nil, &raw))
	if err != nil {
		return nil, err
	}
	if v.Images = sec; sec.Message != "" {
		return v, nil
	}
	v.Interval, v.Runs, v.NextRun, v.Message = raw.Interval, raw.Runs, raw.NextRun, raw.Message
	if raw.Summary != nil {
		v.Summary = raw.Summary
	}
	for _, e := range raw.Engines {
		if e.Containers == nil {
			e.Containers = []ImageRow{}
		}
		for i := range e.Containers {
			r := &e.Containers[i]
			r.Pending = r.Status == "outdated" || r.Status == "stale-local" || len(r.NewerTags) > 0
			if r.Pending {
				v.Pending++
			}
		}
		// Pending updates first.
		slices.SortStableFunc(e.Containers, func(a, b ImageRow) int {
			switch {
			case a.Pending && !b.Pending:
				return -1
			case b.Pending && !a.Pending:
				return 1
			}
			return 0
		})
		v.Engines = append(v.Engines, e)
	}
	return v, nil
}

// AppsView is the applications view and its JSON twin, from GET
// /api/v1/apps when the agent has it: declared against actual. Its shape
// is read generically (a list of objects, under "apps" or at the top), so
// that the view follows the API as it grows.
type AppsView struct {
	Apps    section    `json:"apps"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
	// Drift counts the rows whose drift, state or status is not "", "ok",
	// "in_sync" or "converged".
	Drift int `json:"drift"`
}

func (c *Console) appsView(f *fetcher) (*AppsView, error) {
	v := &AppsView{Columns: []string{}, Rows: [][]string{}}
	var raw json.RawMessage
	sec, err := sectionOf(f.get("/api/v1/apps", nil, &raw))
	if err != nil {
		return nil, err
	}
	if v.Apps = sec; sec.Message != "" {
		return v, nil
	}
	var list []map[string]any
	if json.Unmarshal(raw, &list) != nil {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) == nil {
			for _, k := range []string{"apps", "applications", "items"} {
				if b, ok := obj[k]; ok && json.Unmarshal(b, &list) == nil {
					break
				}
			}
		}
	}
	cols := map[string]bool{}
	for _, m := range list {
		for k, val := range m {
			switch val.(type) {
			case string, float64, bool, nil:
				cols[k] = true
			}
		}
	}
	for k := range cols {
		v.Columns = append(v.Columns, k)
	}
	first := []string{"name", "engine", "state", "status", "drift"}
	slices.SortFunc(v.Columns, func(a, b string) int {
		ia, ib := slices.Index(first, a), slices.Index(first, b)
		if ia < 0 {
			ia = len(first)
		}
		if ib < 0 {
			ib = len(first)
		}
		return cmp.Or(ia-ib, strings.Compare(a, b))
	})
	for _, m := range list {
		row := make([]string, len(v.Columns))
		drift := false
		for i, k := range v.Columns {
			if m[k] != nil {
				row[i] = fmt.Sprint(m[k])
			}
			if k == "drift" || k == "state" || k == "status" {
				switch strings.ToLower(row[i]) {
				case "", "ok", "in_sync", "converged", "false", "running":
				default:
					drift = true
				}
			}
		}
		if drift {
			v.Drift++
		}
		v.Rows = append(v.Rows, row)
	}
	return v, nil
}

// DiagView is the diagnostics view and its JSON twin, from GET
// /api/v1/diag: the current findings with their remedies, worst first.
type DiagView struct {
	Diag     section      `json:"diag"`
	Interval string       `json:"interval,omitempty"`
	NextRun  time.Time    `json:"next_run,omitzero"`
	Worst    string       `json:"worst,omitempty"`
	Message  string       `json:"message,omitempty"`
	Findings []FindingRow `json:"findings"`
	// Failed are the checks that could not answer.
	Failed []string `json:"failed,omitempty"`
}

// FindingRow is one finding.
type FindingRow struct {
	Engine    string   `json:"engine"`
	Code      string   `json:"code"`
	Severity  string   `json:"severity"`
	Subject   string   `json:"subject,omitempty"`
	Title     string   `json:"title"`
	Detail    string   `json:"detail,omitempty"`
	Remedy    string   `json:"remedy,omitempty"`
	Evidence  []string `json:"evidence,omitempty"`
	Reference string   `json:"reference,omitempty"`
}

func severityRank(s string) int {
	switch strings.ToLower(s) {
	case "critical":
		return 3
	case "warning":
		return 2
	case "info":
		return 1
	}
	return 0
}

func (c *Console) diagView(f *fetcher) (*DiagView, error) {
	v := &DiagView{Findings: []FindingRow{}}
	var raw struct {
		Interval string    `json:"interval"`
		NextRun  time.Time `json:"next_run"`
		Worst    string    `json:"worst"`
		Message  string    `json:"message"`
		Engines  []struct {
			Engine string `json:"engine"`
			Report *struct {
				Results []struct {
					Check struct {
						Name string `json:"name"`
					} `json:"check"`
					Findings []struct {
						Code     string `json:"code"`
						Severity string `json:"severity"`
						Subject  struct {
							Kind string `json:"kind"`
							Name string `json:"name"`
							ID   string `json:"id"`
						} `json:"subject"`
						Title     string   `json:"title"`
						Detail    string   `json:"detail"`
						Remedy    string   `json:"remedy"`
						Evidence  []string `json:"evidence"`
						Reference string   `json:"reference"`
					} `json:"findings"`
					Error string `json:"error"`
				} `json:"results"`
			} `json:"report"`
		} `json:"engines"`
	}
	sec, err := sectionOf(f.get("/api/v1/diag", nil, &raw))
	if err != nil {
		return nil, err
	}
	if v.Diag = sec; sec.Message != "" {
		return v, nil
	}
	v.Interval, v.NextRun, v.Worst, v.Message = raw.Interval, raw.NextRun, raw.Worst, raw.Message
	for _, e := range raw.Engines {
		if e.Report == nil {
			continue
		}
		for _, r := range e.Report.Results {
			if r.Error != "" {
				v.Failed = append(v.Failed, e.Engine+": "+r.Check.Name+": "+r.Error)
			}
			for _, fd := range r.Findings {
				subj := strings.TrimSpace(fd.Subject.Kind + " " + cmp.Or(fd.Subject.Name, fd.Subject.ID))
				v.Findings = append(v.Findings, FindingRow{Engine: e.Engine, Code: fd.Code, Severity: fd.Severity, Subject: subj,
					Title: fd.Title, Detail: fd.Detail, Remedy: fd.Remedy, Evidence: fd.Evidence, Reference: fd.Reference})
			}
		}
	}
	slices.SortStableFunc(v.Findings, func(a, b FindingRow) int { return severityRank(b.Severity) - severityRank(a.Severity) })
	return v, nil
}
