package kafka

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/logship/logship/event"
)

// TestTopicTemplate routes events by a template of their fields, with the
// literal topic as the fallback for a missing field, an unusable value or a
// topic that does not exist.
func TestTopicTemplate(t *testing.T) {
	c := startCluster(t, kfake.SeedTopics(1, "logs", "logs-app_a", "logs-app_b", "z-none"))
	raws := []struct {
		raw, want string
	}{
		{`{"id":"1","applicationId":"app_a","zone":"par"}`, "logs-app_a"},
		{`{"id":"2","applicationId":"app_b","zone":"par"}`, "logs-app_b"},
		{`{"id":"3","applicationId":"app_c","zone":"par"}`, "logs"},            // no such topic
		{`{"id":"4","zone":"par"}`, "logs"},                                    // field missing
		{`{"id":"5","applicationId":"","zone":"par"}`, "logs"},                 // field empty
		{`{"id":"6","applicationId":"app/a","zone":"par"}`, "logs"},            // not a topic name
		{`{"id":"7","applicationId":{"nested":1},"zone":"par"}`, "logs"},       // not a scalar
		{`{"id":"8","applicationId":"app\u005fa","zone":"par"}`, "logs-app_a"}, // escaped
		{`{"id":"9","applicationId":"app_a","zone":"par"}`, "logs-app_a"},
		{`{"id":"10","applicationId":"app_c","zone":"par"}`, "logs"},
	}
	core, logs := observer.New(zap.WarnLevel)
	cfg := sinkConfig(c, "logs")
	cfg.TopicTemplate = "logs-{applicationId}"
	s, err := New(&cfg, Options{Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	b := &event.Batch{}
	for _, r := range raws {
		id := strings.Split(r.raw, `"`)[3]
		b.Add(event.Event{Raw: []byte(r.raw), ID: id, AppID: "app_x", Source: "s"})
	}
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, topic := range []string{"logs", "logs-app_a", "logs-app_b"} {
		for _, r := range consume(t, c, topic) {
			got[header(r, HeaderID)] = r.Topic
		}
	}
	for _, r := range raws {
		id := strings.Split(r.raw, `"`)[3]
		if got[id] != r.want {
			t.Errorf("%s went to %q, want %q", r.raw, got[id], r.want)
		}
	}
	if n := logs.FilterMessageSnippet("does not exist").Len(); n != 1 {
		t.Errorf("%d warnings about logs-app_c, want 1: %v", n, logs.All())
	}

	// A default in the template stands for a missing field.
	cfg.TopicTemplate = "z-{missing:-none}"
	s2 := newSink(t, cfg)
	if err := s2.Write(t.Context(), makeBatches(3, 1, 3)[0]); err != nil {
		t.Fatal(err)
	}
	if recs := consume(t, c, "z-none"); len(recs) != 3 {
		t.Fatalf("z-none holds %d records, want 3", len(recs))
	}
}

// TestMessageShape checks keys, headers and timestamps for each setting.
func TestMessageShape(t *testing.T) {
	e := testEvent(7, 3) // app_3, src-app_3, id-0000007, zone par
	tests := []struct {
		name      string
		key       string
		headers   bool
		timestamp string
		wantKey   string // "<nil>" for no key
	}{
		{"default", "application_id", true, "event", "app_3"},
		{"source", "source", true, "event", "src-app_3"},
		{"id", "id", true, "event", "id-0000007"},
		{"none", "none", true, "event", "<nil>"},
		{"template", "{zone}/{applicationId}", true, "event", "par/app_3"},
		{"template, field missing", "{instanceId}", true, "event", "app_3"},
		{"template with default", "{instanceId:-?}", true, "event", "?"},
		{"no headers, time now", "application_id", false, "now", "app_3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startCluster(t, kfake.SeedTopics(1, "logs"))
			cfg := sinkConfig(c, "logs")
			cfg.Key, cfg.Headers, cfg.Timestamp = tt.key, tt.headers, tt.timestamp
			s := newSink(t, cfg)
			b := &event.Batch{}
			b.Add(e)
			before := time.Now().Add(-time.Second)
			if err := s.Write(t.Context(), b); err != nil {
				t.Fatal(err)
			}
			recs := consume(t, c, "logs")
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			r := recs[0]
			key := string(r.Key)
			if r.Key == nil {
				key = "<nil>"
			}
			if key != tt.wantKey {
				t.Errorf("key %q, want %q", key, tt.wantKey)
			}
			wantHeaders := []kgo.RecordHeader(nil)
			if tt.headers {
				wantHeaders = []kgo.RecordHeader{
					{Key: HeaderID, Value: []byte(e.ID)},
					{Key: HeaderApplicationID, Value: []byte(e.AppID)},
					{Key: HeaderSource, Value: []byte(e.Source)},
				}
			}
			if len(r.Headers) != len(wantHeaders) {
				t.Fatalf("headers %v, want %v", r.Headers, wantHeaders)
			}
			for i, h := range wantHeaders {
				if r.Headers[i].Key != h.Key || string(r.Headers[i].Value) != string(h.Value) {
					t.Errorf("header %d: %s=%s, want %s=%s", i, r.Headers[i].Key, r.Headers[i].Value, h.Key, h.Value)
				}
			}
			switch tt.timestamp {
			case "event":
				if r.Timestamp.UnixMilli() != e.Date/1e6 {
					t.Errorf("timestamp %v, want the event's %v", r.Timestamp, time.Unix(0, e.Date))
				}
			case "now":
				if r.Timestamp.Before(before) {
					t.Errorf("timestamp %v, want now", r.Timestamp)
				}
			}
		})
	}
}

// TestOversized: an event larger than max_message_bytes is refused for good
// (dead-lettered by the pipeline) and the rest of its batch delivered.
// Around the limit, whatever the sink accepts, kafka-go and a broker whose
// max.message.bytes equals max_message_bytes accept too, even packed in
// batches.
func TestOversized(t *testing.T) {
	const limit = 4096
	c := startCluster(t, kfake.SeedTopics(2, "logs"), kfake.BrokerConfigs(map[string]string{"message.max.bytes": "4096"}))
	cfg := sinkConfig(c, "logs")
	cfg.MaxMessageBytes = limit
	core, logs := observer.New(zap.WarnLevel)
	s, err := New(&cfg, Options{Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := makeBatches(20, 3, 20)[0]
	var wantRejected []int
	for size := limit - batchFraming - 300; size < limit-batchFraming+100; size += 7 {
		e := testEvent(100+b.Len(), b.Len()%3)
		e.Raw = []byte(`{"message":"` + strings.Repeat("x", size-14) + `"}`)
		m := kafkago.Message{Key: []byte(e.AppID), Value: e.Raw, Headers: []kafkago.Header{
			{Key: HeaderID, Value: []byte(e.ID)}, {Key: HeaderApplicationID, Value: []byte(e.AppID)}, {Key: HeaderSource, Value: []byte(e.Source)}}}
		if recordSize(&m) > limit-batchFraming {
			wantRejected = append(wantRejected, b.Len())
		}
		b.Add(e)
	}
	if len(wantRejected) == 0 || len(wantRejected) == b.Len()-20 {
		t.Fatalf("sizes do not straddle the limit: %d rejected", len(wantRejected))
	}
	err = s.Write(t.Context(), b)
	var pe *event.PartialError
	if !errors.As(err, &pe) || len(pe.Retry) != 0 {
		t.Fatalf("write: %#v", err)
	}
	var rejected []int
	for _, r := range pe.Rejected {
		if !strings.Contains(r.Reason, "exceeds max_message_bytes 4096") {
			t.Errorf("reason %q", r.Reason)
		}
		rejected = append(rejected, r.Index)
	}
	if !slices.Equal(rejected, wantRejected) {
		t.Fatalf("rejected %v, want %v", rejected, wantRejected)
	}
	ids := countIDs(consume(t, c, "logs"))
	if len(ids) != b.Len()-len(rejected) {
		t.Fatalf("read %d ids, want %d", len(ids), b.Len()-len(rejected))
	}
	for _, i := range rejected {
		if ids[b.Events[i].ID] != 0 {
			t.Fatalf("rejected event %d was written", i)
		}
	}
	if logs.Len() != 0 {
		t.Errorf("warnings: %v", logs.All())
	}
}

// TestBrokerLimitLower: when the topic accepts less than max_message_bytes,
// the brokers refuse whole batches; the sink resends their messages one by
// one and refuses for good only those too large alone.
func TestBrokerLimitLower(t *testing.T) {
	c := startCluster(t, kfake.SeedTopics(1, "logs"), kfake.BrokerConfigs(map[string]string{"message.max.bytes": "20000"}))
	core, logs := observer.New(zap.WarnLevel)
	cfg := sinkConfig(c, "logs")
	s, err := New(&cfg, Options{Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := makeBatches(300, 3, 300)[0] // ~40 KB
	big := testEvent(1000, 0)
	big.Raw = []byte(`{"message":"` + strings.Repeat("x", 30000) + `"}`)
	b.Events[10] = big
	err = s.Write(t.Context(), b)
	var pe *event.PartialError
	if !errors.As(err, &pe) || len(pe.Retry) != 0 || len(pe.Rejected) != 1 || pe.Rejected[0].Index != 10 {
		t.Fatalf("write: %#v", err)
	}
	ids := countIDs(consume(t, c, "logs"))
	if len(ids) != 299 || ids[big.ID] != 0 {
		t.Fatalf("read %d ids", len(ids))
	}
	if logs.FilterMessageSnippet("too large").Len() != 1 {
		t.Errorf("logs: %v", logs.All())
	}
}
