package stdout

import (
	"bytes"
	"testing"
	"time"

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
		{"json", raw + "\n"},
		{"text", "2025-01-02T03:04:05.678Z: hello é\\nworld\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		s, err := New(&Config{Format: tt.format}, Options{Writer: &out})
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
	if _, err := New(&Config{Format: "xml"}, Options{}); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestConfig(t *testing.T) {
	if ps := NewDefaultConfig().Validate(); len(ps) > 0 {
		t.Errorf("defaults: %v", ps)
	}
	ps := (&Config{Format: "xml"}).Validate()
	if len(ps) != 1 || ps.Error() != "format: must be json or text" {
		t.Errorf("problems %v", ps)
	}
}
