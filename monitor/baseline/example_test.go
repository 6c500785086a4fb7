package baseline_test

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/minato-ops/minato/monitor/baseline"
)

// A delta monitor keeps its previous counter under a key: the first run
// has no baseline, later runs print the difference.
func ExampleStore_Update() {
	dir, _ := os.MkdirTemp("", "baseline")
	defer os.RemoveAll(dir)
	st, _ := baseline.Open(dir)
	for _, counter := range []uint64{100, 250} {
		_ = st.Update("hoge_disk", func(prev []byte) ([]byte, error) {
			if prev == nil {
				fmt.Println("no baseline yet")
			} else {
				var last uint64
				_ = json.Unmarshal(prev, &last)
				fmt.Println("delta", counter-last)
			}
			return json.Marshal(counter)
		})
	}
	// Output:
	// no baseline yet
	// delta 150
}
