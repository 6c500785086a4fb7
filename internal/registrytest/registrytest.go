package registrytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Binary is the registry program Start runs (Debian's docker-registry,
// the distribution v2 registry).
const Binary = "/usr/bin/docker-registry"

// RequireEnv is the variable that turns "skip when the registry binary is
// missing" into "fail" (the same variable as the Docker harness uses).
const RequireEnv = "MINATO_REQUIRE_DOCKER"

// startTimeout bounds how long Start waits for GET /v2/ to answer.
const startTimeout = 30 * time.Second

// Options choose how the registry is protected.
type Options struct {
	// Auth turns on htpasswd basic auth with user "minato" and a random
	// password (Registry.User, Registry.Password).
	Auth bool
	// TLS makes the registry serve HTTPS with a server certificate for
	// 127.0.0.1 and localhost signed by a CA made for this registry
	// (Registry.CAPEM, Registry.CertsDir).
	TLS bool
}

// Registry is a running registry. Its fields are read-only; it is safe for
// concurrent use and stops in the t.Cleanup that Start registered.
type Registry struct {
	// Addr is "127.0.0.1:PORT", the counting proxy in front of the
	// registry: the registry host to use in image references.
	Addr string
	// User and Password are the credentials with Options.Auth, else "".
	User, Password string
	// CAPEM is the PEM-encoded CA certificate with Options.TLS, else nil.
	CAPEM []byte
	// CertsDir is a directory laid out as the engine's certs.d:
	// <CertsDir>/<Addr>/ca.crt with Options.TLS; it exists but holds no
	// certificate without TLS.
	CertsDir string
	// LogFile is the registry's log (level warn), for test failure output.
	LogFile string

	opts   Options
	proxy  *proxy
	client *http.Client
}

// Start runs a registry as o asks and returns when it answers GET /v2/. It
// skips t when Binary (or, with Auth, htpasswd) is missing, unless
// MINATO_REQUIRE_DOCKER=1, then it fails t. It fails t when the registry
// does not start within 30 s, showing its log. The registry process, its
// proxy and its files are removed in t.Cleanup.
func Start(t testing.TB, o Options) *Registry {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		missing(t, fmt.Sprintf("%s not found (install Debian's docker-registry package): %v", Binary, err))
	}
	dir := t.TempDir()
	r := &Registry{opts: o, LogFile: filepath.Join(dir, "registry.log"), CertsDir: filepath.Join(dir, "certs.d")}

	p, err := newProxy()
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	t.Cleanup(p.close)
	r.proxy = p
	r.Addr = p.addr()
	if err := os.MkdirAll(filepath.Join(r.CertsDir, r.Addr), 0o755); err != nil {
		t.Fatalf("registrytest: %v", err)
	}

	var cfg strings.Builder
	fmt.Fprintf(&cfg, "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n")
	fmt.Fprintf(&cfg, "storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\n", filepath.Join(dir, "data"))

	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	if o.TLS {
		ca, certPEM, keyPEM, err := makeCerts()
		if err != nil {
			t.Fatalf("registrytest: make TLS certificates: %v", err)
		}
		r.CAPEM = ca
		for name, b := range map[string][]byte{"ca.crt": ca, "server.crt": certPEM, "server.key": keyPEM} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatalf("registrytest: %v", err)
			}
		}
		if err := os.WriteFile(filepath.Join(r.CertsDir, r.Addr, "ca.crt"), ca, 0o644); err != nil {
			t.Fatalf("registrytest: %v", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	r.client = &http.Client{Transport: tr, Timeout: 5 * time.Second}

	if o.Auth {
		hp, err := exec.LookPath("htpasswd")
		if err != nil {
			missing(t, "htpasswd not found (install Debian's apache2-utils package)")
		}
		r.User, r.Password = "minato", randomHex(12)
		out, err := exec.Command(hp, "-Bbn", r.User, r.Password).Output()
		if err != nil {
			t.Fatalf("registrytest: htpasswd -Bbn: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "htpasswd"), out, 0o600); err != nil {
			t.Fatalf("registrytest: %v", err)
		}
		fmt.Fprintf(&cfg, "auth:\n  htpasswd:\n    realm: minato-registrytest\n    path: %s\n", filepath.Join(dir, "htpasswd"))
	}

	// The registry needs a port of its own behind the proxy. Picking a
	// free port and then binding it races with other processes, so retry.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("registrytest: %v", err)
		}
		backend := fmt.Sprintf("127.0.0.1:%d", port)
		full := cfg.String() + fmt.Sprintf("http:\n  addr: %s\n  secret: %s\n", backend, randomHex(16))
		if o.TLS {
			full += fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
		}
		cfgFile := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(cfgFile, []byte(full), 0o600); err != nil {
			t.Fatalf("registrytest: %v", err)
		}
		lastErr = r.run(t, cfgFile, backend)
		if lastErr == nil {
			return r
		}
	}
	log, _ := os.ReadFile(r.LogFile)
	t.Fatalf("registrytest: %s did not start: %v\nregistry log:\n%s", Binary, lastErr, log)
	return nil
}

// run starts the registry on backend and waits for it; on failure the
// process is stopped and the error returned.
func (r *Registry) run(t testing.TB, cfgFile, backend string) error {
	logf, err := os.OpenFile(r.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(Binary, "serve", cfgFile)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	r.proxy.setBackend(backend)

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("exited: %v", err)
		default:
		}
		if err := r.ping(); err == nil {
			t.Cleanup(stop)
			// Do not count the start-up probes.
			r.proxy.reset()
			return nil
		} else if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("GET /v2/ not answered within %s: %v", startTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ping asks GET /v2/ and wants 200, or 401 with auth.
func (r *Registry) ping() error {
	resp, err := r.client.Get(r.URL() + "/v2/")
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || (r.opts.Auth && resp.StatusCode == http.StatusUnauthorized) {
		return nil
	}
	return fmt.Errorf("GET /v2/: %s", resp.Status)
}

// URL returns the registry's base URL, "http://Addr" or "https://Addr".
func (r *Registry) URL() string {
	if r.opts.TLS {
		return "https://" + r.Addr
	}
	return "http://" + r.Addr
}

// HTTPClient returns an HTTP client that trusts the registry's CA (with
// TLS) and does not use keep-alives, for tests that talk to the registry
// API directly. It sends no credentials by itself.
func (r *Registry) HTTPClient() *http.Client { return r.client }

// AuthHeader returns the X-Registry-Auth value the Docker Engine wants for
// this registry (base64url JSON of username, password and serveraddress);
// without Auth it encodes empty credentials.
func (r *Registry) AuthHeader() string {
	b, _ := json.Marshal(map[string]string{"username": r.User, "password": r.Password, "serveraddress": r.Addr})
	return base64.URLEncoding.EncodeToString(b)
}

// DockerConfig writes a docker CLI config directory into t.TempDir() and
// returns it: config.json with "auths" holding this registry's credentials
// (base64 user:password under the key Addr), or an empty "auths" without
// Auth.
func (r *Registry) DockerConfig(t testing.TB) string {
	t.Helper()
	auths := map[string]any{}
	if r.opts.Auth {
		auths[r.Addr] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(r.User + ":" + r.Password))}
	}
	b, err := json.MarshalIndent(map[string]any{"auths": auths}, "", "\t")
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	return dir
}

// BytesServed returns how many bytes the registry has sent to clients
// through Addr since it became ready (TLS records included with TLS).
func (r *Registry) BytesServed() int64 { return r.proxy.served.Load() }

// Requests returns how many TCP connections clients have opened to Addr
// since the registry became ready. With keep-alive one connection carries
// many requests, so it is a lower bound on HTTP requests.
func (r *Registry) Requests() int64 { return r.proxy.conns.Load() }

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("registrytest: %s (required: %s=1)", why, RequireEnv)
	}
	t.Skipf("registrytest: %s; skipping (set %s=1 to fail instead)", why, RequireEnv)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// makeCerts returns a CA certificate and a server certificate and key for
// 127.0.0.1, ::1 and localhost signed by it, all PEM.
func makeCerts() (caPEM, certPEM, keyPEM []byte, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "minato registrytest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// proxy forwards TCP connections to the registry and counts what the
// registry sends back.
type proxy struct {
	l      net.Listener
	served atomic.Int64
	conns  atomic.Int64

	mu      sync.Mutex
	backend string
	open    map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup
}

func newProxy() (*proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the proxy: %w", err)
	}
	p := &proxy{l: l, open: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) setBackend(b string) {
	p.mu.Lock()
	p.backend = b
	p.mu.Unlock()
}

func (p *proxy) reset() {
	p.served.Store(0)
	p.conns.Store(0)
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.conns.Add(1)
		p.wg.Add(1)
		go p.handle(c)
	}
}

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.open[c] = struct{}{}
	return true
}

func (p *proxy) handle(c net.Conn) {
	defer p.wg.Done()
	p.mu.Lock()
	backend := p.backend
	p.mu.Unlock()
	if backend == "" || !p.track(c) {
		c.Close()
		return
	}
	b, err := net.DialTimeout("tcp", backend, 5*time.Second)
	if err != nil || !p.track(b) {
		if b != nil {
			b.Close()
		}
		p.untrack(c)
		return
	}
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(b, c)
		closeWrite(b)
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(countingWriter{c, &p.served}, b)
		closeWrite(c)
		done <- struct{}{}
	}()
	<-done
	<-done
	p.untrack(c)
	p.untrack(b)
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.open, c)
	p.mu.Unlock()
	c.Close()
}

func (p *proxy) close() {
	p.l.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		return
	}
	c.Close()
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (cw countingWriter) Write(b []byte) (int, error) {
	n, err := cw.w.Write(b)
	cw.n.Add(int64(n))
	return n, err
}
