//go:build unix

package syslog

import (
	"errors"
	"net"
	"syscall"
)

// alive reports whether the receiver has not closed or reset c: a peek
// at the socket (which never blocks, as Go's sockets are non-blocking)
// finds nothing to read. Syslog receivers send nothing, so end of file or
// an error means the connection is gone.
func alive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	live := true
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK)
		switch {
		case rerr == nil:
			live = n > 0
		case errors.Is(rerr, syscall.EAGAIN), errors.Is(rerr, syscall.EWOULDBLOCK), errors.Is(rerr, syscall.EINTR):
		default:
			live = false
		}
		return true
	})
	return err == nil && live
}
