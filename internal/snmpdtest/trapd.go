package snmpdtest

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// TrapPrefix starts every notification line a [TrapReceiver] logs: the
// receiver runs with -F "TRAP %P|%v\n", so that a line reads
//
//	TRAP TRAP2, SNMP v2c, community public|.1.3.6.1.2.1.1.3.0 = Timeticks: (12) 0:00:00.12	.1.3.6.1.6.3.1.1.4.1.0 = OID: .1.3.6.1.4.1.99999.0.1	...
//	TRAP TRAP2, SNMP v3, user minatouser, context |...
//
// with numeric OIDs (-On) and the varbinds separated by tabs.
const TrapPrefix = "TRAP "

// TrapdFormat is the snmptrapd -F format a TrapReceiver logs with.
const TrapdFormat = `TRAP %P|%v\n`

// ReadyTrapOID is the snmpTrapOID.0 of the SNMPv2c notifications
// StartTrapd sends to know the receiver is up. It is under NET-SNMP-MIB's
// netSnmpPlaypen (.1.3.6.1.4.1.8072.9999.9999), the arc meant for
// experiments.
const ReadyTrapOID = ".1.3.6.1.4.1.8072.9999.9999.1"

// TrapReceiver is one running snmptrapd.
type TrapReceiver struct {
	// Host is the receiver's address (always "127.0.0.1") and Port its
	// UDP port.
	Host string
	Port int
	// Dir holds the configuration, pid file, persistent state and logs.
	Dir string
	// ConfigFile is the snmptrapd.conf the receiver was started with,
	// and LogFile where it writes the notifications it accepts (-Lf).
	ConfigFile string
	LogFile    string

	cmd  *exec.Cmd
	out  *lockedBuffer // stdout and stderr
	done chan struct{}
}

var readySeq atomic.Uint64

// TrapdBinary returns the path of the snmptrapd program (Debian package
// "snmptrapd"), looking in PATH and then in /usr/sbin and /usr/local/sbin,
// or "" when it is not installed.
func TrapdBinary() string {
	if p, err := exec.LookPath("snmptrapd"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/snmptrapd", "/usr/local/sbin/snmptrapd"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// TrapdConfig returns the snmptrapd.conf text StartTrapd uses: SNMPv2c
// notifications with the community [Community] are logged, and so are
// SNMPv3 notifications from [V3User] at authPriv ([V3AuthProtocol] /
// [V3AuthPassphrase], [V3PrivProtocol] / [V3PrivPassphrase]) sent by an
// engine whose ID is one of engineIDs (hex, with or without "0x"):
// snmptrapd localises a USM user's keys with the sender's engine ID, so
// it needs one "createUser -e ENGINEID" line per sending engine.
func TrapdConfig(engineIDs ...string) string {
	lines := []string{
		"# minato snmpdtest: loopback-only test notification receiver",
		"authCommunity log " + Community,
	}
	for _, id := range engineIDs {
		lines = append(lines, fmt.Sprintf("createUser -e 0x%s %s %s %q %s %q",
			strings.TrimPrefix(strings.ToLower(id), "0x"), V3User, V3AuthProtocol, V3AuthPassphrase, V3PrivProtocol, V3PrivPassphrase))
	}
	lines = append(lines, "authUser log "+V3User+" priv", "")
	return strings.Join(lines, "\n")
}

// StartTrapd starts an snmptrapd for the test, configured by
// [TrapdConfig](engineIDs...), on a free loopback UDP port, and stops it
// in t.Cleanup. It skips the test when snmptrapd is not installed (fails
// it when RequireEnv is "1"), and fails it when the receiver does not log
// a test notification within 10 seconds.
//
// The receiver runs "snmptrapd -f -C -c CONF -p PIDFILE -Lf LOG -On -F
// FORMAT udp:127.0.0.1:PORT" with SNMP_PERSISTENT_DIR in the test's
// directory, so it never touches /var/lib/snmp or the system service.
func StartTrapd(t testing.TB, engineIDs ...string) *TrapReceiver {
	t.Helper()
	for _, id := range engineIDs {
		b, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(id), "0x"))
		if err != nil || len(b) < 5 || len(b) > 32 {
			t.Fatalf("snmpdtest: engine ID %q: want 5 to 32 octets in hex", id)
		}
	}
	bin := TrapdBinary()
	if bin == "" {
		msg := "snmptrapd (Debian package snmptrapd) is not installed"
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s and %s=1 requires it", msg, RequireEnv)
		}
		t.Skip(msg)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		r, err := startTrapd(bin, t.TempDir(), engineIDs)
		if err == nil {
			t.Cleanup(r.stop)
			return r
		}
		lastErr = err
	}
	t.Fatalf("snmpdtest: %v", lastErr)
	return nil
}

func startTrapd(bin, dir string, engineIDs []string) (*TrapReceiver, error) {
	port, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "snmptrapd.conf")
	if err := os.WriteFile(conf, []byte(TrapdConfig(engineIDs...)), 0o600); err != nil {
		return nil, err
	}
	r := &TrapReceiver{
		Host: "127.0.0.1", Port: port, Dir: dir, ConfigFile: conf,
		LogFile: filepath.Join(dir, "snmptrapd.log"),
		out:     &lockedBuffer{},
	}
	cmd, done, err := startNetSNMP(bin, dir, []string{
		"-f", // stay in the foreground, so that the test owns the process
		"-C", // read no configuration file but ours
		"-c", conf,
		"-p", filepath.Join(dir, "snmptrapd.pid"),
		"-Lf", r.LogFile, // flushed after every message
		"-On", // numeric OIDs
		"-F", TrapdFormat,
		fmt.Sprintf("udp:%s:%d", r.Host, port),
	}, r.out)
	if err != nil {
		return nil, err
	}
	r.cmd, r.done = cmd, done
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-r.done:
			return nil, fmt.Errorf("snmptrapd exited before logging a notification: %s\n%s\n%s", r.cmd.ProcessState, r.out.tail(), r.Log())
		default:
		}
		marker := "snmpdtest-ready-" + strconv.FormatUint(readySeq.Add(1), 10)
		err := r.sendReady(marker)
		if err == nil {
			if _, ok := r.Wait(marker, 100*time.Millisecond); ok {
				return r, nil
			}
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("snmptrapd on udp:%s:%d logged no notification within 10s (last send error: %v)\n%s\n%s", r.Host, port, err, r.out.tail(), r.Log())
		}
	}
}

// sendReady sends one SNMPv2c notification of ReadyTrapOID carrying
// marker.
func (r *TrapReceiver) sendReady(marker string) error {
	g := &gosnmp.GoSNMP{
		Target:    r.Host,
		Port:      uint16(r.Port),
		Version:   gosnmp.Version2c,
		Community: Community,
		Timeout:   200 * time.Millisecond,
	}
	if err := g.Connect(); err != nil {
		return err
	}
	defer g.Close()
	_, err := g.SendTrap(gosnmp.SnmpTrap{Variables: []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(0)},
		{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: ReadyTrapOID},
		{Name: ReadyTrapOID + ".1.0", Type: gosnmp.OctetString, Value: marker},
	}})
	return err
}

// Log returns what the receiver has written to its LogFile so far: the
// notifications it accepted (one line each, see [TrapPrefix]) and its
// complaints about those it refused ("Authentication failed for ...").
func (r *TrapReceiver) Log() string {
	b, _ := os.ReadFile(r.LogFile)
	return string(b)
}

// Traps returns the notification lines logged so far.
func (r *TrapReceiver) Traps() []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(r.Log()))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), TrapPrefix) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// Wait waits up to timeout for a notification line containing substr
// and returns it. snmptrapd handles the datagrams it receives in order,
// so once a later notification has been logged, an earlier one that is
// not in the log was refused: to check that a notification is not
// accepted, send it, then send an acceptable one and Wait for that.
func (r *TrapReceiver) Wait(substr string, timeout time.Duration) (string, bool) {
	deadline := time.Now().Add(timeout)
	for {
		for _, l := range r.Traps() {
			if strings.Contains(l, substr) {
				return l, true
			}
		}
		if time.Now().After(deadline) {
			return "", false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Output returns what snmptrapd wrote to its stdout and stderr.
func (r *TrapReceiver) Output() string { return r.out.String() }

func (r *TrapReceiver) stop() {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(3 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}
