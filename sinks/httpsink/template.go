package httpsink

import (
	"bytes"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/logship/logship/event"
)

// template is a compiled config template (see event.ParseTemplate):
// an Elasticsearch index name or a Loki label value. It is read-only once
// compiled and safe for concurrent use.
type template struct {
	parts []part
	// constant is the value when the template has no field and no date.
	constant string
	isConst  bool
}

type part struct {
	event.TemplatePart
	field int // index of Field in the sink's field list
}

// compileTemplate parses s and registers its fields in *fields (the list a
// event.FieldReader fills).
func compileTemplate(s string, dates bool, fields *[]string) (*template, error) {
	parsed, err := event.ParseTemplate(s, dates)
	if err != nil {
		return nil, err
	}
	t := &template{isConst: true}
	for _, p := range parsed {
		cp := part{TemplatePart: p, field: -1}
		if p.Field != "" {
			cp.field = slices.Index(*fields, p.Field)
			if cp.field < 0 {
				cp.field = len(*fields)
				*fields = append(*fields, p.Field)
			}
		}
		if p.Literal == "" {
			t.isConst = false
		}
		t.constant += p.Literal
		t.parts = append(t.parts, cp)
	}
	return t, nil
}

// appFieldName is the event field that falls back to Event.AppID when a
// pipeline stage removed it.
const appFieldName = "applicationId"

// render appends the template's value for ev to dst; vals are the event's
// field values as an event.FieldReader found them.
func (t *template) render(dst []byte, ev *event.Event, vals [][]byte) []byte {
	if t.isConst {
		return append(dst, t.constant...)
	}
	var tm time.Time
	for _, p := range t.parts {
		switch {
		case p.Literal != "":
			dst = append(dst, p.Literal...)
		case p.Field != "":
			v := vals[p.field]
			switch {
			case len(v) > 0:
				dst = append(dst, v...)
			case p.Default != "":
				dst = append(dst, p.Default...)
			case p.Field == appFieldName:
				dst = append(dst, ev.AppID...)
			}
		default:
			if tm.IsZero() {
				tm = ev.Time()
			}
			switch p.Date {
			case 'Y':
				dst = appendPadded(dst, tm.Year(), 4)
			case 'm':
				dst = appendPadded(dst, int(tm.Month()), 2)
			case 'd':
				dst = appendPadded(dst, tm.Day(), 2)
			case 'H':
				dst = appendPadded(dst, tm.Hour(), 2)
			}
		}
	}
	return dst
}

func appendPadded(dst []byte, n, width int) []byte {
	for p, w := 1, 1; w < width; w++ {
		p *= 10
		if n < p {
			dst = append(dst, '0')
		}
	}
	return strconv.AppendInt(dst, int64(n), 10)
}

// lowerASCII lower-cases b in place when it is ASCII, else returns a
// lower-cased copy.
func lowerASCII(b []byte) []byte {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return bytes.ToLower(b)
		}
	}
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}
