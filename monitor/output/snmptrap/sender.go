package snmptrap

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/notify"
	"github.com/minato-ops/minato/monitor/snmp"
)

// ErrClosed is returned by Send after Close. It is [notify.ErrClosed], as
// for the other notifiers.
var ErrClosed = notify.ErrClosed

// engineTimeEpoch is when the SNMPv3 engine time of every Sender is 0;
// see [Sender].
var engineTimeEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Trap is one minatoStatusChange notification.
type Trap struct {
	// Check is the check's name (minatoCheckName).
	Check string
	// TargetName is the Target's human name (minatoTargetName), and
	// TargetID its full ID (minatoTargetID); either may be empty.
	TargetName string
	TargetID   string
	// Status is the reported status (minatoStatus) and Previous the one
	// reported before it (minatoPreviousStatus).
	Status   monitor.Status
	Previous monitor.Status
	// Message is the operator-facing line (minatoMessage).
	Message string
}

// Sender sends SNMP notifications (SNMPv2-Trap PDUs, unacknowledged) to
// one receiver. Create it with [New] and release it with [Sender.Close].
// It is safe for concurrent use; notifications are sent one at a time.
//
// Each notification is one UDP datagram: sysUpTime.0 (hundredths of a
// second since New), snmpTrapOID.0 = minatoStatusChange, then the six
// MINATO-MIB varbinds. A receiver does not answer a notification, so loss
// cannot be detected: a datagram to a host with nothing listening, with a
// community or passphrase the receiver refuses, or dropped on the way,
// vanishes, and Send reports success. Only local failures (no route,
// ICMP port unreachable caused by an earlier datagram) are errors.
//
// For SNMPv3 the Sender is the authoritative engine (RFC 3414 §3.1):
// messages carry Config.EngineID, the keys are localised with it, the
// engine boots counter is 1 and the engine time is the number of seconds
// since 2020-01-01 UTC, so that it keeps growing across restarts of the
// process (a receiver refuses a notification whose time is more than 150
// seconds behind the latest it saw from the same engine ID; keep the
// clock synchronised, and give each process its own engine ID).
type Sender struct {
	cfg    Config
	target string // "192.0.2.10:162 SNMPv2c", for errors
	start  time.Time
	count  notify.Counter

	mu     sync.Mutex // serialises sends and guards g, usm and closed
	g      *gosnmp.GoSNMP
	usm    *gosnmp.UsmSecurityParameters // v3 only; g.SecurityParameters
	closed bool
}

// New validates cfg and opens a UDP socket towards the receiver (which
// sends nothing); for SNMPv3 it also localises the keys with the engine
// ID. Close releases the socket.
func New(cfg Config) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("snmptrap: invalid config: %w", err)
	}
	cfg = cfg.withDefaults()
	host, port, _ := cfg.hostPort()
	s := &Sender{
		cfg:    cfg,
		target: net.JoinHostPort(host, strconv.Itoa(port)) + " SNMPv" + cfg.Version,
		start:  time.Now(),
	}
	g := &gosnmp.GoSNMP{
		Target:    host,
		Port:      uint16(port),
		Transport: "udp",
		Timeout:   cfg.Timeout,
		Retries:   cfg.Retries,
	}
	switch cfg.Version {
	case V2c:
		g.Version = gosnmp.Version2c
		g.Community = cfg.Community
	case V3:
		id, _ := cfg.engineID()
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags, s.usm = usm(cfg.V3)
		s.usm.AuthoritativeEngineID = string(id)
		s.usm.AuthoritativeEngineBoots = 1
		g.SecurityParameters = s.usm
		// The context of a notification is the sender's default context.
		g.ContextEngineID = string(id)
	}
	if err := g.Connect(); err != nil {
		return nil, fmt.Errorf("snmptrap: receiver %s: %w", s.target, err)
	}
	if s.usm != nil {
		// Localise the keys once: every message copies them.
		if err := s.usm.InitSecurityKeys(); err != nil {
			_ = g.Conn.Close()
			return nil, fmt.Errorf("snmptrap: receiver %s: SNMPv3 keys: %w", s.target, err)
		}
	}
	s.g = g
	return s, nil
}

// usm maps a validated snmp.V3Config to gosnmp's settings, as package
// snmp does: protocol names ignore case and '-', an empty security level
// is authPriv.
func usm(v *snmp.V3Config) (gosnmp.SnmpV3MsgFlags, *gosnmp.UsmSecurityParameters) {
	level := strings.ToLower(v.SecurityLevel)
	p := &gosnmp.UsmSecurityParameters{UserName: v.User}
	if level == strings.ToLower(snmp.NoAuthNoPriv) {
		return gosnmp.NoAuthNoPriv, p
	}
	name := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "")) }
	p.AuthenticationProtocol = map[string]gosnmp.SnmpV3AuthProtocol{
		"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224,
		"SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
	}[name(v.AuthProtocol)]
	p.AuthenticationPassphrase = v.AuthPassphrase
	if level == strings.ToLower(snmp.AuthNoPriv) {
		return gosnmp.AuthNoPriv, p
	}
	p.PrivacyProtocol = map[string]gosnmp.SnmpV3PrivProtocol{
		"DES": gosnmp.DES, "AES": gosnmp.AES, "AES192": gosnmp.AES192,
		"AES256": gosnmp.AES256, "AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
	}[name(v.PrivProtocol)]
	p.PrivacyPassphrase = v.PrivPassphrase
	return gosnmp.AuthPriv, p
}

// Config returns the Sender's configuration with the defaults filled in.
// It holds the secrets: do not log it.
func (s *Sender) Config() Config { return s.cfg }

// Send sends tr as one minatoStatusChange notification. ctx is checked
// first and bounds the send with Timeout. Texts longer than [MaxTextLen]
// octets are cut. A nil error means the datagram was handed to the
// network, not that the receiver accepted it (see [Sender]). Every call
// is counted once in [Sender.Stats], as sent or as dropped.
func (s *Sender) Send(ctx context.Context, tr Trap) error {
	return s.count.Count(s.send(ctx, tr))
}

// send is Send without the counting.
func (s *Sender) send(ctx context.Context, tr Trap) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("snmptrap: send to %s: %w", s.target, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	now := time.Now()
	if s.usm != nil {
		// Copied into each message by gosnmp.
		s.usm.AuthoritativeEngineTime = uint32(max(0, now.Sub(engineTimeEpoch)/time.Second))
	}
	s.g.Context = ctx
	_, err := s.g.SendTrap(gosnmp.SnmpTrap{Variables: varbinds(tr, now.Sub(s.start))})
	s.g.Context = context.Background()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("snmptrap: send to %s: %w", s.target, ctx.Err())
		}
		return fmt.Errorf("snmptrap: send to %s: %w", s.target, err)
	}
	return nil
}

// varbinds returns the variable bindings of tr's notification, in order:
// sysUpTime.0 (uptime in hundredths of a second, modulo 2^32),
// snmpTrapOID.0 (minatoStatusChange), minatoCheckName.0,
// minatoTargetName.0, minatoTargetID.0, minatoStatus.0,
// minatoPreviousStatus.0 and minatoMessage.0.
func varbinds(tr Trap, uptime time.Duration) []gosnmp.SnmpPDU {
	return []gosnmp.SnmpPDU{
		{Name: OIDSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(max(0, uptime/(10*time.Millisecond)))},
		{Name: OIDSnmpTrapOID, Type: gosnmp.ObjectIdentifier, Value: OIDStatusChange},
		{Name: OIDCheckName, Type: gosnmp.OctetString, Value: truncate(tr.Check)},
		{Name: OIDTargetName, Type: gosnmp.OctetString, Value: truncate(tr.TargetName)},
		{Name: OIDTargetID, Type: gosnmp.OctetString, Value: truncate(tr.TargetID)},
		{Name: OIDStatus, Type: gosnmp.Integer, Value: StatusValue(tr.Status)},
		{Name: OIDPreviousStatus, Type: gosnmp.Integer, Value: StatusValue(tr.Previous)},
		{Name: OIDMessage, Type: gosnmp.OctetString, Value: truncate(tr.Message)},
	}
}

// truncate cuts s to at most MaxTextLen octets at a UTF-8 boundary.
func truncate(s string) string {
	if len(s) <= MaxTextLen {
		return s
	}
	n := MaxTextLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Dropped returns the number of notifications Send failed to send:
// Stats().Dropped.
func (s *Sender) Dropped() uint64 { return s.count.Stats().Dropped }

// Stats returns the number of notifications sent (handed to the network)
// and dropped (Send returned an error). Pending is always 0: Send sends
// before it returns.
func (s *Sender) Stats() notify.Stats { return s.count.Stats() }

// Close releases the socket; later Sends fail with ErrClosed. It waits
// for a Send in progress (which does not wait for an answer, as a
// notification has none), is idempotent, and later calls return nil.
func (s *Sender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.g.Conn != nil {
		return s.g.Conn.Close()
	}
	return nil
}
