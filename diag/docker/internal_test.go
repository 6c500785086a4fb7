package docker

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/diag"
)

func TestOverlaps(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"", "127.0.0.1", true},
		{"0.0.0.0", "10.0.0.5", true},
		{"0.0.0.0", "::1", false},
		{"::", "10.0.0.5", true},
		{"::", "::1", true},
		{"127.0.0.1", "10.0.0.5", false},
		{"10.0.0.5", "10.0.0.5", true},
		{"::ffff:10.0.0.5", "10.0.0.5", true},
		{"fe80::1", "fe80::2", false},
		{"bogus", "10.0.0.5", false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, overlaps(tc.a, tc.b), "%q %q", tc.a, tc.b)
		assert.Equal(t, tc.want, overlaps(tc.b, tc.a), "%q %q", tc.b, tc.a)
	}
}

func TestFixedPort(t *testing.T) {
	for s, want := range map[string]int{"8080": 8080, "1": 1, "65535": 65535, "": 0, "0": 0, "8000-8010": 0, "65536": 0, "-1": 0, "http": 0} {
		got, ok := fixedPort(s)
		assert.Equal(t, want, got, s)
		assert.Equal(t, want != 0, ok, s)
	}
}

func TestAPILess(t *testing.T) {
	assert.True(t, apiLess("1.23", "1.24"))
	assert.True(t, apiLess("1.9", "1.24"))
	assert.False(t, apiLess("1.24", "1.24"))
	assert.False(t, apiLess("1.41", "1.24"))
	assert.False(t, apiLess("2.0", "1.24"))
	assert.True(t, apiLess("1", "1.24"))
}

func TestUnreachableHints(t *testing.T) {
	c, err := container.New(container.Config{Host: "unix:///var/run/docker.sock"})
	require.NoError(t, err)
	defer c.Close()
	e := &checker{c: c, o: Options{Engine: "node1"}}
	cases := map[string]string{
		"permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock": "docker group",
		"tls: failed to verify certificate: x509: certificate signed by unknown authority":                     "DOCKER_CERT_PATH",
		"dial tcp: lookup docker.example: no such host":                                                        "DOCKER_HOST (unix:///var/run/docker.sock)",
		"dial unix /var/run/docker.sock: connect: no such file or directory":                                   "systemctl start docker",
		"something else": "systemctl status docker",
	}
	for msg, want := range cases {
		f := e.unreachable(fmt.Errorf("ping: %w", errors.New(msg)))
		assert.Equal(t, CodeUnreachable, f.Code)
		assert.Equal(t, diag.Critical, f.Severity)
		assert.Contains(t, f.Remedy, want, msg)
		assert.Equal(t, diag.Subject{Kind: diag.SubjectEngine, Name: "node1"}, f.Subject)
		assert.Contains(t, f.Evidence, "ping: "+msg)
	}
}

func TestHasInit(t *testing.T) {
	yes, no := true, false
	cases := []struct {
		init       *bool
		entrypoint []string
		cmd        []string
		want       bool
	}{
		{&yes, []string{"/app"}, nil, true},
		{&no, []string{"/app"}, nil, false},
		{nil, nil, []string{"/sbin/tini", "--", "app"}, true},
		{nil, []string{"/usr/bin/dumb-init", "--"}, []string{"app"}, true},
		{nil, []string{"docker-entrypoint.sh"}, []string{"tini"}, false},
		{nil, nil, []string{"/usr/lib/systemd/systemd"}, true},
		{nil, nil, nil, false},
	}
	for _, tc := range cases {
		got := hasInit(container.InspectResult{Entrypoint: tc.entrypoint, Cmd: tc.cmd}, container.Settings{Init: tc.init})
		assert.Equal(t, tc.want, got, "%v %v %v", tc.init, tc.entrypoint, tc.cmd)
	}
	assert.True(t, isJobCenter(container.InspectResult{Labels: map[string]string{"com.nec.name": "JobCenter MG/SV"}}))
	assert.True(t, isJobCenter(container.InspectResult{Image: "123.dkr.ecr.ap-northeast-1.amazonaws.com/jobcenter-mg:latest"}))
	assert.False(t, isJobCenter(container.InspectResult{Image: "nginx"}))
}

func TestStorageWarning(t *testing.T) {
	for w, want := range map[string]bool{
		"the devicemapper storage-driver is deprecated, and will be removed in a future release.":    true,
		"devicemapper: usage of loopback devices is strongly discouraged for production use.":        true,
		"overlay: the backing xfs filesystem is formatted without d_type support, which leads to...": true,
		"the aufs storage-driver is deprecated":                                                      true,
		"no swap limit support":                                                                      false,
		"bridge-nf-call-iptables is disabled":                                                        false,
	} {
		assert.Equal(t, want, storageWarning(w), w)
	}
}

func TestJudgeDNS(t *testing.T) {
	e := &checker{o: Options{Engine: "node1", DNSSlow: 2 * time.Second}}
	fs := e.judgeDNS([]lookup{
		{name: "minato-diag-dns-ab-0", self: true, tool: "nslookup", took: 300 * time.Millisecond, output: "Server: 127.0.0.11\nAddress: 127.0.0.11:53\n"},
		{name: "registry.example", tool: "nslookup", exit: 1, took: time.Second, output: "** server can't find registry.example: NXDOMAIN"},
		{name: "slow.example", tool: "getent", took: 5 * time.Second},
		{name: "dead.example", tool: "getent", took: 20 * time.Second, timedOut: true},
	})
	require.Len(t, fs, 3)
	assert.Equal(t, "Containers cannot resolve registry.example", fs[0].Title)
	assert.Equal(t, diag.Critical, fs[0].Severity)
	assert.Equal(t, []string{"nslookup registry.example: exit code 1 after 1s: ** server can't find registry.example: NXDOMAIN"}, fs[0].Evidence)
	assert.Contains(t, fs[0].Remedy, "getent hosts registry.example")
	assert.Contains(t, fs[0].Remedy, "nscd")
	assert.Equal(t, "DNS lookups from containers are slow: slow.example took 5s", fs[1].Title)
	assert.Equal(t, diag.Warning, fs[1].Severity)
	assert.Equal(t, "Containers cannot resolve dead.example", fs[2].Title)
	assert.Contains(t, fs[2].Evidence[0], "no answer (stopped)")
	for _, f := range fs {
		assert.Equal(t, "D20", f.Code)
	}

	fs = e.judgeDNS([]lookup{{name: "minato-diag-dns-ab-0", self: true, tool: "getent", exit: 2, took: time.Second}})
	require.Len(t, fs, 1)
	assert.Equal(t, "The engine's embedded DNS does not answer container names", fs[0].Title)
	assert.Equal(t, diag.Critical, fs[0].Severity)
	assert.Contains(t, fs[0].Detail, "127.0.0.11")
	assert.Equal(t, []string{"getent minato-diag-dns-ab-0 (the probe container's own name): exit code 2 after 1s"}, fs[0].Evidence)
}

func TestFormatBytes(t *testing.T) {
	assert.Equal(t, "0 B", formatBytes(0))
	assert.Equal(t, "32.0 MiB", formatBytes(32<<20))
	assert.Equal(t, "1.5 GiB", formatBytes(3<<29))
}
