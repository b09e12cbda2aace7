package source

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// busyBuffer is the read buffer a connection borrows while its stream is
// busy (a backfill, a burst): one read system call per 64 KiB instead of
// one per few lines. An idle stream (a live application's few lines a
// second, heartbeats) holds none: it reads straight into the transport's
// small buffer, so that memory per followed application stays small.
const busyBuffer = 64 << 10

// busyBuffers lends the busy buffers; a stream returns its own when it
// slows down, so a burst on one application after another reuses them.
var busyBuffers = sync.Pool{New: func() any { b := make([]byte, busyBuffer); return &b }}

// maxBusy bounds the busy buffers lent at once (4 MiB): when every stream
// lags (2,000 applications on a starved machine), each one holding 64 KiB
// took 117 MiB and the garbage collector's time; past the bound a busy
// stream reads straight into the transport's buffer, as an idle one.
const maxBusy = 64

// busyLent counts the busy buffers lent.
var busyLent atomic.Int32

// adaptiveConn reads its connection through a buffer it holds only while
// the reads fill more than the caller asks for. A read that fills the
// caller's whole slice says more is likely waiting: the next read goes into
// a borrowed busyBuffer and the caller is served from it. A read into that
// buffer that brings no more than the caller asked for says the stream has
// slowed down: the buffer goes back once emptied, and reads go straight to
// the caller again. Data is never held back: a read returns what one system
// call brought. It is used by one reader at a time (the HTTP transport's),
// as a net.Conn is.
//
// A slow stream is also read less often: after a read that brought less
// than half of what the caller asked for, the next read waits
// coalesceDelay first, so that it takes the lines that arrived meanwhile
// in one system call. A live application's 20 lines a second, each its
// own chunk, took a read per line plus one that found nothing (and a
// wake-up of the network poller): 40% of logship's CPU with 500
// applications. Lines are delayed by at most coalesceDelay.
type adaptiveConn struct {
	net.Conn
	buf  *[]byte // borrowed while busy; nil while idle
	r, w int     // (*buf)[r:w] is read and not yet handed out
	err  error   // the error of the read that filled buf, once it is emptied

	delay     time.Duration // coalesceDelay (0: none)
	slow      bool          // the last read brought less than half of what was asked
	timer     *time.Timer   // delay's, reused
	closed    chan struct{}
	closeOnce sync.Once
	holds     atomic.Bool // counted in busyLent (until release or Close)
}

// coalesceDelay is how long a slow stream's next read waits (see
// adaptiveConn). Well under any heartbeat timeout, and under the default
// batch max_wait (200ms) a line waits for anyway.
const coalesceDelay = 100 * time.Millisecond

func (c *adaptiveConn) Read(p []byte) (int, error) {
	if c.buf == nil {
		if c.slow && c.delay > 0 {
			c.slow = false
			if !c.wait() {
				return 0, net.ErrClosed
			}
		}
		n, err := c.Conn.Read(p)
		if n == len(p) && n > 0 && err == nil {
			if busyLent.Add(1) <= maxBusy {
				c.holds.Store(true)
				c.buf = busyBuffers.Get().(*[]byte)
			} else {
				busyLent.Add(-1)
			}
		}
		c.slow = n > 0 && n < len(p)/2
		return n, err
	}
	if c.r == c.w {
		if c.err != nil {
			err := c.err
			c.release()
			return 0, err
		}
		n, err := c.Conn.Read(*c.buf)
		if n <= len(p) {
			// Slow again: hand it over and give the buffer back.
			copy(p, (*c.buf)[:n])
			c.release()
			c.slow = n > 0 && n < len(p)/2
			return n, err
		}
		c.r, c.w, c.err = 0, n, err
	}
	n := copy(p, (*c.buf)[c.r:c.w])
	c.r += n
	return n, nil
}

// release gives the busy buffer back (it must hold no unread bytes). A
// connection closed while busy keeps its buffer for the garbage collector:
// the transport may close it while its reader is in Read. (Close gives its
// place among the maxBusy back.)
func (c *adaptiveConn) release() {
	busyBuffers.Put(c.buf)
	if c.holds.CompareAndSwap(true, false) {
		busyLent.Add(-1)
	}
	c.buf, c.r, c.w, c.err = nil, 0, 0, nil
}

// wait waits c.delay, or until the connection is closed (false).
func (c *adaptiveConn) wait() bool {
	if c.timer == nil {
		c.timer = time.NewTimer(c.delay)
	} else {
		c.timer.Reset(c.delay)
	}
	select {
	case <-c.timer.C:
		return true
	case <-c.closed:
		c.timer.Stop()
		return false
	}
}

// Close closes the connection, and ends a read's wait at once.
func (c *adaptiveConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		if c.holds.CompareAndSwap(true, false) {
			busyLent.Add(-1)
		}
	})
	return c.Conn.Close()
}

// adaptiveDial wraps dial's connections in adaptiveConn.
func adaptiveDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &adaptiveConn{Conn: conn, delay: coalesceDelay, closed: make(chan struct{})}, nil
	}
}
