package monitor

import (
	"errors"
	"fmt"
	"math"
)

// Band is a half-open interval of a Hinemos numeric judgement: a value v is
// in the Band when Lower <= v < Upper ("lower 以上 upper 未満").
type Band struct {
	// Lower is the inclusive lower bound.
	Lower float64 `json:"lower"`
	// Upper is the exclusive upper bound.
	Upper float64 `json:"upper"`
}

// Contains reports whether Lower <= v < Upper. NaN is in no Band.
func (b Band) Contains(v float64) bool { return b.Lower <= v && v < b.Upper }

// HinemosBands is the numeric judgement of a Hinemos monitor setting (seed
// 002 §2.4, §2.6): an Info band and a Warning band; anything else is
// critical ("情報・警告以外").
//
// Unlike a [Threshold], which lists the alerting regions, HinemosBands lists
// the good ones, and its bands are half-open. The bands may overlap; Info
// is tested first. With DOC_HOST_STATUS's Info [0,1) and Warning [0,1), 0
// is OK and 1 is Critical.
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
