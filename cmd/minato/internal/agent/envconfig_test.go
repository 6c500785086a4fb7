package agent

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestApplyEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tok, []byte("t0ken\n"), 0o600))
	conf := filepath.Join(dir, "agent.yaml")
	require.NoError(t, os.WriteFile(conf, []byte("listen: 127.0.0.1:1\n"), 0o644))
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	require.NoError(t, os.WriteFile(cert, []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(key, []byte("x"), 0o600))

	cfg := Default("")
	err := ApplyEnv(&cfg, envOf(map[string]string{
		EnvConfig: conf, EnvListen: "0.0.0.0:9464", EnvStateDir: dir, EnvInterval: "30s", EnvDockerHost: "unix:///run/docker.sock",
		EnvTokenFile: tok, EnvLogLevel: "DEBUG", EnvTLSCert: cert, EnvTLSKey: key, EnvInsecure: "false", EnvJobs: "true",
		EnvEvents: "0", EnvMaxConcurrent: "4", EnvCollect: "oneshot",
	}))
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0:9464", cfg.Listen)
	assert.Equal(t, dir, cfg.StateDir)
	assert.Equal(t, filepath.Join(dir, "jobs.db"), cfg.Jobs.Store)
	for _, ch := range cfg.Checks {
		assert.Equal(t, 30*time.Second, ch.Interval, ch.Name)
	}
	assert.Equal(t, "unix:///run/docker.sock", cfg.Docker.Host)
	assert.Equal(t, tok, cfg.API.TokenFile)
	assert.Equal(t, "t0ken", cfg.token)
	assert.Equal(t, &TLSConfig{CertFile: cert, KeyFile: key}, cfg.TLS)
	assert.True(t, cfg.Jobs.Enabled)
	assert.False(t, cfg.Events.Enabled)
	assert.Equal(t, 4, cfg.MaxConcurrent)
	assert.Equal(t, "oneshot", cfg.Collect)
	require.NoError(t, cfg.Validate(), "a token and TLS make a non-loopback listen with jobs valid")
	lv, ok := LogLevelEnv(envOf(map[string]string{EnvLogLevel: "DEBUG"}))
	assert.True(t, ok)
	assert.Equal(t, slog.LevelDebug, lv)

	cfg = Default("")
	require.NoError(t, ApplyEnv(&cfg, envOf(nil)), "nothing set, nothing changed")
	assert.Equal(t, Default(""), cfg)
}

// TestApplyEnvErrors: every bad value is reported at once, naming the
// variable, its value and what is allowed; the good ones are applied.
func TestApplyEnvErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(open, []byte("t0ken\n"), 0o644))
	cfg := Default("")
	cfg.Engines = nil
	err := ApplyEnv(&cfg, envOf(map[string]string{
		EnvConfig: filepath.Join(dir, "none.yaml"), EnvListen: "9464", EnvStateDir: "var/lib/minato", EnvInterval: "10",
		EnvDockerHost: "ssh://host", EnvTokenFile: open, EnvLogLevel: "verbose", EnvTLSCert: "/c.pem", EnvInsecure: "maybe",
		EnvJobs: "on", EnvMaxConcurrent: "0", EnvCollect: "fast", EnvEvents: "true",
	}))
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		`MINATO_CONFIG="` + filepath.Join(dir, "none.yaml") + `": the file cannot be read (no such file or directory): want the path of the configuration file (YAML or JSON) inside the container`,
		`MINATO_LISTEN="9464": want HOST:PORT such as 0.0.0.0:9464`,
		`MINATO_STATE_DIR="var/lib/minato": want an absolute path, such as /var/lib/minato`,
		`MINATO_INTERVAL="10": want a Go duration of at least 1s, such as 30s (units ms, s, m, h)`,
		`MINATO_DOCKER_HOST="ssh://host": want unix:///PATH (such as unix:///var/run/docker.sock) or tcp://HOST:PORT`,
		`MINATO_API_TOKEN_FILE="` + open + `": ` + open + `: mode 0644 lets others read the token: chmod 600 ` + open + `: want a file readable by its owner only (mode 0600 or 0400) holding one line, the token`,
		`MINATO_LOG_LEVEL="verbose": want debug, info, warn or error`,
		`MINATO_TLS_CERT_FILE="/c.pem" and MINATO_TLS_KEY_FILE="": give both (PEM files) or neither`,
		`MINATO_INSECURE="maybe": want true or false`,
		`MINATO_JOBS_ENABLED="on": want true or false`,
		`MINATO_MAX_CONCURRENT="0": want a whole number from 1 to 1000`,
		`MINATO_COLLECT="fast": want auto, oneshot, stream, twosample or direct`,
	}
	assert.Equal(t, want, lines)
	assert.True(t, cfg.Events.Enabled, "the valid ones are applied")
	assert.Equal(t, DefaultListen, cfg.Listen, "the invalid ones are not")

	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	cfg = Default("")
	err = ApplyEnv(&cfg, envOf(map[string]string{EnvStateDir: file, EnvConfig: dir, EnvListen: "h:99999"}))
	assert.ErrorContains(t, err, `MINATO_STATE_DIR="`+file+`": not a directory`)
	assert.ErrorContains(t, err, `MINATO_CONFIG="`+dir+`": not a regular file`)
	assert.ErrorContains(t, err, `MINATO_LISTEN="h:99999": the port must be a number from 0 to 65535`)
	err = ApplyEnv(&cfg, envOf(map[string]string{EnvStateDir: filepath.Join(dir, "missing")}))
	assert.ErrorContains(t, err, "the directory cannot be read (no such file or directory): mount a volume there (docker run -v minato-state:")
}
