package etcdtest_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha/etcd/etcdtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func get(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}

func TestStartStopRestart(t *testing.T) {
	s := etcdtest.Start(t)
	c := &http.Client{Timeout: 2 * time.Second}
	code, err := get(c, s.Endpoint+"/health")
	require.NoError(t, err)
	assert.Equal(t, 200, code)
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+$`, s.Endpoint)

	s.Stop()
	_, err = get(c, s.Endpoint+"/health")
	assert.Error(t, err, "etcd still answers after Stop")
	s.Stop() // idempotent

	s.Restart(t)
	code, err = get(c, s.Endpoint+"/health")
	require.NoError(t, err)
	assert.Equal(t, 200, code)
}

func TestStartTLS(t *testing.T) {
	s := etcdtest.StartTLS(t)
	assert.Regexp(t, `^https://127\.0\.0\.1:\d+$`, s.Endpoint)
	caPEM, err := os.ReadFile(s.CAFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM))
	pair, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	require.NoError(t, err)

	withCert := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}}}}
	code, err := get(withCert, s.Endpoint+"/health")
	require.NoError(t, err)
	assert.Equal(t, 200, code)

	// Without a client certificate the handshake is refused.
	noCert := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	_, err = get(noCert, s.Endpoint+"/health")
	assert.Error(t, err)
}
