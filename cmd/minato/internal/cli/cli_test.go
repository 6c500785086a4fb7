package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run executes the CLI with DOCKER_HOST set to host and returns exit code,
// stdout and stderr.
func run(t *testing.T, host string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "DOCKER_HOST" {
			return host
		}
		return ""
	}
	code := Main(context.Background(), args, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: getenv})
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	host := dockertest.Unreachable(t) // usage errors must be found before any engine call
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"job", "stop", "-c", "abc*", "-n", "web"}, "-c and -n cannot be used together"},
		{[]string{"job", "start"}, "select the containers with -c ID or -n NAME"},
		{[]string{"job", "stop", "-n", "web", "-t", "soon"}, `invalid value "soon" for flag -t: want whole seconds ≥ 0`},
		{[]string{"job", "stop", "-n", "web", "-t", "-3"}, "want whole seconds"},
		{[]string{"job", "rm", "-n", "w*b"}, `"w*b": * is allowed only at the end`},
		{[]string{"job", "start", "-c", "xyz"}, `container ID "xyz": want hexadecimal digits`},
		{[]string{"job", "start", "-n", "web", "-p", "2375"}, "-p 2375 given without -i ADDRESS"},
		{[]string{"job", "start", "-n", "web", "-i", "h", "-p", "70000"}, "-p 70000: want a TCP port from 1 to 65535"},
		{[]string{"job", "start", "-n", "web", "-i", "tcp://h:1"}, `-i "tcp://h:1": want a host name or IP address`},
		{[]string{"job", "exec", "-n", "web"}, "exactly one COMMAND argument"},
		{[]string{"job", "exec", "-n", "web", `echo "unterminated`}, "unterminated double quote"},
		{[]string{"job", "download", "-n", "web", "/etc"}, "takes SOURCE and DESTINATION"},
		{[]string{"job", "start", "-n", "web", "extra"}, `takes no arguments, got "extra"`},
		{[]string{"job", "fly", "-n", "web"}, `unknown job "fly"`},
		{[]string{"job", "stop", "-n", "web", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"ps", "--state", "stopped"}, `--state "stopped": want one of created, running`},
		{[]string{"job", "exec", "-n", "web", "--kill-grace", "-2s", "ls"}, `invalid value "-2s" for flag -kill-grace: want a duration of 0 or more`},
		{[]string{"job", "exec", "-n", "web", "--timeout", "soon", "ls"}, `invalid value "soon" for flag -timeout: want a duration such as 30s, 1m30s or 2h`},
		{[]string{"ps", "--api-timeout", "0s"}, `invalid value "0s" for flag -api-timeout: want a duration greater than 0`},
	}
	for _, c := range cases {
		code, out, errs := run(t, host, c.args...)
		assert.Equal(t, 1, code, "%v", c.args)
		assert.Empty(t, out, "%v", c.args)
		assert.Contains(t, errs, c.want, "%v", c.args)
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := run(t, "", "job", "stop", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Usage: minato job stop (-c ID[*] | -n NAME[*] | --scope SCOPE) [options]")
	assert.Contains(t, out, "-t WAIT")
	code, out, _ = run(t, "", "job", "rm", "--help")
	assert.Equal(t, 0, code)
	for _, f := range []string{"-f\t", "-v\t", "-l\t"} {
		assert.Contains(t, out, "  "+strings.TrimSuffix(f, "\t"))
	}
	code, out, _ = run(t, "", "help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "minato job exec")
}

func TestUnreachableDaemonExitsOne(t *testing.T) {
	host := dockertest.Unreachable(t)
	code, out, errs := run(t, host, "job", "restart", "-n", "web*")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, errs, "cannot connect to the Docker daemon at "+host)
	assert.Contains(t, errs, "check that the daemon is running")

	// -i/-p map to tcp://ADDRESS:PORT and win over DOCKER_HOST.
	port := strings.TrimPrefix(host, "tcp://127.0.0.1:")
	code, _, errs = run(t, "unix:///nonexistent.sock", "job", "start", "-i", "127.0.0.1", "-p", port, "-n", "x")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "tcp://127.0.0.1:"+port)
}

var lineRE = regexp.MustCompile(`^[0-9a-f]{12} \S+ (Success|Skipped \(\w+\)|Failed: .+)$`)

func lines(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		f := strings.SplitN(l, " ", 3)
		m[f[1]] = f[2]
	}
	return m
}

// TestJobsOnRealEngine drives the CLI as a new user would.
func TestJobsOnRealEngine(t *testing.T) {
	h := dockertest.New(t)
	p := "clitest" + h.RunID()[:6]
	a := h.Run(t, dockertest.RunOptions{Name: p + "-a", Args: []string{"sleep", "forever"}})
	b := h.Run(t, dockertest.RunOptions{Name: p + "-b", Args: []string{"tree", "/data", "--", "sleep", "forever"}})
	other := h.Run(t, dockertest.RunOptions{Name: "x" + p, Args: []string{"sleep", "forever"}})
	for _, c := range []dockertest.Container{a, b, other} {
		h.WaitState(t, c.ID, "running", 10*time.Second)
	}

	code, out, errs := run(t, h.Host, "job", "stop", "-n", p+"*", "-t", "0")
	require.Equal(t, 0, code, errs)
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		assert.Regexp(t, lineRE, l)
	}
	assert.Equal(t, map[string]string{p + "-a": "Success", p + "-b": "Success"}, lines(out))
	assert.True(t, strings.HasPrefix(out, a.ID[:12]+" ") || strings.HasPrefix(out, b.ID[:12]+" "))

	code, out, _ = run(t, h.Host, "ps", "-n", p+"*")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, p+"-a exited minato-testbox:")

	code, out, _ = run(t, h.Host, "job", "stop", "-n", p+"-a")
	assert.Equal(t, 0, code)
	assert.Equal(t, a.ID[:12]+" "+p+"-a Skipped (exited)\n", out)

	code, out, _ = run(t, h.Host, "job", "start", "-c", a.ID[:12])
	assert.Equal(t, 0, code)
	assert.Equal(t, a.ID[:12]+" "+p+"-a Success\n", out)

	code, out, _ = run(t, h.Host, "job", "start", "-n", p+"-b")
	assert.Equal(t, 0, code)
	assert.Equal(t, b.ID[:12]+" "+p+"-b Success\n", out)

	// exec: output relayed, exit code is the command's.
	code, out, errs = run(t, h.Host, "job", "exec", "-n", p+"-b", `/testbox print "hello world" -- eprint oops -- exit 5`)
	assert.Equal(t, 5, code)
	assert.Equal(t, "hello world\n", out)
	assert.Equal(t, "oops\n", errs)

	// exec with a timeout ends the process.
	start := time.Now()
	code, _, errs = run(t, h.Host, "job", "exec", "-n", p+"-b", "--timeout", "300ms", "--kill-grace", "100ms", "/testbox sleep forever --ignore-term")
	assert.Equal(t, 137, code)
	assert.Contains(t, errs, "timed out after 300ms; process ended (host)")
	assert.Less(t, time.Since(start), 5*time.Second)

	// --shell needs a shell in the image: a clear failure, not a hang.
	code, out, errs = run(t, h.Host, "job", "exec", "-n", p+"-b", "--shell", "echo hi")
	assert.Contains(t, []int{126, 127}, code, "the engine reports 126/127 when /bin/sh does not exist")
	assert.Contains(t, out+errs, "/bin/sh", "the engine's reason is relayed")

	// download: path first, then the listing; the archive is in place.
	dest := t.TempDir()
	code, out, errs = run(t, h.Host, "job", "download", "-n", p+"-b", "/data", dest)
	require.Equal(t, 0, code, errs)
	ls := strings.Split(strings.TrimSpace(out), "\n")
	assert.Equal(t, filepath.Join(dest, p+"-b_data.tar"), ls[0])
	assert.Regexp(t, `(?m)^-rw------- 1000/1000 6 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d data/sub/b\.txt$`, out)
	assert.Regexp(t, `(?m)^drwxr-x--- 0/0 0 \S+ \S+ data/sub/$`, out)
	_, err := os.Stat(ls[0])
	assert.NoError(t, err)

	// exec in a stopped container: 9 with the reason.
	code, _, _ = run(t, h.Host, "job", "stop", "-c", a.ID[:12], "-t", "0")
	require.Equal(t, 0, code)
	code, _, errs = run(t, h.Host, "job", "exec", "-c", a.ID[:12], "/testbox print x")
	assert.Equal(t, 9, code)
	assert.Contains(t, errs, "Failed: container is exited: exec needs a running container")

	// rm without -f: the running container fails the job (9), the exited one goes.
	code, out, _ = run(t, h.Host, "job", "rm", "-n", p+"*")
	assert.Equal(t, 9, code)
	assert.Equal(t, map[string]string{p + "-a": "Success", p + "-b": "Failed: container is running; only stopped containers are removed without -f"}, lines(out))

	// Nothing matched: 1.
	code, _, errs = run(t, h.Host, "job", "start", "-n", "nothing-matches-"+p)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, `no container matches -n "nothing-matches-`+p+`"`)

	// rm -f -v removes both; the unrelated container is untouched.
	code, out, _ = run(t, h.Host, "job", "rm", "-f", "-v", "-n", p+"*")
	assert.Equal(t, 0, code)
	assert.Equal(t, map[string]string{p + "-b": "Success"}, lines(out))
	code, out, _ = run(t, h.Host, "ps", "-n", "x"+p)
	assert.Equal(t, 0, code)
	assert.Contains(t, out, " running ")
}

// TestExecShellOnImageWithShell runs --shell where the image has /bin/sh.
func TestExecShellOnImageWithShell(t *testing.T) {
	h := dockertest.New(t)
	x := h.Run(t, dockertest.RunOptions{Image: h.ShellImage(t), Args: []string{"sleep", "forever"}})
	h.WaitState(t, x.ID, "running", 10*time.Second)
	code, out, errs := run(t, h.Host, "job", "exec", "-c", x.ID[:12], "--shell", `echo "$((6*7))" | tr 4 X; echo err >&2; exit 3`)
	assert.Equal(t, 3, code)
	assert.Equal(t, "X2\n", out)
	assert.Equal(t, "err\n", errs)

	// Without --shell the same text is not interpreted: echo prints it.
	code, out, _ = run(t, h.Host, "job", "exec", "-c", x.ID[:12], `/bin/echo $HOME '|' x`)
	assert.Equal(t, 0, code)
	assert.Equal(t, "$HOME | x\n", out)
}
