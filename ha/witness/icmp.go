package witness

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ICMP message types of an echo exchange (RFC 792).
const (
	icmpEchoReply   = 0
	icmpEchoRequest = 8
)

// echoHeaderLen is the length of an ICMP echo header: type, code,
// checksum, identifier and sequence number.
const echoHeaderLen = 8

// echo is an ICMP echo request or reply (RFC 792).
type echo struct {
	Type uint8
	ID   uint16
	Seq  uint16
	Data []byte
}

// marshal returns the message with its checksum.
func (e echo) marshal() []byte {
	b := make([]byte, echoHeaderLen+len(e.Data))
	b[0] = e.Type
	b[1] = 0 // code
	binary.BigEndian.PutUint16(b[4:], e.ID)
	binary.BigEndian.PutUint16(b[6:], e.Seq)
	copy(b[echoHeaderLen:], e.Data)
	binary.BigEndian.PutUint16(b[2:], checksum(b))
	return b
}

// parseEcho parses an ICMP message (without its IP header) as an echo
// request or reply. It refuses other types, a code other than 0, a short
// message and a wrong checksum. Data aliases b.
func parseEcho(b []byte) (echo, error) {
	if len(b) < echoHeaderLen {
		return echo{}, fmt.Errorf("icmp: %d bytes, shorter than an echo header", len(b))
	}
	if b[0] != icmpEchoReply && b[0] != icmpEchoRequest {
		return echo{}, fmt.Errorf("icmp: type %d is not an echo", b[0])
	}
	if b[1] != 0 {
		return echo{}, fmt.Errorf("icmp: echo with code %d", b[1])
	}
	if checksum(b) != 0 {
		return echo{}, errors.New("icmp: bad checksum")
	}
	return echo{
		Type: b[0],
		ID:   binary.BigEndian.Uint16(b[4:]),
		Seq:  binary.BigEndian.Uint16(b[6:]),
		Data: b[echoHeaderLen:],
	}, nil
}

// checksum is the Internet checksum (RFC 1071) of b: the one's
// complement of the one's complement sum of its 16-bit words. Over a
// message whose checksum field is filled in, it is 0.
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
