package syslog

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/logship/logship/event"
)

// action is what the receiver does after a message.
type action int

const (
	keepGoing action = iota
	closeConn        // close the connection (FIN), as a receiver restarting would
	resetConn        // stop reading and reset the connection (RST)
)

// receiver is a syslog server for the tests: it reads RFC 6587
// octet-counted frames (TCP or TLS) or datagrams (UDP), parses each
// message strictly and records it. A parse error fails the test.
type receiver struct {
	t    testing.TB
	ln   net.Listener
	pc   net.PacketConn
	addr string

	mu    sync.Mutex
	msgs  []*message
	conns int
	// connCount counts the messages of each connection.
	connCount map[int]int
	open      map[net.Conn]bool
	// after decides, for the n-th message (from 1) of connection c (from
	// 1), what to do next. nil: keep going.
	after  func(c, n int) action
	closed chan int // receives a connection's number when it is closed on purpose
	wg     sync.WaitGroup
}

func newTCPReceiver(t testing.TB, ln net.Listener) *receiver {
	r := &receiver{t: t, ln: ln, addr: ln.Addr().String(), closed: make(chan int, 16)}
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(r.stop)
	return r
}

func listenTCP(t testing.TB) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func listenTLS(t testing.TB, cert tls.Certificate) net.Listener {
	return tls.NewListener(listenTCP(t), &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
}

func newUDPReceiver(t testing.TB) *receiver {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = pc.(*net.UDPConn).SetReadBuffer(4 << 20)
	r := &receiver{t: t, pc: pc, addr: pc.LocalAddr().String(), closed: make(chan int, 16)}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			r.record(1, append([]byte(nil), buf[:n]...))
		}
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *receiver) stop() {
	if r.ln != nil {
		_ = r.ln.Close()
	}
	if r.pc != nil {
		_ = r.pc.Close()
	}
	r.mu.Lock()
	for c := range r.open {
		_ = c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *receiver) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns++
		n := r.conns
		if r.open == nil {
			r.open = map[net.Conn]bool{}
		}
		r.open[c] = true
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.serve(n, c)
		}()
	}
}

// serve reads octet-counted frames: MSG-LEN SP SYSLOG-MSG, MSG-LEN a
// NONZERO-DIGIT then digits.
func (r *receiver) serve(cn int, c net.Conn) {
	defer func() {
		_ = c.Close()
		r.mu.Lock()
		delete(r.open, c)
		r.mu.Unlock()
	}()
	br := bufio.NewReader(c)
	for n := 1; ; n++ {
		size := 0
		for i := 0; ; i++ {
			b, err := br.ReadByte()
			if err != nil {
				// Between two frames, any end is fine (EOF, the test
				// stopping, a refused handshake); within one it is not.
				if i > 0 {
					r.errorf("conn %d: frame %d: reading MSG-LEN: %v", cn, n, err)
				}
				return
			}
			if b == ' ' && i > 0 {
				break
			}
			if b < '0' || b > '9' || (i == 0 && b == '0') || i > 9 {
				r.errorf("conn %d: frame %d: bad MSG-LEN byte %q", cn, n, b)
				return
			}
			size = size*10 + int(b-'0')
		}
		frame := make([]byte, size)
		if _, err := io.ReadFull(br, frame); err != nil {
			r.errorf("conn %d: frame %d: truncated: %v", cn, n, err)
			return
		}
		switch r.record(cn, frame) {
		case closeConn:
			_ = c.Close()
			r.closed <- cn
			return
		case resetConn:
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
			r.closed <- cn
			return
		}
	}
}

func (r *receiver) errorf(format string, args ...any) {
	r.t.Errorf(format, args...)
}

// record parses and stores one message; it returns what to do next.
func (r *receiver) record(cn int, frame []byte) action {
	m, err := parse5424(frame)
	if err != nil {
		r.errorf("conn %d: %v in %q", cn, err, frame)
		return keepGoing
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	n := r.perConn(cn)
	if r.after == nil {
		return keepGoing
	}
	return r.after(cn, n)
}

// perConn returns how many messages connection cn delivered; r.mu held.
func (r *receiver) perConn(cn int) int {
	if r.connCount == nil {
		r.connCount = map[int]int{}
	}
	r.connCount[cn]++
	return r.connCount[cn]
}

// ids returns how many times each id (from the structured data) arrived.
func (r *receiver) ids() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, m := range r.msgs {
		out[m.SD[DefaultSDID]["id"]]++
	}
	return out
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// waitCount waits until n messages arrived.
func (r *receiver) waitCount(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("receiver got %d messages, want %d", r.count(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// testEvent is line seq of application app.
func testEvent(seq int, app string) event.Event {
	id := fmt.Sprintf("id-%07d", seq)
	date := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).Add(time.Duration(seq) * time.Millisecond)
	raw := fmt.Sprintf(`{"id":%q,"applicationId":%q,"instanceId":"6a1b0c9e-5d3f-4b7a-8c2e-1f0a9b8c7d6e","deploymentId":"deployment_1","date":%q,"zone":"par","severity":"info","service":"bas.service","message":"GET /items/%d 200 \"ok\" \u001b[32mgreen\u001b[0m"}`,
		id, app, date.Format(time.RFC3339Nano), seq)
	return event.Event{Raw: []byte(raw), ID: id, Date: date.UnixNano(), Source: "src-" + app, AppID: app}
}

// batchOf returns events from..to-1.
func batchOf(from, to int) *event.Batch {
	b := &event.Batch{}
	for i := from; i < to; i++ {
		b.Add(testEvent(i, "app_0a1b2c3d"))
	}
	return b
}

func idName(seq int) string { return "id-" + fmt.Sprintf("%07d", seq) }
