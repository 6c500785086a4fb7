package monitortest

import (
	"testing"

	"github.com/minato-ops/minato/monitor"
)

// ParseRange parses s with [monitor.ParseRange] and returns a pointer for
// a [monitor.Threshold] literal; a parse error fails tb at once. It is the
// test-table counterpart of a MustParseRange.
func ParseRange(tb testing.TB, s string) *monitor.Range {
	tb.Helper()
	r, err := monitor.ParseRange(s)
	if err != nil {
		tb.Fatalf("monitortest.ParseRange: %v", err)
	}
	return &r
}
