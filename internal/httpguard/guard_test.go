package httpguard_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/minato-ops/minato/internal/httpguard"
	"github.com/stretchr/testify/assert"
)

func request(local net.IP, host, ctype, auth string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/runs", nil)
	if local != nil {
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: local, Port: 9464}))
	}
	r.Host = host
	r.Header.Set("Content-Type", ctype)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}

func TestGuard(t *testing.T) {
	lo, lan := net.IPv4(127, 0, 0, 1), net.IPv4(192, 0, 2, 7)
	noToken, token := &httpguard.Guard{}, &httpguard.Guard{Token: "t0k"}
	for _, c := range []struct {
		name           string
		g              *httpguard.Guard
		local          net.IP
		host, ct, auth string
		read, write    int // 0 = admitted
	}{
		{"loopback", noToken, lo, "127.0.0.1:9464", "application/json", "", 0, 0},
		{"localhost", noToken, lo, "localhost:9464", "application/json; charset=utf-8", "", 0, 0},
		{"ipv6 loopback", noToken, net.IPv6loopback, "[::1]:9464", "application/json", "", 0, 0},
		{"rebinding", noToken, lo, "evil.example:9464", "application/json", "", 403, 403},
		{"no local address", noToken, nil, "127.0.0.1:9464", "application/json", "", 403, 403},
		{"lan listener", noToken, lan, "127.0.0.1:9464", "application/json", "", 403, 403},
		{"form post", noToken, lo, "127.0.0.1:9464", "application/x-www-form-urlencoded", "", 0, 415},
		{"token", token, lan, "agent.example", "application/json", "Bearer t0k", 0, 0},
		{"token lower-case scheme", token, lan, "agent.example", "application/json", "bearer t0k", 0, 0},
		{"wrong token", token, lo, "127.0.0.1", "application/json", "Bearer nope", 401, 401},
		{"token as basic", token, lo, "127.0.0.1", "application/json", "Basic t0k", 401, 401},
		{"no token", token, lo, "127.0.0.1", "application/json", "", 401, 401},
		{"token prefix", token, lo, "127.0.0.1", "application/json", "Bearer t0", 401, 401},
	} {
		status := func(rf *httpguard.Refusal) int {
			if rf == nil {
				return 0
			}
			return rf.Status
		}
		assert.Equal(t, c.read, status(c.g.Read(request(c.local, c.host, c.ct, c.auth))), "%s: read", c.name)
		assert.Equal(t, c.write, status(c.g.Write(request(c.local, c.host, c.ct, c.auth))), "%s: write", c.name)
	}
}

func TestWriteRefusal(t *testing.T) {
	w := httptest.NewRecorder()
	httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusUnauthorized, Msg: "need the token"})
	assert.Equal(t, 401, w.Code)
	assert.Equal(t, `Bearer realm="minato"`, w.Header().Get("WWW-Authenticate"))
	assert.Equal(t, "close", w.Header().Get("Connection"))
	assert.JSONEq(t, `{"error":"need the token","code":"unauthorized"}`, w.Body.String())
}

func TestLoopbackListen(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9464": true, "127.1.2.3:1": true, "[::1]:9464": true, "localhost:9464": true, "LOCALHOST:1": true,
		":9464": false, "0.0.0.0:9464": false, "[::]:9464": false, "192.0.2.1:9464": false, "example.com:9464": false, "nonsense": false,
	} {
		assert.Equal(t, want, httpguard.LoopbackListen(addr), addr)
	}
}
