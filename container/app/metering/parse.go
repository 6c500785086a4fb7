package metering

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Parse decodes a scraped body whose Content-Type is contentType: the
// Prometheus text format (also for an empty or unknown type), OpenMetrics
// text (application/openmetrics-text) or delimited protobuf. It returns the
// families sorted by name, without timestamps (samples are as of the
// scrape). A sample with a label twice is an error, as Prometheus has it.
//
// OpenMetrics is read through the text parser after a rewrite: "# EOF",
// "# UNIT" lines, exemplars and timestamps are dropped; a counter family
// N is named N_total (as its samples are) and its N_created samples
// dropped, as are the _created samples of histograms and summaries; info
// becomes a gauge named N_info, stateset a gauge, unknown untyped; a
// gaugehistogram's samples are kept untyped.
//
// A body that makes the expfmt parser panic (prometheus/common v0.70.1
// does on "# TYPE a summary\n{}0", found by FuzzParse) is an error, not a
// crash of the scraping process.
func Parse(body []byte, contentType string) (fams []*dto.MetricFamily, err error) {
	defer func() {
		if r := recover(); r != nil {
			fams, err = nil, fmt.Errorf("parsing the metrics (%s): the parser failed on this body: %v", cmp.Or(contentType, "no Content-Type"), r)
		}
	}()
	format := expfmt.ResponseFormat(http.Header{"Content-Type": []string{contentType}})
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && mt == expfmt.OpenMetricsType {
		body = normalizeOpenMetrics(body)
		format = expfmt.NewFormat(expfmt.TypeTextPlain)
	}
	if format.FormatType() == expfmt.TypeUnknown {
		format = expfmt.NewFormat(expfmt.TypeTextPlain)
	}
	dec := expfmt.NewDecoder(bytes.NewReader(body), format)
	for {
		f := &dto.MetricFamily{}
		if err := dec.Decode(f); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("parsing the metrics (%s): %w", cmp.Or(contentType, "no Content-Type: read as Prometheus text"), err)
		}
		if len(f.Metric) == 0 {
			continue
		}
		for _, m := range f.Metric {
			m.TimestampMs = nil
			for i, l := range m.Label {
				if hasLabel(m.Label[:i], l.GetName()) {
					return nil, fmt.Errorf("parsing the metrics (%s): a sample of %s has the label %q twice", cmp.Or(contentType, "no Content-Type"), f.GetName(), l.GetName())
				}
			}
		}
		fams = append(fams, f)
	}
	slices.SortFunc(fams, func(a, b *dto.MetricFamily) int { return cmp.Compare(a.GetName(), b.GetName()) })
	return fams, nil
}

// normalizeOpenMetrics rewrites OpenMetrics text into the Prometheus text
// format (see Parse).
func normalizeOpenMetrics(b []byte) []byte {
	lines := strings.Split(string(b), "\n")
	types := map[string]string{}
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "# TYPE "); ok {
			if name, typ, ok := strings.Cut(strings.TrimSpace(rest), " "); ok {
				types[name] = strings.TrimSpace(typ)
			}
		}
	}
	// dropCreated says whether name is the _created sample of a family
	// whose type has one.
	dropCreated := func(name string) bool {
		base, ok := strings.CutSuffix(name, "_created")
		if !ok {
			return false
		}
		switch types[base] {
		case "counter", "histogram", "summary", "gaugehistogram":
			return true
		}
		return false
	}
	var out strings.Builder
	out.Grow(len(b))
	for _, l := range lines {
		l = strings.TrimRight(l, "\r")
		switch {
		case l == "# EOF":
			return []byte(out.String())
		case strings.HasPrefix(l, "# TYPE "), strings.HasPrefix(l, "# HELP "):
			kw := l[2:6]
			name, rest, _ := strings.Cut(strings.TrimSpace(l[7:]), " ")
			typ := types[name]
			if kw == "TYPE" {
				rest = typ
				switch typ {
				case "counter", "gauge", "histogram", "summary", "untyped":
				case "unknown":
					rest = "untyped"
				case "info", "stateset":
					rest = "gauge"
				default: // gaugehistogram and anything new: samples untyped
					continue
				}
			} else {
				if typ == "gaugehistogram" {
					continue
				}
				rest = strings.ReplaceAll(rest, `\"`, `"`)
			}
			switch typ {
			case "counter":
				name += "_total"
			case "info":
				name += "_info"
			}
			out.WriteString("# " + kw + " " + name + " " + rest + "\n")
		case strings.HasPrefix(l, "#"), strings.TrimSpace(l) == "":
			// # UNIT and other comments
		default:
			name, labels, value, ok := splitSample(l)
			if !ok {
				out.WriteString(l + "\n") // let the parser report it
				continue
			}
			if dropCreated(name) {
				continue
			}
			out.WriteString(name + labels + " " + value + "\n")
		}
	}
	return []byte(out.String())
}

// splitSample splits an OpenMetrics sample line into its name, its label
// set (with braces, possibly empty) and its value, dropping the timestamp
// and an exemplar. ok is false when the line cannot be split.
func splitSample(l string) (name, labels, value string, ok bool) {
	i := strings.IndexAny(l, "{ \t")
	if i < 0 {
		return "", "", "", false
	}
	name = l[:i]
	rest := l[i:]
	if rest[0] == '{' {
		end := closingBrace(rest)
		if end < 0 {
			return "", "", "", false
		}
		labels, rest = rest[:end+1], rest[end+1:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", "", "", false
	}
	return name, labels, fields[0], true
}

// closingBrace returns the index of the '}' closing the label set s
// starts with, skipping quoted strings; -1 when there is none.
func closingBrace(s string) int {
	inQuote := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '}':
			return i
		}
	}
	return -1
}
