package bundle_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/minato-ops/minato/diag/bundle"
	"github.com/minato-ops/minato/inventory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixedNow is the collection time of the tests: bundles are named
// <prefix>_03040506_<host>.
func fixedNow() time.Time { return time.Date(2025, 3, 4, 5, 6, 7, 0, time.Local) }

// archive is an extracted bundle: member names in archive order and
// contents by name (without the top directory).
type archive struct {
	top   string
	names []string
	files map[string]string
}

func readArchive(t *testing.T, path string) archive {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	a := archive{files: map[string]string{}}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if h.Typeflag == tar.TypeDir {
			require.Empty(t, a.top, "one top directory")
			a.top = strings.TrimSuffix(h.Name, "/")
			continue
		}
		dir, name, ok := strings.Cut(h.Name, "/")
		require.True(t, ok, h.Name)
		require.Equal(t, a.top, dir, "every member is inside the top directory")
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		a.names = append(a.names, name)
		a.files[name] = string(b)
	}
	return a
}

// assertAbsent checks that no file of the archive holds any of the
// secrets (regular expressions).
func assertAbsent(t *testing.T, a archive, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		re := regexp.MustCompile(s)
		for name, content := range a.files {
			assert.False(t, re.MatchString(content), "secret %s found in %s", s, name)
		}
	}
}

// fakeClient starts the fake engine on dir and returns a client for it.
func fakeClient(t *testing.T, dir string, opts ...enginetest.Option) (*enginetest.Server, *container.Client) {
	t.Helper()
	srv, err := startFake(dir, opts...)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	c, err := container.New(container.Config{Host: srv.URL})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return srv, c
}

func TestCollectWritesJobCenterLayout(t *testing.T) {
	_, c := fakeClient(t, fixtures)
	dir := t.TempDir()
	var msgs []string
	res, err := bundle.Collect(context.Background(), c, bundle.Options{
		Dir: dir, Host: "db1", Now: fixedNow,
		Selector: inventory.Selector{Labels: map[string]string{"app": ""}},
		Progress: func(m string) { msgs = append(msgs, m) },
	})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "minato_03040506_db1.tar.gz"), res.Path)
	assert.Empty(t, res.Dir, "the directory is removed once compressed")
	_, err = os.Stat(filepath.Join(dir, "minato_03040506_db1"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	fi, err := os.Stat(res.Path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the bundle is its owner's only")

	// The container listed but removed before it could be inspected is an
	// error line; the other two are collected.
	require.Len(t, res.Errors, 1)
	assert.Contains(t, res.Errors[0], "container(f3f3f3f3dead) gone: removed while collecting")
	assert.Equal(t, []string{
		"Start to get docker info.",
		"Start to copy system files.",
		"Start to get net info.",
		"Start to get system info.",
		"Start to get container(d1b0a1e0c0ff) info.",
		"Start to copy files from container(d1b0a1e0c0ff).",
		"Start to get container(d1b0a1e0c0ff) network info.",
		"Start to get container(d1b0a1e0c0ff) mount info.",
		"Start to get container(e2e2e2e2f00d) info.",
		"Start to copy files from container(e2e2e2e2f00d).",
		"Start to get container(e2e2e2e2f00d) network info.",
		"Start to get container(e2e2e2e2f00d) mount info.",
		"Start to get container(f3f3f3f3dead) info.",
		"Error: " + res.Errors[0],
		"Start to compress.",
		`The Info file "` + res.Path + `" was created successfully.`,
	}, msgs)

	a := readArchive(t, res.Path)
	assert.Equal(t, "minato_03040506_db1", a.top)
	want := []string{"engine.info", "net.info", "system.info", "container_db.info", "network_" + netB + ".info", "mount.info",
		"container_web.info", "network_" + netA + ".info", "collect.log", "REDACTIONS.txt"}
	assert.Equal(t, want, a.names)
	assert.Equal(t, want, res.Files)

	db := a.files["container_db.info"]
	for _, s := range []string{"### docker container inspect db", `"Id": "` + dbID + `"`, "### docker container logs --timestamps --tail 1000 db",
		"database system is ready to accept connections", "### docker container top db", "postgres --auth-password [REDACTED]",
		"### docker container stats --no-stream db", `"total_usage": 123456789`, "### docker events --filter container=db",
		"container start " + dbID, "network connect " + netB, "### docker container cp db:/etc/resolv.conf -", "nameserver 127.0.0.11",
		`"PATH=/usr/local/bin:/usr/bin:/bin"`, `"PGPASSWORD_FILE=/run/secrets/pg"`, `"DB_PASSWORD=[REDACTED]"`} {
		assert.Contains(t, db, s)
	}
	web := a.files["container_web.info"]
	assert.Contains(t, web, "nginx: start worker processes", "a TTY container's log is read raw")
	assert.Contains(t, web, "not running (exited): no processes")
	assert.Contains(t, web, "container die "+webID)
	assert.NotContains(t, web, "container start "+dbID, "each container gets its own events")

	var netDoc struct {
		Name       string
		Containers map[string]struct{ Name, IPv4Address string }
	}
	body := a.files["network_"+netB+".info"]
	require.NoError(t, json.Unmarshal([]byte(body[strings.Index(body, "{"):]), &netDoc))
	assert.Equal(t, "bridge", netDoc.Name)
	assert.Equal(t, "172.17.0.2/16", netDoc.Containers[dbID].IPv4Address)

	assert.Contains(t, a.files["mount.info"], "# container db (d1b0a1e0c0ff)\n/srv/pgdata:/var/lib/postgresql/data\n")
	assert.Contains(t, a.files["mount.info"], "not listed from here", "a remote engine's mount sources are not listed")
	assert.Contains(t, a.files["engine.info"], "Server:         28.5.2")
	assert.Contains(t, a.files["engine.info"], "### docker info\nWARNING: No swap limit support\n")
	assert.Contains(t, a.files["engine.info"], "postgres@sha256:4444")
	assert.Contains(t, a.files["net.info"], "### sysctl")
	assert.Contains(t, a.files["net.info"], netA+"  appnet")
	assert.Contains(t, a.files["system.info"], "Selection:     label app (3 containers)")
	assert.Contains(t, a.files["collect.log"], "Start to get container(e2e2e2e2f00d) mount info.")

	assertAbsent(t, a, `hunter2`, `s3cret-flag`, `eyJhbGciOiJIUzI1NiJ9\.tok`, `\babc\b`)
	for _, line := range []string{"container_db.info\tDB_PASSWORD\tname=value\t1", "container_db.info\tAPI_TOKEN\tname=value\t1",
		"container_db.info\tDB_PASSWORD\tknown secret value\t1", "container_db.info\tAuthorization header\theader\t1",
		"container_db.info\t--auth-password\tflag\t3"} {
		assert.Contains(t, a.files["REDACTIONS.txt"], line+"\n")
	}
	assert.NotContains(t, a.files["REDACTIONS.txt"], "PATH")
	assert.Contains(t, res.Redactions, bundle.Redaction{File: "container_db.info", Key: "DB_PASSWORD", Kind: bundle.KindNameValue, Count: 1})
}

func TestCollectSelectsByNameAndIDAndReportsMissing(t *testing.T) {
	_, c := fakeClient(t, fixtures)
	for _, tc := range []struct {
		name  string
		sel   inventory.Selector
		files []string
		errs  []string
	}{
		{"names", inventory.Selector{Names: []string{"web", "ghost"}}, []string{"container_web.info"}, []string{"No such container: ghost"}},
		{"short ID", inventory.Selector{IDs: []string{dbID[:12]}}, []string{"container_db.info"}, nil},
		{"ID prefix", inventory.Selector{IDs: []string{"e2e2*", "abcdef012345"}}, []string{"container_web.info"}, []string{"No such container: abcdef012345"}},
		{"label", inventory.Selector{Labels: map[string]string{"app": "web"}}, []string{"container_web.info"}, nil},
		{"nothing", inventory.Selector{Labels: map[string]string{"app": "none"}}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := bundle.Collect(context.Background(), c, bundle.Options{Dir: t.TempDir(), Host: "h", Now: fixedNow, Selector: tc.sel})
			require.NoError(t, err)
			var got []string
			for _, f := range res.Files {
				if strings.HasPrefix(f, "container_") {
					got = append(got, f)
				}
			}
			assert.Equal(t, tc.files, got)
			require.Len(t, res.Errors, len(tc.errs))
			for i, e := range tc.errs {
				assert.Contains(t, res.Errors[i], e)
			}
			a := readArchive(t, res.Path)
			if tc.files == nil {
				assert.Contains(t, a.files["collect.log"], "No container matches label app=none")
				assert.NotContains(t, a.names, "mount.info")
			}
		})
	}
}

func TestCollectStopsWhenTheEngineDoesNotAnswer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	c, err := container.New(container.Config{Host: "tcp://" + addr, Timeout: 2 * time.Second})
	require.NoError(t, err)
	defer c.Close()
	dir := t.TempDir()
	var msgs []string
	res, err := bundle.Collect(context.Background(), c, bundle.Options{Dir: dir, Host: "h", Now: fixedNow, Progress: func(m string) { msgs = append(msgs, m) }})
	require.Error(t, err)
	assert.ErrorIs(t, err, container.ErrUnreachable)
	assert.Contains(t, err.Error(), "docker version error")
	assert.Contains(t, err.Error(), "DOCKER_HOST")
	assert.Equal(t, []string{"Start to get docker info.", "docker version error. Get docker info error! Stop."}, msgs)
	assert.Equal(t, bundle.Result{}, res)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing is written")
}

func TestCollectStopsWhenInfoFails(t *testing.T) {
	fx := t.TempDir()
	copyDir(t, fixtures, fx)
	require.NoError(t, os.WriteFile(filepath.Join(fx, "errors.json"), []byte(`{"GET /info": {"status": 500, "message": "info is broken"}}`), 0o644))
	_, c := fakeClient(t, fx)
	var msgs []string
	_, err := bundle.Collect(context.Background(), c, bundle.Options{Dir: t.TempDir(), Host: "h", Now: fixedNow, Progress: func(m string) { msgs = append(msgs, m) }})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "info is broken")
	assert.Equal(t, []string{"Start to get docker info.", "docker info error. Get docker info error! Stop."}, msgs)
}

func TestCollectKeepsTheDirectoryWhenCompressionFails(t *testing.T) {
	_, c := fakeClient(t, fixtures)
	dir := t.TempDir()
	// A directory where the archive goes: it cannot be created, even by root.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "minato_03040506_h.tar.gz"), 0o755))
	var msgs []string
	res, err := bundle.Collect(context.Background(), c, bundle.Options{Dir: dir, Host: "h", Now: fixedNow,
		Selector: inventory.Selector{Names: []string{"db"}}, Progress: func(m string) { msgs = append(msgs, m) }})
	require.ErrorIs(t, err, bundle.ErrCompress)
	kept := filepath.Join(dir, "minato_03040506_h")
	assert.Contains(t, err.Error(), kept)
	assert.Equal(t, kept, res.Dir)
	assert.Empty(t, res.Path)
	require.GreaterOrEqual(t, len(msgs), 3)
	assert.Equal(t, []string{"Start to compress.", "tar error. Failed to compress the files! Stop.", `The files are kept in the directory "` + kept + `".`}, msgs[len(msgs)-3:])
	for _, f := range res.Files {
		b, err := os.ReadFile(filepath.Join(kept, f))
		require.NoError(t, err, f)
		assert.NotContains(t, string(b), "hunter2", f)
	}
	assert.Contains(t, res.Files, "container_db.info")
}

func TestCollectRefusesAnExistingDirectory(t *testing.T) {
	_, c := fakeClient(t, fixtures)
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "minato_03040506_h"), 0o755))
	_, err := bundle.Collect(context.Background(), c, bundle.Options{Dir: dir, Host: "h", Now: fixedNow})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already exists")
}

// A local engine (a unix socket): mount sources are listed, the daemon's
// configuration is read, and registry auths anywhere are redacted.
func TestCollectLocalEngineListsMountsAndRedactsConfigs(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "sub", "deeper"), 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "sub", "b.txt"), []byte("bravo\n"), 0o600))
	require.NoError(t, os.Symlink("a.txt", filepath.Join(src, "link")))

	fx := t.TempDir()
	copyDir(t, fixtures, fx)
	inspect := filepath.Join(fx, "inspect_"+dbID+".json")
	b, err := os.ReadFile(inspect)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(inspect, []byte(strings.ReplaceAll(string(b), "/srv/pgdata", src)), 0o644))

	cfg := t.TempDir()
	daemon := filepath.Join(cfg, "daemon.json")
	require.NoError(t, os.WriteFile(daemon, []byte(`{"registry-mirrors": ["https://mirroruser:mirrorpw@mirror.example"], "log-driver": "json-file", "tlskey": "/etc/docker/key.pem"}`), 0o644))
	cli := filepath.Join(cfg, "config.json")
	require.NoError(t, os.WriteFile(cli, []byte(`{"auths": {"registry.example": {"auth": "dXNlcjpyZWdwYXNz"}, "other.example": {"identitytoken": "idtok-12345"}}, "HttpHeaders": {"Authorization": "Basic aGVhZGVyOnB3"}}`), 0o644))

	sock := filepath.Join(t.TempDir(), "e.sock")
	_, c := fakeClient(t, fx, enginetest.WithUnixSocket(sock))
	require.True(t, c.Local())
	res, err := bundle.Collect(context.Background(), c, bundle.Options{
		Dir: t.TempDir(), Host: "h", Now: fixedNow, Prefix: "jc_docker_data",
		Selector:     inventory.Selector{Names: []string{"db"}},
		DaemonConfig: daemon, DockerConfig: cli, ListDepth: 1,
		Extra: map[string][]byte{
			"agent-status.json": []byte(`{"state": "running", "webhook_token": "whtok-98765"}`),
			"findings.txt":      []byte("container db: DB_PASSWORD=hunter2 seen in the environment\n"),
		},
	})
	require.NoError(t, err)
	assert.Empty(t, res.Errors)
	a := readArchive(t, res.Path)
	assert.Equal(t, "jc_docker_data_03040506_h", a.top)
	ls := "ls_" + strings.ReplaceAll(strings.TrimPrefix(src, "/"), "/", "_") + ".info"
	assert.Equal(t, []string{"engine.info", "daemon.json", "config.json", "agent-status.json", "findings.txt", "net.info", "system.info",
		"container_db.info", "network_" + netB + ".info", "mount.info", ls, "collect.log", "REDACTIONS.txt"}, a.names)

	assert.Contains(t, a.files["mount.info"], src+":/var/lib/postgresql/data\n")
	listing := a.files[ls]
	assert.Regexp(t, `(?m)^-rw-r--r-- +\d+ +\d+ +6 \S+ a\.txt$`, listing)
	assert.Regexp(t, `(?m)^drwxr-x--- +\d+ +\d+ +\d+ \S+ sub$`, listing)
	assert.Regexp(t, `(?m)^lrwxrwxrwx .* link -> a\.txt$`, listing)
	assert.Contains(t, listing, "\n"+filepath.Join(src, "sub")+":\n")
	assert.Regexp(t, `(?m)^-rw------- .* b\.txt$`, listing)
	assert.Contains(t, listing, "1 subdirectories deeper than 1 levels are not listed")
	assert.NotContains(t, listing, filepath.Join(src, "sub", "deeper")+":")

	assert.Contains(t, a.files["daemon.json"], `"log-driver": "json-file"`)
	assert.Contains(t, a.files["daemon.json"], "https://mirroruser:[REDACTED]@mirror.example")
	assert.Contains(t, a.files["daemon.json"], `"tlskey": "/etc/docker/key.pem"`, "where the key is, not the key")
	assert.Contains(t, a.files["config.json"], `"registry.example"`, "which registries have a login stays visible")
	assert.Contains(t, a.files["agent-status.json"], `"state": "running"`)
	assertAbsent(t, a, `mirrorpw`, `dXNlcjpyZWdwYXNz`, `idtok-12345`, `aGVhZGVyOnB3`, `whtok-98765`, `hunter2`)
	for _, line := range []string{"config.json\tauth\tjson key\t1", "config.json\tidentitytoken\tjson key\t1", "config.json\tAuthorization\tjson key\t1",
		// Values learnt from the environment and the files are hunted first, whole.
		"daemon.json\tURL password\tknown secret value\t1", "agent-status.json\twebhook_token\tjson key\t1", "findings.txt\tDB_PASSWORD\tknown secret value\t1"} {
		assert.Contains(t, a.files["REDACTIONS.txt"], line+"\n")
	}
}

func TestOptionsValidate(t *testing.T) {
	assert.NoError(t, bundle.Options{}.Validate())
	assert.NoError(t, bundle.Options{Prefix: "jc_docker_data", LogTail: 10, Extra: map[string][]byte{"agent.json": nil}}.Validate())
	err := bundle.Options{
		Prefix: "a/b", LogTail: -1, ListDepth: -1, ListEntries: -2,
		Selector: inventory.Selector{IDs: []string{"abc"}, Names: []string{"x"}},
		Extra:    map[string][]byte{"../x": nil, "mount.info": nil, "container_x.info": nil},
	}.Validate()
	require.Error(t, err)
	for _, s := range []string{`prefix "a/b"`, "log tail -1", "list depth -1", "list entries -2", "select by ID or by name", `extra file "../x"`,
		`extra file "mount.info"`, `extra file "container_x.info"`} {
		assert.Contains(t, err.Error(), s)
	}
	_, err = bundle.Collect(context.Background(), nil, bundle.Options{Prefix: "a b"})
	assert.ErrorContains(t, err, `prefix "a b"`)
	_, err = bundle.Collect(context.Background(), nil, bundle.Options{})
	assert.ErrorContains(t, err, "no engine client")
}

func TestName(t *testing.T) {
	at := time.Date(2025, 12, 31, 23, 59, 30, 0, time.UTC)
	assert.Equal(t, "minato_12312359_my_host.example", bundle.Name("", "my host.example", at))
	assert.Equal(t, "jc_docker_data_12312359_db1", bundle.Name("jc_docker_data", "db1", at))
}

func TestCollectHonoursCancellation(t *testing.T) {
	_, c := fakeClient(t, fixtures)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := bundle.Collect(ctx, c, bundle.Options{Dir: t.TempDir(), Host: "h", Now: fixedNow})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, res.Path)
}

// copyDir copies the regular files of src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
}

// More containers than are read ahead of the writer: all are collected,
// in ID order, each with its own log.
func TestCollectManyContainers(t *testing.T) {
	fx := t.TempDir()
	var list []map[string]any
	for i := range 13 {
		id := strings.Repeat(string("0123456789abcdef"[i]), 64)
		name := "svc-" + string(rune('a'+i))
		list = append(list, map[string]any{"Id": id, "Names": []string{"/" + name}, "State": "exited", "Labels": map[string]string{"app": "svc"}})
		doc := map[string]any{"Id": id, "Name": "/" + name, "Created": "2025-01-01T12:00:00Z", "State": map[string]any{"Status": "exited"},
			"Config": map[string]any{"Env": []string{"SVC_TOKEN=tok-" + name}}, "Mounts": []any{}}
		b, err := json.Marshal(doc)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(fx, "inspect_"+id+".json"), b, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(fx, "logs_"+id+".txt"), []byte("log of "+name+" with tok-"+name+"\n"), 0o644))
	}
	b, err := json.Marshal(list)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(fx, "containers.json"), b, 0o644))
	for _, f := range []string{"info.json", "networks.json", "images.json", "volumes.json", "system_df.json"} {
		b, err := os.ReadFile(filepath.Join(fixtures, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(fx, f), b, 0o644))
	}
	_, c := fakeClient(t, fx)
	var msgs []string
	res, err := bundle.Collect(context.Background(), c, bundle.Options{Dir: t.TempDir(), Host: "h", Now: fixedNow,
		Progress: func(m string) {
			if strings.HasSuffix(m, ") info.") {
				msgs = append(msgs, m)
			}
		}})
	require.NoError(t, err)
	assert.Empty(t, res.Errors)
	require.Len(t, msgs, 13)
	for i, m := range msgs {
		assert.Equal(t, "Start to get container("+strings.Repeat(string("0123456789abcdef"[i]), 12)+") info.", m)
	}
	a := readArchive(t, res.Path)
	for i := range 13 {
		name := "svc-" + string(rune('a'+i))
		assert.Contains(t, a.files["container_"+name+".info"], "log of "+name+" with [REDACTED]\n")
	}
	assertAbsent(t, a, `tok-svc`)
}
