//go:build !linux

package witness

import (
	"errors"
	"net"
)

// listenDatagram is Linux only: elsewhere ICMP datagram sockets deliver
// replies with their IP header, or do not exist.
func listenDatagram() (net.PacketConn, error) {
	return nil, errors.New("unprivileged ICMP sockets are used on Linux only")
}

// socketHint says what would let this process open an ICMP socket.
func socketHint() string {
	return "a raw ICMP socket needs administrator rights"
}
