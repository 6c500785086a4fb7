package script

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Defaults of [Config].
const (
	// DefaultKillGrace is Config.KillGrace when it is zero.
	DefaultKillGrace = 2 * time.Second
	// DefaultMaxOutputBytes is Config.MaxOutputBytes when it is zero.
	DefaultMaxOutputBytes = 8 << 10
)

// Environment variables every command gets, set after (so winning over)
// the inherited environment, Config.Env and Command.Env.
const (
	// EnvAction is "start", "stop" or "check": which command this is, so
	// that one script can serve all three.
	EnvAction = "MINATO_HA_ACTION"
	// EnvNode is the name of the node the resource is on (this node).
	EnvNode = "MINATO_HA_NODE"
	// EnvEpoch is the holder's epoch in decimal (see ha.WithEpoch); unset
	// when the call carries none. A script that writes to a shared system
	// can store it there and refuse to act under an older one.
	EnvEpoch = "MINATO_HA_EPOCH"
	// EnvGroup is Config.Group; unset when empty.
	EnvGroup = "MINATO_HA_GROUP"
	// EnvResource is Config.Name; unset when empty.
	EnvResource = "MINATO_HA_RESOURCE"
)

// envPrefix is reserved for the variables above.
const envPrefix = "MINATO_HA_"

// Config describes a script resource: the commands that start, stop and
// check a service, as CLUSTERPRO's exec resource runs its start and stop
// scripts and a custom monitor runs its check.
//
// Durations are written "30s" in configuration files; the zero value of
// every optional field means its default.
type Config struct {
	// Name is the resource's name, for messages and EnvResource;
	// optional.
	Name string `json:"name,omitempty"`
	// Group is the failover group's name, for EnvGroup; optional.
	Group string `json:"group,omitempty"`
	// Start brings the service up: exit status 0 is success. Required.
	Start Command `json:"start"`
	// Stop takes it down: exit status 0 is success. Optional: without
	// it, Deactivate only records that the resource is inactive.
	Stop Command `json:"stop,omitzero"`
	// Check tells the service's health by its exit status, as a
	// Monitoring Plugins (Nagios) check does: 0 OK, 1 Warning, 2 Critical,
	// 3 Unknown (the state could not be learned); anything else is
	// Critical. Optional: without it, Check reports what the last
	// Activate and Deactivate left (see [Resource.Check]).
	Check Command `json:"check,omitzero"`
	// Env is added to every command's environment, over the environment
	// the program was started with. Names starting MINATO_HA_ are
	// reserved.
	Env map[string]string `json:"env,omitempty"`
	// Dir is every command's working directory unless the command names
	// its own; "" means the program's.
	Dir string `json:"dir,omitempty"`
	// KillGrace is the time between SIGTERM and SIGKILL when a command
	// outlives its timeout or its ctx; both go to the command's whole
	// process group, so that a shell's children end with it. Default 2 s;
	// negative means SIGKILL at once.
	KillGrace time.Duration `json:"kill_grace,omitempty"`
	// MaxOutputBytes bounds how much of a command's output (standard
	// output and error together) is kept for messages: the first and the
	// last half of it; default 8 KiB. The rest is read and dropped.
	MaxOutputBytes int `json:"max_output_bytes,omitempty"`
}

// Command is one command: a program and its arguments, run directly,
// never through a shell (give ["/bin/sh", "-c", "..."] for one).
type Command struct {
	// Argv is the program and its arguments. A program without a "/" is
	// looked up in PATH; a relative path with a "/" is taken relative to
	// the command's directory.
	Argv []string `json:"argv"`
	// Env is added over Config.Env for this command.
	Env map[string]string `json:"env,omitempty"`
	// Dir overrides Config.Dir for this command.
	Dir string `json:"dir,omitempty"`
	// Timeout bounds the command; 0 means only the caller's ctx bounds it
	// (the member's activate or deactivate timeout, the monitor's check
	// timeout). When it ends first the command is killed (see
	// Config.KillGrace) and the call fails with code 6.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// IsZero reports whether c is the zero Command (no command given).
func (c Command) IsZero() bool {
	return len(c.Argv) == 0 && len(c.Env) == 0 && c.Dir == "" && c.Timeout == 0
}

// Validate reports every problem, joined, each naming its json field.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(c.Start.Argv) == 0 {
		add("start.argv: required: the program that starts the service, and its arguments")
	}
	for _, cmd := range []struct {
		name string
		c    Command
	}{{"start", c.Start}, {"stop", c.Stop}, {"check", c.Check}} {
		if cmd.c.IsZero() {
			continue
		}
		if len(cmd.c.Argv) == 0 {
			add("%s.argv: required when %s is given", cmd.name, cmd.name)
		} else if cmd.c.Argv[0] == "" {
			add("%s.argv[0]: empty program name", cmd.name)
		}
		for i, a := range cmd.c.Argv {
			if strings.ContainsRune(a, 0) {
				add("%s.argv[%d]: contains a NUL byte", cmd.name, i)
			}
		}
		if cmd.c.Timeout < 0 {
			add("%s.timeout: %s: want 0 (none) or more", cmd.name, cmd.c.Timeout)
		}
		errs = append(errs, validEnv(cmd.name+".env", cmd.c.Env)...)
	}
	errs = append(errs, validEnv("env", c.Env)...)
	if c.MaxOutputBytes < 0 {
		add("max_output_bytes: %d: want 0 (default %d) or more", c.MaxOutputBytes, DefaultMaxOutputBytes)
	}
	return errors.Join(errs...)
}

func validEnv(field string, env map[string]string) []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(env)) {
		switch {
		case k == "" || strings.ContainsAny(k, "=\x00"):
			errs = append(errs, fmt.Errorf("%s: %q: a variable name must be non-empty, without = or NUL", field, k))
		case strings.HasPrefix(k, envPrefix):
			errs = append(errs, fmt.Errorf("%s: %s: names starting %s are set by minato", field, k, envPrefix))
		case strings.ContainsRune(env[k], 0):
			errs = append(errs, fmt.Errorf("%s: %s: the value contains a NUL byte", field, k))
		}
	}
	return errs
}

func (c Config) withDefaults() Config {
	switch {
	case c.KillGrace == 0:
		c.KillGrace = DefaultKillGrace
	case c.KillGrace < 0:
		c.KillGrace = 0
	}
	if c.MaxOutputBytes == 0 {
		c.MaxOutputBytes = DefaultMaxOutputBytes
	}
	return c
}
