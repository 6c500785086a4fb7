package enginetest

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// DefaultAPIVersion is the API version the server reports unless
// [WithAPIVersion] sets another: the highest one the Docker client in
// go.mod (v28.5) speaks.
const DefaultAPIVersion = "1.51"

// MinAPIVersion is the lowest API version the server accepts, as for a
// Docker 28 engine.
const MinAPIVersion = "1.24"

// Request is one request the server received, recorded before it was
// answered.
type Request struct {
	// Method is the HTTP method ("GET", "POST", "HEAD", "DELETE").
	Method string
	// Path is the URL path without the API version prefix:
	// "/containers/json" for "/v1.41/containers/json".
	Path string
	// Version is the API version from the prefix ("1.41"), or "" for an
	// unversioned request such as /_ping.
	Version string
	// Query is the parsed query string; never nil.
	Query url.Values
	// Header is a copy of the request headers.
	Header http.Header
	// Body is the request body; empty when there was none.
	Body []byte
}

// String renders the request as "METHOD /path?query", for messages.
func (r Request) String() string {
	if len(r.Query) == 0 {
		return r.Method + " " + r.Path
	}
	return r.Method + " " + r.Path + "?" + r.Query.Encode()
}

// Server is a fake Docker Engine serving fixtures from a directory. It is
// safe for concurrent use; create it with [NewServer].
type Server struct {
	// URL is the engine endpoint to put in container.Config.Host:
	// "tcp://127.0.0.1:PORT", or "unix://PATH" with [WithUnixSocket].
	URL string

	report     func(format string, args ...any)
	dir        string
	apiVersion string
	srv        *httptest.Server
	builtin    *http.ServeMux
	custom     *http.ServeMux
	hasCustom  bool

	mu    sync.Mutex
	reqs  []Request
	execs map[string]*execInstance
}

// Option configures a Server.
type Option func(*settings)

type settings struct {
	apiVersion string
	handlers   []handler
	tls        *tls.Config
	socket     string
}

type handler struct {
	method, pattern string
	h               http.HandlerFunc
}

// WithAPIVersion sets the API version the server reports in /_ping's
// Api-Version header, in /version, and on every response, and the highest
// version it accepts. The default is [DefaultAPIVersion].
func WithAPIVersion(v string) Option {
	return func(s *settings) { s.apiVersion = strings.TrimPrefix(v, "v") }
}

// WithHandler makes h answer requests with this method whose unversioned
// path matches pattern, in [http.ServeMux] syntax without the method
// ("/containers/{id}/archive"; r.PathValue works). It takes precedence over
// errors.json and the built-in endpoints. The request is recorded before h
// runs, and r.URL.Path is already unversioned.
func WithHandler(method, pattern string, h http.HandlerFunc) Option {
	return func(s *settings) { s.handlers = append(s.handlers, handler{method, pattern, h}) }
}

// WithTLS makes the server speak TLS with cfg (its Certificates, and
// ClientAuth/ClientCAs for mutual TLS). URL stays "tcp://127.0.0.1:PORT",
// as DOCKER_HOST is for a TLS engine.
func WithTLS(cfg *tls.Config) Option {
	return func(s *settings) { s.tls = cfg }
}

// WithUnixSocket makes the server listen on a unix socket at path instead of
// a loopback TCP port; URL is then "unix://" + path. Keep path short (unix
// socket paths are limited to about 100 bytes).
func WithUnixSocket(path string) Option {
	return func(s *settings) { s.socket = path }
}

// NewServer starts a fake engine serving the fixtures in dir (see the
// package documentation; "" serves none) and registers t.Cleanup to close
// it. It calls t.Fatal when dir is not a directory or the server cannot
// listen, and t.Error when a fixture cannot be read or holds invalid JSON.
func NewServer(t testing.TB, dir string, opts ...Option) *Server {
	t.Helper()
	s, err := start(dir, t.Errorf, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start is [NewServer] for code that has no testing.TB, such as examples
// and TestMain: the caller must call [Server.Close], and a fixture that
// cannot be read or decoded is answered like a missing one (500) without
// failing anything.
func Start(dir string, opts ...Option) (*Server, error) {
	return start(dir, func(string, ...any) {}, opts)
}

func start(dir string, report func(string, ...any), opts []Option) (*Server, error) {
	set := settings{apiVersion: DefaultAPIVersion}
	for _, o := range opts {
		o(&set)
	}
	if dir != "" {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("enginetest: fixture directory %q: not a directory (%v)", dir, err)
		}
	}
	s := &Server{report: report, dir: dir, apiVersion: set.apiVersion, builtin: http.NewServeMux(), custom: http.NewServeMux(), execs: map[string]*execInstance{}}
	s.routes()
	for _, h := range set.handlers {
		s.custom.HandleFunc(h.method+" "+h.pattern, h.h)
		s.hasCustom = true
	}
	var l net.Listener
	var err error
	if set.socket != "" {
		l, err = net.Listen("unix", set.socket)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, fmt.Errorf("enginetest: %w", err)
	}
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{
		Handler:  http.HandlerFunc(s.serveHTTP),
		ErrorLog: log.New(io.Discard, "", 0), // failed TLS handshakes are what TLS tests provoke
	}}
	if set.tls != nil {
		s.srv.TLS = set.tls
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	if set.socket != "" {
		s.URL = "unix://" + set.socket
	} else {
		s.URL = "tcp://" + l.Addr().String()
	}
	return s, nil
}

// Close stops the server and closes its connections; calls made after it
// fail as for an engine that went away. It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}

// Addr returns the address the server listens on ("127.0.0.1:PORT", or
// the socket path).
func (s *Server) Addr() string {
	return strings.TrimPrefix(strings.TrimPrefix(s.URL, "tcp://"), "unix://")
}

// APIVersion returns the API version the server reports.
func (s *Server) APIVersion() string { return s.apiVersion }

// Requests returns a copy of the requests received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Reset forgets the recorded requests, for example those of a warm-up call
// that negotiated the API version.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}

var versionPrefix = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/|$)`)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	version := ""
	if m := versionPrefix.FindStringSubmatch(r.URL.Path); m != nil {
		version = m[1]
		r.URL.Path = "/" + strings.TrimPrefix(r.URL.Path[len(m[0]):], "/")
		r.URL.RawPath = ""
	}
	q := r.URL.Query()
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Version: version, Query: q, Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()

	w.Header().Set("Api-Version", s.apiVersion)
	w.Header().Set("Ostype", "linux")
	w.Header().Set("Server", "Docker/28.5.2 (linux)")
	if version != "" {
		if versionLess(s.apiVersion, version) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("client version %s is too new. Maximum supported API version is %s", version, s.apiVersion))
			return
		}
		if versionLess(version, MinAPIVersion) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", version, MinAPIVersion))
			return
		}
	}
	if s.hasCustom {
		if _, pattern := s.custom.Handler(r); pattern != "" {
			s.custom.ServeHTTP(w, r) // sets r.PathValue
			return
		}
	}
	if f, ok := s.fault(r.Method + " " + r.URL.Path); ok {
		writeError(w, f.Status, f.Message)
		return
	}
	s.builtin.ServeHTTP(w, r)
}

// fault is one entry of errors.json.
type fault struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
}

func (s *Server) fault(key string) (fault, bool) {
	var faults map[string]fault
	if !s.readJSON("errors.json", &faults) {
		return fault{}, false
	}
	f, ok := faults[key]
	return f, ok
}

// readJSON decodes the fixture into v; false when it does not exist. A
// fixture that exists but does not decode fails the test.
func (s *Server) readJSON(name string, v any) bool {
	b, ok := s.readFile(name)
	if !ok {
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		s.report("enginetest: fixture %s: %v", name, err)
		return false
	}
	return true
}

func (s *Server) readFile(name string) ([]byte, bool) {
	if s.dir == "" {
		return nil, false
	}
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.report("enginetest: fixture %s: %v", name, err)
		}
		return nil, false
	}
	return b, true
}

// writeError answers as the engine does for errors: a JSON body with a
// message.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeRaw(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
