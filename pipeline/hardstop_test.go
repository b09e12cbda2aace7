package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
)

// refuseFirstSink refuses (retryably) every batch that holds the event
// with id first, as a full disk refuses a batch too large for the room
// left, and accepts the others; like the file and stdout sinks, it does not
// look at the context.
type refuseFirstSink struct {
	first string

	mu       sync.Mutex
	attempts int
	got      []string
}

func (s *refuseFirstSink) Write(_ context.Context, b *event.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range b.Events {
		if e.ID == s.first {
			s.attempts++
			return errors.New("file too large")
		}
	}
	for _, e := range b.Events {
		s.got = append(s.got, e.ID)
	}
	return nil
}

func (s *refuseFirstSink) Close() error { return nil }

// TestHardStopWritesNothingMore: once a drain runs out of time, the lane's
// writers abandon every batch still queued rather than write it: a sink
// that does not look at the context (file, stdout) took the batches queued
// behind the one it refused, and the file held a line of the stream ahead
// of the earlier ones abandoned, which the next start wrote again (seed
// 1273 of the simulation: a short write across a stop).
func TestHardStopWritesNothingMore(t *testing.T) {
	evs := make([]event.Event, 4)
	for i := range evs {
		evs[i] = testEvent(i, 200)
	}
	sink := &refuseFirstSink{first: evs[0].ID}
	p := startPipeline(t, Options{Sinks: []SinkSpec{{Name: "file", Sink: sink,
		Batch: config.Batch{MaxEvents: 1}, MinRetry: time.Millisecond, MaxRetry: 5 * time.Millisecond}}})
	for _, e := range evs {
		if err := p.Submit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "the first batch refused", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return sink.attempts >= 2
	})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.got) > 0 {
		t.Fatalf("after the hard stop the sink was handed %v, written after the batch it refused", sink.got)
	}
	if n := p.Abandoned(); n != len(evs) {
		t.Fatalf("abandoned %d events, want %d", n, len(evs))
	}
	if pos := p.Position(0); !pos.IsZero() {
		t.Fatalf("position moved to %s", pos.LastID)
	}
}
