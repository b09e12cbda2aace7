package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
	"github.com/logship/logship/metrics"
)

// counterValue reads a counter.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// checkAllInOrder fails unless sink got exactly the events want[i] (by id),
// in order.
func checkAllInOrder(t *testing.T, got []event.Event, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("sink got %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i] {
			t.Fatalf("event %d is %s, want %s", i, got[i].ID, want[i])
		}
	}
}

// TestThrottleBlockRate: in block mode, 20,000 events pass at the rate
// (never faster, within 5 %), none lost, in order; the waits the throttle
// asks for add up to what the rate needs, no more.
func TestThrottleBlockRate(t *testing.T) {
	const n, rate, burst = 20_000, 10_000.0, 100
	sink := &memSink{}
	m := metrics.New()
	p := startPipeline(t, Options{
		Metrics:  m,
		Sinks:    []SinkSpec{{Name: "mem", Sink: sink, Batch: config.Batch{MaxWait: config.Duration(10 * time.Millisecond)}}},
		Throttle: config.Throttle{Rate: rate, Burst: burst, Mode: "block"},
	})
	ids := make([]string, n)
	start := time.Now()
	for i := range n {
		e := testEvent(i, 200)
		ids[i] = e.ID
		if err := p.Submit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	want := time.Duration(float64(n-burst) / rate * float64(time.Second))
	// Faster than the rate is a throttle bug: 5 % at most. Slower can also
	// be a starved machine: CI runs packages side by side on 2 cores, and
	// a timer that wakes the source late loses the tokens beyond the burst
	// (seen: +37 % at a load average of 12). So the slow side only catches
	// a rate off by a unit (per ms or per s: 1,000×) or a stuck bucket:
	// at most twice the time.
	if dev := elapsed.Seconds()/want.Seconds() - 1; dev < -0.05 || dev > 1 {
		t.Fatalf("%d events took %v, want %v -5%%/+100%% (%+.1f%%)", n, elapsed, want, dev*100)
	}
	// The time blocked is counted, and is time of the run.
	waited := time.Duration(counterValue(t, m.ThrottleWait) * float64(time.Second))
	if waited <= 0 || waited > elapsed {
		t.Fatalf("logship_throttle_wait_seconds_total = %v over a run of %v", waited, elapsed)
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkAllInOrder(t, sink.got(), ids)
	if pos := p.Position(0); pos.LastID != ids[n-1] {
		t.Fatalf("checkpoint at %q, want %q", pos.LastID, ids[n-1])
	}
	t.Logf("%d events in %v (blocked %v): %.0f events/s for a rate of %.0f", n, elapsed, waited, float64(n-burst)/elapsed.Seconds(), rate)
}

// TestThrottleDropBound: in drop mode, under an offered load four times
// the rate, at most rate × elapsed + burst events pass; the rest are
// counted as dropped and still move the checkpoint.
func TestThrottleDropBound(t *testing.T) {
	const rate, burst = 2_000.0, 50
	sink := &memSink{}
	m := metrics.New()
	p := startPipeline(t, Options{
		Sinks:    []SinkSpec{{Name: "mem", Sink: sink, Batch: config.Batch{MaxWait: config.Duration(10 * time.Millisecond)}}},
		Throttle: config.Throttle{Rate: rate, Burst: burst, Mode: "drop"},
		Metrics:  m,
	})
	n := 0
	start := time.Now()
	for time.Since(start) < time.Second {
		// Offer 8,000 events/s in steps of 1 ms.
		for range 8 {
			if err := p.Submit(t.Context(), testEvent(n, 200)); err != nil {
				t.Fatal(err)
			}
			n++
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	delivered := sink.count()
	dropped := int(counterValue(t, m.Dropped.WithLabelValues("throttle")))
	bound := int(rate*elapsed.Seconds()) + burst
	t.Logf("offered %d in %v: delivered %d (bound %d), dropped %d", n, elapsed, delivered, bound, dropped)
	if delivered > bound {
		t.Fatalf("delivered %d > rate × elapsed + burst = %d", delivered, bound)
	}
	if delivered < int(rate*elapsed.Seconds()*0.5) {
		t.Fatalf("delivered only %d: the throttle drops far more than asked", delivered)
	}
	if dropped != n-delivered {
		t.Fatalf("dropped counter %d, want %d - %d = %d", dropped, n, delivered, n-delivered)
	}
	if pos := p.Position(0); pos.LastID != testEvent(n-1, 0).ID {
		t.Fatalf("checkpoint at %q, want the last event %q", pos.LastID, testEvent(n-1, 0).ID)
	}
}

// TestThrottlePerKey: each application or instance has its own bucket.
func TestThrottlePerKey(t *testing.T) {
	for _, key := range []string{"application", "instance"} {
		t.Run(key, func(t *testing.T) {
			sink := &memSink{}
			p := startPipeline(t, Options{
				Sources:  []Source{{Name: "a"}, {Name: "b"}},
				Sinks:    []SinkSpec{{Name: "mem", Sink: sink}},
				Throttle: config.Throttle{Rate: 0.01, Burst: 5, Mode: "drop", Key: key},
			})
			for i := range 60 {
				e := testEvent(i, 100) // instanceId inst-0, inst-1, inst-2
				e.SourceIndex = i % 2
				e.AppID = []string{"app_a", "app_b"}[i%2]
				if err := p.Submit(t.Context(), e); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			want := map[string]int{"application": 2 * 5, "instance": 3 * 5}[key]
			if got := sink.count(); got != want {
				t.Fatalf("delivered %d, want %d (5 per key)", got, want)
			}
		})
	}
}

// TestThrottleKeysBounded: idle buckets are evicted, and the number of
// buckets never passes maxThrottleKeys.
func TestThrottleKeysBounded(t *testing.T) {
	ev := func(i int) *event.Event {
		return &event.Event{Raw: fmt.Appendf(nil, `{"id":"x","instanceId":"i-%d"}`, i)}
	}
	// Buckets that refill at once are idle as soon as used: evicted.
	fast := newThrottle(config.Throttle{Rate: 1e9, Burst: 1, Mode: "drop", Key: "instance"}, nil)
	for i := range 50_000 {
		if ok, _ := fast.admit(t.Context(), ev(i)); !ok {
			t.Fatal("dropped below the rate")
		}
	}
	if k := fast.keys(); k > 2048 {
		t.Fatalf("%d buckets held for keys long idle", k)
	}
	// Buckets that never refill cannot be evicted: the bound holds.
	slow := newThrottle(config.Throttle{Rate: 1e-9, Burst: 1, Mode: "drop", Key: "instance"}, nil)
	for i := range maxThrottleKeys + 2000 {
		slow.admit(t.Context(), ev(i))
	}
	if k := slow.keys(); k != maxThrottleKeys {
		t.Fatalf("%d buckets, want the bound %d", k, maxThrottleKeys)
	}
}

// TestBufferBlockBoundsMemory: a sink that hangs holds at most its buffer;
// Submit then blocks (backpressure); the checkpoint waits; once the sink
// recovers, everything arrives once, in order.
func TestBufferBlockBoundsMemory(t *testing.T) {
	const bound = 64 << 10
	sink := &memSink{}
	release := sink.hold()
	defer release()
	p := startPipeline(t, Options{Sinks: []SinkSpec{{Name: "mem", Sink: sink,
		Batch:  config.Batch{MaxEvents: 10, MaxBytes: 16 << 10, MaxWait: config.Duration(5 * time.Millisecond)},
		Buffer: config.Buffer{MaxBytes: bound}}}})
	var ids []string
	for i := 0; ; i++ {
		e := testEvent(i, 1000)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		err := p.Submit(ctx, e)
		cancel()
		if err != nil {
			break // blocked: the buffer is full
		}
		ids = append(ids, e.ID)
		if i > 1000 {
			t.Fatal("Submit never blocked")
		}
	}
	held := heldBytes(p.lanes[0])
	if held > bound || held < bound-2*1064 {
		t.Fatalf("held %d bytes, want just under the bound %d", held, bound)
	}
	if pos := p.Position(0); pos.LastID != "" {
		t.Fatalf("checkpoint moved to %q while the sink hangs", pos.LastID)
	}
	release()
	for i, end := len(ids), len(ids)+100; i < end; i++ {
		e := testEvent(i, 1000)
		if err := p.Submit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkAllInOrder(t, sink.got(), ids)
	if pos := p.Position(0); pos.LastID != ids[len(ids)-1] {
		t.Fatalf("checkpoint at %q, want %q", pos.LastID, ids[len(ids)-1])
	}
}

// TestBufferDropNewest: a hanging sink with when_full: drop_newest never
// blocks the others; what it could not hold is counted as dropped, and the
// checkpoint moves once it delivered what it held.
func TestBufferDropNewest(t *testing.T) {
	slow, fast := &memSink{}, &memSink{}
	release := slow.hold()
	defer release()
	m := metrics.New()
	p := startPipeline(t, Options{Metrics: m, Sinks: []SinkSpec{
		{Name: "slow", Sink: slow, Batch: config.Batch{MaxEvents: 10, MaxBytes: 8 << 10, MaxWait: config.Duration(5 * time.Millisecond)},
			Buffer: config.Buffer{MaxBytes: 32 << 10, WhenFull: "drop_newest"}},
		{Name: "fast", Sink: fast},
	}})
	const n = 1000
	ids := make([]string, n)
	for i := range n {
		e := testEvent(i, 1000)
		ids[i] = e.ID
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		if err := p.Submit(ctx, e); err != nil {
			t.Fatalf("event %d: %v (drop_newest must not block)", i, err)
		}
		cancel()
	}
	waitFor(t, 5*time.Second, "the fast sink", func() bool { return fast.count() == n })
	release()
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkAllInOrder(t, fast.got(), ids)
	got := slow.got()
	dropped := int(counterValue(t, m.Dropped.WithLabelValues("buffer_full")))
	if len(got) == 0 || len(got) > 32 || dropped != n-len(got) {
		t.Fatalf("slow sink got %d, dropped counter %d, want %d in all", len(got), dropped, n)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatal("slow sink's events out of order")
		}
	}
	if pos := p.Position(0); pos.LastID != ids[n-1] {
		t.Fatalf("checkpoint at %q, want %q", pos.LastID, ids[n-1])
	}
}

// TestFilterAndFieldsThroughSubmit: filtered events are dropped, counted and
// checkpointed; kept ones are shaped; untouched ones keep their raw bytes.
func TestFilterAndFieldsThroughSubmit(t *testing.T) {
	sink := &memSink{}
	m := metrics.New()
	p := startPipeline(t, Options{Metrics: m,
		Sinks:  []SinkSpec{{Name: "mem", Sink: sink}},
		Filter: config.Filter{MinSeverity: "warning", MessageNotContains: []string{"ignore me"}},
		Fields: config.Fields{Exclude: []string{"instanceId"}},
	})
	lines := []string{
		`{"id":"1","date":"d","severity":"info","message":"dropped: info"}`,
		`{"id":"2","date":"d","severity":"err","instanceId":"i","message":"kept"}`,
		`{"id":"3","date":"d","severity":"err","message":"IGNORE ME please"}`,
		`{"id":"4","date":"d","severity":"warning","message":"kept as is"}`,
	}
	for _, l := range lines {
		var v struct{ ID string }
		_ = json.Unmarshal([]byte(l), &v)
		if err := p.Submit(t.Context(), event.Event{Raw: []byte(l), ID: v.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := sink.got()
	if len(got) != 2 || string(got[0].Raw) != `{"id":"2","date":"d","severity":"err","message":"kept"}` || string(got[1].Raw) != lines[3] {
		t.Fatalf("sink got %d events: %v", len(got), got)
	}
	if n := counterValue(t, m.Dropped.WithLabelValues("filter")); n != 2 {
		t.Fatalf("filter drops counted %v, want 2", n)
	}
	if pos := p.Position(0); pos.LastID != "4" {
		t.Fatalf("checkpoint at %q, want 4", pos.LastID)
	}
}

// TestOversizeDeadLettered: an event larger than a sink's batch.max_bytes
// goes to the dead-letter file for that sink (with its name, the reason
// and the time) and still reaches the other sinks.
func TestOversizeDeadLettered(t *testing.T) {
	small, large := &memSink{}, &memSink{}
	dead := t.TempDir() + "/dead.ndjson"
	m := metrics.New()
	p := startPipeline(t, Options{Metrics: m, DeadLetterPath: dead, Sinks: []SinkSpec{
		{Name: "small", Sink: small, Batch: config.Batch{MaxBytes: 500}, Buffer: config.Buffer{MaxBytes: 4096}},
		{Name: "large", Sink: large},
	}})
	for i, size := range []int{300, 1000, 300} {
		if err := p.Submit(t.Context(), testEvent(i, size)); err != nil {
			t.Fatal(err)
		}
	}
	// A line refused before any sink (the source's max_event_bytes).
	if err := p.DeadLetter(t.Context(), testEvent(3, 100), "event of 100 bytes exceeds max_event_bytes 10"); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(small.got()) != 2 || len(large.got()) != 3 {
		t.Fatalf("small got %d, large %d", len(small.got()), len(large.got()))
	}
	data, err := os.ReadFile(dead)
	if err != nil {
		t.Fatal(err)
	}
	type deadRecord struct {
		Time   time.Time
		Reason string
		Sink   *string
		Source string
		ID     string
		Event  json.RawMessage
	}
	var recs []deadRecord
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var rec deadRecord
		if err := json.Unmarshal(l, &rec); err != nil {
			t.Fatalf("dead letter not JSON: %v: %s", err, l)
		}
		recs = append(recs, rec)
	}
	if len(recs) != 2 {
		t.Fatalf("%d dead letters, want 2", len(recs))
	}
	r := recs[0]
	if r.Sink == nil || *r.Sink != "small" || r.ID != testEvent(1, 0).ID || !strings.Contains(r.Reason, "1000 bytes exceeds the sink's batch.max_bytes 500") ||
		time.Since(r.Time) > time.Minute || !bytes.Equal(r.Event, testEvent(1, 1000).Raw) {
		t.Fatalf("oversize dead letter: %+v", r)
	}
	if recs[1].Sink != nil || !strings.Contains(recs[1].Reason, "max_event_bytes") {
		t.Fatalf("source dead letter: %+v", recs[1])
	}
	if n := counterValue(t, m.DeadLetters.WithLabelValues("too_large")); n != 2 {
		t.Fatalf("too_large dead letters counted %v, want 2", n)
	}
	if pos := p.Position(0); pos.LastID != testEvent(3, 0).ID {
		t.Fatalf("checkpoint at %q", pos.LastID)
	}
}

// rawSink records the address of each event's first byte.
type rawSink struct {
	memSink
	first []*byte
}

func (s *rawSink) Write(ctx context.Context, b *event.Batch) error {
	s.mu.Lock()
	for i := range b.Events {
		s.first = append(s.first, &b.Events[i].Raw[0])
	}
	s.mu.Unlock()
	return s.memSink.Write(ctx, b)
}

// TestUnchangedEventsKeepRawBytes: when no stage changes an event, the sink
// gets the very bytes the source submitted.
func TestUnchangedEventsKeepRawBytes(t *testing.T) {
	sink := &rawSink{}
	p := startPipeline(t, Options{
		Sinks:    []SinkSpec{{Name: "raw", Sink: sink}},
		Filter:   config.Filter{MinSeverity: "debug"},
		Throttle: config.Throttle{Rate: 1e6, Burst: 1000, Mode: "block"},
		Fields:   config.Fields{Exclude: []string{"absent"}, ParseMessageJSON: true},
	})
	evs := []event.Event{testEvent(0, 200), testEvent(1, 300)}
	for _, e := range evs {
		if err := p.Submit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(sink.first) != 2 || sink.first[0] != &evs[0].Raw[0] || sink.first[1] != &evs[1].Raw[0] {
		t.Fatal("an unchanged event reached the sink as a copy")
	}
}
