package event

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// members collects what NextMember finds in obj.
func members(obj []byte) map[string]string {
	got := map[string]string{}
	for m, i, ok := NextMember(obj, 0); ok; m, i, ok = NextMember(obj, i) {
		got[m.Name()] = string(m.Value)
	}
	return got
}

func TestNextMember(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string // name -> raw value
	}{
		{in: `{}`, want: map[string]string{}},
		{in: ` { "id" : "x1" , "n":12,"o":{"a":[1,"}"]},"t":true,"s":"a\"b"} `,
			want: map[string]string{"id": `"x1"`, "n": "12", "o": `{"a":[1,"}"]}`, "t": "true", "s": `"a\"b"`}},
		{in: `{"k\u0065y":null}`, want: map[string]string{"key": "null"}},
		{in: `[1,2]`, want: map[string]string{}},
		{in: `"str"`, want: map[string]string{}},
	}
	for _, tt := range tests {
		if got := members([]byte(tt.in)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzNextMember checks NextMember against encoding/json on every valid
// object: same keys, same values.
func FuzzNextMember(f *testing.F) {
	for _, s := range []string{`{}`, `{"id":"a","date":"2025-01-01T00:00:00.000Z","n":[1,{"x":"}"}]}`, `{"a\\"b":"\u00e9"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ref map[string]json.RawMessage
		// The source checks UTF-8 before NextMember ever sees a line.
		if !utf8.Valid(data) || !json.Valid(data) || json.Unmarshal(data, &ref) != nil {
			_ = members(data) // must not panic
			return
		}
		got := map[string]json.RawMessage{}
		for k, v := range members(data) {
			got[k] = json.RawMessage(v)
		}
		if len(got) != len(ref) {
			t.Fatalf("NextMember(%q) found %d keys, json %d", data, len(got), len(ref))
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
