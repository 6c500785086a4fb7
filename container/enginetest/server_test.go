package enginetest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/minato-ops/minato/container/enginetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const basic = "../testdata/engine/basic"

func get(t *testing.T, srv *enginetest.Server, method, path string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+srv.Addr()+path, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func TestRecordsUnversionedPath(t *testing.T) {
	srv := enginetest.NewServer(t, basic, enginetest.WithAPIVersion("1.44"))
	code, h, _ := get(t, srv, "GET", "/v1.44/containers/json?all=1&filters=%7B%7D")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "1.44", h.Get("Api-Version"))
	assert.Equal(t, "linux", h.Get("Ostype"))
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "GET", reqs[0].Method)
	assert.Equal(t, "/containers/json", reqs[0].Path)
	assert.Equal(t, "1.44", reqs[0].Version)
	assert.Equal(t, url.Values{"all": {"1"}, "filters": {"{}"}}, reqs[0].Query)
	assert.Equal(t, "GET /containers/json?all=1&filters=%7B%7D", reqs[0].String())
	srv.Reset()
	assert.Empty(t, srv.Requests())
}

func TestVersionBounds(t *testing.T) {
	srv := enginetest.NewServer(t, basic, enginetest.WithAPIVersion("1.41"))
	code, _, body := get(t, srv, "GET", "/v1.42/info")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "client version 1.42 is too new. Maximum supported API version is 1.41")
	code, _, body = get(t, srv, "GET", "/v1.12/info")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "too old")
	code, _, body = get(t, srv, "GET", "/version")
	assert.Equal(t, http.StatusOK, code)
	var v struct {
		APIVersion string `json:"ApiVersion"`
		Version    string
	}
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	assert.Equal(t, "1.41", v.APIVersion)
	assert.Equal(t, "28.5.2", v.Version)
}

func TestNotFoundShapes(t *testing.T) {
	srv := enginetest.NewServer(t, basic)
	code, h, body := get(t, srv, "GET", "/v1.51/containers/nope/json")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "application/json", h.Get("Content-Type"))
	assert.JSONEq(t, `{"message":"No such container: nope"}`, body)
	code, _, body = get(t, srv, "GET", "/v1.51/no/such/endpoint")
	assert.Equal(t, http.StatusNotFound, code)
	assert.JSONEq(t, `{"message":"page not found"}`, body)
}

func TestResolveRefs(t *testing.T) {
	srv := enginetest.NewServer(t, basic)
	for _, ref := range []string{"web-1", "%2Fweb-1", "e650e9015225", "e65", "e650e9015225f7f0974a07a27296c212b9d39e2033de5b78fdf551fec4b68da1"} {
		code, _, body := get(t, srv, "GET", "/containers/"+ref+"/json")
		assert.Equal(t, http.StatusOK, code, ref)
		assert.Contains(t, body, `"Name": "/web-1"`, ref)
	}
	code, _, _ := get(t, srv, "DELETE", "/containers/web-2")
	assert.Equal(t, http.StatusNoContent, code)
}

func TestListFilters(t *testing.T) {
	srv := enginetest.NewServer(t, basic)
	code, _, body := get(t, srv, "GET", "/containers/json?filters="+url.QueryEscape(`{"status":{"sleeping":true}}`))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "invalid filter 'status=sleeping'")
	code, _, body = get(t, srv, "GET", "/containers/json?filters="+url.QueryEscape(`{"name":{"web":true}}`))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "invalid filter 'name'")
	// The legacy filter format of API < 1.22 is understood too.
	code, _, body = get(t, srv, "GET", "/containers/json?all=true&filters="+url.QueryEscape(`{"label":["tier=back"]}`))
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"/db"`)
	assert.NotContains(t, body, `"/web-1"`)
}

func TestPrecedence(t *testing.T) {
	srv := enginetest.NewServer(t, basic, enginetest.WithHandler("DELETE", "/containers/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, r.PathValue("id"))
	}))
	// errors.json has an entry for this path, but WithHandler comes first.
	code, _, body := get(t, srv, "DELETE", "/v1.51/containers/1a3c428b1a2a3549586e1611cb67c404de850ec8f0e426e0f59f680a392fdfd1")
	assert.Equal(t, http.StatusTeapot, code)
	assert.Equal(t, "1a3c428b1a2a3549586e1611cb67c404de850ec8f0e426e0f59f680a392fdfd1", body)
	// Other methods still reach the built-in endpoints.
	code, _, _ = get(t, srv, "POST", "/v1.51/containers/db/stop")
	assert.Equal(t, http.StatusNoContent, code)
}

func TestErrorsFixture(t *testing.T) {
	srv := enginetest.NewServer(t, basic)
	code, h, body := get(t, srv, "DELETE", "/v1.51/containers/1a3c428b1a2a3549586e1611cb67c404de850ec8f0e426e0f59f680a392fdfd1")
	assert.Equal(t, http.StatusConflict, code)
	assert.Equal(t, "application/json", h.Get("Content-Type"))
	assert.Contains(t, body, "container is running")
	code, _, _ = get(t, srv, "DELETE", "/v1.51/containers/db")
	assert.Equal(t, http.StatusNoContent, code, "errors.json matches the path exactly")
}

func TestEmptyDirAndBadDir(t *testing.T) {
	srv := enginetest.NewServer(t, "")
	code, _, body := get(t, srv, "GET", "/containers/json?all=1")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, "[]", body)
	code, _, _ = get(t, srv, "HEAD", "/_ping")
	assert.Equal(t, http.StatusOK, code)
	code, _, body = get(t, srv, "GET", "/_ping")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "OK", body)

	_, err := enginetest.Start("no/such/dir")
	assert.ErrorContains(t, err, `"no/such/dir"`)
}

func TestEventsSinceUntil(t *testing.T) {
	srv := enginetest.NewServer(t, basic)
	_, _, body := get(t, srv, "GET", "/events?since=1735737600.25&until=1735737600.750000000")
	lines := strings.Split(strings.TrimSpace(body), "\n")
	require.Len(t, lines, 2, body)
	assert.Contains(t, lines[0], `"Action":"oom"`)
	assert.Contains(t, lines[1], `"Action":"die"`)
}
