package source

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// countingConn counts the reads of the connection under an adaptiveConn.
type countingConn struct {
	net.Conn
	reads int
}

func (c *countingConn) Read(p []byte) (int, error) { c.reads++; return c.Conn.Read(p) }

// loopbackPair returns both ends of a TCP connection over loopback.
func loopbackPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestAdaptiveConnBusyThenIdle(t *testing.T) {
	client, server := loopbackPair(t)
	inner := &countingConn{Conn: client}
	c := &adaptiveConn{Conn: inner, closed: make(chan struct{})}

	// A burst of 1 MiB: read 4 KiB at a time as the transport does, it
	// takes far fewer reads of the connection than 256, and arrives whole.
	burst := make([]byte, 1<<20)
	for i := range burst {
		burst[i] = byte(i ^ i>>8 ^ i>>16)
	}
	go func() { _, _ = server.Write(burst) }()
	got := make([]byte, 0, len(burst))
	p := make([]byte, 4<<10)
	for len(got) < len(burst) {
		n, err := c.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p[:n]...)
	}
	if !bytes.Equal(got, burst) {
		t.Fatal("the burst arrived altered")
	}
	if inner.reads > 128 {
		t.Errorf("%d reads of the connection for 1 MiB, want at most 128 (64 KiB each while busy)", inner.reads)
	}

	// Then a slow stream: a line at a time. Each read returns the line
	// as soon as it is written, and the buffer goes back.
	line := bytes.Repeat([]byte("x"), 600)
	for i := range 5 {
		if _, err := server.Write(line); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		read := 0
		for read < len(line) {
			if time.Now().After(deadline) {
				t.Fatalf("line %d: only %d bytes read", i, read)
			}
			n, err := c.Read(p)
			if err != nil {
				t.Fatal(err)
			}
			read += n
		}
		if read != len(line) {
			t.Fatalf("line %d: read %d bytes, want %d", i, read, len(line))
		}
	}
	if c.buf != nil {
		t.Error("a slow stream still holds the busy buffer")
	}
}

// scriptConn returns its reads from a script: data and an error together.
type scriptConn struct {
	net.Conn
	reads []scriptRead
}

type scriptRead struct {
	data []byte
	err  error
}

func (c *scriptConn) Close() error { return nil }

func (c *scriptConn) Read(p []byte) (int, error) {
	if len(c.reads) == 0 {
		return 0, io.EOF
	}
	r := c.reads[0]
	c.reads = c.reads[1:]
	return copy(p, r.data), r.err
}

func TestAdaptiveConnErrorAfterData(t *testing.T) {
	reset := errors.New("connection reset")
	big := bytes.Repeat([]byte("y"), 10<<10)
	c := &adaptiveConn{closed: make(chan struct{}), Conn: &scriptConn{reads: []scriptRead{
		{data: bytes.Repeat([]byte("a"), 16)}, // fills p: borrow
		{data: big, err: reset},               // more than p, with an error
	}}}
	p := make([]byte, 16)
	if n, err := c.Read(p); n != 16 || err != nil {
		t.Fatalf("first read: %d, %v", n, err)
	}
	if c.buf == nil {
		t.Fatal("a read that filled p did not borrow the busy buffer")
	}
	total := 0
	for {
		n, err := c.Read(p)
		total += n
		if err != nil {
			if !errors.Is(err, reset) {
				t.Fatalf("error %v, want the connection's", err)
			}
			if n != 0 {
				t.Fatalf("the error came with %d bytes", n)
			}
			break
		}
	}
	if total != len(big) {
		t.Fatalf("%d bytes before the error, want %d", total, len(big))
	}
	if c.buf != nil {
		t.Error("the buffer was not given back after the error")
	}
}

// TestAdaptiveConnRandomReads: whatever the sizes the connection returns
// and the caller asks for, the bytes come out whole and in order.
func TestAdaptiveConnRandomReads(t *testing.T) {
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 1))
		var want []byte
		var reads []scriptRead
		for range 60 {
			// Mostly small reads (a live stream), bursts of large ones.
			n := 1 + rng.IntN(700)
			if rng.IntN(4) == 0 {
				n = 1 + rng.IntN(3*busyBuffer)
			}
			d := make([]byte, n)
			for i := range d {
				k := len(want) + i // position in the stream, spread over the bytes
				d[i] = byte(k ^ k>>8 ^ k>>16)
			}
			want = append(want, d...)
			reads = append(reads, scriptRead{data: d})
		}
		c := &adaptiveConn{Conn: &chunkConn{reads: reads}, closed: make(chan struct{})}
		var got []byte
		for {
			p := make([]byte, 1+rng.IntN(8<<10))
			n, err := c.Read(p)
			got = append(got, p[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("seed %d: %d bytes out for %d in, or altered", seed, len(got), len(want))
		}
	}
}

// chunkConn returns each scripted read's data over as many reads as the
// caller's slices need (as a socket holding that much would), then io.EOF.
type chunkConn struct {
	net.Conn
	reads []scriptRead
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.reads) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.reads[0].data)
	c.reads[0].data = c.reads[0].data[n:]
	if len(c.reads[0].data) == 0 {
		c.reads = c.reads[1:]
	}
	return n, nil
}

// TestAdaptiveConnCoalescesSlowStream: lines written one at a time, 10ms
// apart, are read in a few reads of the connection (each waits the delay
// after a small one), all of them, and a Close ends a read's wait at once.
func TestAdaptiveConnCoalescesSlowStream(t *testing.T) {
	client, server := loopbackPair(t)
	inner := &countingConn{Conn: client}
	c := &adaptiveConn{Conn: inner, delay: 100 * time.Millisecond, closed: make(chan struct{})}
	line := bytes.Repeat([]byte("z"), 100)
	const lines = 20
	go func() {
		for range lines {
			_, _ = server.Write(line)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	p := make([]byte, 4<<10)
	read := 0
	for read < lines*len(line) {
		n, err := c.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		read += n
	}
	if read != lines*len(line) {
		t.Fatalf("read %d bytes, want %d", read, lines*len(line))
	}
	// 200ms of lines: without the delay, about one read per line.
	if inner.reads > 6 {
		t.Errorf("%d reads of the connection for %d lines over 200ms, want at most 6", inner.reads, lines)
	}

	// A read waiting after a small one ends when the connection closes.
	c.delay = time.Hour
	c.slow = true
	done := make(chan error, 1)
	go func() { _, err := c.Read(p); done <- err }()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a read on a closed connection returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the read's wait")
	}
}

// TestAdaptiveConnBusyBound: no more than maxBusy connections hold a busy
// buffer at once; the others read straight into the caller's slice, and
// closing a holder gives its place back.
func TestAdaptiveConnBusyBound(t *testing.T) {
	full := bytes.Repeat([]byte("b"), 64)
	conns := make([]*adaptiveConn, maxBusy+10)
	before := busyLent.Load()
	for i := range conns {
		conns[i] = &adaptiveConn{Conn: &scriptConn{reads: []scriptRead{{data: full}}}, closed: make(chan struct{})}
		if n, err := conns[i].Read(make([]byte, len(full))); n != len(full) || err != nil {
			t.Fatalf("read: %d, %v", n, err)
		}
	}
	holding := 0
	for _, c := range conns {
		if c.buf != nil {
			holding++
		}
	}
	if holding > maxBusy || (before == 0 && holding != maxBusy) {
		t.Fatalf("%d connections hold a busy buffer, want %d", holding, maxBusy)
	}
	for _, c := range conns {
		c.Close()
	}
	if got := busyLent.Load(); before == 0 && got != 0 {
		t.Fatalf("%d busy buffers counted after every close, want 0", got)
	}
}
