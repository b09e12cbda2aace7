package source

import (
	"bytes"
	"encoding/json"
	"strings"
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
// resumed after, so it is malformed) and `date`, leaving every other byte as it came (but for newlines
// between JSON tokens, removed). The event's Raw shares memory with data
// (strings are immutable, so it is never written).
func decodeLog(data, frameID string) (event.Event, error) {
	raw := unsafe.Slice(unsafe.StringData(data), len(data))
	var id, date string
	var haveID, haveDate bool
	err := event.ScanObject(raw, func(m event.Member) {
		switch string(m.Key) {
		case `"id"`:
			id, haveID = m.StringValue()
		case `"date"`:
			date, haveDate = m.StringValue()
		}
	})
	if err != nil {
		if !utf8.Valid(raw) {
			return event.Event{}, &decodeError{KindInvalidUTF8}
		}
		return event.Event{}, &decodeError{KindBadJSON}
	}
	if strings.ContainsAny(data, "\r\n") {
		// Data split over several `data:` lines arrives joined by newlines
		// (legal JSON whitespace): compact it so that one event stays one
		// NDJSON line.
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return event.Event{}, &decodeError{KindBadJSON}
		}
		raw = b.Bytes()
	}
	if !haveID || id == "" {
		id = frameID // the JSON id is the one users see; the frame's will do
	}
	if id == "" {
		return event.Event{}, &decodeError{KindMissingID}
	}
	if !haveDate {
		return event.Event{}, &decodeError{KindBadDate}
	}
	t, err := time.Parse(time.RFC3339Nano, date)
	if err != nil {
		return event.Event{}, &decodeError{KindBadDate}
	}
	return event.Event{Raw: raw, ID: id, Date: t.UnixNano()}, nil
}
