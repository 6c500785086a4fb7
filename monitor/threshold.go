package monitor

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Threshold judges the samples of one name, either against a warning and
// a critical [Range] (Monitoring Plugins) or with [HinemosBands] (Hinemos:
// an info band judged OK, a warning band, anything else critical).
//
// A Threshold applies to every sample of the Result whose Name equals
// Sample and whose Labels include all of Labels (nil Labels: every sample
// of that name, for example every core of a per-core CPU sample).
type Threshold struct {
	// Sample is the Sample.Name the Threshold applies to.
	Sample string `json:"sample"`
	// Labels, when set, restrict the Threshold to samples carrying all of
	// these label values.
	Labels map[string]string `json:"labels,omitempty"`
	// Warning alerts with [Warning]; nil never does.
	Warning *Range `json:"warning,omitempty"`
	// Critical alerts with [Critical]; nil never does.
	Critical *Range `json:"critical,omitempty"`
	// Bands, when set, judges the matching samples instead of Warning and
	// Critical, which must then be nil: OK in Bands.Info, Warning in
	// Bands.Warning, Critical anywhere else ([HinemosBands.Judge]).
	Bands *HinemosBands `json:"bands,omitempty"`
}

// Validate reports whether t is usable: Sample is set, the ranges or the
// bands are valid, and Bands is not combined with Warning or Critical.
// Problems are joined; each names its field.
func (t Threshold) Validate() error {
	var errs []error
	if t.Sample == "" {
		errs = append(errs, errors.New("sample: empty: name the Sample the threshold applies to"))
	}
	if t.Warning != nil {
		if err := t.Warning.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("warning: %w", err))
		}
	}
	if t.Critical != nil {
		if err := t.Critical.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("critical: %w", err))
		}
	}
	if t.Bands != nil {
		var with []string
		if t.Warning != nil {
			with = append(with, "warning")
		}
		if t.Critical != nil {
			with = append(with, "critical")
		}
		if len(with) > 0 {
			errs = append(errs, fmt.Errorf("bands: set together with %s: judge with bands (Hinemos) or with warning and critical ranges (Monitoring Plugins), not both", strings.Join(with, " and ")))
		}
		errs = append(errs, prefixed("bands.", t.Bands.Validate())...)
	}
	return errors.Join(errs...)
}

// Matches reports whether t applies to s: same name, and s carries all of
// t.Labels.
func (t Threshold) Matches(s Sample) bool {
	return s.Name == t.Sample && hasLabels(s.Labels, t.Labels)
}

// EvaluateThresholds judges r against ths and returns the resulting status
// and a message saying why (empty when no threshold alerted and no sample
// was missing).
//
// The status is [Worst] (Critical > Warning > Unknown > OK) of:
//
//   - r.Status, the monitor's own verdict (thresholds only ever raise it);
//   - Critical, if any matching sample is in the alerting region of a
//     Critical range; otherwise Warning, if any matching sample is in the
//     alerting region of a Warning range;
//   - for a Threshold with Bands, the [HinemosBands.Judge] verdict of each
//     matching sample;
//   - Unknown, if a Threshold matches no sample of r ("no sample
//     cpu_percent") or a matching sample's value is NaN.
//
// So a critical alert wins over a missing sample, and a missing sample
// over OK. The message lists the alerting samples, most severe first, in
// the form `cpu_percent=93.5% (critical 90)`, or for bands
// `cpu_percent=93.5% (critical: outside info [0,80) and warning [80,90))`
// and `cpu_percent=85% (warning: in [80,90))`, then the missing ones,
// joined by ", ". r is not modified.
func EvaluateThresholds(r Result, ths []Threshold) (Status, string) {
	type reason struct {
		status Status
		text   string
	}
	var reasons []reason
	for _, th := range ths {
		matched := false
		for _, s := range r.Samples {
			if !th.Matches(s) {
				continue
			}
			matched = true
			switch {
			case math.IsNaN(s.Value):
				reasons = append(reasons, reason{Unknown, sampleID(s) + " is NaN"})
			case th.Bands != nil:
				switch v := s.Value; th.Bands.Judge(&v) {
				case Critical:
					reasons = append(reasons, reason{Critical, fmt.Sprintf("%s=%s (critical: %s)", sampleID(s), formatValue(s.Value, s.Unit), th.Bands.outside())})
				case Warning:
					reasons = append(reasons, reason{Warning, fmt.Sprintf("%s=%s (warning: in %s)", sampleID(s), formatValue(s.Value, s.Unit), th.Bands.Warning)})
				}
			case th.Critical != nil && th.Critical.Alert(s.Value):
				reasons = append(reasons, reason{Critical, fmt.Sprintf("%s=%s (critical %s)", sampleID(s), formatValue(s.Value, s.Unit), th.Critical)})
			case th.Warning != nil && th.Warning.Alert(s.Value):
				reasons = append(reasons, reason{Warning, fmt.Sprintf("%s=%s (warning %s)", sampleID(s), formatValue(s.Value, s.Unit), th.Warning)})
			}
		}
		if !matched {
			reasons = append(reasons, reason{Unknown, "no sample " + labelled(th.Sample, th.Labels)})
		}
	}
	status := r.Status
	for _, rs := range reasons {
		status = Worst(status, rs.status)
	}
	slices.SortStableFunc(reasons, func(a, b reason) int { return b.status.severity() - a.status.severity() })
	texts := make([]string, len(reasons))
	for i, rs := range reasons {
		texts[i] = rs.text
	}
	return status, strings.Join(texts, ", ")
}

// sampleID renders a sample's name and labels: cpu_percent{core="1"}.
func sampleID(s Sample) string { return labelled(s.Name, s.Labels) }

func labelled(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, labels[k])
	}
	b.WriteByte('}')
	return b.String()
}

// formatValue renders a value with its unit for messages: "93.5%", "1024B",
// "3".
func formatValue(v float64, u Unit) string {
	if v != math.Trunc(v) && math.Abs(v) < 1e15 && !math.IsNaN(v) {
		// Messages are for people: 4 significant digits (95.12, 0.0002).
		if r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64); err == nil {
			v = r
		}
	}
	return formatBound(v) + string(u)
}

// prefixed returns the errors joined in err by [errors.Join] (err itself
// when it is no such join), each with prefix, so that every line of a
// joined Validate error names its field path. nil gives nil.
func prefixed(prefix string, err error) []error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		parts := joined.Unwrap()
		texts := make([]string, len(parts))
		for i, e := range parts {
			texts[i] = e.Error()
		}
		// errors.Join's text is its parts' joined by newlines; an error
		// of fmt.Errorf with several %w has text of its own.
		if strings.Join(texts, "\n") == err.Error() {
			var out []error
			for _, e := range parts {
				out = append(out, prefixed(prefix, e)...)
			}
			return out
		}
	}
	return []error{fmt.Errorf("%s%w", prefix, err)}
}

// ParseThreshold builds the Threshold of sample from the text forms a
// command line or a plugin definition gives: warning and critical are
// Monitoring Plugins ranges (see [ParseRange]; "" sets none), info and
// band are Hinemos bands "LOWER:UPPER" (see [ParseBand]; both or neither:
// with them the threshold judges by [HinemosBands] and ranges are
// refused). An error names the option ("warning", "critical", "info",
// "band") and wraps ErrBadRange or ErrBadBand.
func ParseThreshold(sample, warning, critical, info, band string) (Threshold, error) {
	th := Threshold{Sample: sample}
	for _, r := range []struct {
		name, text string
		dst        **Range
	}{{"warning", warning, &th.Warning}, {"critical", critical, &th.Critical}} {
		if r.text == "" {
			continue
		}
		rg, err := ParseRange(r.text)
		if err != nil {
			return Threshold{}, fmt.Errorf("%s: %w", r.name, err)
		}
		*r.dst = &rg
	}
	if info == "" && band == "" {
		return th, nil
	}
	if th.Warning != nil || th.Critical != nil {
		return Threshold{}, fmt.Errorf("bands: give ranges (warning, critical) or Hinemos bands (info, band), not both: %w", ErrBadBand)
	}
	var b HinemosBands
	var err error
	if b.Info, err = ParseBand(info); err != nil {
		return Threshold{}, fmt.Errorf("info: %w", err)
	}
	if b.Warning, err = ParseBand(band); err != nil {
		return Threshold{}, fmt.Errorf("band: %w", err)
	}
	th.Bands = &b
	return th, nil
}
