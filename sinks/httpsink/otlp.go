package httpsink

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/logship/logship/event"
)

// otlpEncoder writes OTLP/HTTP logs: an ExportLogsServiceRequest, in
// protobuf (written by hand with protowire, checked against the official
// generated types in the tests) or in OTLP's JSON mapping.
//
// Events are grouped into one ResourceLogs per resource (application,
// instance, zone, deployment, commit), in order of first appearance, each
// with one ScopeLogs (scope "logship"). A record carries the line's date
// (time_unix_nano), the time of encoding (observed_time_unix_nano), its
// severity (number and text), its message as the body, and as attributes
// the line id (log.record.uid) and every other field of the line that the
// resource does not hold (objects flattened with dotted keys).
type otlpEncoder struct {
	json         bool
	extra        [][2]string // resource attributes from the config, sorted
	scopeVersion string
	now          func() time.Time
}

func newOTLPEncoder(cfg OTLPConfig, userAgent string) *otlpEncoder {
	e := &otlpEncoder{json: cfg.Protocol == "json", now: time.Now}
	for _, k := range slices.Sorted(maps.Keys(cfg.ResourceAttributes)) {
		e.extra = append(e.extra, [2]string{k, cfg.ResourceAttributes[k]})
	}
	if _, v, ok := strings.Cut(userAgent, "/"); ok {
		e.scopeVersion = v
	}
	return e
}

func (e *otlpEncoder) contentType() string {
	if e.json {
		return "application/json"
	}
	return "application/x-protobuf"
}

func (e *otlpEncoder) fields() []string { return nil }

// Resource attribute names (OpenTelemetry semantic conventions, and one of
// logship's own for the application id).
const (
	attrServiceName     = "service.name"
	attrServiceInstance = "service.instance.id"
	attrCloudProvider   = "cloud.provider"
	attrCloudRegion     = "cloud.region"
	attrDeploymentID    = "deployment.id"
	attrCommit          = "vcs.ref.head.revision"
	attrAppID           = "clevercloud.application.id"
	attrRecordUID       = "log.record.uid"
	cloudProvider       = "clever_cloud"
)

// recordSkip are the line's fields that are not record attributes: the
// resource holds them, or the record itself (id, date, message, severity).
func recordSkip(k []byte) bool {
	switch string(k) {
	case "id", "date", "message", "severity", "applicationId", "instanceId", "deploymentId", "commitId", "zone":
		return true
	}
	return false
}

// otlpState is one Write's memory.
type otlpState struct {
	index  map[string]int
	groups []otlpGroup
	key    []byte
	vals   [6][]byte // resource values of the current event (unescaped)
	rec    []byte
	av     []byte
	tmp    []byte
	path   []byte
}

type otlpGroup struct {
	res  []byte // the encoded Resource (protobuf message, or JSON object)
	recs []byte // the encoded records (protobuf: tagged; JSON: comma-joined)
	n    int
}

func (e *otlpEncoder) encode(dst []byte, evs []event.Event, sc *scratch) []byte {
	st := &sc.otlp
	if st.index == nil {
		st.index = make(map[string]int)
	}
	clear(st.index)
	st.groups = st.groups[:0]
	observed := uint64(e.now().UnixNano())
	var l line
	for i := range evs {
		ev := &evs[i]
		readLine(&l, ev.Raw)
		// Resource values: service.name, service.instance.id, cloud.region,
		// deployment.id, commit, application id.
		name := l.appNameValue()
		st.vals[0] = appendUnquoted(st.vals[0][:0], name)
		if name == nil {
			st.vals[0] = append(st.vals[0], ev.AppID...)
		}
		st.vals[1] = appendUnquoted(st.vals[1][:0], l.instanceID)
		st.vals[2] = appendUnquoted(st.vals[2][:0], l.zone)
		st.vals[3] = appendUnquoted(st.vals[3][:0], l.deploymentID)
		st.vals[4] = appendUnquoted(st.vals[4][:0], l.commit)
		st.vals[5] = appendUnquoted(st.vals[5][:0], l.appID)
		if l.appID == nil {
			st.vals[5] = append(st.vals[5], ev.AppID...)
		}
		st.key = st.key[:0]
		for _, v := range st.vals {
			st.key = binary.AppendUvarint(st.key, uint64(len(v)))
			st.key = append(st.key, v...)
		}
		gi, ok := st.index[string(st.key)]
		if !ok {
			gi = len(st.groups)
			st.index[string(st.key)] = gi
			st.groups = grow(st.groups)
			g := &st.groups[gi]
			g.res, g.recs, g.n = e.resource(g.res[:0], st), g.recs[:0], 0
		}
		g := &st.groups[gi]
		if e.json {
			if g.n > 0 {
				g.recs = append(g.recs, ',')
			}
			g.recs = e.jsonRecord(g.recs, ev, &l, observed, st)
		} else {
			st.rec = e.protoRecord(st.rec[:0], ev, &l, observed, st)
			g.recs = protowire.AppendTag(g.recs, 2, protowire.BytesType) // ScopeLogs.log_records
			g.recs = protowire.AppendBytes(g.recs, st.rec)
		}
		g.n++
	}
	if e.json {
		return e.jsonRequest(dst, st)
	}
	return e.protoRequest(dst, st)
}

// resource encodes the resource of the current event (st.vals).
func (e *otlpEncoder) resource(dst []byte, st *otlpState) []byte {
	attrs := [...]struct {
		key string
		val []byte
	}{
		{attrServiceName, st.vals[0]},
		{attrServiceInstance, st.vals[1]},
		{attrCloudProvider, []byte(cloudProvider)},
		{attrCloudRegion, st.vals[2]},
		{attrDeploymentID, st.vals[3]},
		{attrCommit, st.vals[4]},
		{attrAppID, st.vals[5]},
	}
	if e.json {
		dst = append(dst, `{"attributes":[`...)
		n := 0
		add := func(k string, v []byte) {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"key":`...)
			dst = event.AppendString(dst, k)
			dst = append(dst, `,"value":{"stringValue":`...)
			dst = event.AppendString(dst, v)
			dst = append(dst, "}}"...)
			n++
		}
		for _, a := range attrs {
			if len(a.val) > 0 && !e.overridden(a.key) {
				add(a.key, a.val)
			}
		}
		for _, kv := range e.extra {
			add(kv[0], []byte(kv[1]))
		}
		return append(dst, "]}"...)
	}
	for _, a := range attrs {
		if len(a.val) > 0 && !e.overridden(a.key) {
			dst = appendProtoKV(dst, 1, a.key, a.val, st)
		}
	}
	for _, kv := range e.extra {
		dst = appendProtoKV(dst, 1, kv[0], []byte(kv[1]), st)
	}
	return dst
}

// overridden reports whether the config sets resource attribute k.
func (e *otlpEncoder) overridden(k string) bool {
	for _, kv := range e.extra {
		if kv[0] == k {
			return true
		}
	}
	return false
}

// appendProtoKV appends field num holding KeyValue{key, AnyValue{string}}.
func appendProtoKV(dst []byte, num protowire.Number, key string, val []byte, st *otlpState) []byte {
	st.av = protowire.AppendTag(st.av[:0], 1, protowire.BytesType) // AnyValue.string_value
	st.av = protowire.AppendBytes(st.av, val)
	return appendProtoKVRaw(dst, num, key, st.av)
}

// appendProtoKVRaw appends field num holding KeyValue{key, av} where av is
// an encoded AnyValue.
func appendProtoKVRaw[K string | []byte](dst []byte, num protowire.Number, key K, av []byte) []byte {
	size := protowire.SizeTag(1) + protowire.SizeBytes(len(key)) + protowire.SizeTag(2) + protowire.SizeBytes(len(av))
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(size))
	dst = protowire.AppendTag(dst, 1, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	dst = protowire.AppendTag(dst, 2, protowire.BytesType)
	return protowire.AppendBytes(dst, av)
}

// protoRecord encodes one LogRecord.
func (e *otlpEncoder) protoRecord(dst []byte, ev *event.Event, l *line, observed uint64, st *otlpState) []byte {
	if ev.Date != 0 {
		dst = protowire.AppendTag(dst, 1, protowire.Fixed64Type)
		dst = protowire.AppendFixed64(dst, uint64(ev.Date))
	}
	dst = protowire.AppendTag(dst, 11, protowire.Fixed64Type)
	dst = protowire.AppendFixed64(dst, observed)
	if n := l.severityNumber(st.tmp); n > 0 {
		dst = protowire.AppendTag(dst, 2, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(n))
	}
	if isString(l.severity) {
		st.tmp = appendUnquoted(st.tmp[:0], l.severity)
		dst = protowire.AppendTag(dst, 3, protowire.BytesType)
		dst = protowire.AppendBytes(dst, st.tmp)
	}
	if l.message != nil {
		if av, ok := protoAnyValue(st.av[:0], l.message, st); ok {
			st.av = av
			dst = protowire.AppendTag(dst, 5, protowire.BytesType)
			dst = protowire.AppendBytes(dst, av)
		}
	}
	st.av = protowire.AppendTag(st.av[:0], 1, protowire.BytesType)
	st.av = protowire.AppendString(st.av, ev.ID)
	dst = appendProtoKVRaw(dst, 6, attrRecordUID, st.av)
	st.path = st.path[:0]
	return e.protoAttrs(dst, ev.Raw, st, 0)
}

// protoAttrs appends the members of obj that are not recordSkip'd (at the
// top level) as LogRecord attributes, objects flattened under dotted keys.
func (e *otlpEncoder) protoAttrs(dst, obj []byte, st *otlpState, depth int) []byte {
	base := len(st.path)
	for m, i, ok := event.NextMember(obj, 0); ok; m, i, ok = event.NextMember(obj, i) {
		st.path = appendKey(st.path[:base], m, base > 0)
		if depth == 0 && recordSkip(st.path) {
			continue
		}
		if m.Value[0] == '{' && depth < 4 {
			dst = e.protoAttrs(dst, m.Value, st, depth+1)
			continue
		}
		av, ok := protoAnyValue(st.av[:0], m.Value, st)
		st.av = av
		if ok {
			dst = appendProtoKVRaw(dst, 6, st.path, av)
		}
	}
	st.path = st.path[:base]
	return dst
}

// appendKey appends a member's key (unescaped), after a dot when dotted.
func appendKey(dst []byte, m event.Member, dotted bool) []byte {
	if dotted {
		dst = append(dst, '.')
	}
	return appendUnquoted(dst, m.Key)
}

// protoAnyValue encodes the JSON value v as an AnyValue: strings, integers
// (int_value), other numbers (double_value) and booleans as such, arrays and
// objects as their JSON text; false for null.
func protoAnyValue(dst, v []byte, st *otlpState) ([]byte, bool) {
	switch v[0] {
	case '"':
		st.tmp = appendUnquoted(st.tmp[:0], v)
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		return protowire.AppendBytes(dst, st.tmp), true
	case 't', 'f':
		dst = protowire.AppendTag(dst, 2, protowire.VarintType)
		return protowire.AppendVarint(dst, protowire.EncodeBool(v[0] == 't')), true
	case 'n':
		return dst, false
	case '{', '[':
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		return protowire.AppendBytes(dst, v), true
	}
	if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
		dst = protowire.AppendTag(dst, 3, protowire.VarintType)
		return protowire.AppendVarint(dst, uint64(n)), true
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		return protowire.AppendBytes(dst, v), true
	}
	dst = protowire.AppendTag(dst, 4, protowire.Fixed64Type)
	return protowire.AppendFixed64(dst, math.Float64bits(f)), true
}

// protoRequest writes the ExportLogsServiceRequest from the groups.
func (e *otlpEncoder) protoRequest(dst []byte, st *otlpState) []byte {
	// The scope is the same for every group.
	var scope []byte
	scope = protowire.AppendTag(scope, 1, protowire.BytesType)
	scope = protowire.AppendString(scope, "logship")
	if e.scopeVersion != "" {
		scope = protowire.AppendTag(scope, 2, protowire.BytesType)
		scope = protowire.AppendString(scope, e.scopeVersion)
	}
	for gi := range st.groups {
		g := &st.groups[gi]
		scopeLogs := protowire.SizeTag(1) + protowire.SizeBytes(len(scope)) + len(g.recs)
		resourceLogs := protowire.SizeTag(1) + protowire.SizeBytes(len(g.res)) +
			protowire.SizeTag(2) + protowire.SizeBytes(scopeLogs)
		dst = protowire.AppendTag(dst, 1, protowire.BytesType) // request.resource_logs
		dst = protowire.AppendVarint(dst, uint64(resourceLogs))
		dst = protowire.AppendTag(dst, 1, protowire.BytesType) // ResourceLogs.resource
		dst = protowire.AppendBytes(dst, g.res)
		dst = protowire.AppendTag(dst, 2, protowire.BytesType) // ResourceLogs.scope_logs
		dst = protowire.AppendVarint(dst, uint64(scopeLogs))
		dst = protowire.AppendTag(dst, 1, protowire.BytesType) // ScopeLogs.scope
		dst = protowire.AppendBytes(dst, scope)
		dst = append(dst, g.recs...)
	}
	return dst
}

// jsonRecord appends one LogRecord in OTLP JSON.
func (e *otlpEncoder) jsonRecord(dst []byte, ev *event.Event, l *line, observed uint64, st *otlpState) []byte {
	dst = append(dst, '{')
	if ev.Date != 0 {
		dst = append(dst, `"timeUnixNano":"`...)
		dst = strconv.AppendUint(dst, uint64(ev.Date), 10)
		dst = append(dst, `",`...)
	}
	dst = append(dst, `"observedTimeUnixNano":"`...)
	dst = strconv.AppendUint(dst, observed, 10)
	dst = append(dst, '"')
	if n := l.severityNumber(st.tmp); n > 0 {
		dst = append(dst, `,"severityNumber":`...)
		dst = strconv.AppendInt(dst, int64(n), 10)
	}
	if isString(l.severity) {
		dst = append(dst, `,"severityText":`...)
		dst = append(dst, l.severity...)
	}
	if l.message != nil && l.message[0] != 'n' {
		dst = append(dst, `,"body":`...)
		dst = jsonAnyValue(dst, l.message)
	}
	dst = append(dst, `,"attributes":[{"key":"`+attrRecordUID+`","value":{"stringValue":`...)
	dst = event.AppendString(dst, ev.ID)
	dst = append(dst, "}}"...)
	st.path = st.path[:0]
	dst = e.jsonAttrs(dst, ev.Raw, st, 0)
	return append(dst, "]}"...)
}

func (e *otlpEncoder) jsonAttrs(dst, obj []byte, st *otlpState, depth int) []byte {
	base := len(st.path)
	for m, i, ok := event.NextMember(obj, 0); ok; m, i, ok = event.NextMember(obj, i) {
		st.path = appendKey(st.path[:base], m, base > 0)
		if depth == 0 && recordSkip(st.path) {
			continue
		}
		if m.Value[0] == '{' && depth < 4 {
			dst = e.jsonAttrs(dst, m.Value, st, depth+1)
			continue
		}
		if m.Value[0] == 'n' {
			continue
		}
		dst = append(dst, `,{"key":`...)
		dst = event.AppendString(dst, st.path)
		dst = append(dst, `,"value":`...)
		dst = jsonAnyValue(dst, m.Value)
		dst = append(dst, '}')
	}
	st.path = st.path[:base]
	return dst
}

// jsonAnyValue appends the JSON value v as an OTLP JSON AnyValue.
func jsonAnyValue(dst, v []byte) []byte {
	switch v[0] {
	case '"':
		dst = append(dst, `{"stringValue":`...)
		dst = append(dst, v...)
	case 't', 'f':
		dst = append(dst, `{"boolValue":`...)
		dst = append(dst, v...)
	case '{', '[':
		dst = append(dst, `{"stringValue":`...)
		dst = event.AppendString(dst, v)
	default:
		if _, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			dst = append(dst, `{"intValue":"`...)
			dst = append(dst, v...)
			dst = append(dst, '"')
		} else if _, err := strconv.ParseFloat(string(v), 64); err == nil {
			dst = append(dst, `{"doubleValue":`...)
			dst = append(dst, v...)
		} else {
			dst = append(dst, `{"stringValue":`...)
			dst = event.AppendString(dst, v)
		}
	}
	return append(dst, '}')
}

func (e *otlpEncoder) jsonRequest(dst []byte, st *otlpState) []byte {
	dst = append(dst, `{"resourceLogs":[`...)
	for gi := range st.groups {
		g := &st.groups[gi]
		if gi > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"resource":`...)
		dst = append(dst, g.res...)
		dst = append(dst, `,"scopeLogs":[{"scope":{"name":"logship"`...)
		if e.scopeVersion != "" {
			dst = append(dst, `,"version":`...)
			dst = event.AppendString(dst, e.scopeVersion)
		}
		dst = append(dst, `},"logRecords":[`...)
		dst = append(dst, g.recs...)
		dst = append(dst, "]}]}"...)
	}
	return append(dst, "]}"...)
}

// readAnswer reads an ExportLogsServiceResponse. A partial success that
// rejected every record of the request is a permanent refusal (the batch
// goes to the dead-letter file); one that rejected some of them cannot say
// which, so the batch counts as delivered and the rejected number is
// reported to onRejected. An answer that cannot be read is taken as a
// full success, as OTLP says of a 2xx.
func (e *otlpEncoder) readAnswer(body []byte, contentType string, n int, onRejected func(int, string)) error {
	rejected, msg := parsePartialSuccess(body, contentType)
	switch {
	case rejected <= 0:
		return nil
	case rejected >= int64(n):
		return event.Permanent(fmt.Errorf("receiver rejected all %d log records: %s", n, snippet([]byte(msg))))
	default:
		onRejected(int(rejected), msg)
		return nil
	}
}

// parsePartialSuccess returns partial_success.rejected_log_records and
// error_message of an answer, protobuf or JSON.
func parsePartialSuccess(body []byte, contentType string) (int64, string) {
	if len(bytes.TrimSpace(body)) == 0 {
		return 0, ""
	}
	if strings.HasPrefix(contentType, "application/json") || (len(body) > 0 && body[0] == '{') {
		var ans struct {
			PartialSuccess struct {
				RejectedLogRecords json.Number `json:"rejectedLogRecords"`
				ErrorMessage       string      `json:"errorMessage"`
			} `json:"partialSuccess"`
		}
		if json.Unmarshal(body, &ans) != nil {
			return 0, ""
		}
		r, _ := ans.PartialSuccess.RejectedLogRecords.Int64()
		return r, ans.PartialSuccess.ErrorMessage
	}
	ps, ok := protoField(body, 1)
	if !ok {
		return 0, ""
	}
	var rejected int64
	var msg string
	for b := ps; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, ""
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return 0, ""
			}
			rejected, b = int64(v), b[m:]
		case num == 2 && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return 0, ""
			}
			msg, b = string(v), b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return 0, ""
			}
			b = b[m:]
		}
	}
	return rejected, msg
}

// protoField returns the last length-delimited field num of a protobuf
// message.
func protoField(b []byte, want protowire.Number) ([]byte, bool) {
	var out []byte
	found := false
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
		if num == want && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil, false
			}
			out, found, b = v, true, b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return nil, false
		}
		b = b[m:]
	}
	return out, found
}

// errorText returns the message of an OTLP error answer: a protobuf
// google.rpc.Status holds it in field 2; JSON and text answers are shown
// as they are.
func (e *otlpEncoder) errorText(body []byte, contentType string) []byte {
	if !strings.HasPrefix(contentType, "application/x-protobuf") {
		return body
	}
	if msg, ok := protoField(body, 2); ok {
		return msg
	}
	return body
}
