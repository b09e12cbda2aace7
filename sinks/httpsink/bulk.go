package httpsink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/logship/logship/event"
)

// bulkEncoder writes the Elasticsearch / OpenSearch `_bulk` format: per
// event an action line `{"create":{"_index":"…","_id":"<event id>"}}` and the
// event itself. With `create`, a replayed event is a 409 conflict, which
// counts as accepted: Elasticsearch drops the duplicate.
type bulkEncoder struct {
	index  *template
	action string
	names  []string
}

func newBulkEncoder(cfg ElasticsearchConfig) (*bulkEncoder, error) {
	e := &bulkEncoder{action: cfg.Action}
	if e.action == "" {
		e.action = "create"
	}
	idx := cfg.Index
	if idx == "" {
		idx = "logship-%Y.%m.%d"
	}
	var err error
	if e.index, err = compileTemplate(idx, true, &e.names); err != nil {
		return nil, fmt.Errorf("elasticsearch.index: %w", err)
	}
	if e.index.isConst {
		e.index.constant = string(lowerASCII([]byte(e.index.constant)))
	}
	return e, nil
}

func (e *bulkEncoder) contentType() string { return "application/x-ndjson" }
func (e *bulkEncoder) fields() []string    { return e.names }

func (e *bulkEncoder) encode(dst []byte, evs []event.Event, sc *scratch) []byte {
	for i := range evs {
		ev := &evs[i]
		if len(e.names) > 0 {
			_ = sc.scan.Read(ev.Raw) // a malformed event gets the defaults
		}
		sc.tmp = e.index.render(sc.tmp[:0], ev, sc.scan.Values)
		idx := lowerASCII(sc.tmp)
		dst = append(dst, `{"`...)
		dst = append(dst, e.action...)
		dst = append(dst, `":{"_index":`...)
		dst = event.AppendString(dst, idx)
		if ev.ID != "" {
			dst = append(dst, `,"_id":`...)
			dst = event.AppendString(dst, ev.ID)
		}
		dst = append(dst, "}}\n"...)
		dst = append(dst, ev.Raw...)
		dst = append(dst, '\n')
	}
	return dst
}

// bulkItem is one entry of a bulk answer's `items`, under its action name.
type bulkItem struct {
	Status int             `json:"status"`
	Error  json.RawMessage `json:"error"`
}

type bulkAnswer struct {
	Errors bool                  `json:"errors"`
	Items  []map[string]bulkItem `json:"items"`
}

// bulkResult reads a 2xx bulk answer for n events: nil when every item was
// accepted (2xx, or 409 for create: already there), a *event.PartialError
// listing items to retry (429, 5xx) and items refused for good (other
// statuses, with the reason), or a plain (retryable) error when the answer
// cannot be read.
func bulkResult(body []byte, n int) error {
	if bulkHeadSaysNoErrors(body) {
		return nil
	}
	var a bulkAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("read bulk answer: %w", err)
	}
	if !a.Errors {
		return nil
	}
	if len(a.Items) != n {
		return fmt.Errorf("bulk answer has %d items for %d events", len(a.Items), n)
	}
	pe := &event.PartialError{}
	var first string
	for i, m := range a.Items {
		if len(m) != 1 {
			return fmt.Errorf("bulk answer item %d: %d actions, want 1", i, len(m))
		}
		for action, it := range m {
			switch {
			case it.Status >= 200 && it.Status < 300:
			case it.Status == 409 && action == "create":
			case it.Status == 429 || it.Status >= 500:
				pe.Retry = append(pe.Retry, i)
				if first == "" {
					first = itemReason(it)
				}
			default:
				r := itemReason(it)
				pe.Rejected = append(pe.Rejected, event.Rejection{Index: i, Reason: r})
				if first == "" {
					first = r
				}
			}
		}
	}
	if len(pe.Retry) == 0 && len(pe.Rejected) == 0 {
		return nil
	}
	pe.Err = fmt.Errorf("bulk: %d of %d items to retry, %d rejected; first: %s",
		len(pe.Retry), n, len(pe.Rejected), first)
	return pe
}

// bulkHeadSaysNoErrors is the fast path: Elasticsearch and OpenSearch put
// `"errors":false` among the scalars before `"items"`, so a successful
// answer is recognised without decoding every item.
func bulkHeadSaysNoErrors(body []byte) bool {
	head := body
	if i := bytes.Index(body, []byte(`"items"`)); i >= 0 {
		head = body[:i]
	}
	if len(head) > 512 || bytes.Count(head, []byte("{")) != 1 || bytes.ContainsAny(head, "[}") {
		return false
	}
	compact := make([]byte, 0, len(head))
	for _, c := range head {
		if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			compact = append(compact, c)
		}
	}
	return bytes.HasPrefix(compact, []byte("{")) &&
		(bytes.Contains(compact, []byte(`{"errors":false,`)) || bytes.Contains(compact, []byte(`,"errors":false,`)))
}

// itemReason describes a failed bulk item: `status N: type: reason`.
func itemReason(it bulkItem) string {
	r := "status " + strconv.Itoa(it.Status)
	var e struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	}
	if len(it.Error) == 0 {
		return r
	}
	var s string
	switch {
	case json.Unmarshal(it.Error, &e) == nil && (e.Type != "" || e.Reason != ""):
		r += ": " + e.Type + ": " + e.Reason
	case json.Unmarshal(it.Error, &s) == nil:
		r += ": " + s
	default:
		r += ": " + string(it.Error)
	}
	return truncate(r, maxReason)
}
