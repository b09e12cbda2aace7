package kafka

import (
	"slices"

	"github.com/logship/logship/event"
)

// template is a parsed topic or key template (event.ParseTemplate
// syntax, no dates): literals and `{field}` / `{field:-default}`.
type template struct {
	parts []event.TemplatePart
	// slot[i] is, for a field part, the index of its field in the sink's
	// field list (the values an event.FieldReader reads); -1 for a literal.
	slot []int
}

// compileTemplate parses s and adds the fields it reads to *fields.
func compileTemplate(s string, fields *[]string) (*template, error) {
	parts, err := event.ParseTemplate(s, false)
	if err != nil {
		return nil, err
	}
	t := &template{parts: parts, slot: make([]int, len(parts))}
	for i, p := range parts {
		t.slot[i] = -1
		if p.Field == "" {
			continue
		}
		j := slices.Index(*fields, p.Field)
		if j < 0 {
			j = len(*fields)
			*fields = append(*fields, p.Field)
		}
		t.slot[i] = j
	}
	return t, nil
}

// render appends the template, filled from vals (the values of the sink's
// fields, nil when absent), to dst. It reports false when a field is empty
// and has no default.
func (t *template) render(dst []byte, vals [][]byte) ([]byte, bool) {
	for i, p := range t.parts {
		if t.slot[i] < 0 {
			dst = append(dst, p.Literal...)
			continue
		}
		v := vals[t.slot[i]]
		switch {
		case len(v) > 0:
			dst = append(dst, v...)
		case p.Default != "":
			dst = append(dst, p.Default...)
		default:
			return dst, false
		}
	}
	return dst, true
}
