package dockerinv_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/minato-ops/minato/inventory"
	"github.com/stretchr/testify/require"
)

// The containers of testdata/engine.
const (
	fixtures = "testdata/engine"
	idWeb    = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1" // running, ports, two networks, two mounts
	idBatch  = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2" // exited 3
	idFresh  = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3" // created, tmpfs, network none
)

// serveFile answers with a fixture file of dir, as the engine would.
func serveFile(t testing.TB, dir, name string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("fixture %s: %v", name, err)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
}

// fake starts the fake engine on dir, answering the image, network and
// volume lists from images.json, networks.json and volumes.json too.
func fake(t testing.TB, dir string, opts ...enginetest.Option) *enginetest.Server {
	t.Helper()
	opts = append([]enginetest.Option{
		enginetest.WithHandler("GET", "/images/json", serveFile(t, dir, "images.json")),
		enginetest.WithHandler("GET", "/networks", serveFile(t, dir, "networks.json")),
		enginetest.WithHandler("GET", "/volumes", serveFile(t, dir, "volumes.json")),
	}, opts...)
	return enginetest.NewServer(t, dir, opts...)
}

// fakeClient returns a container.Client for the fake, closed by t's cleanup.
func fakeClient(t testing.TB, srv *enginetest.Server) *container.Client {
	t.Helper()
	c, err := container.New(container.Config{Host: srv.URL})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// count returns how many requests the server got for method and path.
func count(srv *enginetest.Server, method, path string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// paths returns the unversioned paths of the requests, /_ping and /version left out.
func paths(srv *enginetest.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		if r.Path != "/_ping" && r.Path != "/version" {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// names returns the Target names of items, in order.
func names(items []inventory.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = string(it.Target.Kind) + ":" + it.Target.Name
	}
	return out
}

// filtersOf decodes a filters query parameter.
func filtersOf(t testing.TB, q string) map[string]map[string]bool {
	t.Helper()
	if q == "" {
		return nil
	}
	var out map[string]map[string]bool
	require.NoError(t, json.Unmarshal([]byte(q), &out), q)
	return out
}
