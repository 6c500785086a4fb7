package witness

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
)

// listenDatagram opens an unprivileged ICMP datagram socket ("ping
// socket"): socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP). Linux allows it
// to processes whose group is in net.ipv4.ping_group_range; the kernel
// sets the echo identifier and delivers only the replies to this
// socket's requests, without their IP header.
func listenDatagram() (net.PacketConn, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, syscall.IPPROTO_ICMP)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{}); err != nil {
		_ = syscall.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	f := os.NewFile(uintptr(fd), "icmp")
	defer f.Close() // FilePacketConn works on a duplicate
	return net.FilePacketConn(f)
}

// socketHint says what would let this process open an ICMP socket.
func socketHint() string {
	r := "unknown"
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range"); err == nil {
		r = strings.Join(strings.Fields(string(b)), " ")
	}
	return fmt.Sprintf("an ICMP socket needs this process's group (gid %d) in sysctl net.ipv4.ping_group_range (now %q) or the CAP_NET_RAW capability", os.Getgid(), r)
}
