package pipeline

import (
	"sync"
	"time"

	"github.com/logship/logship/event"
)

// tracker is the ack tracker: per stream, it numbers events as they enter
// the pipeline and moves the stream's delivered position only over a
// contiguous run of events that every sink accepted (or that were dropped
// on purpose), whatever order the acks come back in.
type tracker struct {
	streams []*streamTracker
}

type streamTracker struct {
	mu      sync.Mutex
	next    uint64 // seq of the next event tracked
	base    uint64 // seq of pending[head]
	pending []slot
	head    int
	win     *event.Window // the delivered position
	version uint64        // bumped whenever win moves
}

// slot is one event waiting for acks: left is how many sinks still owe one.
type slot struct {
	id   string
	date int64
	left int32
}

func newTracker(starts []event.Position, lookback []time.Duration) *tracker {
	t := &tracker{streams: make([]*streamTracker, len(starts))}
	for i, p := range starts {
		w := event.NewWindow(lookback[i])
		w.Restore(p)
		t.streams[i] = &streamTracker{next: 1, base: 1, win: w}
	}
	return t
}

// track numbers e and records that left sinks owe it an ack. left == 0
// means delivered already (dropped on purpose, dead-lettered).
func (t *tracker) track(e *event.Event, left int) {
	s := t.streams[e.Stream]
	s.mu.Lock()
	e.Seq = s.next
	s.next++
	s.pending = append(s.pending, slot{id: e.ID, date: e.Date, left: int32(left)})
	if left == 0 {
		s.advance()
	}
	s.mu.Unlock()
}

// ack records one sink's acceptance of each event in events.
func (t *tracker) ack(events []event.Event) {
	var s *streamTracker
	cur := -1
	for i := range events {
		e := &events[i]
		if e.Stream != cur {
			if s != nil {
				s.advance()
				s.mu.Unlock()
			}
			cur, s = e.Stream, t.streams[e.Stream]
			s.mu.Lock()
		}
		s.pending[s.head+int(e.Seq-s.base)].left--
	}
	if s != nil {
		s.advance()
		s.mu.Unlock()
	}
}

// advance moves the delivered position over the acked prefix. s.mu is held.
func (s *streamTracker) advance() {
	moved := false
	for s.head < len(s.pending) && s.pending[s.head].left <= 0 {
		sl := s.pending[s.head]
		s.win.Add(sl.id, sl.date)
		s.pending[s.head] = slot{}
		s.head++
		s.base++
		moved = true
	}
	if moved {
		s.version++
	}
	if s.head == len(s.pending) {
		s.pending, s.head = s.pending[:0], 0
	} else if s.head > 4096 && s.head*2 > len(s.pending) {
		n := copy(s.pending, s.pending[s.head:])
		s.pending, s.head = s.pending[:n], 0
	}
}

// position returns stream i's delivered position and its version.
func (t *tracker) position(i int) (event.Position, uint64) {
	s := t.streams[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.win.Position(), s.version
}

// inFlight returns how many events of stream i await acks.
func (t *tracker) inFlight(i int) int {
	s := t.streams[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) - s.head
}
