package image

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseHTTPProbe(t *testing.T) {
	tests := []struct {
		in   string
		tcp  int
		port int
		path string
		err  string
	}{
		{in: "8080/healthz", port: 8080, path: "/healthz"},
		{in: ":8080/a/b?x=1", port: 8080, path: "/a/b?x=1"},
		{in: "80", port: 80, path: "/"},
		{in: "/ready", tcp: 9000, port: 9000, path: "/ready"},
		{in: "/ready", err: "needs the port in tcp"},
		{in: "0/x", err: "port 1-65535"},
		{in: "65536", err: "port 1-65535"},
		{in: "+80/x", err: "port 1-65535"},
		{in: "080/x", err: "port 1-65535"},
		{in: "http://x/y", err: "PORT/PATH"},
		{in: "80/a b", err: "spaces"},
	}
	for _, tt := range tests {
		port, path, err := parseHTTPProbe(tt.in, tt.tcp)
		if tt.err != "" {
			require.Error(t, err, tt.in)
			assert.Contains(t, err.Error(), tt.err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.port, port, tt.in)
		assert.Equal(t, tt.path, path, tt.in)
	}
}

func FuzzParseHTTPProbe(f *testing.F) {
	for _, s := range []string{"8080/healthz", ":1/", "/x", "65535", "99999/", "-1/x", "80/\x00"} {
		f.Add(s, 0)
		f.Add(s, 8080)
	}
	f.Fuzz(func(t *testing.T, s string, tcp int) {
		port, path, err := parseHTTPProbe(s, tcp)
		if err != nil {
			return
		}
		if port < 1 || port > 65535 || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n#") && !strings.HasPrefix(s, "/") {
			t.Fatalf("parseHTTPProbe(%q, %d) = %d, %q", s, tcp, port, path)
		}
	})
}

func TestUpdateOptionsValidate(t *testing.T) {
	o := UpdateOptions{Containers: []string{"web"}}
	require.NoError(t, o.validate())
	assert.Equal(t, 1, o.BatchSize)
	assert.Equal(t, DefaultGateTimeout, o.Gate.Timeout)
	assert.Equal(t, DefaultGateStableFor, o.Gate.StableFor)

	bad := []struct {
		o    UpdateOptions
		want string
	}{
		{UpdateOptions{}, "containers: at least one"},
		{UpdateOptions{Containers: []string{" "}}, "containers[0]: empty"},
		{UpdateOptions{Containers: []string{"a"}, Image: "Bad/Name"}, "image:"},
		{UpdateOptions{Containers: []string{"a"}, BatchSize: -1}, "batch_size -1"},
		{UpdateOptions{Containers: []string{"a"}, Gate: GateOptions{Timeout: 2 * time.Second}}, "must be shorter than the gate timeout"},
		{UpdateOptions{Containers: []string{"a"}, Gate: GateOptions{Probe: &Probe{}}}, "set one of exec, tcp or http"},
		{UpdateOptions{Containers: []string{"a"}, Gate: GateOptions{Probe: &Probe{Exec: []string{"x"}, TCP: 80}}}, "only one"},
		{UpdateOptions{Containers: []string{"a"}, Gate: GateOptions{Probe: &Probe{TCP: 70000}}}, "1-65535"},
		{UpdateOptions{Containers: []string{"a"}, Gate: GateOptions{Probe: &Probe{HTTP: "x"}}}, "PORT/PATH"},
	}
	for _, b := range bad {
		err := b.o.validate()
		require.Error(t, err, "%+v", b.o)
		assert.Contains(t, err.Error(), b.want)
	}
	ok := UpdateOptions{Containers: []string{"a"}, Gate: GateOptions{Probe: &Probe{TCP: 80, HTTP: "/healthz"}}}
	assert.NoError(t, ok.validate())
}

func TestIsImageIDRef(t *testing.T) {
	id := "sha256:4f2d1c0e9b8a7f6e5d4c3b2a19087f6e5d4c3b2a19087f6e5d4c3b2a19087f6e"
	assert.True(t, isImageIDRef(id, id))
	assert.True(t, isImageIDRef("4f2d1c0e9b8a", id))
	assert.False(t, isImageIDRef("nginx:1.27", id))
	assert.False(t, isImageIDRef("4f2d1c0e9b8a", "sha256:ffff"))
}
