package jsonout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/jsonout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	t0  = time.Date(2015, 9, 5, 21, 59, 8, 0, time.UTC)
	web = inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57", Name: "web-1", Labels: map[string]string{"tier": "web"}}
)

func evs() []monitor.Evaluation {
	return []monitor.Evaluation{
		{
			Check: "cpu", Target: web, Status: monitor.Critical, Observed: monitor.Critical,
			Message: "cpu_percent=95% (critical 90)", Took: 12 * time.Millisecond,
			Result: monitor.Result{Time: t0, Code: 8, Samples: []monitor.Sample{
				{Name: "cpu_percent", Value: 95, Unit: monitor.Percent, Mode: monitor.ModeOneShot},
				{Name: "cpu_percent", Value: math.NaN(), Unit: monitor.Percent, Labels: map[string]string{"core": "1"}, Time: t0.Add(-time.Second)},
			}},
		},
		{
			Check: "cpu", Target: inventory.Target{Kind: inventory.KindContainer, ID: "1eae26f41927", Name: "db"},
			Status: monitor.OK, Observed: monitor.Unknown, Message: "no baseline yet", Err: fmt.Errorf("cpu: %w", monitor.ErrNoBaseline),
		},
	}
}

const wantReport = `{
  "status": "CRITICAL",
  "exit_code": 2,
  "evaluations": [
    {
      "check": "cpu",
      "target": {
        "kind": "container",
        "id": "0e0d8cdf3a57",
        "name": "web-1",
        "labels": {
          "tier": "web"
        }
      },
      "status": "CRITICAL",
      "exit_code": 2,
      "observed": "CRITICAL",
      "code": 8,
      "message": "cpu_percent=95% (critical 90)",
      "time": "2015-09-05T21:59:08Z",
      "took_seconds": 0.012,
      "samples": [
        {
          "name": "cpu_percent",
          "value": 95,
          "unit": "%",
          "time": "2015-09-05T21:59:08Z",
          "mode": "oneshot"
        },
        {
          "name": "cpu_percent",
          "value": null,
          "unit": "%",
          "labels": {
            "core": "1"
          },
          "time": "2015-09-05T21:59:07Z"
        }
      ]
    },
    {
      "check": "cpu",
      "target": {
        "kind": "container",
        "id": "1eae26f41927",
        "name": "db"
      },
      "status": "OK",
      "exit_code": 0,
      "observed": "UNKNOWN",
      "message": "no baseline yet",
      "error": "cpu: monitor: no baseline sample yet",
      "took_seconds": 0,
      "samples": []
    }
  ]
}
`

func TestWrite(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, jsonout.Write(&buf, evs()))
	assert.Equal(t, wantReport, buf.String())

	var back jsonout.Report
	require.NoError(t, json.Unmarshal(buf.Bytes(), &back), "the document decodes into the same types")
	assert.Equal(t, monitor.Critical, back.Status)
	assert.Equal(t, monitor.Unknown, back.Evaluations[1].Observed)
	assert.Nil(t, back.Evaluations[0].Samples[1].Value)
}

func TestEmptyReport(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, jsonout.Write(&buf, nil))
	assert.JSONEq(t, `{"status":"UNKNOWN","exit_code":3,"evaluations":[]}`, buf.String())
}

func TestLineSink(t *testing.T) {
	var buf bytes.Buffer
	s := jsonout.NewLineSink(&buf)
	require.NoError(t, s.Write(context.Background(), evs()))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, 2)
	assert.Equal(t, `{"check":"cpu","target":{"kind":"container","id":"1eae26f41927","name":"db"},"status":"OK","exit_code":0,"observed":"UNKNOWN","message":"no baseline yet","error":"cpu: monitor: no baseline sample yet","took_seconds":0,"samples":[]}`, lines[1])

	failing := jsonout.NewLineSink(errWriter{})
	assert.EqualError(t, failing.Write(context.Background(), evs()), "closed")
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

// TestExact: an integer a float64 cannot hold travels as its exact text
// beside the (rounded) number, which encoding/json prints as
// 9223372036854776000; other samples carry no "exact".
func TestExact(t *testing.T) {
	ev := monitor.Evaluation{Check: "memory", Target: web, Result: monitor.Result{Samples: []monitor.Sample{
		{Name: "memory_stat", Value: 9223372036854775807, Exact: "9223372036854775807", Labels: map[string]string{"key": "hierarchical_memsw_limit"}},
		{Name: "memory_stat", Value: 4096, Labels: map[string]string{"key": "rss"}},
	}}}
	var buf bytes.Buffer
	require.NoError(t, jsonout.NewLineSink(&buf).Write(context.Background(), []monitor.Evaluation{ev}))
	assert.Contains(t, buf.String(), `"samples":[{"name":"memory_stat","value":9223372036854776000,"exact":"9223372036854775807","labels":{"key":"hierarchical_memsw_limit"}},{"name":"memory_stat","value":4096,"labels":{"key":"rss"}}]`)
	var back jsonout.Evaluation
	require.NoError(t, json.Unmarshal(buf.Bytes(), &back))
	assert.Equal(t, "9223372036854775807", back.Samples[0].Exact)
	assert.Empty(t, back.Samples[1].Exact)
}
