package syslog

import (
	"bytes"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/logship/logship/event"
)

// formatter turns events into RFC 5424 messages. It is read-only after
// construction; per-call memory lives in a lineFields.
type formatter struct {
	facility, severity int
	hostname           string
	appName            string     // fixed APP-NAME, or ""
	appFrom            [][]string // dotted paths, split
	sdid               string
	json               bool
	max                int // bound on one message, header included
}

func newFormatter(c *Config, hostname string) *formatter {
	f := &formatter{
		hostname: sanitize(hostname, 255),
		appName:  c.AppName,
		sdid:     c.SDID,
		json:     c.Format == FormatJSON,
		max:      c.EffectiveMaxMessageBytes(),
	}
	f.facility, _ = ParseFacility(c.Facility)
	f.severity, _ = ParseSeverity(c.Severity)
	if f.hostname == "" {
		f.hostname = "-"
	}
	for _, p := range c.AppNameFrom {
		f.appFrom = append(f.appFrom, strings.Split(p, "."))
	}
	return f
}

// lineFields holds the fields of one event that the header needs. Its
// slices point into the event's Raw or into unesc.
type lineFields struct {
	instanceID, deploymentID, appID []byte
	severity, priority, facility    []byte
	service, message                []byte
	hasMessage                      bool
	appTop                          [][]byte // per appFrom path, the raw value of its first segment
	unesc                           []byte
}

// read fills lf from the event's JSON object (which the source validated).
func (f *formatter) read(lf *lineFields, raw []byte) {
	lf.instanceID, lf.deploymentID, lf.appID = nil, nil, nil
	lf.severity, lf.priority, lf.facility = nil, nil, nil
	lf.service, lf.message, lf.hasMessage = nil, nil, false
	lf.unesc = lf.unesc[:0]
	if cap(lf.appTop) < len(f.appFrom) {
		lf.appTop = make([][]byte, len(f.appFrom))
	}
	lf.appTop = lf.appTop[:len(f.appFrom)]
	clear(lf.appTop)
	for m, i, ok := event.NextMember(raw, 0); ok; m, i, ok = event.NextMember(raw, i) {
		k := m.Key[1 : len(m.Key)-1]
		switch string(k) {
		case "instanceId":
			lf.instanceID = lf.scalar(m)
		case "deploymentId":
			lf.deploymentID = lf.scalar(m)
		case "applicationId":
			lf.appID = lf.scalar(m)
		case "severity":
			lf.severity = lf.scalar(m)
		case "priority":
			lf.priority = lf.scalar(m)
		case "facility":
			lf.facility = lf.scalar(m)
		case "service":
			lf.service = lf.scalar(m)
		case "message":
			lf.message = lf.scalar(m)
			lf.hasMessage = lf.message != nil
		}
		for j, p := range f.appFrom {
			if string(k) == p[0] {
				lf.appTop[j] = m.Value
			}
		}
	}
}

// scalar returns a member's value: a string's content (unescaped), a
// number's or boolean's text; nil for null, objects and arrays.
func (lf *lineFields) scalar(m event.Member) []byte {
	v := m.Value
	switch v[0] {
	case '"':
		inner := v[1 : len(v)-1]
		if bytes.IndexByte(inner, '\\') < 0 {
			return inner
		}
		start := len(lf.unesc)
		lf.unesc = event.AppendUnescaped(lf.unesc, v)
		return lf.unesc[start:len(lf.unesc):len(lf.unesc)]
	case '{', '[', 'n':
		return nil
	}
	return v
}

// appNameOf returns the APP-NAME source value of the line, or nil.
func (f *formatter) appNameOf(lf *lineFields, ev *event.Event) []byte {
	for j, p := range f.appFrom {
		v := lf.appTop[j]
		for _, seg := range p[1:] {
			if len(v) == 0 || v[0] != '{' {
				v = nil
				break
			}
			var next []byte
			for m, i, ok := event.NextMember(v, 0); ok; m, i, ok = event.NextMember(v, i) {
				if m.Name() == seg {
					next = m.Value
				}
			}
			v = next
		}
		if len(v) > 0 {
			if s := lf.scalar(event.Member{Value: v}); len(s) > 0 {
				return s
			}
		}
		// A pipeline.fields setting may have removed the field: the
		// source's application id stands in for it.
		if len(p) == 1 && p[0] == "applicationId" && ev.AppID != "" {
			return []byte(ev.AppID)
		}
	}
	return nil
}

// pri returns the message's PRI value.
func (f *formatter) pri(lf *lineFields) int {
	fac := f.facility
	if n, ok := lineCode(lf.facility, facilities, 23); ok {
		fac = n
	}
	sev := f.severity
	if n, ok := lineCode(lf.severity, severities, 7); ok {
		sev = n
	} else if lf.priority != nil {
		if n, err := strconv.Atoi(string(lf.priority)); err == nil && n >= 0 && n <= 191 {
			sev = n % 8
		}
	}
	return fac*8 + sev
}

// lineCode reads a facility or severity of the line: a number up to max,
// or a name of names (any case), without allocating for the usual ones.
func lineCode(v []byte, names map[string]int, max int) (int, bool) {
	if len(v) == 0 || len(v) > 16 {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		n := 0
		for _, c := range v {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, n <= max
	}
	if n, ok := names[string(v)]; ok {
		return n, true
	}
	var lower [16]byte
	for i, c := range v {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	n, ok := names[string(lower[:len(v)])]
	return n, ok
}

// format appends one RFC 5424 message for ev to dst, and reports whether
// MSG had to be cut to fit f.max.
func (f *formatter) format(dst []byte, ev *event.Event, lf *lineFields) ([]byte, bool) {
	f.read(lf, ev.Raw)
	start := len(dst)
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(f.pri(lf)), 10)
	dst = append(dst, ">1 "...)
	if ev.Date != 0 {
		dst = time.Unix(0, ev.Date).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z07:00")
	} else {
		dst = append(dst, '-')
	}
	dst = append(dst, ' ')
	dst = append(dst, f.hostname...)
	dst = append(dst, ' ')
	if f.appName != "" {
		dst = append(dst, f.appName...)
	} else {
		dst = appendHeaderField(dst, f.appNameOf(lf, ev), 48)
	}
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, lf.instanceID, 128)
	dst = append(dst, ' ')
	dst = appendHeaderField(dst, lf.service, 32)
	dst = append(dst, ' ', '[')
	dst = append(dst, f.sdid...)
	dst = appendParam(dst, "id", []byte(ev.ID))
	appID := lf.appID
	if appID == nil {
		appID = []byte(ev.AppID)
	}
	dst = appendParam(dst, "applicationId", appID)
	dst = appendParam(dst, "instanceId", lf.instanceID)
	dst = appendParam(dst, "deploymentId", lf.deploymentID)
	dst = append(dst, ']')

	var msg []byte
	switch {
	case f.json:
		msg = ev.Raw
	case lf.hasMessage:
		msg = lf.message
	default:
		return dst, false
	}
	room := f.max - (len(dst) - start) - 1
	if room <= 0 {
		return dst, len(msg) > 0
	}
	cut := false
	if len(msg) > room {
		msg, cut = cutUTF8(msg, room), true
	}
	dst = append(dst, ' ')
	return append(dst, msg...), cut
}

// appendHeaderField appends v as a header field: printable US-ASCII only
// (others become '_'), at most n bytes, "-" when empty.
func appendHeaderField(dst, v []byte, n int) []byte {
	if len(v) == 0 {
		return append(dst, '-')
	}
	if len(v) > n {
		v = v[:n]
	}
	for _, c := range v {
		if c < 33 || c > 126 {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendParam appends ` name="value"` with the value escaped as RFC 5424
// section 6.3.3 asks ('"', '\' and ']'); nothing for an empty value.
func appendParam(dst []byte, name string, v []byte) []byte {
	if len(v) == 0 {
		return dst
	}
	dst = append(dst, ' ')
	dst = append(dst, name...)
	dst = append(dst, '=', '"')
	for len(v) > 0 {
		r, size := utf8.DecodeRune(v)
		switch {
		case r == utf8.RuneError && size <= 1:
			dst = append(dst, "\uFFFD"...)
		case r == '"' || r == '\\' || r == ']':
			dst = append(dst, '\\', byte(r))
		default:
			dst = append(dst, v[:size]...)
		}
		v = v[size:]
	}
	return append(dst, '"')
}

// sanitize returns s as a header field (see appendHeaderField), "" for "".
func sanitize(s string, n int) string {
	if s == "" {
		return ""
	}
	return string(appendHeaderField(nil, []byte(s), n))
}

// cutUTF8 returns the longest prefix of b of at most n bytes that does not
// split a UTF-8 sequence.
func cutUTF8(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n]
}
