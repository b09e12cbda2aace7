package source

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/logship/logship/event"
)

// Malformed kinds, as counted in logship_frames_malformed_total.
const (
	KindBadJSON      = "bad_json"
	KindInvalidUTF8  = "invalid_utf8"
	KindMissingID    = "missing_id"
	KindBadDate      = "bad_date"
	KindUnknownEvent = "unknown_event"
	KindTooLarge     = "too_large"
	// KindFrameTooLarge is a frame beyond what the reader accepts (4 ×
	// max_event_bytes, at least 16 MiB): it cannot even be dead-lettered.
	KindFrameTooLarge = "frame_too_large"
)

// decodeError is a frame that cannot become an event.
type decodeError struct{ kind string }

func (e *decodeError) Error() string { return "malformed frame: " + e.kind }

// decodeLog turns the data of an APPLICATION_LOG frame into an event: it
// checks that data is one valid JSON object in valid UTF-8 and reads its
// `id` (else the frame's id line, frameID; a line with neither cannot be
// resumed after, so it is malformed) and `date`, leaving every other byte
// as it came (but for newlines between JSON tokens, removed). The event's
// Raw is data itself (or its compacted copy): the caller copies it before
// data's buffer is reused.
func decodeLog(data, frameID []byte) (event.Event, error) {
	var id string
	var date []byte
	var haveID, haveDate bool
	err := event.ScanObject(data, func(m event.Member) {
		switch string(m.Key) {
		case `"id"`:
			id, haveID = m.StringValue()
		case `"date"`:
			date, haveDate = m.Value, len(m.Value) > 1 && m.Value[0] == '"'
		}
	})
	if err != nil {
		if !utf8.Valid(data) {
			return event.Event{}, &decodeError{KindInvalidUTF8}
		}
		return event.Event{}, &decodeError{KindBadJSON}
	}
	if !haveID || id == "" {
		id = string(frameID) // the JSON id is the one users see; the frame's will do
	}
	if id == "" {
		return event.Event{}, &decodeError{KindMissingID}
	}
	if !haveDate {
		return event.Event{}, &decodeError{KindBadDate}
	}
	t, ok := parseDate(date)
	if !ok {
		return event.Event{}, &decodeError{KindBadDate}
	}
	raw := data
	if bytes.IndexByte(data, '\n') >= 0 || bytes.IndexByte(data, '\r') >= 0 {
		// Data split over several `data:` lines arrives joined by newlines
		// (legal JSON whitespace): compact it so that one event stays one
		// NDJSON line.
		var b bytes.Buffer
		if err := json.Compact(&b, data); err != nil {
			return event.Event{}, &decodeError{KindBadJSON}
		}
		raw = b.Bytes()
	}
	return event.Event{Raw: raw, ID: id, Date: t.UnixNano()}, nil
}

// parseDate reads a JSON string token holding an RFC 3339 date, without
// allocating when it holds no escape.
func parseDate(tok []byte) (time.Time, bool) {
	in := tok[1 : len(tok)-1]
	var s string
	if bytes.IndexByte(in, '\\') >= 0 {
		s = string(event.AppendUnescaped(nil, tok))
	} else {
		// time.Parse keeps no reference to s once it returned (its
		// error would, and is dropped).
		s = unsafe.String(unsafe.SliceData(in), len(in))
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}
