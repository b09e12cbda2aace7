package pipeline

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/logship/logship/event"
)

func TestTrackerMovesOnlyOverContiguousAcks(t *testing.T) {
	tr := newTracker([]event.Position{{}}, []time.Duration{time.Minute})
	evs := make([]event.Event, 6)
	for i := range evs {
		evs[i] = event.Event{ID: "id" + strconv.Itoa(i), Date: int64(i+1) * int64(time.Second)}
		tr.track(&evs[i], 2) // two sinks
	}
	steps := []struct {
		ack  []int // indexes acked by one sink
		want string
	}{
		{ack: []int{1, 2}, want: ""},       // sink A acks 1,2: 0 still pending
		{ack: []int{0}, want: ""},          // sink A acks 0: sink B owes all
		{ack: []int{0, 1}, want: "id1"},    // sink B acks 0,1
		{ack: []int{3, 4, 5}, want: "id1"}, // sink A: gap at 2 for B
		{ack: []int{4, 5}, want: "id1"},    // sink B out of order
		{ack: []int{2, 3}, want: "id5"},    // sink B fills the gap
	}
	for i, s := range steps {
		batch := make([]event.Event, len(s.ack))
		for j, k := range s.ack {
			batch[j] = evs[k]
		}
		tr.ack(batch)
		if got, _ := tr.position(0); got.LastID != s.want {
			t.Fatalf("step %d: last id %q, want %q", i, got.LastID, s.want)
		}
	}
	if n := tr.inFlight(0); n != 0 {
		t.Fatalf("in flight = %d", n)
	}
}

// TestTrackerRandomAckOrder checks that with acks in random order the
// delivered position is always a prefix and ends at the last event.
func TestTrackerRandomAckOrder(t *testing.T) {
	const n, sinks = 5000, 3
	tr := newTracker([]event.Position{{}, {}}, []time.Duration{time.Second, time.Second})
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = event.Event{ID: strconv.Itoa(i), Date: int64(i) * int64(time.Millisecond), Stream: i % 2}
		left := sinks
		if i%97 == 0 {
			left = 0 // dropped on purpose
		}
		tr.track(&evs[i], left)
	}
	var acks []event.Event
	for i := range evs {
		if i%97 != 0 {
			for range sinks {
				acks = append(acks, evs[i])
			}
		}
	}
	rand.Shuffle(len(acks), func(i, j int) { acks[i], acks[j] = acks[j], acks[i] })
	for len(acks) > 0 {
		k := min(len(acks), 1+rand.IntN(50))
		// Acks of one batch come grouped by stream, as the lanes send them.
		tr.ack(acks[:k])
		acks = acks[k:]
	}
	for s := range 2 {
		pos, _ := tr.position(s)
		want := strconv.Itoa(n - 2 + s)
		if pos.LastID != want {
			t.Fatalf("stream %d: last id %s, want %s", s, pos.LastID, want)
		}
	}
}
