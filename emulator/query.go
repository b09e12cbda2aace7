package emulator

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// streamQuery is a parsed logs request.
type streamQuery struct {
	sinceMs, untilMs   int64 // a line matches when sinceMs <= date < untilMs
	sinceUs, untilUs   int64 // the same in microseconds, for SubMillisecond apps
	hasSince, hasUntil bool
	deploymentID       string
	instanceIDs        []string
	filter             *foldMatcher
	mask               fieldMask
	services           []string
	limit              int64 // 0: none
	throttleN          int64
	throttleP          time.Duration
	lastEventID        string
}

// badParam is a 400 about one query parameter.
type badParam struct{ name, value string }

func parseQuery(v url.Values, header http.Header) (*streamQuery, *badParam) {
	q := &streamQuery{
		sinceMs:   math.MinInt64,
		untilMs:   math.MaxInt64,
		sinceUs:   math.MinInt64,
		untilUs:   math.MaxInt64,
		mask:      allFields,
		throttleN: DefaultThrottleElements,
		throttleP: DefaultThrottlePer,
	}
	if s := v.Get("since"); s != "" {
		ms, ok := parseDateMs(s)
		if !ok {
			return nil, &badParam{"since", s}
		}
		q.sinceMs, q.hasSince = ms, true
		q.sinceUs, _ = parseDateUs(s)
	}
	if s := v.Get("until"); s != "" {
		ms, ok := parseDateMs(s)
		if !ok {
			return nil, &badParam{"until", s}
		}
		q.untilMs, q.hasUntil = ms, true
		q.untilUs, _ = parseDateUs(s)
	}
	q.deploymentID = v.Get("deploymentId")
	for _, s := range v["instanceId"] {
		if s != "" {
			q.instanceIDs = append(q.instanceIDs, s)
		}
	}
	if s := v.Get("filter"); s != "" {
		q.filter = newFoldMatcher(s)
	}
	var fields []string
	for _, s := range v["field"] {
		if s != "" {
			fields = append(fields, s)
		}
	}
	if len(fields) > 0 {
		q.mask = 0
		for i, name := range fieldNames {
			if slices.Contains(fields, name) {
				q.mask |= 1 << i
			}
		}
	}
	for _, s := range v["service"] {
		if s != "" {
			q.services = append(q.services, s)
		}
	}
	var bad *badParam
	posInt := func(name string, minimum int64) int64 {
		s, ok := v[name]
		if !ok || bad != nil {
			return -1
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s[0]), 10, 64)
		if err != nil || n < minimum {
			bad = &badParam{name, s[0]}
			return -1
		}
		return n
	}
	if n := posInt("limit", 1); n > 0 {
		q.limit = n
	}
	if n := posInt("throttleElements", 1); n > 0 {
		q.throttleN = n
	}
	if n := posInt("throttlePerInMilliseconds", 0); n >= 0 {
		q.throttleP = time.Duration(n) * time.Millisecond
	}
	if bad != nil {
		return nil, bad
	}
	q.lastEventID = header.Get("Last-Event-ID")
	return q, nil
}

// parseDateMs parses an ISO 8601 date-time (RFC 3339, fraction optional) into the smallest
// whole millisecond not before it: for millisecond dates, d >= t  <=>  d >= ceil(t).
func parseDateMs(s string) (int64, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	ns := t.UnixNano()
	ms := floorDiv(ns, 1e6)
	if ms*1e6 != ns {
		ms++
	}
	return ms, true
}

// parseDateUs is parseDateMs at the microsecond: the smallest whole microsecond not before
// the date.
func parseDateUs(s string) (int64, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	ns := t.UnixNano()
	us := floorDiv(ns, 1e3)
	if us*1e3 != ns {
		us++
	}
	return us, true
}

// serviceMatch reports whether a line's service name is selected by the service parameters:
// a value matches itself, its name without ".service", or "all".
func serviceMatch(values []string, name string) bool {
	if len(values) == 0 {
		return true
	}
	base := strings.TrimSuffix(name, ".service")
	for _, v := range values {
		if v == "all" || v == name || v == base {
			return true
		}
	}
	return false
}

// JSON error bodies, as the real API writes them.
type apiError struct {
	Code    string         `json:"code"`
	Error   string         `json:"error"`
	Context map[string]any `json:"context,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"clever.core.internal-error","error":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func badRequestBody(p *badParam) apiError {
	return apiError{
		Code:  "clever.core.bad-request",
		Error: "The query parameter was malformed.",
		Context: map[string]any{"OVDErrorFieldContext": map[string]string{
			"fieldName": p.name, "fieldValue": p.value,
		}},
	}
}

var (
	unauthorizedBody = apiError{Code: "clever.auth.unauthorized", Error: "Unauthorized to access this resource."}
	forbiddenBody    = apiError{Code: "clever.auth.forbidden", Error: "You don't have the rights to access this resource."}
)

func notFoundBody(what string) apiError {
	return apiError{Code: "clever.core.not-found", Error: what}
}

// statusBody is the default body of a queued StatusFault.
func statusBody(code int) apiError {
	switch {
	case code == http.StatusTooManyRequests:
		return apiError{Code: "clever.core.too-many-requests", Error: "Too many requests, slow down."}
	case code >= 500:
		return apiError{Code: "clever.core.internal-error", Error: http.StatusText(code)}
	default:
		return apiError{Code: "clever.core.error", Error: http.StatusText(code)}
	}
}
