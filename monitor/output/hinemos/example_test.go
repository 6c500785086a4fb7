package hinemos_test

import (
	"fmt"

	"github.com/minato-ops/minato/monitor/output/hinemos"
)

func ExampleLine() {
	fmt.Println(hinemos.Line("cpu_usage:conteiner_A", 0.0812, 2))
	fmt.Println(hinemos.Line("running", 3, 0))
	// Output:
	// cpu_usage:conteiner_A,0.08
	// running,3
}
