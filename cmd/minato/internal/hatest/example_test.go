//go:build linux

package hatest

import (
	"fmt"
	"time"
)

// Example_overlaps: how the checker reads the resource's journal: node1
// frozen while holding the group, node2 taking over, node1 thawed and
// giving the resource up within the grace: no split brain, one stale
// overlap (node1 could not act while frozen).
func Example_overlaps() {
	lines := []journalLine{line(0, "node1", "start"), line(1300, "node2", "start"), line(2060, "node1", "stop")}
	hists := map[string][]procChange{
		"node1": {running(-1000, 1), frozen(100, 1), thawed(2000, 1)},
		"node2": {running(-1000, 1)},
	}
	split, stale := overlaps(lines, hists, time.Second, segment{at(-1000), at(5000)})
	fmt.Printf("split brain: %d\n", len(split))
	fmt.Printf("stale: %s\n", fmtOverlaps(stale))
	// Output:
	// split brain: 0
	// stale: node2(live)/node1(stale) 1300..2060
}
