package httpsink

import (
	"encoding/json"
	"errors"
)

var errBadJSON = errors.New("malformed JSON object")

// fieldScanner reads selected top-level fields of an event's JSON object
// without decoding the rest. It is not safe for concurrent use; each Write
// takes one from a pool.
type fieldScanner struct {
	names []string // shared, read-only
	// vals[i] is the value of names[i] in the last scanned object: a string's
	// content (unescaped), a number or boolean literal, or nil when the field
	// is absent, null, an object or an array. It may point into the scanned
	// object or into unescaped.
	vals     [][]byte
	unescape []byte
}

func newFieldScanner(names []string) *fieldScanner {
	return &fieldScanner{names: names, vals: make([][]byte, len(names))}
}

// scan fills f.vals from the JSON object raw. On malformed input it returns
// an error; the values found before the fault are kept, the others are nil.
// As encoding/json does, the last of duplicate keys wins.
func (f *fieldScanner) scan(raw []byte) error {
	clear(f.vals)
	f.unescape = f.unescape[:0]
	if len(f.names) == 0 {
		return nil
	}
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return errBadJSON
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return nil
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return errBadJSON
		}
		kEnd, kEsc, err := stringEnd(raw, i)
		if err != nil {
			return err
		}
		key := raw[i+1 : kEnd]
		i = skipSpace(raw, kEnd+1)
		if i >= len(raw) || raw[i] != ':' {
			return errBadJSON
		}
		i = skipSpace(raw, i+1)
		slot := f.slot(key, kEsc)
		vEnd, err := f.value(raw, i, slot)
		if err != nil {
			return err
		}
		i = skipSpace(raw, vEnd)
		if i >= len(raw) {
			return errBadJSON
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return nil
		default:
			return errBadJSON
		}
	}
}

// slot returns the index in names of key (a JSON string's raw content), or -1.
func (f *fieldScanner) slot(key []byte, escaped bool) int {
	if escaped {
		var s string
		q := make([]byte, 0, len(key)+2)
		q = append(append(append(q, '"'), key...), '"')
		if json.Unmarshal(q, &s) != nil {
			return -1
		}
		key = []byte(s)
	}
	for j, n := range f.names {
		if string(key) == n {
			return j
		}
	}
	return -1
}

// value skips the JSON value at raw[i:] and returns the index after it. When
// slot >= 0 it stores the value (see vals) there.
func (f *fieldScanner) value(raw []byte, i, slot int) (int, error) {
	if i >= len(raw) {
		return 0, errBadJSON
	}
	switch c := raw[i]; {
	case c == '"':
		end, esc, err := stringEnd(raw, i)
		if err != nil {
			return 0, err
		}
		if slot >= 0 {
			f.vals[slot] = nil
			if !esc {
				f.vals[slot] = raw[i+1 : end]
			} else {
				var s string
				if json.Unmarshal(raw[i:end+1], &s) != nil {
					return 0, errBadJSON
				}
				start := len(f.unescape)
				f.unescape = append(f.unescape, s...)
				f.vals[slot] = f.unescape[start:len(f.unescape):len(f.unescape)]
			}
		}
		return end + 1, nil
	case c == '{' || c == '[':
		end, err := skipNested(raw, i)
		if err != nil {
			return 0, err
		}
		if slot >= 0 {
			f.vals[slot] = nil
		}
		return end, nil
	default:
		j := i
		for j < len(raw) && isLiteralByte(raw[j]) {
			j++
		}
		lit := raw[i:j]
		if !json.Valid(lit) {
			return 0, errBadJSON
		}
		if slot >= 0 {
			f.vals[slot] = nil
			if string(lit) != "null" {
				f.vals[slot] = lit
			}
		}
		return j, nil
	}
}

func isLiteralByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E'
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index of the closing quote of the string that opens
// at raw[i], and whether it holds escapes.
func stringEnd(raw []byte, i int) (int, bool, error) {
	esc := false
	for j := i + 1; j < len(raw); j++ {
		switch c := raw[j]; {
		case c == '"':
			return j, esc, nil
		case c == '\\':
			esc = true
			j++
		case c < 0x20:
			return 0, false, errBadJSON
		}
	}
	return 0, false, errBadJSON
}

// skipNested returns the index after the object or array that opens at
// raw[i]. It checks nesting and strings, not the full grammar.
func skipNested(raw []byte, i int) (int, error) {
	depth := 0
	for j := i; j < len(raw); j++ {
		switch raw[j] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		case '"':
			end, _, err := stringEnd(raw, j)
			if err != nil {
				return 0, err
			}
			j = end
		}
	}
	return 0, errBadJSON
}
