// Package jobapi is minato's job API as a library: a [Handler] that
// serves a [scheduler.Scheduler] over HTTP (submit runs, read them, hold,
// release, skip and force-stop units, cancel and rerun runs, stop and
// start queues) and the typed [Client] that calls it. Both share the
// request and response types and the mapping between error classes
// (job.ErrNotFound, job.ErrState, job.ErrInvalid, [ErrUnavailable]) and
// HTTP statuses, so that errors.Is works the same on both sides.
//
// The Handler is safe to expose only as documented: every route reveals
// or changes state, so it answers either requests carrying the bearer
// token ([WithToken]) or, without a token, requests that arrived on a
// loopback address with a loopback Host header (DNS rebinding cannot
// reach it). Controls need Content-Type application/json (no cross-origin
// form posts). Serve it with the timeouts and connection limits of a
// hardened http.Server, and with TLS on any address other than loopback:
// `minato agent` does (docs/security.md).
//
// # Usage
//
// Serving a scheduler:
//
//	h, err := jobapi.NewHandler(sched, jobapi.Config{}, jobapi.WithToken(token), jobapi.WithLogger(log))
//	if err != nil {
//		return err
//	}
//	mux.Handle(jobapi.Prefix+"/", h)
//
// Calling one:
//
//	c, err := jobapi.NewClient("https://agent.example:9464", jobapi.WithClientToken(token))
//	if err != nil {
//		return err
//	}
//	rec, _, err := c.Submit(ctx, jobapi.SubmitRequest{Network: "nightly", Hold: []string{"upload"}})
//	if errors.Is(err, job.ErrNotFound) {
//		// no such network
//	}
package jobapi
