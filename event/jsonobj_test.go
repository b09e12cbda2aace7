package event

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

func TestEachMember(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string // name -> raw value
		err  bool
	}{
		{in: `{}`, want: map[string]string{}},
		{in: ` { "id" : "x1" , "n":12,"o":{"a":[1,"}"]},"t":true,"s":"a\"b"} `,
			want: map[string]string{"id": `"x1"`, "n": "12", "o": `{"a":[1,"}"]}`, "t": "true", "s": `"a\"b"`}},
		{in: `{"k\u0065y":null}`, want: map[string]string{"key": "null"}},
		{in: `[1,2]`, err: true},
		{in: `"str"`, err: true},
	}
	for _, tt := range tests {
		got := map[string]string{}
		err := EachMember([]byte(tt.in), func(m Member) bool {
			got[m.Name()] = string(m.Value)
			return true
		})
		if (err != nil) != tt.err {
			t.Fatalf("%s: err = %v", tt.in, err)
		}
		if !tt.err && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzEachMember checks EachMember against encoding/json on every valid
// object: same keys, same values.
func FuzzEachMember(f *testing.F) {
	for _, s := range []string{`{}`, `{"id":"a","date":"2025-01-01T00:00:00.000Z","n":[1,{"x":"}"}]}`, `{"a\\"b":"\u00e9"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ref map[string]json.RawMessage
		// The source checks UTF-8 before EachMember ever sees a line.
		if !utf8.Valid(data) || !json.Valid(data) || json.Unmarshal(data, &ref) != nil {
			_ = EachMember(data, func(Member) bool { return true }) // must not panic
			return
		}
		got := map[string]json.RawMessage{}
		if err := EachMember(data, func(m Member) bool {
			got[m.Name()] = json.RawMessage(m.Value)
			return true
		}); err != nil {
			t.Fatalf("EachMember(%q): %v", data, err)
		}
		if len(got) != len(ref) {
			t.Fatalf("EachMember(%q) found %d keys, json %d", data, len(got), len(ref))
		}
		for k, v := range ref {
			var a, b any
			_ = json.Unmarshal(v, &a)
			if err := json.Unmarshal(got[k], &b); err != nil || !reflect.DeepEqual(a, b) {
				t.Fatalf("key %q: got %s, want %s", k, got[k], v)
			}
		}
	})
}
