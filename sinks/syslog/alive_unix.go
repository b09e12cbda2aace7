//go:build unix

package syslog

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
	"time"
)

// alive reports whether conn still looks open: a syslog receiver never
// sends anything, so a pending end of stream (the receiver closed while
// the connection was idle) or a reset means the connection is dead and a
// batch written to it would be lost. The check peeks at the socket without
// waiting and without consuming anything.
func alive(conn net.Conn) bool {
	raw := conn
	tc, isTLS := conn.(*tls.Conn)
	if isTLS {
		raw = tc.NetConn()
	}
	sc, ok := raw.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var n int
	var rerr error
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	})
	switch {
	case err != nil:
		return false
	case errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK) || errors.Is(rerr, syscall.EINTR):
		return true
	case rerr != nil:
		return false // reset, or another error
	case n == 0:
		return false // end of stream
	case isTLS:
		// A TLS receiver may send records (session tickets; close_notify
		// before closing): read them with a short deadline.
		_ = tc.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := tc.Read(buf[:])
		_ = tc.SetReadDeadline(time.Time{})
		var ne net.Error
		return err == nil || (errors.As(err, &ne) && ne.Timeout())
	default:
		return true // data from a receiver that talks: ignore it
	}
}
