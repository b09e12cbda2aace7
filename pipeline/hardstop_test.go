package pipeline

import (
	"context"
	"errors"
	"fmt"
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

// stopAfterSink accepts its first n batches and then hangs until the hard
// stop, as a stdout behind a stuck pipe would; it records what it accepted.
type stopAfterSink struct {
	n int

	mu      sync.Mutex
	batches int
	got     []event.Event
	stuck   chan struct{} // closed when the first batch past n arrives
	once    sync.Once
}

func (s *stopAfterSink) Write(ctx context.Context, b *event.Batch) error {
	s.mu.Lock()
	if s.batches == s.n {
		s.mu.Unlock()
		s.once.Do(func() { close(s.stuck) })
		<-ctx.Done()
		return ctx.Err()
	}
	s.batches++
	s.got = append(s.got, b.Events...)
	s.mu.Unlock()
	return nil
}

func (s *stopAfterSink) Close() error { return nil }

// TestHardStopCheckpointsEveryBatchWritten: at a hard stop, each stream's
// position for a sink covers every event of the batches that sink
// accepted, however the streams' events were spread over its batches. The
// tracker groups a stream's owed events by the lane's batch; an event
// tracked under the batch that was current when its source read it, but
// added to the next one (another source's event had filled the first in
// between), tied the two batches: when the second was abandoned, the first
// one's events were not checkpointed though written, and the next start
// wrote them again (stdout duplicates, simulation seed 42269).
func TestHardStopCheckpointsEveryBatchWritten(t *testing.T) {
	const streams, perStream = 6, 400
	for round := range 12 {
		sources := make([]Source, streams)
		for i := range sources {
			sources[i] = Source{Name: fmt.Sprintf("s%d", i), AppID: fmt.Sprintf("app_%d", i)}
		}
		sink := &stopAfterSink{n: 40 + 37*round, stuck: make(chan struct{})}
		p := startPipeline(t, Options{Sources: sources, Sinks: []SinkSpec{{Name: "stdout", Sink: sink,
			Batch: config.Batch{MaxEvents: 2, MaxWait: config.Duration(time.Millisecond)}}}})
		var wg sync.WaitGroup
		for i := range streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range perStream {
					e := testEvent(j, 100)
					e.ID = fmt.Sprintf("s%d-%04d", i, j)
					e.SourceIndex, e.Source, e.AppID = i, sources[i].Name, sources[i].AppID
					if err := p.Submit(t.Context(), e); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		<-sink.stuck
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		last := make([]string, streams)
		count := make([]int64, streams)
		for _, e := range sink.got {
			last[e.SourceIndex] = e.ID
			count[e.SourceIndex]++
		}
		for i := range streams {
			pos := p.SinkPositions(i)[0]
			if pos.LastID != last[i] || pos.Delivered != count[i] {
				t.Fatalf("round %d, stream %d: position at %q (%d delivered) but the sink accepted up to %q (%d events): a written batch left out of the checkpoint",
					round, i, pos.LastID, pos.Delivered, last[i], count[i])
			}
		}
	}
}
