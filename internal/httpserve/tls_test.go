package httpserve_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/httpserve"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pair writes a certificate for 127.0.0.1 signed by ca (self-signed when
// ca is nil) and its key, and returns their paths and the parsed cert.
func pair(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, isCA bool) (string, string, *x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: isCA, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	parent, signer := tpl, key
	if ca != nil {
		parent, signer = ca, caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, &key.PublicKey, signer)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	cf, kf := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	require.NoError(t, os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	return cf, kf, cert, key
}

func TestTLSAndMutualTLS(t *testing.T) {
	dir := t.TempDir()
	caFile, _, ca, caKey := pair(t, dir, "ca", nil, nil, true)
	srvCert, srvKey, _, _ := pair(t, dir, "server", ca, caKey, false)
	cliCert, cliKey, _, _ := pair(t, dir, "client", ca, caKey, false)

	cfg, err := httpserve.TLSFiles(srvCert, srvKey, caFile)
	require.NoError(t, err)
	assert.Equal(t, uint16(tls.VersionTLS12), cfg.MinVersion)
	_, addr := start(t, httpserve.Config{TLS: cfg}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	get := func(c *tls.Config) error {
		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: c}}
		resp, err := hc.Get("https://" + addr + "/")
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}
	require.Error(t, get(&tls.Config{RootCAs: pool}), "no client certificate")
	cc, err := tls.LoadX509KeyPair(cliCert, cliKey)
	require.NoError(t, err)
	require.NoError(t, get(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cc}}))
	require.Error(t, get(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cc}, MaxVersion: tls.VersionTLS11}), "TLS 1.1 is refused")

	_, err = httpserve.TLSFiles(filepath.Join(dir, "nope.crt"), srvKey, "")
	require.ErrorContains(t, err, "nope.crt")
	_, err = httpserve.TLSFiles(srvCert, srvKey, srvKey)
	require.ErrorContains(t, err, "no PEM certificate")
}
