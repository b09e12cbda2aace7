package emulator

import (
	"strconv"
)

// frameBytes are the constant pieces of frames for one Style.
type frameBytes struct {
	eol       string
	colon     string // ": " or ":"
	charset   bool
	idPrefix  []byte // "id: "
	logHead   []byte // EOL "event: APPLICATION_LOG" EOL "data: "
	end       []byte // EOL EOL
	sep       []byte // between JSON members: "," or "," EOL "data: "
	heartbeat []byte
	eosUntil  []byte
	eosLimit  []byte
	retry     []byte // nil when the style has none
}

func newFrameBytes(st Style) *frameBytes {
	eol := "\n"
	if st.CRLF {
		eol = "\r\n"
	}
	colon := ": "
	if st.NoSpace {
		colon = ":"
	}
	f := &frameBytes{eol: eol, colon: colon, charset: st.Charset}
	f.idPrefix = []byte("id" + colon)
	f.logHead = []byte(eol + "event" + colon + "APPLICATION_LOG" + eol + "data" + colon)
	f.end = []byte(eol + eol)
	f.sep = []byte(",")
	if st.SplitData {
		f.sep = []byte("," + eol + "data" + colon)
	}
	hb := ""
	if st.HeartbeatEmptyID {
		hb = "id:" + eol
	}
	f.heartbeat = []byte(hb + "event" + colon + "HEARTBEAT" + eol + "data:" + eol + eol)
	f.eosUntil = []byte("event" + colon + "END_OF_STREAM" + eol + "data" + colon + `{"endedBy":"UNTIL_REACHED"}` + eol + eol)
	f.eosLimit = []byte("event" + colon + "END_OF_STREAM" + eol + "data" + colon + `{"endedBy":"LIMIT_REACHED"}` + eol + eol)
	if st.Retry > 0 {
		f.retry = []byte("retry" + colon + strconv.FormatInt(st.Retry.Milliseconds(), 10) + eol)
	}
	return f
}

// field returns `name: ` in the style.
func (f *frameBytes) field(name string) string { return name + f.colon }

// malformedFrame renders an injected frame placed before the line at pos (r is that line).
func (f *frameBytes) malformedFrame(m Malformed, a *appState, pos int64, r rec, df *dateFormatter) []byte {
	fakeID := "fault-" + m.Kind.String() + "-" + strconv.FormatInt(pos, 10)
	fake := func(msg string) []byte {
		b := []byte(`{"id":"` + fakeID + `","date":"`)
		b = df.append(b, r.date)
		b = append(b, `",`...)
		b = append(b, a.frag.instJoined[r.inst]...)
		b = append(b, a.frag.kindJoined[r.svc][r.sev]...)
		b = append(b, `"message":"`...)
		b = appendJSONString(b, msg)
		return append(b, `"}`...)
	}
	// Injected log frames carry an id line (with the fake id) so that they
	// are malformed only in the way their kind says; NoID has none.
	logFrame := func(data []byte) []byte {
		b := []byte(f.field("id") + fakeID + f.eol + f.field("event") + "APPLICATION_LOG" + f.eol + f.field("data"))
		if m.Kind == NoID {
			b = []byte(f.field("event") + "APPLICATION_LOG" + f.eol + f.field("data"))
		}
		b = append(b, data...)
		return append(b, f.end...)
	}
	switch m.Kind {
	case BadJSON:
		full := fake("this frame is cut in the middle")
		return logFrame(full[:len(full)*2/3])
	case UnknownEvent:
		return []byte(f.field("event") + "LOG_V5_PREVIEW" + f.eol + f.field("data") +
			`{"id":"` + fakeID + `","hello":"world"}` + f.eol + f.eol)
	case InvalidUTF8:
		return logFrame(fake("invalid bytes \xff\xfe here and a cut rune \xc3\x28 there"))
	case Oversized:
		size := m.Size
		if size <= 0 {
			size = 1 << 20
		}
		msg := make([]byte, 0, size)
		for len(msg) < size {
			msg = append(msg, filler[:min(len(filler), size-len(msg))]...)
		}
		return logFrame(fake(string(msg)))
	case NoID:
		// No id line and no JSON id: nothing to resume after.
		full := fake("this APPLICATION_LOG frame has no id at all")
		return logFrame(append([]byte("{"), full[len(`{"id":"`+fakeID+`",`):]...))
	case Comment:
		return []byte(": emulator comment, not a heartbeat" + f.eol + f.eol + ":another comment inside the next frame" + f.eol)
	}
	return nil
}
