// Package enginetest is a fake Docker Engine for tests: an [httptest]
// server that answers the Engine API calls package container makes from
// JSON fixture files, and records every request so that tests can assert
// the exact request shape (path, query, body) the Docker client sent.
//
// It is test-only code: it is not an engine emulator, keeps no state beyond
// exec instances, and never changes the fixtures (stopping a container does
// not make it exited). Use the real engine for behaviour; use this package
// for exact, fast tests of request shape and of the mapping from the
// engine's JSON to minato's types.
//
// # Fixtures
//
// [NewServer] (or [Start], for examples and TestMain) reads these files
// from its directory at each request, so a test may write them after the
// server started. Every file is optional.
//
//	containers.json       GET /containers/json: a JSON array of the engine's
//	                      container summaries. The all query parameter and
//	                      the label and status filters are applied as the
//	                      engine does; other filters are rejected (400).
//	inspect_<id>.json     GET /containers/{ref}/json, where ref is the full
//	                      ID, a name (with or without "/") or a unique ID
//	                      prefix; unknown refs get the engine's 404
//	                      {"message":"No such container: ref"}.
//	top_<id>.json         GET /containers/{ref}/top (409 when the container
//	                      is not running, as the engine answers).
//	stats_<id>.json       GET /containers/{ref}/stats: one sample, or an
//	                      array of samples. stream=0 (with or without
//	                      one-shot=1) returns the first; stream=1 writes
//	                      them all, then ends the stream as if the
//	                      container were removed.
//	exec_<id>.json        the exec endpoints, see below.
//	events.jsonl          GET /events: one message per line, in time order.
//	                      since and until ("sec.nanosec", inclusive) and the
//	                      type, event, container, image, label and scope
//	                      filters are applied; the stream then ends, even
//	                      without until (a real engine keeps streaming).
//	info.json             GET /info.
//	version.json          GET /version (ApiVersion is replaced by the
//	                      server's API version).
//	errors.json           {"METHOD /path": {"status": 409, "message": "..."}}:
//	                      the request whose unversioned path is exactly
//	                      /path gets that status and the engine's JSON error
//	                      body instead of its normal answer.
//
// A container's ID and names come from containers.json and from the inspect
// files; its state from its inspect file's State.Status, else from
// containers.json. Lifecycle calls (POST start, stop, restart, kill, and
// DELETE) answer 204 for a known container, 404 otherwise.
//
// # Exec
//
// POST /containers/{ref}/exec creates an exec instance (409 when the
// container is not running) and returns its ID. POST /exec/{id}/start
// hijacks the connection and writes the fixture exec_<containerID>.json,
// {"stdout": "...", "stderr": "...", "exit_code": N, "echo_stdin": false},
// multiplexed as the engine does (raw when the exec has a TTY), then closes
// the connection. With echo_stdin the standard input the client sends, up
// to its half-close, is written to stdout after the fixture's stdout. GET
// /exec/{id}/json reports Running false and the exit code once started.
//
// # API version
//
// Every response carries the Api-Version and Ostype headers, /_ping answers
// HEAD and GET, and a request for a version above the server's (see
// [WithAPIVersion]) gets the engine's 400 "client version ... is too new".
// The version prefix ("/v1.41") is stripped before routing and recorded in
// [Request.Version].
package enginetest
