package prom

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// ContentType is the Content-Type of the text exposition format 0.0.4,
// what [WriteText] writes.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Prefix is prepended to every sample name to make the metric name.
const Prefix = "minato_"

// The metrics the package adds for every (check, Target).
const (
	StatusMetric   = "minato_check_status"
	UpMetric       = "minato_check_up"
	DurationMetric = "minato_check_duration_seconds"
)

// Option configures a [Collector], [Handler] or [HandlerFor]: only
// optional collaborators.
type Option func(*options)

type options struct {
	log *slog.Logger
}

// WithLogger sets the logger. The Collector logs each series it drops (a
// duplicate, or a sample named like one of the package's own metrics) at
// Debug; [Handler] and [HandlerFor] log gathering and encoding errors at
// Warn. nil, the default, is silent.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

func newOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Collector is a [prometheus.Collector] over the latest Evaluations of a
// monitor Runner: minato's own series and, for container Targets, the
// cAdvisor-compatible ones (see the package documentation for both).
//
// It is an unchecked collector: [Collector.Describe] sends no Desc,
// because the series are only known at collection time. Which samples
// there are depends on what the Monitors returned, and the label names of
// one family vary with the Target (container_name and container_id for a
// container, target and target_kind for an engine, neither for an error
// that concerns no Target) and with each sample's own labels, which a
// Desc with fixed label names cannot declare. Every family still has one
// HELP text and one type. Register a Collector at most once per registry:
// a second registration would collect every series twice, which the
// registry's Gather reports as an error.
//
// A Collector is safe for concurrent use; it calls its evaluations
// function once per Collect, possibly from several goroutines at once.
type Collector struct {
	evaluations func() []monitor.Evaluation
	descs       map[string]monitor.SampleDesc
	log         *slog.Logger
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector over evaluations (typically
// [monitor.Runner.Evaluations]), which must be safe for concurrent use;
// the Collector only reads what it returns. descs (typically
// [monitor.Runner.Describe]) give HELP text and type per sample name, the
// first of duplicates winning; it is read once, so build the Collector
// after adding the Runner's Checks. Samples without a SampleDesc get a
// generic HELP text and a type from their name.
func NewCollector(evaluations func() []monitor.Evaluation, descs []monitor.SampleDesc, opts ...Option) *Collector {
	byName := make(map[string]monitor.SampleDesc, len(descs))
	for _, d := range descs {
		if _, ok := byName[d.Name]; !ok {
			byName[d.Name] = d
		}
	}
	o := newOptions(opts)
	return &Collector{evaluations: evaluations, descs: byName, log: o.log}
}

// Describe sends nothing, which makes the Collector unchecked (see
// [Collector]).
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect sends one metric per series of the evaluations' current
// Evaluations. It blocks only on ch and in evaluations.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.metrics(c.evaluations()) {
		ch <- m
	}
}

// family is one metric family's HELP text and type.
type family struct {
	help string
	typ  prometheus.ValueType
}

var ownFamilies = map[string]family{
	StatusMetric:   {"Reported status of a check for a target: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.", prometheus.GaugeValue},
	UpMetric:       {"1 when the check could measure the target, 0 when it failed.", prometheus.GaugeValue},
	DurationMetric: {"How long the last measurement of the target took.", prometheus.GaugeValue},
}

// batch builds the metrics of one Collect.
type batch struct {
	c     *Collector
	fams  map[string]family           // metric name -> its family, fixed by the first series
	seen  map[string]bool             // series keys already emitted
	descs map[string]*prometheus.Desc // name and label names -> Desc
	out   []prometheus.Metric
}

func (c *Collector) metrics(evs []monitor.Evaluation) []prometheus.Metric {
	// Order decides which of two duplicate series is kept: sort a copy
	// the way Runner.Evaluations does, so that the result does not
	// depend on the order the caller passed.
	evs = slices.Clone(evs)
	slices.SortStableFunc(evs, func(a, b monitor.Evaluation) int {
		return cmp.Or(cmp.Compare(a.Check, b.Check), cmp.Compare(a.Target.Key(), b.Target.Key()))
	})
	b := &batch{c: c, fams: maps.Clone(ownFamilies), seen: map[string]bool{}, descs: map[string]*prometheus.Desc{}}
	for _, ev := range evs {
		base := baseLabels(ev)
		up := 1.0
		if ev.Err != nil {
			up = 0
		}
		b.add(StatusMetric, base, float64(ev.Status))
		b.add(UpMetric, base, up)
		b.add(DurationMetric, base, ev.Took.Seconds())
		cadvisor := cadvisorLabels(ev.Target)
		for _, s := range ev.Result.Samples {
			name := Prefix + sanitize(s.Name)
			if _, own := ownFamilies[name]; own {
				b.c.log.Debug("prometheus: sample dropped: its name is one of the package's metrics", "check", ev.Check, "sample", s.Name)
				continue
			}
			if _, ok := b.fams[name]; !ok {
				b.fams[name] = c.sampleFamily(s.Name)
			}
			b.add(name, merge(base, s.Labels), s.Value)
			if cadvisor != nil {
				b.addCAdvisor(cadvisor, s)
			}
		}
	}
	return b.out
}

// sampleFamily is the HELP text and type of the family of sample name.
// The type is counter for a name ending in "_total" and gauge otherwise,
// unless the SampleDesc declares a Kind that the name contradicts (a
// Counter without "_total", a Gauge with it, an unknown Kind): then it is
// untyped, which keeps the name while the text format, OpenMetrics
// ("unknown") and Prometheus' linter all agree.
func (c *Collector) sampleFamily(name string) family {
	f := family{help: "Sample " + name + " measured by minato.", typ: prometheus.GaugeValue}
	total := strings.HasSuffix(name, "_total")
	if total {
		f.typ = prometheus.CounterValue
	}
	d, ok := c.descs[name]
	if !ok {
		return f
	}
	if d.Help != "" {
		f.help = validUTF8(d.Help)
	}
	switch {
	case d.Kind == "", d.Kind == monitor.Counter && total, d.Kind == monitor.Gauge && !total:
	default:
		f.typ = prometheus.UntypedValue
	}
	return f
}

// add emits one series of the family name with labels, unless a series
// with the same name and labels was emitted before.
func (b *batch) add(name string, labels map[string]string, v float64) {
	names := slices.Sorted(maps.Keys(labels))
	values := make([]string, len(names))
	for i, n := range names {
		values[i] = labels[n]
	}
	key := name + "\xff" + strings.Join(names, "\xff") + "\xfe" + strings.Join(values, "\xff")
	if b.seen[key] {
		b.c.log.Debug("prometheus: duplicate series dropped", "metric", name, "labels", labels)
		return
	}
	b.seen[key] = true
	f := b.fams[name]
	dkey := name + "\xff" + strings.Join(names, "\xff")
	desc, ok := b.descs[dkey]
	if !ok {
		desc = prometheus.NewDesc(name, f.help, names, nil)
		b.descs[dkey] = desc
	}
	m, err := prometheus.NewConstMetric(desc, f.typ, v, values...)
	if err != nil {
		m = prometheus.NewInvalidMetric(desc, err)
	}
	b.out = append(b.out, m)
}

// reserved are the label names the package sets on its own series.
var reserved = []string{"check", "container_id", "container_name", "target", "target_kind"}

func baseLabels(ev monitor.Evaluation) map[string]string {
	l := map[string]string{"check": validUTF8(ev.Check)}
	switch t := ev.Target; {
	case t.Kind == inventory.KindContainer:
		l["container_name"] = validUTF8(inventory.TrimName(t.Name))
		l["container_id"] = validUTF8(t.ShortID())
	case t.ID != "" || t.Name != "":
		l["target_kind"] = validUTF8(string(t.Kind))
		l["target"] = validUTF8(cmp.Or(t.Name, t.ID))
	}
	return l
}

// merge returns base plus the sample labels extra, their names sanitised;
// a name that collides with a reserved one or starts with "__" becomes
// "exported_<name>", and of two labels with the same name after that the
// first (base first, then extra by original name) is kept.
func merge(base, extra map[string]string) map[string]string {
	if len(extra) == 0 {
		return base
	}
	all := maps.Clone(base)
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		n := sanitize(k)
		if slices.Contains(reserved, n) || strings.HasPrefix(n, "__") {
			n = "exported_" + strings.TrimLeft(n, "_")
		}
		if _, dup := all[n]; !dup {
			all[n] = validUTF8(extra[k])
		}
	}
	return all
}

// sanitize makes s a valid metric or label name: every byte that is not
// an ASCII letter, "_" or (after the first byte) a digit becomes "_".
// Colons, which the exposition format allows in metric names, are
// replaced too: Prometheus reserves them for recording rules.
func sanitize(s string) string {
	if s == "" {
		return "_"
	}
	b := []byte(s)
	for i, c := range b {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}

// validUTF8 replaces invalid UTF-8, which label values may not hold.
func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// WriteText writes the series of evs, as a [Collector] with descs would
// collect them, to w in the text exposition format 0.0.4 ([ContentType]),
// through a private registry and expfmt: families sorted by name, series
// by label values. The output does not depend on the order of evs. An
// error is w's, or the registry's refusal of a series (which the
// package's sanitising is meant to rule out); what could be gathered is
// written even then.
func WriteText(w io.Writer, evs []monitor.Evaluation, descs []monitor.SampleDesc, opts ...Option) error {
	reg := prometheus.NewRegistry()
	if err := reg.Register(NewCollector(func() []monitor.Evaluation { return evs }, descs, opts...)); err != nil {
		return fmt.Errorf("prometheus: register collector: %w", err)
	}
	mfs, gatherErr := reg.Gather()
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return err
		}
	}
	if gatherErr != nil {
		return fmt.Errorf("prometheus: gather: %w", gatherErr)
	}
	return nil
}

// Handler serves the series of a [Collector] over evaluations and descs
// (see [NewCollector]) from a registry of its own, as [HandlerFor] does.
// Use [HandlerFor] to serve them beside other collectors.
func Handler(evaluations func() []monitor.Evaluation, descs []monitor.SampleDesc, opts ...Option) http.Handler {
	reg := prometheus.NewRegistry()
	// A fresh registry holds nothing yet: registering an unchecked
	// collector cannot fail.
	_ = reg.Register(NewCollector(evaluations, descs, opts...))
	return HandlerFor(reg, opts...)
}

// HandlerFor serves what g gathers on GET and HEAD (other methods get
// 405) with promhttp: the text format 0.0.4 by default, OpenMetrics 1.0.0
// when the scraper's Accept header asks for application/openmetrics-text,
// the protobuf format when it asks for that, gzip or zstd when offered.
// g is gathered once per request. When gathering fails in part, the
// series that could be gathered are still served (the error goes to the
// logger of [WithLogger]), so that one failing collector does not hide
// the others.
func HandlerFor(g prometheus.Gatherer, opts ...Option) http.Handler {
	o := newOptions(opts)
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:          errorLog{o.log},
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: use GET", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// errorLog adapts a *slog.Logger to promhttp.Logger.
type errorLog struct{ to *slog.Logger }

func (e errorLog) Println(v ...any) {
	e.to.Warn("prometheus exposition", "err", errors.New(strings.TrimSuffix(fmt.Sprintln(v...), "\n")))
}
