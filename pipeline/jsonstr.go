package pipeline

import (
	"bytes"
	"sync"

	"github.com/logship/logship/event"
)

// keyIs reports whether member m's key is name, without allocating for
// keys that hold no escape (the API never escapes its keys).
func keyIs(m event.Member, name string) bool {
	k := m.Key
	if len(k) == len(name)+2 && string(k[1:len(k)-1]) == name {
		return true
	}
	return bytes.IndexByte(k, '\\') >= 0 && m.Name() == name
}

// keyName returns member m's key unquoted, as a slice of m.Key when it
// holds no escape (no allocation), decoded otherwise.
func keyName(m event.Member) []byte {
	k := m.Key
	if bytes.IndexByte(k, '\\') < 0 {
		return k[1 : len(k)-1]
	}
	return []byte(m.Name())
}

// stringText returns the text of a JSON value: a string's content
// unescaped (a slice of v itself when it holds no escape, else appended to
// *scratch), or any other value's JSON as it is.
func stringText(v []byte, scratch *[]byte) []byte {
	if len(v) < 2 || v[0] != '"' {
		return v
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner
	}
	*scratch = event.AppendUnescaped((*scratch)[:0], v)
	return *scratch
}

// scratchPool holds buffers for unescaped message text.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
