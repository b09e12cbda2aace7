package httpsink

import (
	"bytes"
	"sync/atomic"
)

// payload is a request body shared by the readers the HTTP client opens
// (the first send, and GetBody for a redirect or a replay on a fresh
// connection). The transport may close a reader after Do returns, so the
// buffer goes back to the pool only when Write and every opened reader have
// let go of it. A reader that is never closed just leaves the buffer to the
// garbage collector.
type payload struct {
	data    []byte
	refs    atomic.Int32
	release func()
}

// open returns a new reader of the data, holding a reference.
func (p *payload) open() *bodyReader {
	p.refs.Add(1)
	r := &bodyReader{p: p}
	r.Reset(p.data)
	return r
}

// drop lets go of one reference.
func (p *payload) drop() {
	if p.refs.Add(-1) == 0 {
		p.release()
	}
}

type bodyReader struct {
	bytes.Reader
	p      *payload
	closed atomic.Bool
}

// Close lets go of the reader's reference; later calls do nothing.
func (r *bodyReader) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.p.drop()
	}
	return nil
}
