package httpsink

import (
	"bytes"

	"github.com/logship/logship/event"
)

// line holds the raw JSON values of the well-known fields of one Clever
// Cloud log line (slices of the event's Raw; nil when absent), for the
// vendor encodings.
type line struct {
	message, severity, priority             []byte
	appID, instanceID, deploymentID, commit []byte
	zone, appName, enrich                   []byte
}

// readLine fills l from raw, a JSON object (validated by the source).
func readLine(l *line, raw []byte) {
	*l = line{}
	for m, i, ok := event.NextMember(raw, 0); ok; m, i, ok = event.NextMember(raw, i) {
		switch string(m.Key[1 : len(m.Key)-1]) {
		case "message":
			l.message = m.Value
		case "severity":
			l.severity = m.Value
		case "priority":
			l.priority = m.Value
		case "applicationId":
			l.appID = m.Value
		case "instanceId":
			l.instanceID = m.Value
		case "deploymentId":
			l.deploymentID = m.Value
		case "commitId":
			l.commit = m.Value
		case "zone":
			l.zone = m.Value
		case "applicationName":
			l.appName = m.Value
		case enrichKey:
			l.enrich = m.Value
		}
	}
}

// enrichKey is the key under which logship's enrichment adds the
// application's name (`clevercloud.application.name`).
const enrichKey = "clevercloud"

// isString reports whether v is a JSON string value.
func isString(v []byte) bool { return len(v) >= 2 && v[0] == '"' }

// nonEmptyString reports whether v is a JSON string other than "".
func nonEmptyString(v []byte) bool { return isString(v) && len(v) > 2 }

// appNameValue returns the raw JSON string that names the application:
// clevercloud.application.name (enrichment), else applicationName, else
// applicationId; nil when there is none (the caller then uses the source's
// application id).
func (l *line) appNameValue() []byte {
	if v := nested(l.enrich, "application", "name"); nonEmptyString(v) {
		return v
	}
	if nonEmptyString(l.appName) {
		return l.appName
	}
	if nonEmptyString(l.appID) {
		return l.appID
	}
	return nil
}

// nested returns the raw value at path inside the JSON object obj, or nil.
func nested(obj []byte, path ...string) []byte {
	for _, key := range path {
		if len(obj) == 0 || obj[0] != '{' {
			return nil
		}
		var next []byte
		for m, i, ok := event.NextMember(obj, 0); ok; m, i, ok = event.NextMember(obj, i) {
			k := m.Key[1 : len(m.Key)-1]
			if string(k) == key || (bytes.IndexByte(k, '\\') >= 0 && m.Name() == key) {
				next = m.Value
			}
		}
		obj = next
	}
	return obj
}

// appendUnquoted appends the content of the JSON string v (unescaped), or
// v itself when it is another value (a number, a boolean).
func appendUnquoted(dst, v []byte) []byte {
	if !isString(v) {
		return append(dst, v...)
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return append(dst, inner...)
	}
	return event.AppendUnescaped(dst, v)
}

// severityNames maps the usual severity words (lower case) to the OTLP
// severity number.
var severityNames = map[string]int32{
	"trace": 1, "debug": 5, "info": 9, "informational": 9, "information": 9, "notice": 10,
	"warn": 13, "warning": 13, "err": 17, "error": 17, "crit": 18, "critical": 18,
	"alert": 19, "emerg": 21, "emergency": 21, "fatal": 21, "panic": 21,
}

// syslogSeverityNumber maps a syslog severity (0–7) to the OTLP number.
var syslogSeverityNumber = [8]int32{21, 19, 18, 17, 13, 10, 9, 5}

// severityNumber returns the OTLP severity number of the line (0 when
// unknown), from `severity` (a word) or `priority` (a syslog number).
func (l *line) severityNumber(tmp []byte) int32 {
	if isString(l.severity) && len(l.severity) < 20 {
		w := appendUnquoted(tmp[:0], l.severity)
		for i, c := range w {
			if c >= 'A' && c <= 'Z' {
				w[i] = c + 'a' - 'A'
			}
		}
		if n, ok := severityNames[string(w)]; ok {
			return n
		}
	}
	if len(l.priority) > 0 && l.priority[0] >= '0' && l.priority[0] <= '9' {
		n := 0
		for _, c := range l.priority {
			if c < '0' || c > '9' || n > 1000 {
				return 0
			}
			n = n*10 + int(c-'0')
		}
		if n <= 191 {
			return syslogSeverityNumber[n%8]
		}
	}
	return 0
}
