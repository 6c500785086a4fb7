package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/minato-ops/minato/internal/dockerdtest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/boltrepo"
	"github.com/minato-ops/minato/inventory/hinemos"
	"github.com/minato-ops/minato/monitor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	os.Exit(dockerdtest.Shared(m))
}

// startAgent builds the agent from a configuration text and runs it until
// the test ends.
func startAgent(t *testing.T, dir, text string) *Agent {
	t.Helper()
	path := write(t, dir, "agent.yaml", text+"\nlisten: 127.0.0.1:0\nstate_dir: "+filepath.Join(dir, "state")+"\n")
	cfg, err := Load(path)
	require.NoError(t, err)
	a, err := New(cfg, os.Getenv, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	select {
	case <-a.Addr():
	case err := <-done:
		t.Fatalf("agent stopped at start: %v", err)
	}
	return a
}

// eventually polls cond every 20 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInventoryAcrossEngines: an agent with two real engines (the local one
// and a second dockerd) and a third that refuses connections keeps the
// repository in step with both, from their events; checks that select by
// scope see the containers of that scope on each engine; the engine that
// is down stalls nothing.
func TestInventoryAcrossEngines(t *testing.T) {
	local := dockertest.New(t)
	second := dockerdtest.Get(t)
	remote := second.Harness(t)
	dir := t.TempDir()
	repoPath := filepath.Join(dir, "inventory.db")
	repo, err := boltrepo.Open(repoPath, boltrepo.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	// This run's scope names: the sync registers every container of the
	// engines, other tests' included.
	w1, w3 := "web1-"+local.RunID(), "web3-"+local.RunID()
	require.NoError(t, repo.PutScope(ctx, inventory.Scope{FacilityID: w1, FacilityName: w1}))

	run := func(h interface {
		Run(testing.TB, dockertest.RunOptions) dockertest.Container
	}, scopes string) dockertest.Container {
		labels := map[string]string{}
		if scopes != "" {
			labels[hinemos.LabelAssignScope] = scopes
		}
		return h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}, Labels: labels})
	}
	a1 := run(local, w1+", "+w3)
	b1 := run(remote, w1)
	b2 := run(remote, "")

	down := dockertest.Unreachable(t)
	a := startAgent(t, dir, fmt.Sprintf(`
engines:
  - {name: h1, host: %q}
  - {name: h2, host: %q}
  - {name: h3, host: %q, timeout: 2s}
inventory: {sync: true, repository: %q, resync: 1h}
events: {enabled: true}
checks:
  - {name: state, monitor: container-status, interval: 1s, targets: {scopes: [%s]}}
`, local.Host, second.Host, down, repoPath, w1))

	node := func(id string) (inventory.Node, bool) {
		n, err := repo.Node(ctx, id)
		return n, err == nil
	}
	eventually(t, 10*time.Second, "the containers of both engines become nodes", func() bool {
		_, x := node("h1-" + a1.Name)
		_, y := node("h2-" + b1.Name)
		_, z := node("h2-" + b2.Name)
		return x && y && z
	})
	members, err := repo.Members(ctx, w1)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"h1-" + a1.Name, "h2-" + b1.Name}, members, "the label assigned the nodes; web3 does not exist and was not created")
	_, err = repo.Scope(ctx, w3)
	assert.ErrorIs(t, err, inventory.ErrNotFound)
	n, _ := node("h2-" + b1.Name)
	assert.Equal(t, "h2", n.Variables[hinemos.VarHost])
	assert.Equal(t, b1.ID[:12], n.Variables[hinemos.VarContainerID])
	assert.True(t, n.Managed)

	// The state checks of each engine see the web1 containers of that engine.
	defer func() {
		if t.Failed() {
			for _, ev := range a.runner.Evaluations() {
				t.Logf("%s %s %s %v %s", ev.Check, ev.Target, ev.Status, ev.Err, ev.Message)
			}
		}
	}()
	eventually(t, 10*time.Second, "state@h1 and state@h2 evaluate the web1 containers", func() bool {
		seen := map[string]string{}
		for _, ev := range a.runner.Evaluations() {
			if ev.Err == nil && ev.Status == monitor.OK {
				seen[ev.Check+"/"+ev.Target.Name] = ev.Target.Engine
			}
		}
		return seen["state@h1/"+a1.Name] == local.Host && seen["state@h2/"+b1.Name] == second.Host && seen["state@h2/"+b2.Name] == ""
	})

	// Events: a stop, a removal and a rename reach the repository.
	stopTimeout := 1
	require.NoError(t, local.Client.ContainerStop(ctx, a1.ID, dcontainer.StopOptions{Timeout: &stopTimeout}))
	require.NoError(t, remote.Client.ContainerRemove(ctx, b1.ID, dcontainer.RemoveOptions{Force: true}))
	require.NoError(t, remote.Client.ContainerRename(ctx, b2.ID, b2.Name+"-renamed"))
	eventually(t, 5*time.Second, "stop, removal and rename are followed", func() bool {
		n, ok := node("h1-" + a1.Name)
		_, gone := node("h2-" + b1.Name)
		_, old := node("h2-" + b2.Name)
		_, renamed := node("h2-" + b2.Name + "-renamed")
		return ok && !n.Managed && n.Variables[hinemos.VarStatus] == "exited" && !gone && !old && renamed
	})

	// Each engine has its event stream, named after it.
	for _, name := range []string{"events@h1", "events@h2", "events@h3"} {
		_, err := a.runner.CheckOnce(ctx, name)
		assert.ErrorContains(t, err, "watchers have no one-shot round", "%s exists and is a watch", name)
	}
	// The engine that is down is reported, the others answer.
	srv := httptest.NewServer(a.handler())
	defer srv.Close()
	code, body, _ := call(t, srv, "GET", "/api/v1/inventory?kind=container", "")
	require.Equal(t, 200, code, body)
	var snap inventory.Snapshot
	require.NoError(t, json.Unmarshal([]byte(body), &snap))
	require.Len(t, snap.Engines, 3)
	for _, e := range snap.Engines {
		assert.Equal(t, e.Name == "h3", !e.Up(), "engine %s: %s", e.Name, e.Error)
	}
	_, ok := snap.Find(inventory.Target{Kind: inventory.KindContainer, ID: b2.ID, Engine: second.Host}.Key())
	assert.True(t, ok, "the second engine's container is in the snapshot")
	code, body, _ = call(t, srv, "GET", "/healthz", "")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "1 of 3 Docker engines do not answer")
	code, body, _ = call(t, srv, "GET", "/api/v1/inventory?kind=bogus", "")
	assert.Equal(t, 400, code)
	assert.Contains(t, body, "want container, image, network or volume")

	var failedH3 bool
	for _, f := range a.follow {
		if f.engine.Name() == "h3" {
			failedH3 = f.failures.Load() > 0
			assert.Zero(t, f.lastOK.Load(), "h3 never synced")
		}
	}
	assert.True(t, failedH3, "h3's sync failed and was counted")
}

// TestInventoryConfigErrors: what the agent refuses about engines and the
// inventory, with the key paths.
func TestInventoryConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct{ text, want string }{
		"sync without engines": {"inventory: {sync: true}\nevents: {enabled: true}", "inventory.sync: needs engines"},
		"scopes without engines": {"checks: [{name: s, monitor: state, interval: 1s, targets: {scopes: [web1]}}]",
			"checks[0].targets.scopes: needs engines"},
		"docker and engines": {"docker: {host: unix:///x.sock}\nengines: [{name: h1}]\nevents: {enabled: true}", "give either docker"},
		"duplicate engine": {"engines: [{name: h1, host: unix:///a.sock}, {name: h1, host: unix:///b.sock}]\nevents: {enabled: true}",
			`engines[1].name: "h1" is already the name of engines[0]`},
		"bad engine name": {"engines: [{name: 'docker host1'}]\nevents: {enabled: true}", "engines[0].name"},
		"bad lang":        {"engines: [{name: h1}]\ninventory: {lang: fr}\nevents: {enabled: true}", `inventory.lang: "fr": want en or ja`},
		"file and manager": {"engines: [{name: h1}]\ninventory: {repository: a.db, hinemos: {url: 'http://127.0.0.1:8080', password_file: pw}}\nevents: {enabled: true}",
			"give either repository"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(write(t, dir, "agent.yaml", tc.text))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// BenchmarkEventToRepository measures how long a container created and
// started, then removed, takes to show in the repository through the
// agent's event-following sync (the Hinemos scripts run every 5 minutes
// from cron). Each iteration is one create and one removal; the p50 and
// p99 of both together are reported from the API call (the engine's own
// create, start or removal included), and as lag from the call's return.
//
//	go test ./cmd/minato/internal/agent -run '^$' -bench EventToRepository -benchtime 100x
func BenchmarkEventToRepository(b *testing.B) {
	h := dockertest.New(b)
	dir := b.TempDir()
	repoPath := filepath.Join(dir, "inventory.db")
	repo, err := boltrepo.Open(repoPath, boltrepo.Options{})
	require.NoError(b, err)
	path := write(b, dir, "agent.yaml", fmt.Sprintf(`
engines: [{name: h1, host: %q}]
inventory: {sync: true, repository: %q, resync: 1h}
events: {enabled: false}
listen: 127.0.0.1:0
state_dir: %q
`, h.Host, repoPath, filepath.Join(dir, "state")))
	cfg, err := Load(path)
	require.NoError(b, err)
	a, err := New(cfg, os.Getenv, slog.New(slog.DiscardHandler))
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-a.Addr()
	image := h.Image(b)
	bg := context.Background()
	wait := func(id string, present bool) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := repo.Node(bg, id)
			if (err == nil) == present {
				return
			}
			if err != nil && !errors.Is(err, inventory.ErrNotFound) {
				b.Fatal(err)
			}
			if time.Now().After(deadline) {
				b.Fatalf("node %s present=%v: not after 30 s", id, !present)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	var lat, lag []time.Duration // from the call, and from its return
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("minato-bench-inv-%s-%d", h.RunID(), i)
		t0 := time.Now()
		c, err := h.Client.ContainerCreate(bg, &dcontainer.Config{Image: image, Cmd: []string{"sleep", "forever"},
			Labels: map[string]string{dockertest.LabelKey: h.RunID()}}, nil, nil, nil, name)
		require.NoError(b, err)
		require.NoError(b, h.Client.ContainerStart(bg, c.ID, dcontainer.StartOptions{}))
		t1 := time.Now()
		wait("h1-"+name, true)
		lat, lag = append(lat, time.Since(t0)), append(lag, time.Since(t1))
		t0 = time.Now()
		require.NoError(b, h.Client.ContainerRemove(bg, c.ID, dcontainer.RemoveOptions{Force: true}))
		t1 = time.Now()
		wait("h1-"+name, false)
		lat, lag = append(lat, time.Since(t0)), append(lag, time.Since(t1))
	}
	b.StopTimer()
	q := func(d []time.Duration, p float64) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[int(p*float64(len(d)-1))]) / 1e6
	}
	b.ReportMetric(q(lat, 0.5), "p50-ms")
	b.ReportMetric(q(lat, 0.99), "p99-ms")
	b.ReportMetric(float64(slices.Max(lat))/1e6, "max-ms")
	b.ReportMetric(q(lag, 0.5), "lag-p50-ms")
	b.ReportMetric(q(lag, 0.99), "lag-p99-ms")
}
