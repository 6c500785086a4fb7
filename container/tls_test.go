package container_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testCA is a throw-away certificate authority.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a leaf certificate and key (PEM) signed by the CA.
func (ca *testCA) issue(t *testing.T, name string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

// tlsEngine starts a fake engine that requires a client certificate signed
// by the same CA, and writes ca.pem, cert.pem and key.pem (the client's) to
// a directory, as DOCKER_CERT_PATH holds them.
func tlsEngine(t *testing.T) (srv *enginetest.Server, certDir string) {
	t.Helper()
	ca := newCA(t, "minato test CA")
	srvCert, srvKey := ca.issue(t, "engine", x509.ExtKeyUsageServerAuth)
	pair, err := tls.X509KeyPair(srvCert, srvKey)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	srv = enginetest.NewServer(t, basicDir, enginetest.WithTLS(&tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}))
	certDir = t.TempDir()
	cliCert, cliKey := ca.issue(t, "minato", x509.ExtKeyUsageClientAuth)
	writeFile(t, certDir, "ca.pem", ca.pem)
	writeFile(t, certDir, "cert.pem", cliCert)
	writeFile(t, certDir, "key.pem", cliKey)
	return srv, certDir
}

func TestTLSFromEnv(t *testing.T) {
	srv, dir := tlsEngine(t)
	cfg := container.ConfigFromEnv(env(map[string]string{"DOCKER_HOST": srv.URL, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": dir}))
	c, err := container.New(cfg)
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	p, err := c.Ping(ctx)
	require.NoError(t, err)
	assert.Equal(t, "linux", p.OSType)
	res, err := c.List(ctx, container.ListOptions{All: true})
	require.NoError(t, err)
	assert.Len(t, res.Containers, 3)

	// Exec hijacks its own connection: it must use TLS too.
	var out bytes.Buffer
	er, err := c.Exec(ctx, "web-1", container.ExecOptions{Cmd: []string{"nginx", "-t"}, Stdout: &out})
	require.NoError(t, err)
	assert.Equal(t, 3, er.ExitCode)
	assert.Contains(t, out.String(), "syntax is ok")
}

func TestTLSWrongCA(t *testing.T) {
	srv, dir := tlsEngine(t)
	other := writeFile(t, t.TempDir(), "ca.pem", newCA(t, "someone else").pem)
	c, err := container.New(container.Config{Host: srv.URL, TLS: &container.TLSConfig{
		CAFile: other, CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem"),
	}})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Ping(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, container.ErrUnreachable, "a failed handshake is unreachable")
	assert.ErrorContains(t, err, "certificate")
}

func TestTLSClientCertificateRequired(t *testing.T) {
	srv, dir := tlsEngine(t)
	c, err := container.New(container.Config{Host: srv.URL, TLS: &container.TLSConfig{CAFile: filepath.Join(dir, "ca.pem")}})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Ping(context.Background())
	assert.ErrorIs(t, err, container.ErrUnreachable)
}

func TestTLSInsecureSkipVerify(t *testing.T) {
	srv, dir := tlsEngine(t)
	cfg := container.ConfigFromEnv(env(map[string]string{"DOCKER_HOST": srv.URL, "DOCKER_CERT_PATH": dir}))
	require.True(t, cfg.TLS.InsecureSkipVerify)
	cfg.TLS.CAFile = "" // the system roots do not know the test CA: only skipping verification works
	c, err := container.New(cfg)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Ping(context.Background())
	require.NoError(t, err)
}

func TestTLSWithoutTLSConfig(t *testing.T) {
	srv, _ := tlsEngine(t)
	c, err := container.New(container.Config{Host: srv.URL})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Ping(context.Background())
	assert.Error(t, err, "plain HTTP to a TLS engine")
}

// shortSocketPath returns a unix socket path short enough for sun_path.
func shortSocketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mnt")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return filepath.Join(dir, "d.sock")
}

// Config.TLS applies to tcp:// hosts only: DOCKER_TLS_VERIFY left set while
// talking to the local socket must not break the connection.
func TestTLSIgnoredForUnixSocket(t *testing.T) {
	srv := enginetest.NewServer(t, basicDir, enginetest.WithUnixSocket(shortSocketPath(t)))
	ca := writeFile(t, t.TempDir(), "ca.pem", newCA(t, "unused").pem)
	c, err := container.New(container.Config{Host: srv.URL, TLS: &container.TLSConfig{CAFile: ca}})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Ping(context.Background())
	require.NoError(t, err)
	_, err = c.List(context.Background(), container.ListOptions{})
	require.NoError(t, err)
}
