//go:build linux

package hatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// requireEnv turns "skip when a real component is missing" into "fail"
// (CI sets it), as internal/dockertest does.
const requireEnv = "MINATO_REQUIRE_DOCKER"

// skipOrFail skips the test, or fails it when requireEnv is "1".
func skipOrFail(t testing.TB, format string, a ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, a...)
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s, and %s=1 requires it", msg, requireEnv)
	}
	t.Skip(msg)
}

// nsPrefix starts the name of every namespace a test run creates; the
// test process's PID follows, so that leftovers of a dead run are known.
const nsPrefix = "hxt-"

// The networks of a topology. Each lives in the run's own namespaces, so
// fixed subnets never collide with the host's or another run's.
const (
	hbNet      = "10.70.0." // heartbeats: node k is .k
	witNet     = "10.71.0." // witness: etcd and the HTTP witness at .254
	mgmtNet    = "10.72.0." // management: the agents' API, the test at .254
	switchHost = "254"
	hbPort     = 7400
	apiPort    = 9464
	httpWPort  = 8080
	etcdPort   = 2379
)

// link names one of a node's three links.
type link string

const (
	linkHB   link = "h" // heartbeat
	linkWit  link = "w" // witness
	linkMgmt link = "m" // management
)

// topology is one run's namespaces: a switch and a namespace per node.
type topology struct {
	id    string // "hxt-<pid>-<hex>"
	sw    string // the switch's namespace
	nodes []string
}

// netnsOK reports why network namespaces cannot be used here, or "".
func netnsOK() string {
	if runtime.GOOS != "linux" {
		return "network namespaces need Linux"
	}
	if os.Geteuid() != 0 {
		return "network namespaces need root"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "iproute2's ip is not installed"
	}
	return ""
}

// newTopology builds the switch and n node namespaces, and deletes them
// in t.Cleanup.
func newTopology(t testing.TB, n int) *topology {
	t.Helper()
	if why := netnsOK(); why != "" {
		skipOrFail(t, "%s", why)
	}
	sweepNamespaces()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	tp := &topology{id: nsPrefix + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b)}
	tp.sw = tp.id + "-sw"
	t.Cleanup(tp.delete)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", tp.sw)
	run("-n", tp.sw, "link", "set", "lo", "up")
	for _, br := range []struct {
		name, addr string
	}{{"br-hb", ""}, {"br-wit", witNet + switchHost}, {"br-mgmt", mgmtNet + switchHost}} {
		run("-n", tp.sw, "link", "add", br.name, "type", "bridge")
		if br.addr != "" {
			run("-n", tp.sw, "addr", "add", br.addr+"/24", "dev", br.name)
		}
		run("-n", tp.sw, "link", "set", br.name, "up")
	}
	for k := 1; k <= n; k++ {
		ns := fmt.Sprintf("%s-n%d", tp.id, k)
		run("netns", "add", ns)
		tp.nodes = append(tp.nodes, ns)
		run("-n", ns, "link", "set", "lo", "up")
		for _, l := range []struct {
			l      link
			br, in string
			net    string
		}{{linkHB, "br-hb", "hb", hbNet}, {linkWit, "br-wit", "wit", witNet}, {linkMgmt, "br-mgmt", "mgmt", mgmtNet}} {
			port := fmt.Sprintf("%s%d", l.l, k)
			// Both ends are created where they live: the port in the
			// switch, its peer in the node; nothing in the host's
			// namespace.
			run("-n", tp.sw, "link", "add", port, "type", "veth", "peer", "name", l.in, "netns", ns)
			run("-n", tp.sw, "link", "set", port, "master", l.br, "up")
			run("-n", ns, "addr", "add", l.net+strconv.Itoa(k)+"/24", "dev", l.in)
			run("-n", ns, "link", "set", l.in, "up")
		}
	}
	return tp
}

// delete removes every namespace of the run (their veths go with them).
func (tp *topology) delete() {
	for _, ns := range append([]string{tp.sw}, tp.nodes...) {
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}
}

// sweepNamespaces deletes the namespaces of earlier runs whose test
// process is gone.
func sweepNamespaces() {
	ents, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), nsPrefix)
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); errors.Is(err, os.ErrNotExist) {
			_ = exec.Command("ip", "netns", "del", e.Name()).Run()
		}
	}
}

// setLink takes node k's (1-based) link down at the switch, or up.
func (tp *topology) setLink(k int, l link, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	out, err := exec.Command("ip", "-n", tp.sw, "link", "set", fmt.Sprintf("%s%d", l, k), state).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip link set %s%d %s: %v: %s", l, k, state, err, out)
	}
	return nil
}

// inNetns runs fn on a thread of its own moved into namespace ns. Sockets
// fn opens stay in ns afterwards. The thread goes back to the process's
// namespace, or, when that fails, ends with its goroutine (it is never
// unlocked), so no other goroutine ever runs in ns.
func inNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self := fmt.Sprintf("/proc/self/task/%d/ns/net", syscall.Gettid())
		orig, err := os.Open(self)
		if err != nil {
			errc <- err
			return // the thread is still in its namespace: unlocking is safe
		}
		defer orig.Close()
		target, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer target.Close()
		if err := setns(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := setns(orig); err == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}

// sysSetns is setns(2)'s number; package syscall does not name it.
var sysSetns = map[string]uintptr{"amd64": 308, "arm64": 268, "riscv64": 268, "loong64": 268, "386": 346,
	"arm": 375, "ppc64le": 350, "ppc64": 350, "s390x": 339}

func setns(f *os.File) error {
	nr, ok := sysSetns[runtime.GOARCH]
	if !ok {
		return fmt.Errorf("setns: unknown system call number on %s", runtime.GOARCH)
	}
	if _, _, e := syscall.RawSyscall(nr, f.Fd(), syscall.CLONE_NEWNET, 0); e != 0 {
		return e
	}
	return nil
}

// dial opens a connection from the switch's namespace (the test's place
// on the witness and management networks).
func (tp *topology) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNetns(tp.sw, func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// listen listens in the switch's namespace.
func (tp *topology) listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := inNetns(tp.sw, func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// command is name run inside namespace ns (ip netns exec execs it, so
// the process's PID is the program's).
func command(ns, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}
