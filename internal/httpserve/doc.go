// Package httpserve is the hardened HTTP server minato's long-running
// processes listen with: timeouts on every phase of a request, a bound on
// connections that evicts stalled ones rather than refusing newcomers (so
// that a slow-loris client cannot keep /healthz from answering), a bound
// on requests in flight, TLS 1.2+ with optional client certificates and
// certificate files re-read when they change.
package httpserve
