package prom

import (
	"bytes"
	"cmp"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// ContentType is the Content-Type of the text exposition format 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Prefix is prepended to every sample name to make the metric name.
const Prefix = "minato_"

// The metrics the package adds for every (check, Target).
const (
	StatusMetric   = "minato_check_status"
	UpMetric       = "minato_check_up"
	DurationMetric = "minato_check_duration_seconds"
)

type series struct {
	labels string // rendered {...}
	value  float64
}

type family struct {
	name, help, typ string
	series          []series
	seen            map[string]bool
}

func (f *family) add(labels string, v float64) {
	if f.seen[labels] {
		return // the first of duplicate series wins
	}
	f.seen[labels] = true
	f.series = append(f.series, series{labels, v})
}

// WriteText writes evs to w in the text exposition format 0.0.4. descs
// supply HELP text and TYPE for sample names; samples without one get a
// generic HELP and a TYPE from their name. Label names are sanitised (an
// invalid character becomes "_"); a sample label that collides with one
// of the package's labels is renamed "exported_<name>". Of two series with
// the same name and labels the first is kept, and samples whose metric
// name equals one of the package's own metrics are dropped. The only
// errors are w's.
func WriteText(w io.Writer, evs []monitor.Evaluation, descs []monitor.SampleDesc) error {
	byName := make(map[string]monitor.SampleDesc, len(descs))
	for _, d := range descs {
		if _, ok := byName[d.Name]; !ok {
			byName[d.Name] = d
		}
	}
	fams := map[string]*family{}
	get := func(name, help, typ string) *family {
		f, ok := fams[name]
		if !ok {
			f = &family{name: name, help: help, typ: typ, seen: map[string]bool{}}
			fams[name] = f
		}
		return f
	}
	status := get(StatusMetric, "Reported status of a check for a target: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.", "gauge")
	up := get(UpMetric, "1 when the check could measure the target, 0 when it failed.", "gauge")
	took := get(DurationMetric, "How long the last measurement of the target took.", "gauge")
	for _, ev := range evs {
		base := baseLabels(ev)
		status.add(render(base, nil), float64(ev.Status))
		upv := 1.0
		if ev.Err != nil {
			upv = 0
		}
		up.add(render(base, nil), upv)
		took.add(render(base, nil), ev.Took.Seconds())
		for _, s := range ev.Result.Samples {
			name := Prefix + sanitize(s.Name, true)
			if name == StatusMetric || name == UpMetric || name == DurationMetric {
				continue
			}
			help, typ := "Sample "+s.Name+" measured by minato.", "gauge"
			if strings.HasSuffix(s.Name, "_total") {
				typ = "counter"
			}
			if d, ok := byName[s.Name]; ok {
				if d.Help != "" {
					help = d.Help
				}
				switch d.Kind {
				case monitor.Counter:
					typ = "counter"
				case monitor.Gauge:
					typ = "gauge"
				}
			}
			get(name, help, typ).add(render(base, s.Labels), s.Value)
		}
	}
	names := make([]string, 0, len(fams))
	for n, f := range fams {
		if len(f.series) > 0 {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var b bytes.Buffer
	for _, n := range names {
		f := fams[n]
		b.WriteString("# HELP " + f.name + " " + escapeHelp(f.help) + "\n")
		b.WriteString("# TYPE " + f.name + " " + f.typ + "\n")
		slices.SortFunc(f.series, func(a, b series) int { return cmp.Compare(a.labels, b.labels) })
		for _, s := range f.series {
			b.WriteString(f.name + s.labels + " " + formatValue(s.value) + "\n")
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// reserved are the label names the package sets itself.
var reserved = []string{"check", "container_id", "container_name", "target", "target_kind"}

func baseLabels(ev monitor.Evaluation) map[string]string {
	l := map[string]string{"check": ev.Check}
	switch t := ev.Target; {
	case t.Kind == inventory.KindContainer:
		l["container_name"] = inventory.TrimName(t.Name)
		l["container_id"] = t.ShortID()
	case t.ID != "" || t.Name != "":
		l["target_kind"] = string(t.Kind)
		l["target"] = cmp.Or(t.Name, t.ID)
	}
	return l
}

// render merges base and the sample labels and renders them sorted by
// name: {check="cpu",container_id="0e0d8cdf3a57",core="0"}.
func render(base, extra map[string]string) string {
	all := make(map[string]string, len(base)+len(extra))
	for k, v := range base {
		all[k] = v
	}
	for k, v := range extra {
		k = sanitize(k, false)
		for slices.Contains(reserved, k) || strings.HasPrefix(k, "__") {
			k = "exported_" + strings.TrimLeft(k, "_")
		}
		if _, dup := all[k]; !dup {
			all[k] = v
		}
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + `="` + escapeLabel(all[k]) + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

// sanitize makes s a valid metric name (colons allowed) or label name.
func sanitize(s string, metric bool) string {
	if s == "" {
		return "_"
	}
	b := []byte(s)
	for i, c := range b {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || (i > 0 && c >= '0' && c <= '9') || (metric && c == ':')
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

// formatValue renders a float as the exposition format wants it: "NaN",
// "+Inf", "-Inf" or the shortest Go representation.
func formatValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64) // byte counts read better without an exponent
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Handler serves the exposition of evaluations() (typically
// [monitor.Runner.Evaluations]) with descs (typically
// [monitor.Runner.Describe]) on GET and HEAD, with [ContentType]; other
// methods get 405. evaluations is called once per request and must be
// safe for concurrent use.
func Handler(evaluations func() []monitor.Evaluation, descs []monitor.SampleDesc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: use GET", http.StatusMethodNotAllowed)
			return
		}
		var buf bytes.Buffer
		if err := WriteText(&buf, evaluations(), descs); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		_, _ = w.Write(buf.Bytes())
	})
}
