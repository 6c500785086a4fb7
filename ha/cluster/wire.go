package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/minato-ops/minato/ha"
)

// Wire limits.
const (
	// MaxDatagram is the largest heartbeat, in bytes, MAC included; a
	// larger datagram is rejected unread. [New] refuses groups whose
	// heartbeat could exceed it.
	MaxDatagram = 60 << 10
	// maxName bounds every name on the wire (cluster, node, group).
	maxName = 512
	// maxEchoes bounds a heartbeat's echoes (one per peer).
	maxEchoes = MaxNodes
	macSize   = sha256.Size
)

const (
	wireMagic   = "MNHB"
	wireVersion = 1

	flagLeaving = 1 << 0

	viewReleased = 1 << 0
	viewFailed   = 1 << 1
	viewNoLease  = 1 << 2
)

// Reasons a datagram is rejected, counted in [Counters].
var (
	errShort     = errors.New("cluster: datagram too short or too long")
	errMAC       = errors.New("cluster: bad MAC")
	errMalformed = errors.New("cluster: malformed heartbeat")
)

// message is one heartbeat, as sent on one network.
type message struct {
	Network uint8
	Leaving bool
	Cluster string
	Sender  string
	Boot    uint64
	Seq     uint64
	Sent    int64 // unix nanoseconds, the sender's wall clock
	Echoes  []echo
	Groups  []view
}

// echo returns to Node the last heartbeat received from it on this
// network (from its boot Boot, sequence Seq) and how long ago it arrived.
type echo struct {
	Node string
	Boot uint64
	Seq  uint64
	Held time.Duration
}

// view is the sender's view of one group: the claim it knows (merged from
// every node's), and its own facts about the group.
type view struct {
	Name  string
	Claim claim
	// The sender's own facts.
	State  ha.GroupState
	Failed bool
	// NoLease: the sender could not reach the lease store lately, so it
	// is no candidate for the group.
	NoLease   bool
	Move      string // target of the sender's pending move request
	MoveEpoch ha.Epoch
}

// claim is who holds a group: Holder (in its boot HolderBoot) since
// Epoch; Released once the holder gave it up, to Next when it names the
// node that should take it.
type claim struct {
	Holder   string
	Boot     uint64
	Epoch    ha.Epoch
	Released bool
	Next     string
}

var stateCodes = []ha.GroupState{ha.Offline, ha.Starting, ha.Online, ha.Stopping, ha.Failed, ha.Suspended}

func stateCode(s ha.GroupState) byte {
	for i, c := range stateCodes {
		if c == s {
			return byte(i)
		}
	}
	return 0
}

// seal encodes m and appends its HMAC-SHA256 under key.
func seal(key []byte, m message) []byte {
	b := m.append(make([]byte, 0, 256))
	mac := hmac.New(sha256.New, key)
	mac.Write(b)
	return mac.Sum(b)
}

// open checks b's size and MAC under key and decodes it.
func open(key []byte, b []byte) (message, error) {
	if len(b) < macSize+len(wireMagic) || len(b) > MaxDatagram {
		return message{}, errShort
	}
	body, sum := b[:len(b)-macSize], b[len(b)-macSize:]
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), sum) {
		return message{}, errMAC
	}
	return unmarshal(body)
}

func (m message) append(b []byte) []byte {
	b = append(b, wireMagic...)
	b = append(b, wireVersion)
	var flags byte
	if m.Leaving {
		flags |= flagLeaving
	}
	b = append(b, flags, m.Network)
	b = appendString(b, m.Cluster)
	b = appendString(b, m.Sender)
	b = binary.BigEndian.AppendUint64(b, m.Boot)
	b = binary.BigEndian.AppendUint64(b, m.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Sent))
	b = append(b, byte(len(m.Echoes)))
	for _, e := range m.Echoes {
		b = appendString(b, e.Node)
		b = binary.BigEndian.AppendUint64(b, e.Boot)
		b = binary.BigEndian.AppendUint64(b, e.Seq)
		b = binary.BigEndian.AppendUint64(b, uint64(e.Held))
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Groups)))
	for _, v := range m.Groups {
		b = appendString(b, v.Name)
		b = appendString(b, v.Claim.Holder)
		b = binary.BigEndian.AppendUint64(b, v.Claim.Boot)
		b = binary.BigEndian.AppendUint64(b, uint64(v.Claim.Epoch))
		var f byte
		if v.Claim.Released {
			f |= viewReleased
		}
		if v.Failed {
			f |= viewFailed
		}
		if v.NoLease {
			f |= viewNoLease
		}
		b = append(b, f)
		b = appendString(b, v.Claim.Next)
		b = append(b, stateCode(v.State))
		b = appendString(b, v.Move)
		b = binary.BigEndian.AppendUint64(b, uint64(v.MoveEpoch))
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// reader decodes a message; the first problem sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{errMalformed}, a...)...)
	}
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.fail("truncated")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() byte {
	if v := r.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if v := r.bytes(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if v := r.bytes(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// str reads a name; required names must not be empty.
func (r *reader) str(what string, required bool) string {
	n := int(r.u16())
	if r.err != nil {
		return ""
	}
	if n > maxName {
		r.fail("%s: %d bytes, at most %d", what, n, maxName)
		return ""
	}
	if n == 0 && required {
		r.fail("%s: empty", what)
	}
	return string(r.bytes(n))
}

// unmarshal decodes a heartbeat body (without its MAC). Every valid body
// has exactly one encoding: unmarshal then append gives the same bytes.
func unmarshal(b []byte) (message, error) {
	r := &reader{b: b}
	var m message
	if string(r.bytes(len(wireMagic))) != wireMagic {
		r.fail("not a minato heartbeat")
	}
	if v := r.u8(); r.err == nil && v != wireVersion {
		r.fail("version %d, want %d", v, wireVersion)
	}
	flags := r.u8()
	if flags&^flagLeaving != 0 {
		r.fail("unknown flags %#x", flags)
	}
	m.Leaving = flags&flagLeaving != 0
	m.Network = r.u8()
	if r.err == nil && int(m.Network) >= MaxNetworks {
		r.fail("network %d", m.Network)
	}
	m.Cluster = r.str("cluster", true)
	m.Sender = r.str("sender", true)
	m.Boot = r.u64()
	m.Seq = r.u64()
	m.Sent = int64(r.u64())
	if n := int(r.u8()); r.err == nil {
		if n > maxEchoes {
			r.fail("%d echoes, at most %d", n, maxEchoes)
		}
		for i := 0; i < n && r.err == nil; i++ {
			e := echo{Node: r.str("echo node", true), Boot: r.u64(), Seq: r.u64(), Held: time.Duration(r.u64())}
			if e.Held < 0 {
				r.fail("echo held %d", e.Held)
			}
			for _, o := range m.Echoes {
				if o.Node == e.Node {
					r.fail("echo of %q twice", e.Node)
				}
			}
			m.Echoes = append(m.Echoes, e)
		}
	}
	if n := int(r.u16()); r.err == nil {
		seen := map[string]bool{}
		for i := 0; i < n && r.err == nil; i++ {
			var v view
			v.Name = r.str("group", true)
			v.Claim.Holder = r.str("holder", false)
			v.Claim.Boot = r.u64()
			v.Claim.Epoch = ha.Epoch(r.u64())
			f := r.u8()
			if f&^(viewReleased|viewFailed|viewNoLease) != 0 {
				r.fail("group %q: unknown flags %#x", v.Name, f)
			}
			v.Claim.Released = f&viewReleased != 0
			v.Failed = f&viewFailed != 0
			v.NoLease = f&viewNoLease != 0
			v.Claim.Next = r.str("next", false)
			if s := int(r.u8()); s < len(stateCodes) {
				v.State = stateCodes[s]
			} else {
				r.fail("group %q: state %d", v.Name, s)
			}
			v.Move = r.str("move", false)
			v.MoveEpoch = ha.Epoch(r.u64())
			if r.err == nil && seen[v.Name] {
				r.fail("group %q twice", v.Name)
			}
			seen[v.Name] = true
			if r.err == nil && v.Claim.Holder == "" && (v.Claim.Boot != 0 || v.Claim.Epoch != 0 || v.Claim.Released || v.Claim.Next != "") {
				r.fail("group %q: a claim without a holder", v.Name)
			}
			if r.err == nil && v.Move == "" && v.MoveEpoch != 0 {
				r.fail("group %q: a move epoch without a target", v.Name)
			}
			m.Groups = append(m.Groups, v)
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d bytes after the end", len(r.b))
	}
	if r.err != nil {
		return message{}, r.err
	}
	return m, nil
}
