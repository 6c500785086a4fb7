package prom_test

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/prom"
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
	{Name: "engine_up", Kind: monitor.Counter}, // Kind wins over the name; no Help: generic
}

func TestWriteTextGolden(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, prom.WriteText(&buf, evaluations(), descs))
	path := filepath.Join("testdata", "exposition.golden")
	if *update {
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), buf.String())
	checkSyntax(t, buf.String())

	// Deterministic whatever the input order.
	evs := evaluations()
	for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
		evs[i], evs[j] = evs[j], evs[i]
	}
	var again bytes.Buffer
	require.NoError(t, prom.WriteText(&again, evs, descs))
	assert.Equal(t, buf.String(), again.String())
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)?\} (\S+)$`)
	helpLine   = regexp.MustCompile(`^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (?:[^\\\n]|\\[\\n])*$`)
	typeLine   = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$`)
)

// checkSyntax checks the exposition line by line: HELP, TYPE, then the
// family's samples, each family once.
func checkSyntax(t *testing.T, text string) {
	t.Helper()
	require.True(t, strings.HasSuffix(text, "\n"))
	seen := map[string]bool{}
	current := ""
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if m := helpLine.FindStringSubmatch(line); m != nil {
			assert.False(t, seen[m[1]], "family %s twice", m[1])
			seen[m[1]], current = true, m[1]
			continue
		}
		if m := typeLine.FindStringSubmatch(line); m != nil {
			assert.Equal(t, current, m[1])
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if assert.NotNil(t, m, "bad line %q", line) {
			assert.Equal(t, current, m[1], line)
		}
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(prom.Handler(evaluations, descs))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/plain; version=0.0.4; charset=utf-8", resp.Header.Get("Content-Type"))
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	want, err := os.ReadFile(filepath.Join("testdata", "exposition.golden"))
	require.NoError(t, err)
	assert.Equal(t, string(want), body.String())

	resp, err = http.Post(srv.URL, "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
}

func TestEmpty(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, prom.WriteText(&buf, nil, descs))
	assert.Empty(t, buf.String())
}
