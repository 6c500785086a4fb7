package snmptrap

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/notify"
)

func TestVarbinds(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 octets
	vb := varbinds(Trap{Check: "c", TargetName: "n", TargetID: "i", Status: monitor.Status(9), Previous: monitor.Warning, Message: long}, 1234567*time.Millisecond)
	want := []struct {
		oid string
		typ gosnmp.Asn1BER
		val any
	}{
		{OIDSysUpTime, gosnmp.TimeTicks, uint32(123456)},
		{OIDSnmpTrapOID, gosnmp.ObjectIdentifier, OIDStatusChange},
		{OIDCheckName, gosnmp.OctetString, "c"},
		{OIDTargetName, gosnmp.OctetString, "n"},
		{OIDTargetID, gosnmp.OctetString, "i"},
		{OIDStatus, gosnmp.Integer, 3},
		{OIDPreviousStatus, gosnmp.Integer, 1},
		{OIDMessage, gosnmp.OctetString, strings.Repeat("é", 127)},
	}
	if len(vb) != len(want) {
		t.Fatalf("%d varbinds, want %d", len(vb), len(want))
	}
	for i, w := range want {
		if vb[i].Name != w.oid || vb[i].Type != w.typ || vb[i].Value != w.val {
			t.Errorf("varbind %d = %s %v %v; want %s %v %v", i, vb[i].Name, vb[i].Type, vb[i].Value, w.oid, w.typ, w.val)
		}
	}
	if m := vb[7].Value.(string); len(m) > MaxTextLen || !utf8.ValidString(m) {
		t.Errorf("message cut to %d octets, valid UTF-8 %v", len(m), utf8.ValidString(m))
	}
}

// TestSendDecoded decodes what a v2c Sender puts on the wire.
func TestSendDecoded(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cfg := DefaultConfig()
	cfg.Address = pc.LocalAddr().String()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr := FromTransition(monitor.Transition{
		Evaluation: monitor.Evaluation{Check: "cpu", Target: inventory.Target{ID: "abc", Name: "web"}, Status: monitor.Critical, Message: "hot"},
		From:       monitor.Warning,
	})
	if tr != (Trap{Check: "cpu", TargetName: "web", TargetID: "abc", Status: monitor.Critical, Previous: monitor.Warning, Message: "hot"}) {
		t.Fatalf("FromTransition = %+v", tr)
	}
	if err := s.Send(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	pkt, err := (&gosnmp.GoSNMP{Version: gosnmp.Version2c}).SnmpDecodePacket(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	if pkt.Version != gosnmp.Version2c || pkt.Community != DefaultCommunity || pkt.PDUType != gosnmp.SNMPv2Trap || len(pkt.Variables) != 8 {
		t.Fatalf("decoded %s community %q PDU %s with %d varbinds", pkt.Version, pkt.Community, pkt.PDUType, len(pkt.Variables))
	}
	if v := pkt.Variables[1]; v.Name != OIDSnmpTrapOID || v.Value != OIDStatusChange {
		t.Errorf("varbind 2 = %s %v", v.Name, v.Value)
	}
	if v := pkt.Variables[5]; v.Name != OIDStatus || gosnmp.ToBigInt(v.Value).Int64() != 2 {
		t.Errorf("varbind 6 = %s %v", v.Name, v.Value)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, tr); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Send(context.Background(), tr); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
	if st := s.Stats(); st != (notify.Stats{Sent: 1, Dropped: 2}) {
		t.Errorf("Stats = %+v; want 1 sent, 2 dropped", st)
	}
}
