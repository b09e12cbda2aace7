package kafka

import (
	"bytes"
	"encoding/json"
)

// scanFields sets vals[i] to the value of the top-level member names[i] of
// the JSON object raw, without decoding the rest: a string's content
// (unescaped), a number's or a boolean's text. A member that is absent,
// null, an object or an array gets nil; so does every member after the
// point where raw stops being valid JSON. When a name occurs twice, the
// last one wins, as in encoding/json. The values may share raw's memory.
func scanFields(raw []byte, names []string, vals [][]byte) {
	clear(vals)
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return
	}
	for i < len(raw) && raw[i] == '"' {
		kStart := i
		kEnd, kEsc := scanString(raw, i)
		if kEnd < 0 {
			return
		}
		key := raw[kStart+1 : kEnd-1]
		if kEsc {
			key = unquote(raw[kStart:kEnd]) // nil when invalid: matches no name
		}
		i = skipSpace(raw, kEnd)
		if i >= len(raw) || raw[i] != ':' {
			return
		}
		i = skipSpace(raw, i+1)
		if i >= len(raw) {
			return
		}
		var val []byte
		var vEnd int
		switch c := raw[i]; c {
		case '"':
			var esc bool
			vEnd, esc = scanString(raw, i)
			if vEnd < 0 {
				return
			}
			val = raw[i+1 : vEnd-1]
			if esc {
				val = unquote(raw[i:vEnd])
			}
		case '{', '[':
			vEnd = skipNested(raw, i)
		default:
			vEnd = scanScalar(raw, i)
			if s := raw[i:vEnd]; isScalar(s) {
				val = s
			}
		}
		if vEnd < 0 || vEnd == i {
			return
		}
		for j, n := range names {
			if string(key) == n {
				vals[j] = val
			}
		}
		i = skipSpace(raw, vEnd)
		if i >= len(raw) || raw[i] != ',' {
			return
		}
		i = skipSpace(raw, i+1)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index after the closing quote of the string that
// starts at b[i] (a '"'), and whether it holds escapes; -1 when unclosed.
func scanString(b []byte, i int) (int, bool) {
	esc := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			esc = true
			j++
		case '"':
			return j + 1, esc
		}
	}
	return -1, esc
}

// skipNested returns the index after the object or array that starts at
// b[i], or -1 when it is not closed.
func skipNested(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			end, _ := scanString(b, j)
			if end < 0 {
				return -1
			}
			j = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}

// scanScalar returns the index after the number or literal at b[i].
func scanScalar(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// isScalar reports whether s is a number, true or false (not null).
func isScalar(s []byte) bool {
	if bytes.Equal(s, []byte("true")) || bytes.Equal(s, []byte("false")) {
		return true
	}
	return len(s) > 0 && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') && json.Valid(s)
}

// unquote decodes the JSON string literal q (quotes included); nil when it
// is not valid.
func unquote(q []byte) []byte {
	var s string
	if json.Unmarshal(q, &s) != nil {
		return nil
	}
	return []byte(s)
}
