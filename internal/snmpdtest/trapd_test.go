package snmpdtest

import (
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

func TestStartTrapd(t *testing.T) {
	r := StartTrapd(t, "8001869f046d696e61746f2d74657374")
	if got := r.Traps(); len(got) == 0 || !strings.Contains(got[0], ReadyTrapOID) || !strings.Contains(got[0], "community "+Community) {
		t.Fatalf("the readiness notification is not in the log: %q\n%s", got, r.Log())
	}
	conf := TrapdConfig("0x8001869F046D696E61746F2D74657374")
	if !strings.Contains(conf, "createUser -e 0x8001869f046d696e61746f2d74657374 "+V3User+" SHA") {
		t.Errorf("config lacks the createUser line:\n%s", conf)
	}

	// A wrong community is not logged; the notification after it is.
	for _, c := range []string{"wrongcommunity", Community} {
		g := &gosnmp.GoSNMP{Target: r.Host, Port: uint16(r.Port), Version: gosnmp.Version2c, Community: c, Timeout: time.Second}
		if err := g.Connect(); err != nil {
			t.Fatal(err)
		}
		if _, err := g.SendTrap(gosnmp.SnmpTrap{Variables: []gosnmp.SnmpPDU{
			{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: ReadyTrapOID},
			{Name: ReadyTrapOID + ".2.0", Type: gosnmp.OctetString, Value: "sent-with-" + c},
		}}); err != nil {
			t.Fatal(err)
		}
		g.Close()
	}
	if _, ok := r.Wait("sent-with-"+Community, 5*time.Second); !ok {
		t.Fatalf("the notification with the right community was not logged:\n%s\n%s", r.Log(), r.Output())
	}
	if strings.Contains(r.Log(), "sent-with-wrongcommunity") {
		t.Errorf("a notification with a wrong community was logged:\n%s", r.Log())
	}
}
