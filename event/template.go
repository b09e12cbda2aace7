package event

import (
	"errors"
	"strings"
)

// TemplatePart is one piece of a parsed template: a literal, a field, or a
// date directive. Exactly one of Literal, Field and Date is set.
type TemplatePart struct {
	Literal string
	// Field is the name of a top-level field of the event's JSON object;
	// Default replaces it when the field is absent or empty.
	Field   string
	Default string
	// Date is a strftime letter applied to the event's date in UTC: Y
	// (year), m (month), d (day), H (hour).
	Date byte
}

// ParseTemplate parses a template that the sinks fill from an event (an
// index name, a label, a topic, a key):
//
//   - `{name}` is the value of the event's top-level field `name` (string,
//     number or boolean; absent, null or nested values count as empty);
//   - `{name:-default}` is the same, or `default` when that is empty;
//   - when dates is true, `%Y`, `%m`, `%d` and `%H` are the year, month, day
//     and hour of the event's date in UTC, and `%%` is a `%`; otherwise `%`
//     is a literal character;
//   - anything else is literal.
//
// For example `logs-{applicationId}-%Y.%m.%d`. Errors never quote the
// template (it comes from a configuration, where values may be secrets).
func ParseTemplate(s string, dates bool) ([]TemplatePart, error) {
	var parts []TemplatePart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, TemplatePart{Literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '{':
			end := strings.IndexByte(s[i+1:], '}')
			if end < 0 {
				return nil, errors.New("unclosed '{'")
			}
			inner := s[i+1 : i+1+end]
			name, def, _ := strings.Cut(inner, ":-")
			if name == "" || strings.ContainsAny(name, "{%") {
				return nil, errors.New("bad field name between '{' and '}'")
			}
			flush()
			parts = append(parts, TemplatePart{Field: name, Default: def})
			i += end + 1
		case c == '}':
			return nil, errors.New("'}' without '{'")
		case c == '%' && dates:
			if i+1 >= len(s) {
				return nil, errors.New("'%' at the end")
			}
			i++
			switch d := s[i]; d {
			case '%':
				lit.WriteByte('%')
			case 'Y', 'm', 'd', 'H':
				flush()
				parts = append(parts, TemplatePart{Date: d})
			default:
				return nil, errors.New("unknown date directive (use %Y, %m, %d, %H or %%)")
			}
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return parts, nil
}
