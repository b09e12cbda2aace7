package pipeline

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
	"github.com/logship/logship/metrics"
)

// replay hands p the events a source would emit when resuming from start:
// those dated from start's look-back cutoff on, less the ids start holds
// (the source's own dedupe).
func replay(t *testing.T, p *Pipeline, start event.Position, lookback time.Duration, evs []event.Event) {
	t.Helper()
	w := event.NewWindow(lookback)
	w.Restore(start)
	for _, e := range evs {
		if e.Date < w.Cutoff() || w.Seen(e.ID) {
			continue
		}
		w.Add(e.ID, e.Date)
		if err := p.Submit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStuckDropNewestSink: a sink stuck on a batch with when_full
// drop_newest neither holds the healthy sink's checkpoint back nor grows
// the tracker; after a clean stop and a restart, the replay (from the
// stuck sink's position) reaches the stuck sink alone: the healthy one
// skips everything its checkpoint covers.
func TestStuckDropNewestSink(t *testing.T) {
	const n = 20_000
	lookback := time.Second
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = testEvent(i, 300) // dated 1 ms apart
	}
	dir := t.TempDir()
	store, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	stuck, healthy := &memSink{}, &memSink{}
	m := metrics.New()
	specs := []SinkSpec{
		{Name: "stuck", Sink: stuck, Batch: config.Batch{MaxEvents: 100, MaxWait: config.Duration(10 * time.Millisecond)},
			Buffer: config.Buffer{MaxBytes: 64 << 10, WhenFull: "drop_newest"}},
		{Name: "healthy", Sink: healthy, Batch: config.Batch{MaxEvents: 100, MaxWait: config.Duration(10 * time.Millisecond)},
			Buffer: config.Buffer{MaxBytes: 256 << 10}},
	}
	p, err := New(withDefaults(Options{Sources: []Source{{Name: "s", AppID: "app_1", Lookback: lookback}}, Sinks: specs,
		Store: store, CheckpointInterval: 20 * time.Millisecond, Metrics: m, DeadLetterPath: filepath.Join(dir, "dead")}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Both sinks take the first 500, then the stuck one hangs.
	for _, e := range evs[:500] {
		if err := p.Submit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "first events", func() bool {
		ps := p.SinkPositions(0)
		return ps[0].LastID == evs[499].ID && ps[1].LastID == evs[499].ID
	})
	release := stuck.hold()
	defer release()
	maxChunks, maxIDs := 0, 0
	for i, e := range evs[500:] {
		if err := p.Submit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		if i%500 == 0 {
			chunks, ids := p.tracker.footprint()
			maxChunks, maxIDs = max(maxChunks, chunks), max(maxIDs, ids)
		}
	}
	waitFor(t, 10*time.Second, "healthy sink's position", func() bool {
		return p.SinkPositions(0)[1].LastID == evs[n-1].ID
	})
	// In flight: the stuck lane's 64 KiB (about 180 events, 2 or 3
	// batches) and the healthy lane's 256 KiB (about 700 events, 8
	// batches): a range per batch. The look-back windows: about 1,000 ids
	// each.
	if maxChunks > 20 || maxIDs > 6_000 {
		t.Fatalf("tracker held up to %d ranges and %d ids for %d events", maxChunks, maxIDs, n)
	}
	if got := p.SinkPositions(0)[0].LastID; got != evs[499].ID {
		t.Fatalf("stuck sink's position moved to %s", got)
	}
	dropped := int(counterValue(t, m.SinkDropped.WithLabelValues("stuck", "buffer_full")))
	if dropped < n-500-200 {
		t.Fatalf("stuck sink dropped %d", dropped)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if healthy.count() != n {
		t.Fatalf("healthy sink got %d of %d", healthy.count(), n)
	}

	// Restart, as the agent does: resume from the oldest position.
	store, err = OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := store.Load("s", "app_1")
	if err != nil {
		t.Fatal(err)
	}
	if cp.Sinks["healthy"].LastID != evs[n-1].ID || cp.Sinks["stuck"].LastID != evs[499].ID {
		t.Fatalf("saved positions: healthy %s, stuck %s", cp.Sinks["healthy"].LastID, cp.Sinks["stuck"].LastID)
	}
	start := cp.Resume([]string{"stuck", "healthy"}, false)
	stuck2, healthy2 := &memSink{}, &memSink{}
	specs[0].Sink, specs[1].Sink = stuck2, healthy2
	specs[0].Buffer.MaxBytes = 64 << 20
	m2 := metrics.New()
	p2 := startPipeline(t, Options{Sources: []Source{{Name: "s", AppID: "app_1", Lookback: lookback, Start: start, Sinks: cp.Sinks}},
		Sinks: specs, Store: store, Metrics: m2})
	replay(t, p2, start, lookback, evs)
	if err := p2.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c := healthy2.count(); c != 0 {
		t.Fatalf("the healthy sink got %d events again", c)
	}
	var want []string
	for _, e := range evs[500:] {
		want = append(want, e.ID)
	}
	checkAllInOrder(t, stuck2.got(), want)
	if ps := p2.SinkPositions(0); ps[0].LastID != evs[n-1].ID || ps[1].LastID != evs[n-1].ID {
		t.Fatalf("positions after the replay: %s, %s", ps[0].LastID, ps[1].LastID)
	}
	if s := int(counterValue(t, m2.SinkSkipped.WithLabelValues("healthy"))); s != n-500 {
		t.Fatalf("healthy sink skipped %d, want %d", s, n-500)
	}
}

// TestResumeFromSinkBehindWithSameNewestDate: two sinks whose positions
// share their newest date (the lines between them are dated earlier: out
// of order, within the look-back) resume from the one behind, so that it
// gets those lines after a restart; the sink ahead skips them. Resuming
// from the position listed first lost them for the sink behind (seeds
// 21036, 21327, 21863 and 22124 of the simulation).
func TestResumeFromSinkBehindWithSameNewestDate(t *testing.T) {
	lookback := time.Second
	evs := make([]event.Event, 10)
	for i := range evs {
		evs[i] = testEvent(i, 200)
	}
	evs[5].Date = 100 * int64(time.Millisecond) // the newest; 6..9 are dated before it
	for i := 6; i < 10; i++ {
		evs[i].Date = int64(50+i) * int64(time.Millisecond)
	}
	dir := t.TempDir()
	store, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ahead, behind := &memSink{}, &memSink{}
	batch := config.Batch{MaxEvents: 6, MaxWait: config.Duration(5 * time.Millisecond)}
	specs := []SinkSpec{{Name: "ahead", Sink: ahead, Batch: batch}, {Name: "behind", Sink: behind, Batch: batch}}
	p, err := New(withDefaults(Options{Sources: []Source{{Name: "s", AppID: "app_1", Lookback: lookback}}, Sinks: specs,
		Store: store, CheckpointInterval: time.Hour, DeadLetterPath: filepath.Join(dir, "dead")}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	submit := func(p *Pipeline, evs []event.Event) {
		for _, e := range evs {
			if err := p.Submit(t.Context(), e); err != nil {
				t.Fatal(err)
			}
		}
	}
	submit(p, evs[:6])
	waitFor(t, 5*time.Second, "both sinks at event 5", func() bool {
		ps := p.SinkPositions(0)
		return ps[0].LastID == evs[5].ID && ps[1].LastID == evs[5].ID
	})
	release := behind.hold()
	defer release()
	submit(p, evs[6:])
	waitFor(t, 5*time.Second, "the sink ahead at event 9", func() bool { return p.SinkPositions(0)[0].LastID == evs[9].ID })
	// A stop whose drain runs out: the sink behind keeps its position.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}

	store, err = OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := store.Load("s", "app_1")
	if err != nil {
		t.Fatal(err)
	}
	if a, b := cp.Sinks["ahead"], cp.Sinks["behind"]; a.LastID != evs[9].ID || b.LastID != evs[5].ID || a.Newest != b.Newest {
		t.Fatalf("saved positions: ahead %s (newest %d), behind %s (newest %d)", a.LastID, a.Newest, b.LastID, b.Newest)
	}
	start := cp.Resume([]string{"ahead", "behind"}, false)
	ahead2, behind2 := &memSink{}, &memSink{}
	specs[0].Sink, specs[1].Sink = ahead2, behind2
	p2 := startPipeline(t, Options{Sources: []Source{{Name: "s", AppID: "app_1", Lookback: lookback, Start: start, Sinks: cp.Sinks}},
		Sinks: specs, Store: store})
	replay(t, p2, start, lookback, evs)
	if err := p2.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := ahead2.count(); n != 0 {
		t.Fatalf("the sink ahead got %d events again", n)
	}
	checkAllInOrder(t, behind2.got(), []string{evs[6].ID, evs[7].ID, evs[8].ID, evs[9].ID})
	if ps := p2.SinkPositions(0); ps[0].LastID != evs[9].ID || ps[1].LastID != evs[9].ID {
		t.Fatalf("positions after the replay: %s, %s", ps[0].LastID, ps[1].LastID)
	}
}
