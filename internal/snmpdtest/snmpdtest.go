package snmpdtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// RequireEnv is the variable that turns "skip when snmpd is not installed"
// into "fail": CI sets MINATO_REQUIRE_DOCKER=1 to require every real
// component, the Docker Engine and net-snmp alike.
const RequireEnv = "MINATO_REQUIRE_DOCKER"

// Credentials the agent started by [Start] accepts. They are test values
// for a loopback-only agent.
const (
	// Community is the read-only SNMPv1/v2c community, allowed from
	// 127.0.0.1 only.
	Community = "public"
	// UCDCommunity is a read-only community restricted to the UCD-SNMP-MIB
	// subtree .1.3.6.1.4.1.2021 (the least-privilege setup package snmp
	// documents).
	UCDCommunity = "ucdonly"
	// SystemCommunity is a read-only community restricted to the SNMPv2-MIB
	// system group .1.3.6.1.2.1.1, so it sees no UCD-SNMP-MIB object.
	SystemCommunity = "systemonly"
	// V3User is the read-only SNMPv3 user (security level authPriv).
	V3User = "minatouser"
	// V3AuthProtocol and V3AuthPassphrase authenticate V3User.
	V3AuthProtocol   = "SHA"
	V3AuthPassphrase = "authpass123"
	// V3PrivProtocol and V3PrivPassphrase encrypt V3User's traffic.
	V3PrivProtocol   = "AES"
	V3PrivPassphrase = "privpass123"
)

// SysDescr is the OID of SNMPv2-MIB sysDescr.0, which every net-snmp agent
// answers; Start polls it to know the agent is up.
const SysDescr = ".1.3.6.1.2.1.1.1.0"

// Agent is one running snmpd.
type Agent struct {
	// Host is the agent's address (always "127.0.0.1") and Port its UDP
	// port.
	Host string
	Port int
	// Dir holds the configuration, pid file, persistent state and log.
	Dir string
	// ConfigFile is the snmpd.conf the agent was started with.
	ConfigFile string

	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{}
}

// Binary returns the path of the snmpd program, looking in PATH and then in
// /usr/sbin and /usr/local/sbin (which are not in PATH for ordinary users),
// or "" when net-snmp's agent is not installed.
func Binary() string {
	if p, err := exec.LookPath("snmpd"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/snmpd", "/usr/local/sbin/snmpd"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Start starts an snmpd for the test and stops it in t.Cleanup. It skips
// the test when snmpd is not installed (fails it when RequireEnv is "1"),
// and fails it when the agent does not answer within 10 seconds.
func Start(t testing.TB) *Agent {
	t.Helper()
	bin := Binary()
	if bin == "" {
		msg := "snmpd (Debian package snmpd) is not installed"
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s and %s=1 requires it", msg, RequireEnv)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	var lastErr error
	// A free port found by binding and releasing it can be taken by
	// someone else before snmpd binds it; try a few times.
	for attempt := 0; attempt < 3; attempt++ {
		a, err := start(bin, dir)
		if err == nil {
			t.Cleanup(a.stop)
			return a
		}
		lastErr = err
	}
	t.Fatalf("snmpdtest: %v", lastErr)
	return nil
}

// Config returns the snmpd.conf text Start uses. The agent address is given
// on the command line, not here.
func Config() string {
	return strings.Join([]string{
		"# minato snmpdtest: loopback-only, read-only test agent",
		"rocommunity " + Community + " 127.0.0.1",
		"rocommunity " + UCDCommunity + " 127.0.0.1 .1.3.6.1.4.1.2021",
		"rocommunity " + SystemCommunity + " 127.0.0.1 .1.3.6.1.2.1.1",
		fmt.Sprintf("createUser %s %s %q %s %q", V3User, V3AuthProtocol, V3AuthPassphrase, V3PrivProtocol, V3PrivPassphrase),
		"rouser " + V3User + " priv",
		"",
	}, "\n")
}

func start(bin, dir string) (*Agent, error) {
	port, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "snmpd.conf")
	if err := os.WriteFile(conf, []byte(Config()), 0o600); err != nil {
		return nil, err
	}
	a := &Agent{Host: "127.0.0.1", Port: port, Dir: dir, ConfigFile: conf, log: &lockedBuffer{}}
	cmd, done, err := startNetSNMP(bin, dir, []string{
		"-f",  // stay in the foreground, so that the test owns the process
		"-Lo", // log to stdout (captured, shown on failure)
		"-C",  // read no configuration file but ours
		"-c", conf,
		"-p", filepath.Join(dir, "snmpd.pid"),
		fmt.Sprintf("udp:%s:%d", a.Host, port),
	}, a.log)
	if err != nil {
		return nil, err
	}
	a.cmd, a.done = cmd, done
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-a.done:
			return nil, fmt.Errorf("snmpd exited before answering: %s\n%s", a.cmd.ProcessState, a.log.tail())
		default:
		}
		if err := a.ping(); err == nil {
			return a, nil
		} else if time.Now().After(deadline) {
			a.stop()
			return nil, fmt.Errorf("snmpd on udp:%s:%d did not answer within 10s: %v\n%s", a.Host, port, err, a.log.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ping sends one SNMPv2c GET of sysDescr.0.
func (a *Agent) ping() error {
	g := &gosnmp.GoSNMP{
		Target:    a.Host,
		Port:      uint16(a.Port),
		Version:   gosnmp.Version2c,
		Community: Community,
		Timeout:   200 * time.Millisecond,
		Retries:   0,
	}
	if err := g.Connect(); err != nil {
		return err
	}
	defer g.Close()
	p, err := g.Get([]string{SysDescr})
	if err != nil {
		return err
	}
	if len(p.Variables) != 1 || p.Variables[0].Type != gosnmp.OctetString {
		return errors.New("unexpected answer to sysDescr.0")
	}
	return nil
}

// Log returns what the agent has written so far.
func (a *Agent) Log() string { return a.log.String() }

func (a *Agent) stop() {
	select {
	case <-a.done:
		return
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(3 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

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

func (l *lockedBuffer) tail() string {
	s := l.String()
	if len(s) > 4000 {
		s = "..." + s[len(s)-4000:]
	}
	return s
}
