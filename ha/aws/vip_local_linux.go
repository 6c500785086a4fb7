//go:build linux

package aws

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// vipLocalSupported reports whether this platform can put a virtual IP on
// a local interface.
const vipLocalSupported = true

// vipNetlinkTimeout bounds the wait for the kernel's answer.
const vipNetlinkTimeout = 5 * time.Second

// vipOSLocal puts the virtual IP on a local interface with rtnetlink
// (RTM_NEWADDR / RTM_DELADDR), as `ip addr add <ip>/32 dev <if>` does,
// without running a command.
type vipOSLocal struct{}

// add adds ip/32 to the interface; an address already there is success.
func (vipOSLocal) add(ifname string, ip netip.Addr) error {
	idx, err := vipIfIndex(ifname)
	if err != nil {
		return err
	}
	err = vipAddrRequest(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, idx, ip)
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("adding %s/32 to interface %s: %w", ip, ifname, err)
	}
	return nil
}

// del removes ip/32 from the interface; an address not there is success.
func (vipOSLocal) del(ifname string, ip netip.Addr) error {
	idx, err := vipIfIndex(ifname)
	if err != nil {
		return err
	}
	err = vipAddrRequest(unix.RTM_DELADDR, 0, idx, ip)
	if errors.Is(err, unix.EADDRNOTAVAIL) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("removing %s/32 from interface %s: %w", ip, ifname, err)
	}
	return nil
}

// has reports whether ip is an address of the interface (with any prefix
// length).
func (vipOSLocal) has(ifname string, ip netip.Addr) (bool, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return false, fmt.Errorf("interface %s: %w", ifname, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return false, fmt.Errorf("listing the addresses of interface %s: %w", ifname, err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if got, ok := netip.AddrFromSlice(n.IP); ok && got.Unmap() == ip {
				return true, nil
			}
		}
	}
	return false, nil
}

// vipIfIndex returns the index of the named interface.
func vipIfIndex(ifname string) (int, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return 0, fmt.Errorf("interface %s: %w", ifname, err)
	}
	return ifi.Index, nil
}

// vipAddrRequest sends one RTM_NEWADDR or RTM_DELADDR for ip/32 on the
// interface and returns the kernel's answer (nil, or its errno).
func vipAddrRequest(typ uint16, flags uint16, ifindex int, ip netip.Addr) error {
	a := ip.As4()
	body := make([]byte, unix.SizeofIfAddrmsg)
	body[0] = unix.AF_INET
	body[1] = 32 // prefix length
	binary.NativeEndian.PutUint32(body[4:8], uint32(ifindex))
	body = vipAttr(body, unix.IFA_LOCAL, a[:])
	body = vipAttr(body, unix.IFA_ADDRESS, a[:])
	return vipNetlink(typ, flags, body)
}

// vipAttr appends one rtnetlink attribute, padded to 4 bytes.
func vipAttr(b []byte, typ uint16, data []byte) []byte {
	l := unix.SizeofRtAttr + len(data)
	var h [unix.SizeofRtAttr]byte
	binary.NativeEndian.PutUint16(h[0:2], uint16(l))
	binary.NativeEndian.PutUint16(h[2:4], typ)
	b = append(b, h[:]...)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

var vipSeq atomic.Uint32

// vipNetlink sends one request on a fresh NETLINK_ROUTE socket (in the
// calling thread's network namespace) with NLM_F_REQUEST|NLM_F_ACK and
// flags, and waits for its acknowledgement.
func vipNetlink(typ, flags uint16, body []byte) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(vipNetlinkTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink bind: %w", err)
	}
	seq := vipSeq.Add(1)
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	binary.NativeEndian.PutUint32(msg[0:4], uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(msg[4:6], typ)
	binary.NativeEndian.PutUint16(msg[6:8], unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags)
	binary.NativeEndian.PutUint32(msg[8:12], seq)
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("netlink receive: %w", err)
		}
		done, err := vipNetlinkAck(buf[:n], seq)
		if done {
			return err
		}
	}
}

// vipNetlinkAck looks through received netlink messages for the
// acknowledgement of seq: done is true once it is found, with the errno
// it carries (nil for success).
func vipNetlinkAck(b []byte, seq uint32) (done bool, err error) {
	for len(b) >= unix.SizeofNlMsghdr {
		l := binary.NativeEndian.Uint32(b[0:4])
		typ := binary.NativeEndian.Uint16(b[4:6])
		s := binary.NativeEndian.Uint32(b[8:12])
		if l < unix.SizeofNlMsghdr || int(l) > len(b) {
			return true, errors.New("netlink: malformed answer")
		}
		if s == seq {
			switch typ {
			case unix.NLMSG_ERROR:
				if l < unix.SizeofNlMsghdr+4 {
					return true, errors.New("netlink: short error answer")
				}
				code := int32(binary.NativeEndian.Uint32(b[unix.SizeofNlMsghdr : unix.SizeofNlMsghdr+4]))
				if code == 0 {
					return true, nil
				}
				return true, unix.Errno(-code)
			case unix.NLMSG_DONE:
				return true, nil
			}
		}
		adv := (int(l) + 3) &^ 3
		if adv > len(b) {
			break
		}
		b = b[adv:]
	}
	return false, nil
}
