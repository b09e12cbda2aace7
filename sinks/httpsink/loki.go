package httpsink

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"

	"github.com/logship/logship/event"
)

// lokiEncoder writes Loki's push API JSON:
//
//	{"streams":[{"stream":{labels},"values":[["<unix ns>","<line>"],…]},…]}
//
// Events are grouped by label set, in order of first appearance; within a
// stream they keep batch order. The line is the event's raw JSON.
type lokiEncoder struct {
	labels []string    // label names, sorted
	values []*template // values[i] renders labels[i]
	names  []string    // event fields the templates read
}

// lokiFallbackLabels is the label set of an event whose labels all come out
// empty: Loki needs at least one label per stream.
const lokiFallbackLabels = `{"job":"logship"}`

func newLokiEncoder(cfg LokiConfig) (*lokiEncoder, error) {
	labels := cfg.Labels
	if len(labels) == 0 {
		labels = map[string]string{"job": "logship", "application_id": "{" + appFieldName + "}"}
	}
	e := &lokiEncoder{}
	for name := range labels {
		e.labels = append(e.labels, name)
	}
	slices.Sort(e.labels)
	for _, name := range e.labels {
		t, err := compileTemplate(labels[name], false, &e.names)
		if err != nil {
			return nil, fmt.Errorf("loki.labels.%s: %w", name, err)
		}
		e.values = append(e.values, t)
	}
	return e, nil
}

func (e *lokiEncoder) contentType() string { return "application/json" }
func (e *lokiEncoder) fields() []string    { return e.names }

// lokiState groups one batch's events by label set.
type lokiState struct {
	index   map[string]int // label key -> index in streams
	streams []lokiStream
	key     []byte
	ends    []int // ends[i]: end of label i's value in scratch.tmp
}

type lokiStream struct {
	labels []byte  // the JSON object of the labels
	events []int32 // indexes into the batch
}

func (e *lokiEncoder) encode(dst []byte, evs []event.Event, sc *scratch) []byte {
	st := &sc.loki
	if st.index == nil {
		st.index = make(map[string]int)
	}
	clear(st.index)
	st.streams = st.streams[:0]
	for i := range evs {
		ev := &evs[i]
		if len(e.names) > 0 {
			_ = sc.scan.Read(ev.Raw) // a malformed event gets the defaults
		}
		sc.tmp, st.ends = sc.tmp[:0], st.ends[:0]
		st.key = st.key[:0]
		start := 0
		for _, t := range e.values {
			sc.tmp = t.render(sc.tmp, ev, sc.scan.Values)
			st.ends = append(st.ends, len(sc.tmp))
			st.key = binary.AppendUvarint(st.key, uint64(len(sc.tmp)-start))
			st.key = append(st.key, sc.tmp[start:]...)
			start = len(sc.tmp)
		}
		si, ok := st.index[string(st.key)]
		if !ok {
			si = len(st.streams)
			st.index[string(st.key)] = si
			st.streams = grow(st.streams)
			s := &st.streams[si]
			s.labels = e.labelObject(s.labels[:0], sc.tmp, st.ends)
			s.events = s.events[:0]
		}
		st.streams[si].events = append(st.streams[si].events, int32(i))
	}

	dst = append(dst, `{"streams":[`...)
	for si := range st.streams {
		s := &st.streams[si]
		if si > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"stream":`...)
		dst = append(dst, s.labels...)
		dst = append(dst, `,"values":[`...)
		for j, i := range s.events {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `["`...)
			dst = strconv.AppendInt(dst, evs[i].Date, 10)
			dst = append(dst, `",`...)
			dst = event.AppendString(dst, evs[i].Raw)
			dst = append(dst, ']')
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, "]}"...)
}

// labelObject appends the JSON object of the non-empty labels whose values
// are vals[ends[i-1]:ends[i]].
func (e *lokiEncoder) labelObject(dst, vals []byte, ends []int) []byte {
	n, start := 0, 0
	dst = append(dst, '{')
	for i, end := range ends {
		if end > start {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = event.AppendString(dst, e.labels[i])
			dst = append(dst, ':')
			dst = event.AppendString(dst, vals[start:end])
			n++
		}
		start = end
	}
	if n == 0 {
		return append(dst[:len(dst)-1], lokiFallbackLabels...)
	}
	return append(dst, '}')
}

// grow extends s by one element, reusing the spare capacity (and the memory
// the element held) when there is some.
func grow[T any](s []T) []T {
	if len(s) < cap(s) {
		return s[:len(s)+1]
	}
	var zero T
	return append(s, zero)
}
