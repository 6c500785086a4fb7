//go:build linux

package hatest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/cluster"
)

// The minato binary, built once per test process.
var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// minatoBinary builds cmd/minato once and returns its path; it skips the
// test when there is no go command.
func minatoBinary(t testing.TB) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		skipOrFail(t, "no go command to build minato")
	}
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "hatest-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "minato")
		out, err := exec.Command(goBin, "build", "-o", binPath, "github.com/minato-ops/minato/cmd/minato").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// etcdBinary is Debian's etcd-server.
func etcdBinary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"etcd", "/usr/bin/etcd", "/usr/local/bin/etcd"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	skipOrFail(t, "etcd (Debian package etcd-server) is not installed")
	return ""
}

// lockedBuffer is a bytes.Buffer safe for a process's output and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tail is the last n bytes of s, from a line start.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "...\n" + s
}

// startEtcd runs a single-member etcd in the switch's namespace on the
// witness network (10.71.0.254:2379), its data in t.TempDir(), and stops
// it in t.Cleanup.
func startEtcd(t testing.TB, tp *topology) string {
	t.Helper()
	bin := etcdBinary(t)
	dir := t.TempDir()
	endpoint := "http://" + witNet + switchHost + ":" + strconv.Itoa(etcdPort)
	peer := "http://127.0.0.1:2380"
	log := &lockedBuffer{}
	cmd := command(tp.sw, bin, "--name", "hx", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "hx="+peer, "--initial-cluster-state", "new",
		"--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("etcd's log:\n%s", tail(log.String(), 4000))
		}
	})
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DialContext: tp.dial, DisableKeepAlives: true}}
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := hc.Get(endpoint + "/health")
		if err == nil {
			var h struct {
				Health string `json:"health"`
			}
			err = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if err == nil && h.Health == "true" {
				return endpoint
			}
		}
		select {
		case <-done:
			t.Fatalf("etcd exited:\n%s", tail(log.String(), 4000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd not healthy within 20s: %v\n%s", err, tail(log.String(), 4000))
		}
	}
}

// witnessLog records when each node's witness probes arrived.
type witnessLog struct {
	mu     sync.Mutex
	probes map[int][]time.Time // by node index
}

func (w *witnessLog) add(remote string, at time.Time) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil || !strings.HasPrefix(host, witNet) {
		return
	}
	k, err := strconv.Atoi(strings.TrimPrefix(host, witNet))
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.probes[k] = append(w.probes[k], at)
}

// first is node k's first probe at or after since (zero if none).
func (w *witnessLog) first(k int, since time.Time) time.Time {
	if w == nil {
		return time.Time{}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.probes[k] {
		if !p.Before(since) {
			return p
		}
	}
	return time.Time{}
}

// startHTTPWitness serves CLUSTERPRO's HTTP witness target on the
// witness network: every request is answered 200, and recorded. It
// returns the target URL.
func startHTTPWitness(t testing.TB, tp *topology) (string, *witnessLog) {
	t.Helper()
	ln, err := tp.listen("tcp", witNet+switchHost+":"+strconv.Itoa(httpWPort))
	if err != nil {
		t.Fatalf("witness: %v", err)
	}
	wl := &witnessLog{probes: map[int][]time.Time{}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wl.add(r.RemoteAddr, time.Now())
		w.WriteHeader(http.StatusOK)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/", wl
}

// procState is what the test did to an agent's process last.
type procState int

const (
	procDown    procState = iota // not started, or killed, or stopped
	procRunning                  // running (or thawed)
	procFrozen                   // SIGSTOPped
)

func (s procState) String() string {
	return [...]string{"down", "running", "frozen"}[s]
}

// agentNode is one node of a test cluster: its namespace, its
// configuration and its `minato agent` process.
type agentNode struct {
	name string // node1, node2, ...
	k    int    // 1-based index in the topology
	ns   string
	cfg  string // config file
	log  string // the agents' stderr (JSON lines), appended by every incarnation
	api  string // base URL of its API

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	state   procState
	started time.Time // this incarnation's start
	thawed  time.Time // the last SIGCONT
	incs    int       // incarnations so far
	hist    []procChange
}

// procChange is a change of the node's process, for the checker.
type procChange struct {
	at    time.Time
	state procState
	inc   int  // the incarnation
	thaw  bool // a SIGCONT
}

// record appends a change; n.mu is held.
func (n *agentNode) recordLocked(st procState, thaw bool) {
	now := time.Now()
	n.state = st
	if thaw {
		n.thawed = now
	}
	n.hist = append(n.hist, procChange{at: now, state: st, inc: n.incs, thaw: thaw})
}

// history returns a copy of the node's process changes.
func (n *agentNode) history() []procChange {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]procChange(nil), n.hist...)
}

func (n *agentNode) snapshot() (procState, time.Time, time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.state, n.started, n.thawed
}

// hbAddr, witIP and mgmtIP are the node's addresses.
func (n *agentNode) hbAddr() string { return hbNet + strconv.Itoa(n.k) + ":" + strconv.Itoa(hbPort) }
func (n *agentNode) mgmtIP() string { return mgmtNet + strconv.Itoa(n.k) }

// haReport is GET /api/v1/ha.
type haReport struct {
	Cluster cluster.Status   `json:"cluster"`
	Groups  []ha.GroupStatus `json:"groups"`
	Events  []haEvent        `json:"events"`
}

type haEvent struct {
	ha.Event
	Error string `json:"error,omitempty"`
}

// group returns the cluster's and the engine's view of group g.
func (r haReport) group(g string) (cluster.GroupStatus, ha.GroupStatus) {
	var c cluster.GroupStatus
	var e ha.GroupStatus
	for _, x := range r.Cluster.Groups {
		if x.Name == g {
			c = x
		}
	}
	for _, x := range r.Groups {
		if x.Group == g {
			e = x
		}
	}
	return c, e
}

// apiClient talks to the agents' APIs from the switch's namespace.
type apiClient struct {
	hc    *http.Client
	token string
}

func newAPIClient(tp *topology, token string) *apiClient {
	return &apiClient{token: token, hc: &http.Client{Transport: &http.Transport{
		DialContext: tp.dial, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}}}
}

func (c *apiClient) do(ctx context.Context, method, url string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// report asks node n for GET /api/v1/ha within timeout.
func (c *apiClient) report(n *agentNode, timeout time.Duration) (haReport, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var r haReport
	err := c.do(ctx, http.MethodGet, n.api+"/api/v1/ha", nil, &r)
	return r, err
}

// start starts a new incarnation of the node's agent and waits until its
// API answers.
func (h *harness) start(n *agentNode) {
	h.t.Helper()
	logf, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		h.t.Fatal(err)
	}
	n.mu.Lock()
	if n.state != procDown {
		n.mu.Unlock()
		h.t.Fatalf("%s: start: it is %s", n.name, n.state)
	}
	n.incs++
	fmt.Fprintf(logf, "{\"hatest\":\"incarnation %d starts at %s\"}\n", n.incs, time.Now().Format(time.RFC3339Nano))
	cmd := command(n.ns, h.bin, "agent", "--config", n.cfg, "--log-level", h.logLevel)
	cmd.Env = append(os.Environ(), h.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		n.mu.Unlock()
		logf.Close()
		h.t.Fatalf("%s: start: %v", n.name, err)
	}
	logf.Close() // the child has its own copy
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	n.cmd, n.done, n.started = cmd, done, time.Now()
	n.recordLocked(procRunning, false)
	n.mu.Unlock()
	for deadline := time.Now().Add(15 * time.Second); ; {
		if _, err := h.api.report(n, time.Second); err == nil {
			// ip netns exec execs the agent: the signals the tests send
			// reach it, not a parent.
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid)); err != nil || exe != h.bin {
				h.t.Fatalf("%s: process %d is %q (%v), not the agent %s", n.name, cmd.Process.Pid, exe, err, h.bin)
			}
			return
		}
		select {
		case <-done:
			h.t.Fatalf("%s: the agent exited at start:\n%s", n.name, h.logTail(n, 3000))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: the agent's API did not answer within 15s:\n%s", n.name, h.logTail(n, 3000))
		}
	}
}

// signal sends sig to the node's agent and records the new state.
func (h *harness) signal(n *agentNode, sig syscall.Signal) {
	h.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.state == procDown {
		h.t.Fatalf("%s: %s: not running", n.name, sig)
	}
	if err := n.cmd.Process.Signal(sig); err != nil {
		h.t.Fatalf("%s: %s: %v", n.name, sig, err)
	}
	switch sig {
	case syscall.SIGSTOP:
		n.recordLocked(procFrozen, false)
	case syscall.SIGCONT:
		n.recordLocked(procRunning, true)
	case syscall.SIGKILL:
		n.recordLocked(procDown, false)
		<-n.done
	}
}

// kill SIGKILLs the node's agent (a thawed one too: SIGKILL ends a
// stopped process).
func (h *harness) kill(n *agentNode)   { h.signal(n, syscall.SIGKILL) }
func (h *harness) freeze(n *agentNode) { h.signal(n, syscall.SIGSTOP) }
func (h *harness) thaw(n *agentNode)   { h.signal(n, syscall.SIGCONT) }

// stop stops the node's agent with SIGTERM (its clean leave) and waits.
func (h *harness) stop(n *agentNode) {
	h.t.Helper()
	n.mu.Lock()
	cmd, done, st := n.cmd, n.done, n.state
	n.mu.Unlock()
	if cmd == nil || st == procDown {
		return
	}
	if st == procFrozen {
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		h.t.Errorf("%s: no exit within 20s of SIGTERM", n.name)
	}
	n.mu.Lock()
	n.recordLocked(procDown, false)
	n.mu.Unlock()
}

// logTail is the end of the node's log.
func (h *harness) logTail(n *agentNode, max int) string {
	b, _ := os.ReadFile(n.log)
	return tail(string(b), max)
}

// errNotAnswered is a node that could not be asked (down or frozen).
var errNotAnswered = errors.New("not answering")

// ask returns node n's report, or errNotAnswered when its process is not
// running.
func (h *harness) ask(n *agentNode) (haReport, error) {
	if st, _, _ := n.snapshot(); st != procRunning {
		return haReport{}, errNotAnswered
	}
	return h.api.report(n, 500*time.Millisecond)
}
