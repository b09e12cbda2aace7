package httpsink

import (
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logship/logship/event"
)

// fakeES is an Elasticsearch `_bulk` endpoint: it stores documents by _id,
// answers 409 to a create of an existing id, and fails chosen ids once with
// a chosen status.
type fakeES struct {
	mu       sync.Mutex
	docs     map[string]int // id -> times stored
	failOnce map[string]int // id -> status to answer on its next item
}

func (es *fakeES) respond(r *received) reply {
	es.mu.Lock()
	defer es.mu.Unlock()
	status := make([]int, len(r.IDs))
	for i, id := range r.IDs {
		switch st, ok := es.failOnce[id]; {
		case ok:
			status[i] = st
			delete(es.failOnce, id)
		case es.docs[id] > 0 && r.Actions[i] == "create":
			status[i] = 409
		default:
			es.docs[id]++
			status[i] = 201
		}
	}
	return reply{Status: 200, Body: bulkAnswerFor(r, status)}
}

// TestBulkPartialRetriesOnlyFailedItems: a bulk answer with some failed
// items leads to a retry of the 429/5xx items only, the 400 item goes to the
// dead-letter file, and a 409 (already stored) counts as delivered.
func TestBulkPartialRetriesOnlyFailedItems(t *testing.T) {
	es := &fakeES{
		docs:     map[string]int{"id-000008": 1}, // stored by an earlier, unacknowledged attempt
		failOnce: map[string]int{"id-000002": 429, "id-000005": 503, "id-000007": 400},
	}
	rc := newReceiver(t, "elasticsearch_bulk", es.respond)
	s := newSink(t, Config{URL: rc.url(), Encoding: "elasticsearch_bulk", Compression: "gzip",
		Elasticsearch: ElasticsearchConfig{Index: "logs-{applicationId}-%Y.%m"}}, Options{})
	b := makeBatch(0, 10)

	err := s.Write(t.Context(), b)
	var pe *event.PartialError
	if !errors.As(err, &pe) {
		t.Fatalf("err %v, want a PartialError", err)
	}
	if !slices.Equal(pe.Retry, []int{2, 5}) {
		t.Errorf("Retry %v, want [2 5]", pe.Retry)
	}
	if len(pe.Rejected) != 1 || pe.Rejected[0].Index != 7 || !strings.Contains(pe.Rejected[0].Reason, "mapper_parsing_exception") {
		t.Errorf("Rejected %+v, want index 7 with its reason", pe.Rejected)
	}
	if event.IsPermanent(err) {
		t.Error("a partial error must not be permanent as a whole")
	}

	// Now the whole path, as the pipeline runs it, on a fresh batch.
	es.failOnce = map[string]int{"id-000102": 429, "id-000105": 503, "id-000107": 400}
	es.docs["id-000108"] = 1
	dl := filepath.Join(t.TempDir(), "dead.ndjson")
	d := &deliverer{sink: s, initial: time.Millisecond, maxBackoff: time.Millisecond, deadLetter: dl}
	b = makeBatch(100, 10)
	if err := d.deliver(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	reqs, _ := rc.snapshot()
	last := reqs[len(reqs)-2:]
	if !slices.Equal(last[0].IDs, ids(b)) {
		t.Fatalf("first request ids %v", last[0].IDs)
	}
	if want := []string{"id-000102", "id-000105"}; !slices.Equal(last[1].IDs, want) {
		t.Fatalf("retry sent %v, want only %v", last[1].IDs, want)
	}
	if last[1].Key == last[0].Key {
		t.Error("the narrowed retry is another batch and needs its own key")
	}
	for _, idx := range last[0].Indexes {
		if idx != "logs-app_1-2024.03" {
			t.Fatalf("index %q", idx)
		}
	}
	deads := readDead(t, dl)
	if len(deads) != 1 || deads[0].ID != "id-000107" || !strings.Contains(deads[0].Reason, "400") {
		t.Fatalf("dead letters %+v, want id-000107 with status 400", deads)
	}
	for _, e := range b.Events {
		want := 1
		if e.ID == "id-000107" {
			want = 0
		}
		if es.docs[e.ID] != want {
			t.Errorf("%s stored %d times, want %d", e.ID, es.docs[e.ID], want)
		}
	}
}

func TestBulkResult(t *testing.T) {
	item := func(action string, status int, errJSON string) string {
		s := `{"` + action + `":{"_index":"i","_id":"x","status":` + strconv.Itoa(status)
		if errJSON != "" {
			s += `,"error":` + errJSON
		}
		return s + `}}`
	}
	answer := func(errorsFlag string, items ...string) []byte {
		return []byte(`{"took":3,"errors":` + errorsFlag + `,"items":[` + strings.Join(items, ",") + `]}`)
	}
	mapperErr := `{"type":"mapper_parsing_exception","reason":"failed to parse field [date]"}`
	tests := []struct {
		name     string
		body     []byte
		n        int
		wantNil  bool
		retry    []int
		rejected []int
		plain    bool // a plain retryable error
	}{
		{name: "all created", body: answer("false", item("create", 201, ""), item("create", 201, "")), n: 2, wantNil: true},
		{name: "errors false pretty", body: []byte("{\n  \"took\" : 3,\n  \"errors\" : false,\n  \"items\" : []\n}"), n: 2, wantNil: true},
		{name: "errors first", body: []byte(`{"errors":false,"took":1,"items":[]}`), n: 2, wantNil: true},
		{name: "conflicts on create are success", body: answer("true", item("create", 409, `{"type":"version_conflict_engine_exception","reason":"exists"}`), item("create", 201, "")), n: 2, wantNil: true},
		{name: "conflict on index is refused", body: answer("true", item("index", 409, `{"type":"version_conflict_engine_exception","reason":"x"}`), item("index", 200, "")), n: 2, rejected: []int{0}},
		{name: "mixed", body: answer("true", item("create", 201, ""), item("create", 429, `{"type":"es_rejected_execution_exception","reason":"queue full"}`),
			item("create", 400, mapperErr), item("create", 500, `"boom"`), item("create", 404, "")), n: 5, retry: []int{1, 3}, rejected: []int{2, 4}},
		{name: "item count mismatch", body: answer("true", item("create", 429, "")), n: 2, plain: true},
		{name: "not json", body: []byte(`<html>proxy error</html>`), n: 1, plain: true},
		{name: "errors false with nested head is decoded", body: []byte(`{"took":{"x":1},"errors":false,"items":[]}`), n: 1, wantNil: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := bulkResult(tt.body, tt.n)
			if tt.wantNil {
				if err != nil {
					t.Fatalf("err %v, want nil", err)
				}
				return
			}
			var pe *event.PartialError
			isPartial := errors.As(err, &pe)
			if tt.plain {
				if err == nil || isPartial || event.IsPermanent(err) {
					t.Fatalf("err %v, want a plain error", err)
				}
				return
			}
			if !isPartial {
				t.Fatalf("err %v, want a PartialError", err)
			}
			var rej []int
			for _, r := range pe.Rejected {
				rej = append(rej, r.Index)
				if r.Reason == "" {
					t.Error("rejection without a reason")
				}
			}
			if !slices.Equal(pe.Retry, tt.retry) || !slices.Equal(rej, tt.rejected) {
				t.Fatalf("retry %v rejected %v, want %v %v", pe.Retry, rej, tt.retry, tt.rejected)
			}
		})
	}
	if r := itemReason(bulkItem{Status: 400, Error: []byte(mapperErr)}); r != "status 400: mapper_parsing_exception: failed to parse field [date]" {
		t.Errorf("reason %q", r)
	}
}

// TestBulkIndexTemplate checks action lines for each index template.
func TestBulkIndexTemplate(t *testing.T) {
	ev := event.Event{
		Raw:   []byte(`{"id":"a\"1","applicationId":"app_X","instanceId":"Inst-9","pid":42,"nested":{"k":"v"},"esc":"a\u00e9b","severity":null}`),
		ID:    `a"1`,
		Date:  time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano(),
		AppID: "app_fallback",
	}
	noApp := ev
	noApp.Raw = []byte(`{"id":"x"}`)
	tests := []struct {
		index string
		ev    event.Event
		want  string
	}{
		{"logship-%Y.%m.%d", ev, "logship-2024.01.02"},
		{"logs-%Y-%m-%dT%H", ev, "logs-2024-01-02t03"},
		{"logs-{applicationId}", ev, "logs-app_x"},
		{"logs-{applicationId}", noApp, "logs-app_fallback"},
		{"logs-{instanceId}-{pid}", ev, "logs-inst-9-42"},
		{"logs-{severity:-none}", ev, "logs-none"},
		{"logs-{nested:-obj}", ev, "logs-obj"},
		{"logs-{missing}", ev, "logs-"},
		{"logs-{esc}", ev, "logs-aéb"},
		{"100%%-{pid}", ev, "100%-42"},
		{"CONSTANT", ev, "constant"},
	}
	for _, tt := range tests {
		t.Run(tt.index, func(t *testing.T) {
			enc, err := newBulkEncoder(ElasticsearchConfig{Index: tt.index})
			if err != nil {
				t.Fatal(err)
			}
			sc := &scratch{scan: event.NewFieldReader(enc.fields())}
			body := enc.encode(nil, []event.Event{tt.ev}, sc)
			action, doc, _ := strings.Cut(string(body), "\n")
			want := `{"create":{"_index":"` + tt.want + `","_id":"a\"1"}}`
			if action != want {
				t.Errorf("action %s, want %s", action, want)
			}
			if doc != string(tt.ev.Raw)+"\n" {
				t.Errorf("document %q", doc)
			}
		})
	}
}
