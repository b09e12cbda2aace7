package event

import "bytes"

// FieldReader reads the scalar values of chosen top-level fields of event
// JSON objects, without decoding the rest. Sinks use it to route and label
// events (index names, Loki labels, Kafka keys and topics).
//
// A FieldReader is not safe for concurrent use; its Values are valid until
// the next Read.
type FieldReader struct {
	names []string
	// Values[i] is the value of names[i] in the last object read: a
	// string's content (unescaped), a number's or boolean's text, or nil
	// when the field is absent, null, an object or an array.
	Values   [][]byte
	unescape []byte
}

// NewFieldReader returns a reader of the fields names (read-only, shared).
func NewFieldReader(names []string) *FieldReader {
	return &FieldReader{names: names, Values: make([][]byte, len(names))}
}

// Read fills Values from the JSON object obj. When obj is not a valid JSON
// object it returns an error, and the values found before the fault are
// kept. As in encoding/json, the last of duplicate keys wins.
func (f *FieldReader) Read(obj []byte) error {
	clear(f.Values)
	f.unescape = f.unescape[:0]
	if len(f.names) == 0 {
		return nil
	}
	return ScanObject(obj, func(m Member) {
		slot := -1
		k := m.Key[1 : len(m.Key)-1]
		if bytes.IndexByte(k, '\\') >= 0 {
			name := m.Name()
			k = []byte(name)
		}
		for i, n := range f.names {
			if string(k) == n {
				slot = i
				break
			}
		}
		if slot < 0 {
			return
		}
		f.Values[slot] = f.scalar(m.Value)
	})
}

// scalar returns the value as Values holds it.
func (f *FieldReader) scalar(v []byte) []byte {
	switch v[0] {
	case '"':
		inner := v[1 : len(v)-1]
		if bytes.IndexByte(inner, '\\') < 0 {
			return inner
		}
		start := len(f.unescape)
		f.unescape = AppendUnescaped(f.unescape, v)
		return f.unescape[start:len(f.unescape):len(f.unescape)]
	case '{', '[', 'n':
		return nil
	}
	return v
}
