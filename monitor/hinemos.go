package monitor

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Band is a half-open interval of a Hinemos numeric judgement: a value v is
// in the Band when Lower <= v < Upper ("lower 以上 upper 未満"). A Band
// with Lower == Upper is empty.
//
// In JSON and YAML a Band is a mapping, {"lower": 0, "upper": 80}; on a
// command line, "0:80" ([ParseBand]).
type Band struct {
	// Lower is the inclusive lower bound.
	Lower float64 `json:"lower"`
	// Upper is the exclusive upper bound.
	Upper float64 `json:"upper"`
}

// ErrBadBand is wrapped by [ParseBand]; the message quotes the text and
// says what is allowed.
var ErrBadBand = errors.New("monitor: bad band")

const bandGrammar = `want LOWER:UPPER, the half-open band LOWER <= v < UPPER (Hinemos "LOWER 以上 UPPER 未満"), e.g. "0:80"`

// ParseBand parses "LOWER:UPPER", the Band [LOWER, UPPER): both bounds
// are required finite decimal numbers (exponents allowed, no "inf" or
// "nan"), and LOWER must not be greater than UPPER (LOWER == UPPER is the
// empty Band). As in [ParseRange], a number may be followed by "%" signs,
// which are ignored: "80%:90%" is [80, 90). Errors wrap [ErrBadBand],
// quote the text and give the grammar.
func ParseBand(s string) (Band, error) {
	bad := func(format string, args ...any) (Band, error) {
		return Band{}, fmt.Errorf("%w %q: %s", ErrBadBand, s, fmt.Sprintf(format, args...))
	}
	lo, hi, ok := strings.Cut(s, ":")
	if !ok {
		return bad("no colon; %s", bandGrammar)
	}
	var b Band
	var err error
	if b.Lower, err = parseBound(lo); err != nil {
		return bad("lower %s; %s", err, bandGrammar)
	}
	if b.Upper, err = parseBound(hi); err != nil {
		return bad("upper %s; %s", err, bandGrammar)
	}
	if b.Lower > b.Upper {
		return bad("lower %s is greater than upper %s", formatBound(b.Lower), formatBound(b.Upper))
	}
	return b, nil
}

// String renders b as "[LOWER,UPPER)", for messages: "[80,90)". Numbers
// have no exponent.
func (b Band) String() string {
	return "[" + formatBound(b.Lower) + "," + formatBound(b.Upper) + ")"
}

// empty reports whether b contains no value.
func (b Band) empty() bool { return !(b.Lower < b.Upper) }

// Contains reports whether Lower <= v < Upper. NaN is in no Band.
func (b Band) Contains(v float64) bool { return b.Lower <= v && v < b.Upper }

// HinemosBands is the numeric judgement of a Hinemos monitor setting, as
// the Hinemos Docker monitoring scripts are set up: an Info band and a
// Warning band; anything else is critical ("情報・警告以外").
//
// Unlike the ranges of a [Threshold], which list the alerting regions,
// HinemosBands lists the good ones, and its bands are half-open. The bands
// may overlap; Info is tested first. With the daemon status monitor's Info
// [0,1) and Warning [0,1), 0 is OK and 1 is Critical. Set
// [Threshold.Bands] to judge a Runner's samples this way.
type HinemosBands struct {
	// Info is the band judged OK (Hinemos 情報).
	Info Band `json:"info"`
	// Warning is the band judged Warning (Hinemos 警告).
	Warning Band `json:"warning"`
}

// Judge returns the Hinemos verdict for v: OK if v is in Info, else
// Warning if v is in Warning, else Critical. A nil v (the value could not
// be obtained, Hinemos 不明) and NaN are Unknown.
func (h HinemosBands) Judge(v *float64) Status {
	switch {
	case v == nil || math.IsNaN(*v):
		return Unknown
	case h.Info.Contains(*v):
		return OK
	case h.Warning.Contains(*v):
		return Warning
	}
	return Critical
}

// Validate reports whether both bands have numeric bounds with Lower <=
// Upper. An empty band (Lower == Upper) is allowed: it contains nothing.
func (h HinemosBands) Validate() error {
	var errs []error
	for _, b := range []struct {
		name string
		b    Band
	}{{"info", h.Info}, {"warning", h.Warning}} {
		switch {
		case math.IsNaN(b.b.Lower) || math.IsNaN(b.b.Upper):
			errs = append(errs, fmt.Errorf("%s: lower and upper must be numbers, not NaN", b.name))
		case b.b.Lower > b.b.Upper:
			errs = append(errs, fmt.Errorf("%s: lower %g is greater than upper %g", b.name, b.b.Lower, b.b.Upper))
		}
	}
	return errors.Join(errs...)
}

// outside says why a value is Critical: "outside info [0,80) and warning
// [80,90)", leaving out empty bands.
func (h HinemosBands) outside() string {
	var in []string
	if !h.Info.empty() {
		in = append(in, "info "+h.Info.String())
	}
	if !h.Warning.empty() {
		in = append(in, "warning "+h.Warning.String())
	}
	if len(in) == 0 {
		return "the info and warning bands are empty"
	}
	return "outside " + strings.Join(in, " and ")
}
