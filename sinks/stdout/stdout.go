// Package stdout is the sink that writes events to standard output: NDJSON
// (one JSON object per line, as received) or a human `text` format like
// `clever logs` prints.
package stdout

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/logship/logship/event"
)

// Sink writes batches to a writer, one line per event. It is safe for
// concurrent use, though the pipeline writes one batch at a time.
type Sink struct {
	w    io.Writer
	text bool
	mu   sync.Mutex
	buf  []byte
}

// Options are the sink's collaborators.
type Options struct {
	// Writer is where events go; nil means os.Stdout.
	Writer io.Writer
}

// New returns a sink for cfg (see Config.Validate); it does no I/O.
func New(cfg *Config, opts Options) (*Sink, error) {
	if ps := cfg.Validate(); len(ps) > 0 {
		return nil, fmt.Errorf("stdout: %w", ps)
	}
	w := opts.Writer
	if w == nil {
		w = os.Stdout
	}
	return &Sink{w: w, text: cfg.Format == "text"}, nil
}

// Write writes every event of b, in order, with one write call.
func (s *Sink) Write(_ context.Context, b *event.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf := s.buf[:0]
	for i := range b.Events {
		if s.text {
			buf = appendText(buf, &b.Events[i])
		} else {
			buf = append(buf, b.Events[i].Raw...)
		}
		buf = append(buf, '\n')
	}
	s.buf = buf
	if _, err := s.w.Write(buf); err != nil {
		return fmt.Errorf("stdout: %w", err)
	}
	return nil
}

// appendText renders an event as `clever logs` does: "<date>: <message>".
func appendText(buf []byte, e *event.Event) []byte {
	var msg string
	var ok bool
	for m, i, more := event.NextMember(e.Raw, 0); more; m, i, more = event.NextMember(e.Raw, i) {
		if string(m.Key) == `"message"` {
			msg, ok = m.StringValue()
			break
		}
	}
	buf = time.Unix(0, e.Date).UTC().AppendFormat(buf, "2006-01-02T15:04:05.000Z07:00")
	buf = append(buf, ": "...)
	if !ok {
		return append(buf, e.Raw...)
	}
	for i := 0; i < len(msg); i++ { // keep one event on one line
		if msg[i] == '\n' {
			buf = append(buf, `\n`...)
		} else {
			buf = append(buf, msg[i])
		}
	}
	return buf
}

// Close does nothing: standard output stays open.
func (s *Sink) Close() error { return nil }
