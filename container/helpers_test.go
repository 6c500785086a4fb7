package container_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/stretchr/testify/require"
)

// The containers in testdata/engine/basic.
const (
	basicDir = "testdata/engine/basic"
	idWeb1   = "e650e9015225f7f0974a07a27296c212b9d39e2033de5b78fdf551fec4b68da1" // running, healthy, limits
	idWeb2   = "763b952e333e8a006cffed7493a5c3161396f42312637d98f202c73a2453c869" // exited 137, OOM-killed
	idDB     = "1a3c428b1a2a3549586e1611cb67c404de850ec8f0e426e0f59f680a392fdfd1" // running, also linked as /web-1/db
)

// newFake starts the fake engine on dir and a Client for it.
func newFake(t *testing.T, dir string, opts ...enginetest.Option) (*container.Client, *enginetest.Server) {
	t.Helper()
	srv := enginetest.NewServer(t, dir, opts...)
	c, err := container.New(container.Config{Host: srv.URL})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, srv
}

// fixtureDir copies the basic fixtures into a temporary directory and adds
// or replaces the given files.
func fixtureDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(basicDir)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(basicDir, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600))
	}
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	return dir
}

// only returns the single recorded request with this method and path.
func only(t *testing.T, srv *enginetest.Server, method, path string) enginetest.Request {
	t.Helper()
	var found []enginetest.Request
	for _, r := range srv.Requests() {
		if r.Method == method && r.Path == path {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1, "requests %s %s in %v", method, path, srv.Requests())
	return found[0]
}

// filtersOf decodes the filters query parameter ({"key":{"value":true}}).
func filtersOf(t *testing.T, q url.Values) map[string]map[string]bool {
	t.Helper()
	f := q.Get("filters")
	if f == "" {
		return nil
	}
	var out map[string]map[string]bool
	require.NoError(t, json.Unmarshal([]byte(f), &out), f)
	return out
}
