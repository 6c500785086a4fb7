package httpserve

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a [Config] field left zero.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxHeaderBytes    = 32 << 10
	DefaultMaxConns          = 512
	DefaultMaxInFlight       = 128
)

// Config is a server's limits. Zero fields take the defaults above.
type Config struct {
	// ReadHeaderTimeout bounds the time to read a request's headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the time to read a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time to write a response.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle this long.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes int
	// MaxConns bounds the open connections. When a new connection would
	// exceed it, the oldest connection that is not in the middle of a
	// request (it sent nothing yet, is idle between requests, or has not
	// finished sending its headers) is closed; when every connection is
	// busy with a request the new one waits for a slot.
	MaxConns int
	// MaxInFlight bounds the requests handled at once; beyond it a request
	// is answered 503 with Retry-After: 1 at once.
	MaxInFlight int
	// TLS, when set, serves HTTPS with it (see [TLSFiles]).
	TLS *tls.Config
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&c.ReadTimeout, DefaultReadTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.IdleTimeout, DefaultIdleTimeout)
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	return c
}

// Server serves one handler on one listener within its Config's limits.
type Server struct {
	cfg  Config
	srv  *http.Server
	log  *slog.Logger
	slot chan struct{} // one per open connection

	mu    sync.Mutex
	conns map[net.Conn]*tracked
	seq   uint64
}

type tracked struct {
	state http.ConnState
	since uint64 // when it entered its state, in accept order
}

// New returns a Server of h. log may be nil (silent).
func New(h http.Handler, cfg Config, log *slog.Logger) *Server {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log, slot: make(chan struct{}, cfg.MaxConns), conns: map[net.Conn]*tracked{}}
	s.srv = &http.Server{
		Handler:           limitInFlight(h, cfg.MaxInFlight),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		TLSConfig:         cfg.TLS,
		ConnState:         s.connState,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return s
}

// Serve accepts connections on ln until Shutdown; it returns
// http.ErrServerClosed then. With TLS, connections speak HTTP/1.1.
func (s *Server) Serve(ln net.Listener) error {
	if s.cfg.TLS != nil {
		// TLS below the limiter, so that it sees the request bytes.
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	return s.srv.Serve(&limitListener{Listener: ln, s: s})
}

// Shutdown stops accepting, closes idle connections and waits for active
// requests until ctx ends, then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	return err
}

// Conns returns the number of open connections.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) connState(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.conns[c]
	switch st {
	case http.StateNew:
		s.seq++
		s.conns[c] = &tracked{state: st, since: s.seq}
	case http.StateActive, http.StateIdle:
		if t != nil {
			s.seq++
			t.state, t.since = st, s.seq
		}
		if tc, ok := c.(*trackedConn); ok && st == http.StateIdle {
			tc.headers.Store(false) // the next request's headers are to come
		}
	case http.StateClosed, http.StateHijacked:
		if t != nil {
			delete(s.conns, c)
			<-s.slot
		}
	}
}

// evict closes the oldest connection that is not in the middle of a
// request, and frees its slot at once; it returns false when every
// connection is busy with a request.
func (s *Server) evict() bool {
	s.mu.Lock()
	var victim net.Conn
	var oldest uint64
	for c, t := range s.conns {
		stalled := t.state == http.StateNew || t.state == http.StateIdle
		if tc, ok := c.(*trackedConn); ok && t.state == http.StateActive && !tc.headers.Load() {
			stalled = true // still sending its headers
		}
		if stalled && (victim == nil || t.since < oldest) {
			victim, oldest = c, t.since
		}
	}
	if victim != nil {
		delete(s.conns, victim) // its StateClosed, later, changes nothing
		<-s.slot
	}
	s.mu.Unlock()
	if victim == nil {
		return false
	}
	s.log.Debug("connection limit reached: closing the oldest connection not in a request", "remote", victim.RemoteAddr().String())
	_ = victim.Close()
	return true
}

// trackedConn notes when a request's headers have been received (an
// empty line), so that a connection stalled in its headers can be told
// from one whose request is being handled.
type trackedConn struct {
	net.Conn
	headers atomic.Bool
	tail    []byte // the last bytes read, for an empty line split across reads
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.headers.Load() {
		buf := append(c.tail, p[:n]...)
		if bytes.Contains(buf, []byte("\r\n\r\n")) || bytes.Contains(buf, []byte("\n\n")) {
			c.headers.Store(true)
			c.tail = c.tail[:0]
		} else {
			c.tail = append(c.tail[:0], buf[max(0, len(buf)-3):]...)
		}
	}
	return n, err
}

// limitListener takes a slot per connection, evicting a stalled connection
// when none is free.
type limitListener struct {
	net.Listener
	s *Server
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.s.take() {
			return &trackedConn{Conn: c}, nil
		}
		_ = c.Close() // every connection stayed busy for ReadTimeout
	}
}

// take takes a connection slot: a free one, else one freed by evicting a
// stalled connection, else (every connection busy) one freed within
// ReadTimeout; false when none was.
func (s *Server) take() bool {
	give := time.NewTimer(s.cfg.ReadTimeout)
	defer give.Stop()
	for {
		select {
		case s.slot <- struct{}{}:
			return true
		default:
		}
		if s.evict() {
			continue // its slot is free
		}
		t := time.NewTimer(s.cfg.ReadTimeout)
		select {
		case s.slot <- struct{}{}:
			t.Stop()
			return true
		case <-t.C:
		case <-give.C:
			t.Stop()
			return false
		}
	}
}

// limitInFlight answers 503 at once when max requests are being handled.
func limitInFlight(h http.Handler, max int) http.Handler {
	sem := make(chan struct{}, max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
			h.ServeHTTP(w, r)
		default:
			_ = http.NewResponseController(w).SetReadDeadline(time.Now()) // do not wait for its body
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":"busy: ` + strconv.Itoa(max) + ` requests are being handled; retry","code":"unavailable"}` + "\n"))
		}
	})
}

// TLSFiles builds a server tls.Config from PEM files: the certificate
// chain and its key (re-read when either file changes, checked at most
// every 10 s, so that a renewed certificate needs no restart), and, when
// clientCA is set, the CAs whose client certificates are required (mutual
// TLS). TLS 1.2 is the minimum.
func TLSFiles(certFile, keyFile, clientCA string) (*tls.Config, error) {
	kp := &keyPair{cert: certFile, key: keyFile}
	if _, err := kp.get(nil); err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: kp.get}
	if clientCA != "" {
		pem, err := os.ReadFile(clientCA)
		if err != nil {
			return nil, fmt.Errorf("client CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA file %s: no PEM certificate in it", clientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// keyPair is a certificate re-read when its files change.
type keyPair struct {
	cert, key string

	mu      sync.Mutex
	loaded  *tls.Certificate
	mod     time.Time // the newer of the two files' modification times
	checked time.Time
}

func (k *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.loaded != nil && time.Since(k.checked) < 10*time.Second {
		return k.loaded, nil
	}
	k.checked = time.Now()
	var mod time.Time
	for _, f := range []string{k.cert, k.key} {
		st, err := os.Stat(f)
		if err != nil {
			if k.loaded != nil {
				return k.loaded, nil // keep serving the last good one
			}
			return nil, fmt.Errorf("TLS: %w", err)
		}
		if st.ModTime().After(mod) {
			mod = st.ModTime()
		}
	}
	if k.loaded != nil && !mod.After(k.mod) {
		return k.loaded, nil
	}
	c, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		if k.loaded != nil {
			return k.loaded, nil
		}
		return nil, fmt.Errorf("TLS: certificate %s and key %s: %w", k.cert, k.key, err)
	}
	k.loaded, k.mod = &c, mod
	return k.loaded, nil
}
