package jobapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/jobapi"
	"github.com/minato-ops/minato/job/jobtest"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// defs is a scheduler.Definitions: a definition is the network's name;
// its units a (a minute long) then b; "bad" does not build.
type defs struct{}

func (defs) Entry(def []byte) (scheduler.Entry, error) {
	name := string(def)
	if name == "bad" {
		return scheduler.Entry{}, errors.New("units[0].run.image: required")
	}
	return scheduler.Entry{Name: name, Overlap: scheduler.OverlapSkip, Definition: def, Build: build}, nil
}

func build(def []byte, _ string) (*job.Network, error) {
	return &job.Network{Name: string(def), Units: []job.Unit{
		{Name: "a", Action: &jobtest.Sleeper{D: time.Minute}},
		{Name: "b", Needs: []string{"a"}, Action: &jobtest.Sleeper{}},
	}}, nil
}

// serve runs a scheduler with the network "nightly" and its API on a
// loopback test server.
func serve(t *testing.T, opts ...jobapi.Option) (*httptest.Server, *scheduler.Scheduler) {
	t.Helper()
	st := scheduler.NewMemStore()
	s, err := scheduler.New(scheduler.Config{Queues: []scheduler.QueueConfig{{Name: "batch", Concurrency: 1}}}, st, st, scheduler.WithDefinitions(defs{}))
	require.NoError(t, err)
	require.NoError(t, s.Add(scheduler.Entry{Name: "nightly", Definition: []byte("nightly"), Build: build}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	h, err := jobapi.NewHandler(s, jobapi.Config{MaxRequestBody: 1 << 10}, opts...)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		require.NoError(t, <-done)
	})
	return srv, s
}

func client(t *testing.T, srv *httptest.Server, opts ...jobapi.ClientOption) *jobapi.Client {
	t.Helper()
	c, err := jobapi.NewClient(srv.URL, opts...)
	require.NoError(t, err)
	return c
}

func TestClientAndHandler(t *testing.T) {
	srv, _ := serve(t)
	c := client(t, srv)
	ctx := context.Background()

	rec, created, err := c.Submit(ctx, jobapi.SubmitRequest{Network: "nightly", Hold: []string{"b"}, ID: "nightly@one"})
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, "nightly@one", rec.ID)
	assert.Nil(t, rec.Definition, "definitions are never sent")

	again, created, err := c.Submit(ctx, jobapi.SubmitRequest{Network: "nightly", ID: "nightly@one"})
	require.NoError(t, err)
	assert.False(t, created, "an existing ID is returned, not submitted again")
	assert.Equal(t, rec.ID, again.ID)

	got, err := c.Run(ctx, rec.ID)
	require.NoError(t, err)
	b, _ := got.Report.Unit("b")
	assert.Equal(t, job.Held, b.State)

	_, err = c.Control(ctx, rec.ID, "a", "release")
	require.ErrorIs(t, err, job.ErrState, "a is not held: 409")
	var ae *jobapi.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusConflict, ae.Status)
	assert.Equal(t, "conflict", ae.Code)

	_, err = c.Control(ctx, rec.ID, "zz", "hold")
	require.ErrorIs(t, err, job.ErrNotFound, "a unit the run does not have, in the URL: 404")

	_, _, err = c.Submit(ctx, jobapi.SubmitRequest{Network: "nightly", Hold: []string{"zzz"}})
	require.ErrorIs(t, err, job.ErrInvalid, "a unit the network does not have, in the body: 400")
	assert.Contains(t, err.Error(), `has no unit "zzz" (units: a, b)`)

	_, _, err = c.Submit(ctx, jobapi.SubmitRequest{Network: "nightly"})
	require.ErrorIs(t, err, job.ErrState, "overlap skip while nightly@one runs: 409")

	_, _, err = c.Submit(ctx, jobapi.SubmitRequest{Definition: "bad"})
	require.ErrorIs(t, err, job.ErrInvalid)
	assert.Contains(t, err.Error(), "units[0].run.image: required")

	adhoc, created, err := c.Submit(ctx, jobapi.SubmitRequest{Definition: "adhoc"})
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, "adhoc", adhoc.Network)

	_, err = c.Run(ctx, "nope@1")
	require.ErrorIs(t, err, job.ErrNotFound)

	cancelled, err := c.Cancel(ctx, rec.ID)
	require.NoError(t, err)
	assert.Equal(t, rec.ID, cancelled.ID)
	require.Eventually(t, func() bool {
		r, err := c.Run(ctx, rec.ID)
		return err == nil && r.Finished()
	}, 5*time.Second, 10*time.Millisecond)
	re, err := c.Rerun(ctx, rec.ID)
	require.NoError(t, err)
	assert.Equal(t, rec.ID+".rerun1", re.ID)

	runs, err := c.Runs(ctx, scheduler.RunFilter{Network: "nightly"})
	require.NoError(t, err)
	require.NotEmpty(t, runs)
	for _, r := range runs {
		for _, u := range r.Report.Units {
			assert.Empty(t, u.Output, "lists carry no unit output")
		}
	}
	qs, err := c.Queues(ctx)
	require.NoError(t, err)
	assert.Len(t, qs, 2)
	q, err := c.QueueControl(ctx, "batch", "stop")
	require.NoError(t, err)
	assert.True(t, q.Stopped)
	_, err = c.QueueControl(ctx, "nope", "stop")
	require.ErrorIs(t, err, job.ErrNotFound)
	nets, err := c.Networks(ctx)
	require.NoError(t, err)
	assert.Len(t, nets, 2, "nightly and the submitted adhoc")
}

// raw sends one request to srv and returns the answer's status, headers
// and body.
func raw(t *testing.T, srv *httptest.Server, method, path, body string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	h := resp.Header.Clone()
	if resp.Close {
		h.Set("Connection", "close") // the client consumes the header itself
	}
	return resp.StatusCode, h, string(b)
}

func TestHandlerGuard(t *testing.T) {
	json := map[string]string{"Content-Type": "application/json"}
	t.Run("no token: loopback only, Host checked", func(t *testing.T) {
		srv, _ := serve(t)
		st, _, body := raw(t, srv, "GET", "/api/v1/runs", "", map[string]string{"Host": "evil.example"})
		assert.Equal(t, http.StatusForbidden, st, "DNS rebinding: a page of evil.example resolving to 127.0.0.1 reads nothing")
		assert.Contains(t, body, `"code":"forbidden"`)
		st, _, _ = raw(t, srv, "GET", "/api/v1/runs/x", "", map[string]string{"Host": "evil.example:9464"})
		assert.Equal(t, http.StatusForbidden, st)
		st, _, _ = raw(t, srv, "GET", "/api/v1/runs", "", map[string]string{"Host": "localhost:9464"})
		assert.Equal(t, http.StatusOK, st)
		st, _, _ = raw(t, srv, "POST", "/api/v1/runs", `{"network":"nightly"}`, map[string]string{"Content-Type": "text/plain"})
		assert.Equal(t, http.StatusUnsupportedMediaType, st, "a cross-origin form post cannot set JSON")
	})
	t.Run("token", func(t *testing.T) {
		srv, _ := serve(t, jobapi.WithToken("s3cret"))
		for _, auth := range []string{"", "Bearer wrong", "Basic s3cret", "s3cret"} {
			st, h, body := raw(t, srv, "GET", "/api/v1/runs/x", "", map[string]string{"Authorization": auth})
			assert.Equal(t, http.StatusUnauthorized, st, "Authorization %q", auth)
			assert.Equal(t, `Bearer realm="minato"`, h.Get("WWW-Authenticate"))
			assert.Equal(t, "close", h.Get("Connection"), "a refused client does not keep the connection")
			assert.NotContains(t, body, "s3cret")
		}
		for _, auth := range []string{"Bearer s3cret", "bearer s3cret", "BEARER  s3cret "} {
			st, _, _ := raw(t, srv, "GET", "/api/v1/runs", "", map[string]string{"Authorization": auth})
			assert.Equal(t, http.StatusOK, st, "Authorization %q: the scheme is case-insensitive", auth)
		}
		st, _, _ := raw(t, srv, "GET", "/api/v1/runs", "", map[string]string{"Authorization": "Bearer s3cret", "Host": "evil.example"})
		assert.Equal(t, http.StatusOK, st, "with a token the Host does not matter")
		_, err := client(t, srv).Queues(context.Background())
		require.ErrorIs(t, err, jobapi.ErrUnauthorized)
		_, err = client(t, srv, jobapi.WithClientToken("s3cret")).Queues(context.Background())
		require.NoError(t, err)
	})
	t.Run("bodies", func(t *testing.T) {
		srv, _ := serve(t)
		for _, tc := range []struct {
			body string
			want int
			text string
		}{
			{`{"network":"nightly"} garbage`, 400, "exactly one JSON value"},
			{`{"network":"nightly"}{"network":"x"}`, 400, "exactly one JSON value"},
			{`{"network":"nightly","extra":1}`, 400, "unknown field"},
			{`{"network":"nightly","definition":"x"}`, 400, "not both"},
			{`{}`, 400, "give definition"},
			{`{"network":"nightly","id":"a b"}`, 400, "want up to 200 letters"},
			{`{"network":"` + strings.Repeat("x", 2000) + `"}`, 413, "over 1024 bytes"},
			{`[`, 400, "request body"},
			{`{"network":"nope"}`, 404, `no network \"nope\"`},
		} {
			st, _, body := raw(t, srv, "POST", "/api/v1/runs", tc.body, json)
			assert.Equal(t, tc.want, st, tc.body)
			assert.Contains(t, body, tc.text, tc.body)
		}
		st, _, body := raw(t, srv, "GET", "/api/v1/nope", "", nil)
		assert.Equal(t, http.StatusNotFound, st)
		assert.Contains(t, body, "no route")
		st, hdr, body := raw(t, srv, "DELETE", "/api/v1/runs", "", nil)
		assert.Equal(t, http.StatusMethodNotAllowed, st)
		assert.Equal(t, "GET, POST", hdr.Get("Allow"))
		assert.Contains(t, body, `"code": "method_not_allowed"`)
		st, _, body = raw(t, srv, "PUT", "/api/v1/runs/x/cancel", "", nil)
		assert.Equal(t, http.StatusMethodNotAllowed, st)
		assert.Contains(t, body, "use POST")
		st, _, _ = raw(t, srv, "DELETE", "/api/v1/nothing/here", "", nil)
		assert.Equal(t, http.StatusNotFound, st)
		st, _, _ = raw(t, srv, "GET", "/api/v1/runs?limit=-1", "", nil)
		assert.Equal(t, http.StatusBadRequest, st)
	})
}

func TestClientUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := jobapi.NewClient(url)
	require.NoError(t, err)
	_, err = c.Run(context.Background(), "x")
	var ue *jobapi.UnreachableError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, url, ue.URL)
	_, err = jobapi.NewClient("ftp://x")
	require.Error(t, err)
	_, err = jobapi.NewClient("127.0.0.1:9464")
	require.NoError(t, err, "a URL without a scheme is http")
}
