package etcdtest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireEnv is the variable that turns "skip when etcd is not
// installed" into "fail": CI sets MINATO_REQUIRE_DOCKER=1 to require
// every real component, the Docker Engine and etcd alike.
const RequireEnv = "MINATO_REQUIRE_DOCKER"

// Server is one running single-member etcd.
type Server struct {
	// Endpoint is the client URL, "http://127.0.0.1:PORT" (https with
	// StartTLS).
	Endpoint string
	// Dir holds the data directory and, with StartTLS, the certificates.
	Dir string
	// CAFile, CertFile and KeyFile are set by StartTLS: the CA that
	// signed the server's certificate, and a client certificate and key
	// the server accepts.
	CAFile, CertFile, KeyFile string

	bin  string
	args []string
	tls  *tls.Config // the health check's, with StartTLS

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *lockedBuffer
}

// Binary returns the path of the etcd program, looking in PATH and then
// in /usr/bin and /usr/local/bin, or "" when it is not installed.
func Binary() string {
	if p, err := exec.LookPath("etcd"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/bin/etcd", "/usr/local/bin/etcd"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Start starts an etcd for the test and stops it in t.Cleanup. It skips
// the test when etcd is not installed (fails it when RequireEnv is "1"),
// and fails it when etcd is not healthy within 20 seconds.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

// StartTLS is Start with TLS on the client port: the server presents a
// certificate for 127.0.0.1 signed by CAFile and requires a client
// certificate signed by the same CA (CertFile and KeyFile are one).
func StartTLS(t testing.TB) *Server {
	t.Helper()
	return start(t, true)
}

func start(t testing.TB, withTLS bool) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		msg := "etcd (Debian package etcd-server) is not installed"
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s and %s=1 requires it", msg, RequireEnv)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	s := &Server{Dir: dir, bin: bin}
	if withTLS {
		if err := s.writeCerts(); err != nil {
			t.Fatalf("etcdtest: certificates: %v", err)
		}
	}
	var lastErr error
	// A free port found by binding and releasing it can be taken by
	// someone else before etcd binds it; try a few times.
	for attempt := 0; attempt < 3; attempt++ {
		if err := s.configure(withTLS); err != nil {
			t.Fatalf("etcdtest: %v", err)
		}
		if lastErr = s.run(); lastErr == nil {
			t.Cleanup(func() {
				s.Stop()
				if t.Failed() {
					t.Logf("etcd's log:\n%s", s.log.tail())
				}
			})
			return s
		}
		_ = os.RemoveAll(filepath.Join(dir, "data"))
	}
	t.Fatalf("etcdtest: %v", lastErr)
	return nil
}

// configure picks the ports and builds the command line.
func (s *Server) configure(withTLS bool) error {
	client, err := freePort()
	if err != nil {
		return err
	}
	peer, err := freePort()
	if err != nil {
		return err
	}
	scheme := "http"
	if withTLS {
		scheme = "https"
	}
	s.Endpoint = scheme + "://127.0.0.1:" + strconv.Itoa(client)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peer)
	s.args = []string{
		"--name", "minato-test",
		"--data-dir", filepath.Join(s.Dir, "data"),
		"--listen-client-urls", s.Endpoint,
		"--advertise-client-urls", s.Endpoint,
		"--listen-peer-urls", peerURL,
		"--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "minato-test=" + peerURL,
		"--initial-cluster-state", "new",
		"--logger", "zap",
		"--log-outputs", "stderr",
	}
	if withTLS {
		s.args = append(s.args,
			"--cert-file", filepath.Join(s.Dir, "server.pem"),
			"--key-file", filepath.Join(s.Dir, "server-key.pem"),
			"--trusted-ca-file", s.CAFile,
			"--client-cert-auth",
		)
	}
	return nil
}

// run starts etcd and waits until it is healthy.
func (s *Server) run() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = &lockedBuffer{}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := s.health(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			s.stopLocked()
			return fmt.Errorf("etcd on %s not healthy after 20s: %v\n%s", s.Endpoint, err, s.log.tail())
		}
		select {
		case <-done:
			return fmt.Errorf("etcd exited before it was healthy:\n%s", s.log.tail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// health asks etcd's /health endpoint.
func (s *Server) health() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+"/health", nil)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: s.tls, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var h struct {
		Health string `json:"health"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return err
	}
	if h.Health != "true" {
		return fmt.Errorf("health %q", h.Health)
	}
	return nil
}

// Stop stops etcd (SIGTERM, then SIGKILL after 5 seconds) and waits
// until it exited. Its data stay, for Restart. Stopping a stopped server
// does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart starts a stopped etcd again on the same ports with the same
// data, and waits until it is healthy; it fails the test otherwise.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.run(); err != nil {
		t.Fatalf("etcdtest: restart: %v", err)
	}
}

// Log returns what etcd has printed so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// writeCerts writes a CA, a server certificate for 127.0.0.1 and a
// client certificate into s.Dir, and sets the health check's TLS.
func (s *Server) writeCerts() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "minato etcdtest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	s.CAFile = filepath.Join(s.Dir, "ca.pem")
	if err := writePEM(s.CAFile, "CERTIFICATE", caDER); err != nil {
		return err
	}
	issue := func(serial int64, name string, usage x509.ExtKeyUsage, ips []net.IP, certFile, keyFile string) error {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		if err := writePEM(certFile, "CERTIFICATE", der); err != nil {
			return err
		}
		return writePEM(keyFile, "EC PRIVATE KEY", keyDER)
	}
	if err := issue(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)},
		filepath.Join(s.Dir, "server.pem"), filepath.Join(s.Dir, "server-key.pem")); err != nil {
		return err
	}
	s.CertFile, s.KeyFile = filepath.Join(s.Dir, "client.pem"), filepath.Join(s.Dir, "client-key.pem")
	if err := issue(3, "minato", x509.ExtKeyUsageClientAuth, nil, s.CertFile, s.KeyFile); err != nil {
		return err
	}
	pair, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	s.tls = &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	return nil
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) tail() string {
	s := l.String()
	if len(s) > 4000 {
		s = "..." + s[len(s)-4000:]
	}
	return s
}
