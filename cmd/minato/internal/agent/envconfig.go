package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/container"
)

// The environment variables ApplyEnv reads: the agent's configuration in
// a container (docs/container.md). Each overrides the configuration
// file's value (MINATO_CONFIG, or --config); command-line flags override
// them in turn.
const (
	// EnvConfig is the configuration file (YAML or JSON); the command
	// loads it when --config is not given. ApplyEnv checks that it is a
	// readable regular file.
	EnvConfig = "MINATO_CONFIG"
	// EnvListen is the HTTP address, host:port (default 127.0.0.1:9464;
	// the image sets 0.0.0.0:9464).
	EnvListen = "MINATO_LISTEN"
	// EnvStateDir is the state directory, an existing absolute directory:
	// the rate baselines and event checkpoint, and the job store
	// (jobs.db) unless the file names one.
	EnvStateDir = "MINATO_STATE_DIR"
	// EnvInterval is the interval of every check (a Go duration, at least
	// 1s), such as the default checks' 10s.
	EnvInterval = "MINATO_INTERVAL"
	// EnvDockerHost is the engine (unix://PATH or tcp://HOST:PORT),
	// before DOCKER_HOST; not with the file's engines.
	EnvDockerHost = "MINATO_DOCKER_HOST"
	// EnvTokenFile is the API token file (mode 0600 or 0400, one line).
	EnvTokenFile = "MINATO_API_TOKEN_FILE"
	// EnvLogLevel is the log level: debug, info, warn or error (read by
	// the command with LogLevelEnv; ApplyEnv checks it).
	EnvLogLevel = "MINATO_LOG_LEVEL"
	// EnvTLSCert and EnvTLSKey are the HTTPS listener's PEM files, both
	// or neither.
	EnvTLSCert = "MINATO_TLS_CERT_FILE"
	EnvTLSKey  = "MINATO_TLS_KEY_FILE"
	// EnvInsecure allows plain HTTP for the job API on a non-loopback
	// address (true or false).
	EnvInsecure = "MINATO_INSECURE"
	// EnvJobs runs the job scheduler (true or false).
	EnvJobs = "MINATO_JOBS_ENABLED"
	// EnvEvents turns the engine event stream on or off.
	EnvEvents = "MINATO_EVENTS_ENABLED"
	// EnvMaxConcurrent bounds the checks running at once (1-1000).
	EnvMaxConcurrent = "MINATO_MAX_CONCURRENT"
	// EnvCollect is the resource collection mode.
	EnvCollect = "MINATO_COLLECT"
)

// ApplyEnv applies the MINATO_* variables that getenv returns non-empty
// values for to cfg (see the Env* constants and MINATO_METERING_*). Every
// value is checked before it is used; the error joins every problem, each
// naming the variable, its value and what is allowed
// ("MINATO_INTERVAL=\"10\": want a Go duration of at least 1s, such as
// 10s"), in the manner of JobCenter's start-up checks. Values that are
// valid are applied even when others are not. cfg is then still to be
// validated as a whole (New does).
func ApplyEnv(cfg *Config, getenv func(string) string) error {
	e := &envVars{getenv: getenv}
	if v, ok := e.lookup(EnvConfig); ok {
		if st, err := os.Stat(v); err != nil {
			e.fail(EnvConfig, v, "the file cannot be read ("+errText(err)+"): want the path of the configuration file (YAML or JSON) inside the container")
		} else if !st.Mode().IsRegular() {
			e.fail(EnvConfig, v, "not a regular file: want the path of the configuration file (YAML or JSON)")
		}
	}
	if v, ok := e.lookup(EnvListen); ok {
		if _, port, err := splitListen(v); err != nil {
			e.fail(EnvListen, v, "want HOST:PORT such as 0.0.0.0:9464")
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			e.fail(EnvListen, v, "the port must be a number from 0 to 65535: want HOST:PORT such as 0.0.0.0:9464")
		} else {
			cfg.Listen = v
		}
	}
	if v, ok := e.lookup(EnvStateDir); ok {
		switch st, err := os.Stat(v); {
		case !filepath.IsAbs(v):
			e.fail(EnvStateDir, v, "want an absolute path, such as /var/lib/minato")
		case err != nil:
			e.fail(EnvStateDir, v, "the directory cannot be read ("+errText(err)+"): mount a volume there (docker run -v minato-state:"+v+")")
		case !st.IsDir():
			e.fail(EnvStateDir, v, "not a directory: want the state directory, such as /var/lib/minato")
		default:
			cfg.StateDir = v
			if cfg.Jobs.Store == "" {
				cfg.Jobs.Store = filepath.Join(v, "jobs.db")
			}
		}
	}
	var interval time.Duration
	if e.duration(EnvInterval, time.Second, &interval) {
		for i := range cfg.Checks {
			cfg.Checks[i].Interval = interval
		}
	}
	if v, ok := e.lookup(EnvDockerHost); ok {
		switch err := (container.Config{Host: v}).Validate(); {
		case len(cfg.Engines) > 0:
			e.fail(EnvDockerHost, v, "the configuration file lists engines: give the engines there, or remove them to use one engine")
		case err != nil:
			e.fail(EnvDockerHost, v, "want unix:///PATH (such as unix:///var/run/docker.sock) or tcp://HOST:PORT")
		default:
			if cfg.Docker == nil {
				cfg.Docker = &container.Config{}
			}
			cfg.Docker.Host = v
		}
	}
	if v, ok := e.lookup(EnvTokenFile); ok {
		if tok, err := readToken(v); err != nil {
			e.fail(EnvTokenFile, v, errText(err)+": want a file readable by its owner only (mode 0600 or 0400) holding one line, the token")
		} else {
			cfg.API.TokenFile, cfg.token = v, tok
		}
	}
	if v, ok := e.lookup(EnvLogLevel); ok {
		if _, ok := LogLevelEnv(getenv); !ok {
			e.fail(EnvLogLevel, v, "want debug, info, warn or error")
		}
	}
	cert, hasCert := e.lookup(EnvTLSCert)
	key, hasKey := e.lookup(EnvTLSKey)
	switch {
	case hasCert != hasKey:
		e.errs = append(e.errs, fmt.Errorf("%s=%q and %s=%q: give both (PEM files) or neither", EnvTLSCert, cert, EnvTLSKey, key))
	case hasCert:
		ok := true
		for _, f := range [][2]string{{EnvTLSCert, cert}, {EnvTLSKey, key}} {
			if st, err := os.Stat(f[1]); err != nil || !st.Mode().IsRegular() {
				e.fail(f[0], f[1], "not a readable regular file: want a PEM file")
				ok = false
			}
		}
		if ok {
			cfg.TLS = &TLSConfig{CertFile: cert, KeyFile: key}
		}
	}
	e.boolean(EnvInsecure, &cfg.Insecure)
	e.boolean(EnvJobs, &cfg.Jobs.Enabled)
	e.boolean(EnvEvents, &cfg.Events.Enabled)
	e.integer(EnvMaxConcurrent, 1, 1000, &cfg.MaxConcurrent)
	if v, ok := e.lookup(EnvCollect); ok {
		switch v {
		case "auto", "oneshot", "stream", "twosample", "direct":
			cfg.Collect = v
		default:
			e.fail(EnvCollect, v, "want auto, oneshot, stream, twosample or direct")
		}
	}
	applyMeteringEnv(&cfg.Metering, e)
	return errors.Join(e.errs...)
}

// LogLevelEnv returns the level MINATO_LOG_LEVEL names; ok is false when
// it is unset or invalid (ApplyEnv reports the latter).
func LogLevelEnv(getenv func(string) string) (level slog.Level, ok bool) {
	v := getenv(EnvLogLevel)
	if v == "" {
		return slog.LevelInfo, false
	}
	switch strings.ToLower(v) {
	case "debug", "info", "warn", "error":
	default:
		return slog.LevelInfo, false
	}
	if err := level.UnmarshalText([]byte(v)); err != nil {
		return slog.LevelInfo, false
	}
	return level, true
}

// envVars reads variables and collects their problems.
type envVars struct {
	getenv func(string) string
	errs   []error
}

// lookup returns the variable's value; ok is false when it is unset or
// empty.
func (e *envVars) lookup(name string) (string, bool) {
	v := e.getenv(name)
	return v, v != ""
}

// fail records that name=value is not allowed, and what is.
func (e *envVars) fail(name, value, allowed string) {
	e.errs = append(e.errs, fmt.Errorf("%s=%q: %s", name, value, allowed))
}

// boolean sets *dst from true or false (also 1/0, yes/no, any case);
// it reports whether the variable was set and valid.
func (e *envVars) boolean(name string, dst *bool) bool {
	v, ok := e.lookup(name)
	if !ok {
		return false
	}
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		*dst = true
	case "false", "0", "no":
		*dst = false
	default:
		e.fail(name, v, "want true or false")
		return false
	}
	return true
}

// duration sets *dst from a Go duration of at least lo; it reports
// whether the variable was set and valid.
func (e *envVars) duration(name string, lo time.Duration, dst *time.Duration) bool {
	v, ok := e.lookup(name)
	if !ok {
		return false
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo {
		e.fail(name, v, fmt.Sprintf("want a Go duration of at least %s, such as 30s (units ms, s, m, h)", lo))
		return false
	}
	*dst = d
	return true
}

// integer sets *dst from a whole number from lo to hi; it reports
// whether the variable was set and valid.
func (e *envVars) integer(name string, lo, hi int, dst *int) bool {
	v, ok := e.lookup(name)
	if !ok {
		return false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		e.fail(name, v, fmt.Sprintf("want a whole number from %d to %d", lo, hi))
		return false
	}
	*dst = n
	return true
}

// errText is an error's text without the path os errors repeat.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
