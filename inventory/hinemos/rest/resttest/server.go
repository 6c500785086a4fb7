package resttest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultUser and DefaultPassword are the login the server accepts unless
// [WithUser] replaces it: the Hinemos manager's initial administrator.
const (
	DefaultUser     = "hinemos"
	DefaultPassword = "hinemos"
)

// APIPath is where the server answers, below [Server.URL].
const APIPath = "/HinemosWeb/api"

// Request is one request the server received, recorded before it was
// answered. The login's body is not recorded (it holds the password).
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the path below APIPath ("/RepositoryRestEndpoints/repository/node/web-1").
	Path string
	// Query holds the query parameters ("facilityIds").
	Query url.Values
	// Token is the bearer token the request carried, "" if none.
	Token string
	// Body is the request's body, nil for the login.
	Body []byte
}

// String renders the request as "METHOD /path?query", for messages.
func (r Request) String() string {
	s := r.Method + " " + r.Path
	if len(r.Query) > 0 {
		s += "?" + r.Query.Encode()
	}
	return s
}

// Server is a fake Hinemos manager. Its methods are safe for concurrent
// use.
type Server struct {
	// URL is the manager's address, "http://127.0.0.1:PORT" (https with
	// [WithTLS]); the API is below URL+APIPath.
	URL string

	srv *httptest.Server
	mux *http.ServeMux

	mu         sync.Mutex
	users      map[string]string
	tokens     map[string]string // token -> user
	facilities map[string]*facility
	relations  map[string]map[string]bool // user scope -> nodes assigned
	used       map[string]bool
	faults     map[string]fault
	requests   []Request
	seq        int
}

// facility is one node or scope.
type facility struct {
	id, name, desc, icon, owner string
	typ                         string // typeScope or typeNode
	builtIn                     bool
	parent                      string // of a scope; "" at the top
	valid                       bool
	props                       map[string]json.RawMessage // a node's other properties
	created, modified           time.Time
	createUser, modifyUser      string
	seq                         int
}

// fault is an error answer set by Fail.
type fault struct {
	status             int
	exception, message string
}

// Option configures a Server.
type Option func(*settings)

type settings struct {
	users map[string]string
	tls   bool
}

// WithUser makes the server accept this login instead of hinemos/hinemos;
// give it several times for several users.
func WithUser(user, password string) Option {
	return func(s *settings) {
		if s.users == nil {
			s.users = map[string]string{}
		}
		s.users[user] = password
	}
}

// WithTLS makes the server speak https with a self-signed certificate
// ([Server.CertificatePEM] is its CA bundle).
func WithTLS() Option {
	return func(s *settings) { s.tls = true }
}

// NewServer starts a fake manager with the built-in scopes and no node,
// and stops it when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := Start(opts...)
	t.Cleanup(s.Close)
	return s
}

// Start is [NewServer] for code that has no testing.TB, such as examples;
// call Close when done.
func Start(opts ...Option) *Server {
	var st settings
	for _, o := range opts {
		o(&st)
	}
	if st.users == nil {
		st.users = map[string]string{DefaultUser: DefaultPassword}
	}
	s := &Server{
		users:      st.users,
		tokens:     map[string]string{},
		facilities: map[string]*facility{},
		relations:  map[string]map[string]bool{},
		used:       map[string]bool{},
		faults:     map[string]fault{},
		mux:        http.NewServeMux(),
	}
	s.builtIns()
	s.routes()
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused TLS handshakes are expected in tests
	if st.tls {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// CertificatePEM returns the server's certificate in PEM, to be written to
// a CA file; nil without [WithTLS].
func (s *Server) CertificatePEM() []byte {
	c := s.srv.Certificate()
	if c == nil || s.srv.TLS == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// Requests returns a copy of the requests received so far, in arrival
// order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Reset forgets the recorded requests.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// ExpireTokens invalidates every session token, as a manager restart or
// the end of the login's validity does: the next request with one gets
// 401.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// SetPassword changes a user's password; existing tokens stay valid.
func (s *Server) SetPassword(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[user] = password
}

// MarkUsed makes the facility count as referenced by monitor or job
// settings: deleting it (or, for a scope, a scope above it) is refused
// with 400 UsedFacility.
func (s *Server) MarkUsed(facilityID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used[facilityID] = true
}

// Fail makes every request whose method and path (below APIPath, as in
// [Request.Path]) match answer status with the manager's error body naming
// exception (a simple name such as "InvalidRole", or a full class name)
// and message. An empty exception sends a plain-text body instead. A
// status of 0 removes the fault.
func (s *Server) Fail(method, path string, status int, exception, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := method + " " + path
	if status == 0 {
		delete(s.faults, key)
		return
	}
	if exception != "" && !strings.Contains(exception, ".") {
		exception = faultPkg + exception
	}
	s.faults[key] = fault{status: status, exception: exception, message: message}
}

// NodeProperty returns a stored property of a node as JSON (nil if the
// node or property does not exist), to check what a client sent.
func (s *Server) NodeProperty(facilityID, name string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.facilities[facilityID]
	if f == nil || f.typ != typeNode {
		return nil
	}
	return slices.Clone(f.props[name])
}

// SetNodeProperty sets a property of a node as an operator would in the
// Hinemos client (a property of AddNodeRequest other than the facility ID,
// name, description, managed flag and owner role). It reports whether the
// node exists.
func (s *Server) SetNodeProperty(facilityID, name string, value any) bool {
	b, err := json.Marshal(value)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.facilities[facilityID]
	if f == nil || f.typ != typeNode {
		return false
	}
	f.props[name] = b
	return true
}

// serveHTTP records the request, checks the token and routes it.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, exHinemosUnknown, err.Error())
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	path, inAPI := strings.CutPrefix(r.URL.Path, APIPath)
	token := bearer(r)
	rec := Request{Method: r.Method, Path: path, Query: r.URL.Query(), Token: token, Body: body}
	if path == loginPath {
		rec.Body = nil
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	f, faulty := s.faults[r.Method+" "+path]
	_, tokenOK := s.tokens[token]
	s.mu.Unlock()

	if !inAPI {
		writeError(w, http.StatusNotFound, exHinemosUnknown, "HTTP 404 Not Found")
		return
	}
	if faulty {
		if f.exception == "" {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(f.status)
			fmt.Fprint(w, f.message)
			return
		}
		writeError(w, f.status, f.exception, f.message)
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
			r2 := r.Clone(r.Context())
			r2.Method = m
			if _, p := s.mux.Handler(r2); p != "" {
				writeError(w, http.StatusMethodNotAllowed, exHinemosUnknown, "HTTP 405 Method Not Allowed")
				return
			}
		}
		writeError(w, http.StatusNotFound, exHinemosUnknown, "HTTP 404 Not Found")
		return
	}
	if path != loginPath && !tokenOK {
		msg := "Authentication failed: the token is invalid or expired."
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer") && r.Header.Get("X-HinemosToken") == "" {
			msg = "Authentication failed: there is no Authorization header."
		}
		writeError(w, http.StatusUnauthorized, exInvalidUserPass, msg)
		return
	}
	s.mux.ServeHTTP(w, r) // sets the path values
}

// bearer returns the token of the request's X-HinemosToken header, which
// the manager prefers, or of its Authorization header.
func bearer(r *http.Request) string {
	h := r.Header.Get("X-HinemosToken")
	if h == "" {
		h = r.Header.Get("Authorization")
	}
	parts := strings.Split(h, " ")
	if !strings.HasPrefix(h, "Bearer") || len(parts) != 2 {
		return ""
	}
	return parts[1]
}

// newToken returns a random session token.
func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// writeJSON writes a 200 answer.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, exHinemosUnknown, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// writeError writes the manager's error body.
func writeError(w http.ResponseWriter, status int, exception, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "message": message, "exception": exception, "stack": []string{}})
}

// apiError is an error answer a handler returns.
type apiError struct {
	status             int
	exception, message string
}

func (e *apiError) Error() string { return e.message }

func notFound(format string, args ...any) *apiError {
	return &apiError{http.StatusNotFound, exFacilityNotFound, fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, exInvalidSetting, fmt.Sprintf(format, args...)}
}

func unknown(format string, args ...any) *apiError {
	return &apiError{http.StatusInternalServerError, exHinemosUnknown, fmt.Sprintf(format, args...)}
}

// handle adapts a handler that returns an answer or an *apiError.
func (s *Server) handle(pattern string, fn func(r *http.Request) (any, *apiError)) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		v, e := fn(r)
		if e != nil {
			writeError(w, e.status, e.exception, e.message)
			return
		}
		writeJSON(w, v)
	})
}

// decode reads the JSON body into v, as the manager's Jackson mapper does:
// unknown properties are ignored, a malformed body is a 400
// InvalidSetting.
func decode(r *http.Request, v any) *apiError {
	b, _ := io.ReadAll(r.Body)
	if len(bytes.TrimSpace(b)) == 0 {
		return invalid("No content to map due to end-of-input")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return invalid("%s", err.Error())
	}
	return nil
}
