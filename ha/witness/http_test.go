package witness_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/witness"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// status answers every request with code, counting the requests and
// recording the last one's method, user agent and basic auth.
type status struct {
	code     atomic.Int32
	hits     atomic.Int32
	mu       sync.Mutex
	method   string
	agent    string
	user, pw string
}

func newStatus(code int) *status {
	s := &status{}
	s.code.Store(int32(code))
	return s
}

func (s *status) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	s.mu.Lock()
	s.method, s.agent = r.Method, r.UserAgent()
	s.user, s.pw, _ = r.BasicAuth()
	s.mu.Unlock()
	w.WriteHeader(int(s.code.Load()))
}

func httpWitness(t *testing.T, cfg witness.HTTPConfig, opts ...witness.Option) *witness.HTTPWitness {
	t.Helper()
	w, err := witness.HTTP(cfg, opts...)
	require.NoError(t, err)
	return w
}

func TestHTTPStatus(t *testing.T) {
	for _, c := range []struct {
		code    int
		healthy bool
	}{
		{200, true},
		{204, false}, // CLUSTERPRO wants exactly 200
		{404, false},
		{503, false},
	} {
		h := newStatus(c.code)
		srv := httptest.NewServer(h)
		w := httpWitness(t, witness.HTTPConfig{Target: srv.URL + "/health"})
		err := w.Probe(context.Background())
		srv.Close()
		if c.healthy {
			assert.NoError(t, err, "status %d", c.code)
		} else {
			assert.ErrorIs(t, err, witness.ErrStatus, "status %d", c.code)
			assert.ErrorContains(t, err, http.StatusText(c.code))
		}
		assert.Equal(t, int32(1), h.hits.Load(), "one request per probe")
		assert.Equal(t, http.MethodHead, h.method)
		assert.Equal(t, "minato-witness", h.agent)
	}
}

func TestHTTPRedirectIsNotFollowed(t *testing.T) {
	ok := newStatus(200)
	target := httptest.NewServer(ok)
	defer target.Close()
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	defer redirect.Close()

	err := httpWitness(t, witness.HTTPConfig{Target: redirect.URL}).Probe(context.Background())
	assert.ErrorIs(t, err, witness.ErrStatus)
	assert.ErrorContains(t, err, "302")
	assert.Zero(t, ok.hits.Load(), "the redirect's target was asked")
}

func TestHTTPSlowTargetTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	defer close(release)

	w := httpWitness(t, witness.HTTPConfig{Target: srv.URL, Timeout: 200 * time.Millisecond})
	start := time.Now()
	err := w.Probe(context.Background())
	took := time.Since(start)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, witness.ErrStatus)
	assert.ErrorContains(t, err, "no answer within 200ms")
	assert.GreaterOrEqual(t, took, 200*time.Millisecond)
	assert.Less(t, took, 2*time.Second)
	// The ha package sees a timeout in it: CLUSTERPRO's code 6.
	assert.Equal(t, ha.CodeTimeout, ha.AsResourceError(err).Code)

	// The caller's context ends a probe sooner, with its own error.
	w = httpWitness(t, witness.HTTPConfig{Target: srv.URL, Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	err = w.Probe(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestHTTPConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	err = httpWitness(t, witness.HTTPConfig{Target: "http://" + addr}).Probe(context.Background())
	require.Error(t, err)
	assert.NotErrorIs(t, err, witness.ErrStatus)
	assert.ErrorContains(t, err, "refused")
}

// TestHTTPBodyIsNotRead: a target that answers a HEAD with a body that
// never ends does not hold the probe.
func TestHTTPBodyIsNotRead(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Read(make([]byte, 4096))
		_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n"))
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	err = httpWitness(t, witness.HTTPConfig{Target: "http://" + l.Addr().String(), Timeout: 3 * time.Second}).Probe(context.Background())
	assert.NoError(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
}

// TestHTTPNeverShowsUserInfo: the target's user info is sent as basic
// authentication, and neither it nor the query shows in errors or logs.
func TestHTTPNeverShowsUserInfo(t *testing.T) {
	h := newStatus(200)
	srv := httptest.NewServer(h)
	defer srv.Close()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	target := strings.Replace(srv.URL, "http://", "http://witness-user:s3cret-pw@", 1) + "/np?token=t0ken-value"

	w := httpWitness(t, witness.HTTPConfig{Target: target}, witness.WithLogger(log))
	require.NoError(t, w.Probe(context.Background()))
	assert.Equal(t, "witness-user", h.user)
	assert.Equal(t, "s3cret-pw", h.pw)
	assert.Equal(t, "HEAD "+srv.URL+"/np", w.String())

	h.code.Store(503)
	err := w.Probe(context.Background())
	require.ErrorIs(t, err, witness.ErrStatus)

	srv.Close() // now refused
	errRefused := w.Probe(context.Background())
	require.Error(t, errRefused)

	_, errCfg := witness.HTTP(witness.HTTPConfig{Target: "ftp://witness-user:s3cret-pw@host/"})
	_, errCfg2 := witness.HTTP(witness.HTTPConfig{Target: "https://witness-user:s3cret-pw@host:99999/"})
	_, errCfg3 := witness.HTTP(witness.HTTPConfig{Target: "https://witness-user:s3cret pw@ho st/"})
	for _, text := range []string{logs.String(), err.Error(), errRefused.Error(), errCfg.Error(), errCfg2.Error(), errCfg3.Error()} {
		for _, secret := range []string{"witness-user", "s3cret", "t0ken-value"} {
			assert.NotContains(t, text, secret)
		}
	}
	assert.Contains(t, logs.String(), "witness: healthy")
	assert.Contains(t, err.Error(), srv.URL+"/np")
}

// ca is a test certificate authority.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &ca{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func TestHTTPTLS(t *testing.T) {
	srv := httptest.NewTLSServer(newStatus(200))
	defer srv.Close()
	// httptest's certificate is its own authority, for 127.0.0.1.
	caFile := writeFile(t, "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	hostPort := strings.TrimPrefix(srv.URL, "https://")

	t.Run("ca file", func(t *testing.T) {
		assert.NoError(t, httpWitness(t, witness.HTTPConfig{Target: srv.URL, CAFile: caFile}).Probe(context.Background()))
	})
	t.Run("no scheme means https", func(t *testing.T) {
		w := httpWitness(t, witness.HTTPConfig{Target: hostPort, CAFile: caFile})
		assert.Equal(t, "HEAD "+srv.URL+"/", w.String())
		assert.NoError(t, w.Probe(context.Background()))
	})
	t.Run("system roots do not trust it", func(t *testing.T) {
		err := httpWitness(t, witness.HTTPConfig{Target: srv.URL}).Probe(context.Background())
		var unknown x509.UnknownAuthorityError
		assert.ErrorAs(t, err, &unknown)
	})
	t.Run("wrong ca", func(t *testing.T) {
		other := writeFile(t, "other.pem", newCA(t, "another authority").pem)
		err := httpWitness(t, witness.HTTPConfig{Target: srv.URL, CAFile: other}).Probe(context.Background())
		var unknown x509.UnknownAuthorityError
		assert.ErrorAs(t, err, &unknown)
		assert.NotErrorIs(t, err, witness.ErrStatus)
	})
	t.Run("insecure skip verify", func(t *testing.T) {
		var logs bytes.Buffer
		w := httpWitness(t, witness.HTTPConfig{Target: srv.URL, InsecureSkipVerify: true},
			witness.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		assert.Contains(t, logs.String(), "level=WARN")
		assert.NoError(t, w.Probe(context.Background()))
	})
	t.Run("tls to a plain http server", func(t *testing.T) {
		plain := httptest.NewServer(newStatus(200))
		defer plain.Close()
		err := httpWitness(t, witness.HTTPConfig{Target: strings.TrimPrefix(plain.URL, "http://")}).Probe(context.Background())
		assert.Error(t, err)
	})
}

func TestHTTPCAFileErrors(t *testing.T) {
	_, err := witness.HTTP(witness.HTTPConfig{Target: "https://127.0.0.1/", CAFile: filepath.Join(t.TempDir(), "missing.pem")})
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = witness.HTTP(witness.HTTPConfig{Target: "https://127.0.0.1/", CAFile: writeFile(t, "empty.pem", []byte("not pem"))})
	assert.ErrorContains(t, err, "no PEM certificate")
}

func TestHTTPConcurrentProbes(t *testing.T) {
	srv := httptest.NewServer(newStatus(200))
	defer srv.Close()
	w := httpWitness(t, witness.HTTPConfig{Target: srv.URL})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- w.Probe(context.Background()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

func TestHTTPConfigValidate(t *testing.T) {
	assert.Equal(t, 5*time.Second, witness.DefaultHTTPConfig().Timeout)
	for _, c := range []struct {
		cfg  witness.HTTPConfig
		want []string // substrings of the error; none: valid
	}{
		{witness.HTTPConfig{Target: "aws.amazon.com"}, nil},
		{witness.HTTPConfig{Target: "aws.amazon.com:443"}, nil},
		{witness.HTTPConfig{Target: "https://aws.amazon.com/"}, nil},
		{witness.HTTPConfig{Target: "http://10.0.0.1:8080/health", Timeout: time.Second}, nil},
		{witness.HTTPConfig{Target: "https://[::1]:8443/"}, nil},
		{witness.HTTPConfig{}, []string{"target: empty"}},
		{witness.HTTPConfig{Target: "ftp://host/"}, []string{`target scheme "ftp"`}},
		{witness.HTTPConfig{Target: "https://:443/"}, []string{"no host"}},
		{witness.HTTPConfig{Target: "host:0"}, []string{`port "0"`}},
		{witness.HTTPConfig{Target: "host:70000"}, []string{`port "70000"`}},
		{witness.HTTPConfig{Target: "host", Timeout: -time.Second}, []string{"timeout -1s"}},
		{witness.HTTPConfig{Target: "host", CAFile: "ca.pem", InsecureSkipVerify: true}, []string{"ca_file and insecure_skip_verify"}},
		{witness.HTTPConfig{Target: "http://host/", CAFile: "ca.pem"}, []string{"ca_file: set, but target http://host/ is plain http"}},
		{witness.HTTPConfig{Target: "http://host/", InsecureSkipVerify: true}, []string{"insecure_skip_verify: set"}},
		{witness.HTTPConfig{Target: "ftp://h/", Timeout: -1}, []string{"target scheme", "timeout"}},
	} {
		err := c.cfg.Validate()
		if len(c.want) == 0 {
			assert.NoError(t, err, "%+v", c.cfg)
			continue
		}
		require.Error(t, err, "%+v", c.cfg)
		for _, w := range c.want {
			assert.ErrorContains(t, err, w, "%+v", c.cfg)
		}
		_, errNew := witness.HTTP(c.cfg)
		assert.True(t, errors.Is(errNew, err) || strings.Contains(errNew.Error(), err.Error()), "HTTP validates: %v", errNew)
	}
}
