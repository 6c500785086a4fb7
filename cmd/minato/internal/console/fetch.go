package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// apiError is a non-2xx answer of the API: its status and message.
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Msg) }

// denied reports whether the API refused the caller itself (401, 403):
// the whole view is refused then.
func (e *apiError) denied() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// fetcher calls the public API in-process with the original request's
// credentials (Authorization, Host, the connection's addresses), so that
// the API's guard decides as it would for the page's own call.
type fetcher struct {
	api  http.Handler
	orig *http.Request
	ctx  context.Context
}

// recorder is a minimal in-memory http.ResponseWriter.
type recorder struct {
	hdr    http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.hdr }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// get calls GET path (with query) and decodes the JSON answer into v. A
// non-2xx answer is an *apiError with the API's own message.
func (f *fetcher) get(path string, query url.Values, v any) error {
	u := &url.URL{Path: path}
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("console: request %s: %w", path, err)
	}
	req.Host = f.orig.Host
	req.RemoteAddr = f.orig.RemoteAddr
	req.TLS = f.orig.TLS
	if a := f.orig.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	req.Header.Set("Accept", "application/json")
	rec := &recorder{hdr: http.Header{}}
	f.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status < 200 || rec.status > 299 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(rec.body.String())
		if json.Unmarshal(rec.body.Bytes(), &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return &apiError{Status: rec.status, Msg: msg}
	}
	if err := json.Unmarshal(rec.body.Bytes(), v); err != nil {
		return fmt.Errorf("console: decoding %s: %w", path, err)
	}
	return nil
}

// section is the state of one data source of a view: empty when it
// answered, else why not. Off says the feature is not enabled on this
// agent (404).
type section struct {
	Off     bool   `json:"off,omitempty"`
	Message string `json:"message,omitempty"`
}

// sectionOf turns a fetch error into a section, or returns the error when
// the caller was refused (the whole view is).
func sectionOf(err error) (section, error) {
	if err == nil {
		return section{}, nil
	}
	if ae, ok := err.(*apiError); ok {
		if ae.denied() {
			return section{}, ae
		}
		return section{Off: ae.Status == http.StatusNotFound, Message: ae.Msg}, nil
	}
	return section{Message: err.Error()}, nil
}
