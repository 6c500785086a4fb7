package jobfile_test

import (
	"fmt"

	"github.com/minato-ops/minato/job/jobfile"
)

func ExampleParse() {
	_, err := jobfile.Parse([]byte(`
name: nightly
units:
  - name: extract
    run: {image: "app:1", command: [extract]}
    timeout: 30 seconds
  - name: transform
    needs: [extract, load]
    exec: {container: worker, command: [transform]}
`))
	fmt.Println(err)
	// Output:
	// units[0].timeout: "30 seconds": want a duration such as 30s or 1m30s (units ns, us, ms, s, m, h)
	// units[1].needs[1]: no unit is named "load"
}
