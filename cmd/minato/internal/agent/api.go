package agent

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
)

// MaxRequestBody bounds the body of a job API request (a job file).
const MaxRequestBody = 4 << 20

// badRequest marks an error as the client's: HTTP 400.
type badRequest struct{ error }

func (b badRequest) Unwrap() error { return b.error }

// SubmitRequest is the body of POST /api/v1/runs: a job file's text or a
// configured network's name.
type SubmitRequest struct {
	// Definition is the job file's text (YAML or JSON); the run is built
	// from it. A network of that name that is not configured is added
	// (no schedule, overlap allow, the queue the file names).
	Definition string `json:"definition,omitempty"`
	// Network names a configured network, run from its file.
	Network string `json:"network,omitempty"`
	// Hold lists units held from the start, until released.
	Hold []string `json:"hold,omitempty"`
	// ID, when set, makes the submission idempotent: an existing run with
	// that ID is returned (200) instead of a new one (201).
	ID string `json:"id,omitempty"`
}

// apiFunc handles a job API request with the scheduler; it returns the
// response body and status, or an error mapped to its status.
type apiFunc func(w http.ResponseWriter, r *http.Request, s *scheduler.Scheduler) (any, int, error)

func (a *Agent) jobsAPI(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/jobnets", a.api(false, func(_ http.ResponseWriter, _ *http.Request, s *scheduler.Scheduler) (any, int, error) {
		return nonNil(s.Networks()), http.StatusOK, nil
	}))
	mux.HandleFunc("GET /api/v1/queues", a.api(false, func(_ http.ResponseWriter, _ *http.Request, s *scheduler.Scheduler) (any, int, error) {
		return nonNil(s.Queues()), http.StatusOK, nil
	}))
	mux.HandleFunc("POST /api/v1/queues/{name}/{action}", a.api(true, a.queueControl))
	mux.HandleFunc("GET /api/v1/runs", a.api(false, a.readsOutput(a.listRuns)))
	mux.HandleFunc("POST /api/v1/runs", a.api(true, a.submitRun))
	mux.HandleFunc("GET /api/v1/runs/{id}", a.api(false, a.readsOutput(func(_ http.ResponseWriter, r *http.Request, s *scheduler.Scheduler) (any, int, error) {
		rec, err := s.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			return nil, 0, err
		}
		rec.Definition = nil
		return rec, http.StatusOK, nil
	})))
	mux.HandleFunc("POST /api/v1/runs/{id}/units/{unit}/{action}", a.api(true, a.unitControl))
	mux.HandleFunc("POST /api/v1/runs/{id}/cancel", a.api(true, func(_ http.ResponseWriter, r *http.Request, s *scheduler.Scheduler) (any, int, error) {
		id := r.PathValue("id")
		if err := s.Cancel(r.Context(), id); err != nil {
			return nil, 0, err
		}
		a.log.Info("job control", "action", "cancel", "run", id, "remote", r.RemoteAddr)
		rec, err := s.Get(r.Context(), id)
		if err != nil {
			return nil, 0, err
		}
		rec.Definition = nil
		return rec, http.StatusOK, nil
	}))
	mux.HandleFunc("POST /api/v1/runs/{id}/rerun", a.api(true, func(_ http.ResponseWriter, r *http.Request, _ *scheduler.Scheduler) (any, int, error) {
		id := r.PathValue("id")
		rec, err := a.jobs.rerun(r.Context(), id)
		if err != nil {
			return nil, 0, err
		}
		a.log.Info("job control", "action", "rerun", "run", id, "new_run", rec.ID, "remote", r.RemoteAddr)
		rec.Definition = nil
		return rec, http.StatusCreated, nil
	}))
}

// errNeedToken refuses to show runs (their units' output may hold
// anything the jobs print) without the token, when one is configured.
var errNeedToken = errors.New("reading runs needs the agent's token when api.token_file is set: Authorization: Bearer <the token>")

// readsOutput guards a handler that returns runs with their units'
// output: with a token configured, the request must carry it.
func (a *Agent) readsOutput(f apiFunc) apiFunc {
	return func(w http.ResponseWriter, r *http.Request, s *scheduler.Scheduler) (any, int, error) {
		if a.token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(a.token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="minato"`)
				return nil, 0, errNeedToken
			}
		}
		return f(w, r, s)
	}
}

// api wraps a job API handler: controls (POST) are authorised first, the
// scheduler is opened on first use, the result or error is written as
// JSON.
func (a *Agent) api(control bool, f apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if control {
			if code, err := a.authorise(r); err != nil {
				if code == http.StatusUnauthorized {
					w.Header().Set("WWW-Authenticate", `Bearer realm="minato"`)
				}
				writeJSON(w, code, map[string]string{"error": err.Error()})
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBody)
		}
		s, err := a.jobs.scheduler()
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "job scheduler unavailable: " + err.Error()})
			return
		}
		body, code, err := f(w, r, s)
		if err != nil {
			writeJSON(w, errorStatus(err), map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, code, body)
	}
}

// authorise checks a control request: a JSON content type (which a
// browser cannot send to another origin without asking first), then the
// bearer token when one is configured, else a loopback listener and Host
// (against DNS rebinding). It never logs the token.
func (a *Agent) authorise(r *http.Request) (int, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return http.StatusUnsupportedMediaType, errors.New("job controls need Content-Type: application/json")
	}
	if a.token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(a.token)) != 1 {
			a.log.Warn("job control refused: missing or wrong token", "path", r.URL.Path, "remote", r.RemoteAddr)
			return http.StatusUnauthorized, errors.New("job controls need the agent's token: Authorization: Bearer <the token in api.token_file>")
		}
		return 0, nil
	}
	if !isLoopback(a.cfg.Listen) {
		return http.StatusForbidden, fmt.Errorf("job controls are disabled: the agent listens on %s, which is not loopback, and api.token_file is not set", a.cfg.Listen)
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	if !isLoopbackHost(strings.Trim(host, "[]")) {
		return http.StatusForbidden, fmt.Errorf("the request's Host %q is not a loopback address: without api.token_file, job controls are accepted only for 127.0.0.1, ::1 or localhost", r.Host)
	}
	return 0, nil
}

func errorStatus(err error) int {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, errNeedToken):
		return http.StatusUnauthorized
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, new(badRequest)):
		return http.StatusBadRequest
	case errors.Is(err, job.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, job.ErrState):
		return http.StatusConflict
	case errors.Is(err, errStopping):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// nonNil makes an empty list [] in JSON rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// decodeBody reads a JSON request body into v; an empty body leaves v as
// it is. Unknown keys are errors.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest{fmt.Errorf("request body: %w", err)}
	}
	return nil
}

// validRunID accepts the characters of the scheduler's own IDs, which are
// safe in paths, labels and logs.
func validRunID(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@:+", r)) {
			return false
		}
	}
	return true
}

func (a *Agent) submitRun(_ http.ResponseWriter, r *http.Request, _ *scheduler.Scheduler) (any, int, error) {
	var req SubmitRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, 0, err
	}
	switch {
	case req.Definition != "" && req.Network != "":
		return nil, 0, badRequest{errors.New("give definition (a job file's text) or network (a configured network's name), not both")}
	case req.Definition == "" && req.Network == "":
		return nil, 0, badRequest{errors.New("give definition (a job file's text) or network (a configured network's name)")}
	case req.ID != "" && !validRunID(req.ID):
		return nil, 0, badRequest{fmt.Errorf("id %q: want up to 200 letters, digits and . _ - @ : +", req.ID)}
	}
	var def []byte
	if req.Definition != "" {
		def = []byte(req.Definition)
	}
	rec, created, err := a.jobs.submit(r.Context(), req.Network, def, scheduler.SubmitOptions{Hold: req.Hold, ID: req.ID})
	if err != nil {
		return nil, 0, err
	}
	a.log.Info("job control", "action", "submit", "run", rec.ID, "network", rec.Network, "created", created, "hold", req.Hold, "remote", r.RemoteAddr)
	rec.Definition = nil
	if !created {
		return rec, http.StatusOK, nil
	}
	return rec, http.StatusCreated, nil
}

func (a *Agent) listRuns(_ http.ResponseWriter, r *http.Request, s *scheduler.Scheduler) (any, int, error) {
	q := r.URL.Query()
	f := scheduler.RunFilter{Network: q.Get("network")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, 0, badRequest{fmt.Errorf("limit %q: want a whole number, 0 for every run", v)}
		}
		f.Limit = n
	}
	if v := q.Get("unfinished"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, 0, badRequest{fmt.Errorf("unfinished %q: want true or false", v)}
		}
		f.Unfinished = b
	}
	recs, err := s.History(r.Context(), f)
	if err != nil {
		return nil, 0, err
	}
	for i := range recs {
		recs[i].Definition = nil
		for k := range recs[i].Report.Units {
			recs[i].Report.Units[k].Output = ""
		}
	}
	return nonNil(recs), http.StatusOK, nil
}

func (a *Agent) unitControl(_ http.ResponseWriter, r *http.Request, s *scheduler.Scheduler) (any, int, error) {
	id, unit, action := r.PathValue("id"), r.PathValue("unit"), r.PathValue("action")
	if err := decodeBody(r, &struct{}{}); err != nil {
		return nil, 0, err
	}
	var err error
	switch action {
	case "hold":
		err = s.Hold(r.Context(), id, unit)
	case "release":
		err = s.Release(r.Context(), id, unit)
	case "skip":
		err = s.Skip(r.Context(), id, unit)
	case "stop":
		err = s.Stop(r.Context(), id, unit)
	default:
		return nil, 0, fmt.Errorf("unknown unit control %q: want hold, release, skip or stop: %w", action, job.ErrNotFound)
	}
	if err != nil {
		return nil, 0, err
	}
	a.log.Info("job control", "action", action, "run", id, "unit", unit, "remote", r.RemoteAddr)
	rec, err := s.Get(r.Context(), id)
	if err != nil {
		return nil, 0, err
	}
	rec.Definition = nil
	return rec, http.StatusOK, nil
}

func (a *Agent) queueControl(_ http.ResponseWriter, r *http.Request, s *scheduler.Scheduler) (any, int, error) {
	name, action := r.PathValue("name"), r.PathValue("action")
	if err := decodeBody(r, &struct{}{}); err != nil {
		return nil, 0, err
	}
	var err error
	switch action {
	case "stop":
		err = s.StopQueue(r.Context(), name)
	case "start":
		err = s.StartQueue(r.Context(), name)
	default:
		return nil, 0, fmt.Errorf("unknown queue control %q: want stop or start: %w", action, job.ErrNotFound)
	}
	if err != nil {
		return nil, 0, err
	}
	a.log.Info("job control", "action", "queue "+action, "queue", name, "remote", r.RemoteAddr)
	for _, q := range s.Queues() {
		if q.Name == name {
			return q, http.StatusOK, nil
		}
	}
	return nil, 0, fmt.Errorf("queue %q: %w", name, job.ErrNotFound)
}
