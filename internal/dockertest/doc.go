// Package dockertest is minato's harness for integration tests against a
// real Docker Engine.
//
// It talks to the engine with the upstream Docker client
// (github.com/docker/docker/client) directly and deliberately does not
// import any minato package: the harness is the independent oracle that the
// code under test is checked against, so it must not share that code's bugs.
//
// # What it provides
//
//   - New connects to the local engine (DOCKER_HOST et al., API version
//     negotiated) and skips the test when no engine answers, or fails it when
//     MINATO_REQUIRE_DOCKER=1 (see RequireEnv), which CI sets.
//   - Image builds the test image once per test process: a FROM scratch
//     image whose only file is the static /testbox workload program
//     (internal/testbox) and whose ENTRYPOINT is ["/testbox"]. No registry
//     is needed; nothing is ever pulled.
//   - Run, WaitState and Network create labelled engine objects and register
//     t.Cleanup functions that remove them even when the test fails.
//   - Unreachable gives an endpoint that refuses connections, for error-path
//     tests; Sweep removes leftovers of crashed runs.
//
// # Labels
//
// Every container and network the harness creates carries LabelKey
// ("minato.test") set to the creating Harness's run ID, and NameLabelKey
// ("minato.test.name") set to the name of the test that created it. The test
// image carries LabelKey=image. Tests of different packages may run in
// parallel against one engine, so a test must only ever look at objects
// carrying its own run ID (Harness.RunID); only Sweep acts on every run.
//
// # Typical use
//
//	func TestSomething(t *testing.T) {
//		h := dockertest.New(t)
//		c := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
//		h.WaitState(t, c.ID, "running", 10*time.Second)
//		// ... exercise minato against c.ID using h.Host ...
//	}
package dockertest
