package jobapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/job/scheduler"
)

// DefaultClientTimeout bounds each request of a [Client] made without
// WithHTTPClient.
const DefaultClientTimeout = 30 * time.Second

// maxAnswer bounds what a Client reads of an answer (a run with its
// units' output).
const maxAnswer = 64 << 20

// ClientOption configures a [Client].
type ClientOption func(*Client)

// WithClientToken sends token as "Authorization: Bearer <token>" with
// every request (reads included: runs hold their units' output).
func WithClientToken(token string) ClientOption { return func(c *Client) { c.token = token } }

// WithHTTPClient sends requests with hc (for TLS settings: a private CA,
// a client certificate) instead of a client with DefaultClientTimeout.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// Client calls a [Handler] over HTTP: the typed Go side of the job API,
// used by "minato jobnet". Its methods return the scheduler's types, and
// errors that wrap the same classes the server mapped to statuses
// (job.ErrNotFound, job.ErrState, job.ErrInvalid, ErrUnavailable,
// ErrUnauthorized) inside an *[Error], or an *[UnreachableError] when no
// answer came. Safe for concurrent use.
type Client struct {
	base  string // scheme://host[:port][/path], no trailing slash
	token string
	hc    *http.Client
}

// NewClient returns a Client of the API at baseURL ("http://127.0.0.1:9464",
// "https://agent.example:9464"; a URL without a scheme is taken as http).
func NewClient(baseURL string, opts ...ClientOption) (*Client, error) {
	raw := baseURL
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("jobapi: %q: want the agent's URL, such as http://127.0.0.1:9464", baseURL)
	}
	c := &Client{base: strings.TrimRight(u.String(), "/"), hc: &http.Client{Timeout: DefaultClientTimeout}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// URL returns the base URL requests go to.
func (c *Client) URL() string { return c.base }

// Error is an answer the server refused: its status, code and message.
// errors.Is matches the class of its status (see [Status]).
type Error struct {
	Status  int
	Code    string
	Message string
}

// Error returns the server's message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the class of the status: job.ErrNotFound for 404, and so
// on; nil for a status without one.
func (e *Error) Unwrap() error { return classOf(e.Status) }

// UnreachableError is a request that got no answer: the server is down,
// the address is wrong, the connection broke.
type UnreachableError struct {
	URL string
	Err error
}

// Error names the URL and the cause.
func (e *UnreachableError) Error() string { return fmt.Sprintf("%s unreachable: %v", e.URL, e.Err) }

// Unwrap returns the cause.
func (e *UnreachableError) Unwrap() error { return e.Err }

// do sends one request (body JSON when not nil) and decodes a 2xx answer
// into out; it returns the status.
func (c *Client) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("jobapi: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+Prefix+path, rd)
	if err != nil {
		return 0, fmt.Errorf("jobapi: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in UnreachableError already
		}
		return 0, &UnreachableError{URL: c.base, Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return resp.StatusCode, &UnreachableError{URL: c.base, Err: err}
	}
	if resp.StatusCode >= 400 {
		var eb ErrorBody
		if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
			eb.Error = fmt.Sprintf("%s answered %s: %s", c.base, resp.Status, strings.TrimSpace(string(b)))
		}
		return resp.StatusCode, &Error{Status: resp.StatusCode, Code: eb.Code, Message: eb.Error}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("jobapi: %s answered %s with a body that is not the expected JSON: %w", c.base, resp.Status, err)
		}
	}
	return resp.StatusCode, nil
}

// Call sends a request to another route of the agent under [Prefix] (its
// inventory and HA routes share the job API's token, TLS and errors):
// body, when not nil, is sent as JSON, and a 2xx answer is decoded into
// out (when not nil). Errors are those of the typed methods: an
// [*UnreachableError], or an [*Error] with the agent's status and message.
func (c *Client) Call(ctx context.Context, method, path string, body, out any) error {
	_, err := c.do(ctx, method, path, body, out)
	return err
}

func runPath(id string) string { return "/runs/" + url.PathEscape(id) }

// Submit submits a run (see [SubmitRequest]); created is false when
// req.ID named a run that exists, which is returned as it is.
func (c *Client) Submit(ctx context.Context, req SubmitRequest) (rec scheduler.RunRecord, created bool, err error) {
	status, err := c.do(ctx, http.MethodPost, "/runs", req, &rec)
	return rec, status == http.StatusCreated, err
}

// Run returns a run's record, with its units' output.
func (c *Client) Run(ctx context.Context, id string) (scheduler.RunRecord, error) {
	var rec scheduler.RunRecord
	_, err := c.do(ctx, http.MethodGet, runPath(id), nil, &rec)
	return rec, err
}

// Runs returns the runs f selects, newest first, without unit output.
func (c *Client) Runs(ctx context.Context, f scheduler.RunFilter) ([]scheduler.RunRecord, error) {
	q := url.Values{}
	if f.Network != "" {
		q.Set("network", f.Network)
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Unfinished {
		q.Set("unfinished", "true")
	}
	path := "/runs"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	recs := []scheduler.RunRecord{}
	_, err := c.do(ctx, http.MethodGet, path, nil, &recs)
	return recs, err
}

// Control applies a unit control, "hold", "release", "skip" or "stop",
// and returns the run's record after it.
func (c *Client) Control(ctx context.Context, id, unit, action string) (scheduler.RunRecord, error) {
	var rec scheduler.RunRecord
	_, err := c.do(ctx, http.MethodPost, runPath(id)+"/units/"+url.PathEscape(unit)+"/"+url.PathEscape(action), struct{}{}, &rec)
	return rec, err
}

// Cancel ends a run that has not finished and returns its record.
func (c *Client) Cancel(ctx context.Context, id string) (scheduler.RunRecord, error) {
	var rec scheduler.RunRecord
	_, err := c.do(ctx, http.MethodPost, runPath(id)+"/cancel", struct{}{}, &rec)
	return rec, err
}

// Rerun reruns a finished run's units that did not succeed, as a new run.
func (c *Client) Rerun(ctx context.Context, id string) (scheduler.RunRecord, error) {
	var rec scheduler.RunRecord
	_, err := c.do(ctx, http.MethodPost, runPath(id)+"/rerun", struct{}{}, &rec)
	return rec, err
}

// Queues returns the queues.
func (c *Client) Queues(ctx context.Context) ([]scheduler.QueueStatus, error) {
	qs := []scheduler.QueueStatus{}
	_, err := c.do(ctx, http.MethodGet, "/queues", nil, &qs)
	return qs, err
}

// QueueControl stops ("stop") or starts ("start") a queue and returns its
// state after it.
func (c *Client) QueueControl(ctx context.Context, name, action string) (scheduler.QueueStatus, error) {
	var q scheduler.QueueStatus
	_, err := c.do(ctx, http.MethodPost, "/queues/"+url.PathEscape(name)+"/"+url.PathEscape(action), struct{}{}, &q)
	return q, err
}

// Networks returns the networks the scheduler runs.
func (c *Client) Networks(ctx context.Context) ([]scheduler.EntryStatus, error) {
	ns := []scheduler.EntryStatus{}
	_, err := c.do(ctx, http.MethodGet, "/jobnets", nil, &ns)
	return ns, err
}
