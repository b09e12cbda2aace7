package event

import "bytes"

// Member is one top-level member of a JSON object: the key's raw bytes
// (with quotes) and the value's raw bytes, both slices of the object.
type Member struct {
	Key   []byte
	Value []byte
}

// NextMember returns the top-level member of the JSON object obj that
// starts at or after index i (0 for the first), and the index after it;
// false when there is none left. It reads members with ScanObject's
// scanner, so it stops at the first fault of an invalid object (obj should
// be a valid one: ScanObject checks one while reading its members). It
// allocates nothing:
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
	kEnd, err := scanString(obj, i)
	if err != nil {
		return Member{}, len(obj), false
	}
	j := skipSpace(obj, kEnd)
	if j >= len(obj) || obj[j] != ':' {
		return Member{}, len(obj), false
	}
	j = skipSpace(obj, j+1)
	vEnd, err := scanValue(obj, j, 1)
	if err != nil {
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

// unquote decodes a JSON string token (with quotes), with AppendUnescaped.
func unquote(tok []byte) string {
	if len(tok) < 2 {
		return ""
	}
	if bytes.IndexByte(tok, '\\') < 0 {
		return string(tok[1 : len(tok)-1])
	}
	return string(AppendUnescaped(nil, tok))
}
