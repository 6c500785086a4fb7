package console

import (
	"cmp"
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor/output/jsonout"
)

// EstateView is the estate view and its JSON twin: the engines, the
// containers by engine and scope with their state, health and the last
// values of their CPU and memory checks, and the job networks' last
// outcome.
type EstateView struct {
	Taken time.Time `json:"taken"`
	Query query     `json:"query"`
	// Inventory, Status and Jobs say why a source gave nothing.
	Inventory section          `json:"inventory"`
	Status    section          `json:"status"`
	Jobs      section          `json:"jobs"`
	Engines   []EngineRow      `json:"engines"`
	Groups    []ContainerGroup `json:"groups"`
	// Shown is how many containers the filter selects, of Total.
	Shown int `json:"shown"`
	Total int `json:"total"`
	// States counts the shown containers by state.
	States   map[string]int `json:"states"`
	Networks []NetworkBrief `json:"networks"`
}

// EngineRow is one engine.
type EngineRow struct {
	Name     string `json:"name"`
	Endpoint string `json:"endpoint"`
	Version  string `json:"version,omitempty"`
	Error    string `json:"error,omitempty"`
	Running  int    `json:"running"`
	Total    int    `json:"total"`
}

// ContainerGroup is the containers of one engine in one scope ("" when
// the container is in none, or no scopes are known).
type ContainerGroup struct {
	Engine     string         `json:"engine"`
	Scope      string         `json:"scope,omitempty"`
	Containers []ContainerRow `json:"containers"`
}

// ContainerRow is one container.
type ContainerRow struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Engine string   `json:"engine"`
	State  string   `json:"state"`
	Health string   `json:"health,omitempty"`
	Image  string   `json:"image,omitempty"`
	Labels []Label  `json:"labels,omitempty"`
	Scopes []string `json:"scopes,omitempty"`
	// Status is the worst status of the checks of this container
	// ("" when no check measures it).
	Status string       `json:"status,omitempty"`
	Checks []CheckBrief `json:"checks,omitempty"`
	CPU    *Spark       `json:"cpu,omitempty"`
	Memory *Spark       `json:"memory,omitempty"`
}

// Label is one container label.
type Label struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// CheckBrief is one check's status for a container.
type CheckBrief struct {
	Check   string `json:"check"`
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// Spark is a sparkline: a sample's recent values, oldest first, and the
// polyline drawing them in a 100x20 box.
type Spark struct {
	Check  string    `json:"check"`
	Sample string    `json:"sample"`
	Unit   string    `json:"unit,omitempty"`
	Last   float64   `json:"last"`
	Text   string    `json:"text"`
	Values []float64 `json:"values"`
	Points string    `json:"points"`
}

// NetworkBrief is a job network's last outcome for the estate view.
type NetworkBrief struct {
	Name  string    `json:"name"`
	State string    `json:"state,omitempty"`
	Run   string    `json:"run,omitempty"`
	Next  time.Time `json:"next,omitzero"`
}

// statusRank orders check statuses: OK < UNKNOWN < WARNING < CRITICAL.
func statusRank(s string) int {
	switch s {
	case "OK":
		return 1
	case "UNKNOWN":
		return 2
	case "WARNING":
		return 3
	case "CRITICAL":
		return 4
	}
	return 0
}

// statusJSON is GET /api/v1/status.
type statusJSON struct {
	jsonout.Report
	Message string `json:"message"`
}

func (c *Console) status(f *fetcher) (statusJSON, section, error) {
	var rep statusJSON
	err := f.get("/api/v1/status", nil, &rep)
	sec, err := sectionOf(err)
	if err == nil && sec.Message == "" {
		c.rec.observe(rep.Evaluations)
	}
	return rep, sec, err
}

func (c *Console) estate(ctx context.Context, f *fetcher, q query) (*EstateView, error) {
	v := &EstateView{Taken: time.Now(), Query: q, States: map[string]int{}, Engines: []EngineRow{}, Groups: []ContainerGroup{}, Networks: []NetworkBrief{}}
	var snap inventory.Snapshot
	err := f.get("/api/v1/inventory", url.Values{"kind": {"container"}}, &snap)
	var serr error
	if v.Inventory, serr = sectionOf(err); serr != nil {
		return nil, serr
	}
	rep, sec, err := c.status(f)
	if err != nil {
		return nil, err
	}
	v.Status = sec
	byTarget := map[string][]jsonout.Evaluation{}
	for _, ev := range rep.Evaluations {
		if ev.Target.ID != "" {
			byTarget["id\x00"+ev.Target.ID] = append(byTarget["id\x00"+ev.Target.ID], ev)
		} else if ev.Target.Name != "" {
			byTarget["n\x00"+ev.Target.Engine+"\x00"+ev.Target.Name] = append(byTarget["n\x00"+ev.Target.Engine+"\x00"+ev.Target.Name], ev)
		}
	}
	var scopes map[string][]string
	if c.scopes != nil {
		if s, err := c.scopes(ctx); err == nil {
			scopes = s
		} else {
			c.log.Warn("console: scopes", "err", err)
		}
	}
	engName := map[string]string{}
	for _, e := range snap.Engines {
		engName[e.Endpoint] = e.Name
		v.Engines = append(v.Engines, EngineRow{Name: e.Name, Endpoint: e.Endpoint, Version: e.Version, Error: e.Error})
	}
	groups := map[[2]string]*ContainerGroup{}
	for _, it := range snap.Items {
		if it.Target.Kind != inventory.KindContainer {
			continue
		}
		eng := cmp.Or(engName[it.Target.Engine], it.Target.Engine)
		for i := range v.Engines {
			if v.Engines[i].Endpoint == it.Target.Engine {
				v.Engines[i].Total++
				if it.State == "running" {
					v.Engines[i].Running++
				}
			}
		}
		v.Total++
		sc := scopes[it.Target.Name]
		if !q.Filter.Match(it.Target.Name, it.State, it.Target.Labels, sc) {
			continue
		}
		v.Shown++
		v.States[it.State]++
		row := ContainerRow{ID: it.Target.ID, Name: it.Target.Name, Engine: eng, State: it.State, Health: it.Attrs[inventory.AttrHealth],
			Image: it.Attrs[inventory.AttrImage], Scopes: sc}
		for k, val := range it.Target.Labels {
			row.Labels = append(row.Labels, Label{Key: k, Value: val})
		}
		slices.SortFunc(row.Labels, func(a, b Label) int { return strings.Compare(a.Key, b.Key) })
		evs := append(byTarget["id\x00"+it.Target.ID], byTarget["n\x00"+it.Target.Engine+"\x00"+it.Target.Name]...)
		for _, ev := range evs {
			st := ev.Status.String()
			if statusRank(st) > statusRank(row.Status) {
				row.Status = st
			}
			row.Checks = append(row.Checks, CheckBrief{Check: ev.Check, Status: st, Message: ev.Message})
			t := targetRef{Engine: ev.Target.Engine, ID: ev.Target.ID, Name: ev.Target.Name}
			for _, s := range ev.Samples {
				if s.Value == nil || len(s.Labels) > 0 {
					continue
				}
				switch {
				case row.CPU == nil && strings.HasPrefix(s.Name, "cpu") && strings.HasSuffix(s.Name, "_percent"):
					row.CPU = c.spark(ev.Check, t, s)
				case row.Memory == nil && strings.HasPrefix(s.Name, "memory") && (strings.HasSuffix(s.Name, "_percent") || strings.HasSuffix(s.Name, "_bytes")):
					row.Memory = c.spark(ev.Check, t, s)
				}
			}
		}
		slices.SortFunc(row.Checks, func(a, b CheckBrief) int { return strings.Compare(a.Check, b.Check) })
		scope := ""
		if len(sc) > 0 {
			scope = slices.Min(sc)
		}
		g := groups[[2]string{eng, scope}]
		if g == nil {
			g = &ContainerGroup{Engine: eng, Scope: scope}
			groups[[2]string{eng, scope}] = g
		}
		g.Containers = append(g.Containers, row)
	}
	for _, g := range groups {
		slices.SortFunc(g.Containers, func(a, b ContainerRow) int { return strings.Compare(a.Name, b.Name) })
		v.Groups = append(v.Groups, *g)
	}
	slices.SortFunc(v.Groups, func(a, b ContainerGroup) int {
		return cmp.Or(strings.Compare(a.Engine, b.Engine), strings.Compare(a.Scope, b.Scope))
	})
	nets, jsec, err := c.networkBriefs(f)
	if err != nil {
		return nil, err
	}
	v.Jobs, v.Networks = jsec, nets
	return v, nil
}

// spark builds the sparkline of one sample from the recorder.
func (c *Console) spark(check string, t targetRef, s jsonout.Sample) *Spark {
	vals := c.rec.values(check, t, s.Name)
	if len(vals) == 0 {
		vals = []float64{*s.Value}
	}
	sp := &Spark{Check: check, Sample: s.Name, Unit: string(s.Unit), Last: *s.Value, Values: vals, Text: formatValue(*s.Value, s.Name)}
	sp.Points = sparkPoints(vals)
	return sp
}

// sparkPoints draws values in a 100x20 box: x evenly spaced, y scaled
// from 0 (or the minimum, when negative) to the maximum.
func sparkPoints(vals []float64) string {
	if len(vals) == 0 {
		return ""
	}
	lo, hi := min(0, slices.Min(vals)), slices.Max(vals)
	if hi <= lo {
		hi = lo + 1
	}
	if len(vals) == 1 {
		y := strconv.FormatFloat(19-(vals[0]-lo)/(hi-lo)*18, 'f', 1, 64)
		return "0," + y + " 100," + y
	}
	var b strings.Builder
	for i, v := range vals {
		x := 100.0
		if len(vals) > 1 {
			x = float64(i) * 100 / float64(len(vals)-1)
		}
		y := 19 - (v-lo)/(hi-lo)*18
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(x, 'f', 1, 64))
		b.WriteByte(',')
		b.WriteString(strconv.FormatFloat(y, 'f', 1, 64))
	}
	return b.String()
}

// formatValue prints a sample value for people: bytes in IEC units,
// percentages with one decimal.
func formatValue(v float64, name string) string {
	switch {
	case strings.HasSuffix(name, "_bytes") || strings.HasSuffix(name, "_bytes_total"):
		units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
		i := 0
		for v >= 1024 && i < len(units)-1 {
			v /= 1024
			i++
		}
		return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
	case strings.HasSuffix(name, "_percent"):
		return strconv.FormatFloat(v, 'f', 1, 64) + " %"
	case strings.HasSuffix(name, "_seconds"):
		return strconv.FormatFloat(v, 'f', 3, 64) + " s"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// formatDuration prints a duration rounded for people.
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func sortStrings(s []string) { slices.Sort(s) }
