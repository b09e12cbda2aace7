package event

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "ctl\x00\x1f\n\r\t", "ünicode ☃ 𝄞", "bad \xff\xfe utf8", "\u2028"} {
		checkJSONString(t, s)
	}
}

func checkJSONString(t *testing.T, s string) {
	t.Helper()
	enc := AppendString(nil, s)
	if !json.Valid(enc) {
		t.Fatalf("AppendString(%q) = %s: not valid JSON", s, enc)
	}
	var back string
	if err := json.Unmarshal(enc, &back); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(s) // encoding/json's view, with U+FFFD for bad bytes
	var wantBack string
	_ = json.Unmarshal(want, &wantBack)
	if back != wantBack {
		t.Fatalf("AppendString(%q) decodes to %q, want %q", s, back, wantBack)
	}
	if b := AppendString(nil, []byte(s)); !bytes.Equal(b, enc) {
		t.Fatalf("string and []byte forms differ: %s, %s", enc, b)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a\"b\\c\n\x00é\xff")
	f.Fuzz(func(t *testing.T, s string) { checkJSONString(t, s) })
}
