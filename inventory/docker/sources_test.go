package dockerinv_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	dockerinv "github.com/minato-ops/minato/inventory/docker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFromEnv(t *testing.T) {
	env := map[string]string{
		"DOCKER_HOST":        "tcp://10.0.0.5:2376",
		"DOCKER_TLS_VERIFY":  "1",
		"DOCKER_CERT_PATH":   "/etc/docker-certs",
		"DOCKER_API_VERSION": "1.41",
	}
	ec := dockerinv.FromEnv(func(k string) string { return env[k] })
	assert.Equal(t, dockerinv.EngineConfig{
		Name: "local", Host: "tcp://10.0.0.5:2376", APIVersion: "1.41",
		TLS: &container.TLSConfig{CAFile: "/etc/docker-certs/ca.pem", CertFile: "/etc/docker-certs/cert.pem", KeyFile: "/etc/docker-certs/key.pem"},
	}, ec, "timeout left to the Fleet")
	require.NoError(t, ec.Validate())

	ec = dockerinv.FromEnv(func(string) string { return "" })
	assert.Equal(t, dockerinv.EngineConfig{Name: dockerinv.LocalName, Host: container.DefaultHost}, ec)
}

// writeContext stores a context as the docker CLI does.
func writeContext(t *testing.T, dir, name, meta string, tlsFiles ...string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	digest := hex.EncodeToString(sum[:])
	m := filepath.Join(dir, "contexts", "meta", digest)
	require.NoError(t, os.MkdirAll(m, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(m, "meta.json"), []byte(meta), 0o644))
	for _, f := range tlsFiles {
		p := filepath.Join(dir, "contexts", "tls", digest, "docker")
		require.NoError(t, os.MkdirAll(p, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(p, f), []byte("PEM"), 0o600))
	}
}

func TestFromContexts(t *testing.T) {
	dir := t.TempDir()
	writeContext(t, dir, "prod-1", `{"Name":"prod-1","Metadata":{"Description":"production"},"Endpoints":{"docker":{"Host":"tcp://10.0.0.5:2376","SkipTLSVerify":false}}}`, "ca.pem", "cert.pem", "key.pem")
	writeContext(t, dir, "lab", `{"Name":"lab","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://lab.example:2376","SkipTLSVerify":true}}}`)
	writeContext(t, dir, "plain", `{"Name":"plain","Endpoints":{"docker":{"Host":"tcp://10.0.0.7:2375"}}}`)
	writeContext(t, dir, "sock", `{"Name":"sock","Endpoints":{"docker":{"Host":"unix:///run/user/1000/docker.sock"}}}`, "ca.pem")
	writeContext(t, dir, "ca-only", `{"Name":"ca-only","Endpoints":{"docker":{"Host":"tcp://10.0.0.8:2376"}}}`, "ca.pem")
	// Unusable ones, reported and left out:
	writeContext(t, dir, "k8s", `{"Name":"k8s","Endpoints":{"kubernetes":{"Host":"https://k8s:6443"}}}`)
	writeContext(t, dir, "a+b", `{"Name":"a+b","Endpoints":{"docker":{"Host":"tcp://10.0.0.9:2375"}}}`)
	writeContext(t, dir, "broken", `{"Name":`)
	writeContext(t, dir, "noport", `{"Name":"noport","Endpoints":{"docker":{"Host":"tcp://10.0.0.10"}}}`)

	got, err := dockerinv.FromContexts(dir)
	tls := filepath.Join(dir, "contexts", "tls")
	digest := func(name string) string { s := sha256.Sum256([]byte(name)); return hex.EncodeToString(s[:]) }
	assert.Equal(t, []dockerinv.EngineConfig{
		{Name: "ca-only", Host: "tcp://10.0.0.8:2376", TLS: &container.TLSConfig{CAFile: filepath.Join(tls, digest("ca-only"), "docker", "ca.pem")}},
		{Name: "lab", Host: "tcp://lab.example:2376", TLS: &container.TLSConfig{InsecureSkipVerify: true}},
		{Name: "plain", Host: "tcp://10.0.0.7:2375"},
		{Name: "prod-1", Host: "tcp://10.0.0.5:2376", TLS: &container.TLSConfig{
			CAFile:   filepath.Join(tls, digest("prod-1"), "docker", "ca.pem"),
			CertFile: filepath.Join(tls, digest("prod-1"), "docker", "cert.pem"),
			KeyFile:  filepath.Join(tls, digest("prod-1"), "docker", "key.pem"),
		}},
		{Name: "sock", Host: "unix:///run/user/1000/docker.sock"},
	}, got, "sorted by name; local sockets never use TLS")
	require.Error(t, err)
	assert.ErrorIs(t, err, inventory.ErrInvalid, "a+b is not a facility ID")
	for _, want := range []string{`context "k8s": no docker endpoint`, `docker context "a+b": name: `, `meta.json: unexpected end of JSON input`, `docker context "noport": host "tcp://10.0.0.10": tcp:// needs a port`} {
		assert.Contains(t, err.Error(), want)
	}

	none, err := dockerinv.FromContexts(t.TempDir())
	assert.NoError(t, err, "no contexts stored is not an error")
	assert.Equal(t, []dockerinv.EngineConfig{}, none)
}
