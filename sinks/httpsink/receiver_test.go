package httpsink

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/logship/logship/event"
)

// received is one request as a strict receiver parsed it.
type received struct {
	N        int // 0-based arrival number
	At       time.Time
	Header   http.Header
	Host     string
	Key      string
	IDs      []string
	Lines    [][]byte          // the raw events, in body order
	Dates    []int64           // loki: the timestamps
	Labels   map[string]string // loki: labels per event id, as "k=v,k=v"
	Indexes  []string          // bulk: _index per event
	Actions  []string          // bulk: action per event
	ParseErr error
}

// reply is what a receiver answers.
type reply struct {
	Status int
	Header map[string]string
	Body   []byte
}

// receiver is an httptest server that decompresses and parses each request
// strictly in the given encoding, records it, and answers through respond
// (default: 200, or a clean bulk answer).
type receiver struct {
	t        *testing.T
	srv      *httptest.Server
	encoding string
	respond  func(r *received) reply

	mu       sync.Mutex
	requests []*received
	accepted map[string]int // id -> times accepted (2xx, item not failed)
}

func newReceiver(t *testing.T, encoding string, respond func(*received) reply) *receiver {
	t.Helper()
	rc := &receiver{t: t, encoding: encoding, respond: respond, accepted: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) url() string { return rc.srv.URL + "/ingest" }

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	rec := &received{At: time.Now(), Header: r.Header.Clone(), Host: r.Host, Key: r.Header.Get(IdempotencyHeader)}
	if err == nil {
		err = parseBody(rec, rc.encoding, r.Header.Get("Content-Type"), body)
	}
	rec.ParseErr = err
	rc.mu.Lock()
	rec.N = len(rc.requests)
	rc.requests = append(rc.requests, rec)
	rc.mu.Unlock()
	if err != nil {
		rc.t.Errorf("receiver: request %d: %v", rec.N, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rp := reply{Status: 200}
	if rc.respond != nil {
		rp = rc.respond(rec)
	}
	if rp.Status/100 == 2 && rc.encoding == "elasticsearch_bulk" && rp.Body == nil {
		rp.Body = bulkAnswerFor(rec, nil)
	}
	if rp.Status/100 == 2 {
		rc.mu.Lock()
		failed := failedItems(rp.Body)
		for i, id := range rec.IDs {
			if !failed[i] {
				rc.accepted[id]++
			}
		}
		rc.mu.Unlock()
	}
	for k, v := range rp.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rp.Status)
	_, _ = w.Write(rp.Body)
}

// snapshot returns the requests so far and the accepted counts.
func (rc *receiver) snapshot() ([]*received, map[string]int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	acc := make(map[string]int, len(rc.accepted))
	for k, v := range rc.accepted {
		acc[k] = v
	}
	return append([]*received(nil), rc.requests...), acc
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	switch ce := r.Header.Get("Content-Encoding"); ce {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		rd = zr
	case "zstd":
		zr, err := zstd.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		defer zr.Close()
		rd = zr
	default:
		return nil, fmt.Errorf("unexpected Content-Encoding %q", ce)
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if r.ContentLength >= 0 && r.Header.Get("Content-Encoding") == "" && int64(len(b)) != r.ContentLength {
		return nil, fmt.Errorf("body is %d bytes, Content-Length %d", len(b), r.ContentLength)
	}
	return b, nil
}

// parseBody parses body strictly as encoding into rec.
func parseBody(rec *received, encoding, contentType string, body []byte) error {
	want := map[string]string{
		"ndjson": "application/x-ndjson", "json_array": "application/json",
		"elasticsearch_bulk": "application/x-ndjson", "loki": "application/json",
	}[encoding]
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != want {
		return fmt.Errorf("Content-Type %q, want %q", contentType, want)
	}
	addEvent := func(line []byte) error {
		var ev struct {
			ID string `json:"id"`
		}
		if !json.Valid(line) || line[0] != '{' {
			return fmt.Errorf("not a JSON object: %q", line)
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			return err
		}
		rec.IDs = append(rec.IDs, ev.ID)
		rec.Lines = append(rec.Lines, append([]byte(nil), line...))
		return nil
	}
	switch encoding {
	case "ndjson":
		if len(body) == 0 || body[len(body)-1] != '\n' {
			return errors.New("ndjson body must end with a newline")
		}
		for _, line := range bytes.Split(body[:len(body)-1], []byte("\n")) {
			if err := addEvent(line); err != nil {
				return err
			}
		}
	case "json_array":
		var arr []json.RawMessage
		if err := strictUnmarshal(body, &arr); err != nil {
			return err
		}
		for _, line := range arr {
			if err := addEvent(line); err != nil {
				return err
			}
		}
	case "elasticsearch_bulk":
		return parseBulk(rec, body, addEvent)
	case "loki":
		return parseLoki(rec, body, addEvent)
	default:
		return fmt.Errorf("unknown encoding %q", encoding)
	}
	return nil
}

func strictUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

func parseBulk(rec *received, body []byte, addEvent func([]byte) error) error {
	if len(body) == 0 || body[len(body)-1] != '\n' {
		return errors.New("bulk body must end with a newline")
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var action map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := strictUnmarshal(sc.Bytes(), &action); err != nil {
			return fmt.Errorf("action line %q: %w", sc.Bytes(), err)
		}
		if len(action) != 1 {
			return fmt.Errorf("action line %q: want one action", sc.Bytes())
		}
		if !sc.Scan() {
			return errors.New("action line without a document")
		}
		if err := addEvent(sc.Bytes()); err != nil {
			return err
		}
		for name, a := range action {
			if name != "create" && name != "index" {
				return fmt.Errorf("action %q", name)
			}
			if a.Index == "" || a.ID != rec.IDs[len(rec.IDs)-1] {
				return fmt.Errorf("action %+v for document id %q", a, rec.IDs[len(rec.IDs)-1])
			}
			rec.Actions = append(rec.Actions, name)
			rec.Indexes = append(rec.Indexes, a.Index)
		}
	}
	return sc.Err()
}

func parseLoki(rec *received, body []byte, addEvent func([]byte) error) error {
	var push struct {
		Streams []struct {
			Stream map[string]string `json:"stream"`
			Values [][]string        `json:"values"`
		} `json:"streams"`
	}
	if err := strictUnmarshal(body, &push); err != nil {
		return err
	}
	rec.Labels = map[string]string{}
	seen := map[string]bool{}
	for _, s := range push.Streams {
		if len(s.Stream) == 0 {
			return errors.New("stream without labels")
		}
		labels := labelString(s.Stream)
		if seen[labels] {
			return fmt.Errorf("label set %s split over two streams", labels)
		}
		seen[labels] = true
		for _, v := range s.Values {
			if len(v) != 2 {
				return fmt.Errorf("value with %d elements", len(v))
			}
			ts, err := strconv.ParseInt(v[0], 10, 64)
			if err != nil {
				return fmt.Errorf("timestamp %q: %w", v[0], err)
			}
			if err := addEvent([]byte(v[1])); err != nil {
				return err
			}
			rec.Dates = append(rec.Dates, ts)
			rec.Labels[rec.IDs[len(rec.IDs)-1]] = labels
		}
	}
	return nil
}

func labelString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

// bulkAnswerFor builds an Elasticsearch bulk answer for rec: status[i] per
// item (201 when status is nil or holds 0), with an error for failures.
func bulkAnswerFor(rec *received, status []int) []byte {
	type itemBody struct {
		Index  string          `json:"_index"`
		ID     string          `json:"_id"`
		Status int             `json:"status"`
		Error  json.RawMessage `json:"error,omitempty"`
	}
	var a struct {
		Took   int                   `json:"took"`
		Errors bool                  `json:"errors"`
		Items  []map[string]itemBody `json:"items"`
	}
	for i, id := range rec.IDs {
		st := 201
		if i < len(status) && status[i] != 0 {
			st = status[i]
		}
		it := itemBody{Index: rec.Indexes[i], ID: id, Status: st}
		if st >= 300 {
			a.Errors = true
			typ := map[int]string{409: "version_conflict_engine_exception", 429: "es_rejected_execution_exception",
				400: "mapper_parsing_exception"}[st]
			if typ == "" {
				typ = "exception"
			}
			it.Error, _ = json.Marshal(map[string]string{"type": typ, "reason": "item " + id + " failed"})
		}
		a.Items = append(a.Items, map[string]itemBody{rec.Actions[i]: it})
	}
	b, _ := json.Marshal(a)
	return b
}

// failedItems returns the indexes of failed items in a bulk answer (409
// conflicts count as success, as the document is there).
func failedItems(body []byte) map[int]bool {
	var a struct {
		Items []map[string]struct {
			Status int `json:"status"`
		} `json:"items"`
	}
	if json.Unmarshal(body, &a) != nil {
		return nil
	}
	failed := map[int]bool{}
	for i, m := range a.Items {
		for _, it := range m {
			if it.Status >= 300 && it.Status != 409 {
				failed[i] = true
			}
		}
	}
	return failed
}

// makeBatch returns n events with ids from id-<first>, all valid JSON with
// quotes, escapes and non-ASCII text in their messages.
func makeBatch(first, n int) *event.Batch {
	b := &event.Batch{}
	base := time.Date(2024, 3, 9, 22, 15, 0, 0, time.UTC).UnixNano()
	for i := first; i < first+n; i++ {
		id := fmt.Sprintf("id-%06d", i)
		date := base + int64(i)*int64(time.Millisecond)
		sev := []string{"info", "warn", "error"}[i%3]
		raw := fmt.Sprintf(`{"id":%q,"date":%q,"applicationId":"app_1","instanceId":"inst-%d","severity":%q,"message":"line %d \"quoted\" \\ tab\t ünicode ☃"}`,
			id, time.Unix(0, date).UTC().Format(time.RFC3339Nano), i%2, sev, i)
		b.Add(event.Event{Raw: []byte(raw), ID: id, Date: date, Source: "src", AppID: "app_1"})
	}
	return b
}

func ids(b *event.Batch) []string {
	out := make([]string, len(b.Events))
	for i, e := range b.Events {
		out[i] = e.ID
	}
	return out
}
