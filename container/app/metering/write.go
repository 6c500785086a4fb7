package metering

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// The labels every kept sample gets.
const (
	LabelAppName       = "app"
	LabelContainerName = "container"
)

// Format is an output format of [Scraper.Write].
type Format int

const (
	// FormatPrometheus is the Prometheus text format 0.0.4, each family's
	// # TYPE line before its # HELP line (as the WebOTX operator's metering API prints it).
	FormatPrometheus Format = iota
	// FormatJSON is the metering API's JSON: an object keyed by application whose
	// values are lists of families (see the package documentation).
	FormatJSON
)

// ContentType is the HTTP Content-Type of the format.
func (f Format) ContentType() string {
	if f == FormatJSON {
		return "application/json"
	}
	return string(expfmt.NewFormat(expfmt.TypeTextPlain))
}

// String returns "prometheus" or "json".
func (f Format) String() string {
	if f == FormatJSON {
		return "json"
	}
	return "prometheus"
}

// Negotiate picks the format for an HTTP Accept header: FormatJSON when
// it lists application/json with a quality above 0 and no other media
// range with a higher one; FormatPrometheus for anything else, an empty
// or malformed header included (the metering API: "any other Accept value").
func Negotiate(accept string) Format {
	jsonQ, otherQ := -1.0, -1.0
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		if mt == "application/json" {
			jsonQ = max(jsonQ, q)
		} else {
			otherQ = max(otherQ, q)
		}
	}
	if jsonQ > 0 && jsonQ >= otherQ {
		return FormatJSON
	}
	return FormatPrometheus
}

// Family is one metric family of the metering API's JSON.
type Family struct {
	Name    string   `json:"name"`
	Help    string   `json:"help"`
	Type    string   `json:"type"`
	Metrics []Metric `json:"metrics"`
}

// Metric is one sample of a Family: Value for counters, gauges and
// untyped samples; Quantiles, Count and Sum for summaries; Buckets (upper
// bound → cumulative count), Count and Sum for histograms. Numbers are
// strings, formatted as in the text format.
type Metric struct {
	Labels    map[string]string `json:"labels"`
	Value     string            `json:"value,omitempty"`
	Quantiles map[string]string `json:"quantiles,omitempty"`
	Buckets   map[string]string `json:"buckets,omitempty"`
	Count     string            `json:"count,omitempty"`
	Sum       string            `json:"sum,omitempty"`
}

// label gives every sample of fams the labels app and container first,
// renaming scraped labels of those names exported_app and
// exported_container (exported_exported_app when that is taken too, as
// Prometheus does), the others sorted by name.
func label(fams []*dto.MetricFamily, t Target) {
	app, ctr := LabelAppName, LabelContainerName
	for _, f := range fams {
		for _, m := range f.Metric {
			ls := make([]*dto.LabelPair, 0, len(m.Label)+2)
			ls = append(ls, &dto.LabelPair{Name: &app, Value: &t.App}, &dto.LabelPair{Name: &ctr, Value: &t.Container})
			for _, l := range m.Label {
				if n := l.GetName(); n == app || n == ctr {
					renamed := "exported_" + n
					for hasLabel(m.Label, renamed) {
						renamed = "exported_" + renamed
					}
					l = &dto.LabelPair{Name: &renamed, Value: l.Value}
				}
				ls = append(ls, l)
			}
			slices.SortStableFunc(ls[2:], func(a, b *dto.LabelPair) int { return cmp.Compare(a.GetName(), b.GetName()) })
			m.Label = ls
		}
	}
}

// hasLabel reports whether ls has a label named name.
func hasLabel(ls []*dto.LabelPair, name string) bool {
	return slices.ContainsFunc(ls, func(l *dto.LabelPair) bool { return l.GetName() == name })
}

// merged is the families of one or more targets, merged by name.
type merged struct {
	byName map[string]*dto.MetricFamily
}

// add appends the samples of fams. A family whose type differs from the
// one already merged under its name is left out: one name has one type
// in an exposition.
func (m *merged) add(fams []*dto.MetricFamily) {
	if m.byName == nil {
		m.byName = map[string]*dto.MetricFamily{}
	}
	for _, f := range fams {
		have, ok := m.byName[f.GetName()]
		if !ok {
			m.byName[f.GetName()] = &dto.MetricFamily{Name: f.Name, Help: f.Help, Type: f.Type, Metric: slices.Clip(f.Metric)}
			continue
		}
		if have.GetType() != f.GetType() {
			continue
		}
		if have.Help == nil {
			have.Help = f.Help
		}
		have.Metric = append(have.Metric, f.Metric...)
	}
}

// sorted returns the families sorted by name.
func (m *merged) sorted() []*dto.MetricFamily {
	out := make([]*dto.MetricFamily, 0, len(m.byName))
	for _, f := range m.byName {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return cmp.Compare(a.GetName(), b.GetName()) })
	return out
}

// collect returns the kept families of app ("" for every application),
// merged per application, in application order; stale samples are dropped
// first.
func (s *Scraper) collect(app string) ([]string, map[string]*merged, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	apps := s.appsLocked()
	if app != "" {
		if !slices.Contains(apps, app) {
			if len(apps) == 0 {
				return nil, nil, fmt.Errorf("%w %q: no application is metered", ErrUnknownApp, app)
			}
			return nil, nil, fmt.Errorf("%w %q: metered applications: %s", ErrUnknownApp, app, strings.Join(apps, ", "))
		}
		apps = []string{app}
	}
	states := make([]*targetState, 0, len(s.targets))
	for k, st := range s.targets {
		if app == "" || k.app == app {
			states = append(states, st)
		}
	}
	slices.SortFunc(states, func(a, b *targetState) int {
		return cmp.Or(cmp.Compare(a.t.App, b.t.App), cmp.Compare(a.t.Container, b.t.Container))
	})
	now := s.now()
	out := make(map[string]*merged, len(apps))
	for _, a := range apps {
		out[a] = &merged{}
	}
	for _, st := range states {
		s.expireLocked(st, now)
		out[st.t.App].add(st.fams)
	}
	return apps, out, nil
}

// Write renders the kept samples of app, or of every application when
// app is "", in format f. An application without a target is an error
// wrapping ErrUnknownApp that names the metered ones; one whose targets
// have no samples yet writes nothing (text) or an empty list (JSON). In
// the text format the families of all applications are merged by name
// (a family whose type differs from the first one's under that name is
// left out).
func (s *Scraper) Write(w io.Writer, app string, f Format) error {
	apps, groups, err := s.collect(app)
	if err != nil {
		return err
	}
	if f == FormatJSON {
		out := make(map[string][]Family, len(apps))
		for _, a := range apps {
			out[a] = toJSON(groups[a].sorted())
		}
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	all := &merged{}
	for _, a := range apps {
		all.add(groups[a].sorted())
	}
	return writeText(w, all.sorted())
}

// Families returns the kept samples of app, or of every application when
// app is "", as the metering API's JSON holds them: keyed by application, families
// sorted by name. An application without a target is an error wrapping
// ErrUnknownApp.
func (s *Scraper) Families(app string) (map[string][]Family, error) {
	apps, groups, err := s.collect(app)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]Family, len(apps))
	for _, a := range apps {
		out[a] = toJSON(groups[a].sorted())
	}
	return out, nil
}

// writeText writes fams in the text format, # TYPE before # HELP.
func writeText(w io.Writer, fams []*dto.MetricFamily) error {
	var buf bytes.Buffer
	for _, f := range fams {
		buf.Reset()
		if _, err := expfmt.MetricFamilyToText(&buf, f); err != nil {
			return fmt.Errorf("metering: writing %s: %w", f.GetName(), err)
		}
		b := buf.Bytes()
		if bytes.HasPrefix(b, []byte("# HELP ")) {
			// "# HELP ...\n# TYPE ...\n" → "# TYPE ...\n# HELP ...\n"
			help := bytes.IndexByte(b, '\n') + 1
			typ := help + bytes.IndexByte(b[help:], '\n') + 1
			if help > 0 && typ > help && bytes.HasPrefix(b[help:], []byte("# TYPE ")) {
				if _, err := w.Write(b[help:typ]); err != nil {
					return err
				}
				if _, err := w.Write(b[:help]); err != nil {
					return err
				}
				b = b[typ:]
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// toJSON converts merged families to the metering API's JSON shape.
func toJSON(fams []*dto.MetricFamily) []Family {
	out := make([]Family, 0, len(fams))
	for _, f := range fams {
		jf := Family{Name: f.GetName(), Help: f.GetHelp(), Type: strings.ToLower(f.GetType().String()), Metrics: make([]Metric, 0, len(f.Metric))}
		for _, m := range f.Metric {
			jm := Metric{Labels: make(map[string]string, len(m.Label))}
			for _, l := range m.Label {
				jm.Labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.Counter != nil:
				jm.Value = formatFloat(m.Counter.GetValue())
			case m.Gauge != nil:
				jm.Value = formatFloat(m.Gauge.GetValue())
			case m.Untyped != nil:
				jm.Value = formatFloat(m.Untyped.GetValue())
			case m.Summary != nil:
				jm.Quantiles = make(map[string]string, len(m.Summary.Quantile))
				for _, q := range m.Summary.Quantile {
					jm.Quantiles[formatFloat(q.GetQuantile())] = formatFloat(q.GetValue())
				}
				jm.Count = strconv.FormatUint(m.Summary.GetSampleCount(), 10)
				jm.Sum = formatFloat(m.Summary.GetSampleSum())
			case m.Histogram != nil:
				jm.Buckets = make(map[string]string, len(m.Histogram.Bucket))
				for _, b := range m.Histogram.Bucket {
					jm.Buckets[formatFloat(b.GetUpperBound())] = strconv.FormatUint(b.GetCumulativeCount(), 10)
				}
				jm.Count = strconv.FormatUint(m.Histogram.GetSampleCount(), 10)
				jm.Sum = formatFloat(m.Histogram.GetSampleSum())
			}
			jf.Metrics = append(jf.Metrics, jm)
		}
		out = append(out, jf)
	}
	return out
}

// formatFloat formats v as the text format does.
func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
