// Package httpguard decides who may use minato's HTTP APIs (the agent's
// status and job APIs, job/jobapi's handler): a bearer token when one is
// configured, otherwise the loopback interface only, with the Host header
// checked against DNS rebinding; and, for requests that change state, a
// JSON content type, which a browser cannot send to another origin
// without a CORS preflight that minato never answers (CSRF).
package httpguard
