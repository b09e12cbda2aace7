package source

import (
	"bytes"
	"io"
)

// frame is one event of an SSE stream: the fields of the lines before a
// blank line. Its slices are valid until the next call to
// frameReader.next, and must not be written.
type frame struct {
	// Type is the value of the frame's last `event:` line (empty when none).
	Type []byte
	// Data is the values of its `data:` lines joined by "\n".
	Data []byte
	// ID is the value of its last `id:` line holding no NUL (the SSE rules
	// ignore those); HasID says there was one (an empty `id:` is one).
	ID    []byte
	HasID bool
	// Oversize reports a frame longer than the reader's limit: it was
	// skipped and Data is empty (Type and ID are kept when their lines came
	// before the limit was reached).
	Oversize bool
}

// frameReader reads the frames of an SSE stream (the WHATWG
// event-stream format) from a body without copying them: a frame's data is
// a slice of the read buffer, unless it spans several `data:` lines (then
// they are joined in a buffer of the reader's). Lines end with "\r\n",
// "\n" or "\r"; a field's value starts after the colon and one optional
// space; a line without a colon is a field with an empty value; comments
// (lines starting with ':'), unknown fields and `retry:` are ignored (the
// source has its own reconnect policy); a UTF-8 byte order mark before the
// first frame is dropped. As github.com/tmaxmax/go-sse's sse.Read (the
// reference its fuzz test compares it with), a frame is dispatched at a
// blank line when it had a `data:`, `event:` or `id:` line, and an
// incomplete frame at the end of the stream is discarded.
//
// A frame longer than limit bytes is not held: the reader skips to its end
// and returns it with Oversize set, then carries on with the next frame. Its
// buffer starts small and grows up to limit only for a frame that needs it.
type frameReader struct {
	r     io.Reader
	limit int
	buf   []byte
	// buf[fs:end] is read and unconsumed: fs is the start of the current
	// frame, pos the start of its first line not yet parsed.
	fs, pos, end int
	err          error // the error that ended reading (io.EOF at the end)
	started      bool  // a frame's first line was seen (no BOM check after)

	// The current frame so far.
	nData            int // data lines seen
	dataOff, dataEnd int // the first data line's value, as buf[fs+dataOff : fs+dataEnd]
	data             []byte
	typ, id          []byte
	hasID, dirty     bool
	skipping         bool // the frame passed limit: its lines are dropped
	midLine          bool // skipping dropped the start of the current line
}

// initialFrameBuffer is the read buffer's size until a frame needs more:
// it is held by every connected stream, so it stays small.
const initialFrameBuffer = 4 << 10

func newFrameReader(r io.Reader, limit int) *frameReader {
	return &frameReader{r: r, limit: max(limit, 64)}
}

// next returns the next frame; at the end of the stream it returns the error
// that ended it, io.EOF for a clean end.
func (fr *frameReader) next() (frame, error) {
	for {
		if f, ok := fr.parse(); ok {
			return f, nil
		}
		if fr.err != nil {
			return frame{}, fr.err
		}
		fr.fill()
	}
}

// parse reads the complete lines of buf[pos:end]; it returns the frame a
// blank line ended, if any.
func (fr *frameReader) parse() (frame, bool) {
	final := fr.err != nil
	for fr.pos < fr.end {
		b := fr.buf[fr.pos:fr.end]
		n, term, ok := lineEnd(b, final)
		if !ok {
			return frame{}, false
		}
		line := b[:n]
		lineStart := fr.pos - fr.fs
		fr.pos += n + term
		if fr.midLine {
			fr.midLine = false // the rest of a line skipping cut
			continue
		}
		if !fr.started && n > 0 {
			fr.started = true
			if bytes.HasPrefix(line, bom) {
				line = line[len(bom):]
				lineStart += len(bom)
				if len(line) == 0 {
					continue // a blank line, ending nothing
				}
			}
		}
		if len(line) == 0 {
			f, dispatch := fr.dispatch()
			if dispatch {
				return f, true
			}
			continue
		}
		fr.field(line, lineStart)
	}
	return frame{}, false
}

var bom = []byte("\xEF\xBB\xBF")

// lineEnd returns the length of the line at the start of b and of its end
// ("\r\n", "\n" or "\r"); ok is false when b holds no complete line (a
// final "\r" is complete only at the end of the stream: a "\n" may follow).
func lineEnd(b []byte, final bool) (n, term int, ok bool) {
	lf := bytes.IndexByte(b, '\n')
	seg := b
	if lf >= 0 {
		seg = b[:lf]
	}
	if cr := bytes.IndexByte(seg, '\r'); cr >= 0 {
		switch {
		case cr+1 < len(b) && b[cr+1] == '\n':
			return cr, 2, true
		case cr+1 < len(b) || final:
			return cr, 1, true
		}
		return 0, 0, false
	}
	if lf >= 0 {
		return lf, 1, true
	}
	return 0, 0, false
}

// field records one non-blank line, which starts at buf[fs+start].
func (fr *frameReader) field(line []byte, start int) {
	name, value := line, line[len(line):]
	if c := bytes.IndexByte(line, ':'); c >= 0 {
		name, value = line[:c], line[c+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		fr.dirty = true
		if fr.skipping {
			return
		}
		fr.nData++
		switch fr.nData {
		case 1:
			fr.dataOff = start + len(line) - len(value)
			fr.dataEnd = fr.dataOff + len(value)
			return
		case 2:
			fr.data = append(fr.data[:0], fr.buf[fr.fs+fr.dataOff:fr.fs+fr.dataEnd]...)
		}
		fr.data = append(fr.data, '\n')
		fr.data = append(fr.data, value...)
	case "event":
		fr.typ = append(fr.typ[:0], value...)
		fr.dirty = true
	case "id":
		if bytes.IndexByte(value, 0) >= 0 {
			return
		}
		fr.id = append(fr.id[:0], value...)
		fr.hasID, fr.dirty = true, true
	}
}

// dispatch ends the current frame at a blank line: it returns it when it
// is to be dispatched, and starts the next one.
func (fr *frameReader) dispatch() (frame, bool) {
	f := frame{Type: fr.typ, ID: fr.id, HasID: fr.hasID, Oversize: fr.skipping}
	switch {
	case fr.skipping:
	case fr.nData == 1:
		f.Data = fr.buf[fr.fs+fr.dataOff : fr.fs+fr.dataEnd : fr.fs+fr.dataEnd]
	case fr.nData > 1:
		f.Data = fr.data
	}
	ok := fr.dirty || fr.skipping
	fr.fs = fr.pos
	fr.nData, fr.hasID, fr.dirty, fr.skipping = 0, false, false, false
	fr.typ, fr.id = fr.typ[:0], fr.id[:0]
	if !f.HasID {
		f.ID = nil
	}
	return f, ok
}

// fill makes room and reads more of the stream; it sets err when reading
// ends.
func (fr *frameReader) fill() {
	if fr.buf == nil {
		fr.buf = make([]byte, min(initialFrameBuffer, fr.limit))
	}
	if fr.end-fr.fs >= fr.limit && !fr.skipping {
		// The frame passed the limit: drop what was read of it and the
		// rest of its lines up to its blank line.
		fr.skipping, fr.nData = true, 0
	}
	if fr.skipping {
		fr.fs = fr.pos // its parsed lines are not needed any more
	}
	if fr.fs > 0 {
		n := copy(fr.buf, fr.buf[fr.fs:fr.end])
		fr.pos -= fr.fs
		fr.end, fr.fs = n, 0
	}
	if fr.end == len(fr.buf) {
		if fr.skipping {
			// A line longer than the whole buffer: drop what is read of
			// it, but a final "\r" (its end, whether a "\n" follows or not).
			keep := 0
			if fr.buf[fr.end-1] == '\r' {
				fr.buf[0], keep = '\r', 1
			}
			fr.pos, fr.end = 0, keep
			fr.midLine = true
		} else {
			nb := make([]byte, min(2*len(fr.buf), fr.limit))
			copy(nb, fr.buf[:fr.end])
			fr.buf = nb
		}
	}
	for range 100 {
		n, err := fr.r.Read(fr.buf[fr.end:])
		fr.end += n
		if err != nil {
			fr.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	fr.err = io.ErrNoProgress
}
