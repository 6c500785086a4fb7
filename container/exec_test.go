package container_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExecRelaysOutputAndExitCode(t *testing.T) {
	c, srv := newFake(t, basicDir)
	var stdout, stderr bytes.Buffer
	before := time.Now()
	res, err := c.Exec(context.Background(), "web-1", container.ExecOptions{
		Cmd: []string{"nginx", "-t"}, Env: []string{"A=1"}, User: "101", WorkingDir: "/etc/nginx",
		Stdout: &stdout, Stderr: &stderr, Timeout: time.Minute,
	})
	require.NoError(t, err)
	assert.Equal(t, "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n", stdout.String())
	assert.Equal(t, "nginx: configuration file /etc/nginx/nginx.conf test is successful\n", stderr.String())
	assert.Equal(t, 3, res.ExitCode, "a non-zero exit code is a result, not an error")
	assert.False(t, res.TimedOut)
	assert.Equal(t, container.KilledNone, res.Killed)
	assert.Regexp(t, `^[0-9a-f]{64}$`, res.ID)
	assert.False(t, res.Started.Before(before))
	assert.False(t, res.Ended.Before(res.Started))

	create := only(t, srv, "POST", "/containers/web-1/exec")
	var cfg struct {
		User                                    string
		Privileged, Tty                         bool
		AttachStdin, AttachStdout, AttachStderr bool
		Env, Cmd                                []string
		WorkingDir                              string
	}
	require.NoError(t, json.Unmarshal(create.Body, &cfg))
	assert.Equal(t, []string{"nginx", "-t"}, cfg.Cmd)
	assert.Equal(t, "101", cfg.User)
	assert.Equal(t, "/etc/nginx", cfg.WorkingDir)
	assert.False(t, cfg.AttachStdin)
	assert.True(t, cfg.AttachStdout)
	assert.True(t, cfg.AttachStderr)
	require.Len(t, cfg.Env, 2)
	assert.Equal(t, "A=1", cfg.Env[0])
	assert.Regexp(t, "^"+regexp.QuoteMeta(container.ExecMarkerEnv)+"=[0-9a-f]{32}$", cfg.Env[1], "the marker that finds the process tree")

	start := only(t, srv, "POST", "/exec/"+res.ID+"/start")
	assert.Equal(t, "Upgrade", start.Header.Get("Connection"))
	assert.Equal(t, "tcp", start.Header.Get("Upgrade"))
	var inspected bool
	for _, r := range srv.Requests() {
		inspected = inspected || r.Method == "GET" && r.Path == "/exec/"+res.ID+"/json"
	}
	assert.True(t, inspected, "the exit code comes from exec inspect")
}

func TestExecMarkerIsUniquePerExec(t *testing.T) {
	c, srv := newFake(t, basicDir)
	for range 2 {
		_, err := c.Exec(context.Background(), "web-1", container.ExecOptions{Cmd: []string{"true"}})
		require.NoError(t, err)
	}
	var markers []string
	for _, r := range srv.Requests() {
		if r.Path == "/containers/web-1/exec" {
			var cfg struct{ Env []string }
			require.NoError(t, json.Unmarshal(r.Body, &cfg))
			markers = append(markers, cfg.Env[len(cfg.Env)-1])
		}
	}
	require.Len(t, markers, 2)
	assert.NotEqual(t, markers[0], markers[1])
}

func TestExecTTYMergesOutput(t *testing.T) {
	c, srv := newFake(t, basicDir)
	var stdout, stderr bytes.Buffer
	res, err := c.Exec(context.Background(), "web-1", container.ExecOptions{Cmd: []string{"nginx", "-t"}, Tty: true, Stdout: &stdout, Stderr: &stderr})
	require.NoError(t, err)
	assert.Equal(t, 3, res.ExitCode)
	assert.Equal(t, "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\nnginx: configuration file /etc/nginx/nginx.conf test is successful\n", stdout.String())
	assert.Empty(t, stderr.String())
	var body struct{ Tty bool }
	require.NoError(t, json.Unmarshal(only(t, srv, "POST", "/exec/"+res.ID+"/start").Body, &body))
	assert.True(t, body.Tty)
}

func TestExecStdin(t *testing.T) {
	dir := fixtureDir(t, map[string]string{
		"exec_" + idWeb1 + ".json": `{"stdout": "got: ", "echo_stdin": true, "exit_code": 0}`,
	})
	c, srv := newFake(t, dir)
	var stdout bytes.Buffer
	res, err := c.Exec(context.Background(), "web-1", container.ExecOptions{Cmd: []string{"cat"}, Stdin: strings.NewReader("hello\n"), Stdout: &stdout})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.Equal(t, "got: hello\n", stdout.String())
	var cfg struct{ AttachStdin bool }
	require.NoError(t, json.Unmarshal(only(t, srv, "POST", "/containers/web-1/exec").Body, &cfg))
	assert.True(t, cfg.AttachStdin)
}

func TestExecErrors(t *testing.T) {
	c, srv := newFake(t, basicDir)
	ctx := context.Background()
	_, err := c.Exec(ctx, "web-1", container.ExecOptions{})
	assert.ErrorContains(t, err, "empty command")
	assert.Empty(t, srv.Requests())

	res, err := c.Exec(ctx, "web-2", container.ExecOptions{Cmd: []string{"true"}})
	assert.True(t, container.IsConflict(err), "not running: %v", err)
	assert.Equal(t, -1, res.ExitCode)

	_, err = c.Exec(ctx, "gone", container.ExecOptions{Cmd: []string{"true"}})
	assert.True(t, container.IsNotFound(err), "%v", err)
}

func TestCopyFrom(t *testing.T) {
	mtime := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	content := "user nginx;\n"
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "nginx.conf", Mode: 0o644, Size: int64(len(content)), ModTime: mtime}))
	_, _ = tw.Write([]byte(content))
	require.NoError(t, tw.Close())

	stat, err := json.Marshal(map[string]any{"name": "nginx.conf", "size": len(content), "mode": 0o644, "mtime": mtime, "linkTarget": ""})
	require.NoError(t, err)
	c, srv := newFake(t, basicDir, enginetest.WithHandler("GET", "/containers/{id}/archive", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Docker-Container-Path-Stat", base64.StdEncoding.EncodeToString(stat))
		w.Header().Set("Content-Type", "application/x-tar")
		_, _ = w.Write(archive.Bytes())
	}))
	res, err := c.CopyFrom(context.Background(), "web-1", "/etc/nginx/nginx.conf", container.CopyFromOptions{})
	require.NoError(t, err)
	defer res.Archive.Close()
	assert.Equal(t, url.Values{"path": {"/etc/nginx/nginx.conf"}}, only(t, srv, "GET", "/containers/web-1/archive").Query)
	assert.Equal(t, container.PathStat{Name: "nginx.conf", Size: int64(len(content)), Mode: os.FileMode(0o644), Mtime: mtime}, res.Stat)
	tr := tar.NewReader(res.Archive)
	h, err := tr.Next()
	require.NoError(t, err)
	assert.Equal(t, "nginx.conf", h.Name)
	b, err := io.ReadAll(tr)
	require.NoError(t, err)
	assert.Equal(t, content, string(b))
}

func TestCopyFromNotFound(t *testing.T) {
	c, _ := newFake(t, basicDir, enginetest.WithHandler("GET", "/containers/{id}/archive", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message":"Could not find the file /nope in container web-1"}`)
	}))
	_, err := c.CopyFrom(context.Background(), "web-1", "/nope", container.CopyFromOptions{})
	assert.True(t, container.IsNotFound(err), "%v", err)
	assert.ErrorContains(t, err, "copy /nope from web-1: ")
}
