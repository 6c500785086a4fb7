package snmptrap_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/snmpdtest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/notify"
	"github.com/minato-ops/minato/monitor/output/snmptrap"
	"github.com/minato-ops/minato/monitor/snmp"
)

// The engine IDs the receiver knows; otherEngine is not configured there.
var (
	testEngine  = snmptrap.EngineIDFromText("minato-test")
	otherEngine = snmptrap.EngineIDFromText("minato-unknown")
)

func receiverConfig(r *snmpdtest.TrapReceiver) snmptrap.Config {
	cfg := snmptrap.DefaultConfig()
	cfg.Address = fmt.Sprintf("%s:%d", r.Host, r.Port)
	cfg.Timeout = time.Second
	return cfg
}

func v3Config(r *snmpdtest.TrapReceiver) snmptrap.Config {
	cfg := receiverConfig(r)
	cfg.Version = snmptrap.V3
	cfg.EngineID = testEngine
	cfg.V3 = &snmp.V3Config{
		User:           snmpdtest.V3User,
		SecurityLevel:  snmp.AuthPriv,
		AuthProtocol:   snmpdtest.V3AuthProtocol,
		AuthPassphrase: snmpdtest.V3AuthPassphrase,
		PrivProtocol:   snmpdtest.V3PrivProtocol,
		PrivPassphrase: snmpdtest.V3PrivPassphrase,
	}
	return cfg
}

func newSender(t *testing.T, cfg snmptrap.Config) *snmptrap.Sender {
	t.Helper()
	s, err := snmptrap.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func send(t *testing.T, s *snmptrap.Sender, tr snmptrap.Trap) {
	t.Helper()
	if err := s.Send(context.Background(), tr); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

// wait returns the logged notification whose check name is check.
func wait(t *testing.T, r *snmpdtest.TrapReceiver, check string) string {
	t.Helper()
	line, ok := r.Wait(fmt.Sprintf("%s = STRING: %q", snmptrap.OIDCheckName, check), 5*time.Second)
	if !ok {
		t.Fatalf("snmptrapd logged no notification for check %q:\n%s\n%s", check, r.Log(), r.Output())
	}
	return line
}

// assertTrap checks every varbind of a logged notification of tr.
func assertTrap(t *testing.T, line string, tr snmptrap.Trap) {
	t.Helper()
	want := []string{
		snmptrap.OIDSysUpTime + " = Timeticks: ",
		snmptrap.OIDSnmpTrapOID + " = OID: " + snmptrap.OIDStatusChange + "\t",
		fmt.Sprintf("%s = STRING: %q", snmptrap.OIDCheckName, tr.Check),
		fmt.Sprintf("%s = STRING: %q", snmptrap.OIDTargetName, tr.TargetName),
		fmt.Sprintf("%s = STRING: %q", snmptrap.OIDTargetID, tr.TargetID),
		fmt.Sprintf("%s = INTEGER: %d", snmptrap.OIDStatus, snmptrap.StatusValue(tr.Status)),
		fmt.Sprintf("%s = INTEGER: %d", snmptrap.OIDPreviousStatus, snmptrap.StatusValue(tr.Previous)),
		fmt.Sprintf("%s = STRING: %q", snmptrap.OIDMessage, tr.Message),
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("logged notification lacks %q:\n%s", w, line)
		}
	}
	if i, j := strings.Index(line, snmptrap.OIDSysUpTime), strings.Index(line, snmptrap.OIDSnmpTrapOID); i < 0 || j < i || i > strings.Index(line, snmptrap.OIDCheckName) {
		t.Errorf("sysUpTime.0 and snmpTrapOID.0 do not come first:\n%s", line)
	}
}

func TestSnmptrapd(t *testing.T) {
	r := snmpdtest.StartTrapd(t, testEngine)

	tr := snmptrap.Trap{
		Check:      "cpu-v2c",
		TargetName: "web-1",
		TargetID:   "0e0d8cdf3a57c1b5a1a0e7b7b1c0d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9",
		Status:     monitor.Critical,
		Previous:   monitor.Warning,
		Message:    "cpu_percent=95% (critical 90)",
	}

	t.Run("v2c", func(t *testing.T) {
		s := newSender(t, receiverConfig(r))
		send(t, s, tr)
		line := wait(t, r, tr.Check)
		assertTrap(t, line, tr)
		if !strings.Contains(line, "SNMP v2c, community "+snmpdtest.Community) {
			t.Errorf("not logged as SNMPv2c with community %s:\n%s", snmpdtest.Community, line)
		}
		if st := s.Stats(); st != (notify.Stats{Sent: 1}) || s.Dropped() != 0 {
			t.Errorf("Stats = %+v; want 1 sent", st)
		}
	})

	t.Run("v3", func(t *testing.T) {
		s := newSender(t, v3Config(r))
		tr := tr
		tr.Check, tr.Status, tr.Previous, tr.Message = "mem-v3", monitor.Unknown, monitor.OK, "no baseline yet"
		send(t, s, tr)
		line := wait(t, r, tr.Check)
		assertTrap(t, line, tr)
		if !strings.Contains(line, "SNMP v3, user "+snmpdtest.V3User) {
			t.Errorf("not logged as SNMPv3 from %s:\n%s", snmpdtest.V3User, line)
		}
		// A new Sender (a restarted process) with the same engine ID is
		// still in the receiver's time window.
		s.Close()
		s2 := newSender(t, v3Config(r))
		tr.Check = "mem-v3-again"
		send(t, s2, tr)
		wait(t, r, tr.Check)
	})

	t.Run("refused", func(t *testing.T) {
		const badCommunity = "wrongcommunity-secret"
		bad := map[string]snmptrap.Config{}
		c := receiverConfig(r)
		c.Community = badCommunity
		bad["community"] = c
		c = v3Config(r)
		c.V3.AuthPassphrase = "wrongauth-secret"
		bad["auth passphrase"] = c
		c = v3Config(r)
		c.V3.PrivPassphrase = "wrongpriv-secret"
		bad["priv passphrase"] = c
		c = v3Config(r)
		c.EngineID = otherEngine
		bad["engine ID"] = c
		for name, cfg := range bad {
			s := newSender(t, cfg)
			// Nothing answers a notification: the sender cannot know.
			if err := s.Send(context.Background(), snmptrap.Trap{Check: "refused-" + name, Status: monitor.Critical}); err != nil {
				for _, secret := range []string{badCommunity, "wrongauth-secret", "wrongpriv-secret"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("%s: error shows a secret: %v", name, err)
					}
				}
				t.Errorf("%s: Send: %v", name, err)
			}
		}
		// snmptrapd handles datagrams in order: once this one is logged,
		// the ones before were refused if they are not there.
		send(t, newSender(t, receiverConfig(r)), snmptrap.Trap{Check: "fence", Status: monitor.Warning})
		wait(t, r, "fence")
		log := r.Log()
		for name := range bad {
			if strings.Contains(log, "refused-"+name) {
				t.Errorf("a notification with a wrong %s was logged:\n%s", name, log)
			}
		}
		if !strings.Contains(log, "Authentication failed for "+snmpdtest.V3User) {
			t.Errorf("snmptrapd did not log the authentication failure:\n%s", log)
		}
	})

	t.Run("sink", func(t *testing.T) {
		s := newSender(t, receiverConfig(r))
		sink := snmptrap.NewSink(s, snmptrap.SinkOptions{Recoveries: true})
		web := inventory.Target{Kind: inventory.KindContainer, ID: "0123456789abcdef", Name: "sink-web"}
		ev := func(check string, st monitor.Status) monitor.Evaluation {
			return monitor.Evaluation{Check: check, Target: web, Status: st, Message: "m-" + check}
		}
		ctx := context.Background()
		if err := sink.Write(ctx, []monitor.Evaluation{ev("sink-ok", monitor.OK), ev("sink-crit", monitor.Warning)}); err != nil {
			t.Fatal(err)
		}
		if err := sink.Write(ctx, []monitor.Evaluation{ev("sink-crit", monitor.Critical)}); err != nil {
			t.Fatal(err)
		}
		if err := sink.Write(ctx, []monitor.Evaluation{ev("sink-crit", monitor.OK)}); err != nil {
			t.Fatal(err)
		}
		send(t, s, snmptrap.Trap{Check: "sink-fence"})
		wait(t, r, "sink-fence")
		var got []string
		for _, l := range r.Traps() {
			if strings.Contains(l, "sink-web") {
				got = append(got, l)
			}
		}
		want := []snmptrap.Trap{
			{Check: "sink-crit", Status: monitor.Warning, Previous: monitor.OK},
			{Check: "sink-crit", Status: monitor.Critical, Previous: monitor.Warning},
			{Check: "sink-crit", Status: monitor.OK, Previous: monitor.Critical},
		}
		if len(got) != len(want) {
			t.Fatalf("the sink sent %d notifications, want %d (no OK one, one recovery):\n%s", len(got), len(want), strings.Join(got, "\n"))
		}
		for i, w := range want {
			w.TargetName, w.TargetID, w.Message = web.Name, web.ID, "m-"+w.Check
			assertTrap(t, got[i], w)
		}
	})

	t.Run("notifier in a fan-out", func(t *testing.T) {
		s := newSender(t, receiverConfig(r))
		fan := notify.NewFanOut(notify.FanOutConfig{})
		if err := fan.Add("trap", snmptrap.NewNotifier(s, snmptrap.SinkOptions{Recoveries: true})); err != nil {
			t.Fatal(err)
		}
		db := inventory.Target{Kind: inventory.KindContainer, ID: "1eae26f41927", Name: "fan-db"}
		ctx := context.Background()
		fan.Transition(ctx, monitor.Transition{From: monitor.OK, Evaluation: monitor.Evaluation{Check: "fan-crit", Target: db, Status: monitor.Critical, Message: "down"}})
		if err := fan.Flush(ctx); err != nil {
			t.Errorf("Flush: %v", err)
		}
		assertTrap(t, wait(t, r, "fan-crit"), snmptrap.Trap{Check: "fan-crit", TargetName: db.Name, TargetID: db.ID, Status: monitor.Critical, Previous: monitor.OK, Message: "down"})
		if err := fan.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := s.Send(ctx, snmptrap.Trap{Check: "after-close"}); !errors.Is(err, snmptrap.ErrClosed) {
			t.Errorf("Send after the fan-out's Close: %v", err)
		}
		want := []notify.NamedStats{{Name: "trap", Stats: notify.Stats{Sent: 1, Dropped: 1}}}
		if got := fan.Stats(); !reflect.DeepEqual(got, want) {
			t.Errorf("Stats = %+v, want %+v", got, want)
		}
	})
}
