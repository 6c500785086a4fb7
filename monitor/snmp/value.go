package snmp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// Type is the SMI type of a [Value] as the agent sent it.
type Type uint8

// The types a Value can have. TypeAbsent is not an SMI type: it stands for
// the agent saying it has no such value (noSuchObject, noSuchInstance,
// endOfMibView, or noSuchName in SNMPv1), which is never reported as 0.
const (
	TypeAbsent    Type = iota // the agent has no value for the OID
	TypeInteger               // INTEGER / Integer32: Value.Int
	TypeCounter32             // Counter32, wraps at 2^32: Value.Uint
	TypeCounter64             // Counter64: Value.Uint
	TypeGauge32               // Gauge32 / Unsigned32: Value.Uint
	TypeTimeTicks             // TimeTicks, hundredths of a second: Value.Uint
	TypeString                // OCTET STRING, raw octets: Value.Text
	TypeOID                   // OBJECT IDENTIFIER, dotted with a leading dot: Value.Text
	TypeIPAddress             // IpAddress, dotted quad: Value.Text
	TypeOther                 // anything else (Opaque, NsapAddress, Null): Value.Text describes it
)

var typeNames = [...]string{"Absent", "Integer", "Counter32", "Counter64", "Gauge32", "TimeTicks", "String", "OID", "IPAddress", "Other"}

// String returns the type's name ("Counter32").
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Value is one variable binding returned by [Client.Get]. Which field holds
// the value depends on Type; the others are zero.
type Value struct {
	// OID is the requested object identifier, numeric with a leading dot.
	OID string `json:"oid"`
	// Type is the SMI type the agent sent, or TypeAbsent.
	Type Type `json:"type"`
	// Int holds TypeInteger values.
	Int int64 `json:"int,omitempty"`
	// Uint holds TypeCounter32, TypeCounter64, TypeGauge32 and
	// TypeTimeTicks values.
	Uint uint64 `json:"uint,omitempty"`
	// Text holds TypeString (raw octets, not necessarily UTF-8), TypeOID
	// and TypeIPAddress values.
	Text string `json:"text,omitempty"`
}

// Present reports whether the agent returned a value (Type is not
// TypeAbsent).
func (v Value) Present() bool { return v.Type != TypeAbsent }

// Uint64 returns a numeric value as an unsigned integer: the counters,
// gauges and time ticks as they are, and a TypeInteger that is not
// negative. ok is false for absent, negative and non-numeric values.
func (v Value) Uint64() (n uint64, ok bool) {
	switch v.Type {
	case TypeCounter32, TypeCounter64, TypeGauge32, TypeTimeTicks:
		return v.Uint, true
	case TypeInteger:
		if v.Int >= 0 {
			return uint64(v.Int), true
		}
	}
	return 0, false
}

// String formats the value much as snmpget does ("Counter32: 42",
// "STRING: \"Linux\""); an absent value is "absent".
func (v Value) String() string {
	switch v.Type {
	case TypeAbsent:
		return "absent"
	case TypeInteger:
		return "INTEGER: " + strconv.FormatInt(v.Int, 10)
	case TypeCounter32, TypeCounter64, TypeGauge32, TypeTimeTicks:
		return v.Type.String() + ": " + strconv.FormatUint(v.Uint, 10)
	case TypeString:
		return "STRING: " + strconv.Quote(v.Text)
	case TypeOID:
		return "OID: " + v.Text
	case TypeIPAddress:
		return "IpAddress: " + v.Text
	}
	return v.Type.String() + ": " + v.Text
}

// fromPDU converts one gosnmp variable binding.
func fromPDU(oid string, p gosnmp.SnmpPDU) Value {
	v := Value{OID: oid}
	switch p.Type {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView:
		v.Type = TypeAbsent
	case gosnmp.Integer:
		v.Type = TypeInteger
		v.Int = gosnmp.ToBigInt(p.Value).Int64()
	case gosnmp.Counter32:
		v.Type = TypeCounter32
		v.Uint = gosnmp.ToBigInt(p.Value).Uint64() & 0xffffffff
	case gosnmp.Counter64:
		v.Type = TypeCounter64
		v.Uint = gosnmp.ToBigInt(p.Value).Uint64()
	case gosnmp.Gauge32, gosnmp.Uinteger32:
		v.Type = TypeGauge32
		v.Uint = gosnmp.ToBigInt(p.Value).Uint64()
	case gosnmp.TimeTicks:
		v.Type = TypeTimeTicks
		v.Uint = gosnmp.ToBigInt(p.Value).Uint64()
	case gosnmp.OctetString:
		v.Type = TypeString
		if b, ok := p.Value.([]byte); ok {
			v.Text = string(b)
		} else {
			v.Text = fmt.Sprint(p.Value)
		}
	case gosnmp.ObjectIdentifier:
		v.Type = TypeOID
		v.Text = fmt.Sprint(p.Value)
	case gosnmp.IPAddress:
		v.Type = TypeIPAddress
		v.Text = fmt.Sprint(p.Value)
	default:
		v.Type = TypeOther
		v.Text = fmt.Sprintf("%s %v", p.Type, p.Value)
	}
	return v
}

// normaliseOID checks that oid is a numeric object identifier ("1.3.6.1..."
// with or without the leading dot, at least two arcs, each a decimal number
// below 2^32) and returns it with a leading dot.
func normaliseOID(oid string) (string, error) {
	s := strings.TrimPrefix(oid, ".")
	arcs := strings.Split(s, ".")
	if s == "" || len(arcs) < 2 {
		return "", fmt.Errorf("oid %q: want a numeric OID such as .1.3.6.1.2.1.1.1.0", oid)
	}
	for _, a := range arcs {
		if _, err := strconv.ParseUint(a, 10, 32); err != nil || (len(a) > 1 && a[0] == '0') {
			return "", fmt.Errorf("oid %q: arc %q is not a decimal number below 2^32; names such as sysDescr.0 are not resolved", oid, a)
		}
	}
	return "." + s, nil
}
