package prom

import (
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDocTable keeps the cAdvisor table in doc.go and the code in step.
func TestDocTable(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	typ := map[prometheus.ValueType]string{prometheus.CounterValue: "counter", prometheus.GaugeValue: "gauge"}
	want := map[string]string{}
	for sample, m := range cadvisor {
		want[sample] = m.name + " " + typ[m.family.typ]
	}
	got := map[string]string{}
	for _, line := range strings.Split(string(src), "\n") {
		f := strings.Fields(strings.TrimPrefix(line, "//\t"))
		if strings.HasPrefix(line, "//\t") && len(f) >= 3 && strings.HasPrefix(f[1], "container_") {
			got[f[0]] = f[1] + " " + f[2]
		}
	}
	assert.Equal(t, want, got)
}
