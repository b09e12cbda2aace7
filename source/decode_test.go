package source

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestDecodeLog(t *testing.T) {
	good := `{"id":"e1","date":"2025-01-01T00:00:00.123Z","message":"hi","pid":3,"extra":{"k":[1]}}`
	tests := []struct {
		name, data string
		frameID    string // the frame's id line, if any
		kind       string // "" means valid
	}{
		{"valid", good, "", ""},
		{"escaped id", `{"date":"2025-01-01T00:00:00Z","id":"e\u0031"}`, "", ""},
		{"numeric facility kept", `{"id":"e","date":"2025-01-01T00:00:00Z","facility":3}`, "", ""},
		{"bad json", `{"id":"e1","date":`, "", KindBadJSON},
		{"array", `[1,2]`, "", KindBadJSON},
		{"invalid utf8", "{\"id\":\"e\",\"date\":\"2025-01-01T00:00:00Z\",\"message\":\"\xff\"}", "", KindInvalidUTF8},
		{"no id anywhere", `{"date":"2025-01-01T00:00:00Z"}`, "", KindMissingID},
		{"numeric id", `{"id":7,"date":"2025-01-01T00:00:00Z"}`, "", KindMissingID},
		{"frame id only", `{"date":"2025-01-01T00:00:00Z"}`, "f1", ""},
		{"no date", `{"id":"e"}`, "", KindBadDate},
		{"bad date", `{"id":"e","date":"yesterday"}`, "", KindBadDate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := decodeLog([]byte(tt.data), []byte(tt.frameID))
			if tt.kind == "" {
				if err != nil {
					t.Fatal(err)
				}
				if string(e.Raw) != tt.data {
					t.Fatalf("raw changed: %s", e.Raw)
				}
				return
			}
			var de *decodeError
			if !errors.As(err, &de) || de.kind != tt.kind {
				t.Fatalf("err = %v, want kind %s", err, tt.kind)
			}
		})
	}
	e, _ := decodeLog([]byte(good), nil)
	if e.ID != "e1" || e.Date != time.Date(2025, 1, 1, 0, 0, 0, 123_000_000, time.UTC).UnixNano() {
		t.Fatalf("decoded %+v", e)
	}
}

// FuzzDecodeLog: the frame decoder never panics, and whatever it accepts is
// valid UTF-8 JSON with the id and date encoding/json reads.
func FuzzDecodeLog(f *testing.F) {
	for _, s := range []string{
		`{"id":"e1","date":"2025-01-01T00:00:00.123Z","message":"hi"}`,
		`{"id":"e\"1","date":"2025-01-01T00:00:00+02:00"}`,
		`{"id":"","date":""}`, `{`, `[]`, "{\"id\":\"\xff\"}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		e, err := decodeLog([]byte(data), nil)
		if err != nil {
			return
		}
		if !utf8.ValidString(data) || !json.Valid([]byte(data)) {
			t.Fatalf("accepted invalid input %q", data)
		}
		var ref struct {
			ID   string `json:"id"`
			Date string `json:"date"`
		}
		if json.Unmarshal([]byte(data), &ref) != nil {
			return // e.g. a later duplicate key of another type
		}
		if !strings.Contains(data, `"id"`) || e.ID == "" {
			t.Fatalf("id not read from %q", data)
		}
	})
}
