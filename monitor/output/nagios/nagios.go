package nagios

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// Format renders evs, the Evaluations of one check, as one Monitoring
// Plugins line and returns it (without a trailing newline) with the exit
// code.
//
// The status is [monitor.Worst] of the Evaluations' Status (Critical >
// Warning > Unknown > OK); no Evaluation at all is UNKNOWN "no target
// matched". The line is "NAME STATUS: summary | perfdata", or "STATUS:
// summary | perfdata" when name is empty. The summary lists every
// Evaluation that is not OK as "<target>: <message>", most severe first,
// followed by "; N of M OK" when there were several; when all are OK it is
// "<target>: <message or up to three samples>" for one Evaluation and "all N targets
// OK" for more. A target is named by its Name, else its short ID. "|"
// and line breaks in the summary are replaced, as they would break the
// format.
//
// Which samples: with thresholds, only the samples some Threshold
// matches (by name and labels, [monitor.Threshold.Matches]) appear, in
// the summary and in the perfdata, so a check judged on cpu_percent
// shows cpu_percent and not the dozen other samples its monitor
// produced; a Threshold without ranges selects a sample without judging
// it. With no thresholds every sample appears. The Evaluations'
// statuses are taken as they are: Format does not judge.
//
// Perfdata has one entry per selected Sample of every Evaluation, in
// order. The label is the sample name, then its labels as {key=value,...}
// sorted by key, then ":<target>" when there are several Evaluations. The
// UOM is the Sample's Unit when it is a Monitoring Plugins unit (%, B, s,
// c, ...) and empty otherwise; NaN and infinite values are "U", and an
// integer a float64 cannot hold is its exact text (Sample.Exact). warn
// and crit are the ranges of the first Threshold that matches the sample
// and has one; min and max are 0 and 100 for percentages.
func Format(name string, evs []monitor.Evaluation, thresholds []monitor.Threshold) (text string, exit int) {
	evs = selected(evs, thresholds)
	status := monitor.Unknown
	summary := "no target matched"
	if len(evs) > 0 {
		sts := make([]monitor.Status, len(evs))
		for i, ev := range evs {
			sts[i] = ev.Status
		}
		status = monitor.Worst(sts...)
		summary = summarize(evs)
	}
	var b strings.Builder
	if name != "" {
		b.WriteString(name + " ")
	}
	b.WriteString(status.String() + ": " + clean(summary))
	if perf := perfdata(evs, thresholds); perf != "" {
		b.WriteString(" | " + perf)
	}
	return b.String(), status.ExitCode()
}

func summarize(evs []monitor.Evaluation) string {
	var bad []monitor.Evaluation
	for _, ev := range evs {
		if ev.Status != monitor.OK {
			bad = append(bad, ev)
		}
	}
	if len(bad) == 0 {
		if len(evs) > 1 {
			return fmt.Sprintf("all %d targets OK", len(evs))
		}
		msg := evs[0].Message
		if msg == "" {
			msg = sampleSummary(evs[0].Result.Samples)
		}
		return prefixed(evs[0].Target, msg)
	}
	slices.SortStableFunc(bad, func(a, b monitor.Evaluation) int {
		return cmp.Compare(rank(b.Status), rank(a.Status))
	})
	parts := make([]string, len(bad))
	for i, ev := range bad {
		msg := ev.Message
		if msg == "" {
			msg = ev.Status.String()
		}
		parts[i] = prefixed(ev.Target, msg)
	}
	s := strings.Join(parts, ", ")
	if len(evs) > 1 {
		s += fmt.Sprintf("; %d of %d OK", len(evs)-len(bad), len(evs))
	}
	return s
}

// rank orders statuses like monitor.Worst.
func rank(s monitor.Status) int {
	switch s {
	case monitor.OK:
		return 0
	case monitor.Unknown:
		return 1
	case monitor.Warning:
		return 2
	}
	return 3
}

func prefixed(t inventory.Target, msg string) string {
	name := targetName(t)
	switch {
	case name == "":
		return msg
	case msg == "":
		return name
	}
	return name + ": " + msg
}

func targetName(t inventory.Target) string {
	if t.Name != "" {
		return inventory.TrimName(t.Name)
	}
	return t.ShortID()
}

// sampleSummary renders up to three samples for the summary line.
func sampleSummary(ss []monitor.Sample) string {
	const most = 3
	var parts []string
	for _, s := range ss[:min(len(ss), most)] {
		v := sampleValue(s)
		if v != "U" {
			v += string(s.Unit)
		}
		parts = append(parts, s.Name+labelSuffix(s.Labels)+"="+v)
	}
	out := strings.Join(parts, ", ")
	if len(ss) > most {
		out += fmt.Sprintf(" (+%d more)", len(ss)-most)
	}
	return out
}

var cleaner = strings.NewReplacer("|", "/", "\r\n", " ", "\n", " ", "\r", " ")

func clean(s string) string { return cleaner.Replace(s) }

// selected returns evs with only the samples some threshold matches; evs
// itself when there are no thresholds. The Evaluations are copied, never
// modified.
func selected(evs []monitor.Evaluation, ths []monitor.Threshold) []monitor.Evaluation {
	if len(ths) == 0 {
		return evs
	}
	out := make([]monitor.Evaluation, len(evs))
	for i, ev := range evs {
		var keep []monitor.Sample
		for _, s := range ev.Result.Samples {
			if slices.ContainsFunc(ths, func(th monitor.Threshold) bool { return th.Matches(s) }) {
				keep = append(keep, s)
			}
		}
		ev.Result.Samples = keep
		out[i] = ev
	}
	return out
}

// Perfdata returns the performance data part of [Format]'s line (after
// "| "): space-separated 'label'=value[UOM];warn;crit;min;max entries
// for the samples [Format] selects (those some threshold matches; all
// of them when there are no thresholds).
func Perfdata(evs []monitor.Evaluation, thresholds []monitor.Threshold) string {
	return perfdata(selected(evs, thresholds), thresholds)
}

func perfdata(evs []monitor.Evaluation, thresholds []monitor.Threshold) string {
	var entries []string
	for _, ev := range evs {
		suffix := ""
		if n := targetName(ev.Target); len(evs) > 1 && n != "" {
			suffix = ":" + n
		}
		for _, s := range ev.Result.Samples {
			entries = append(entries, entry(s.Name+labelSuffix(s.Labels)+suffix, s, thresholds))
		}
	}
	return strings.Join(entries, " ")
}

func entry(label string, s monitor.Sample, ths []monitor.Threshold) string {
	var warn, crit string
	for _, th := range ths {
		if !th.Matches(s) {
			continue
		}
		if warn == "" && th.Warning != nil {
			warn = th.Warning.String()
		}
		if crit == "" && th.Critical != nil {
			crit = th.Critical.String()
		}
	}
	var lo, hi string
	if s.Unit == monitor.Percent {
		lo, hi = "0", "100"
	}
	v := sampleValue(s)
	if v != "U" {
		v += uom(s.Unit)
	}
	fields := strings.TrimRight(strings.Join([]string{v, warn, crit, lo, hi}, ";"), ";")
	return QuoteLabel(label) + "=" + fields
}

// sampleValue renders s's value: its Exact text when it has one, else
// [value].
func sampleValue(s monitor.Sample) string {
	if s.Exact != "" && !math.IsNaN(s.Value) && !math.IsInf(s.Value, 0) {
		return s.Exact
	}
	return value(s.Value)
}

// value renders a perfdata value: integers exactly, other values with 6
// significant digits (measurement noise beyond that only makes the line
// harder to read), never in exponent notation, which plugins' parsers
// reject.
func value(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "U"
	}
	switch {
	case v == math.Trunc(v):
		// integers (byte counts) stay exact
	case math.Abs(v) >= 1e6:
		v = math.Round(v)
	default:
		if r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64); err == nil {
			v = r
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// uom returns the Monitoring Plugins unit of measure for u, or "" when u
// is not one.
func uom(u monitor.Unit) string {
	switch u {
	case monitor.Percent, monitor.Bytes, monitor.Seconds, monitor.Count, "ms", "us", "KB", "MB", "GB", "TB":
		return string(u)
	}
	return ""
}

func labelSuffix(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// QuoteLabel returns a perfdata label as the guidelines want it: wrapped in
// single quotes when it contains a space, "=" or "'", with each "'"
// doubled; otherwise unchanged.
func QuoteLabel(label string) string {
	if !strings.ContainsAny(label, " ='") {
		return label
	}
	return "'" + strings.ReplaceAll(label, "'", "''") + "'"
}

// Sink is a [monitor.Sink] that writes one [Format] line per round, named
// after the check, for a long-running Runner whose output a log collector
// or a passive-check submitter reads.
type Sink struct {
	w          io.Writer
	thresholds map[string][]monitor.Threshold
}

var _ monitor.Sink = (*Sink)(nil)

// NewSink returns a Sink writing to w. thresholds maps check names to the
// Thresholds whose samples and ranges the perfdata shows (every sample
// of a check without thresholds); it may be nil. The Sink
// relies on the Runner never calling Write concurrently.
func NewSink(w io.Writer, thresholds map[string][]monitor.Threshold) *Sink {
	return &Sink{w: w, thresholds: thresholds}
}

// Write writes evs, which belong to one check, as one line.
func (s *Sink) Write(_ context.Context, evs []monitor.Evaluation) error {
	if len(evs) == 0 {
		return nil
	}
	text, _ := Format(evs[0].Check, evs, s.thresholds[evs[0].Check])
	_, err := io.WriteString(s.w, text+"\n")
	return err
}
