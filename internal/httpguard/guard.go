package httpguard

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"
)

// Guard checks requests. The zero Guard admits loopback requests only.
// It is safe for concurrent use; never log the Token.
type Guard struct {
	// Token, when set, must be carried by every request as
	// "Authorization: Bearer <token>" (the scheme is case-insensitive, RFC
	// 9110 §11.1). When empty, only requests that arrived on a loopback
	// address with a loopback Host are admitted.
	Token string
	// Log, when set, logs refused requests at warn (path and remote
	// address, never the header's value).
	Log *slog.Logger
}

// Refusal is why a request was refused: the HTTP status and a message
// for the client.
type Refusal struct {
	Status int
	Msg    string
}

// Error returns the message.
func (r *Refusal) Error() string { return r.Msg }

// Read checks a request that reveals state (GET). It returns nil to admit
// it, else a *Refusal: 401 without the right token, 403 without a token
// configured on a request that is not from loopback.
func (g *Guard) Read(r *http.Request) *Refusal {
	if g.Token != "" {
		if !g.hasToken(r) {
			return g.refuse(r, http.StatusUnauthorized, "this API needs the agent's token: Authorization: Bearer <the token in api.token_file>")
		}
		return nil
	}
	if !LocalConn(r) {
		return g.refuse(r, http.StatusForbidden, "this API answers only on the loopback interface when api.token_file is not set")
	}
	if !LoopbackHost(r.Host) {
		return g.refuse(r, http.StatusForbidden, fmt.Sprintf("the request's Host %q is not a loopback address: without api.token_file, the API answers only for 127.0.0.1, ::1 or localhost", r.Host))
	}
	return nil
}

// Write checks a request that changes state (POST): a JSON content type
// (415 otherwise), then as Read.
func (g *Guard) Write(r *http.Request) *Refusal {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return g.refuse(r, http.StatusUnsupportedMediaType, "controls need Content-Type: application/json")
	}
	return g.Read(r)
}

func (g *Guard) refuse(r *http.Request, status int, msg string) *Refusal {
	if g.Log != nil {
		g.Log.Warn("request refused", "status", status, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
	}
	return &Refusal{Status: status, Msg: msg}
}

// hasToken reports whether r carries the token, compared in constant
// time.
func (g *Guard) hasToken(r *http.Request) bool {
	scheme, got, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(g.Token)) == 1
}

// WriteRefusal answers a refused request: the status, a JSON body
// {"error": msg, "code": code}, "WWW-Authenticate: Bearer" for 401, and
// "Connection: close", so that a client that was refused does not keep a
// connection open. The request's body is not read: the connection's read
// deadline is set to now, so that the server does not wait for a body the
// client stalls (it would otherwise drain up to 256 KiB of it).
func WriteRefusal(w http.ResponseWriter, rf *Refusal) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	if rf.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="minato"`)
	}
	w.Header().Set("Connection", "close")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rf.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": rf.Msg, "code": Code(rf.Status)})
}

// Code is the machine-readable code of an error status in minato's JSON
// error bodies.
func Code(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "internal"
}

// LocalConn reports whether r arrived on a loopback address of this host
// (the listener's address, from the server's context).
func LocalConn(r *http.Request) bool {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoopbackHost reports whether a Host header (host or host:port) names a
// loopback address: localhost, 127.0.0.0/8 or ::1.
func LoopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoopbackListen reports whether a listen address (host:port) accepts
// connections from this host only: localhost or a loopback IP. An empty
// host (every interface) or any other name is not.
func LoopbackListen(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		return false
	}
	return LoopbackHost(host)
}
