package bundle_test

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/diag/bundle"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitLog waits until the container's log holds want.
func waitLog(t *testing.T, c *container.Client, id, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var b strings.Builder
		err := c.Logs(context.Background(), id, container.LogsOptions{Stdout: &b, Stderr: &b})
		if err == nil && strings.Contains(b.String(), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %.12s did not log %q: %v %q", id, want, err, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCollectRealEngine(t *testing.T) {
	h := dockertest.New(t)
	c := clienttest.New(t, h)
	tag := h.RunID()[:8]

	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "sub", "b.txt"), []byte("bravo\n"), 0o600))

	netID := h.Network(t, "bundle-net-"+tag)
	db := h.Run(t, dockertest.RunOptions{
		Name: "bundle-db-" + tag,
		Env:  []string{"DB_PASSWORD=hunter2", "API_TOKEN=abc", "PATH=/usr/local/bin:/usr/bin:/bin"},
		// The workload prints its environment and an Authorization header
		// into its log: both must be redacted there too.
		Args: []string{"env", "--", "eprint", "Authorization: Bearer s3cr3t-bearer", "--", "print", "ready", "--", "sleep", "forever"},
	})
	web := h.Run(t, dockertest.RunOptions{
		Name: "bundle-web-" + tag, NetworkID: netID, Binds: []string{src + ":/data"},
		Labels: map[string]string{"bundle.test": tag},
		Args:   []string{"print", "web up", "--", "sleep", "forever"},
	})
	h.WaitState(t, db.ID, "running", 10*time.Second)
	h.WaitState(t, web.ID, "running", 10*time.Second)
	waitLog(t, c, db.ID, "ready")
	waitLog(t, c, web.ID, "web up")

	cfg := t.TempDir()
	daemon := filepath.Join(cfg, "daemon.json")
	require.NoError(t, os.WriteFile(daemon, []byte(`{"registry-mirrors": ["https://bob:mirrorpw@mirror.example"], "log-opts": {"max-size": "10m"}}`), 0o600))
	auth := base64.StdEncoding.EncodeToString([]byte("bob:regpass99"))
	cli := filepath.Join(cfg, "config.json")
	require.NoError(t, os.WriteFile(cli, []byte(`{"auths": {"registry.example": {"auth": "`+auth+`"}}}`), 0o600))

	ctx := context.Background()
	nets, err := c.ListNetworks(ctx, container.ListNetworksOptions{})
	require.NoError(t, err)
	i := slices.IndexFunc(nets.Networks, func(n container.Network) bool { return n.Name == "bridge" })
	require.GreaterOrEqual(t, i, 0, "the engine's default bridge network")
	bridge := nets.Networks[i]

	t.Run("two containers", func(t *testing.T) {
		var msgs []string
		res, err := bundle.Collect(ctx, c, bundle.Options{
			Dir: t.TempDir(), Host: "testhost", Now: fixedNow,
			Selector:     inventory.Selector{Names: []string{db.Name, web.Name}},
			DaemonConfig: daemon, DockerConfig: cli,
			Extra:    map[string][]byte{"agent-status.json": []byte(`{"state": "ok", "api_password": "xyz12345"}`)},
			Progress: func(m string) { msgs = append(msgs, m) },
		})
		require.NoError(t, err)
		assert.Empty(t, res.Errors)
		a := readArchive(t, res.Path)
		assert.Equal(t, "minato_03040506_testhost", a.top)

		ls := "ls_" + strings.ReplaceAll(strings.TrimPrefix(src, "/"), "/", "_") + ".info"
		perCtr := map[string][]string{
			db.ID:  {"container_" + db.Name + ".info", "network_" + bridge.ID + ".info", "mount.info"},
			web.ID: {"container_" + web.Name + ".info", "network_" + netID + ".info", "mount.info", ls},
		}
		want := []string{"engine.info", "daemon.json", "config.json", "agent-status.json", "net.info", "system.info"}
		ids := []string{db.ID, web.ID}
		slices.Sort(ids) // containers are collected in ID order
		for _, id := range ids {
			for _, f := range perCtr[id] {
				if !slices.Contains(want, f) {
					want = append(want, f)
				}
			}
			short := id[:12]
			assert.Contains(t, msgs, "Start to get container("+short+") info.")
			assert.Contains(t, msgs, "Start to get container("+short+") mount info.")
		}
		want = append(want, "collect.log", "REDACTIONS.txt")
		assert.Equal(t, want, a.names)

		dbInfo := a.files["container_"+db.Name+".info"]
		assert.Contains(t, dbInfo, `"Id": "`+db.ID+`"`, "inspect")
		assert.Contains(t, dbInfo, `"PATH=/usr/local/bin:/usr/bin:/bin"`)
		assert.Contains(t, dbInfo, `"DB_PASSWORD=[REDACTED]"`)
		assert.Contains(t, dbInfo, "Z ready\n", "log tail, with timestamps")
		assert.Contains(t, dbInfo, "Authorization: [REDACTED]")
		assert.Regexp(t, `(?m)^UID\tPID\tPPID`, dbInfo, "top")
		assert.Contains(t, dbInfo, `"memory": {`, "stats")
		assert.Contains(t, dbInfo, "container start "+db.ID, "events")
		assert.Contains(t, dbInfo, "### docker container cp "+db.Name+":/etc/hosts -")
		webInfo := a.files["container_"+web.Name+".info"]
		assert.Contains(t, webInfo, "web up")
		assert.Contains(t, webInfo, "network connect "+netID)
		assert.Contains(t, a.files["network_"+netID+".info"], `"Name": "`+web.Name+`"`)
		assert.Contains(t, a.files["network_"+bridge.ID+".info"], `"Name": "bridge"`)
		assert.Contains(t, a.files["mount.info"], src+":/data\n")
		assert.Contains(t, a.files["mount.info"], "# container "+db.Name+" ("+db.ID[:12]+")\n# (no mounts)\n")
		assert.Regexp(t, `(?m) a\.txt$`, a.files[ls])
		assert.Regexp(t, `(?m)^d.* sub$`, a.files[ls])
		assert.Regexp(t, `(?m)^-rw------- .* b\.txt$`, a.files[ls])
		assert.Regexp(t, `Engine: +unix://\S+ \(local: true\)`, a.files["engine.info"])
		assert.Contains(t, a.files["daemon.json"], `"max-size": "10m"`)
		assert.Contains(t, a.files["config.json"], `"registry.example"`)

		assertAbsent(t, a, `hunter2`, `\babc\b`, `s3cr3t-bearer`, `xyz12345`, `mirrorpw`, auth, `regpass99`)
		red := a.files["REDACTIONS.txt"]
		for _, k := range []string{"DB_PASSWORD", "API_TOKEN", "Authorization header"} {
			assert.Contains(t, red, "container_"+db.Name+".info\t"+k+"\t")
		}
		assert.Contains(t, red, "config.json\tauth\tjson key\t1\n")
		assert.Contains(t, red, "agent-status.json\tapi_password\tjson key\t1\n")
		assert.NotContains(t, red, "PATH")
	})

	t.Run("by label", func(t *testing.T) {
		res, err := bundle.Collect(ctx, c, bundle.Options{Dir: t.TempDir(), Host: "h", Now: fixedNow,
			Selector: inventory.Selector{Labels: map[string]string{"bundle.test": tag}}})
		require.NoError(t, err)
		assert.Contains(t, res.Files, "container_"+web.Name+".info")
		assert.NotContains(t, res.Files, "container_"+db.Name+".info")
	})

	t.Run("by ID, with a missing one", func(t *testing.T) {
		ghost := "0123456789ab"
		res, err := bundle.Collect(ctx, c, bundle.Options{Dir: t.TempDir(), Host: "h", Now: fixedNow,
			Selector: inventory.Selector{IDs: []string{db.ID[:12], ghost}}})
		require.NoError(t, err)
		assert.Contains(t, res.Files, "container_"+db.Name+".info")
		assert.NotContains(t, res.Files, "container_"+web.Name+".info")
		require.Len(t, res.Errors, 1)
		assert.Contains(t, res.Errors[0], "No such container: "+ghost)
		a := readArchive(t, res.Path)
		assert.Contains(t, a.files["collect.log"], "Error: No such container: "+ghost)
	})

	t.Run("compression fails", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.Mkdir(filepath.Join(dir, "minato_03040506_h.tar.gz"), 0o700))
		res, err := bundle.Collect(ctx, c, bundle.Options{Dir: dir, Host: "h", Now: fixedNow,
			Selector: inventory.Selector{Names: []string{db.Name}}})
		require.ErrorIs(t, err, bundle.ErrCompress)
		b, err := os.ReadFile(filepath.Join(res.Dir, "container_"+db.Name+".info"))
		require.NoError(t, err)
		assert.Contains(t, string(b), "ready")
		assert.NotContains(t, string(b), "hunter2")
	})
}
