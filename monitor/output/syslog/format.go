package syslog

import (
	"bytes"
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Severity is a syslog severity; its numeric values are RFC 5424's
// (§6.2.1), 0 the most severe.
type Severity uint8

// The severities.
const (
	Emergency Severity = iota // system is unusable
	Alert                     // action must be taken immediately
	Critical                  // critical conditions
	Error                     // error conditions
	Warning                   // warning conditions
	Notice                    // normal but significant condition
	Info                      // informational messages
	Debug                     // debug-level messages
)

// String returns the syslog keyword: "emerg", "alert", "crit", "err",
// "warning", "notice", "info" or "debug".
func (s Severity) String() string {
	names := [...]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
	if int(s) < len(names) {
		return names[s]
	}
	return "Severity(" + strconv.Itoa(int(s)) + ")"
}

// Message is one syslog message.
type Message struct {
	// Time is the TIMESTAMP. [Writer.Send] sets the current time when it
	// is zero; Format5424 writes a zero Time as "-" and Format3164, whose
	// format has no nil timestamp, as the current time.
	Time time.Time
	// Severity is the severity; with the facility it makes the PRI. Its
	// zero value is Emergency, so always set it. A value above Debug is
	// sent as Debug.
	Severity Severity
	// Hostname is the HOSTNAME field, overriding Config.Hostname when not
	// empty: for example a 12-character container ID, so that the
	// receiver files the message under that container (the Hinemos Docker
	// scripts' container state monitor).
	Hostname string
	// AppName is the RFC 5424 APP-NAME and RFC 3164 TAG, overriding
	// Config.AppName when not empty.
	AppName string
	// ProcID is the RFC 5424 PROCID, and the "[pid]" after the RFC 3164
	// TAG; empty means none.
	ProcID string
	// MsgID is the RFC 5424 MSGID (a message type, such as the check
	// name); empty means none. RFC 3164 has no MSGID: it is left out.
	MsgID string
	// StructuredData are RFC 5424 SD-ELEMENTs: SD-ID → PARAM-NAME →
	// PARAM-VALUE. IDs without an "@" are reserved to IANA, so use the
	// "name@enterprise-number" form. Elements and parameters are written
	// in sorted order; values are escaped. RFC 3164 has no structured
	// data: it is left out.
	StructuredData map[string]map[string]string
	// Text is the MSG, sent as given (no BOM is added). Empty means none.
	Text string
}

// Field limits of RFC 5424 §6.
const (
	maxHostname = 255
	maxAppName  = 48
	maxProcID   = 128
	maxMsgID    = 32
	maxSDName   = 32
	// maxTag is RFC 3164's limit on the TAG (§4.1.3).
	maxTag = 32
)

// rfc5424Time is RFC 3339 with microseconds (RFC 5424 allows at most six
// fraction digits).
const rfc5424Time = "2006-01-02T15:04:05.000000Z07:00"

// rfc3164Time is RFC 3164's "Mmm dd hh:mm:ss", the day padded with a space.
const rfc3164Time = "Jan _2 15:04:05"

// Format5424 renders m in the RFC 5424 format, without transport framing:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]
//
// PRI is Facility×8 + Severity (a Facility of 0, or outside 1..23, is sent
// as user).
// TIMESTAMP is RFC 3339 with microseconds in m.Time's own location.
// Header fields are m's, else cfg's (HOSTNAME, APP-NAME), "-" when empty;
// characters outside printable US-ASCII (space included) are replaced by
// "_", and fields are cut to RFC 5424's lengths (HOSTNAME 255, APP-NAME 48,
// PROCID 128, MSGID 32, SD names 32). In PARAM-VALUEs `"`, `\` and `]` are
// escaped with a backslash and invalid UTF-8 is replaced by U+FFFD. No
// BOM is written before MSG.
func Format5424(m Message, cfg Config) []byte {
	b := make([]byte, 0, 96+len(m.Text))
	b = appendPRI(b, cfg.Facility, m.Severity)
	b = append(b, "1 "...)
	if m.Time.IsZero() {
		b = append(b, '-')
	} else {
		b = m.Time.AppendFormat(b, rfc5424Time)
	}
	b = append(b, ' ')
	b = appendHeader(b, cmp.Or(m.Hostname, cfg.Hostname), maxHostname)
	b = append(b, ' ')
	b = appendHeader(b, cmp.Or(m.AppName, cfg.AppName), maxAppName)
	b = append(b, ' ')
	b = appendHeader(b, m.ProcID, maxProcID)
	b = append(b, ' ')
	b = appendHeader(b, m.MsgID, maxMsgID)
	b = append(b, ' ')
	b = appendSD(b, m.StructuredData)
	if m.Text != "" {
		b = append(b, ' ')
		b = append(b, m.Text...)
	}
	return b
}

// Format3164 renders m in the BSD syslog format of RFC 3164, without
// transport framing:
//
//	<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PROCID]: MSG
//
// The timestamp is m.Time in its own location (the receiver cannot tell
// the zone: send UTC times to a receiver in UTC), the current time when
// m.Time is zero. HOSTNAME is m's, else cfg's, "-" when empty, with
// characters outside printable US-ASCII (space included) replaced by "_"
// and cut to 255 bytes. TAG is the app name, cut to RFC 3164's 32
// characters, with ":", "[" and "]" also replaced; with no app name the
// "TAG: " part is left out. "[PROCID]" appears only when m.ProcID is set.
// MSGID and structured data have no place in RFC 3164 and are left out.
func Format3164(m Message, cfg Config) []byte {
	t := m.Time
	if t.IsZero() {
		t = time.Now()
	}
	b := make([]byte, 0, 64+len(m.Text))
	b = appendPRI(b, cfg.Facility, m.Severity)
	b = t.AppendFormat(b, rfc3164Time)
	b = append(b, ' ')
	b = appendHeader(b, cmp.Or(m.Hostname, cfg.Hostname), maxHostname)
	b = append(b, ' ')
	if tag := cmp.Or(m.AppName, cfg.AppName); tag != "" {
		b = appendName(b, tag, maxTag, ":[]")
		if m.ProcID != "" {
			b = append(b, '[')
			b = appendName(b, m.ProcID, maxProcID, "[]")
			b = append(b, ']')
		}
		b = append(b, ": "...)
	}
	b = append(b, m.Text...)
	return b
}

// frame prepares a formatted message for a TCP stream (RFC 6587): octet
// counting ("LEN SP MSG") for RFC 5424, and a trailing newline for RFC
// 3164, whose receivers mostly expect it, with any newline inside the
// message replaced by a space so that it stays one message.
func frame(format string, msg []byte) []byte {
	if format == RFC3164 {
		out := bytes.ReplaceAll(msg, []byte{'\n'}, []byte{' '})
		return append(out, '\n')
	}
	out := strconv.AppendInt(make([]byte, 0, len(msg)+6), int64(len(msg)), 10)
	out = append(out, ' ')
	return append(out, msg...)
}

// format renders m in cfg's format.
func format(m Message, cfg Config) []byte {
	if cfg.Format == RFC3164 {
		return Format3164(m, cfg)
	}
	return Format5424(m, cfg)
}

func appendPRI(b []byte, facility int, sev Severity) []byte {
	if facility <= 0 || facility > 23 {
		facility = FacilityUser
	}
	if sev > Debug {
		sev = Debug
	}
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(facility*8+int(sev)), 10)
	return append(b, '>')
}

// appendHeader appends a header field: "-" when empty, else s with every
// character outside PRINTUSASCII (33..126) replaced by "_", cut to max
// bytes.
func appendHeader(b []byte, s string, max int) []byte {
	if s == "" {
		return append(b, '-')
	}
	return appendName(b, s, max, "")
}

// appendName appends s with every character outside PRINTUSASCII, and
// every character of bad, replaced by "_", cut to max bytes.
func appendName(b []byte, s string, max int, bad string) []byte {
	n := 0
	for _, r := range s {
		if n == max {
			break
		}
		if r < 33 || r > 126 || strings.ContainsRune(bad, r) {
			r = '_'
		}
		b = append(b, byte(r))
		n++
	}
	return b
}

// sdName returns s as an SD-NAME: PRINTUSASCII except '=', ' ', ']' and
// '"', others replaced by "_", at most 32 characters.
func sdName(s string) string {
	return string(appendName(nil, s, maxSDName, `="]`))
}

// appendSD appends STRUCTURED-DATA: "-" when there is no element. IDs and
// names are made valid SD-NAMEs; elements whose ID is empty, or the same
// as an earlier one once made valid, are left out, as are parameters with
// an empty name.
func appendSD(b []byte, sd map[string]map[string]string) []byte {
	start := len(b)
	seen := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(sd)) {
		name := sdName(id)
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		b = append(b, '[')
		b = append(b, name...)
		params := sd[id]
		for _, k := range slices.Sorted(maps.Keys(params)) {
			pn := sdName(k)
			if pn == "" {
				continue
			}
			b = append(b, ' ')
			b = append(b, pn...)
			b = append(b, '=', '"')
			b = appendSDValue(b, params[k])
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	if len(b) == start {
		b = append(b, '-')
	}
	return b
}

// appendSDValue appends a PARAM-VALUE: valid UTF-8 with '"', '\' and ']'
// escaped by a backslash (RFC 5424 §6.3.3).
func appendSDValue(b []byte, v string) []byte {
	v = strings.ToValidUTF8(v, "\uFFFD")
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '"', '\\', ']':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return b
}
