package dockerinv_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	dockerinv "github.com/minato-ops/minato/inventory/docker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	ok := dockerinv.EngineConfig{Name: "h1", Host: "tcp://10.0.0.1:2375"}
	cases := []struct {
		name string
		cfg  dockerinv.Config
		want []string // substrings, each expected in the error
	}{
		{"no engines", dockerinv.Config{}, []string{"engines: at least one engine is needed"}},
		{"bad name", dockerinv.Config{Engines: []dockerinv.EngineConfig{ok, {Name: "docker host", Host: "tcp://10.0.0.2:2375"}}},
			[]string{`engines[1].name: inventory: invalid: facility ID "docker host": ' ' is not allowed`}},
		{"empty name", dockerinv.Config{Engines: []dockerinv.EngineConfig{{Host: "tcp://10.0.0.2:2375"}}}, []string{"engines[0].name: inventory: invalid: empty facility ID"}},
		{"duplicate name", dockerinv.Config{Engines: []dockerinv.EngineConfig{ok, {Name: "h2", Host: "tcp://10.0.0.2:2375"}, {Name: "h1", Host: "tcp://10.0.0.3:2375"}}},
			[]string{`engines[2].name: "h1" is already the name of engines[0]`}},
		{"duplicate endpoint", dockerinv.Config{Engines: []dockerinv.EngineConfig{{Name: "a"}, {Name: "b", Host: container.DefaultHost}}},
			[]string{`engines[1].host: "unix:///var/run/docker.sock" is already the endpoint of engines[0] (a)`}},
		{"bad host and TLS", dockerinv.Config{Engines: []dockerinv.EngineConfig{{Name: "h1", Host: "tcp://10.0.0.1", TLS: &container.TLSConfig{CertFile: "c.pem"}}}},
			[]string{`engines[0].host "tcp://10.0.0.1": tcp:// needs a port`, `engines[0].tls: cert_file "c.pem" and key_file "" go together`}},
		{"negative numbers", dockerinv.Config{Engines: []dockerinv.EngineConfig{ok}, Concurrency: -1, Timeout: -time.Second, DetailConcurrency: -2},
			[]string{"concurrency: -1: want 0 (default 8) or more", "timeout: -1s: want 0 (default 10s) or more", "detail_concurrency: -2: want 0 (default 8) or more"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Len(t, strings.Split(err.Error(), "\n"), len(tc.want), "one line per problem: %v", err)
			_, err = dockerinv.New(tc.cfg)
			assert.ErrorContains(t, err, "dockerinv: invalid config: ")
		})
	}
	assert.NoError(t, dockerinv.Config{Engines: []dockerinv.EngineConfig{ok, {Name: "local"}}}.Validate(), "zero numbers mean defaults")
	def := dockerinv.DefaultConfig()
	assert.Equal(t, dockerinv.Config{Concurrency: 8, Timeout: 10 * time.Second, DetailConcurrency: 8}, def)
}

func TestEngineConfigContainer(t *testing.T) {
	tls := &container.TLSConfig{CAFile: "ca.pem", CertFile: "cert.pem", KeyFile: "key.pem"}
	ec := dockerinv.EngineConfig{Name: "h1", Host: "tcp://10.0.0.5:2376", APIVersion: "1.41", TLS: tls, Timeout: 3 * time.Second}
	assert.Equal(t, container.Config{Host: "tcp://10.0.0.5:2376", APIVersion: "1.41", TLS: tls, Timeout: 3 * time.Second}, ec.Container())
}

// fleet builds a Fleet from engines (name, endpoint pairs).
func fleet(t *testing.T, cfg dockerinv.Config, opts ...dockerinv.Option) *dockerinv.Fleet {
	t.Helper()
	f, err := dockerinv.New(cfg, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// blackhole returns a tcp:// endpoint that accepts connections and never
// answers.
func blackhole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read or written
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "tcp://" + ln.Addr().String()
}

func TestFleetSnapshot(t *testing.T) {
	a, b := fake(t, fixtures), fake(t, fixtures)
	down := dockertest.Unreachable(t)
	hole := blackhole(t)
	f := fleet(t, dockerinv.Config{Timeout: 700 * time.Millisecond, Engines: []dockerinv.EngineConfig{
		{Name: "h2", Host: b.URL}, {Name: "h1", Host: a.URL}, {Name: "h3-down", Host: down}, {Name: "h4-hole", Host: hole},
	}})
	start := time.Now()
	snap, err := f.Snapshot(context.Background(), inventory.Selector{Kind: inventory.KindContainer, States: []string{"running"}})
	took := time.Since(start)
	require.NoError(t, err, "engines down are data")
	assert.Less(t, took, 3*time.Second, "the blackholed engine does not stall the fleet")

	require.Len(t, snap.Engines, 4)
	assert.Equal(t, []string{"h1", "h2", "h3-down", "h4-hole"}, []string{snap.Engines[0].Name, snap.Engines[1].Name, snap.Engines[2].Name, snap.Engines[3].Name})
	assert.True(t, snap.Engines[0].Up())
	assert.True(t, snap.Engines[1].Up())
	assert.Equal(t, "ENG1:AAAA", snap.Engines[0].ID)
	assert.Equal(t, snap.Engines[0].ID, snap.Engines[1].ID, "same Info ID, still two engines")
	assert.Contains(t, snap.Engines[2].Error, "cannot connect to the Docker daemon at "+down)
	assert.Equal(t, "no answer within 700ms", snap.Engines[3].Error)
	assert.Equal(t, hole, snap.Engines[3].Endpoint)
	assert.GreaterOrEqual(t, snap.Engines[3].Took, 700*time.Millisecond)

	require.Len(t, snap.Items, 2, "web-1 on each answering engine")
	engines := []string{snap.Items[0].Target.Engine, snap.Items[1].Target.Engine}
	assert.ElementsMatch(t, []string{a.URL, b.URL}, engines)
	assert.NotEqual(t, snap.Items[0].Target.Key(), snap.Items[1].Target.Key())
	assert.Len(t, snap.Down(), 2)
	assert.NoError(t, snap.AllDown())

	ts, err := f.Resolve(context.Background(), inventory.Selector{Names: []string{"batch"}})
	require.NoError(t, err)
	assert.Len(t, ts, 2, "containers of both engines that answered")
}

func TestFleetAllDown(t *testing.T) {
	f := fleet(t, dockerinv.Config{Engines: []dockerinv.EngineConfig{{Name: "h1", Host: dockertest.Unreachable(t)}, {Name: "h2", Host: "unix:///nonexistent/minato-test.sock"}}})
	snap, err := f.Snapshot(context.Background(), inventory.Selector{})
	require.NoError(t, err)
	assert.Error(t, snap.AllDown())
	_, err = f.Resolve(context.Background(), inventory.Selector{})
	var ee *inventory.EngineError
	assert.ErrorAs(t, err, &ee)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = f.Snapshot(ctx, inventory.Selector{})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = f.Snapshot(context.Background(), inventory.Selector{Scopes: []string{"web"}})
	assert.ErrorIs(t, err, inventory.ErrScopes)
}

// A deadline that passes while engines are being asked abandons the ones
// still busy; when none answered, the snapshot is an error.
func TestFleetContextDeadline(t *testing.T) {
	f := fleet(t, dockerinv.Config{Timeout: 5 * time.Second, Engines: []dockerinv.EngineConfig{{Name: "h1", Host: blackhole(t)}}})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.Snapshot(ctx, inventory.Selector{})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestFleetConcurrencyBound(t *testing.T) {
	var mu sync.Mutex
	inFlight, most := 0, 0
	slow := enginetest.WithHandler("GET", "/containers/json", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("[]"))
	})
	var engines []dockerinv.EngineConfig
	for i := range 6 {
		srv := fake(t, fixtures, slow)
		engines = append(engines, dockerinv.EngineConfig{Name: "h" + string(rune('a'+i)), Host: srv.URL})
	}
	f := fleet(t, dockerinv.Config{Concurrency: 2, Engines: engines})
	snap, err := f.Snapshot(context.Background(), inventory.Selector{Kind: inventory.KindContainer})
	require.NoError(t, err)
	require.Len(t, snap.Engines, 6)
	for _, e := range snap.Engines {
		assert.True(t, e.Up(), e.Error)
	}
	assert.Equal(t, 2, most, "two engines at a time")
}

func TestFleetDetailAndAccessors(t *testing.T) {
	a := fake(t, fixtures)
	f := fleet(t, dockerinv.Config{Detail: true, DetailConcurrency: 1, Engines: []dockerinv.EngineConfig{{Name: "h1", Host: a.URL}}})
	snap, err := f.Snapshot(context.Background(), inventory.Selector{IDs: []string{idBatch}})
	require.NoError(t, err)
	require.Len(t, snap.Items, 1)
	assert.Equal(t, "3", snap.Items[0].Attrs["exit_code"], "Config.Detail inspects")

	es := f.Engines()
	require.Len(t, es, 1)
	assert.Equal(t, "h1", es[0].Name())
	assert.Equal(t, a.URL, es[0].Endpoint())
	e, ok := f.Engine("h1")
	assert.True(t, ok)
	assert.Same(t, es[0], e)
	c, ok := f.Client("h1")
	assert.True(t, ok)
	assert.Same(t, e.Client(), c)
	_, ok = f.Client("h9")
	assert.False(t, ok)
	_, ok = f.Engine("h0")
	assert.False(t, ok)
}

// WithClientOptions reaches every client the Fleet makes; a client that
// cannot be made fails New, naming its engine.
func TestFleetClientOptions(t *testing.T) {
	a := fake(t, fixtures)
	var used atomic.Bool
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Store(true)
		return http.DefaultTransport.RoundTrip(r)
	})}
	f := fleet(t, dockerinv.Config{Engines: []dockerinv.EngineConfig{{Name: "h1", Host: a.URL}}}, dockerinv.WithClientOptions(container.WithHTTPClient(hc)))
	snap, err := f.Snapshot(context.Background(), inventory.Selector{Kind: inventory.KindVolume})
	require.NoError(t, err)
	assert.True(t, snap.Engines[0].Up(), snap.Engines[0].Error)
	assert.True(t, used.Load(), "client options reach the clients")

	_, err = dockerinv.New(dockerinv.Config{Engines: []dockerinv.EngineConfig{{Name: "h1", Host: "tcp://10.0.0.1:2376", TLS: &container.TLSConfig{CAFile: "/nonexistent/ca.pem"}}}})
	assert.ErrorContains(t, err, "engines[0] (h1)", "a client that cannot be made names its engine")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
