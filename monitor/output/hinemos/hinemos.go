package hinemos

import (
	"math"
	"strconv"
)

// Line returns "key,value" with value v printed with exactly decimals
// digits after the point, as Python's "%.2f" does for decimals 2 (the
// rounding is to nearest, as fmt and Python both do on the exact binary
// value). With decimals 0 or less an integral v is printed as an
// integer ("%d": "running,3", "image,474361657") and any other v is
// rounded half away from zero. NaN and infinities print as "nan", "inf"
// and "-inf", which Hinemos rejects as non-numeric (unknown): do not
// print values that could not be had; the Hinemos Docker monitoring
// scripts print nothing for them, and so does [Write].
func Line(key string, v float64, decimals int) string {
	return key + "," + Value(v, decimals)
}

// Value is the value part of [Line].
func Value(v float64, decimals int) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case decimals > 0:
		return strconv.FormatFloat(v, 'f', decimals, 64)
	case v == math.Trunc(v) && math.Abs(v) < 1<<63:
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
}
