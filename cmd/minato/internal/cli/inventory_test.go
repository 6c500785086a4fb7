package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/dockerdtest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/boltrepo"
	"github.com/minato-ops/minato/inventory/hinemos"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInventoryUsageErrors(t *testing.T) {
	host := dockertest.Unreachable(t) // usage errors are found before any engine call
	dir := t.TempDir()
	repo := filepath.Join(dir, "inventory.db")
	junk := filepath.Join(dir, "junk.json")
	require.NoError(t, os.WriteFile(junk, []byte(`{"taken": 1}`), 0o600))
	cfg := filepath.Join(dir, "agent.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("engines: [{name: h1, host: 'unix:///nowhere.sock'}]\nevents: {enabled: true}\n"), 0o600))
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"inventory", "add"}, "-f HOST_FACILITY_ID is required"},
		{[]string{"inventory", "delete", "-i", "10.0.0.1"}, "-f HOST_FACILITY_ID is required"},
		{[]string{"inventory", "add", "-f", "docker host1"}, `-f "docker host1": facility ID "docker host1": ' ' is not allowed`},
		{[]string{"inventory", "update", "-f", "h1", "--lang", "fr"}, `--lang "fr": want en or ja`},
		{[]string{"inventory", "add", "-f", "h1", "extra"}, `takes no arguments, got "extra"`},
		{[]string{"inventory", "add", "-f", "h1", "-m", "http://127.0.0.1:8080/HinemosWS"}, "SOAP endpoint (HinemosWS) is gone from Hinemos 7"},
		{[]string{"inventory", "add", "-f", "h1", "-m", "http://127.0.0.1:8080"}, "-m needs --password-file FILE"},
		{[]string{"inventory", "sync", "--config", cfg, "-i", "10.0.0.1"}, "-i/-p and --config"},
		{[]string{"inventory", "add", "--config", cfg, "-f", "h9"}, "-f h9: " + cfg + " has no such engine (it has h1)"},
		{[]string{"inventory", "show", "--format", "xml"}, `--format "xml": want table or json`},
		{[]string{"inventory", "show", "--kind", "pod"}, `--kind "pod": want container, image, network or volume`},
		{[]string{"inventory", "show", "-c", "abc", "-n", "web"}, "-c and -n cannot be used together"},
		{[]string{"inventory", "diff"}, "takes OLD.json and optionally NEW.json, got 0 arguments"},
		{[]string{"inventory", "diff", junk, junk}, "not a snapshot saved by"},
		{[]string{"inventory", "export", "--format", "xml", "--repo", repo}, `--format "xml": want json or csv`},
		{[]string{"inventory", "scope", "add", "--repo", repo}, "usage: minato inventory scope add ID"},
		{[]string{"inventory", "scope", "add", "web 1", "--repo", repo}, `scope facility ID "web 1": ' ' is not allowed`},
		{[]string{"inventory", "scope", "mv", "web1"}, `unknown scope command "mv"`},
		{[]string{"inventory", "scope", "rm", "nosuch", "--repo", repo}, "no such facility"},
		{[]string{"inventory", "frob"}, `unknown inventory command "frob"`},
		{[]string{"job", "stop", "--scope", "web1"}, "--scope needs the engines the repository's nodes are on"},
		{[]string{"job", "stop", "--scope", "web 1", "--engine", "h1"}, `"web 1"`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errs := run(t, host, c.args...)
			assert.Equal(t, 1, code, "stdout: %s", out)
			assert.Contains(t, errs, c.want)
		})
	}
	code, out, _ := run(t, host, "inventory", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "RepositoryDockerNodeAdd.py")
	code, out, _ = run(t, host, "inventory", "add", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "hinemosAssignScopeId")
}

// TestInventoryScriptsOnRealEngine runs the three scripts' commands as an
// operator would on the local engine: scopes web1 and web2 exist, web3
// does not; containers A (web1), B (web1,web2), C (web1, web3).
func TestInventoryScriptsOnRealEngine(t *testing.T) {
	h := dockertest.New(t)
	dir := t.TempDir()
	repo := filepath.Join(dir, "inventory.db")
	p := "invcli" + h.RunID()[:6]
	// Scope names of this run only: the sync registers every container of
	// the engine, other tests' and users' included.
	w1, w2, w3 := p+"w1", p+"w2", p+"w3"
	mk := func(name, scopes string) dockertest.Container {
		return h.Run(t, dockertest.RunOptions{Name: p + "-" + name, Args: []string{"sleep", "forever"},
			Labels: map[string]string{hinemos.LabelAssignScope: scopes}})
	}
	a, b, c := mk("a", w1), mk("b", w1+","+w2), mk("c", w1+", "+w3)
	for _, x := range []dockertest.Container{a, b, c} {
		h.WaitState(t, x.ID, "running", 10*time.Second)
	}
	fid := func(x dockertest.Container) string { return "docker_host1-" + x.Name }

	for _, s := range []string{w1, w2} {
		code, out, errs := run(t, h.Host, "inventory", "scope", "add", s, "--repo", repo)
		require.Equal(t, 0, code, errs)
		assert.Equal(t, "scope "+s+" saved\n", out)
	}
	code, out, errs := run(t, h.Host, "inventory", "add", "-f", "docker_host1", "--repo", repo)
	require.Equal(t, 0, code, errs)
	assert.True(t, strings.HasPrefix(out, "Started.\n"), out)
	assert.True(t, strings.HasSuffix(out, "Completed.\n"), out)
	for _, want := range []string{
		"Creating docker_container.", "Creating docker_host1_scope.", "Creating docker_host1.",
		"Creating " + fid(a) + ".", "Creating " + fid(b) + ".", "Creating " + fid(c) + ".",
		fmt.Sprintf("  port not bind Id:%s Name:%s Status:'", a.ID[:12], a.Name),
		"[skip] Scope " + w3 + " does not exist; skipping the assignment.",
	} {
		assert.Contains(t, out, want)
	}
	// The second run adds nothing of ours: every node exists.
	code, out, _ = run(t, h.Host, "inventory", "add", "-f", "docker_host1", "--repo", repo, "--lang", "ja")
	require.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out, "開始しました。\n"), out)
	assert.NotContains(t, out, fid(a)+" を作成します。")
	assert.Contains(t, out, "完了しました。")

	members := func(scope string) []string {
		r, err := boltrepo.Open(repo, boltrepo.Options{})
		require.NoError(t, err)
		ms, err := r.Members(context.Background(), scope)
		require.NoError(t, err)
		var ours []string
		for _, m := range ms {
			if strings.HasPrefix(m, "docker_host1-"+p) {
				ours = append(ours, m)
			}
		}
		return ours
	}
	assert.Equal(t, []string{fid(a), fid(b), fid(c)}, members(w1))
	assert.Equal(t, []string{fid(b)}, members(w2))

	// C stops: update follows the state and the managed flag.
	code, out, errs = run(t, h.Host, "job", "stop", "-n", c.Name, "-t", "0")
	require.Equal(t, 0, code, errs)
	assert.Equal(t, c.ID[:12]+" "+c.Name+" Success\n", out)
	code, out, errs = run(t, h.Host, "inventory", "update", "-f", "docker_host1", "--repo", repo)
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "  "+fid(c)+"\n   running -> exited\n")
	assert.Contains(t, out, "  "+fid(a)+"\n   running -> running [skip]\n")
	assert.Contains(t, out, "[skip] Already assigned to scope "+w1+".")

	code, out, errs = run(t, h.Host, "inventory", "export", "--repo", repo)
	require.Equal(t, 0, code, errs)
	var ex inventory.RepositoryExport
	require.NoError(t, json.Unmarshal([]byte(out), &ex))
	byID := map[string]inventory.NodeExport{}
	for _, n := range ex.Nodes {
		byID[n.FacilityID] = n
	}
	require.Contains(t, byID, fid(c))
	assert.False(t, byID[fid(c)].Managed)
	assert.Equal(t, "exited", byID[fid(c)].Variables[hinemos.VarStatus])
	assert.True(t, byID[fid(a)].Managed)
	assert.Equal(t, a.ID[:12], byID[fid(a)].NodeName)
	assert.Equal(t, "127.0.0.1", byID[fid(a)].IPv4, "the scripts' default -i for a local socket")
	code, out, _ = run(t, h.Host, "inventory", "export", "--repo", repo, "--format", "csv")
	require.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out, "facility_id,facility_name,managed,"), out)
	assert.Contains(t, out, fid(c)+","+c.Name+",false,")

	// A job on scope web1: A and B stop, C is already stopped.
	code, out, errs = run(t, h.Host, "job", "stop", "--scope", w1, "--engine", "docker_host1", "--repo", repo, "-t", "0")
	require.Equal(t, 0, code, errs)
	assert.Equal(t, map[string]string{a.Name: "Success", b.Name: "Success", c.Name: "Skipped (exited)"}, lines(out))
	// -n narrows the scope.
	code, out, errs = run(t, h.Host, "job", "start", "--scope", w2, "-n", p+"*", "--engine", "docker_host1", "--repo", repo)
	require.Equal(t, 0, code, errs)
	assert.Equal(t, map[string]string{b.Name: "Success"}, lines(out))

	// Snapshots and diff: B is removed between two saved snapshots.
	snapA := filepath.Join(dir, "a.json")
	code, out, errs = run(t, h.Host, "inventory", "show", "--format", "json", "-n", p+"*")
	require.Equal(t, 0, code, errs)
	require.NoError(t, os.WriteFile(snapA, []byte(out), 0o600))
	code, out, _ = run(t, h.Host, "inventory", "show", "-n", p+"*")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "engine local (")
	assert.Contains(t, out, b.ID[:12]+"  "+b.Name)
	code, _, errs = run(t, h.Host, "job", "rm", "-n", b.Name, "-f")
	require.Equal(t, 0, code, errs)
	snapB := filepath.Join(dir, "b.json")
	_, out, _ = run(t, h.Host, "inventory", "show", "--format", "json", "-n", p+"*")
	require.NoError(t, os.WriteFile(snapB, []byte(out), 0o600))
	code, out, errs = run(t, h.Host, "inventory", "diff", snapA, snapB)
	require.Equal(t, 0, code, errs)
	assert.Equal(t, fmt.Sprintf("- container local/%s (%s)\n", b.Name, b.ID[:12]), out)
	code, out, _ = run(t, h.Host, "inventory", "diff", snapB, snapB)
	require.Equal(t, 0, code)
	assert.Equal(t, "no changes\n", out)

	// Delete removes B's node only, and its assignments with it.
	code, out, errs = run(t, h.Host, "inventory", "delete", "-f", "docker_host1", "--repo", repo)
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, fid(b))
	assert.Equal(t, []string{fid(a), fid(c)}, members(w1))
	assert.Empty(t, members(w2))

	// An engine that does not answer: exit 1, the repository untouched.
	code, out, errs = run(t, dockertest.Unreachable(t), "inventory", "delete", "-f", "docker_host1", "--repo", repo)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, errs, "engine docker_host1")
	assert.Equal(t, []string{fid(a), fid(c)}, members(w1), "nothing deleted for an engine that cannot be listed")

	code, out, _ = run(t, h.Host, "inventory", "scope", "ls", "--repo", repo)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "docker_host1_scope  docker_host1_scope  docker_map")
	code, out, _ = run(t, h.Host, "inventory", "scope", "ls", w1, "--repo", repo)
	require.Equal(t, 0, code)
	assert.Contains(t, out, fid(a)+"\n")
}

// TestInventorySyncTwoEngines: minato inventory sync over an agent
// configuration with two real engines, then a job selects by scope on
// both of them.
func TestInventorySyncTwoEngines(t *testing.T) {
	local := dockertest.New(t)
	second := dockerdtest.Start(t)
	remote := second.Harness(t)
	dir := t.TempDir()
	repo := filepath.Join(dir, "inventory.db")
	p := "invsync" + local.RunID()[:6]
	w1 := p + "w1" // this run's scope: the sync registers every container of the engines
	a := local.Run(t, dockertest.RunOptions{Name: p + "-a", Args: []string{"sleep", "forever"}, Labels: map[string]string{hinemos.LabelAssignScope: w1}})
	b := remote.Run(t, dockertest.RunOptions{Name: p + "-b", Args: []string{"sleep", "forever"}, Labels: map[string]string{hinemos.LabelAssignScope: w1}})
	other := remote.Run(t, dockertest.RunOptions{Name: p + "-x", Args: []string{"sleep", "forever"}})
	cfg := filepath.Join(dir, "agent.yaml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `
engines:
  - {name: docker_host1, host: %q}
  - {name: docker_host2, host: %q}
inventory: {repository: inventory.db}
events: {enabled: true}
`, local.Host, second.Host), 0o600))

	code, _, errs := run(t, "", "inventory", "scope", "add", w1, "--config", cfg)
	require.Equal(t, 0, code, errs)
	code, out, errs := run(t, "", "inventory", "sync", "--config", cfg)
	require.Equal(t, 0, code, errs)
	// The scripts' order: add for both hosts, then delete, then update.
	i1, i2 := strings.Index(out, "Creating docker_host1-"+a.Name), strings.Index(out, "Creating docker_host2-"+b.Name)
	d1 := strings.Index(out, "Deleting the Docker container nodes.")
	require.True(t, i1 >= 0 && i2 >= 0 && d1 >= 0, out)
	assert.True(t, i1 < i2 && i2 < d1, "add h1, add h2, then delete")

	code, out, errs = run(t, "", "job", "stop", "--scope", w1, "--config", cfg, "-t", "0")
	require.Equal(t, 0, code, errs)
	assert.Equal(t, map[string]string{a.Name: "Success", b.Name: "Success"}, lines(out))
	local.WaitState(t, a.ID, "exited", 10*time.Second)
	remote.WaitState(t, b.ID, "exited", 10*time.Second)
	remote.WaitState(t, other.ID, "running", time.Second)

	// The repository file named by the configuration, relative to it.
	_, err := os.Stat(repo)
	require.NoError(t, err)
	code, out, _ = run(t, "", "inventory", "show", "--config", cfg, "-n", p+"*")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "engine docker_host1 (")
	assert.Contains(t, out, "engine docker_host2 (")
	assert.Contains(t, out, "docker_host2  "+b.ID[:12])
}

// TestInventoryDockerContexts: the engines of the docker CLI's contexts.
func TestInventoryDockerContexts(t *testing.T) {
	h := dockertest.New(t)
	c := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	dir := t.TempDir()
	meta := filepath.Join(dir, "contexts", "meta", "0123")
	require.NoError(t, os.MkdirAll(meta, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(meta, "meta.json"),
		fmt.Appendf(nil, `{"Name":"ctx-local","Endpoints":{"docker":{"Host":%q,"SkipTLSVerify":false}}}`, h.Host), 0o600))
	var out, errb strings.Builder
	getenv := func(k string) string {
		if k == "DOCKER_CONFIG" {
			return dir
		}
		return ""
	}
	code := Main(context.Background(), []string{"inventory", "show", "--contexts", "-n", c.Name}, Env{Stdout: &out, Stderr: &errb, Getenv: getenv})
	require.Equal(t, 0, code, errb.String())
	assert.Contains(t, out.String(), "engine ctx-local ("+h.Host+")")
	assert.Contains(t, out.String(), "ctx-local  "+c.ID[:12]+"  "+c.Name)

	empty := t.TempDir()
	errb.Reset()
	code = Main(context.Background(), []string{"inventory", "show", "--contexts"}, Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		if k == "DOCKER_CONFIG" {
			return empty
		}
		return ""
	}})
	assert.Equal(t, 1, code)
	assert.Contains(t, errb.String(), "no usable docker context under "+empty)
}
