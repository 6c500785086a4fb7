package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// ---- helpers ---------------------------------------------------------------

func ptr[T any](v T) *T { return &v }

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitExit waits for the container to stop running and returns its exit code.
func waitExit(t testing.TB, h *Harness, id string) int64 {
	t.Helper()
	okC, errC := h.Client.ContainerWait(ctxT(t, 20*time.Second), id, container.WaitConditionNotRunning)
	select {
	case r := <-okC:
		if r.Error != nil {
			t.Fatalf("wait %.12s: %s", id, r.Error.Message)
		}
		return r.StatusCode
	case err := <-errC:
		t.Fatalf("wait %.12s: %v", id, err)
	}
	return -1
}

func logs(t testing.TB, h *Harness, id string) (stdout, stderr string) {
	t.Helper()
	rc, err := h.Client.ContainerLogs(ctxT(t, 10*time.Second), id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatalf("logs %.12s: %v", id, err)
	}
	defer rc.Close()
	var o, e bytes.Buffer
	if _, err := stdcopy.StdCopy(&o, &e, rc); err != nil {
		t.Fatalf("demux logs %.12s: %v", id, err)
	}
	return o.String(), e.String()
}

// waitLog polls the container's stdout until it contains want. Use it with a
// "print ready" step to know that testbox has installed its signal handling
// and finished the steps before it.
func waitLog(t testing.TB, h *Harness, id, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := logs(t, h, id)
		if strings.Contains(out, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %.12s: %q not in stdout %q", id, want, out)
		}
		time.Sleep(pollInterval)
	}
}

func inspect(t testing.TB, h *Harness, id string) container.InspectResponse {
	t.Helper()
	info, err := h.Client.ContainerInspect(ctxT(t, 10*time.Second), id)
	if err != nil {
		t.Fatalf("inspect %.12s: %v", id, err)
	}
	return info
}

func labelled(t testing.TB, h *Harness) (ctrs, nets int) {
	t.Helper()
	f := filters.NewArgs(filters.Arg("label", LabelKey+"="+h.RunID()))
	cs, err := h.Client.ContainerList(ctxT(t, 10*time.Second), container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := h.Client.NetworkList(ctxT(t, 10*time.Second), network.ListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs), len(ns)
}

// fakeTB records Skip/Fatal calls; like testing it ends the calling
// goroutine with runtime.Goexit.
type fakeTB struct {
	testing.TB // nil: methods not overridden panic
	mu         sync.Mutex
	skipped    bool
	failed     bool
	msg        string
	cleanups   []func()
}

func (f *fakeTB) Helper()      {}
func (f *fakeTB) Name() string { return "fake" }
func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.skipped, f.msg = true, format
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.failed, f.msg = true, format
	f.mu.Unlock()
	runtime.Goexit()
}

func runFake(fn func(testing.TB)) *fakeTB {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	return f
}

// ---- tests without an engine ------------------------------------------------

func TestNewWithoutEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", Unreachable(t))

	t.Setenv(RequireEnv, "")
	start := time.Now()
	f := runFake(func(tb testing.TB) { New(tb) })
	if !f.skipped || f.failed {
		t.Errorf("unreachable engine without %s: skipped=%v failed=%v, want skip", RequireEnv, f.skipped, f.failed)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("New took %v against a refusing endpoint", d)
	}

	t.Setenv(RequireEnv, "1")
	f = runFake(func(tb testing.TB) { New(tb) })
	if f.skipped || !f.failed {
		t.Errorf("unreachable engine with %s=1: skipped=%v failed=%v, want fatal", RequireEnv, f.skipped, f.failed)
	}
}

func TestUnreachableRefuses(t *testing.T) {
	host := Unreachable(t)
	if !strings.HasPrefix(host, "tcp://127.0.0.1:") {
		t.Fatalf("Unreachable() = %q", host)
	}
	c, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Ping(ctxT(t, 5*time.Second)); err == nil {
		t.Fatal("ping of Unreachable() endpoint succeeded")
	}
}

// ---- tests against the real engine -------------------------------------------

func TestEngine(t *testing.T) {
	h := New(t)
	if h.Host == "" || h.RunID() == "" {
		t.Fatalf("harness = %+v", h)
	}

	start := time.Now()
	refs := make([]string, 4)
	t.Run("image", func(t *testing.T) {
		for i := range refs {
			t.Run("concurrent", func(t *testing.T) {
				t.Parallel()
				refs[i] = h.Image(t)
			})
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("test image %s ready in %v", refs[0], time.Since(start).Round(time.Millisecond))
	for _, r := range refs {
		if r != refs[0] || !strings.HasPrefix(r, ImageRepo+":") {
			t.Fatalf("Image refs = %q", refs)
		}
	}
	img, err := h.Client.ImageInspect(ctxT(t, 10*time.Second), refs[0])
	if err != nil {
		t.Fatal(err)
	}
	if img.Config == nil || img.Config.Labels[LabelKey] != "image" {
		t.Errorf("image labels = %+v", img.Config)
	}

	// All container subtests run in parallel inside this group; when t.Run
	// returns, they and their cleanups have finished.
	t.Run("group", func(t *testing.T) {
		t.Run("print", func(t *testing.T) {
			t.Parallel()
			c := h.Run(t, RunOptions{Args: []string{"print", "hello", "--", "eprint", "oops"}})
			if code := waitExit(t, h, c.ID); code != 0 {
				t.Errorf("exit code = %d", code)
			}
			out, errOut := logs(t, h, c.ID)
			if out != "hello\n" || errOut != "oops\n" {
				t.Errorf("stdout %q stderr %q", out, errOut)
			}
			info := inspect(t, h, c.ID)
			if info.Name != "/"+c.Name || !strings.HasPrefix(c.Name, "minato-test-") {
				t.Errorf("name = %q / %q", info.Name, c.Name)
			}
			if info.Config.Labels[LabelKey] != h.RunID() || info.Config.Labels[NameLabelKey] != t.Name() {
				t.Errorf("labels = %v", info.Config.Labels)
			}
		})
		t.Run("exit3", func(t *testing.T) {
			t.Parallel()
			c := h.Run(t, RunOptions{Args: []string{"exit", "3"}})
			if code := waitExit(t, h, c.ID); code != 3 {
				t.Errorf("exit code = %d, want 3", code)
			}
		})
		t.Run("usage", func(t *testing.T) {
			t.Parallel()
			c := h.Run(t, RunOptions{Args: []string{"bogus"}})
			if code := waitExit(t, h, c.ID); code != 2 {
				t.Errorf("exit code = %d, want 2", code)
			}
			if _, errOut := logs(t, h, c.ID); !strings.Contains(errOut, "usage:") {
				t.Errorf("stderr = %q", errOut)
			}
		})
		t.Run("env", func(t *testing.T) {
			t.Parallel()
			c := h.Run(t, RunOptions{Args: []string{"env"}, Env: []string{"MINATO_X=1", "A_FIRST=2"}, Labels: map[string]string{"extra": "yes", LabelKey: "overridden"}})
			if code := waitExit(t, h, c.ID); code != 0 {
				t.Errorf("exit code = %d", code)
			}
			out, _ := logs(t, h, c.ID)
			if !strings.HasPrefix(out, "A_FIRST=2\n") || !strings.Contains(out, "\nMINATO_X=1\n") {
				t.Errorf("env output = %q", out)
			}
			labels := inspect(t, h, c.ID).Config.Labels
			if labels["extra"] != "yes" || labels[LabelKey] != h.RunID() {
				t.Errorf("labels = %v", labels)
			}
		})
		t.Run("stop_sigterm", func(t *testing.T) {
			t.Parallel()
			c := h.Run(t, RunOptions{Args: []string{"print", "ready", "--", "sleep", "forever"}})
			waitLog(t, h, c.ID, "ready")
			start := time.Now()
			if err := h.Client.ContainerStop(ctxT(t, 20*time.Second), c.ID, container.StopOptions{Timeout: ptr(1)}); err != nil {
				t.Fatal(err)
			}
			d := time.Since(start)
			t.Logf("stop of SIGTERM-handling container took %v", d.Round(time.Millisecond))
			if d >= time.Second {
				t.Errorf("stop took %v: SIGTERM not handled", d)
			}
			if st := inspect(t, h, c.ID).State; st.Status != "exited" || st.ExitCode != 0 {
				t.Errorf("state = %s exit %d, want exited 0", st.Status, st.ExitCode)
			}
		})
		t.Run("stop_ignore_term", func(t *testing.T) {
			t.Parallel()
			c := h.Run(t, RunOptions{Args: []string{"print", "ready", "--", "sleep", "forever", "--ignore-term"}})
			waitLog(t, h, c.ID, "ready")
			start := time.Now()
			if err := h.Client.ContainerStop(ctxT(t, 20*time.Second), c.ID, container.StopOptions{Timeout: ptr(1)}); err != nil {
				t.Fatal(err)
			}
			d := time.Since(start)
			t.Logf("stop of SIGTERM-ignoring container took %v", d.Round(time.Millisecond))
			if d < time.Second || d > 8*time.Second {
				t.Errorf("stop took %v, want >= 1s grace then SIGKILL", d)
			}
			if st := inspect(t, h, c.ID).State; st.Status != "exited" || st.ExitCode != 137 {
				t.Errorf("state = %s exit %d, want exited 137", st.Status, st.ExitCode)
			}
		})
		t.Run("spawn_top", func(t *testing.T) {
			t.Parallel()
			c := h.Run(t, RunOptions{Args: []string{"spawn", "3", "--", "sleep", "forever"}})
			deadline := time.Now().Add(10 * time.Second)
			for {
				top, err := h.Client.ContainerTop(ctxT(t, 10*time.Second), c.ID, nil)
				if err == nil && len(top.Processes) == 4 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("top = %+v, %v; want 4 processes", top, err)
				}
				time.Sleep(pollInterval)
			}
		})
		t.Run("tree_copy", func(t *testing.T) {
			t.Parallel()
			c := h.Run(t, RunOptions{Args: []string{"tree", "/data", "--", "print", "ready", "--", "sleep", "forever"}})
			waitLog(t, h, c.ID, "ready")
			rc, stat, err := h.Client.CopyFromContainer(ctxT(t, 10*time.Second), c.ID, "/data")
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if !stat.Mode.IsDir() || stat.Mode.Perm() != 0o755 {
				t.Errorf("stat /data = %v", stat.Mode)
			}
			type entry struct {
				mode     int64
				uid, gid int
				body     string
			}
			got := map[string]entry{}
			tr := tar.NewReader(rc)
			for {
				hdr, err := tr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(tr)
				got[hdr.Name] = entry{hdr.Mode & 0o7777, hdr.Uid, hdr.Gid, string(body)}
			}
			want := map[string]entry{
				"data/":          {0o755, 0, 0, ""},
				"data/a.txt":     {0o644, 0, 0, "alpha\n"},
				"data/sub/":      {0o750, 0, 0, ""},
				"data/sub/b.txt": {0o600, 1000, 1000, "bravo\n"},
				"data/exec.sh":   {0o755, 0, 0, "#!/bin/sh\n"},
			}
			if len(got) != len(want) {
				t.Errorf("tar entries = %v", got)
			}
			for name, w := range want {
				if g, ok := got[name]; !ok || g != w {
					t.Errorf("%s = %+v (present %v), want %+v", name, g, ok, w)
				}
			}
		})
		t.Run("create_only", func(t *testing.T) {
			t.Parallel()
			c := h.Run(t, RunOptions{Args: []string{"sleep", "forever"}, Start: ptr(false), StopTimeout: ptr(3)})
			h.WaitState(t, c.ID, "created", 5*time.Second)
			info := inspect(t, h, c.ID)
			if info.Config.StopTimeout == nil || *info.Config.StopTimeout != 3 {
				t.Errorf("StopTimeout = %v", info.Config.StopTimeout)
			}
		})
		t.Run("memory_oom", func(t *testing.T) {
			t.Parallel()
			c := h.Run(t, RunOptions{Args: []string{"sleep", "300ms", "--", "alloc", "128", "--", "sleep", "forever"}, Memory: 32 << 20})
			if code := waitExit(t, h, c.ID); code != 137 {
				t.Errorf("exit code = %d, want 137", code)
			}
			if st := inspect(t, h, c.ID).State; !st.OOMKilled {
				t.Errorf("OOMKilled = false, state %+v", st)
			}
		})
		t.Run("network_listen_send", func(t *testing.T) {
			t.Parallel()
			netID := h.Network(t, "")
			l := h.Run(t, RunOptions{Args: []string{"listen", ":9000"}, NetworkID: netID})
			attached := false
			for _, ep := range inspect(t, h, l.ID).NetworkSettings.Networks {
				attached = attached || ep.NetworkID == netID
			}
			if !attached {
				t.Errorf("listener not attached to %s", netID)
			}
			waitLog(t, h, l.ID, "listening")
			s := h.Run(t, RunOptions{Args: []string{"send", l.Name + ":9000", "4"}, NetworkID: netID})
			if code := waitExit(t, h, s.ID); code != 0 {
				_, errOut := logs(t, h, s.ID)
				t.Errorf("send exit code = %d, stderr %q", code, errOut)
			}
		})
		t.Run("wait_state_running", func(t *testing.T) {
			t.Parallel()
			c := h.Run(t, RunOptions{Args: []string{"sleep", "forever"}, NanoCPUs: 5e8, User: "1000:1000"})
			h.WaitState(t, c.ID, "running", 10*time.Second)
			info := inspect(t, h, c.ID)
			if info.HostConfig.NanoCPUs != 5e8 || info.Config.User != "1000:1000" {
				t.Errorf("NanoCPUs %d User %q", info.HostConfig.NanoCPUs, info.Config.User)
			}
		})
	})

	if ctrs, nets := labelled(t, h); ctrs != 0 || nets != 0 {
		t.Errorf("after cleanup: %d containers and %d networks still labelled %s=%s", ctrs, nets, LabelKey, h.RunID())
	}
}

func TestWaitStateTimeout(t *testing.T) {
	h := New(t)
	c := h.Run(t, RunOptions{Args: []string{"sleep", "forever"}, Start: ptr(false)})
	f := runFake(func(tb testing.TB) { h.WaitState(tb, c.ID, "running", 200*time.Millisecond) })
	if !f.failed {
		t.Error("WaitState did not fail on timeout")
	}
}

func TestSweep(t *testing.T) {
	h := New(t)
	netID := h.Network(t, "")
	h.Run(t, RunOptions{Args: []string{"sleep", "forever"}, NetworkID: netID})
	h.Run(t, RunOptions{Args: []string{"sleep", "forever"}, Start: ptr(false)})
	if ctrs, nets := labelled(t, h); ctrs != 2 || nets != 1 {
		t.Fatalf("before sweep: %d containers, %d networks", ctrs, nets)
	}
	// Sweep itself would also remove the objects of tests running in other
	// packages; exercise the same code restricted to this run's label.
	if err := sweep(ctxT(t, 30*time.Second), h.Client, LabelKey+"="+h.RunID()); err != nil {
		t.Fatal(err)
	}
	if ctrs, nets := labelled(t, h); ctrs != 0 || nets != 0 {
		t.Errorf("after sweep: %d containers, %d networks", ctrs, nets)
	}
	// The registered cleanups now find nothing; they must not fail the test.
}

func TestIsNotFound(t *testing.T) {
	h := New(t)
	err := h.Client.ContainerRemove(ctxT(t, 10*time.Second), "minato-test-does-not-exist", container.RemoveOptions{Force: true})
	if err == nil || !isNotFound(err) {
		t.Errorf("isNotFound(%v) = false", err)
	}
	if isNotFound(errors.New("other")) {
		t.Error("isNotFound(other) = true")
	}
}
