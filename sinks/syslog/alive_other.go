//go:build !unix

package syslog

import (
	"errors"
	"net"
	"time"
)

// alive reports whether conn still looks open (see the unix version). This
// version waits up to a millisecond for an end of stream.
func alive(conn net.Conn) bool {
	var buf [1]byte
	_ = conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err := conn.Read(buf[:])
	_ = conn.SetReadDeadline(time.Time{})
	var ne net.Error
	return err == nil || (errors.As(err, &ne) && ne.Timeout())
}
