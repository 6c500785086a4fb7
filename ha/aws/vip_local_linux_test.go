//go:build linux

package aws

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// vipInFreshNetns runs f on a goroutine locked to a thread moved into a new,
// empty network namespace. The thread is never given back to the
// runtime (the goroutine ends locked, so the thread ends with it).
func vipInFreshNetns(t *testing.T, f func() error) error {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) for a network namespace")
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread is in another namespace.
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- &vipSkipError{err}
			return
		}
		errc <- f()
	}()
	err := <-errc
	var se *vipSkipError
	if errors.As(err, &se) {
		t.Skipf("cannot create a network namespace here: %v", se.err)
	}
	return err
}

type vipSkipError struct{ err error }

func (e *vipSkipError) Error() string { return e.err.Error() }

// vipLinkUp sets IFF_UP on the interface (RTM_NEWLINK).
func vipLinkUp(ifname string) error {
	idx, err := vipIfIndex(ifname)
	if err != nil {
		return err
	}
	body := make([]byte, unix.SizeofIfInfomsg)
	body[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(body[4:8], uint32(idx))
	binary.NativeEndian.PutUint32(body[8:12], unix.IFF_UP)
	binary.NativeEndian.PutUint32(body[12:16], unix.IFF_UP)
	return vipNetlink(unix.RTM_NEWLINK, 0, body)
}

// vipAddDummy creates a dummy link (RTM_NEWLINK with kind "dummy").
func vipAddDummy(ifname string) error {
	body := make([]byte, unix.SizeofIfInfomsg)
	body[0] = unix.AF_UNSPEC
	body = vipAttr(body, unix.IFLA_IFNAME, append([]byte(ifname), 0))
	kind := vipAttr(nil, unix.IFLA_INFO_KIND, append([]byte("dummy"), 0))
	body = vipAttr(body, unix.IFLA_LINKINFO, kind)
	return vipNetlink(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, body)
}

// The local part of the virtual IP, for real, in a fresh network
// namespace: add is idempotent, has sees it, del is idempotent, and an
// unknown interface is an error naming it.
func TestVIPLocalNetlink(t *testing.T) {
	err := vipInFreshNetns(t, func() error {
		if err := vipLinkUp("lo"); err != nil {
			return err
		}
		ifname := "vip0"
		if err := vipAddDummy(ifname); err != nil {
			// No dummy driver in this kernel: use the loopback.
			t.Logf("no dummy link (%v): using lo", err)
			ifname = "lo"
		} else if err := vipLinkUp(ifname); err != nil {
			return err
		}
		ip := netip.MustParseAddr("10.1.0.20")
		var l vipOSLocal
		if ok, err := l.has(ifname, ip); err != nil || ok {
			t.Errorf("before add: has = %v, %v", ok, err)
		}
		for i := range 2 {
			if err := l.add(ifname, ip); err != nil {
				t.Errorf("add #%d: %v", i+1, err)
			}
		}
		if ok, err := l.has(ifname, ip); err != nil || !ok {
			t.Errorf("after add: has = %v, %v", ok, err)
		}
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		addrs, _ := ifi.Addrs()
		found := false
		for _, a := range addrs {
			if a.String() == "10.1.0.20/32" {
				found = true
			}
		}
		if !found {
			t.Errorf("addresses of %s: %v, want 10.1.0.20/32 among them", ifname, addrs)
		}
		other := netip.MustParseAddr("10.1.0.21")
		if ok, _ := l.has(ifname, other); ok {
			t.Error("has reports an address that was not added")
		}
		for i := range 2 {
			if err := l.del(ifname, ip); err != nil {
				t.Errorf("del #%d: %v", i+1, err)
			}
		}
		if ok, err := l.has(ifname, ip); err != nil || ok {
			t.Errorf("after del: has = %v, %v", ok, err)
		}
		if err := l.add("nosuch0", ip); err == nil || !strings.Contains(err.Error(), "nosuch0") {
			t.Errorf("add on a missing interface: %v", err)
		}
		if _, err := l.has("nosuch0", ip); err == nil {
			t.Error("has on a missing interface: no error")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Answers of the kernel that are not the acknowledgement looked for are
// skipped; malformed ones end the wait with an error.
func TestVIPNetlinkAck(t *testing.T) {
	msg := func(typ uint16, seq uint32, errno int32) []byte {
		b := make([]byte, unix.SizeofNlMsghdr+4)
		binary.NativeEndian.PutUint32(b[0:4], uint32(len(b)))
		binary.NativeEndian.PutUint16(b[4:6], typ)
		binary.NativeEndian.PutUint32(b[8:12], seq)
		binary.NativeEndian.PutUint32(b[16:20], uint32(errno))
		return b
	}
	if done, _ := vipNetlinkAck(msg(unix.NLMSG_ERROR, 7, 0), 8); done {
		t.Error("another sequence's answer taken")
	}
	b := append(msg(unix.NLMSG_ERROR, 7, 0), msg(unix.NLMSG_ERROR, 8, -int32(unix.EEXIST))...)
	if done, err := vipNetlinkAck(b, 8); !done || !errors.Is(err, unix.EEXIST) {
		t.Errorf("second message: %v, %v", done, err)
	}
	if done, err := vipNetlinkAck(msg(unix.NLMSG_ERROR, 8, 0), 8); !done || err != nil {
		t.Errorf("ack: %v, %v", done, err)
	}
	bad := msg(unix.NLMSG_ERROR, 8, 0)
	binary.NativeEndian.PutUint32(bad[0:4], 4)
	if done, err := vipNetlinkAck(bad, 8); !done || err == nil {
		t.Errorf("malformed: %v, %v", done, err)
	}
}

func FuzzVIPNetlinkAck(f *testing.F) {
	f.Add([]byte{}, uint32(1))
	f.Add(make([]byte, 20), uint32(0))
	f.Add([]byte{20, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xef, 0xff, 0xff, 0xff}, uint32(1))
	f.Fuzz(func(t *testing.T, b []byte, seq uint32) {
		_, _ = vipNetlinkAck(b, seq)
	})
}
