package stdout

import (
	"bytes"
	"testing"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
	"github.com/logship/logship/pipeline"
)

var _ pipeline.Sink = (*Sink)(nil)

func TestFormats(t *testing.T) {
	date := time.Date(2025, 1, 2, 3, 4, 5, 678_000_000, time.UTC).UnixNano()
	raw := `{"id":"a","date":"2025-01-02T03:04:05.678Z","message":"hello \u00e9\nworld"}`
	tests := []struct {
		format, want string
	}{
		{"", raw + "\n"},
		{"json", raw + "\n"},
		{"text", "2025-01-02T03:04:05.678Z: hello é\\nworld\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		s, err := New(config.StdoutSink{Format: tt.format}, &out)
		if err != nil {
			t.Fatal(err)
		}
		b := &event.Batch{}
		b.Add(event.Event{Raw: []byte(raw), ID: "a", Date: date})
		if err := s.Write(t.Context(), b); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want {
			t.Errorf("format %q: got %q, want %q", tt.format, out.String(), tt.want)
		}
	}
	if _, err := New(config.StdoutSink{Format: "xml"}, nil); err == nil {
		t.Error("unknown format accepted")
	}
}
