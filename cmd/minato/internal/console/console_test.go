package console

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/internal/httpguard"
)

// serve mounts a Console over api on a loopback test server.
func serve(t testing.TB, api http.Handler, guard *httpguard.Guard, opts ...Option) *httptest.Server {
	t.Helper()
	c, err := New(Config{}, api, guard, opts...)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", api)
	c.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t testing.TB, srv *httptest.Server, path string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestViews(t *testing.T) {
	api := newFakeAPI(12, 3)
	srv := serve(t, api, api.guard, WithGraph(fakeGraph))
	for _, v := range viewNames() {
		code, body := get(t, srv, "/console/"+v)
		require.Equal(t, http.StatusOK, code, "%s: %s", v, body)
		has(t, body, `data-view="`+v+`"`)
		code, body = get(t, srv, "/api/v1/console/"+v)
		require.Equal(t, http.StatusOK, code, "%s twin: %s", v, body)
		assert.True(t, json.Valid([]byte(body)), v)
		code, _ = get(t, srv, "/api/v1/console/"+v+"?format=html")
		assert.Equal(t, http.StatusOK, code, v)
	}
	_, body := get(t, srv, "/")
	has(t, body, "app-011")
	has(t, body, "12 shown of 12")
	_, body = get(t, srv, "/console/estate?q=label:tier=db+state:running")
	has(t, body, "app-004")
	hasNot(t, body, "app-003")
	_, body = get(t, srv, "/console/jobs?run=net-01@1")
	has(t, body, `data-ctl="unit-release" data-run="net-01@1" data-unit="c"`, "a held unit offers release")
	has(t, body, `class="node st-crit" data-unit="b" data-state="failed"`, "a failed unit is red")
	has(t, body, "✗ failed", "and says so")
	_, body = get(t, srv, "/console/jobs?run=net-01@1&lang=ja")
	has(t, body, "保留解除")
	has(t, body, "異常終了")
	_, body = get(t, srv, "/console/apps")
	has(t, body, "Not enabled on this agent: this agent does not serve /api/v1/apps")
	code, body := get(t, srv, "/api/v1/console/nope")
	assert.Equal(t, http.StatusNotFound, code)
	has(t, body, "want one of estate, checks, jobs, ha, images, apps, diag")
	code, _ = get(t, srv, "/console/static/console.js")
	assert.Equal(t, http.StatusOK, code)

	var jv JobsView
	_, body = get(t, srv, "/api/v1/console/jobs?run=net-00@1")
	require.NoError(t, json.Unmarshal([]byte(body), &jv))
	require.NotNil(t, jv.Detail)
	assert.Equal(t, []string{"stop"}, jv.Detail.Units[1].Controls)
	assert.Equal(t, []string{"cancel"}, jv.Detail.Controls)
	assert.Len(t, jv.Detail.Graph.Edges, 4)
}

// TestHostileNames: container names, labels and run output that hold
// markup, quotes and javascript: URLs are shown as text.
func TestHostileNames(t *testing.T) {
	api := newFakeAPI(3, 1)
	hostile := []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(2)>`, `javascript:alert(3)`}
	api.name = func(i int) string { return hostile[i] }
	api.labels = func(i int) map[string]string {
		return map[string]string{"url": "javascript:alert(4)", `"onmouseover="alert(5)`: `'</style><script>alert(6)</script>`}
	}
	srv := serve(t, api, api.guard)
	for _, path := range []string{"/", "/api/v1/console/estate?format=html", "/console/checks", "/console/estate?q=%3Cscript%3E"} {
		_, body := get(t, srv, path)
		for _, bad := range []string{"<script>alert", "<img src=x", `"onmouseover="`, "</style><script>", `href="javascript:`} {
			hasNot(t, body, bad, path)
		}
	}
	_, body := get(t, srv, "/")
	has(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;")
	has(t, body, "javascript:alert(3)", "shown as text")
	_, body = get(t, srv, "/api/v1/console/estate")
	has(t, body, `\u003cscript\u003e`, "JSON escapes markup too")
}

// TestToken: with a token the page is served without data and the token
// form, the twin answers only with the token; the console never puts the
// token in a page.
func TestToken(t *testing.T) {
	api := newFakeAPI(2, 1)
	api.guard = &httpguard.Guard{Token: "s3cret"}
	srv := serve(t, api, api.guard)
	code, body := get(t, srv, "/")
	assert.Equal(t, http.StatusOK, code)
	has(t, body, `data-locked="1"`)
	has(t, body, "this API needs the agent&#39;s token")
	hasNot(t, body, "app-000")
	code, body = get(t, srv, "/api/v1/console/estate?format=html")
	assert.Equal(t, http.StatusUnauthorized, code)
	has(t, body, `"code":"unauthorized"`)
	code, body = get(t, srv, "/api/v1/console/estate?format=html", "Authorization", "Bearer s3cret")
	assert.Equal(t, http.StatusOK, code)
	has(t, body, "app-000")
	hasNot(t, body, "s3cret")
	code, _ = get(t, srv, "/console/static/console.css")
	assert.Equal(t, http.StatusOK, code, "static assets are open")
}

func TestSecurityHeaders(t *testing.T) {
	api := newFakeAPI(1, 0)
	srv := serve(t, api, api.guard)
	resp, err := srv.Client().Get(srv.URL + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self'")
	assert.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
}

func TestLayout(t *testing.T) {
	units, _ := fakeGraph(t.Context(), "", "")
	g := Layout(units, map[string]unitInfo{"b": {State: "failed"}})
	layers := map[string]int{}
	for _, n := range g.Nodes {
		layers[n.Name] = n.Layer
	}
	assert.Equal(t, map[string]int{"a": 0, "b": 1, "c": 1, "d": 2}, layers, "longest path")
	assert.Len(t, g.Edges, 4)
	assert.Equal(t, 2*pad+3*(nodeW+gapX)-gapX, g.Width)

	// A long chain next to a shortcut: e needs a and d; d is at layer 3.
	g = Layout([]GraphUnit{{Name: "a"}, {Name: "b", Needs: []string{"a"}}, {Name: "c", Needs: []string{"b"}}, {Name: "d", Needs: []string{"c"}}, {Name: "e", Needs: []string{"a", "d"}}}, nil)
	assert.Equal(t, 4, g.Nodes[len(g.Nodes)-1].Layer)

	// Cycles, self-needs, unknown needs and duplicates do not break it.
	g = Layout([]GraphUnit{{Name: "x", Needs: []string{"y", "x", "zz"}}, {Name: "y", Needs: []string{"x"}}, {Name: "x"}}, nil)
	assert.Len(t, g.Nodes, 2)
	assert.Empty(t, Layout(nil, nil).Nodes)
}

func TestParseFilter(t *testing.T) {
	f, err := ParseFilter(`web label:tier=db label:team scope:prod state:Running "name:two words"`)
	require.NoError(t, err)
	assert.Equal(t, Filter{Names: []string{"web", "two words"}, Labels: map[string]string{"tier": "db", "team": ""}, Scopes: []string{"prod"}, States: []string{"running"}}, f)
	assert.True(t, f.Match("my-WEB-1", "running", map[string]string{"tier": "db", "team": "x"}, []string{"prod"}))
	assert.False(t, f.Match("my-web-1", "exited", map[string]string{"tier": "db", "team": "x"}, []string{"prod"}))
	assert.False(t, f.Match("my-web-1", "running", map[string]string{"tier": "db"}, []string{"prod"}))
	for in, want := range map[string]string{
		"label:":                         "needs a value",
		"label:=x":                       "want KEY or KEY=VALUE",
		"colour:red":                     `unknown key "colour"`,
		`"unclosed`:                      "not closed",
		"\xff":                           "UTF-8",
		strings.Repeat("a", MaxFilter+1): "want at most",
	} {
		_, err := ParseFilter(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
	}
	f, err = ParseFilter("  ")
	require.NoError(t, err)
	assert.True(t, f.Empty())
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "web", `label:a=b "x y" state:running`, `"`, "label:=", "scope:a:b", "name:\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			return
		}
		_ = flt.Match(s, s, map[string]string{s: s}, []string{s})
		// Every parsed name is lower case, so that matching ignores case.
		for _, n := range flt.Names {
			if n != strings.ToLower(n) {
				t.Fatalf("name %q not lower case", n)
			}
		}
	})
}

func FuzzLayout(f *testing.F) {
	f.Add("a b:a c:a d:b,c")
	f.Add("x:y y:x")
	f.Fuzz(func(t *testing.T, spec string) {
		var units []GraphUnit
		for _, tok := range strings.Fields(spec) {
			name, needs, _ := strings.Cut(tok, ":")
			u := GraphUnit{Name: name}
			if needs != "" {
				u.Needs = strings.Split(needs, ",")
			}
			units = append(units, u)
		}
		g := Layout(units, nil)
		for _, n := range g.Nodes {
			if n.X+n.W > g.Width || n.Y+n.H > g.Height || n.X < 0 || n.Y < 0 {
				t.Fatalf("node %q outside the drawing: %+v in %dx%d", n.Name, n, g.Width, g.Height)
			}
		}
		for _, e := range g.Edges {
			var lf, lt int
			for _, n := range g.Nodes {
				if n.Name == e.From {
					lf = n.Layer
				}
				if n.Name == e.To {
					lt = n.Layer
				}
			}
			if lt <= lf && !strings.Contains(spec, e.To+":") {
				t.Fatalf("edge %s -> %s goes back", e.From, e.To)
			}
		}
	})
}

// has and hasNot check a page for a string without printing the page.
func has(t testing.TB, body, s string, msg ...any) {
	t.Helper()
	if !strings.Contains(body, s) {
		t.Errorf("page (%d bytes) does not contain %q %v", len(body), s, msg)
	}
}

func hasNot(t testing.TB, body, s string, msg ...any) {
	t.Helper()
	if i := strings.Index(body, s); i >= 0 {
		t.Errorf("page contains %q at %d: ...%s... %v", s, i, body[max(0, i-80):min(len(body), i+80)], msg)
	}
}
