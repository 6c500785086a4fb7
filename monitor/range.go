package monitor

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Range is a Monitoring Plugins threshold range, "[@]start:end".
//
// A Range alerts when a value lies outside [Start, End], or, when Inside is
// set (the "@" prefix), when it lies inside it. Both ends are inclusive, as
// the Monitoring Plugins guidelines specify. An open start is Start =
// -Inf ("~"), an open end is End = +Inf (nothing after ":").
//
// The zero Range is "0": it alerts for every value other than 0. Build
// Ranges with [ParseRange] rather than by hand, or check hand-built ones
// with [Range.Validate].
type Range struct {
	// Start is the lower bound, inclusive; -Inf for "~".
	Start float64
	// End is the upper bound, inclusive; +Inf when the end is omitted.
	End float64
	// Inside inverts the range: alert when Start <= v <= End.
	Inside bool
}

// ErrBadRange is wrapped by [ParseRange] and [Range.Validate]; the message
// names the offending text and what is allowed.
var ErrBadRange = errors.New("monitor: bad range")

const rangeGrammar = `want [@][START:]END: "10" (alert outside 0..10), "10:" (outside 10..∞), "~:10" (outside -∞..10), "10:20", "@10:20" (alert inside 10..20)`

// ParseRange parses the Monitoring Plugins range grammar:
//
//	10      alert if v < 0 or v > 10
//	10:     alert if v < 10
//	~:10    alert if v > 10
//	10:20   alert if v < 10 or v > 20
//	@10:20  alert if 10 <= v <= 20
//
// START may be omitted before the colon (":10" is "0:10"), "~" stands for
// -∞ and only as START, and an empty END after the colon means +∞.
// Numbers are decimal (exponents allowed); "inf" and "nan" are not
// accepted: use "~" or an empty END for open ends. START greater than END
// is an error. Errors wrap [ErrBadRange] and quote the text.
//
// A number may be followed by "%" signs, which are ignored: "80%",
// "1:12%%", "@10:20%", "~:80%" and "10%:" read as "80", "1:12", "@10:20",
// "~:80" and "10:". Nagios command definitions often write "--warning
// 80%", and the Monitoring Plugins C library, which reads each bound with
// strtod and ignores what follows it, accepts them the same way. Only
// trailing "%" after a number is tolerated; anything else after a number
// is an error. [Range.String] writes no "%".
func ParseRange(s string) (Range, error) {
	text := s
	bad := func(format string, args ...any) (Range, error) {
		return Range{}, fmt.Errorf("%w %q: %s", ErrBadRange, text, fmt.Sprintf(format, args...))
	}
	var r Range
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		r.Inside = true
		s = rest
	}
	if s == "" {
		return bad("empty; " + rangeGrammar)
	}
	startText, endText, hasColon := strings.Cut(s, ":")
	if !hasColon {
		startText, endText = "", s
	}
	switch startText {
	case "~":
		r.Start = math.Inf(-1)
	case "":
		r.Start = 0
	default:
		v, err := parseBound(startText)
		if err != nil {
			return bad("start %s; %s", err, rangeGrammar)
		}
		r.Start = v
	}
	switch {
	case endText == "" && hasColon:
		r.End = math.Inf(1)
	case endText == "~":
		return bad("~ (minus infinity) is allowed only as the start; leave the end empty for +∞")
	default:
		v, err := parseBound(endText)
		if err != nil {
			return bad("end %s; %s", err, rangeGrammar)
		}
		r.End = v
	}
	if r.Start > r.End {
		return bad("start %s is greater than end %s", formatBound(r.Start), formatBound(r.End))
	}
	return r, nil
}

// parseBound parses one finite decimal number, optionally followed by
// "%" signs (ignored). Errors quote s as given.
func parseBound(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimRight(s, "%"), 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("%q is out of range", s)
	case err != nil:
		return 0, fmt.Errorf("%q is not a number", s)
	case strings.ContainsAny(s, "xX_"):
		return 0, fmt.Errorf("%q is not a decimal number", s)
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("%q is not a finite number (use ~ for -∞, an empty end for +∞)", s)
	}
	return v, nil
}

// formatBound renders a finite number in the shortest decimal form that
// parses back to the same float64, without an exponent.
func formatBound(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Alert reports whether v is in the alerting region of r: outside
// [Start, End], or inside it when Inside is set. NaN never alerts (a
// threshold evaluation reports a NaN sample as Unknown instead).
func (r Range) Alert(v float64) bool {
	in := r.Start <= v && v <= r.End
	if math.IsNaN(v) {
		return false
	}
	if r.Inside {
		return in
	}
	return !in
}

// Validate reports whether r can be written as a range string: no NaN,
// Start not +Inf, End not -Inf, and Start <= End. Ranges from [ParseRange]
// are always valid. The error wraps [ErrBadRange].
func (r Range) Validate() error {
	switch {
	case math.IsNaN(r.Start) || math.IsNaN(r.End):
		return fmt.Errorf("%w: start and end must be numbers, not NaN", ErrBadRange)
	case math.IsInf(r.Start, 1):
		return fmt.Errorf("%w: start cannot be +Inf", ErrBadRange)
	case math.IsInf(r.End, -1):
		return fmt.Errorf("%w: end cannot be -Inf", ErrBadRange)
	case r.Start > r.End:
		return fmt.Errorf("%w: start %s is greater than end %s", ErrBadRange, formatBound(r.Start), formatBound(r.End))
	}
	return nil
}

// String renders r in the canonical range syntax, the shortest form
// [ParseRange] reads back to the same Range: "10", "10:", "~:10",
// "10:20", "@10:20", "~:" (never alerts). Numbers have no exponent. The
// result for a Range that fails [Range.Validate] is not parseable.
func (r Range) String() string {
	var b strings.Builder
	if r.Inside {
		b.WriteByte('@')
	}
	switch {
	case math.IsInf(r.Start, -1):
		b.WriteString("~:")
	case r.Start == 0 && !math.Signbit(r.Start) && !math.IsInf(r.End, 1):
		// "0:END" is written "END".
	default:
		b.WriteString(formatBound(r.Start))
		b.WriteByte(':')
	}
	if !math.IsInf(r.End, 1) {
		b.WriteString(formatBound(r.End))
	}
	return b.String()
}

// MarshalText implements encoding.TextMarshaler with [Range.String], so a
// Range is a string in JSON and YAML. It fails for an invalid Range.
func (r Range) MarshalText() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with [ParseRange].
func (r *Range) UnmarshalText(b []byte) error {
	v, err := ParseRange(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
