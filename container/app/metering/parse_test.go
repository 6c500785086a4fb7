package metering

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/minato-ops/minato/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, ct, body string
		want           []string // family names
		err            string
	}{
		{name: "text", ct: textCT, body: shopBody, want: []string{"heap_bytes", "http_requests_total"}},
		{name: "no content type", ct: "", body: "up 1\n", want: []string{"up"}},
		{name: "timestamps dropped", ct: textCT, body: "up 1 1700000000000\n", want: []string{"up"}},
		{name: "openmetrics", ct: "application/openmetrics-text; version=1.0.0", body: omBody, want: []string{"build_info", "jobs_total", "latency_seconds"}},
		{name: "openmetrics help first, quoted", ct: "application/openmetrics-text", body: "# HELP a_seconds A \\\"x\\\".\n# TYPE a_seconds gauge\na_seconds{l=\"}# {\"} 2\n# EOF\nignored 1\n", want: []string{"a_seconds"}},
		{name: "openmetrics stateset and unknown", ct: "application/openmetrics-text", body: "# TYPE s stateset\ns{s=\"a\"} 1\n# TYPE u unknown\nu 3\n# TYPE g gaugehistogram\ng_bucket{le=\"+Inf\"} 1\ng_gcount 1\n# EOF\n", want: []string{"g_bucket", "g_gcount", "s", "u"}},
		{name: "bad text", ct: textCT, body: "x{ 1\n", err: "parsing the metrics"},
		{name: "empty", ct: textCT, body: "", want: nil},
		{name: "parser panic (fuzz)", ct: textCT, body: "#TYPE A summArY\n{}0", err: "the parser failed on this body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fams, err := Parse([]byte(tc.body), tc.ct)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			var names []string
			for _, f := range fams {
				names = append(names, f.GetName())
				for _, m := range f.Metric {
					assert.Nil(t, m.TimestampMs)
				}
			}
			assert.Equal(t, tc.want, names)
		})
	}
	fams, err := Parse([]byte("# HELP a_seconds A \\\"x\\\".\n# TYPE a_seconds gauge\na_seconds{l=\"}# {\"} 2 # {t=\"1\"} 1\n"), "application/openmetrics-text")
	require.NoError(t, err)
	assert.Equal(t, `A "x".`, fams[0].GetHelp())
	assert.Equal(t, "}# {", fams[0].Metric[0].Label[0].GetValue())
}

// FuzzParse: any body parses or fails cleanly, and whatever parses can
// be labelled and written in both formats.
func FuzzParse(f *testing.F) {
	for _, b := range []string{shopBody, omBody, "up 1\n", "x{a=\"\\\"}\"} 1 # {} 1\n", "# TYPE x counter\nx_total 1\nx_created 2\n# EOF\n",
		"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\nh_sum 1\n", "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_count 1\ns_sum 1\n", "x{", "{\"utf8.name\"} 1\n"} {
		f.Add([]byte(b), false)
		f.Add([]byte(b), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, om bool) {
		ct := textCT
		if om {
			ct = "application/openmetrics-text; version=1.0.0"
		}
		fams, err := Parse(body, ct)
		if err != nil {
			return
		}
		label(fams, Target{App: "a", Container: "c"})
		var m merged
		m.add(fams)
		var buf bytes.Buffer
		if err := writeText(&buf, m.sorted()); err != nil {
			t.Fatalf("parsed but not written: %v\n%q", err, body)
		}
		if _, err := Parse(buf.Bytes(), textCT); err != nil {
			t.Fatalf("written text does not parse again: %v\n%s", err, buf.String())
		}
		_ = toJSON(m.sorted())
	})
}

// fakeLister answers List with fixed containers, checking the selection.
type fakeLister struct {
	t   *testing.T
	out []container.Summary
}

func (f fakeLister) List(_ context.Context, o container.ListOptions) (container.ListResult, error) {
	assert.Equal(f.t, "", o.Labels[LabelApp])
	assert.Contains(f.t, o.Labels, LabelPort)
	assert.Equal(f.t, []container.State{container.Running}, o.States)
	return container.ListResult{Containers: f.out}, nil
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	l := fakeLister{t: t, out: []container.Summary{
		{Name: "web-2", IPAddress: "172.17.0.3", Labels: map[string]string{LabelApp: "web", LabelPort: "8443", LabelScheme: "https", LabelPath: "/m", LabelInterval: "5s"},
			Ports: []container.Port{{IP: "0.0.0.0", PrivatePort: 8443, PublicPort: 30443, Type: "tcp"}}},
		{Name: "web-1", IPAddress: "172.17.0.2", Labels: map[string]string{LabelApp: "web", LabelPort: "8080"},
			Ports: []container.Port{{IP: "10.0.0.5", PrivatePort: 8080, PublicPort: 30080, Type: "tcp"}}},
		{Name: "bad-1", IPAddress: "172.17.0.4", Labels: map[string]string{LabelApp: "bad", LabelPort: "99999", LabelScheme: "ftp", LabelPath: "metrics", LabelInterval: "1ms"}},
		{Name: "nonet-1", Labels: map[string]string{LabelApp: "nonet", LabelPort: "80"}},
	}}
	ts, err := Discover(t.Context(), l, DiscoverOptions{})
	require.Error(t, err)
	assert.Equal(t, []Target{
		{App: "web", Container: "web-1", URL: "http://172.17.0.2:8080/metrics"},
		{App: "web", Container: "web-2", URL: "https://172.17.0.3:8443/m", Interval: 5e9},
	}, ts)
	for _, want := range []string{`container bad-1 (app "bad"): label minato.metering.port="99999": want a port number from 1 to 65535`,
		`label minato.metering.scheme="ftp": want http or https`, `label minato.metering.path="metrics": want an absolute path`,
		`label minato.metering.interval="1ms"`, `container nonet-1 (app "nonet"): no IP address`} {
		assert.Contains(t, err.Error(), want)
	}
	ts, _ = Discover(t.Context(), l, DiscoverOptions{Published: true, HostAddress: "192.0.2.1", Engine: "node1"})
	assert.Equal(t, []Target{
		{App: "web", Container: "web-1@node1", URL: "http://10.0.0.5:30080/metrics"},
		{App: "web", Container: "web-2@node1", URL: "https://192.0.2.1:30443/m", Interval: 5e9},
	}, ts)
	_, err = Discover(t.Context(), l, DiscoverOptions{Published: true})
	assert.True(t, strings.Contains(err.Error(), "metering port 80/tcp is not published on the host"), err)
}
