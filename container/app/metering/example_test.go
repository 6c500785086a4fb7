package metering_test

import (
	"fmt"

	"github.com/minato-ops/minato/container/app/metering"
)

// The format served is chosen by the scraper's Accept header, as the
// metering API of the WebOTX operator does: JSON when asked for, else
// Prometheus text.
func ExampleNegotiate() {
	fmt.Println(metering.Negotiate("application/json"))
	fmt.Println(metering.Negotiate("text/plain;version=0.0.4"))
	fmt.Println(metering.Negotiate(""))
	// Output:
	// json
	// prometheus
	// prometheus
}

// A scraped body is parsed whatever exposition format the replica speaks.
func ExampleParse() {
	fams, err := metering.Parse([]byte("# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 1027\n"), "text/plain; version=0.0.4")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(fams[0].GetName(), fams[0].GetMetric()[0].GetCounter().GetValue())
	// Output: http_requests_total 1027
}
