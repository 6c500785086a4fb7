// Package agent is minato's long-running mode (minato agent): it runs the
// monitor Runner with checks from a configuration file, notifies status
// transitions through the configured notifiers, runs job networks with a
// scheduler.Scheduler (configured jobnets, submissions, operator controls over
// the /api/v1 job API), and serves /metrics, /healthz and /api/v1/status
// over HTTP until SIGTERM. At SIGTERM the scheduler detaches from running
// units: their containers go on, and the next agent with the same store
// adopts them.
package agent
