package httpsink

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	collogs "go.opentelemetry.io/proto/slim/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/slim/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/slim/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/logship/logship/event"
)

// otlpBatch returns lines of two applications and three instances, with
// the shapes a Clever Cloud line takes: enrichment, numbers, booleans,
// null, escapes, severities by word and by syslog priority.
func otlpBatch() *event.Batch {
	b := &event.Batch{}
	base := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC).UnixNano()
	for i := range 12 {
		app := []string{"app_a", "app_b"}[i%2]
		inst := fmt.Sprintf("inst-%d", i%3)
		id := fmt.Sprintf("id-%03d", i)
		date := base + int64(i)*int64(time.Millisecond)
		var sev string
		switch i % 4 {
		case 0:
			sev = `"severity":"info",`
		case 1:
			sev = `"severity":"ERROR",`
		case 2:
			sev = `"priority":4,`
		}
		enrich := ""
		if app == "app_a" {
			enrich = `,"clevercloud":{"application":{"name":"shop web"},"instance":{"index":2,"flavor":"XS"}}`
		}
		raw := fmt.Sprintf(`{"id":%q,"date":%q,"applicationId":%q,"instanceId":%q,"deploymentId":"deployment_1","commitId":"abc123","zone":"par",%s"pid":%d,"ratio":0.5,"ok":true,"gone":null,"tags":["a","b"],"message":"line %d \"q\" \\ \u00e9\u001b[0m"%s}`,
			id, time.Unix(0, date).UTC().Format(time.RFC3339Nano), app, inst, sev, 100+i, i, enrich)
		b.Add(event.Event{Raw: []byte(raw), ID: id, Date: date, Source: "src-" + app, AppID: app})
	}
	return b
}

func newTestOTLP(protocol string) *otlpEncoder {
	e := newOTLPEncoder(OTLPConfig{Protocol: protocol, ResourceAttributes: map[string]string{"deployment.environment.name": "prod"}}, "logship/1.2.3")
	e.now = func() time.Time { return time.Unix(1800000000, 5) }
	return e
}

func attrMap(kvs []*commonpb.KeyValue) map[string]*commonpb.AnyValue {
	m := map[string]*commonpb.AnyValue{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// TestOTLPDecodesWithOfficialTypes encodes a batch in protobuf and JSON and
// decodes both with OpenTelemetry's generated types (proto and protojson):
// the two decode to the same request, and every field is where the
// semantic conventions put it.
func TestOTLPDecodesWithOfficialTypes(t *testing.T) {
	b := otlpBatch()
	var pbReq, jsonReq collogs.ExportLogsServiceRequest
	pbBody := newTestOTLP("protobuf").encode(nil, b.Events, &scratch{})
	if err := proto.Unmarshal(pbBody, &pbReq); err != nil {
		t.Fatalf("protobuf: %v", err)
	}
	jsonBody := newTestOTLP("json").encode(nil, b.Events, &scratch{})
	if err := (protojson.UnmarshalOptions{}).Unmarshal(jsonBody, &jsonReq); err != nil {
		t.Fatalf("json: %v\n%s", err, jsonBody)
	}
	if !proto.Equal(&pbReq, &jsonReq) {
		t.Errorf("protobuf and JSON differ:\n%v\n%v", &pbReq, &jsonReq)
	}
	if len(pbReq.ResourceLogs) != 6 { // 2 apps × 3 instances
		t.Fatalf("%d resources, want 6", len(pbReq.ResourceLogs))
	}
	seen := map[string]int{}
	for _, rl := range pbReq.ResourceLogs {
		ra := attrMap(rl.Resource.Attributes)
		app := ra["clevercloud.application.id"].GetStringValue()
		wantName := app
		if app == "app_a" {
			wantName = "shop web"
		}
		if got := ra["service.name"].GetStringValue(); got != wantName {
			t.Errorf("service.name %q, want %q", got, wantName)
		}
		for k, v := range map[string]string{"cloud.provider": "clever_cloud", "cloud.region": "par", "deployment.id": "deployment_1",
			"vcs.ref.head.revision": "abc123", "deployment.environment.name": "prod"} {
			if got := ra[k].GetStringValue(); got != v {
				t.Errorf("resource %s = %q, want %q", k, got, v)
			}
		}
		inst := ra["service.instance.id"].GetStringValue()
		if len(rl.ScopeLogs) != 1 || rl.ScopeLogs[0].Scope.Name != "logship" || rl.ScopeLogs[0].Scope.Version != "1.2.3" {
			t.Fatalf("scope %v", rl.ScopeLogs)
		}
		for _, lr := range rl.ScopeLogs[0].LogRecords {
			at := attrMap(lr.Attributes)
			id := at["log.record.uid"].GetStringValue()
			seen[id]++
			var i int
			fmt.Sscanf(id, "id-%d", &i)
			ev := b.Events[i]
			if fmt.Sprintf("inst-%d", i%3) != inst {
				t.Errorf("%s under instance %s", id, inst)
			}
			if lr.TimeUnixNano != uint64(ev.Date) || lr.ObservedTimeUnixNano != uint64(time.Unix(1800000000, 5).UnixNano()) {
				t.Errorf("%s: times %d %d", id, lr.TimeUnixNano, lr.ObservedTimeUnixNano)
			}
			wantSev := map[int]logspb.SeverityNumber{0: logspb.SeverityNumber_SEVERITY_NUMBER_INFO, 1: logspb.SeverityNumber_SEVERITY_NUMBER_ERROR,
				2: logspb.SeverityNumber_SEVERITY_NUMBER_WARN, 3: logspb.SeverityNumber_SEVERITY_NUMBER_UNSPECIFIED}[i%4]
			if lr.SeverityNumber != wantSev {
				t.Errorf("%s: severity %v, want %v", id, lr.SeverityNumber, wantSev)
			}
			if (i%4 == 0 && lr.SeverityText != "info") || (i%4 == 1 && lr.SeverityText != "ERROR") {
				t.Errorf("%s: severity text %q", id, lr.SeverityText)
			}
			if want := fmt.Sprintf("line %d \"q\" \\ é\x1b[0m", i); lr.Body.GetStringValue() != want {
				t.Errorf("%s: body %q, want %q", id, lr.Body.GetStringValue(), want)
			}
			if at["pid"].GetIntValue() != int64(100+i) || at["ratio"].GetDoubleValue() != 0.5 || !at["ok"].GetBoolValue() ||
				at["tags"].GetStringValue() != `["a","b"]` {
				t.Errorf("%s: attributes %v", id, lr.Attributes)
			}
			if _, ok := at["gone"]; ok {
				t.Errorf("%s: null attribute sent", id)
			}
			for _, k := range []string{"id", "date", "message", "applicationId", "instanceId", "zone"} {
				if _, ok := at[k]; ok {
					t.Errorf("%s: attribute %s duplicates a field of the record or resource", id, k)
				}
			}
			if app := ev.AppID; app == "app_a" && (at["clevercloud.instance.flavor"].GetStringValue() != "XS" || at["clevercloud.instance.index"].GetIntValue() != 2) {
				t.Errorf("%s: enrichment not flattened: %v", id, lr.Attributes)
			}
		}
	}
	if len(seen) != b.Len() {
		t.Errorf("%d records, want %d", len(seen), b.Len())
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s: %d records", id, n)
		}
	}
}

// otlpReceiver decodes each request with the official types and answers
// through respond.
type otlpReceiver struct {
	mu      sync.Mutex
	records map[string]int
	ctypes  []string
	respond func(n int) (int, string, []byte)
}

func (o *otlpReceiver) serve(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			t.Error(err)
		}
		var req collogs.ExportLogsServiceRequest
		ct := r.Header.Get("Content-Type")
		if ct == "application/json" {
			err = protojson.Unmarshal(body, &req)
		} else {
			err = proto.Unmarshal(body, &req)
		}
		if err != nil {
			t.Errorf("decode: %v", err)
		}
		n := 0
		o.mu.Lock()
		o.ctypes = append(o.ctypes, ct)
		for _, rl := range req.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					o.records[attrMap(lr.Attributes)["log.record.uid"].GetStringValue()]++
					n++
				}
			}
		}
		o.mu.Unlock()
		status, ctype, answer := 200, ct, []byte(nil)
		if o.respond != nil {
			status, ctype, answer = o.respond(n)
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		_, _ = w.Write(answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func partialAnswer(t *testing.T, json bool, rejected int64, msg string) []byte {
	resp := &collogs.ExportLogsServiceResponse{PartialSuccess: &collogs.ExportLogsPartialSuccess{RejectedLogRecords: rejected, ErrorMessage: msg}}
	var b []byte
	var err error
	if json {
		b, err = protojson.Marshal(resp)
	} else {
		b, err = proto.Marshal(resp)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOTLPPartialSuccess: a receiver that rejects some records without
// saying which gets them counted (Options.Rejected); one that rejects them
// all refuses the batch for good (dead-letter).
func TestOTLPPartialSuccess(t *testing.T) {
	for _, protocol := range []string{"protobuf", "json"} {
		t.Run(protocol, func(t *testing.T) {
			o := &otlpReceiver{records: map[string]int{}}
			ctype := map[string]string{"protobuf": "application/x-protobuf", "json": "application/json"}[protocol]
			reject := int64(0)
			o.respond = func(n int) (int, string, []byte) {
				return 200, ctype, partialAnswer(t, protocol == "json", reject, "attribute too long")
			}
			srv := o.serve(t)
			counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
			s := newSink(t, Config{URL: srv.URL + "/v1/logs", Encoding: EncodingOTLP, OTLP: OTLPConfig{Protocol: protocol}},
				Options{Rejected: counter})
			b := otlpBatch()
			if err := s.Write(t.Context(), b); err != nil {
				t.Fatalf("clean answer: %v", err)
			}
			reject = 3
			if err := s.Write(t.Context(), b); err != nil {
				t.Fatalf("partial success: %v", err)
			}
			if got := testutil.ToFloat64(counter); got != 3 {
				t.Errorf("rejected counter %v, want 3", got)
			}
			reject = int64(b.Len())
			err := s.Write(t.Context(), b)
			if !event.IsPermanent(err) || !strings.Contains(err.Error(), "attribute too long") {
				t.Errorf("all rejected: %v, want a permanent error with the reason", err)
			}
			if o.ctypes[0] != ctype {
				t.Errorf("Content-Type %q, want %q", o.ctypes[0], ctype)
			}
			for _, e := range b.Events {
				if o.records[e.ID] != 3 {
					t.Errorf("%s received %d times, want 3", e.ID, o.records[e.ID])
				}
			}
		})
	}
}

// TestOTLPErrorStatus: a protobuf error answer is a google.rpc.Status whose
// message (field 2) is quoted in the error; 503 is retried, 400 is not.
func TestOTLPErrorStatus(t *testing.T) {
	status := 400
	o := &otlpReceiver{records: map[string]int{}, respond: func(int) (int, string, []byte) {
		// google.rpc.Status{code: 3, message: "bad resource"}
		return status, "application/x-protobuf", []byte("\x08\x03\x12\x0cbad resource")
	}}
	srv := o.serve(t)
	s := newSink(t, Config{URL: srv.URL, Encoding: EncodingOTLP}, Options{})
	err := s.Write(t.Context(), otlpBatch())
	if !event.IsPermanent(err) || !strings.Contains(err.Error(), "bad resource") {
		t.Errorf("400: %v", err)
	}
	status = 503
	if err := s.Write(t.Context(), otlpBatch()); err == nil || event.IsPermanent(err) {
		t.Errorf("503: %v, want retryable", err)
	}
	_ = io.Discard
}

func BenchmarkOTLPEncode(b *testing.B) {
	batch := benchBatch(1000)
	for _, p := range []string{"protobuf", "json"} {
		b.Run(p, func(b *testing.B) {
			e := newTestOTLP(p)
			sc := &scratch{}
			var dst []byte
			b.ReportAllocs()
			for b.Loop() {
				dst = e.encode(dst[:0], batch.Events, sc)
			}
			b.SetBytes(int64(batch.Bytes))
			b.ReportMetric(float64(len(dst))/float64(batch.Len()), "B/event")
		})
	}
}
