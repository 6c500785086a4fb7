package witness_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/minato-ops/minato/ha/witness"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nsScenario is one run of TestPingNamespaceChild inside a network
// namespace of its own: the namespace's loopback is brought up and its
// sysctls set, the probe runs as UID/GID, and its outcome is checked.
type nsScenario struct {
	PingGroupRange string // net.ipv4.ping_group_range in the namespace
	IgnoreEcho     bool   // net.ipv4.icmp_echo_ignore_all=1: nothing answers
	UID, GID       int    // 0: root
	Host           string
	Want           string // "ok", "noreply", "unreachable" or "nosocket"
	Socket         string // "datagram" or "raw" when Want is "ok"
	Stage2         bool   // set by the namespace's first process for the one it runs as UID
}

const nsEnv = "MINATO_WITNESS_NETNS_SCENARIO"

// nobody is the unprivileged user and group the namespace runs probes as.
const nobody = 65534

// TestPingNamespace checks the ICMP socket choice and the probe's
// outcomes in network namespaces where this test owns the sysctls: an
// unprivileged process uses a datagram socket when ping_group_range
// allows its group and gets an error saying so when not; root falls back
// to a raw socket; a host that ignores echo requests times out; a network
// without a route fails at once. It needs root (CLONE_NEWNET).
func TestPingNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	exe := runnableByAll(t)
	for name, sc := range map[string]nsScenario{
		"root, datagram socket allowed": {PingGroupRange: "0 2147483647", Host: "127.0.0.1", Want: "ok", Socket: "datagram"},
		"root, raw socket fallback":     {PingGroupRange: "1 0", Host: "127.0.0.1", Want: "ok", Socket: "raw"},
		"unprivileged, group allowed":   {PingGroupRange: "0 2147483647", UID: nobody, GID: nobody, Host: "127.0.0.1", Want: "ok", Socket: "datagram"},
		"unprivileged, group refused":   {PingGroupRange: "1 0", UID: nobody, GID: nobody, Host: "127.0.0.1", Want: "nosocket"},
		"echo ignored, datagram":        {PingGroupRange: "0 2147483647", IgnoreEcho: true, Host: "127.0.0.1", Want: "noreply"},
		"echo ignored, raw":             {PingGroupRange: "1 0", IgnoreEcho: true, Host: "127.0.0.1", Want: "noreply"},
		"no route":                      {PingGroupRange: "0 2147483647", Host: "10.255.0.1", Want: "unreachable"},
	} {
		t.Run(name, func(t *testing.T) {
			spec, err := json.Marshal(sc)
			require.NoError(t, err)
			cmd := exec.Command(exe, "-test.run=^TestPingNamespaceChild$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), nsEnv+"="+string(spec))
			cmd.Dir = filepath.Dir(exe)
			cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
			out, err := cmd.CombinedOutput()
			if err != nil && errors.Is(err, syscall.EPERM) {
				t.Skipf("cannot create a network namespace: %v", err)
			}
			assert.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "--- PASS: TestPingNamespaceChild", "%s", out)
		})
	}
}

// runnableByAll copies the test binary where the unprivileged user can
// run it.
func runnableByAll(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "minato-witness-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	self, err := os.Executable()
	require.NoError(t, err)
	src, err := os.Open(self)
	require.NoError(t, err)
	defer src.Close()
	exe := filepath.Join(dir, "witness.test")
	dst, err := os.OpenFile(exe, os.O_CREATE|os.O_WRONLY, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(dst, src)
	require.NoError(t, err)
	require.NoError(t, dst.Close())
	return exe
}

// TestPingNamespaceChild is TestPingNamespace's namespace side; it is
// skipped in ordinary runs.
func TestPingNamespaceChild(t *testing.T) {
	spec := os.Getenv(nsEnv)
	if spec == "" {
		t.Skip("run by TestPingNamespace inside a network namespace")
	}
	var sc nsScenario
	require.NoError(t, json.Unmarshal([]byte(spec), &sc))

	if !sc.Stage2 {
		require.NoError(t, loopbackUp())
		require.NoError(t, os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte(sc.PingGroupRange), 0))
		ignore := "0"
		if sc.IgnoreEcho {
			ignore = "1"
		}
		require.NoError(t, os.WriteFile("/proc/sys/net/ipv4/icmp_echo_ignore_all", []byte(ignore), 0))
		if sc.UID != 0 {
			sc.Stage2 = true
			next, err := json.Marshal(sc)
			require.NoError(t, err)
			cmd := exec.Command(os.Args[0], "-test.run=^TestPingNamespaceChild$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), nsEnv+"="+string(next))
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(sc.UID), Gid: uint32(sc.GID)}}
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			require.Contains(t, string(out), "--- PASS: TestPingNamespaceChild", "%s", out)
			return
		}
	}
	require.Equal(t, sc.UID, os.Getuid())

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := witness.Ping(witness.PingConfig{Host: sc.Host, Timeout: 500 * time.Millisecond, Count: 2, Interval: 100 * time.Millisecond}, witness.WithLogger(log))
	require.NoError(t, err)
	start := time.Now()
	err = w.Probe(context.Background())
	took := time.Since(start)
	t.Logf("probe: %v in %s; log: %s", err, took, logs.String())
	switch sc.Want {
	case "ok":
		require.NoError(t, err)
		assert.Contains(t, logs.String(), "socket="+sc.Socket)
	case "noreply":
		assert.ErrorIs(t, err, witness.ErrNoReply)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.GreaterOrEqual(t, took, 500*time.Millisecond)
	case "unreachable":
		assert.ErrorIs(t, err, witness.ErrNoReply)
		assert.ErrorIs(t, err, syscall.ENETUNREACH)
		assert.ErrorContains(t, err, "no request could be sent")
		assert.Less(t, took, 400*time.Millisecond, "fails before the timeout")
	case "nosocket":
		require.Error(t, err)
		assert.NotErrorIs(t, err, witness.ErrNoReply)
		assert.ErrorContains(t, err, "net.ipv4.ping_group_range (now \"1 0\")")
		assert.ErrorContains(t, err, "CAP_NET_RAW")
	default:
		t.Fatalf("unknown outcome %q", sc.Want)
	}
}

// loopbackUp brings this network namespace's loopback interface up.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr [40]byte // struct ifreq: the name, then the flags
	copy(ifr[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	flags := binary.NativeEndian.Uint16(ifr[16:])
	binary.NativeEndian.PutUint16(ifr[16:], flags|syscall.IFF_UP)
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	return nil
}
