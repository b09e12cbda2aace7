package httpsink

import (
	"bytes"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logship/logship/event"
	"github.com/logship/logship/pipeline"
)

var (
	_ pipeline.Sink    = (*Sink)(nil)
	_ pipeline.Starter = (*Sink)(nil)
)

func newSink(t *testing.T, cfg Config, opts Options) *Sink {
	t.Helper()
	s, err := New(&cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestEncodingsRoundTrip writes batches in every encoding and compression
// to a receiver that parses them strictly, and checks that every event
// arrives once, in order, byte for byte.
func TestEncodingsRoundTrip(t *testing.T) {
	for _, enc := range []string{"ndjson", "json_array", "elasticsearch_bulk", "loki"} {
		for _, comp := range []string{"none", "gzip", "zstd"} {
			t.Run(enc+"/"+comp, func(t *testing.T) {
				rc := newReceiver(t, enc, nil)
				s := newSink(t, Config{URL: rc.url(), Encoding: enc, Compression: comp}, Options{})
				// Sizes vary so that pooled buffers are reused larger and smaller.
				batches := []*event.Batch{makeBatch(0, 300), makeBatch(300, 7), makeBatch(307, 1)}
				for _, b := range batches {
					if err := s.Write(t.Context(), b); err != nil {
						t.Fatalf("Write: %v", err)
					}
				}
				reqs, acc := rc.snapshot()
				if len(reqs) != len(batches) {
					t.Fatalf("got %d requests, want %d", len(reqs), len(batches))
				}
				for i, b := range batches {
					r := reqs[i]
					wantCE := comp
					if comp == "none" {
						wantCE = ""
					}
					if got := r.Header.Get("Content-Encoding"); got != wantCE {
						t.Errorf("Content-Encoding %q, want %q", got, wantCE)
					}
					if r.Key != IdempotencyKey("http", b.Events) {
						t.Errorf("request %d: Idempotency-Key %q", i, r.Key)
					}
					gotIDs := r.IDs
					if enc == "loki" { // grouped by labels: compare as sets
						gotIDs = slices.Sorted(slices.Values(gotIDs))
					}
					if !slices.Equal(gotIDs, ids(b)) {
						t.Fatalf("request %d: ids %v, want %v", i, gotIDs, ids(b))
					}
					byID := map[string][]byte{}
					for j, id := range r.IDs {
						byID[id] = r.Lines[j]
					}
					for _, e := range b.Events {
						if !bytes.Equal(byID[e.ID], e.Raw) {
							t.Fatalf("event %s arrived as %s, want %s", e.ID, byID[e.ID], e.Raw)
						}
					}
					for j, idx := range r.Indexes {
						if idx != "logship-2024.03.09" || r.Actions[j] != "create" {
							t.Fatalf("bulk action %s %s", r.Actions[j], idx)
						}
					}
					for j, d := range r.Dates {
						if want := b.Events[slices.Index(ids(b), r.IDs[j])].Date; d != want {
							t.Fatalf("loki timestamp %d, want %d", d, want)
						}
					}
				}
				for id, n := range acc {
					if n != 1 {
						t.Errorf("%s accepted %d times", id, n)
					}
				}
			})
		}
	}
}

// TestStatusClassification checks the error class of each kind of answer.
func TestStatusClassification(t *testing.T) {
	type kind int
	const (
		ok kind = iota
		retryable
		retryAfter
		permanent
	)
	tests := []struct {
		status     int
		retryAfter string
		want       kind
		wantDelay  time.Duration
	}{
		{200, "", ok, 0},
		{202, "", ok, 0},
		{204, "", ok, 0},
		{400, "", permanent, 0},
		{401, "", permanent, 0},
		{403, "", permanent, 0},
		{404, "", permanent, 0},
		{413, "", permanent, 0},
		{422, "", permanent, 0},
		{400, "5", permanent, 0}, // Retry-After does not make a 400 retryable
		{408, "", retryable, 0},
		{429, "", retryable, 0},
		{500, "", retryable, 0},
		{502, "", retryable, 0},
		{503, "", retryable, 0},
		{504, "", retryable, 0},
		{429, "7", retryAfter, 7 * time.Second},
		{503, "0", retryAfter, 0},
		{503, "soon", retryable, 0},                           // unreadable: plain backoff
		{503, "Wed, 21 Oct 2015 07:28:00 GMT", retryAfter, 0}, // in the past: now
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status)+"/"+tt.retryAfter, func(t *testing.T) {
			rc := newReceiver(t, "ndjson", func(*received) reply {
				h := map[string]string{}
				if tt.retryAfter != "" {
					h["Retry-After"] = tt.retryAfter
				}
				return reply{Status: tt.status, Header: h, Body: []byte("the receiver's reason\n")}
			})
			s := newSink(t, Config{URL: rc.url()}, Options{})
			err := s.Write(t.Context(), makeBatch(0, 3))
			delay, hasDelay := event.RetryDelay(err)
			var got kind
			switch {
			case err == nil:
				got = ok
			case event.IsPermanent(err):
				got = permanent
			case hasDelay:
				got = retryAfter
			default:
				got = retryable
			}
			if got != tt.want {
				t.Fatalf("err %v: kind %d, want %d", err, got, tt.want)
			}
			if hasDelay && delay != tt.wantDelay {
				t.Errorf("delay %v, want %v", delay, tt.wantDelay)
			}
			if err != nil {
				var se *StatusError
				if !errors.As(err, &se) || se.Code != tt.status {
					t.Fatalf("err %v is not a StatusError %d", err, tt.status)
				}
				if !strings.Contains(err.Error(), "the receiver's reason") {
					t.Errorf("error %q lacks the receiver's reason", err)
				}
			}
		})
	}
}

// TestRetryAfterHonoured: a 429 with Retry-After (seconds, then an HTTP
// date) delays the next attempt by what the receiver asked.
func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	var until time.Time
	rc := newReceiver(t, "ndjson", func(r *received) reply {
		switch r.N {
		case 0:
			return reply{Status: 429, Header: map[string]string{"Retry-After": "1"}}
		case 1:
			until = time.Now().Add(2 * time.Second).Truncate(time.Second)
			return reply{Status: 503, Header: map[string]string{"Retry-After": until.UTC().Format(http.TimeFormat)}}
		}
		return reply{Status: 200}
	})
	s := newSink(t, Config{URL: rc.url()}, Options{})
	d := &deliverer{sink: s, initial: time.Millisecond, maxBackoff: time.Millisecond,
		deadLetter: filepath.Join(t.TempDir(), "dead.ndjson")}
	if err := d.deliver(t.Context(), makeBatch(0, 5)); err != nil {
		t.Fatal(err)
	}
	reqs, _ := rc.snapshot()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	if d.waits[0] != time.Second {
		t.Errorf("first wait %v, want 1s", d.waits[0])
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < time.Second {
		t.Errorf("second attempt %v after the first, want ≥ 1s", gap)
	}
	if d.waits[1] <= 0 || d.waits[1] > 2*time.Second {
		t.Errorf("wait for an HTTP date 1–2 s ahead: %v", d.waits[1])
	}
	if reqs[2].At.Before(until) {
		t.Errorf("third attempt at %v, before the Retry-After date %v", reqs[2].At, until)
	}
	for _, r := range reqs {
		if r.Key != reqs[0].Key {
			t.Errorf("Idempotency-Key changed across retries: %q, %q", reqs[0].Key, r.Key)
		}
	}
}

// TestBadRequestGoesToDeadLetter: a 400 is not retried; the batch lands in
// the dead-letter file with the receiver's reason.
func TestBadRequestGoesToDeadLetter(t *testing.T) {
	rc := newReceiver(t, "ndjson", func(*received) reply {
		return reply{Status: 400, Body: []byte(`{"error":"field message too long"}`)}
	})
	s := newSink(t, Config{URL: rc.url()}, Options{})
	dl := filepath.Join(t.TempDir(), "dead.ndjson")
	d := &deliverer{sink: s, initial: time.Millisecond, maxBackoff: time.Millisecond, deadLetter: dl}
	b := makeBatch(0, 20)
	if err := d.deliver(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if d.attempts != 1 {
		t.Errorf("%d attempts, want 1 (a 400 is never retried)", d.attempts)
	}
	deads := readDead(t, dl)
	if len(deads) != b.Len() {
		t.Fatalf("%d dead letters, want %d", len(deads), b.Len())
	}
	for i, dd := range deads {
		if dd.ID != b.Events[i].ID || !bytes.Equal(dd.Event, b.Events[i].Raw) {
			t.Errorf("dead letter %d: %s %s", i, dd.ID, dd.Event)
		}
		if !strings.Contains(dd.Reason, "400") || !strings.Contains(dd.Reason, "field message too long") {
			t.Errorf("reason %q", dd.Reason)
		}
	}
}

// TestRedirects: 307 and 308 are followed with the body; a 302 would turn
// the POST into a GET without the batch, so it is a refusal.
func TestRedirects(t *testing.T) {
	for _, tt := range []struct {
		code      int
		permanent bool
	}{{307, false}, {308, false}, {302, true}, {301, true}, {303, true}} {
		t.Run(http.StatusText(tt.code), func(t *testing.T) {
			final := newReceiver(t, "ndjson", nil)
			hop := newReceiver(t, "ndjson", func(*received) reply {
				return reply{Status: tt.code, Header: map[string]string{"Location": final.url()}}
			})
			s := newSink(t, Config{URL: hop.url()}, Options{})
			b := makeBatch(0, 4)
			err := s.Write(t.Context(), b)
			if event.IsPermanent(err) != tt.permanent || (!tt.permanent && err != nil) {
				t.Fatalf("err %v, want permanent=%v", err, tt.permanent)
			}
			reqs, _ := final.snapshot()
			if tt.permanent {
				if len(reqs) != 0 {
					t.Fatalf("redirect %d followed", tt.code)
				}
				return
			}
			if len(reqs) != 1 || !slices.Equal(reqs[0].IDs, ids(b)) {
				t.Fatalf("final receiver got %d requests", len(reqs))
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := map[string]Config{
		"no url":         {},
		"ftp url":        {URL: "ftp://x/"},
		"no host":        {URL: "http:///x"},
		"method":         {URL: "http://x/", Method: "GET"},
		"encoding":       {URL: "http://x/", Encoding: "xml"},
		"compression":    {URL: "http://x/", Compression: "brotli"},
		"index template": {URL: "http://x/", Encoding: "elasticsearch_bulk", Elasticsearch: ElasticsearchConfig{Index: "logs-%Q"}},
		"label template": {URL: "http://x/", Encoding: "loki", Loki: LokiConfig{Labels: map[string]string{"a": "{b"}}},
		"auth":           {URL: "http://x/", Auth: AuthConfig{Strategy: "digest"}},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := New(&cfg, Options{}); err == nil {
				t.Fatal("New accepted a bad config")
			}
		})
	}
}

func TestEmptyBatchSendsNothing(t *testing.T) {
	rc := newReceiver(t, "ndjson", nil)
	s := newSink(t, Config{URL: rc.url()}, Options{})
	if err := s.Write(t.Context(), &event.Batch{}); err != nil {
		t.Fatal(err)
	}
	if reqs, _ := rc.snapshot(); len(reqs) != 0 {
		t.Fatalf("%d requests for an empty batch", len(reqs))
	}
}
