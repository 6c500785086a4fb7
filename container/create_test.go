package container_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/docker/docker/pkg/stdcopy"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateRequestShape(t *testing.T) {
	created := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"Id":"c0ffee0000000000000000000000000000000000000000000000000000000001","Warnings":["no swap limit"]}`))
	}
	c, srv := newFake(t, "", enginetest.WithHandler("POST", "/containers/create", created))
	stop := 7
	labels := map[string]string{"app": "x"}
	res, err := c.Create(context.Background(), container.CreateOptions{
		Name: "job-1", Image: "busybox:1", Cmd: []string{"echo", "hi"}, Entrypoint: []string{"/bin/sh", "-c"},
		Env: []string{"A=1"}, WorkingDir: "/w", User: "1000", Labels: labels, Binds: []string{"/h:/c:ro"},
		Network: "backend", Memory: 32 << 20, NanoCPUs: 5e8, StopSignal: "SIGINT", StopTimeout: &stop,
	})
	require.NoError(t, err)
	assert.Equal(t, container.CreateResult{ID: "c0ffee0000000000000000000000000000000000000000000000000000000001", Warnings: []string{"no swap limit"}}, res)

	r := only(t, srv, "POST", "/containers/create")
	assert.Equal(t, url.Values{"name": {"job-1"}}, r.Query)
	var body struct {
		Image, WorkingDir, User, StopSignal string
		Cmd, Entrypoint, Env                []string
		Labels                              map[string]string
		StopTimeout                         *int
		HostConfig                          struct {
			Binds                        []string
			NetworkMode                  string
			Memory, MemorySwap, NanoCpus int64
			AutoRemove                   bool
		}
		NetworkingConfig struct{ EndpointsConfig map[string]json.RawMessage }
	}
	require.NoError(t, json.Unmarshal(r.Body, &body), string(r.Body))
	assert.Equal(t, "busybox:1", body.Image)
	assert.Equal(t, []string{"echo", "hi"}, body.Cmd)
	assert.Equal(t, []string{"/bin/sh", "-c"}, body.Entrypoint)
	assert.Equal(t, []string{"A=1"}, body.Env)
	assert.Equal(t, "/w", body.WorkingDir)
	assert.Equal(t, "1000", body.User)
	assert.Equal(t, labels, body.Labels)
	assert.Equal(t, "SIGINT", body.StopSignal)
	assert.Equal(t, &stop, body.StopTimeout)
	assert.Equal(t, []string{"/h:/c:ro"}, body.HostConfig.Binds)
	assert.Equal(t, "backend", body.HostConfig.NetworkMode)
	assert.Equal(t, int64(32<<20), body.HostConfig.Memory)
	assert.Equal(t, int64(32<<20), body.HostConfig.MemorySwap, "swap limited to the memory limit")
	assert.Equal(t, int64(5e8), body.HostConfig.NanoCpus)
	assert.False(t, body.HostConfig.AutoRemove)
	assert.Contains(t, body.NetworkingConfig.EndpointsConfig, "backend")

	// Defaults: engine-chosen name, no limits, default network.
	srv.Reset()
	_, err = c.Create(context.Background(), container.CreateOptions{Image: "busybox:1", AutoRemove: true})
	require.NoError(t, err)
	r = only(t, srv, "POST", "/containers/create")
	assert.Empty(t, r.Query.Get("name"))
	assert.NotContains(t, string(r.Body), "MemorySwap\":3")
	assert.Contains(t, string(r.Body), `"AutoRemove":true`)
	assert.Contains(t, string(r.Body), `"NetworkMode":""`)
}

func TestCreateErrors(t *testing.T) {
	c, srv := newFake(t, "", enginetest.WithHandler("POST", "/containers/create", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("name") == "taken" {
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"message":"Conflict. The container name \"/taken\" is already in use"}`))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message":"No such image: nosuch:1"}`))
	}))
	_, err := c.Create(context.Background(), container.CreateOptions{Image: "nosuch:1"})
	require.Error(t, err)
	assert.True(t, container.IsNotFound(err), "%v", err)
	assert.Contains(t, err.Error(), `image "nosuch:1" is not present on the engine`)
	assert.Contains(t, err.Error(), "minato does not pull")

	_, err = c.Create(context.Background(), container.CreateOptions{Name: "taken", Image: "x"})
	assert.True(t, container.IsConflict(err), "%v", err)
	assert.Contains(t, err.Error(), "create taken:")

	srv.Reset()
	_, err = c.Create(context.Background(), container.CreateOptions{Name: "x"})
	assert.ErrorContains(t, err, "no image given")
	assert.Empty(t, srv.Requests(), "nothing is sent without an image")
}

func TestWait(t *testing.T) {
	wait := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		switch r.PathValue("ref") {
		case "errd":
			_, _ = w.Write([]byte(`{"StatusCode":128,"Error":{"Message":"oci runtime error"}}`))
		case "slow":
			<-r.Context().Done()
		default:
			_, _ = w.Write([]byte(`{"StatusCode":3}`))
		}
	}
	c, srv := newFake(t, basicDir, enginetest.WithHandler("POST", "/containers/{ref}/wait", wait))
	ctx := context.Background()
	res, err := c.Wait(ctx, "web-1", container.WaitOptions{})
	require.NoError(t, err)
	assert.Equal(t, container.WaitResult{ExitCode: 3}, res)
	assert.Equal(t, url.Values{"condition": {"not-running"}}, only(t, srv, "POST", "/containers/web-1/wait").Query)

	_, err = c.Wait(ctx, "web-2", container.WaitOptions{Condition: container.WaitNextExit})
	require.NoError(t, err)
	assert.Equal(t, "next-exit", only(t, srv, "POST", "/containers/web-2/wait").Query.Get("condition"))

	res, err = c.Wait(ctx, "errd", container.WaitOptions{Condition: container.WaitRemoved})
	require.NoError(t, err)
	assert.Equal(t, container.WaitResult{ExitCode: 128, Error: "oci runtime error"}, res)

	_, err = c.Wait(ctx, "x", container.WaitOptions{Condition: "exited"})
	assert.ErrorContains(t, err, `unknown condition "exited"`)

	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Wait(dctx, "slow", container.WaitOptions{})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestLogsDemultiplexes(t *testing.T) {
	logs := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
		w.WriteHeader(http.StatusOK)
		if r.PathValue("ref") == "tty" {
			_, _ = w.Write([]byte("raw out\r\n"))
			return
		}
		o := stdcopy.NewStdWriter(w, stdcopy.Stdout)
		e := stdcopy.NewStdWriter(w, stdcopy.Stderr)
		_, _ = o.Write([]byte("one\n"))
		_, _ = e.Write([]byte("oops\n"))
		_, _ = o.Write([]byte("two\n"))
	}
	c, srv := newFake(t, "", enginetest.WithHandler("GET", "/containers/{ref}/logs", logs))
	var out, errOut bytes.Buffer
	since := time.Unix(1700000000, 5)
	err := c.Logs(context.Background(), "web", container.LogsOptions{Follow: true, Stdout: &out, Stderr: &errOut, Since: since, Tail: "10", Timestamps: true})
	require.NoError(t, err)
	assert.Equal(t, "one\ntwo\n", out.String())
	assert.Equal(t, "oops\n", errOut.String())
	q := only(t, srv, "GET", "/containers/web/logs").Query
	assert.Equal(t, url.Values{"follow": {"1"}, "stdout": {"1"}, "stderr": {"1"}, "since": {"1700000000.000000005"}, "tail": {"10"}, "timestamps": {"1"}}, q)

	// Only the streams asked for are requested.
	srv.Reset()
	out.Reset()
	require.NoError(t, c.Logs(context.Background(), "web", container.LogsOptions{Stdout: &out}))
	q = only(t, srv, "GET", "/containers/web/logs").Query
	assert.Equal(t, "1", q.Get("stdout"))
	assert.Empty(t, q.Get("stderr"))
	assert.Empty(t, q.Get("follow"))

	out.Reset()
	require.NoError(t, c.Logs(context.Background(), "tty", container.LogsOptions{Tty: true, Stdout: &out}))
	assert.Equal(t, "raw out\r\n", out.String())

	// A failing writer ends the copy with its error.
	boom := errors.New("disk full")
	err = c.Logs(context.Background(), "web", container.LogsOptions{Stdout: failWriter{boom}})
	assert.ErrorIs(t, err, boom)
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestLogsFollowEndsWithCtx(t *testing.T) {
	block := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = stdcopy.NewStdWriter(w, stdcopy.Stdout).Write([]byte("first\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
	c, _ := newFake(t, "", enginetest.WithHandler("GET", "/containers/{ref}/logs", block))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, c.Logs(ctx, "x", container.LogsOptions{Follow: true, Stdout: &out}), "ctx ending a follow is not an error")
	assert.Equal(t, "first\n", out.String())

	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	assert.ErrorIs(t, c.Logs(ctx2, "x", container.LogsOptions{Stdout: &out}), context.DeadlineExceeded, "without Follow it is")
}

func TestKill(t *testing.T) {
	c, srv := newFake(t, basicDir)
	require.NoError(t, c.Kill(context.Background(), "web-1", "SIGHUP"))
	assert.Equal(t, url.Values{"signal": {"SIGHUP"}}, only(t, srv, "POST", "/containers/web-1/kill").Query)
	srv.Reset()
	require.NoError(t, c.Kill(context.Background(), "web-1", ""))
	assert.Equal(t, url.Values{}, only(t, srv, "POST", "/containers/web-1/kill").Query)
	err := c.Kill(context.Background(), "nosuch", "")
	assert.True(t, container.IsNotFound(err), "%v", err)
	assert.ErrorContains(t, err, "kill nosuch")
}
