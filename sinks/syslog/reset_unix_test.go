//go:build unix

package syslog

import (
	"context"
	"net"
	"syscall"
	"testing"
)

// listenSmallBuffers listens with a small receive buffer, so that a
// receiver that stops reading stalls the sender within a few kilobytes.
func listenSmallBuffers(t testing.TB) net.Listener {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestTCPResetMidBatch: the receiver resets the connection in the middle
// of a batch, after reading 150 of its 1000 messages. The write fails, and
// the retry sends the whole batch again on a new connection. This is the
// edge of TCP syslog's at-least-once: every id arrives, and exactly the
// 150 messages the receiver had read before the reset arrive twice.
func TestTCPResetMidBatch(t *testing.T) {
	r := newTCPReceiver(t, listenSmallBuffers(t))
	r.after = func(c, n int) action {
		if c == 1 && n == 150 {
			return resetConn
		}
		return keepGoing
	}
	s := newTestSink(t, testConfig(r.addr, ProtocolTCP))
	s.tune.sendBuffer = 4096
	fails := deliver(t, s, batchOf(0, 1000))
	if fails != 1 {
		t.Errorf("%d failed attempts, want 1", fails)
	}
	r.waitCount(t, 1150)
	got := r.ids()
	for i := range 1000 {
		want := 1
		if i < 150 {
			want = 2
		}
		if got[idName(i)] != want {
			t.Errorf("%s arrived %d times, want %d", idName(i), got[idName(i)], want)
		}
	}
	if len(got) != 1000 {
		t.Errorf("%d distinct ids, want 1000", len(got))
	}
}
