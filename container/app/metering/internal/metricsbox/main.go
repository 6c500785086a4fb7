// Command metricsbox is the metering tests' fixture: an HTTP server that
// answers every GET with a fixed metrics body, built static and run FROM
// scratch in a test container.
//
// Environment: LISTEN (default :9100), METRICS_BODY (the body; the
// sequence \n is a newline), METRICS_CONTENT_TYPE (default the Prometheus
// text format's), METRICS_DELAY (a Go duration waited before answering, to
// play a hung application).
package main

import (
	"cmp"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "metricsbox:", err)
		os.Exit(1)
	}
}

func run() error {
	body := strings.ReplaceAll(os.Getenv("METRICS_BODY"), `\n`, "\n")
	ct := cmp.Or(os.Getenv("METRICS_CONTENT_TYPE"), "text/plain; version=0.0.4; charset=utf-8")
	var delay time.Duration
	if v := os.Getenv("METRICS_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("METRICS_DELAY=%q: want a Go duration: %w", v, err)
		}
		delay = d
	}
	srv := &http.Server{
		Addr:              cmp.Or(os.Getenv("LISTEN"), ":9100"),
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if delay > 0 {
				select {
				case <-time.After(delay):
				case <-r.Context().Done():
					return
				}
			}
			w.Header().Set("Content-Type", ct)
			_, _ = w.Write([]byte(body))
		}),
	}
	return srv.ListenAndServe()
}
