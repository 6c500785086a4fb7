// Package agent is minato's long-running mode (minato agent): it runs the
// monitor Runner with checks from a configuration file, notifies status
// transitions through the configured notifiers, and serves /metrics,
// /healthz and /api/v1/status over HTTP until SIGTERM.
package agent
