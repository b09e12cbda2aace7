package httpsink

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/logship/logship/event"
)

// Datadog logs intake v2 limits (https://docs.datadoghq.com/api/latest/logs/):
// at most 1000 entries and 5 MB (uncompressed) per request, 1 MB per entry.
const (
	datadogMaxEntries = 1000
	datadogMaxBody    = 5_000_000
	datadogMaxEntry   = 1_000_000
)

// New Relic Log API limit: 1 MB (10^6 bytes) per request as sent, that is
// compressed when compression is on.
const (
	newRelicMaxWire = 1_000_000
	// newRelicMaxBody is the uncompressed size a request is first cut at:
	// the payload limit without compression, more with it (a request that
	// still compresses to more than the limit is cut in two).
	newRelicMaxBody           = newRelicMaxWire
	newRelicMaxBodyCompressed = 8 * newRelicMaxWire
)

// datadogEncoder writes the Datadog logs intake v2 JSON: an array of
// entries, each the line's own fields plus Datadog's reserved ones:
//
//	{"ddsource":"clevercloud","service":"…","hostname":"…","ddtags":"k:v,…","status":"info",<the line's fields>}
//
// The line's own fields named like a reserved one (Clever Cloud's
// `service`, for example) are renamed with the prefix `clevercloud_`.
type datadogEncoder struct {
	source   string
	service  *template // nil: the application's name, else its id
	hostname *template
	tags     []*template
	names    []string
	lim      chunkLimits // Datadog's; tests lower them
}

// datadogReserved are the attributes the encoder sets itself.
var datadogReserved = map[string]bool{"ddsource": true, "service": true, "hostname": true, "ddtags": true, "status": true}

func newDatadogEncoder(cfg DatadogConfig) (*datadogEncoder, error) {
	e := &datadogEncoder{source: cfg.Source,
		lim: chunkLimits{maxEntries: datadogMaxEntries, maxBody: datadogMaxBody, maxEntry: datadogMaxEntry}}
	if e.source == "" {
		e.source = "clevercloud"
	}
	var err error
	if cfg.Service != "" {
		if e.service, err = compileTemplate(cfg.Service, false, &e.names); err != nil {
			return nil, fmt.Errorf("datadog.service: %w", err)
		}
	}
	host := cfg.Hostname
	if host == "" {
		host = "{instanceId}"
	}
	if e.hostname, err = compileTemplate(host, false, &e.names); err != nil {
		return nil, fmt.Errorf("datadog.hostname: %w", err)
	}
	for i, t := range cfg.Tags {
		ct, err := compileTemplate(t, false, &e.names)
		if err != nil {
			return nil, fmt.Errorf("datadog.tags[%d]: %w", i, err)
		}
		e.tags = append(e.tags, ct)
	}
	return e, nil
}

func (e *datadogEncoder) contentType() string { return "application/json" }
func (e *datadogEncoder) fields() []string    { return e.names }

func (e *datadogEncoder) limits() chunkLimits { return e.lim }

func (e *datadogEncoder) wrap(dst, entries []byte) []byte {
	dst = append(dst, '[')
	dst = append(dst, entries...)
	return append(dst, ']')
}

func (e *datadogEncoder) encode(dst []byte, evs []event.Event, sc *scratch) []byte {
	return encodeAll(e, dst, evs, sc)
}

func (e *datadogEncoder) appendEntry(dst []byte, ev *event.Event, sc *scratch) []byte {
	if len(e.names) > 0 {
		_ = sc.scan.Read(ev.Raw) // a malformed event gets the defaults
	}
	var l line
	readLine(&l, ev.Raw)
	dst = append(dst, `{"ddsource":`...)
	dst = event.AppendString(dst, e.source)
	dst = append(dst, `,"service":`...)
	if e.service != nil {
		sc.tmp = e.service.render(sc.tmp[:0], ev, sc.scan.Values)
		dst = event.AppendString(dst, sc.tmp)
	} else if v := l.appNameValue(); v != nil {
		dst = append(dst, v...)
	} else {
		dst = event.AppendString(dst, ev.AppID)
	}
	if sc.tmp = e.hostname.render(sc.tmp[:0], ev, sc.scan.Values); len(sc.tmp) > 0 {
		dst = append(dst, `,"hostname":`...)
		dst = event.AppendString(dst, sc.tmp)
	}
	sc.tmp = sc.tmp[:0]
	for _, t := range e.tags {
		// A tag that comes out empty or without a value (`zone:`) is
		// left off.
		sc.tag = t.render(sc.tag[:0], ev, sc.scan.Values)
		if len(sc.tag) == 0 || sc.tag[len(sc.tag)-1] == ':' {
			continue
		}
		if len(sc.tmp) > 0 {
			sc.tmp = append(sc.tmp, ',')
		}
		sc.tmp = append(sc.tmp, sc.tag...)
	}
	if len(sc.tmp) > 0 {
		dst = append(dst, `,"ddtags":`...)
		dst = event.AppendString(dst, sc.tmp)
	}
	dst = append(dst, `,"status":`...)
	if nonEmptyString(l.severity) {
		dst = append(dst, l.severity...)
	} else {
		dst = append(dst, `"info"`...)
	}
	for m, i, ok := event.NextMember(ev.Raw, 0); ok; m, i, ok = event.NextMember(ev.Raw, i) {
		dst = append(dst, ',')
		if datadogReserved[string(m.Key[1:len(m.Key)-1])] {
			dst = append(dst, `"clevercloud_`...)
			dst = append(dst, m.Key[1:]...)
		} else {
			dst = append(dst, m.Key...)
		}
		dst = append(dst, ':')
		dst = append(dst, m.Value...)
	}
	return append(dst, '}')
}

// newRelicEncoder writes the New Relic Log API's detailed JSON:
//
//	[{"common":{"attributes":{…}},"logs":[{"timestamp":<ms>,"message":"…","attributes":{<the line's fields>}},…]}]
//
// The common attributes are collector.name=logship and the configured
// ones. Each log's attributes are the line's fields but `message`.
type newRelicEncoder struct {
	common []byte      // the common block, ready to write
	lim    chunkLimits // New Relic's; tests lower them
}

func newNewRelicEncoder(cfg NewRelicConfig, compressed bool) *newRelicEncoder {
	e := &newRelicEncoder{lim: chunkLimits{maxBody: newRelicMaxBody, maxWire: newRelicMaxWire}}
	if compressed {
		e.lim.maxBody = newRelicMaxBodyCompressed
	}
	attrs := map[string]string{"collector.name": "logship"}
	maps.Copy(attrs, cfg.CommonAttributes)
	e.common = append(e.common, `[{"common":{"attributes":{`...)
	for i, k := range slices.Sorted(maps.Keys(attrs)) {
		if i > 0 {
			e.common = append(e.common, ',')
		}
		e.common = event.AppendString(e.common, k)
		e.common = append(e.common, ':')
		e.common = event.AppendString(e.common, attrs[k])
	}
	e.common = append(e.common, `}},"logs":[`...)
	return e
}

func (e *newRelicEncoder) contentType() string { return "application/json" }
func (e *newRelicEncoder) fields() []string    { return nil }

func (e *newRelicEncoder) limits() chunkLimits { return e.lim }

func (e *newRelicEncoder) wrap(dst, entries []byte) []byte {
	dst = append(dst, e.common...)
	dst = append(dst, entries...)
	return append(dst, "]}]"...)
}

func (e *newRelicEncoder) encode(dst []byte, evs []event.Event, sc *scratch) []byte {
	return encodeAll(e, dst, evs, sc)
}

func (e *newRelicEncoder) appendEntry(dst []byte, ev *event.Event, _ *scratch) []byte {
	var l line
	readLine(&l, ev.Raw)
	dst = append(dst, `{"timestamp":`...)
	dst = strconv.AppendInt(dst, ev.Date/1e6, 10)
	dst = append(dst, `,"message":`...)
	switch {
	case isString(l.message):
		dst = append(dst, l.message...)
	case l.message != nil && l.message[0] != 'n':
		dst = event.AppendString(dst, l.message)
	default:
		dst = append(dst, `""`...)
	}
	dst = append(dst, `,"attributes":{`...)
	n := 0
	for m, i, ok := event.NextMember(ev.Raw, 0); ok; m, i, ok = event.NextMember(ev.Raw, i) {
		if string(m.Key) == `"message"` {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, m.Key...)
		dst = append(dst, ':')
		dst = append(dst, m.Value...)
		n++
	}
	return append(dst, "}}"...)
}

// encodeAll writes every event in one body (the encoder interface; Write
// itself cuts the batch within the limits).
func encodeAll(c chunker, dst []byte, evs []event.Event, sc *scratch) []byte {
	var entries []byte
	for i := range evs {
		if i > 0 {
			entries = append(entries, ',')
		}
		entries = c.appendEntry(entries, &evs[i], sc)
	}
	return c.wrap(dst, entries)
}
