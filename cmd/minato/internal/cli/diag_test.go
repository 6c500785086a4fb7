package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/diag"
	ddocker "github.com/minato-ops/minato/diag/docker"
	dexplain "github.com/minato-ops/minato/diag/explain"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runIn is run with a standard input.
func runIn(t *testing.T, host, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "DOCKER_HOST" {
			return host
		}
		return ""
	}
	code := Main(context.Background(), args, Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: getenv})
	return code, out.String(), errb.String()
}

// TestDiagUsageErrors: every mistake on the command line exits 3 (never
// 1 or 2, which say what was found) with a message naming the value and
// what is allowed, before any engine is contacted.
func TestDiagUsageErrors(t *testing.T) {
	host := dockertest.Unreachable(t)
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"diag"}, "Usage: minato diag COMMAND"},
		{[]string{"diag", "fix"}, `unknown diag command "fix": want check, explain, bundle or runbook`},
		{[]string{"diag", "check", "extra"}, `takes no arguments, got "extra"`},
		{[]string{"diag", "check", "--format", "yaml"}, `--format "yaml": want text, json or markdown`},
		{[]string{"diag", "check", "--color", "sometimes"}, `--color "sometimes": want auto, always or never`},
		{[]string{"diag", "check", "--reserved-ports", "9080,70000"}, `--reserved-ports "70000": want TCP/UDP port numbers from 1 to 65535`},
		{[]string{"diag", "check", "--reserved-ports", "http"}, `"http": want TCP/UDP port numbers`},
		{[]string{"diag", "check", "--dns-name", "bad name"}, `--dns-name "bad name": want a host name`},
		{[]string{"diag", "check", "-c", "abc", "-n", "web"}, "-c and -n cannot be used together"},
		{[]string{"diag", "check", "-n", "w*b"}, `* is allowed only at the end`},
		{[]string{"diag", "check", "--label", "=x"}, "want KEY or KEY=VALUE"},
		{[]string{"diag", "check", "--timeout", "0s"}, "want a duration greater than 0"},
		{[]string{"diag", "check", "-p", "2375"}, "-p 2375 given without -i ADDRESS"},
		{[]string{"diag", "check", "--engine", "a", "--engine", "b"}, "several need --config FILE"},
		{[]string{"diag", "check", "--config", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{[]string{"diag", "check", "--config", filepath.Join(dir, "missing.yaml"), "-i", "h"}, "-i/-p and --config"},
		{[]string{"diag", "explain", "--format", "html", "x"}, `--format "html"`},
		{[]string{"diag", "explain"}, "nothing to explain: the text is empty"},
		{[]string{"diag", "explain", "--rules", "x"}, "--rules lists the catalogue: it takes no text"},
		{[]string{"diag", "bundle", "--prefix", "a/b"}, `prefix "a/b": want 1-64 letters`},
		{[]string{"diag", "bundle", "--tail", "0"}, "--tail 0: want 1 or more lines"},
		{[]string{"diag", "bundle", "x"}, `takes no arguments, got "x"`},
		{[]string{"diag", "runbook", "dns"}, `unknown runbook "dns": want connectivity or logs`},
		{[]string{"diag", "runbook", "connectivity"}, "name one container: -n NAME or -c ID"},
		{[]string{"diag", "runbook", "connectivity", "-n", "a", "-n", "b"}, "name one container"},
		{[]string{"diag", "runbook", "connectivity", "-n", "web", "--port", "70000"}, "--port 70000: want a TCP port"},
		{[]string{"diag", "runbook", "connectivity", "-n", "web", "--path", "health"}, `--path "health": want an absolute path`},
		{[]string{"diag", "runbook", "connectivity", "-n", "web", "--address", "10.0.0.1"}, "give --domain too"},
		{[]string{"diag", "runbook", "connectivity", "-n", "web", "--domain", "a.example", "--address", "ten"}, `--address "ten": want an IP address`},
		{[]string{"diag", "runbook", "connectivity", "-n", "web", "--format", "xml"}, `--format "xml"`},
		{[]string{"diag", "runbook", "logs"}, "name one container"},
	}
	for _, c := range cases {
		code, _, stderr := run(t, host, c.args...)
		assert.Equal(t, diagExitUsage, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.want, "%v", c.args)
	}
	for _, args := range [][]string{{"diag", "-h"}, {"diag", "check", "-h"}, {"diag", "explain", "--help"}, {"diag", "bundle", "-h"},
		{"diag", "runbook"}, {"diag", "runbook", "connectivity", "-h"}, {"diag", "runbook", "logs", "-h"}} {
		code, stdout, _ := run(t, host, args...)
		assert.Equal(t, 0, code, "%v", args)
		assert.NotEmpty(t, stdout, "%v prints its help on stdout", args)
	}
	_, stdout, _ := run(t, host, "diag", "check", "-h")
	assert.Contains(t, stdout, "Container Service", "the help speaks of the catalogues")
	_, stdout, _ = run(t, host, "diag", "bundle", "-h")
	assert.Contains(t, stdout, "JobCenter's collector")
	_, stdout, _ = run(t, host, "help")
	assert.Contains(t, stdout, "minato diag check|explain|bundle|runbook")
}

// diagReport is what "minato diag check --format json" prints.
type diagReport struct {
	Scope   string             `json:"scope"`
	Summary diag.Summary       `json:"summary"`
	Results []diag.CheckResult `json:"results"`
}

func (r diagReport) findings(code string) []diag.Finding {
	var out []diag.Finding
	for _, res := range r.Results {
		for _, f := range res.Findings {
			if f.Code == code {
				out = append(out, f)
			}
		}
	}
	return out
}

// TestDiagCheckUnreachable: an engine that does not answer is a critical
// finding, exit 2, and the other checks say they could not answer.
func TestDiagCheckUnreachable(t *testing.T) {
	host := dockertest.Unreachable(t)
	code, stdout, stderr := run(t, host, "diag", "check", "--format", "json", "--api-timeout", "2s")
	require.Equal(t, diagExitCritical, code, stderr)
	var rep diagReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	assert.Equal(t, "engine local", rep.Scope)
	assert.Len(t, rep.findings(ddocker.CodeUnreachable), 1)
	assert.Equal(t, diag.Critical, rep.Summary.Worst)
	assert.Equal(t, 2, rep.Summary.ExitCode)
	assert.Positive(t, rep.Summary.Errors, "the other checks could not answer")

	code, stdout, _ = run(t, host, "diag", "check", "--api-timeout", "2s", "--engine", "prod-1")
	assert.Equal(t, diagExitCritical, code)
	assert.Contains(t, stdout, "engine prod-1:", "--engine names the engine in the report")
	assert.Contains(t, stdout, "engine.unreachable")
}

// TestDiagCheckUnlimitedContainer: a container without a memory limit or a
// restart policy is reported with its fix, in text, JSON and Markdown; the
// exit code is the report's (1 for the warnings, 2 if this host has
// something critical besides); a selection that matches nothing exits 3.
func TestDiagCheckUnlimitedContainer(t *testing.T) {
	h := dockertest.New(t)
	ctr := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})

	code, stdout, stderr := run(t, h.Host, "diag", "check", "-n", ctr.Name, "--format", "json", "--no-host")
	var rep diagReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout+stderr)
	require.Contains(t, []int{diagExitWarning, diagExitCritical}, code, stdout)
	assert.Equal(t, rep.Summary.ExitCode, code, "the exit code is the report's")
	for _, want := range []string{ddocker.CodeNoMemoryLimit, ddocker.CodeNoRestartPolicy} {
		fs := rep.findings(want)
		require.Len(t, fs, 1, "%s for the one selected container", want)
		assert.Equal(t, ctr.Name, fs[0].Subject.Name)
		assert.Equal(t, diag.Warning, fs[0].Severity)
		assert.NotEmpty(t, fs[0].Remedy)
	}
	for _, res := range rep.Results {
		assert.NotContains(t, res.Check.ID, "host.", "--no-host leaves out the host checks")
	}

	code, stdout, _ = run(t, h.Host, "diag", "check", "-n", ctr.Name, "--no-host")
	assert.Equal(t, rep.Summary.ExitCode, code)
	assert.Contains(t, stdout, "container "+ctr.Name)
	assert.Contains(t, stdout, "(container.no_memory_limit)")
	assert.Contains(t, stdout, "fix: ")
	assert.Contains(t, stdout, "result: ")

	code, stdout, _ = run(t, h.Host, "diag", "check", "--label", dockertest.LabelKey+"="+h.RunID(), "--no-host", "--format", "markdown")
	assert.Equal(t, rep.Summary.ExitCode, code)
	assert.Contains(t, stdout, "container.no_restart_policy")
	assert.Contains(t, stdout, ctr.Name)

	code, _, stderr = run(t, h.Host, "diag", "check", "-n", "no-such-"+h.RunID(), "--no-host")
	assert.Equal(t, diagExitUsage, code)
	assert.Contains(t, stderr, "no container on engine local matches -n no-such-"+h.RunID()+": nothing to check")
}

// TestDiagCheckConfigEngines: --config checks the configuration's engines
// with its diag: section's reserved ports (D03).
func TestDiagCheckConfigEngines(t *testing.T) {
	h := dockertest.New(t)
	ctr := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("engines:\n  - {name: e1, host: "+h.Host+"}\nevents: {enabled: true}\ndiag: {enabled: true, reserved_ports: [9080, 2376, 3376]}\n"), 0o600))
	code, stdout, stderr := run(t, dockertest.Unreachable(t), "diag", "check", "--config", cfg, "-n", ctr.Name, "--format", "json", "--no-host")
	require.Contains(t, []int{diagExitWarning, diagExitCritical}, code, stderr)
	var rep diagReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	assert.Equal(t, "engine e1", rep.Scope)
	fs := rep.findings(ddocker.CodeNoMemoryLimit)
	require.Len(t, fs, 1)
	assert.Equal(t, "e1", fs[0].Subject.Engine)

	code, _, stderr = run(t, h.Host, "diag", "check", "--config", cfg, "--engine", "e9")
	assert.Equal(t, diagExitUsage, code)
	assert.Contains(t, stderr, "--engine e9: "+cfg+" has no such engine (it has e1)")
}

// faqQuota is the Container Service FAQ's cluster-creation error for the
// security group quota, as the FAQ gives it.
const faqQuota = "Config cs ClusterNetwork failed : Aliyun API Error: RequestId : 264E5ADC-0571-44C0-8508-C037096856C7 Status Code: 403 Code: QuotaExceed.SecurityGroup Message: The security group quota exceeds."

// TestDiagExplain: the FAQ's, JobCenter's and Docker's texts are explained
// from arguments or standard input, in every format; unknown text is
// unclassified with exit 1.
func TestDiagExplain(t *testing.T) {
	host := dockertest.Unreachable(t)
	code, stdout, stderr := run(t, host, "diag", "explain", faqQuota)
	require.Equal(t, diagExitOK, code, stderr)
	assert.Contains(t, stdout, "1 explanation in")
	assert.Contains(t, stdout, "QuotaExceed.SecurityGroup")
	assert.Contains(t, stdout, "264E5ADC-0571-44C0-8508-C037096856C7")

	// Arguments are joined: an unquoted paste works too.
	code, stdout, _ = run(t, host, append([]string{"diag", "explain", "--format", "json", "--"}, strings.Fields(faqQuota)...)...)
	require.Equal(t, diagExitOK, code)
	var doc struct {
		Result       string             `json:"result"`
		Explanations []diag.Explanation `json:"explanations"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	assert.Equal(t, "classified", doc.Result)
	require.Len(t, doc.Explanations, 1)
	e := doc.Explanations[0]
	assert.Equal(t, "QuotaExceed.SecurityGroup", e.Fields["code"])
	assert.Equal(t, "ClusterNetwork", e.Fields["step"])
	assert.Equal(t, "403", e.Fields["status"])

	log := "2026-11-22T03:00:00Z starting\n" +
		"docker: Error response from daemon: Conflict. The container name \"/web\" is already in use by container \"0123456789ab\". You have to remove (or rename) that container to be able to reuse that name.\n" +
		"Error: No valid license is registered.\n" +
		"Invalid input for user ram ak or ak secret\n"
	code, stdout, _ = runIn(t, host, log, "diag", "explain")
	require.Equal(t, diagExitOK, code)
	assert.Contains(t, stdout, "3 explanations in")
	assert.Contains(t, stdout, "matched at line 2:")
	code, stdout, _ = runIn(t, host, log, "diag", "explain", "-", "--format", "markdown")
	require.Equal(t, diagExitOK, code)
	assert.Contains(t, stdout, "# Explanation of the pasted text")

	code, stdout, _ = runIn(t, host, "all is well\n", "diag", "explain")
	assert.Equal(t, diagExitWarning, code)
	assert.Contains(t, stdout, "unclassified: no known error was recognised")

	code, stdout, _ = run(t, host, "diag", "explain", "--rules")
	assert.Equal(t, diagExitOK, code)
	assert.Contains(t, stdout, "docker.port_allocated")
	assert.Contains(t, stdout, "rules\n")
	code, stdout, _ = run(t, host, "diag", "explain", "--rules", "--format", "json")
	assert.Equal(t, diagExitOK, code)
	var rules []diag.Rule
	require.NoError(t, json.Unmarshal([]byte(stdout), &rules))
	assert.Len(t, rules, len(dexplain.Rules()))
}

// readTar returns the files of a tar.gz by base name.
func readTar(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		out[filepath.Base(h.Name)] = string(b)
	}
}

// TestDiagBundle: the bundle of a selected container is written with
// JobCenter's progress messages on stderr, its path on stdout, the
// container's secret redacted, and the agent's state when one answers.
func TestDiagBundle(t *testing.T) {
	h := dockertest.New(t)
	const secret = "s3cr3t-" + "value-for-bundle"
	ctr := h.Run(t, dockertest.RunOptions{Args: []string{"print", "hello", "--", "sleep", "forever"}, Env: []string{"DB_PASSWORD=" + secret}})
	agentSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/status", "/api/v1/diag":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"path": "`+r.URL.Path+`"}`)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error": "this agent is not an HA node"}`)
		}
	}))
	defer agentSrv.Close()
	dir := t.TempDir()
	code, stdout, stderr := run(t, h.Host, "diag", "bundle", "-n", ctr.Name, "-o", dir, "--prefix", "case42", "--agent", agentSrv.URL)
	require.Equal(t, diagExitOK, code, stderr)
	path := strings.TrimSpace(stdout)
	assert.True(t, strings.HasPrefix(filepath.Base(path), "case42_"), path)
	assert.True(t, strings.HasSuffix(path, ".tar.gz"), path)
	for _, msg := range []string{"Start to get docker info.", "Start to get container(" + ctr.ID[:12] + ") info.", "Start to compress.", "was created successfully."} {
		assert.Contains(t, stderr, msg)
	}
	assert.Less(t, strings.Index(stderr, "Start to get docker info."), strings.Index(stderr, "Start to compress."), "in the collector's order")
	files := readTar(t, path)
	require.Contains(t, files, "container_"+ctr.Name+".info")
	assert.Contains(t, files["container_"+ctr.Name+".info"], "hello")
	for name, content := range files {
		assert.NotContains(t, content, secret, "%s holds the secret", name)
	}
	assert.Contains(t, files["REDACTIONS.txt"], "DB_PASSWORD")
	assert.JSONEq(t, `{"path": "/api/v1/diag"}`, files["agent_diag.json"])
	assert.JSONEq(t, `{"path": "/api/v1/status"}`, files["agent_status.json"])
	assert.Contains(t, files["agent_ha.json"], "not an HA node")

	// No agent: noted, and the bundle is written all the same.
	code, stdout, stderr = run(t, h.Host, "diag", "bundle", "-n", ctr.Name, "-o", t.TempDir(), "--agent", strings.Replace(dockertest.Unreachable(t), "tcp://", "http://", 1))
	require.Equal(t, diagExitOK, code, stderr)
	assert.Contains(t, stderr, "the bundle holds no agent state")
	files = readTar(t, strings.TrimSpace(stdout))
	assert.NotContains(t, files, "agent_diag.json")

	// An engine that does not answer: nothing written, exit 1.
	out := t.TempDir()
	code, stdout, stderr = run(t, dockertest.Unreachable(t), "diag", "bundle", "-o", out, "--no-agent", "--api-timeout", "2s")
	assert.Equal(t, diagExitWarning, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "Get docker info error! Stop.")
}

// runbookJSON is what "minato diag runbook ... --format json" prints.
type runbookJSON struct {
	diag.RunbookResult
	Passed   bool `json:"passed"`
	ExitCode int  `json:"exit_code"`
}

func runRunbook(t *testing.T, host string, args ...string) (int, runbookJSON, string) {
	t.Helper()
	code, stdout, stderr := run(t, host, append(append([]string{"diag", "runbook"}, args...), "--format", "json")...)
	var r runbookJSON
	require.NoError(t, json.Unmarshal([]byte(stdout), &r), "%s\n%s", stdout, stderr)
	assert.Equal(t, r.ExitCode, code, "the exit code is the result's")
	return code, r, stderr
}

// startHTTPD runs busybox httpd on port 8080 in a container of the shell
// image, serving an index page.
func startHTTPD(t *testing.T, h *dockertest.Harness) string {
	t.Helper()
	img := h.ShellImage(t)
	c, err := container.New(container.Config{Host: h.Host})
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	name := "minato-test-httpd-" + h.RunID()
	res, err := c.Create(ctx, container.CreateOptions{Name: name, Image: img, Entrypoint: []string{"/bin/busybox"},
		Cmd:    []string{"sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec /bin/busybox httpd -f -p 8080 -h /www"},
		Labels: map[string]string{dockertest.LabelKey: h.RunID()}})
	require.NoError(t, err)
	t.Cleanup(func() {
		c, err := container.New(container.Config{Host: h.Host})
		if err == nil {
			_, _ = c.Remove(context.Background(), res.ID, container.RemoveOptions{Force: true})
			c.Close()
		}
	})
	_, err = c.Start(ctx, res.ID, container.StartOptions{})
	require.NoError(t, err)
	return name
}

// TestDiagRunbookConnectivity: the seven-step link check on real
// containers: a web server passes steps 1-4 (5 and 6 have no counterpart
// here), a closed port stops at step 2, a port that does not speak HTTP at
// step 4, a missing or stopped container at step 1, a wrong DNS answer at
// step 7.
func TestDiagRunbookConnectivity(t *testing.T) {
	h := dockertest.New(t)
	web := startHTTPD(t, h)

	var code int
	var r runbookJSON
	deadline := time.Now().Add(10 * time.Second)
	for { // httpd takes a moment to listen
		code, r, _ = runRunbook(t, h.Host, "connectivity", "-n", web, "--port", "8080", "--domain", "localhost", "--address", "127.0.0.1")
		if code == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, diagExitOK, code, "%+v", r)
	require.Len(t, r.Steps, 7)
	for i, s := range r.Steps {
		assert.True(t, s.Passed, "step %d", i+1)
		assert.Equal(t, i == 4 || i == 5, s.NotApplicable, "step %d: only routing and the load balancer are not applicable", i+1)
	}
	assert.Equal(t, "container.page_ok", r.Steps[3].Findings[0].Code)

	code, r, _ = runRunbook(t, h.Host, "connectivity", "-n", web, "--port", "8080", "--path", "/missing")
	assert.Equal(t, diagExitCritical, code)
	assert.Equal(t, 3, r.FailedAt, "the health page must answer 200: 404 fails step 3")

	code, r, _ = runRunbook(t, h.Host, "connectivity", "-n", web, "--port", "8081", "--probe-timeout", "2s")
	assert.Equal(t, diagExitCritical, code)
	require.Equal(t, 2, r.FailedAt, "nothing listens on 8081")
	assert.Equal(t, "D12", r.Steps[1].Findings[0].Code)
	assert.Len(t, r.NotRun, 5)

	code, r, _ = runRunbook(t, h.Host, "connectivity", "-n", web, "--port", "8080", "--domain", "localhost", "--address", "192.0.2.1")
	assert.Equal(t, diagExitCritical, code)
	require.Equal(t, 7, r.FailedAt)
	assert.Equal(t, "D16", r.Steps[6].Findings[0].Code)

	listener := h.Run(t, dockertest.RunOptions{Args: []string{"listen", ":8080"}})
	deadline = time.Now().Add(10 * time.Second)
	for { // until testbox listens
		code, r, _ = runRunbook(t, h.Host, "connectivity", "-n", listener.Name, "--port", "8080", "--probe-timeout", "1s")
		if r.FailedAt != 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.Equal(t, diagExitCritical, code)
	require.Equal(t, 4, r.FailedAt, "the port accepts connections but gives no HTTP answer")
	assert.Equal(t, "D13", r.Steps[3].Findings[0].Code)
	assert.Contains(t, r.Advice, "curl -v <container IP>", "the FAQ's advice for step 4")

	stopped := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}, Start: new(bool)})
	code, r, _ = runRunbook(t, h.Host, "connectivity", "-n", stopped.Name)
	assert.Equal(t, diagExitCritical, code)
	require.Equal(t, 1, r.FailedAt)
	assert.Contains(t, r.Steps[0].Findings[0].Title, "not running (created)")

	code, r, _ = runRunbook(t, h.Host, "connectivity", "-n", "no-such-"+h.RunID())
	assert.Equal(t, diagExitCritical, code)
	require.Equal(t, 1, r.FailedAt)
	assert.Contains(t, r.Steps[0].Findings[0].Title, "No such container")

	code, r, _ = runRunbook(t, dockertest.Unreachable(t), "connectivity", "-n", web, "--api-timeout", "2s")
	assert.Equal(t, diagExitWarning, code, "an engine that does not answer leaves step 1 unanswered")
	assert.Equal(t, 1, r.FailedAt)
	assert.NotEmpty(t, r.Steps[0].Err)
}

// TestDiagRunbookLogs: the log steps with a Docker counterpart run, the
// others are not applicable; a container that writes nothing fails step 6
// (D27) while every step still runs.
func TestDiagRunbookLogs(t *testing.T) {
	h := dockertest.New(t)
	talker := h.Run(t, dockertest.RunOptions{Args: []string{"print", "ready", "--", "sleep", "forever"}})
	silent := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})

	deadline := time.Now().Add(5 * time.Second)
	var code int
	var r runbookJSON
	for {
		code, r, _ = runRunbook(t, h.Host, "logs", "-n", talker.Name)
		if code == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, diagExitOK, code, "%+v", r)
	require.Len(t, r.Steps, 6)
	for i, s := range r.Steps {
		assert.Equal(t, i == 1 || i == 2 || i == 3 || i == 4, s.NotApplicable, "step %d", i+1)
	}

	code, r, _ = runRunbook(t, h.Host, "logs", "-n", silent.Name)
	assert.Equal(t, diagExitWarning, code)
	require.Equal(t, 6, r.FailedAt)
	assert.Equal(t, "D27", r.Steps[5].Findings[0].Code)
	assert.Len(t, r.Steps, 6, "every step runs")

	code, _, stderr := run(t, h.Host, "diag", "runbook", "logs", "-n", "no-such-"+h.RunID())
	assert.Equal(t, diagExitUsage, code)
	assert.Contains(t, stderr, "no container matches -n no-such-"+h.RunID())
}

// TestLogEndpoint: the log driver options that name a TCP destination are
// found; UDP and unix ones have no connection to test.
func TestLogEndpoint(t *testing.T) {
	cases := []struct {
		opts       map[string]string
		addr, from string
	}{
		{map[string]string{"syslog-address": "tcp://10.0.0.5:514"}, "10.0.0.5:514", "syslog-address"},
		{map[string]string{"syslog-address": "udp://10.0.0.5:514"}, "", ""},
		{map[string]string{"syslog-address": "unix:///dev/log"}, "", ""},
		{map[string]string{"fluentd-address": "fluentd.example:24224"}, "fluentd.example:24224", "fluentd-address"},
		{map[string]string{"fluentd-address": "tcp://fluentd.example:24224"}, "fluentd.example:24224", "fluentd-address"},
		{map[string]string{"splunk-url": "https://splunk.example/services"}, "splunk.example:443", "splunk-url"},
		{map[string]string{"gelf-address": "tcp://[2001:db8::1]:12201"}, "[2001:db8::1]:12201", "gelf-address"},
		{map[string]string{"max-size": "10m"}, "", ""},
		{nil, "", ""},
	}
	for _, c := range cases {
		var tgt runbookTarget
		tgt.set.LogOptions = c.opts
		addr, from := tgt.logEndpoint()
		assert.Equal(t, c.addr, addr, "%v", c.opts)
		assert.Equal(t, c.from, from, "%v", c.opts)
	}
}

// TestLogDriverCheck: log driver none discards the logs (critical); a
// driver docker logs reads passes; a shipping driver is told as such.
func TestLogDriverCheck(t *testing.T) {
	for driver, want := range map[string]diag.Severity{"none": diag.Critical, "json-file": diag.OK, "local": diag.OK, "fluentd": diag.Info} {
		var tgt runbookTarget
		tgt.ins.Name, tgt.set.LogDriver = "web", driver
		fs, err := tgt.logDriverCheck().Run(context.Background())
		require.NoError(t, err)
		require.Len(t, fs, 1)
		assert.Equal(t, want, fs[0].Severity, driver)
		assert.Contains(t, fs[0].Evidence, "log driver: "+driver)
	}
}

// TestParsePorts covers --reserved-ports.
func TestParsePorts(t *testing.T) {
	got, err := parsePorts("9080, 2376,3376,")
	require.NoError(t, err)
	assert.Equal(t, []int{9080, 2376, 3376}, got)
	for _, bad := range []string{"0", "65536", "80-90", "x"} {
		_, err := parsePorts(bad)
		assert.Error(t, err, bad)
	}
	got, err = parsePorts("")
	require.NoError(t, err)
	assert.Empty(t, got)
}

// TestTruncate keeps runes whole.
func TestTruncate(t *testing.T) {
	assert.Equal(t, "abc", truncate("abc", 5))
	assert.Equal(t, "ab …", truncate("abcdef", 2))
	assert.Equal(t, "日 …", truncate("日本語", 4), "a cut inside a rune drops the rune")
}

// FuzzDiagFlags: the parsers of --reserved-ports, --label, --dns-name and
// the log driver's address options never panic, and what they accept is
// in range.
func FuzzDiagFlags(f *testing.F) {
	for _, s := range []string{"9080,2376,3376", "", ",", "0", "65536", "tcp://10.0.0.5:514", "udp://[::1]:514", "https://splunk.example/x", "a=b", "=", "k=", "日本", "http://[", "tcp://:514"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ports, err := parsePorts(s); err == nil {
			for _, p := range ports {
				if p < 1 || p > 65535 {
					t.Fatalf("parsePorts(%q) accepted %d", s, p)
				}
			}
		}
		l := labelFlag{}
		if err := l.Set(s); err == nil {
			for k := range l {
				if strings.TrimSpace(k) == "" {
					t.Fatalf("label %q accepted an empty key", s)
				}
			}
		}
		_ = validDNSName(s)
		var tgt runbookTarget
		for _, k := range logAddressOptions {
			tgt.set.LogOptions = map[string]string{k: s}
			if addr, _ := tgt.logEndpoint(); addr != "" {
				if _, _, err := net.SplitHostPort(addr); err != nil {
					t.Fatalf("logEndpoint(%s=%q) = %q: not host:port", k, s, addr)
				}
			}
		}
		_ = truncate(s, 3)
	})
}
