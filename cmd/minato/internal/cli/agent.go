package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/minato-ops/minato/cmd/minato/internal/agent"
)

// agentReady, when set (tests), receives the agent's HTTP address.
var agentReady func(addr string)

func runAgent(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato agent", "minato agent [--config FILE] [options]",
		"Run minato's long-running mode: the checks of the config file (default: CPU,\n"+
			"memory and state of every running container every 10 s, and the engine's\n"+
			"events), notifications of status changes, and HTTP: /metrics (Prometheus\n"+
			"text or OpenMetrics, with cAdvisor-compatible container_* series), /healthz,\n"+
			"/api/v1/status and the job API.\n\n"+
			"The job scheduler runs job networks on their schedules and calendars, through\n"+
			"its queues, keeps every run in its store (jobs.store), and serves the job API\n"+
			"that \"minato jobnet submit|status|hold|...\" talks to. It runs without a\n"+
			"config file (on a loopback --listen), and with one that lists jobnets or\n"+
			"sets jobs.enabled: true.\n\n"+
			"The API answers loopback requests only, unless api.token_file sets a token;\n"+
			"on a non-loopback address the job scheduler also needs tls (see\n"+
			"docs/security.md).\n\n"+
			"SIGTERM or Ctrl-C stops it within 5 s. Running job containers are left running\n"+
			"and the next agent on the same store adopts them; a SIGKILLed agent resumes\n"+
			"the same way. See docs/agent.md and docs/jobs.md.")
	var cfgPath, listen, level string
	fs.StringVar(&cfgPath, "config", "", "configuration `FILE` (YAML or JSON)")
	fs.StringVar(&listen, "listen", "", "HTTP `ADDRESS` (host:port), overriding the file (default "+agent.DefaultListen+")")
	fs.StringVar(&level, "log-level", "info", "log `LEVEL`: debug, info, warn or error (logs go to stderr as JSON)")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return report(env, err)
	}
	if len(pos) > 0 {
		return report(env, usagef("minato agent takes no arguments, got %q", pos[0]))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return report(env, usagef("--log-level %q: want debug, info, warn or error", level))
	}
	if envLevel, ok := agent.LogLevelEnv(env.Getenv); ok && !given["log-level"] {
		lv = envLevel
	}
	// Flags, then MINATO_* variables (docs/container.md), then the file.
	if cfgPath == "" {
		cfgPath = env.Getenv(agent.EnvConfig)
	}
	cfg := agent.Default(cmp.Or(listen, env.Getenv(agent.EnvListen)))
	var loadErr error
	if cfgPath != "" {
		cfg, loadErr = agent.Load(cfgPath)
	}
	envErr := agent.ApplyEnv(&cfg, env.Getenv)
	if loadErr != nil {
		printDefErrors(env, cfgPath, loadErr)
	}
	if envErr != nil {
		fmt.Fprintln(env.Stderr, "minato: the environment is not valid:")
		for _, line := range strings.Split(envErr.Error(), "\n") {
			fmt.Fprintln(env.Stderr, "  "+line)
		}
	}
	if loadErr != nil || envErr != nil {
		return 1
	}
	if listen != "" {
		cfg.Listen = listen
	}
	log := slog.New(slog.NewJSONHandler(env.Stderr, &slog.HandlerOptions{Level: lv}))
	a, err := agent.New(cfg, env.Getenv, log)
	if err != nil {
		var j interface{ Unwrap() []error }
		if errors.As(err, &j) && cfgPath != "" {
			printDefErrors(env, cfgPath, err)
			return 1
		}
		return report(env, err)
	}
	if agentReady != nil {
		go func() { agentReady(<-a.Addr()) }()
	}
	if err := a.Run(ctx); err != nil {
		return report(env, fmt.Errorf("agent: %w", err))
	}
	return 0
}
