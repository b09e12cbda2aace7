package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"unicode/utf8"
)

func TestFieldReader(t *testing.T) {
	names := []string{"applicationId", "zone", "pid"}
	tests := []struct {
		raw  string
		want []string // "<nil>" for absent
	}{
		{`{"applicationId":"app_1","zone":"par","pid":42}`, []string{"app_1", "par", "42"}},
		{` { "zone" : "rbx" , "message":"a \"quoted\" {x}", "applicationId" : "app_2" } `, []string{"app_2", "rbx", "<nil>"}},
		{`{"nested":{"zone":"no","a":[1,{"b":"}"}]},"zone":"yes"}`, []string{"<nil>", "yes", "<nil>"}},
		{`{"applicationId":"a\u005fb\/c","zone":null,"pid":true}`, []string{"a_b/c", "<nil>", "true"}},
		{`{"zone":"first","zone":"last"}`, []string{"<nil>", "last", "<nil>"}},
		{`{"zone":"é\n"}`, []string{"<nil>", "é\n", "<nil>"}},
		{`{"zone":["par"],"pid":-1.5e3}`, []string{"<nil>", "<nil>", "-1.5e3"}},
		{`{"zo\u006ee":"escaped key"}`, []string{"<nil>", "escaped key", "<nil>"}},
		{`{"zone":"par"`, []string{"<nil>", "par", "<nil>"}},          // cut: what came before counts
		{`{"zone":"par" "pid":1}`, []string{"<nil>", "par", "<nil>"}}, // invalid after zone
		{`{"zone":"unclosed`, []string{"<nil>", "<nil>", "<nil>"}},
		{`["zone","par"]`, []string{"<nil>", "<nil>", "<nil>"}},
		{`{}`, []string{"<nil>", "<nil>", "<nil>"}},
		{``, []string{"<nil>", "<nil>", "<nil>"}},
		{`{"pid":12abc}`, []string{"<nil>", "<nil>", "12"}}, // cut after a valid number
	}
	r := NewFieldReader(names)
	for _, tt := range tests {
		_ = r.Read([]byte(tt.raw))
		for i, v := range r.Values {
			got := string(v)
			if v == nil {
				got = "<nil>"
			}
			if got != tt.want[i] {
				t.Errorf("%s: %s = %q, want %q", tt.raw, names[i], got, tt.want[i])
			}
		}
	}
}

func BenchmarkFieldReader(b *testing.B) {
	raw := []byte(`{"id":"0f3a","applicationId":"app_1","date":"2025-01-01T00:00:00.123Z","zone":"par","message":"hello"}`)
	r := NewFieldReader([]string{"applicationId"})
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Read(raw)
	}
}

// FuzzFieldReader: Read never panics, and on a valid object it finds
// what encoding/json finds.
func FuzzFieldReader(f *testing.F) {
	for _, s := range []string{
		`{"a":"x","b":1,"c":true}`, `{"a":{"b":"c"},"b":[1,"]"]}`, `{"a":"\u00e9\"","b":null}`,
		`{"a":1e5,"a":"dup"}`, `{`, `{"a":`, `"a"`, `{"a":"b",}`, `{"\u0061":"k"}`,
	} {
		f.Add([]byte(s))
	}
	names := []string{"a", "b", "c"}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := NewFieldReader(names)
		_ = r.Read(raw)
		vals := r.Values
		if !json.Valid(raw) || !utf8.Valid(raw) {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var obj map[string]any
		if dec.Decode(&obj) != nil {
			return // not an object
		}
		for i, n := range names {
			var want []byte
			switch v := obj[n].(type) {
			case string:
				want = []byte(v)
			case json.Number:
				want = []byte(v)
			case bool:
				want = []byte(fmt.Sprint(v))
			}
			if !bytes.Equal(vals[i], want) {
				t.Fatalf("%s: %s = %q, encoding/json says %q", raw, n, vals[i], want)
			}
		}
	})
}
