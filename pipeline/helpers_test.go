package pipeline

import (
	"github.com/logship/logship/config"

	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/logship/logship/event"
)

// memSink is a sink that keeps what it accepts in memory. While gate is
// open (see hold), Write waits: a receiver that hangs.
type memSink struct {
	mu     sync.Mutex
	events []event.Event // Raw copied
	held   chan struct{} // non-nil: Write waits until it is closed
	writes int
}

var _ Sink = (*memSink)(nil)

// hold makes Write hang until the returned function is called.
func (s *memSink) hold() (release func()) {
	c := make(chan struct{})
	s.mu.Lock()
	s.held = c
	s.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(c) }) }
}

func (s *memSink) Write(ctx context.Context, b *event.Batch) error {
	s.mu.Lock()
	held := s.held
	s.mu.Unlock()
	if held != nil {
		select {
		case <-held:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	for _, e := range b.Events {
		e.Raw = append([]byte(nil), e.Raw...)
		s.events = append(s.events, e)
	}
	return nil
}

func (s *memSink) Close() error { return nil }

func (s *memSink) got() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Event(nil), s.events...)
}

func (s *memSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// testEvent is event i of stream 0 with a message of about size bytes.
func testEvent(i, size int) event.Event {
	id := fmt.Sprintf("id-%07d", i)
	raw := fmt.Appendf(nil, `{"id":%q,"date":"2024-05-01T12:00:00Z","instanceId":"inst-%d","severity":"info","message":"line %d `, id, i%3, i)
	for len(raw) < size-2 {
		raw = append(raw, 'x')
	}
	raw = append(raw, `"}`...)
	return event.Event{Raw: raw, ID: id, Date: int64(i) * int64(time.Millisecond), Source: "s", AppID: "app_1"}
}

// startPipeline starts a pipeline over one stream; it is closed at the
// end of the test.
func startPipeline(t *testing.T, opts Options) *Pipeline {
	t.Helper()
	if opts.Sources == nil {
		opts.Sources = []Source{{Name: "s", AppID: "app_1"}}
	}
	if opts.DeadLetterPath == "" {
		opts.DeadLetterPath = t.TempDir() + "/dead.ndjson"
	}
	p, err := New(withDefaults(opts))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// withDefaults returns opts with the settings it leaves zero taken from
// package config's defaults (config.Default, config.NewSink,
// config.NewSource), as the agent hands them over from a loaded
// configuration: the pipeline has no defaults of its own.
func withDefaults(opts Options) Options {
	def := config.Default()
	common := config.NewSink("", nil)
	src := config.NewSource("", "")
	if opts.CheckpointInterval == 0 {
		opts.CheckpointInterval = def.Checkpoint.Interval.D()
	}
	opts.Sources = slices.Clone(opts.Sources)
	for i := range opts.Sources {
		if opts.Sources[i].Lookback == 0 {
			opts.Sources[i].Lookback = src.Lookback.D()
		}
	}
	opts.Sinks = slices.Clone(opts.Sinks)
	for i := range opts.Sinks {
		s := &opts.Sinks[i]
		c := config.Config{Pipeline: def.Pipeline, Sinks: []config.Sink{{Batch: s.Batch, Buffer: s.Buffer}}}
		s.Batch, s.Buffer = c.SinkBatch(0), c.SinkBuffer(0)
		if s.InFlight == 0 {
			s.InFlight = common.InFlight
		}
		if s.MinRetry == 0 {
			s.MinRetry = common.Retry.InitialBackoff.D()
		}
		if s.MaxRetry == 0 {
			s.MaxRetry = common.Retry.MaxBackoff.D()
		}
	}
	return opts
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// heldBytes returns the bytes l holds.
func heldBytes(l *lane) int64 {
	n, _ := l.pending()
	return n
}
