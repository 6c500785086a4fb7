package jobapi

import (
	"errors"
	"net/http"

	"github.com/minato-ops/minato/internal/httpguard"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
)

// Prefix is the path every route of the API starts with.
const Prefix = "/api/v1"

// DefaultMaxRequestBody is Config.MaxRequestBody when it is 0: a job file
// of 4 MiB.
const DefaultMaxRequestBody = 4 << 20

// SubmitRequest is the body of POST /api/v1/runs: a job file's text or a
// configured network's name.
type SubmitRequest struct {
	// Definition is the job file's text (YAML or JSON); the run is built
	// from it. A network of that name that the scheduler does not have is
	// added (no schedule, overlap allow, the queue the file names).
	Definition string `json:"definition,omitempty"`
	// Network names a configured network, run from its file.
	Network string `json:"network,omitempty"`
	// Hold lists units held from the start, until released.
	Hold []string `json:"hold,omitempty"`
	// ID, when set, makes the submission idempotent: an existing run with
	// that ID is returned (200) instead of a new one (201). Up to 200
	// letters, digits and . _ - @ : +.
	ID string `json:"id,omitempty"`
}

// ErrorBody is the JSON body of every error answer.
type ErrorBody struct {
	// Error is the operator-facing message.
	Error string `json:"error"`
	// Code is the machine-readable class: "invalid" (400),
	// "unauthorized" (401), "forbidden" (403), "not_found" (404),
	// "method_not_allowed" (405), "conflict" (409), "too_large" (413),
	// "unsupported_media_type" (415), "unavailable" (503), "internal"
	// (500).
	Code string `json:"code"`
}

// ErrUnavailable is wrapped by errors that say the scheduler cannot take
// the request now (it is stopping, or its store fails): HTTP 503. A
// retry later may succeed. It is scheduler.ErrUnavailable.
var ErrUnavailable = scheduler.ErrUnavailable

// ErrUnauthorized is wrapped by a [Client]'s errors for a 401 or 403
// answer: the token is missing or wrong, or the agent takes requests from
// loopback only.
var ErrUnauthorized = errors.New("jobapi: not authorised")

// Status returns the HTTP status of an error from the scheduler or the
// request: 400 for job.ErrInvalid, 404 for job.ErrNotFound, 409 for
// job.ErrState, 413 for a body over the limit, 503 for ErrUnavailable, 500
// otherwise. [Client] maps statuses back to the same errors, so that
// errors.Is works on both sides.
func Status(err error) int {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, job.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, job.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, job.ErrState):
		return http.StatusConflict
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// classOf is the error class a status stands for, the inverse of Status.
func classOf(status int) error {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return job.ErrInvalid
	case http.StatusNotFound:
		return job.ErrNotFound
	case http.StatusConflict:
		return job.ErrState
	case http.StatusServiceUnavailable:
		return ErrUnavailable
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrUnauthorized
	}
	return nil
}

// code is the ErrorBody code of a status.
func code(status int) string { return httpguard.Code(status) }
