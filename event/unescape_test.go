package event

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzAppendUnescaped compares the unescaper with encoding/json.
func FuzzAppendUnescaped(f *testing.F) {
	for _, s := range []string{`"" `, `"plain"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\ud83d\ude80"`, `"\ud83d x"`, `"\udc00"`, `"é\u2028"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		var want string
		// Events are valid UTF-8 (the source checks them), and the callers
		// pass a member's value: one string token, no white space around it.
		if !utf8.ValidString(tok) || json.Unmarshal([]byte(tok), &want) != nil ||
			tok[0] != '"' || tok[len(tok)-1] != '"' || strings.TrimSpace(tok) != tok {
			return
		}
		if got := string(AppendUnescaped(nil, []byte(tok))); got != want {
			t.Fatalf("AppendUnescaped(%q) = %q, want %q", tok, got, want)
		}
	})
}
