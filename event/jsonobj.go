package event

import (
	"bytes"
	"encoding/json"
)

// Member is one top-level member of a JSON object: the key's raw bytes
// (with quotes) and the value's raw bytes, both slices of the object.
type Member struct {
	Key   []byte
	Value []byte
}

// NextMember returns the top-level member of the JSON object obj that
// starts at or after index i (0 for the first), and the index after it;
// false when there is none left. It does not validate: obj must be a valid
// JSON object (ScanObject checks one while reading its members), and a
// non-object yields garbage or nothing. It allocates nothing:
//
//	for m, i, ok := event.NextMember(obj, 0); ok; m, i, ok = event.NextMember(obj, i) { … }
func NextMember(obj []byte, i int) (Member, int, bool) {
	if i == 0 {
		i = bytes.IndexByte(obj, '{') + 1
		if i == 0 {
			return Member{}, len(obj), false
		}
	}
	i = skipSpace(obj, i)
	if i < len(obj) && obj[i] == ',' {
		i = skipSpace(obj, i+1)
	}
	if i >= len(obj) || obj[i] != '"' {
		return Member{}, len(obj), false
	}
	kEnd := skipString(obj, i)
	j := skipSpace(obj, kEnd)
	if j >= len(obj) || obj[j] != ':' {
		return Member{}, len(obj), false
	}
	j = skipSpace(obj, j+1)
	vEnd := skipValue(obj, j)
	if vEnd <= j {
		return Member{}, len(obj), false
	}
	return Member{Key: obj[i:kEnd], Value: obj[j:vEnd]}, vEnd, true
}

// Name returns the member's key, unquoted. Keys with escapes are decoded.
func (m Member) Name() string { return unquote(m.Key) }

// StringValue returns the member's value as a string when it is a JSON
// string, and false otherwise.
func (m Member) StringValue() (string, bool) {
	if len(m.Value) < 2 || m.Value[0] != '"' {
		return "", false
	}
	return unquote(m.Value), true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'
// (len(b) when it is not closed). It jumps from quote to quote with
// bytes.IndexByte, several times faster than a byte loop on log lines.
func skipString(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return len(b)
		}
		j += k
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	default: // number, true, false, null
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j
			}
			j++
		}
		return j
	}
}

// unquote decodes a JSON string token (with quotes). It takes a fast path
// when there is no escape.
func unquote(tok []byte) string {
	if len(tok) < 2 {
		return ""
	}
	inner := tok[1 : len(tok)-1]
	escaped := false
	for _, c := range inner {
		if c == '\\' {
			escaped = true
			break
		}
	}
	if !escaped {
		return string(inner)
	}
	var s string
	if json.Unmarshal(tok, &s) != nil {
		return string(inner)
	}
	return s
}
