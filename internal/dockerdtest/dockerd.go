package dockerdtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/dockertest"
)

// Timeouts of the harness.
const (
	// StartTimeout bounds the wait for the new daemon's /_ping.
	StartTimeout = 30 * time.Second
	// stopTimeout is how long dockerd gets to exit after SIGTERM.
	stopTimeout      = 20 * time.Second
	imageTimeout     = 5 * time.Minute
	removeTimeout    = 2 * time.Minute
	pingCallTimeout  = time.Second
	pollInterval     = 100 * time.Millisecond
	logTailLines     = 30
	containerdPIDRel = "exec/containerd/containerd.pid"
)

// Daemon is a running second dockerd. Its fields are read-only; it is safe
// for concurrent use by the tests that share it.
//
// Through the embedded [dockertest.Engine] it has Client (connected, API
// version negotiated; closed by Stop), Host ("unix://DIR/docker.sock"),
// Image (the test image's reference on this daemon), ID (its Info ID) and
// Harness (labelled containers on this daemon, removed by the test's
// cleanups).
type Daemon struct {
	*dockertest.Engine
	// Dir is the daemon's directory (socket, data root, exec root, log).
	Dir string

	cmd     *exec.Cmd
	exited  chan struct{} // closed when dockerd has exited
	waitErr error         // cmd.Wait's error, set before exited is closed
	logPath string

	stopOnce sync.Once
	stopErr  error
}

// Start starts a daemon for the calling test and registers a t.Cleanup
// that stops it (see [Daemon.Stop]). It skips the test (or fails it when
// MINATO_REQUIRE_DOCKER=1) without root or a dockerd binary, and fails it
// when the daemon does not come up, with the tail of its log.
func Start(t testing.TB) *Daemon {
	t.Helper()
	d, skip, err := start()
	if skip != "" {
		skipOrFail(t, skip)
		return nil
	}
	if err != nil {
		t.Fatalf("dockerdtest: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("dockerdtest: stop: %v", err)
		}
	})
	return d
}

// LogTail returns the last n lines of the daemon's log.
func (d *Daemon) LogTail(n int) string {
	return tail(d.logPath, n)
}

func skipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(dockertest.RequireEnv) == "1" {
		t.Fatalf("dockerdtest: a second Docker Engine is required (%s=1) but cannot be started: %s", dockertest.RequireEnv, reason)
	}
	t.Skipf("dockerdtest: cannot start a second Docker Engine, skipping (set %s=1 to fail instead): %s", dockertest.RequireEnv, reason)
}

// start starts a daemon. A non-empty skip says why it cannot be started
// on this machine at all; err is a failure to start one.
func start() (d *Daemon, skip string, err error) {
	if os.Geteuid() != 0 {
		return nil, "starting dockerd needs root", nil
	}
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		return nil, "no dockerd binary in PATH", nil
	}
	attr, err := sysProcAttr()
	if err != nil {
		return nil, err.Error(), nil
	}
	dir, err := os.MkdirTemp("", "minato-dockerd-")
	if err != nil {
		return nil, "", err
	}
	d = &Daemon{Dir: dir, logPath: filepath.Join(dir, "dockerd.log"), exited: make(chan struct{})}
	if d.Engine, err = dockertest.Dial("unix://" + filepath.Join(dir, "docker.sock")); err != nil {
		_ = os.RemoveAll(dir)
		return nil, "", err
	}
	if err := d.launch(bin, attr); err != nil {
		_ = d.Stop()
		return nil, "", err
	}
	return d, "", nil
}

func (d *Daemon) launch(bin string, attr *syscall.SysProcAttr) error {
	for _, sub := range []string{"data", "exec"} {
		if err := os.Mkdir(filepath.Join(d.Dir, sub), 0o700); err != nil {
			return err
		}
	}
	cfg := filepath.Join(d.Dir, "daemon.json")
	if err := os.WriteFile(cfg, []byte("{}\n"), 0o600); err != nil {
		return err
	}
	logf, err := os.Create(d.logPath)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	d.cmd = exec.Command(bin,
		"--config-file="+cfg,
		"--host="+d.Host,
		"--data-root="+filepath.Join(d.Dir, "data"),
		"--exec-root="+filepath.Join(d.Dir, "exec"),
		"--pidfile="+filepath.Join(d.Dir, "docker.pid"),
		"--storage-driver=vfs",
		"--bridge=none",
		"--iptables=false",
		"--ip6tables=false",
		"--shutdown-timeout=5",
	)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = attr
	if err := d.cmd.Start(); err != nil {
		d.cmd = nil
		return fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.exited)
	}()

	if err := d.waitPing(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), imageTimeout)
	defer cancel()
	return d.Prepare(ctx)
}

// waitPing polls /_ping until the daemon answers, exits, or StartTimeout
// passes.
func (d *Daemon) waitPing() error {
	deadline := time.Now().Add(StartTimeout)
	var last error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), pingCallTimeout)
		err := d.Ping(ctx)
		cancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-d.exited:
			return fmt.Errorf("dockerd exited before answering (%v); log tail:\n%s", d.waitErr, d.LogTail(logTailLines))
		case <-time.After(pollInterval):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd at %s did not answer /_ping within %v (last: %v); log tail:\n%s", d.Host, StartTimeout, last, d.LogTail(logTailLines))
		}
	}
}

// Stop removes every container of the daemon, stops it, and removes its
// directory. It is idempotent and safe for concurrent use; every call
// returns the first call's result. Problems are joined into the error; the
// directory is removed whatever happened before.
func (d *Daemon) Stop() error {
	d.stopOnce.Do(func() { d.stopErr = d.stop() })
	return d.stopErr
}

func (d *Daemon) stop() error {
	var errs []error
	if d.cmd != nil {
		if err := d.removeContainers(); err != nil {
			errs = append(errs, err)
		}
		if err := d.terminate(); err != nil {
			errs = append(errs, err)
		}
	}
	_ = d.Close()
	if err := d.endContainerd(); err != nil {
		errs = append(errs, err)
	}
	detachMounts(d.Dir)
	if err := os.RemoveAll(d.Dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", d.Dir, err))
	}
	return errors.Join(errs...)
}

func (d *Daemon) removeContainers() error {
	select {
	case <-d.exited:
		return nil // nothing to ask
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), removeTimeout)
	defer cancel()
	return d.RemoveAllContainers(ctx)
}

// terminate sends dockerd SIGTERM and waits, then SIGKILL.
func (d *Daemon) terminate() error {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = d.cmd.Process.Kill()
	select {
	case <-d.exited:
		return fmt.Errorf("dockerd (pid %d) ignored SIGTERM for %v and was killed; log tail:\n%s", d.cmd.Process.Pid, stopTimeout, d.LogTail(logTailLines))
	case <-time.After(5 * time.Second):
		return fmt.Errorf("dockerd (pid %d) survived SIGKILL", d.cmd.Process.Pid)
	}
}

// endContainerd ends the containerd this daemon started, when it is still
// running after dockerd exited (dockerd killed). It identifies the process
// by the pid file in the exec root and checks that its command line names
// this daemon's directory before signalling it.
func (d *Daemon) endContainerd() error {
	b, err := os.ReadFile(filepath.Join(d.Dir, containerdPIDRel))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return nil
	}
	ours := func() bool {
		cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		return err == nil && bytes.Contains(cmdline, []byte(d.Dir))
	}
	if !ours() {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for range 50 {
		if !ours() {
			return nil
		}
		time.Sleep(pollInterval)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return fmt.Errorf("containerd (pid %d) of %s outlived dockerd and was killed", pid, d.Dir)
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// shared is the daemon [Shared] and [Get] share.
var shared struct {
	mu      sync.Mutex
	active  bool // Shared is running the tests
	started bool // a start was attempted
	d       *Daemon
	skip    string
	err     error
}

// Shared runs the tests (m.Run) with one daemon available to all of them
// through [Get], started by the first Get, and stops it afterwards. Use it
// from TestMain: os.Exit(dockerdtest.Shared(m)). It returns m.Run's code,
// or 1 when the tests passed but the daemon could not be stopped cleanly
// (the problem is printed on standard error).
func Shared(m *testing.M) int {
	shared.mu.Lock()
	shared.active = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	d := shared.d
	shared.active, shared.started, shared.d, shared.skip, shared.err = false, false, nil, "", nil
	shared.mu.Unlock()
	if d != nil {
		if err := d.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "dockerdtest: stop the shared daemon: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Get returns the test binary's shared daemon, starting it on the first
// call (later callers wait for that start). Skipping and failing are as
// for [Start]; a failed start fails every later Get the same way. Without
// [Shared] running the tests, Get is Start.
func Get(t testing.TB) *Daemon {
	t.Helper()
	shared.mu.Lock()
	if !shared.active {
		shared.mu.Unlock()
		return Start(t)
	}
	if !shared.started {
		shared.started = true
		shared.d, shared.skip, shared.err = start()
	}
	d, skip, err := shared.d, shared.skip, shared.err
	shared.mu.Unlock()
	if skip != "" {
		skipOrFail(t, skip)
		return nil
	}
	if err != nil {
		t.Fatalf("dockerdtest: shared daemon: %v", err)
	}
	return d
}
