package prom_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/prom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var (
	web = inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc", Name: "/web-1"}
	db  = inventory.Target{Kind: inventory.KindContainer, ID: "1eae26f41927bbbb0000000000000000000000000000000000000000000000bb", Name: `db "main"`}
	eng = inventory.Target{Kind: inventory.KindHost, ID: "tcp://docker_host1:2375"}
)

func evaluations() []monitor.Evaluation {
	return []monitor.Evaluation{
		{Check: "cpu", Target: web, Status: monitor.Warning, Took: 12 * time.Millisecond, Result: monitor.Result{Samples: []monitor.Sample{
			{Name: "cpu_percent", Value: 85.5, Unit: monitor.Percent},
			{Name: "cpu_percent", Value: 80, Unit: monitor.Percent, Labels: map[string]string{"core": "1"}},
			{Name: "cpu_percent", Value: 5, Unit: monitor.Percent, Labels: map[string]string{"core": "0"}},
			{Name: "cpu_usage_seconds_total", Value: 19.377187586, Unit: monitor.Seconds},
			{Name: "network_rx_bytes_total", Value: 1854, Unit: monitor.Bytes, Labels: map[string]string{"interface": "eth0", "check": "clash", "bad-key": "x"}},
			{Name: "cpu_percent", Value: 99, Unit: monitor.Percent}, // duplicate series: dropped
			{Name: "check_up", Value: 7}, // collides with a package metric: dropped
		}}},
		{Check: "cpu", Target: db, Status: monitor.Unknown, Err: errors.New("no baseline"), Took: time.Millisecond},
		{Check: "mem", Target: db, Status: monitor.OK, Result: monitor.Result{Samples: []monitor.Sample{
			{Name: "memory_stat", Value: 5312512, Labels: map[string]string{"key": "inactive_file"}},
			{Name: "memory_failcnt_total", Value: 0, Unit: monitor.Count},
			{Name: "memory_percent", Value: math.NaN(), Unit: monitor.Percent},
			{Name: "odd", Value: math.Inf(1), Labels: map[string]string{"path": "C:\\tmp\nx"}},
		}}},
		{Check: "engine", Target: eng, Status: monitor.Critical, Result: monitor.Result{Samples: []monitor.Sample{{Name: "engine_up", Value: 0}}}},
		{Check: "engine", Status: monitor.Unknown, Err: errors.New("resolve failed")},
	}
}

var descs = []monitor.SampleDesc{
	{Name: "cpu_percent", Unit: monitor.Percent, Kind: monitor.Gauge, Help: "CPU usage as a percentage of one core."},
	{Name: "memory_stat", Kind: monitor.Gauge, Help: "Every key of the cgroup memory.stat file.\nBackslash \\ escaped."},
	{Name: "memory_failcnt_total", Unit: monitor.Count, Kind: monitor.Counter, Help: "Times the memory limit was hit."},
	{Name: "engine_up", Kind: monitor.Counter}, // a Counter without _total: untyped; no Help: generic
}

func writeText(t *testing.T, evs []monitor.Evaluation) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, prom.WriteText(&buf, evs, descs))
	return buf.String()
}

func TestWriteTextGolden(t *testing.T) {
	got := writeText(t, evaluations())
	path := filepath.Join("testdata", "exposition.golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), got)

	// The real parser reads it back, with names valid even for
	// Prometheus servers older than UTF-8 names.
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(got))
	require.NoError(t, err)
	assert.Len(t, fams, strings.Count(got, "# TYPE "))

	// Deterministic whatever the input order.
	evs := evaluations()
	for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
		evs[i], evs[j] = evs[j], evs[i]
	}
	assert.Equal(t, got, writeText(t, evs))
}

func TestEmpty(t *testing.T) {
	assert.Empty(t, writeText(t, nil))
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteTextWriterError(t *testing.T) {
	err := prom.WriteText(failWriter{}, evaluations(), descs)
	assert.ErrorContains(t, err, "disk full")
}

// containerEvaluations measure web with every sample that has a cAdvisor
// series, memory twice (checks "memory" and "resources").
func containerEvaluations() []monitor.Evaluation {
	s := func(name string, v float64, labels ...string) monitor.Sample {
		var l map[string]string
		for i := 0; i+1 < len(labels); i += 2 {
			if l == nil {
				l = map[string]string{}
			}
			l[labels[i]] = labels[i+1]
		}
		return monitor.Sample{Name: name, Value: v, Labels: l}
	}
	return []monitor.Evaluation{
		{Check: "resources", Target: web, Result: monitor.Result{Samples: []monitor.Sample{
			s("cpu_usage_seconds_total", 19.5), s("cpu_percent", 12), s("cpu_core_percent", 5, "core", "0"), s("cpu_limit_cpus", 2),
			s("memory_usage_bytes", 2000), s("memory_working_set_bytes", 1800), s("memory_rss_bytes", 1600),
			s("memory_failcnt_total", 9), s("memory_limit_bytes", 8192), s("memory_stat", 7, "key", "anon"),
			s("network_rx_bytes_total", 1000), s("network_tx_bytes_total", 2000), s("network_rx_packets_total", 10), s("network_tx_packets_total", 20),
			s("blkio_read_bytes_total", 4096), s("blkio_write_bytes_total", 8192),
			s("pids_current", 7), s("pids_limit", 100),
		}}},
		// Sorted first ("memory" < "resources"): its values win.
		{Check: "memory", Target: web, Result: monitor.Result{Samples: []monitor.Sample{
			s("memory_usage_bytes", 1000), s("memory_working_set_bytes", 800), s("memory_rss_bytes", 600),
			s("memory_failcnt_total", 3), s("memory_limit_bytes", 4096),
		}}},
		{Check: "net", Target: db, Result: monitor.Result{Samples: []monitor.Sample{
			s("network_rx_bytes_total", 11, "interface", "eth0"), s("network_rx_bytes_total", 12, "interface", "eth1"),
			s("network_tx_packets_total", 13, "interface", "eth0"),
		}}},
		{Check: "procs", Target: web, Result: monitor.Result{Samples: []monitor.Sample{
			s("processes", 1, "pattern", "nginx"), s("processes_all", 3),
		}}},
		// Not containers: no cAdvisor series.
		{Check: "memory", Target: eng, Result: monitor.Result{Samples: []monitor.Sample{s("memory_usage_bytes", 5)}}},
		{Check: "memory", Result: monitor.Result{Samples: []monitor.Sample{s("memory_usage_bytes", 6)}}},
	}
}

const cadvisorWant = `
# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds.
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{cpu="total",id="/docker/0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc",name="web-1"} 19.5
# HELP container_fs_reads_bytes_total Cumulative count of bytes read
# TYPE container_fs_reads_bytes_total counter
container_fs_reads_bytes_total{id="/docker/0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc",name="web-1"} 4096
# HELP container_fs_writes_bytes_total Cumulative count of bytes written
# TYPE container_fs_writes_bytes_total counter
container_fs_writes_bytes_total{id="/docker/0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc",name="web-1"} 8192
# HELP container_memory_rss Size of RSS in bytes.
# TYPE container_memory_rss gauge
container_memory_rss{id="/docker/0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc",name="web-1"} 600
# HELP container_memory_usage_bytes Current memory usage in bytes, including all memory regardless of when it was accessed
# TYPE container_memory_usage_bytes gauge
container_memory_usage_bytes{id="/docker/0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc",name="web-1"} 1000
# HELP container_memory_working_set_bytes Current working set in bytes.
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{id="/docker/0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc",name="web-1"} 800
# HELP container_network_receive_bytes_total Cumulative count of bytes received
# TYPE container_network_receive_bytes_total counter
container_network_receive_bytes_total{id="/docker/0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc",name="web-1"} 1000
container_network_receive_bytes_total{id="/docker/1eae26f41927bbbb0000000000000000000000000000000000000000000000bb",interface="eth0",name="db \"main\""} 11
container_network_receive_bytes_total{id="/docker/1eae26f41927bbbb0000000000000000000000000000000000000000000000bb",interface="eth1",name="db \"main\""} 12
# HELP container_network_receive_packets_total Cumulative count of packets received
# TYPE container_network_receive_packets_total counter
container_network_receive_packets_total{id="/docker/0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc",name="web-1"} 10
# HELP container_network_transmit_bytes_total Cumulative count of bytes transmitted
# TYPE container_network_transmit_bytes_total counter
container_network_transmit_bytes_total{id="/docker/0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc",name="web-1"} 2000
# HELP container_network_transmit_packets_total Cumulative count of packets transmitted
# TYPE container_network_transmit_packets_total counter
container_network_transmit_packets_total{id="/docker/0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc",name="web-1"} 20
container_network_transmit_packets_total{id="/docker/1eae26f41927bbbb0000000000000000000000000000000000000000000000bb",interface="eth0",name="db \"main\""} 13
# HELP container_processes Number of processes running inside the container.
# TYPE container_processes gauge
container_processes{id="/docker/0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc",name="web-1"} 3
# HELP container_spec_memory_limit_bytes Memory limit for the container.
# TYPE container_spec_memory_limit_bytes gauge
container_spec_memory_limit_bytes{id="/docker/0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc",name="web-1"} 4096
# HELP container_threads Number of threads running inside the container
# TYPE container_threads gauge
container_threads{id="/docker/0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc",name="web-1"} 7
# HELP container_threads_max Maximum number of threads allowed inside the container, infinity if value is zero
# TYPE container_threads_max gauge
container_threads_max{id="/docker/0e0d8cdf3a57cccc0000000000000000000000000000000000000000000000cc",name="web-1"} 100
`

func TestCAdvisorSeries(t *testing.T) {
	c := prom.NewCollector(containerEvaluations, nil)
	// Every container_ family, compared whole: nothing else is emitted
	// under a cAdvisor name (no cpu quota, no per-core or per-key series,
	// none for the host or the Target-less evaluation).
	var names []string
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "container_") {
			names = append(names, mf.GetName())
		}
	}
	require.NotEmpty(t, names)
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(cadvisorWant), names...))
	assert.Equal(t, strings.Count(cadvisorWant, "# TYPE "), len(names))

	// minato's own series keep both checks' values.
	const own = `
# HELP minato_memory_usage_bytes Sample memory_usage_bytes measured by minato.
# TYPE minato_memory_usage_bytes gauge
minato_memory_usage_bytes{check="memory"} 6
minato_memory_usage_bytes{check="memory",container_id="0e0d8cdf3a57",container_name="web-1"} 1000
minato_memory_usage_bytes{check="memory",target="tcp://docker_host1:2375",target_kind="host"} 5
minato_memory_usage_bytes{check="resources",container_id="0e0d8cdf3a57",container_name="web-1"} 2000
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(own), "minato_memory_usage_bytes"))
}

// TestCAdvisorDuplicate: two checks measuring the same container give the
// same cAdvisor series; without the package keeping only the first, the
// registry's Gather would fail with "collected before with the same name
// and label values".
func TestCAdvisorDuplicate(t *testing.T) {
	cpu := func(check string, v float64) monitor.Evaluation {
		return monitor.Evaluation{Check: check, Target: web, Result: monitor.Result{Samples: []monitor.Sample{{Name: "cpu_usage_seconds_total", Value: v}}}}
	}
	evs := []monitor.Evaluation{cpu("cpu-b", 2), cpu("cpu-a", 1), cpu("cpu-c", 3)}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(prom.NewCollector(func() []monitor.Evaluation { return evs }, nil))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string][]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[mf.GetName()] = append(got[mf.GetName()], m.GetCounter().GetValue())
		}
	}
	assert.Equal(t, []float64{1}, got["container_cpu_usage_seconds_total"], "the first check by name wins")
	assert.ElementsMatch(t, []float64{1, 2, 3}, got["minato_cpu_usage_seconds_total"])
}

func TestTypes(t *testing.T) {
	ds := []monitor.SampleDesc{
		{Name: "alpha_total", Kind: monitor.Counter, Help: "a"},
		{Name: "bravo", Kind: monitor.Gauge, Help: "b"},
		{Name: "charlie", Kind: monitor.Counter, Help: "charlie"},
		{Name: "delta_total", Kind: monitor.Gauge, Help: "d"},
		{Name: "echo_total", Help: "e"},
		{Name: "foxtrot", Kind: "histogram", Help: "foxtrot"},
		{Name: "golf_total", Kind: monitor.Counter, Help: "first desc wins"},
		{Name: "golf_total", Kind: monitor.Gauge, Help: "second"},
	}
	want := map[string]dto.MetricType{
		"minato_alpha_total": dto.MetricType_COUNTER,
		"minato_bravo":       dto.MetricType_GAUGE,
		"minato_charlie":     dto.MetricType_UNTYPED, // Counter without _total
		"minato_delta_total": dto.MetricType_UNTYPED, // Gauge with _total
		"minato_echo_total":  dto.MetricType_COUNTER, // no Kind: from the name
		"minato_foxtrot":     dto.MetricType_UNTYPED, // unknown Kind
		"minato_golf_total":  dto.MetricType_COUNTER,
		"minato_hotel_total": dto.MetricType_COUNTER, // no desc: from the name
		"minato_india":       dto.MetricType_GAUGE,
	}
	var samples []monitor.Sample
	for _, n := range []string{"alpha_total", "bravo", "charlie", "delta_total", "echo_total", "foxtrot", "golf_total", "hotel_total", "india"} {
		samples = append(samples, monitor.Sample{Name: n, Value: 1})
	}
	evs := []monitor.Evaluation{{Check: "t", Target: eng, Result: monitor.Result{Samples: samples}}}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(prom.NewCollector(func() []monitor.Evaluation { return evs }, ds))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]dto.MetricType{}
	for _, mf := range mfs {
		if _, ok := want[mf.GetName()]; ok {
			got[mf.GetName()] = mf.GetType()
		}
		if mf.GetName() == "minato_golf_total" {
			assert.Equal(t, "first desc wins", mf.GetHelp())
		}
	}
	assert.Equal(t, want, got)
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)
}

func TestSanitising(t *testing.T) {
	evs := []monitor.Evaluation{{Check: "bad\xffcheck", Target: web, Result: monitor.Result{Samples: []monitor.Sample{
		{Name: "rule:like", Value: 1},
		{Name: "rule_like", Value: 2, Labels: map[string]string{"x": "first"}},
		{Name: "9lives", Value: 3, Labels: map[string]string{"__name__": "n", "v": "in\xffvalid", "container_id": "c", "1st": "d"}},
	}}}}
	got := writeText(t, evs)
	assert.Contains(t, got, `minato_rule_like{check="bad`+"\uFFFD"+`check",container_id="0e0d8cdf3a57",container_name="web-1"} 1`)
	assert.Contains(t, got, `minato_rule_like{check="bad`+"\uFFFD"+`check",container_id="0e0d8cdf3a57",container_name="web-1",x="first"} 2`)
	assert.Contains(t, got, `minato__lives{_st="d",check="bad`+"\uFFFD"+`check",container_id="0e0d8cdf3a57",container_name="web-1",exported_container_id="c",exported_name__="n",v="in`+"\uFFFD"+`valid"} 3`)
	assert.NotContains(t, got, "minato_rule:like")
}

// TestLint runs Prometheus' own linter over what an agent registry
// gathers: the Go and process collectors, a counter of the agent's and
// the Collector.
func TestLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewCounter(prometheus.CounterOpts{Name: "minato_notifications_sent_total", Help: "Notifications a notifier delivered."}),
		prom.NewCollector(func() []monitor.Evaluation { return append(evaluations(), containerEvaluations()...) }, descs),
	)
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems, "Prometheus' linter finds nothing")
}

// TestPromtool checks the exposition with the real promtool.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("MINATO_REQUIRE_DOCKER") == "1" {
			t.Fatalf("promtool not found (MINATO_REQUIRE_DOCKER=1; install Debian's prometheus package): %v", err)
		}
		t.Skip("promtool not found")
	}
	check := func(text string) (string, int) {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(text)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return string(out), exit.ExitCode()
		}
		require.NoError(t, err)
		return string(out), 0
	}

	out, code := check(writeText(t, append(evaluations(), containerEvaluations()...)))
	assert.Equal(t, 0, code, out)
	assert.Empty(t, strings.TrimSpace(out), "promtool check metrics finds nothing")
}

func get(t *testing.T, url, accept string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(prom.Handler(evaluations, descs))
	defer srv.Close()

	// Text format 0.0.4 by default: what WriteText writes.
	resp, body := get(t, srv.URL, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	assert.Equal(t, "text/plain", mt)
	assert.Equal(t, "0.0.4", params["version"])
	want, err := os.ReadFile(filepath.Join("testdata", "exposition.golden"))
	require.NoError(t, err)
	assert.Equal(t, string(want), body)

	req, err := http.NewRequest(http.MethodPost, srv.URL, nil)
	require.NoError(t, err)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
}

func TestHandlerOpenMetrics(t *testing.T) {
	srv := httptest.NewServer(prom.Handler(evaluations, descs))
	defer srv.Close()

	// What Prometheus sends by default.
	resp, body := get(t, srv.URL, "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	assert.Equal(t, "application/openmetrics-text", mt)
	assert.Equal(t, "1.0.0", params["version"])
	assert.True(t, strings.HasSuffix(body, "# EOF\n"), body)
	for _, want := range []string{
		// A counter family is named without _total, its samples with it.
		"# TYPE minato_cpu_usage_seconds counter\n",
		`minato_cpu_usage_seconds_total{check="cpu",container_id="0e0d8cdf3a57",container_name="web-1"} 19.377187586` + "\n",
		"# TYPE container_cpu_usage_seconds counter\n",
		"# TYPE minato_engine_up unknown\n",
		"# TYPE minato_check_status gauge\n",
	} {
		assert.Contains(t, body, want)
	}

	// Protobuf, as Prometheus asks when native histograms are on.
	resp, body = get(t, srv.URL, "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	mt, _, err = mime.ParseMediaType(resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	assert.Equal(t, "application/vnd.google.protobuf", mt)
	dec := expfmt.NewDecoder(strings.NewReader(body), expfmt.ResponseFormat(resp.Header))
	n := 0
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
		n++
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "exposition.golden"))
	require.NoError(t, err)
	assert.Equal(t, strings.Count(string(golden), "# TYPE "), n)
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// TestHandlerForContinuesOnError: a failing collector beside the
// Collector does not hide minato's series, and the error is logged.
func TestHandlerForContinuesOnError(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.NewCollector(evaluations, descs), failing{})
	var logged bytes.Buffer
	srv := httptest.NewServer(prom.HandlerFor(reg, prom.WithLogger(slogTo(&logged))))
	defer srv.Close()
	resp, body := get(t, srv.URL, "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "minato_check_status{")
	assert.Contains(t, logged.String(), "broken collector")
}

type failing struct{}

var failingDesc = prometheus.NewDesc("broken", "A collector that fails.", nil, nil)

func (failing) Describe(ch chan<- *prometheus.Desc) { ch <- failingDesc }
func (failing) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(failingDesc, errors.New("broken collector"))
}

// TestConcurrentCollect gathers from several goroutines at once (run with
// -race).
func TestConcurrentCollect(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.NewCollector(func() []monitor.Evaluation {
		mu.Lock()
		calls++
		mu.Unlock()
		return containerEvaluations()
	}, descs))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				_, err := reg.Gather()
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 160, calls, "evaluations is called once per Collect")
}
