package prom_test

import (
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/prom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

func ExampleWriteText() {
	web := inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57cccc0000", Name: "web-1"}
	evs := []monitor.Evaluation{{
		Check: "cpu", Target: web, Status: monitor.Warning,
		Result: monitor.Result{Samples: []monitor.Sample{
			{Name: "cpu_percent", Value: 85.5, Unit: monitor.Percent},
			{Name: "cpu_usage_seconds_total", Value: 19.25, Unit: monitor.Seconds},
		}},
	}}
	descs := []monitor.SampleDesc{
		{Name: "cpu_percent", Unit: monitor.Percent, Kind: monitor.Gauge, Help: "CPU usage in percent of one core."},
		{Name: "cpu_usage_seconds_total", Unit: monitor.Seconds, Kind: monitor.Counter, Help: "CPU time the container used since it started."},
	}
	_ = prom.WriteText(os.Stdout, evs, descs)
	// Output:
	// # HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds.
	// # TYPE container_cpu_usage_seconds_total counter
	// container_cpu_usage_seconds_total{cpu="total",id="/docker/0e0d8cdf3a57cccc0000",name="web-1"} 19.25
	// # HELP minato_check_duration_seconds How long the last measurement of the target took.
	// # TYPE minato_check_duration_seconds gauge
	// minato_check_duration_seconds{check="cpu",container_id="0e0d8cdf3a57",container_name="web-1"} 0
	// # HELP minato_check_status Reported status of a check for a target: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
	// # TYPE minato_check_status gauge
	// minato_check_status{check="cpu",container_id="0e0d8cdf3a57",container_name="web-1"} 1
	// # HELP minato_check_up 1 when the check could measure the target, 0 when it failed.
	// # TYPE minato_check_up gauge
	// minato_check_up{check="cpu",container_id="0e0d8cdf3a57",container_name="web-1"} 1
	// # HELP minato_cpu_percent CPU usage in percent of one core.
	// # TYPE minato_cpu_percent gauge
	// minato_cpu_percent{check="cpu",container_id="0e0d8cdf3a57",container_name="web-1"} 85.5
	// # HELP minato_cpu_usage_seconds_total CPU time the container used since it started.
	// # TYPE minato_cpu_usage_seconds_total counter
	// minato_cpu_usage_seconds_total{check="cpu",container_id="0e0d8cdf3a57",container_name="web-1"} 19.25
}

// An agent's registry: the Go and process collectors, a counter of its
// own and the Collector, served with content negotiation.
func ExampleNewCollector() {
	latest := func() []monitor.Evaluation { // typically (*monitor.Runner).Evaluations
		return []monitor.Evaluation{{Check: "engine", Target: inventory.Target{Kind: inventory.KindHost, ID: "unix:///var/run/docker.sock"}}}
	}
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "minato_notifications_sent_total", Help: "Notifications a notifier delivered.",
	}, []string{"notifier"})
	sent.WithLabelValues("syslog").Add(3)

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prom.NewCollector(latest, nil),
		sent,
	)
	srv := httptest.NewServer(prom.HandlerFor(reg))
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	fmt.Println(resp.StatusCode, mt)

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "minato_") {
			fmt.Println(mf.GetName(), mf.GetType())
		}
	}
	// Output:
	// 200 application/openmetrics-text
	// minato_check_duration_seconds GAUGE
	// minato_check_status GAUGE
	// minato_check_up GAUGE
	// minato_notifications_sent_total COUNTER
}

func ExampleHandler() {
	latest := func() []monitor.Evaluation { // typically (*monitor.Runner).Evaluations
		return []monitor.Evaluation{{Check: "engine", Status: monitor.Critical, Target: inventory.Target{Kind: inventory.KindHost, ID: "tcp://10.0.0.5:2375"}}}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", prom.Handler(latest, nil))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, prom.StatusMetric) {
			fmt.Println(line)
		}
	}
	// Output:
	// minato_check_status{check="engine",target="tcp://10.0.0.5:2375",target_kind="host"} 2
}
