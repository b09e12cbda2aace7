package event

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScanObject(t *testing.T) {
	tests := []struct {
		in   string
		want error
		keys string
	}{
		{`{}`, nil, ""},
		{` {"a" : 1 , "b":[true,false,null,{"c":"\u00e9\n"}],"d":-0.5e+3} `, nil, "a,b,d"},
		{`{"id":"x","date":"2025-01-01T00:00:00Z","message":"é 日本 🚀"}`, nil, "id,date,message"},
		{`[]`, ErrNotObject, ""},
		{`"s"`, ErrNotObject, ""},
		{`{"a":1,}`, ErrInvalidJSON, ""},
		{`{"a":01}`, ErrInvalidJSON, ""},
		{`{"a":1.}`, ErrInvalidJSON, ""},
		{`{"a":"\x"}`, ErrInvalidJSON, ""},
		{`{"a":"\u12g4"}`, ErrInvalidJSON, ""},
		{"{\"a\":\"\x01\"}", ErrInvalidJSON, ""},
		{"{\"a\":\"\xff\"}", ErrInvalidJSON, ""},
		{"{\"a\":\"\xed\xa0\x80\"}", ErrInvalidJSON, ""}, // UTF-8 encoded surrogate
		{`{"a":tru}`, ErrInvalidJSON, ""},
		{`{"a":1} x`, ErrInvalidJSON, ""},
		{`{"a":1`, ErrInvalidJSON, ""},
		{``, ErrInvalidJSON, ""},
		{strings.Repeat("[", 600) + strings.Repeat("]", 600), ErrInvalidJSON, ""},
	}
	for _, tt := range tests {
		var keys []string
		err := ScanObject([]byte(tt.in), func(m Member) { keys = append(keys, m.Name()) })
		if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
			t.Errorf("ScanObject(%q) = %v, want %v", tt.in, err, tt.want)
			continue
		}
		if tt.want == nil && strings.Join(keys, ",") != tt.keys {
			t.Errorf("ScanObject(%q) keys %v, want %s", tt.in, keys, tt.keys)
		}
	}
}

// FuzzScanObject: ScanObject accepts exactly what encoding/json and
// unicode/utf8 together accept as an object, and finds the same members.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"id":"a","n":[1,2.5e3,{"x":null}]}`, `{"a":"\ud83d\ude80"}`, "{\"a\":\"\xff\"}", `[1]`, `{"a":-}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		err := ScanObject(b, func(m Member) {
			n++
			if !json.Valid(m.Value) {
				t.Fatalf("member value %q is not valid JSON", m.Value)
			}
		})
		valid := json.Valid(b) && utf8.Valid(b)
		isObj := false
		var obj map[string]json.RawMessage
		if valid {
			isObj = json.Unmarshal(b, &obj) == nil && strings.HasPrefix(strings.TrimLeft(string(b), " \t\r\n"), "{")
		}
		switch {
		case valid && isObj && err != nil:
			t.Fatalf("ScanObject(%q) = %v, but it is a valid object", b, err)
		case !(valid && isObj) && err == nil:
			t.Fatalf("ScanObject(%q) accepted invalid input (json.Valid=%v)", b, valid)
		case valid && !isObj && err != nil && !errors.Is(err, ErrNotObject) && !strings.HasPrefix(strings.TrimLeft(string(b), " \t\r\n"), "{"):
			// Deep nesting beyond maxDepth is refused on purpose.
			if !strings.Contains(string(b), strings.Repeat("[", maxDepth)) && !strings.Contains(string(b), strings.Repeat("{", 10)) {
				t.Fatalf("ScanObject(%q) = %v for valid non-object JSON", b, err)
			}
		}
	})
}

func BenchmarkScanObject(b *testing.B) {
	line := []byte(`{"id":"0f3a9c1b2d4e5f60","applicationId":"app_dda1b0f2-19eb-48e4-8000-000000000000","commitId":"1b2c3d4e5f","deploymentId":"deployment_8f1e2d3c","instanceId":"5a6b7c8d-1111-2222-3333-444455556666","date":"2025-01-01T00:00:00.123Z","zone":"par","pid":4242,"facility":"user","severity":"info","priority":6,"version":"1","service":"bas.service","message":"GET /api/v1/items 200 12ms user=alice@example.com é"}`)
	b.Run("ScanObject", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		for range b.N {
			_ = ScanObject(line, func(Member) {})
		}
	})
	b.Run("json.Valid+utf8.Valid+NextMember", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		for range b.N {
			_ = utf8.Valid(line) && json.Valid(line)
			for _, i, ok := NextMember(line, 0); ok; _, i, ok = NextMember(line, i) {
			}
		}
	})
}
