package snmptrap

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/minato-ops/minato/monitor"
)

// EnterpriseNumber is the IANA Private Enterprise Number minato's MIB sits
// under. 99999 is a PLACEHOLDER, not registered to minato: a real PEN must
// be obtained from IANA (https://pen.iana.org) and put here, in
// docs/MINATO-MIB.txt and in the receivers' configuration before
// production use.
const EnterpriseNumber = 99999

// The OIDs of MINATO-MIB (docs/MINATO-MIB.txt), numeric with a leading
// dot, as a trap receiver without the MIB logs them. The varbind OIDs are
// the scalar instances (".0") of accessible-for-notify objects.
const (
	// OIDMinatoMIB is minatoMIB ::= { enterprises 99999 }.
	OIDMinatoMIB = ".1.3.6.1.4.1.99999"
	// OIDNotifications is minatoNotifications ::= { minatoMIB 0 }.
	OIDNotifications = OIDMinatoMIB + ".0"
	// OIDStatusChange is minatoStatusChange ::= { minatoNotifications 1 },
	// the snmpTrapOID.0 of every notification a Sender sends.
	OIDStatusChange = OIDNotifications + ".1"
	// OIDObjects is minatoObjects ::= { minatoMIB 1 }.
	OIDObjects = OIDMinatoMIB + ".1"

	// OIDCheckName is minatoCheckName.0: the check's name.
	OIDCheckName = OIDObjects + ".1.0"
	// OIDTargetName is minatoTargetName.0: the Target's human name.
	OIDTargetName = OIDObjects + ".2.0"
	// OIDTargetID is minatoTargetID.0: the Target's full ID.
	OIDTargetID = OIDObjects + ".3.0"
	// OIDStatus is minatoStatus.0: the reported status, [StatusValue].
	OIDStatus = OIDObjects + ".4.0"
	// OIDPreviousStatus is minatoPreviousStatus.0: the status reported
	// before, [StatusValue].
	OIDPreviousStatus = OIDObjects + ".5.0"
	// OIDMessage is minatoMessage.0: the operator-facing line.
	OIDMessage = OIDObjects + ".6.0"
)

// OIDs of SNMPv2-MIB that start every SNMPv2-Trap PDU (RFC 3416 §4.2.6).
const (
	// OIDSysUpTime is sysUpTime.0, in hundredths of a second since the
	// Sender was created.
	OIDSysUpTime = ".1.3.6.1.2.1.1.3.0"
	// OIDSnmpTrapOID is snmpTrapOID.0, the notification's identity.
	OIDSnmpTrapOID = ".1.3.6.1.6.3.1.1.4.1.0"
)

// MaxTextLen is the longest text varbind a Sender sends, in octets: the
// objects are SnmpAdminString (SIZE (0..255)). Longer texts are cut at a
// UTF-8 character boundary.
const MaxTextLen = 255

// StatusValue is the MinatoCheckStatus INTEGER of s: ok(0), warning(1),
// critical(2), unknown(3), the Monitoring Plugins exit codes. A Status
// out of that range is unknown(3).
func StatusValue(s monitor.Status) int { return s.ExitCode() }

// EngineIDFromText returns an SNMPv3 engine ID (RFC 3411
// SnmpEngineID, text format 4) for text, in hex, for [Config.EngineID]
// and the receiver's "createUser -e 0x..." line: 0x80 | the
// EnterpriseNumber in 4 octets, the octet 04, then text cut to 27 octets.
// Give every sending process its own text (the host name, say): an
// engine ID names one SNMP engine.
func EngineIDFromText(text string) string {
	const pen uint32 = EnterpriseNumber
	b := binary.BigEndian.AppendUint32(nil, pen|0x80000000)
	b = append(b, 4)
	if len(text) > 27 {
		text = text[:27]
	}
	return hex.EncodeToString(append(b, text...))
}
