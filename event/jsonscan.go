package event

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"unicode/utf8"
)

// ErrInvalidJSON reports bytes that are not one JSON value in valid UTF-8.
var ErrInvalidJSON = errors.New("invalid JSON")

// ErrNotObject reports valid JSON that is not an object.
var ErrNotObject = errors.New("not a JSON object")

// maxDepth bounds nesting, so that hostile input cannot exhaust the stack.
const maxDepth = 512

// ScanObject checks that b is exactly one JSON object (RFC 8259, optional
// surrounding white space) whose strings are valid UTF-8, and calls fn with
// each top-level member, in order. It is one pass over b, without
// allocation; it replaces json.Valid + utf8.Valid + a member scan on the hot
// path. fn may be nil. The members passed to fn are valid JSON.
func ScanObject(b []byte, fn func(Member)) error {
	i := skipSpace(b, 0)
	if i >= len(b) {
		return ErrInvalidJSON
	}
	if b[i] != '{' {
		end, err := scanValue(b, i, 0)
		if err != nil {
			return err
		}
		if skipSpace(b, end) != len(b) {
			return ErrInvalidJSON
		}
		return ErrNotObject
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		if skipSpace(b, i+1) != len(b) {
			return ErrInvalidJSON
		}
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return ErrInvalidJSON
		}
		kEnd, err := scanString(b, i)
		if err != nil {
			return err
		}
		j := skipSpace(b, kEnd)
		if j >= len(b) || b[j] != ':' {
			return ErrInvalidJSON
		}
		j = skipSpace(b, j+1)
		vEnd, err := scanValue(b, j, 1)
		if err != nil {
			return err
		}
		if fn != nil {
			fn(Member{Key: b[i:kEnd], Value: b[j:vEnd]})
		}
		i = skipSpace(b, vEnd)
		if i >= len(b) {
			return ErrInvalidJSON
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			if skipSpace(b, i+1) != len(b) {
				return ErrInvalidJSON
			}
			return nil
		default:
			return ErrInvalidJSON
		}
	}
}

// scanValue returns the index after the JSON value at b[i].
func scanValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, ErrInvalidJSON
	}
	switch c := b[i]; {
	case c == '"':
		return scanString(b, i)
	case c == '{':
		return scanContainer(b, i, depth, '}')
	case c == '[':
		return scanContainer(b, i, depth, ']')
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	}
	return 0, ErrInvalidJSON
}

// scanContainer scans an object or an array starting at b[i].
func scanContainer(b []byte, i, depth int, closer byte) (int, error) {
	if depth >= maxDepth {
		return 0, ErrInvalidJSON
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1, nil
	}
	for {
		var err error
		if closer == '}' {
			if i >= len(b) || b[i] != '"' {
				return 0, ErrInvalidJSON
			}
			if i, err = scanString(b, i); err != nil {
				return 0, err
			}
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return 0, ErrInvalidJSON
			}
			i = skipSpace(b, i+1)
		}
		if i, err = scanValue(b, i, depth+1); err != nil {
			return 0, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return 0, ErrInvalidJSON
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case closer:
			return i + 1, nil
		default:
			return 0, ErrInvalidJSON
		}
	}
}

// plain marks the bytes a string may hold as they are: printable ASCII but
// '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Masks of the word-at-a-time test in scanString.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// specials marks, in the 8 bytes of x (little-endian), those that are not
// plain: below 0x20, '"', '\\', or with the high bit set. Each
// (v - lsb) & ^v & msb is the classic "has a zero byte" test; it may also
// mark bytes after a marked one, so only its lowest mark is exact, and
// that is the one scanString uses.
func specials(x uint64) uint64 {
	q := x ^ (lsb * '"')
	s := x ^ (lsb * '\\')
	return ((x-lsb*0x20)&^x | (q-lsb)&^q | (s-lsb)&^s | x) & msb
}

// scanString returns the index after the string starting at b[i] == '"'.
// It jumps over plain text eight bytes at a time, to the first byte that
// needs a look.
func scanString(b []byte, i int) (int, error) {
	i++
	for i < len(b) {
		if i+8 <= len(b) {
			m := specials(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		c := b[i]
		if plain[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return 0, ErrInvalidJSON
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return 0, ErrInvalidJSON
				}
				i += 6
			default:
				return 0, ErrInvalidJSON
			}
		case c < 0x20:
			return 0, ErrInvalidJSON
		default: // c >= 0x80: a multi-byte UTF-8 sequence
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 {
				return 0, ErrInvalidJSON
			}
			i += size
		}
	}
	return 0, ErrInvalidJSON
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// scanNumber returns the index after the number at b[i].
func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, ErrInvalidJSON
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return 0, ErrInvalidJSON
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return 0, ErrInvalidJSON
		}
	}
	return i, nil
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, ErrInvalidJSON
	}
	return i + len(lit), nil
}
