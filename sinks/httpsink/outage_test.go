package httpsink

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/logship/logship/event"
)

// checkDelivery checks that the receiver accepted every event of batches
// exactly once, and that all the requests of one batch carried one
// Idempotency-Key, distinct from the other batches'.
func checkDelivery(t *testing.T, rc *receiver, batches []*event.Batch) {
	t.Helper()
	reqs, acc := rc.snapshot()
	total := 0
	for _, b := range batches {
		total += b.Len()
		for _, e := range b.Events {
			if acc[e.ID] != 1 {
				t.Errorf("%s accepted %d times, want 1", e.ID, acc[e.ID])
			}
		}
	}
	if len(acc) != total {
		t.Errorf("receiver accepted %d distinct ids, want %d", len(acc), total)
	}
	keyOf := map[string]string{} // first id of a batch -> its key
	batchOf := map[string]string{}
	for _, r := range reqs {
		first := r.IDs[0]
		if k, ok := keyOf[first]; ok && k != r.Key {
			t.Errorf("batch starting at %s sent with keys %q and %q", first, k, r.Key)
		}
		keyOf[first] = r.Key
		if f, ok := batchOf[r.Key]; ok && f != first {
			t.Errorf("key %q used for batches starting at %s and %s", r.Key, f, first)
		}
		batchOf[r.Key] = first
	}
}

// TestOutageThenRecovery is the scenario as stated: the receiver
// answers 503 for 10 s, then recovers. Batches written meanwhile are
// retried (by a loop that does what the pipeline does) until accepted;
// nothing is lost, nothing is doubled, every retry carries the batch's key.
func TestOutageThenRecovery(t *testing.T) {
	t.Parallel()
	const outage = 10 * time.Second
	var (
		mu    sync.Mutex
		start time.Time
	)
	rc := newReceiver(t, "ndjson", func(r *received) reply {
		mu.Lock()
		defer mu.Unlock()
		if start.IsZero() {
			start = r.At
		}
		if r.At.Sub(start) < outage {
			return reply{Status: 503, Body: []byte("maintenance")}
		}
		return reply{Status: 200}
	})
	s := newSink(t, Config{URL: rc.url()}, Options{})
	d := &deliverer{sink: s, initial: 50 * time.Millisecond, maxBackoff: time.Second,
		deadLetter: filepath.Join(t.TempDir(), "dead.ndjson")}
	var batches []*event.Batch
	for i := range 5 {
		b := makeBatch(i*100, 100)
		batches = append(batches, b)
		if err := d.deliver(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	checkDelivery(t, rc, batches)
	reqs, _ := rc.snapshot()
	firstOK := slices.IndexFunc(reqs, func(r *received) bool { return r.At.Sub(start) >= outage })
	if firstOK < 2 {
		t.Fatalf("the first batch was accepted after %d attempts: the outage was not exercised", firstOK)
	}
	for _, r := range reqs[:firstOK] {
		if r.Key != reqs[0].Key || !slices.Equal(r.IDs, ids(batches[0])) {
			t.Fatalf("a retry during the outage differs from the first attempt")
		}
	}
	if dl := readDead(t, d.deadLetter); len(dl) != 0 {
		t.Fatalf("%d events dead-lettered during a retryable outage", len(dl))
	}
}

// TestConcurrentWritesFlakyReceiver writes from several goroutines at once
// (in_flight 4) to a receiver that fails a third of the requests with 5xx
// or 429; every event is accepted exactly once.
func TestConcurrentWritesFlakyReceiver(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	rc := newReceiver(t, "ndjson", func(*received) reply {
		mu.Lock()
		x := rng.IntN(9)
		mu.Unlock()
		switch x {
		case 0:
			return reply{Status: 500}
		case 1:
			return reply{Status: 502}
		case 2:
			return reply{Status: 429, Header: map[string]string{"Retry-After": "0"}}
		}
		return reply{Status: 200}
	})
	for _, comp := range []string{"none", "gzip", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			s := newSink(t, Config{URL: rc.url(), Compression: comp}, Options{InFlight: 4})
			d := &deliverer{sink: s, initial: time.Millisecond, maxBackoff: 10 * time.Millisecond,
				deadLetter: filepath.Join(t.TempDir(), "dead.ndjson")}
			var batches []*event.Batch
			base := map[string]int{"none": 0, "gzip": 100000, "zstd": 200000}[comp]
			for i := range 40 {
				batches = append(batches, makeBatch(base+i*50, 50))
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for i := w; i < len(batches); i += 4 {
						if err := d.deliver(ctx, batches[i]); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			_, acc := rc.snapshot()
			for _, b := range batches {
				for _, e := range b.Events {
					if acc[e.ID] != 1 {
						t.Fatalf("%s accepted %d times", e.ID, acc[e.ID])
					}
				}
			}
			if d.attempts <= len(batches) {
				t.Errorf("%d attempts for %d batches: the failures were not exercised", d.attempts, len(batches))
			}
		})
	}
}

// TestReplayAfterLostAnswer: the receiver takes a batch but the connection
// drops before its answer; the sink's retry carries the same key, so the
// receiver, deduplicating by key, keeps the batch once.
func TestReplayAfterLostAnswer(t *testing.T) {
	var (
		mu   sync.Mutex
		keys = map[string]int{}
		lost = false
	)
	stored := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		rec := &received{}
		if err == nil {
			err = parseBody(rec, "ndjson", r.Header.Get("Content-Type"), body)
		}
		if err != nil {
			t.Errorf("receiver: %v", err)
			return
		}
		key := r.Header.Get(IdempotencyHeader)
		mu.Lock()
		keys[key]++
		if keys[key] == 1 { // a new batch: store it
			for _, id := range rec.IDs {
				stored[id]++
			}
		}
		drop := !lost
		lost = true
		mu.Unlock()
		if drop { // the answer is lost: close the connection without one
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	s := newSink(t, Config{URL: srv.URL}, Options{})
	b := makeBatch(0, 10)
	// The transport may replay the request by itself (it is idempotent by
	// its key); otherwise the lost answer is a retryable error.
	if err := s.Write(t.Context(), b); err != nil {
		if event.IsPermanent(err) {
			t.Fatalf("lost answer: err %v, want a retryable error", err)
		}
		if err := s.Write(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 1 {
		t.Fatalf("retry used a new key: %v", keys)
	}
	for k, n := range keys {
		if n != 2 {
			t.Fatalf("key %s seen %d times, want 2", k, n)
		}
	}
	for _, e := range b.Events {
		if stored[e.ID] != 1 {
			t.Errorf("%s stored %d times", e.ID, stored[e.ID])
		}
	}
}
