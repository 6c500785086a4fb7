package jobapi_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/minato-ops/minato/job/jobapi"
	"github.com/minato-ops/minato/job/scheduler"
)

// FuzzHandler sends arbitrary methods, paths, headers and bodies to the
// handler (as if on loopback): it must never panic, answer 5xx, or answer
// an error that is not a JSON ErrorBody.
func FuzzHandler(f *testing.F) {
	for _, s := range [][4]string{
		{"POST", "/api/v1/runs", "application/json", `{"network":"nightly","hold":["zzz"]}`},
		{"POST", "/api/v1/runs", "application/json", `{"definition":"adhoc","id":"a@b"}`},
		{"POST", "/api/v1/runs", "application/json", `{"network":"nightly"} x`},
		{"POST", "/api/v1/runs/nightly@1/units/a/hold", "application/json", ``},
		{"POST", "/api/v1/runs/%2e%2e/cancel", "application/json; charset=utf-8", `{}`},
		{"POST", "/api/v1/queues/default/stop", "application/json", `null`},
		{"GET", "/api/v1/runs?limit=5&unfinished=true&network=n", "", ``},
		{"GET", "/api/v1/runs/../../etc/passwd", "", ``},
		{"PUT", "/api/v1/jobnets", "text/plain", `x`},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	st := scheduler.NewMemStore()
	s, err := scheduler.New(scheduler.Config{}, st, st, scheduler.WithDefinitions(defs{}))
	if err != nil {
		f.Fatal(err)
	}
	if err := s.Add(scheduler.Entry{Name: "nightly", Definition: []byte("nightly"), Build: build}); err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(ctx) }()
	h, err := jobapi.NewHandler(s, jobapi.Config{MaxRequestBody: 1 << 12})
	if err != nil {
		f.Fatal(err)
	}
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9464}
	f.Fuzz(func(t *testing.T, method, path, ctype, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(method, " \t\r\n") || method == "" {
			return
		}
		req, err := http.NewRequestWithContext(context.WithValue(ctx, http.LocalAddrContextKey, local), method, "http://127.0.0.1:9464"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && strings.HasPrefix(req.URL.Path, jobapi.Prefix+"/") {
			var eb jobapi.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error == "" || eb.Code == "" {
				t.Fatalf("%s %s: %d with a body that is not an ErrorBody: %q", method, path, rec.Code, rec.Body)
			}
		}
	})
}
