package container_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/minato-ops/minato/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigFromEnv(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want container.Config
	}{
		{"nothing set", nil, container.DefaultConfig()},
		{
			"host and API version",
			map[string]string{"DOCKER_HOST": "tcp://10.0.0.5:2375", "DOCKER_API_VERSION": "1.41"},
			container.Config{Host: "tcp://10.0.0.5:2375", APIVersion: "1.41", Timeout: container.DefaultTimeout},
		},
		{
			"verified TLS",
			map[string]string{"DOCKER_HOST": "tcp://10.0.0.5:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs"},
			container.Config{Host: "tcp://10.0.0.5:2376", Timeout: container.DefaultTimeout, TLS: &container.TLSConfig{
				CAFile: "/certs/ca.pem", CertFile: "/certs/cert.pem", KeyFile: "/certs/key.pem",
			}},
		},
		{
			"cert path alone on tcp: TLS without verification, as the docker client does",
			map[string]string{"DOCKER_HOST": "tcp://10.0.0.5:2376", "DOCKER_CERT_PATH": "/certs"},
			container.Config{Host: "tcp://10.0.0.5:2376", Timeout: container.DefaultTimeout, TLS: &container.TLSConfig{
				CAFile: "/certs/ca.pem", CertFile: "/certs/cert.pem", KeyFile: "/certs/key.pem", InsecureSkipVerify: true,
			}},
		},
		{
			"cert path alone on the unix socket: no TLS",
			map[string]string{"DOCKER_CERT_PATH": "/certs"},
			container.DefaultConfig(),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, container.ConfigFromEnv(env(tc.env)))
		})
	}
}

func TestConfigFromEnvVerifyDefaultsToHomeDocker(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	c := container.ConfigFromEnv(env(map[string]string{"DOCKER_HOST": "tcp://h:2376", "DOCKER_TLS_VERIFY": "1"}))
	require.NotNil(t, c.TLS)
	assert.Equal(t, filepath.Join(home, ".docker", "ca.pem"), c.TLS.CAFile)
	assert.Equal(t, filepath.Join(home, ".docker", "key.pem"), c.TLS.KeyFile)
	assert.False(t, c.TLS.InsecureSkipVerify)
}

func TestConfigFromEnvNilUsesOSEnv(t *testing.T) {
	t.Setenv("DOCKER_HOST", "tcp://192.0.2.1:2375")
	t.Setenv("DOCKER_API_VERSION", "")
	t.Setenv("DOCKER_TLS_VERIFY", "")
	t.Setenv("DOCKER_CERT_PATH", "")
	assert.Equal(t, "tcp://192.0.2.1:2375", container.ConfigFromEnv(nil).Host)
}

func TestTCPHost(t *testing.T) {
	cases := []struct {
		addr string
		port int
		want string
	}{
		{"10.0.0.5", 0, "tcp://10.0.0.5:2375"},
		{"10.0.0.5", 2376, "tcp://10.0.0.5:2376"},
		{"docker.example.com", 0, "tcp://docker.example.com:2375"},
		{"::1", 0, "tcp://[::1]:2375"},
		{"2001:db8::5", 2376, "tcp://[2001:db8::5]:2376"},
		{"[2001:db8::5]", 2376, "tcp://[2001:db8::5]:2376"},
	}
	for _, tc := range cases {
		got := container.TCPHost(tc.addr, tc.port)
		assert.Equal(t, tc.want, got, "%s %d", tc.addr, tc.port)
		assert.NoError(t, container.Config{Host: got}.Validate(), got)
	}
}

func TestValidateAccepts(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o600))
	}
	for _, c := range []container.Config{
		{},
		container.DefaultConfig(),
		{Host: "unix:///run/user/1000/docker.sock"},
		{Host: "tcp://10.0.0.5:2375", APIVersion: "1.41"},
		{Host: "tcp://[::1]:2375", APIVersion: "v1.45"},
		{Host: "npipe:////./pipe/docker_engine"},
		{Host: "tcp://h:2376", TLS: &container.TLSConfig{CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}},
		{Host: "tcp://h:2376", TLS: &container.TLSConfig{InsecureSkipVerify: true}},
	} {
		assert.NoError(t, c.Validate(), "%+v", c)
	}
}

func TestValidateRejects(t *testing.T) {
	cases := []struct {
		name string
		cfg  container.Config
		want []string // each must appear in the message
	}{
		{"unsupported scheme", container.Config{Host: "ssh://user@host"}, []string{`host "ssh://user@host"`, `scheme "ssh" is not supported`, "tcp://HOST:PORT"}},
		{"no scheme", container.Config{Host: "10.0.0.5:2375"}, []string{`host "10.0.0.5:2375"`}},
		{"tcp without port", container.Config{Host: "tcp://10.0.0.5"}, []string{`host "tcp://10.0.0.5"`, "needs a port", "2375"}},
		{"unix without path", container.Config{Host: "unix://"}, []string{`host "unix://"`, "needs a socket path"}},
		{"bad api_version", container.Config{APIVersion: "1.x"}, []string{`api_version "1.x"`, "MAJOR.MINOR"}},
		{"three-part api_version", container.Config{APIVersion: "1.41.0"}, []string{`api_version "1.41.0"`}},
		{"cert without key", container.Config{TLS: &container.TLSConfig{CertFile: "/certs/cert.pem"}}, []string{"cert_file", "key_file", `"/certs/cert.pem"`}},
		{"key without cert", container.Config{TLS: &container.TLSConfig{KeyFile: "/certs/key.pem"}}, []string{"cert_file", "key_file", `"/certs/key.pem"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			require.Error(t, err)
			for _, w := range tc.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

func TestValidateJoinsEveryProblem(t *testing.T) {
	err := container.Config{Host: "tcp://h", APIVersion: "latest", TLS: &container.TLSConfig{CertFile: "/nope/cert.pem"}}.Validate()
	require.Error(t, err)
	for _, w := range []string{`host "tcp://h"`, `api_version "latest"`, "key_file"} {
		assert.ErrorContains(t, err, w)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	c, err := container.New(container.Config{Host: "tcp://h", APIVersion: "x"})
	assert.Nil(t, c)
	require.Error(t, err)
	assert.ErrorContains(t, err, "container: invalid config: ")
	assert.ErrorContains(t, err, `api_version "x"`)
	assert.ErrorContains(t, err, `host "tcp://h"`)
}

func TestNewRejectsUnreadableTLSFiles(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
	_, err := container.New(container.Config{Host: "tcp://h:2376", TLS: &container.TLSConfig{CAFile: notPEM}})
	assert.ErrorContains(t, err, "no PEM certificate found")
	assert.ErrorContains(t, err, notPEM)

	_, err = container.New(container.Config{Host: "tcp://h:2376", TLS: &container.TLSConfig{CertFile: notPEM, KeyFile: notPEM}})
	assert.ErrorContains(t, err, "tls cert_file/key_file")

	missing := filepath.Join(dir, "nope", "ca.pem")
	_, err = container.New(container.Config{Host: "tcp://h:2376", TLS: &container.TLSConfig{CAFile: missing}})
	assert.ErrorContains(t, err, missing)
	assert.ErrorContains(t, err, "no such file or directory")
}
