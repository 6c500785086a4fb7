package jobapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/minato-ops/minato/internal/httpguard"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
)

// Config is the data part of a [Handler]'s settings.
type Config struct {
	// MaxRequestBody bounds a request's body in bytes (a submitted job
	// file); 0 means DefaultMaxRequestBody (4 MiB). A larger body is
	// refused with 413.
	MaxRequestBody int64 `json:"max_request_body,omitempty"`
}

// Option configures optional collaborators of a [Handler].
type Option func(*Handler)

// WithToken requires every request to carry token as "Authorization:
// Bearer <token>". Without a token the Handler answers only requests that
// arrived on a loopback address with a loopback Host header (against DNS
// rebinding): serve it on a non-loopback address only with a token, and
// with TLS.
func WithToken(token string) Option { return func(h *Handler) { h.guard.Token = token } }

// WithLogger logs every control (submit, hold, release, skip, stop,
// cancel, rerun, queue stop and start) at info with the remote address,
// and refused requests at warn. Default: silent. The token is never
// logged.
func WithLogger(l *slog.Logger) Option {
	return func(h *Handler) {
		if l != nil {
			h.log, h.guard.Log = l, l
		}
	}
}

// Handler serves minato's job API over a [scheduler.Scheduler]:
//
//	GET  /api/v1/jobnets                           the networks: schedule, next due, queue, runs not finished
//	GET  /api/v1/queues                            the queues
//	POST /api/v1/queues/{name}/stop|start          stop or start a queue
//	GET  /api/v1/runs[?network=N&limit=K&unfinished=true]   runs, newest first, without unit output
//	POST /api/v1/runs                              submit (a SubmitRequest): 201 created, 200 existing ID
//	GET  /api/v1/runs/{id}                         one run, with unit output
//	POST /api/v1/runs/{id}/units/{unit}/hold|release|skip|stop
//	POST /api/v1/runs/{id}/cancel                  end a run
//	POST /api/v1/runs/{id}/rerun                   rerun what did not succeed: 201
//
// Answers are JSON; errors are an [ErrorBody] with the status [Status]
// gives. Every route reveals or changes state, so every route is guarded
// (see [WithToken]); POST routes also need Content-Type
// application/json, which keeps browsers on other origins out. A body
// must hold exactly one JSON value, with no unknown keys, within
// Config.MaxRequestBody. Run records never include their definition.
// Safe for concurrent use.
type Handler struct {
	s     *scheduler.Scheduler
	cfg   Config
	log   *slog.Logger
	guard httpguard.Guard
	mux   *http.ServeMux
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns the Handler of s. It fails when s is nil or cfg is
// invalid.
func NewHandler(s *scheduler.Scheduler, cfg Config, opts ...Option) (*Handler, error) {
	if s == nil {
		return nil, errors.New("jobapi: nil scheduler")
	}
	if cfg.MaxRequestBody < 0 {
		return nil, fmt.Errorf("jobapi: max_request_body: %d: want 0 (default %d) or more", cfg.MaxRequestBody, DefaultMaxRequestBody)
	}
	if cfg.MaxRequestBody == 0 {
		cfg.MaxRequestBody = DefaultMaxRequestBody
	}
	h := &Handler{s: s, cfg: cfg, log: slog.New(slog.DiscardHandler), mux: http.NewServeMux()}
	for _, o := range opts {
		o(h)
	}
	h.routes()
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// apiFunc handles one route: it returns the answer and its status, or an
// error mapped by Status.
type apiFunc func(r *http.Request) (any, int, error)

func (h *Handler) routes() {
	get := func(pattern string, f apiFunc) { h.mux.Handle("GET "+Prefix+pattern, h.wrap(false, f)) }
	post := func(pattern string, f apiFunc) { h.mux.Handle("POST "+Prefix+pattern, h.wrap(true, f)) }
	get("/jobnets", func(*http.Request) (any, int, error) { return nonNil(h.s.Networks()), http.StatusOK, nil })
	get("/queues", func(*http.Request) (any, int, error) { return nonNil(h.s.Queues()), http.StatusOK, nil })
	post("/queues/{name}/{action}", h.queueControl)
	get("/runs", h.listRuns)
	post("/runs", h.submit)
	get("/runs/{id}", func(r *http.Request) (any, int, error) { return h.run(r, r.PathValue("id"), http.StatusOK) })
	post("/runs/{id}/units/{unit}/{action}", h.unitControl)
	post("/runs/{id}/cancel", h.cancel)
	post("/runs/{id}/rerun", h.rerun)
	// Anything else under the prefix: a JSON 404, after the guard (an
	// unauthorised client learns nothing about the routes).
	noRoute := func(r *http.Request) (any, int, error) {
		return nil, 0, fmt.Errorf("no route %s %s: %w", r.Method, r.URL.Path, job.ErrNotFound)
	}
	get("/", noRoute)
	post("/", noRoute)
	// Other methods: 405 with the methods the path has, or 404, as JSON.
	h.mux.Handle(Prefix+"/", h.wrap(false, func(r *http.Request) (any, int, error) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			r2 := r.Clone(r.Context())
			r2.Method = m
			if _, pattern := h.mux.Handler(r2); pattern != m+" "+Prefix+"/" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			return noRoute(r)
		}
		return nil, 0, &methodError{r.Method, allow}
	}))
}

// methodError is a method the path does not take: 405, with Allow.
type methodError struct {
	method string
	allow  []string
}

func (e *methodError) Error() string {
	return fmt.Sprintf("method %s not allowed here: use %s", e.method, strings.Join(e.allow, " or "))
}

// wrap guards f, bounds and checks the body of a control, and writes the
// answer.
func (h *Handler) wrap(control bool, f apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rf *httpguard.Refusal
		if control {
			rf = h.guard.Write(r)
		} else {
			rf = h.guard.Read(r)
		}
		if rf != nil {
			httpguard.WriteRefusal(w, rf)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxRequestBody)
		body, status, err := f(r)
		var me *methodError
		if errors.As(err, &me) {
			w.Header().Set("Allow", strings.Join(me.allow, ", "))
			writeJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: err.Error(), Code: code(http.StatusMethodNotAllowed)})
			return
		}
		if err != nil {
			st := Status(err)
			if st == http.StatusInternalServerError {
				h.log.Error("job API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeJSON(w, st, ErrorBody{Error: err.Error(), Code: code(st)})
			return
		}
		writeJSON(w, status, body)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"cannot encode the answer","code":"internal"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// nonNil makes an empty list [] in JSON rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// decodeBody reads r's body into v: exactly one JSON value with no
// unknown keys; an empty body leaves v as it is.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("request body over %d bytes: %w", mbe.Limit, err)
		}
		return job.Invalidf("request body: %v", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return job.Invalidf("request body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return job.Invalidf("request body: want exactly one JSON value, found more after it")
	}
	return nil
}

// validRunID accepts the characters of the scheduler's own IDs, which are
// safe in paths, labels and logs.
func validRunID(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@' || c == ':' || c == '+') {
			return false
		}
	}
	return true
}

// run answers one run's record without its definition.
func (h *Handler) run(r *http.Request, id string, status int) (any, int, error) {
	rec, err := h.s.Get(r.Context(), id)
	if err != nil {
		return nil, 0, err
	}
	rec.Definition = nil
	return rec, status, nil
}

func (h *Handler) submit(r *http.Request) (any, int, error) {
	var req SubmitRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, 0, err
	}
	switch {
	case req.Definition != "" && req.Network != "":
		return nil, 0, job.Invalidf("give definition (a job file's text) or network (a configured network's name), not both")
	case req.Definition == "" && req.Network == "":
		return nil, 0, job.Invalidf("give definition (a job file's text) or network (a configured network's name)")
	case req.ID != "" && !validRunID(req.ID):
		return nil, 0, job.Invalidf("id %q: want up to 200 letters, digits and . _ - @ : +", req.ID)
	}
	o := scheduler.SubmitOptions{Hold: req.Hold, ID: req.ID}
	if req.Definition != "" {
		o.Definition = []byte(req.Definition)
	}
	rec, created, err := h.s.Submit(r.Context(), req.Network, o)
	if err != nil {
		return nil, 0, err
	}
	h.log.Info("job control", "action", "submit", "run", rec.ID, "network", rec.Network, "created", created, "hold", req.Hold, "remote", r.RemoteAddr)
	rec.Definition = nil
	if !created {
		return rec, http.StatusOK, nil
	}
	return rec, http.StatusCreated, nil
}

func (h *Handler) listRuns(r *http.Request) (any, int, error) {
	q := r.URL.Query()
	f := scheduler.RunFilter{Network: q.Get("network")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, 0, job.Invalidf("limit %q: want a whole number, 0 for every run", v)
		}
		f.Limit = n
	}
	if v := q.Get("unfinished"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, 0, job.Invalidf("unfinished %q: want true or false", v)
		}
		f.Unfinished = b
	}
	recs, err := h.s.History(r.Context(), f)
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

func (h *Handler) unitControl(r *http.Request) (any, int, error) {
	id, unit, action := r.PathValue("id"), r.PathValue("unit"), r.PathValue("action")
	if err := decodeBody(r, &struct{}{}); err != nil {
		return nil, 0, err
	}
	var err error
	switch action {
	case "hold":
		err = h.s.Hold(r.Context(), id, unit)
	case "release":
		err = h.s.Release(r.Context(), id, unit)
	case "skip":
		err = h.s.Skip(r.Context(), id, unit)
	case "stop":
		err = h.s.Stop(r.Context(), id, unit)
	default:
		return nil, 0, fmt.Errorf("unknown unit control %q: want hold, release, skip or stop: %w", action, job.ErrNotFound)
	}
	if err != nil {
		return nil, 0, err
	}
	h.log.Info("job control", "action", action, "run", id, "unit", unit, "remote", r.RemoteAddr)
	return h.run(r, id, http.StatusOK)
}

func (h *Handler) cancel(r *http.Request) (any, int, error) {
	id := r.PathValue("id")
	if err := decodeBody(r, &struct{}{}); err != nil {
		return nil, 0, err
	}
	if err := h.s.Cancel(r.Context(), id); err != nil {
		return nil, 0, err
	}
	h.log.Info("job control", "action", "cancel", "run", id, "remote", r.RemoteAddr)
	return h.run(r, id, http.StatusOK)
}

func (h *Handler) rerun(r *http.Request) (any, int, error) {
	id := r.PathValue("id")
	if err := decodeBody(r, &struct{}{}); err != nil {
		return nil, 0, err
	}
	rec, err := h.s.Rerun(r.Context(), id)
	if err != nil {
		return nil, 0, err
	}
	h.log.Info("job control", "action", "rerun", "run", id, "new_run", rec.ID, "remote", r.RemoteAddr)
	rec.Definition = nil
	return rec, http.StatusCreated, nil
}

func (h *Handler) queueControl(r *http.Request) (any, int, error) {
	name, action := r.PathValue("name"), r.PathValue("action")
	if err := decodeBody(r, &struct{}{}); err != nil {
		return nil, 0, err
	}
	var err error
	switch action {
	case "stop":
		err = h.s.StopQueue(r.Context(), name)
	case "start":
		err = h.s.StartQueue(r.Context(), name)
	default:
		return nil, 0, fmt.Errorf("unknown queue control %q: want stop or start: %w", action, job.ErrNotFound)
	}
	if err != nil {
		return nil, 0, err
	}
	h.log.Info("job control", "action", "queue "+action, "queue", name, "remote", r.RemoteAddr)
	for _, q := range h.s.Queues() {
		if q.Name == name {
			return q, http.StatusOK, nil
		}
	}
	return nil, 0, job.NotFound("queue", name)
}
