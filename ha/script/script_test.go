package script_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/script"
	"github.com/minato-ops/minato/monitor"
)

var node = ha.NodeTarget("node1")

// writeScript writes an executable shell script into dir and returns its
// path.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	return p
}

func newResource(t *testing.T, cfg script.Config, opts ...script.Option) *script.Resource {
	t.Helper()
	r, err := script.New(cfg, opts...)
	require.NoError(t, err)
	return r
}

// resourceError returns err's *ha.ResourceError, failing the test when it
// has none.
func resourceError(t *testing.T, err error) *ha.ResourceError {
	t.Helper()
	var re *ha.ResourceError
	require.ErrorAs(t, err, &re)
	return re
}

func sh(cmd string) []string { return []string{"/bin/sh", "-c", cmd} }

func TestActivatePassesEpochNodeGroupAndEnv(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "env.txt")
	start := writeScript(t, dir, "start.sh", `env | grep -E '^(MINATO_|COMMON=|OWN=|PATH=)' | sort > "$OUT"`)
	r := newResource(t, script.Config{
		Name:  "db",
		Group: "pg",
		Start: script.Command{Argv: []string{start}, Env: map[string]string{"OUT": out, "OWN": "cmd"}},
		Env:   map[string]string{"COMMON": "cfg", "OWN": "cfg"},
	}, script.WithEnviron(func() []string {
		// An outer minato's variables must not leak into ours.
		return []string{"PATH=/usr/bin:/bin", "MINATO_HA_EPOCH=999", "MINATO_HA_GROUP=outer", "OWN=inherited"}
	}))

	require.NoError(t, r.Activate(ha.WithEpoch(context.Background(), 7), node))

	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, strings.Join([]string{
		"COMMON=cfg",
		"MINATO_HA_ACTION=start",
		"MINATO_HA_EPOCH=7",
		"MINATO_HA_GROUP=pg",
		"MINATO_HA_NODE=node1",
		"MINATO_HA_RESOURCE=db",
		"OWN=cmd",
		"PATH=/usr/bin:/bin",
	}, "\n")+"\n", string(got))
}

func TestNoEpochNoEpochVariable(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "env.txt")
	r := newResource(t, script.Config{Start: script.Command{Argv: sh(`env | grep ^MINATO_ | sort > ` + out)}},
		script.WithEnviron(func() []string { return []string{"MINATO_HA_EPOCH=3"} }))
	require.NoError(t, r.Activate(context.Background(), node))
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "MINATO_HA_ACTION=start\nMINATO_HA_NODE=node1\n", string(got))
}

func TestArgvIsNotAShell(t *testing.T) {
	// Were argv given to a shell, "$(exit 3)" and ";" would make it fail.
	r := newResource(t, script.Config{
		Start: script.Command{Argv: []string{"printf", "%s\n", "$(exit 3); exit 4"}},
		Check: script.Command{Argv: []string{"printf", "%s", "$HOME ; `false` | perf=1"}},
	})
	require.NoError(t, r.Activate(context.Background(), node))
	res, err := r.Check(context.Background(), node)
	require.NoError(t, err)
	assert.Equal(t, monitor.OK, res.Status)
	assert.Equal(t, "$HOME ; `false`", res.Message)
}

func TestStartFailureHasCodeStatusAndLastLine(t *testing.T) {
	r := newResource(t, script.Config{Name: "app", Start: script.Command{Argv: sh("echo starting; echo 'port 80 in use' >&2; exit 3")}})
	err := r.Activate(context.Background(), node)
	re := resourceError(t, err)
	assert.Equal(t, ha.CodeFailed, re.Code)
	assert.Equal(t, "start command exited with status 3: port 80 in use", re.Detail)
	assert.Equal(t, "Activating app resource has failed.(5 : start command exited with status 3: port 80 in use)", ha.ActivateMessage("app", err))

	var xe *script.ExitError
	require.ErrorAs(t, err, &xe)
	assert.Equal(t, 3, xe.Code)
	assert.Equal(t, "starting\nport 80 in use\n", xe.Output)

	// A failed start leaves the resource inactive.
	res, err := r.Check(context.Background(), node)
	require.NoError(t, err)
	assert.Equal(t, monitor.Critical, res.Status)
	assert.Equal(t, script.CodeInactive, res.Code)
}

func TestCommandThatCannotRun(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "plain.sh")
	require.NoError(t, os.WriteFile(notExec, []byte("#!/bin/sh\nexit 0\n"), 0o644))
	for name, c := range map[string]script.Command{
		"not found":      {Argv: []string{"/nonexistent/minato-start"}},
		"not in PATH":    {Argv: []string{"minato-no-such-program"}},
		"not executable": {Argv: []string{notExec}},
		"no such dir":    {Argv: []string{"true"}, Dir: filepath.Join(dir, "missing")},
	} {
		t.Run(name, func(t *testing.T) {
			r := newResource(t, script.Config{Start: c, Check: c})
			re := resourceError(t, r.Activate(context.Background(), node))
			assert.Equal(t, script.CodeNotRun, re.Code, re.Detail)
			assert.Contains(t, re.Detail, "start command")
			// For a check it is an error: the state is unknown.
			_, err := r.Check(context.Background(), node)
			assert.Equal(t, script.CodeNotRun, resourceError(t, err).Code)
		})
	}
}

func TestRelativeProgramIsInDir(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, dir, "start.sh", "pwd > where.txt")
	r := newResource(t, script.Config{Dir: dir, Start: script.Command{Argv: []string{"./start.sh"}}})
	require.NoError(t, r.Activate(context.Background(), node))
	got, err := os.ReadFile(filepath.Join(dir, "where.txt"))
	require.NoError(t, err)
	real, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	assert.Equal(t, real, strings.TrimSpace(string(got)))
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// pid (comm) S ...: the state follows the last ")".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	return pid
}

func TestTimeoutKillsTheWholeProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	r := newResource(t, script.Config{Start: script.Command{
		Argv:    sh("sleep 30 & echo $! > " + pidFile + "; echo waiting; wait"),
		Timeout: 300 * time.Millisecond,
	}})
	t0 := time.Now()
	err := r.Activate(context.Background(), node)
	took := time.Since(t0)
	re := resourceError(t, err)
	assert.Equal(t, ha.CodeTimeout, re.Code)
	assert.True(t, strings.HasPrefix(re.Detail, "Timeout occurred. start command \"/bin/sh\" did not finish within 300ms"), re.Detail)
	assert.Contains(t, re.Detail, "signal: terminated")
	assert.Contains(t, re.Detail, ": waiting")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, took, 2*time.Second, "SIGTERM ends sh at once")

	child := readPID(t, pidFile)
	assert.Eventually(t, func() bool { return !alive(child) }, 5*time.Second, 20*time.Millisecond,
		"the shell's child sleep %d must be ended with it", child)
}

func TestKillGraceThenSIGKILL(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	r := newResource(t, script.Config{
		Start:     script.Command{Argv: sh("trap '' TERM; touch " + ready + "; while :; do sleep 0.05; done"), Timeout: 300 * time.Millisecond},
		KillGrace: 700 * time.Millisecond,
	})
	t0 := time.Now()
	err := r.Activate(context.Background(), node)
	took := time.Since(t0)
	re := resourceError(t, err)
	assert.Equal(t, ha.CodeTimeout, re.Code)
	assert.Contains(t, re.Detail, "signal: killed")
	assert.GreaterOrEqual(t, took, time.Second, "timeout 300ms + grace 700ms before SIGKILL")
	assert.Less(t, took, 4*time.Second)
	_, err = os.Stat(ready)
	assert.NoError(t, err, "the trap was in place before the timeout")
}

func TestCallerDeadlineIsATimeout(t *testing.T) {
	r := newResource(t, script.Config{Start: script.Command{Argv: []string{"sleep", "30"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	re := resourceError(t, r.Activate(ctx, node))
	assert.Equal(t, ha.CodeTimeout, re.Code)
	assert.Contains(t, re.Detail, "within the caller's deadline")
}

func TestCancelIsNotATimeout(t *testing.T) {
	r := newResource(t, script.Config{Start: script.Command{Argv: []string{"sleep", "30"}}})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	err := r.Activate(ctx, node)
	re := resourceError(t, err)
	assert.Equal(t, ha.CodeFailed, re.Code)
	assert.Contains(t, re.Detail, "was cancelled")
	assert.ErrorIs(t, err, context.Canceled)
}

func TestCheckExitStatuses(t *testing.T) {
	for _, tc := range []struct {
		status int
		out    string
		want   monitor.Status
		code   int
		msg    string
	}{
		{0, "OK - 12 connections | conns=12;50;100\nmore detail\n", monitor.OK, 0, "OK - 12 connections"},
		{1, "\n  WARNING - replication lag 30s  \n", monitor.Warning, 0, "WARNING - replication lag 30s"},
		{2, "CRITICAL - not listening", monitor.Critical, ha.CodeFailed, "CRITICAL - not listening"},
		{42, "", monitor.Critical, ha.CodeFailed, "check exited with status 42"},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			r := newResource(t, script.Config{
				Start: script.Command{Argv: []string{"true"}},
				Check: script.Command{Argv: []string{"/bin/sh", "-c", `printf "$1"; exit $2`, "check", tc.out, strconv.Itoa(tc.status)}},
			})
			res, err := r.Check(context.Background(), node)
			require.NoError(t, err)
			assert.Equal(t, tc.want, res.Status)
			assert.Equal(t, tc.code, res.Code)
			assert.Equal(t, tc.msg, res.Message)
			assert.False(t, res.Time.IsZero())
		})
	}
}

func TestCheckUnknownAndTimeoutAreErrors(t *testing.T) {
	r := newResource(t, script.Config{
		Start: script.Command{Argv: []string{"true"}},
		Check: script.Command{Argv: sh("echo 'UNKNOWN - cannot reach the database'; exit 3")},
	})
	_, err := r.Check(context.Background(), node)
	re := resourceError(t, err)
	assert.Equal(t, ha.CodeFailed, re.Code)
	assert.Equal(t, "check reported UNKNOWN: UNKNOWN - cannot reach the database", re.Detail)

	r = newResource(t, script.Config{
		Start: script.Command{Argv: []string{"true"}},
		Check: script.Command{Argv: []string{"sleep", "30"}, Timeout: 200 * time.Millisecond},
	})
	_, err = r.Check(context.Background(), node)
	assert.Equal(t, ha.CodeTimeout, resourceError(t, err).Code)
	assert.Equal(t, "Detected an error in monitoring db. (6 : "+resourceError(t, err).Detail+")", ha.MonitorErrorMessage("db", err))
}

func TestCheckWithoutCommandFollowsActivation(t *testing.T) {
	dir := t.TempDir()
	stopped := filepath.Join(dir, "stopped")
	r := newResource(t, script.Config{
		Start: script.Command{Argv: []string{"true"}},
		Stop:  script.Command{Argv: []string{"touch", stopped}},
	})
	ctx := context.Background()
	status := func() monitor.Status {
		res, err := r.Check(ctx, node)
		require.NoError(t, err)
		return res.Status
	}
	assert.Equal(t, monitor.Critical, status(), "before any activation")
	require.NoError(t, r.Activate(ctx, node))
	require.NoError(t, r.Activate(ctx, node), "twice")
	assert.Equal(t, monitor.OK, status())
	require.NoError(t, r.Deactivate(ctx, node))
	assert.Equal(t, monitor.Critical, status())
	_, err := os.Stat(stopped)
	assert.NoError(t, err, "the stop command ran")
}

func TestDeactivateWithoutStopAndStopFailure(t *testing.T) {
	r := newResource(t, script.Config{Start: script.Command{Argv: []string{"true"}}})
	require.NoError(t, r.Activate(context.Background(), node))
	require.NoError(t, r.Deactivate(context.Background(), node))
	require.NoError(t, r.Deactivate(context.Background(), node))

	r = newResource(t, script.Config{Start: script.Command{Argv: []string{"true"}}, Stop: script.Command{Argv: sh("echo still busy; exit 1")}})
	require.NoError(t, r.Activate(context.Background(), node))
	err := r.Deactivate(context.Background(), node)
	assert.Equal(t, "Deactivating app resource has failed.(5 : stop command exited with status 1: still busy)", ha.DeactivateMessage("app", err))
	res, err := r.Check(context.Background(), node)
	require.NoError(t, err)
	assert.Equal(t, monitor.OK, res.Status, "a failed stop leaves the resource active as far as Check knows")
}

func TestOutputIsBounded(t *testing.T) {
	// 200 000 bytes: "HEAD", x's, "TAIL".
	r := newResource(t, script.Config{
		Start:          script.Command{Argv: sh("printf HEAD; i=0; while [ $i -lt 2000 ]; do printf '%0100d' 0; i=$((i+1)); done; printf TAIL; exit 1")},
		MaxOutputBytes: 1024,
	})
	var xe *script.ExitError
	require.ErrorAs(t, r.Activate(context.Background(), node), &xe)
	assert.True(t, strings.HasPrefix(xe.Output, "HEAD"), "the head is kept")
	assert.True(t, strings.HasSuffix(xe.Output, "TAIL"), "the tail is kept")
	assert.Contains(t, xe.Output, "[... 198984 bytes omitted ...]")
	assert.Less(t, len(xe.Output), 1100)
}

func TestBackgroundDaemonDoesNotHoldActivation(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "daemon.pid")
	// The daemon keeps the start command's output open, as a careless
	// start script leaves it.
	r := newResource(t, script.Config{Start: script.Command{Argv: sh("sleep 30 & echo $! > " + pidFile + "; echo started")}})
	t0 := time.Now()
	require.NoError(t, r.Activate(context.Background(), node))
	assert.Less(t, time.Since(t0), 3*time.Second)
	pid := readPID(t, pidFile)
	assert.True(t, alive(pid), "a daemon started by a successful start command is left running")
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
}

func TestCheckConcurrentWithActivate(t *testing.T) {
	r := newResource(t, script.Config{
		Start: script.Command{Argv: []string{"sleep", "0.2"}},
		Check: script.Command{Argv: []string{"true"}},
	})
	var wg sync.WaitGroup
	wg.Go(func() { assert.NoError(t, r.Activate(context.Background(), node)) })
	for range 4 {
		wg.Go(func() {
			res, err := r.Check(context.Background(), node)
			assert.NoError(t, err)
			assert.Equal(t, monitor.OK, res.Status)
		})
	}
	wg.Wait()
}

func TestValidate(t *testing.T) {
	ok := script.Command{Argv: []string{"true"}}
	for _, tc := range []struct {
		name string
		cfg  script.Config
		want []string
	}{
		{"minimal", script.Config{Start: ok}, nil},
		{"no start", script.Config{}, []string{"start.argv: required"}},
		{"stop without argv", script.Config{Start: ok, Stop: script.Command{Timeout: time.Second}}, []string{"stop.argv: required when stop is given"}},
		{"empty program", script.Config{Start: script.Command{Argv: []string{""}}}, []string{"start.argv[0]: empty program name"}},
		{"negative timeout", script.Config{Start: script.Command{Argv: []string{"x"}, Timeout: -1}}, []string{"start.timeout: -1ns"}},
		{"reserved env", script.Config{Start: ok, Env: map[string]string{"MINATO_HA_EPOCH": "1"}}, []string{"env: MINATO_HA_EPOCH: names starting MINATO_HA_ are set by minato"}},
		{"bad env name", script.Config{Start: ok, Check: script.Command{Argv: []string{"x"}, Env: map[string]string{"A=B": "1"}}}, []string{`check.env: "A=B"`}},
		{"nul", script.Config{Start: script.Command{Argv: []string{"x", "a\x00b"}}}, []string{"start.argv[1]: contains a NUL byte"}},
		{"max output", script.Config{Start: ok, MaxOutputBytes: -1}, []string{"max_output_bytes: -1"}},
		{"several", script.Config{MaxOutputBytes: -1}, []string{"start.argv", "max_output_bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			_, nerr := script.New(tc.cfg)
			assert.ErrorContains(t, nerr, "ha/script: invalid config")
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	r := newResource(t, script.Config{Start: script.Command{Argv: []string{"true"}}, KillGrace: -1})
	cfg := r.Config()
	assert.Equal(t, time.Duration(0), cfg.KillGrace, "negative: SIGKILL at once")
	assert.Equal(t, script.DefaultMaxOutputBytes, cfg.MaxOutputBytes)
	cfg = newResource(t, script.Config{Start: script.Command{Argv: []string{"true"}}}).Config()
	assert.Equal(t, script.DefaultKillGrace, cfg.KillGrace)
}

func TestExitErrorMessage(t *testing.T) {
	err := error(&script.ExitError{Code: 2, State: "exited with status 2"})
	assert.Equal(t, "command exited with status 2", err.Error())
	assert.False(t, errors.Is(err, context.DeadlineExceeded))
}
