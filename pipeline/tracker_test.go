package pipeline

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/logship/logship/event"
)

// starts returns empty start positions for streams × sinks.
func starts(streams, sinks int) [][]event.Position {
	s := make([][]event.Position, streams)
	for i := range s {
		s[i] = make([]event.Position, sinks)
	}
	return s
}

func lookbacks(n int, d time.Duration) []time.Duration {
	l := make([]time.Duration, n)
	for i := range l {
		l[i] = d
	}
	return l
}

func TestTrackerMovesOnlyOverContiguousAcks(t *testing.T) {
	tr := newTracker(starts(1, 2), lookbacks(1, time.Minute), 2)
	evs := make([]event.Event, 6)
	for i := range evs {
		evs[i] = event.Event{ID: "id" + strconv.Itoa(i), Date: int64(i+1) * int64(time.Second)}
		// One batch per event: positions move event by event.
		tr.track(&evs[i], []laneOutcome{{laneTaken, uint64(i)}, {laneTaken, uint64(i)}})
	}
	steps := []struct {
		sink         int
		ack          []int  // indexes acked by sink
		wantA, wantB string // each sink's last delivered id
	}{
		{0, []int{1, 2}, "", ""},          // A acks 1,2: 0 still pending
		{0, []int{0}, "id2", ""},          // A acks 0
		{1, []int{0, 1}, "id2", "id1"},    // B acks 0,1
		{0, []int{3, 4, 5}, "id5", "id1"}, // A is done
		{1, []int{4, 5}, "id5", "id1"},    // B out of order: gap at 2
		{1, []int{2, 3}, "id5", "id5"},    // B fills the gap
	}
	for i, s := range steps {
		batch := make([]event.Event, len(s.ack))
		for j, k := range s.ack {
			batch[j] = evs[k]
		}
		tr.ack(s.sink, batch)
		ps, _ := tr.positions(0)
		if ps[0].LastID != s.wantA || ps[1].LastID != s.wantB {
			t.Fatalf("step %d: last ids %q, %q; want %q, %q", i, ps[0].LastID, ps[1].LastID, s.wantA, s.wantB)
		}
	}
	if n := tr.inFlight(0, 0) + tr.inFlight(0, 1); n != 0 {
		t.Fatalf("in flight = %d", n)
	}
	if chunks, _ := tr.footprint(); chunks != 0 {
		t.Fatalf("chunks left: %d", chunks)
	}
}

// TestTrackerRandomAgainstWindow feeds random outcomes and acks in random
// order, and checks each sink's position against an event.Window fed with
// the same events in stream order: while acks come in, the position is
// always a prefix of the events the sink holds (every owed event up to its
// last id acked); at the end it is exactly what the Window holds.
func TestTrackerRandomAgainstWindow(t *testing.T) {
	for seed := range uint64(8) {
		rng := rand.New(rand.NewPCG(seed, 1))
		const n, sinks, streams = 2000, 3, 2
		lb := 200 * time.Millisecond
		tr := newTracker(starts(streams, sinks), lookbacks(streams, lb), sinks)
		evs := make([]event.Event, n)
		owed := make([][]bool, n)
		var acks [sinks][]event.Event
		seqOf := map[string]uint64{}
		for i := range evs {
			// Dates out of order by up to 100 ms, many equal.
			evs[i] = event.Event{ID: "e" + strconv.Itoa(i), SourceIndex: i % streams,
				Date: int64(i/3)*int64(time.Millisecond) + rng.Int64N(100)*int64(time.Millisecond)}
			out := make([]laneOutcome, sinks)
			owed[i] = make([]bool, sinks)
			for k := range out {
				switch r := rng.IntN(10); {
				case r < 7:
					out[k] = laneOutcome{laneTaken, uint64(i / (1 + rng.IntN(20)))}
				case r < 9:
					out[k] = laneOutcome{kind: laneFull}
				default:
					out[k] = laneOutcome{kind: laneOversize}
				}
				owed[i][k] = out[k].kind == laneTaken
			}
			if rng.IntN(50) == 0 {
				out = nil // dropped on purpose
				clear(owed[i])
			}
			tr.track(&evs[i], out)
			seqOf[evs[i].ID] = evs[i].Seq
			for k := range sinks {
				if owed[i][k] {
					acks[k] = append(acks[k], evs[i])
				}
			}
		}
		acked := make([][]bool, n)
		for i := range acked {
			acked[i] = make([]bool, sinks)
		}
		index := map[string]int{}
		for i, e := range evs {
			index[e.ID] = i
		}
		for k := range sinks {
			rng.Shuffle(len(acks[k]), func(i, j int) { acks[k][i], acks[k][j] = acks[k][j], acks[k][i] })
		}
		for step := 0; ; step++ {
			k := rng.IntN(sinks)
			if len(acks[k]) == 0 {
				if len(acks[0])+len(acks[1])+len(acks[2]) == 0 {
					break
				}
				continue
			}
			m := min(len(acks[k]), 1+rng.IntN(40))
			batch := slices.Clone(acks[k][:m])
			acks[k] = acks[k][m:]
			// A batch holds each stream's events in stream order.
			slices.SortStableFunc(batch, func(a, b event.Event) int { return a.SourceIndex - b.SourceIndex })
			tr.ack(k, batch)
			for _, e := range batch {
				acked[index[e.ID]][k] = true
			}
			if step%7 == 0 {
				for s := range streams {
					ps, _ := tr.positions(s)
					for k, p := range ps {
						if p.LastID == "" {
							continue
						}
						last := seqOf[p.LastID]
						covered := int64(0)
						for i := range evs {
							if evs[i].SourceIndex == s && evs[i].Seq <= last && owed[i][k] && !acked[i][k] {
								t.Fatalf("seed %d: sink %d stream %d at %s, but %s is not acked", seed, k, s, p.LastID, evs[i].ID)
							}
							if evs[i].SourceIndex == s && evs[i].Seq <= last {
								covered++
							}
						}
						if p.Delivered != covered {
							t.Fatalf("seed %d: sink %d stream %d at %s: delivered %d, want %d", seed, k, s, p.LastID, p.Delivered, covered)
						}
					}
				}
			}
		}
		for s := range streams {
			ps, _ := tr.positions(s)
			for k, p := range ps {
				w := event.NewWindow(lb)
				for i := range evs {
					if evs[i].SourceIndex == s {
						w.Add(evs[i].ID, evs[i].Date)
					}
				}
				want := w.Position()
				if p.LastID != want.LastID || p.Newest != want.Newest || p.Delivered != want.Delivered || !sameSet(p.Recent, want.Recent) {
					t.Fatalf("seed %d: sink %d stream %d: position %s/%d/%d ids, want %s/%d/%d ids", seed, k, s,
						p.LastID, p.Newest, len(p.Recent), want.LastID, want.Newest, len(want.Recent))
				}
			}
		}
		if chunks, _ := tr.footprint(); chunks != 0 {
			t.Fatalf("seed %d: %d chunks left", seed, chunks)
		}
	}
}

func sameSet(a, b []event.Seen) bool {
	key := func(s event.Seen) string { return s.ID + "@" + strconv.FormatInt(s.Date, 10) }
	m := map[string]int{}
	for _, s := range a {
		m[key(s)]++
	}
	for _, s := range b {
		m[key(s)]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

// TestTrackerStuckSinkBounded: one sink never acks its first events and
// drops every later one (drop_newest, buffer full); the other acks all.
// The healthy sink's position follows the stream, the tracker holds a
// bounded amount whatever the number of events, and once the stuck events
// are acked the stuck sink's position jumps to the end.
func TestTrackerStuckSinkBounded(t *testing.T) {
	const n = 200_000
	lb := time.Second
	tr := newTracker(starts(1, 2), lookbacks(1, lb), 2)
	var stuck []event.Event
	maxChunks, maxIDs := 0, 0
	for i := range n {
		e := event.Event{ID: "e" + strconv.Itoa(i), Date: int64(i) * int64(time.Millisecond)}
		out := []laneOutcome{{kind: laneFull}, {laneTaken, uint64(i)}}
		if i < 1000 {
			out[0] = laneOutcome{laneTaken, uint64(i / 100)} // 10 batches
		}
		tr.track(&e, out)
		if i < 1000 {
			stuck = append(stuck, e)
		}
		tr.ack(1, []event.Event{e})
		if i%1000 == 999 {
			chunks, ids := tr.footprint()
			maxChunks, maxIDs = max(maxChunks, chunks), max(maxIDs, ids)
			ps, _ := tr.positions(0)
			if ps[1].LastID != e.ID || ps[0].LastID != "" {
				t.Fatalf("after %d events: positions %q, %q", i+1, ps[0].LastID, ps[1].LastID)
			}
		}
	}
	// 1,000 stuck events in 10 batches: 10 chunks; ids: two look-back
	// windows of 1,000 plus the pruning slack.
	if maxChunks > 10 || maxIDs > 6*1000 {
		t.Fatalf("tracker held up to %d chunks and %d ids for %d events", maxChunks, maxIDs, n)
	}
	tr.ack(0, stuck)
	ps, _ := tr.positions(0)
	last := "e" + strconv.Itoa(n-1)
	if ps[0].LastID != last || ps[0].Newest != int64(n-1)*int64(time.Millisecond) || len(ps[0].Recent) != 1001 {
		t.Fatalf("stuck sink after the acks: %s/%d/%d ids", ps[0].LastID, ps[0].Newest, len(ps[0].Recent))
	}
	t.Logf("held at most %d chunks, %d ids for %d events", maxChunks, maxIDs, n)
}

// TestTrackerSkippedKeepsPosition: events a sink skips (its own checkpoint
// covers them) leave its position as restored.
func TestTrackerSkippedKeepsPosition(t *testing.T) {
	st := starts(1, 2)
	st[0][1] = event.Position{LastID: "x", Newest: 50, Recent: []event.Seen{{ID: "x", Date: 50}}}
	tr := newTracker(st, lookbacks(1, 100), 2)
	for i := range 3 {
		e := event.Event{ID: "r" + strconv.Itoa(i), Date: int64(10 + i)}
		tr.track(&e, []laneOutcome{{laneTaken, uint64(i)}, {kind: laneSkipped}})
		tr.ack(0, []event.Event{e})
	}
	ps, _ := tr.positions(0)
	if ps[0].LastID != "r2" || ps[1].LastID != "x" || len(ps[1].Recent) != 1 {
		t.Fatalf("positions %+v", ps)
	}
	e := event.Event{ID: "new", Date: 60}
	tr.track(&e, []laneOutcome{{laneTaken, 9}, {laneTaken, 9}})
	tr.ack(1, []event.Event{e})
	if ps, _ := tr.positions(0); ps[1].LastID != "new" || len(ps[1].Recent) != 2 {
		t.Fatalf("positions %+v", ps)
	}
}

// TestTrackerLineDatedAhead (issue 8 case 4): a line dated an hour ahead
// of the clock moves a sink's last id but not its newest date (so neither
// the next `since` nor the lag), stays in Recent for dedupe, and does not
// end a skip set during a replay.
func TestTrackerLineDatedAhead(t *testing.T) {
	now := time.Now().UnixNano()
	tr := newTracker(starts(1, 1), lookbacks(1, 10*time.Second), 1)
	evs := []event.Event{
		{ID: "a", Date: now - 2e9}, {ID: "future", Date: now + int64(time.Hour)}, {ID: "b", Date: now - 1e9},
	}
	for i := range evs {
		tr.track(&evs[i], []laneOutcome{{laneTaken, 1}})
	}
	tr.ack(0, evs)
	ps, _ := tr.positions(0)
	p := ps[0]
	if p.LastID != "b" || p.Newest != now-1e9 || !sameSet(p.Recent, []event.Seen{{ID: "a", Date: now - 2e9}, {ID: "future", Date: now + int64(time.Hour)}, {ID: "b", Date: now - 1e9}}) {
		t.Fatalf("position %+v", p)
	}
	if d := tr.delivered(0); d != now-1e9 {
		t.Fatalf("delivered %d", d)
	}
	// A replay from an older position: the sink at p skips a, future and
	// b; the line dated ahead does not spend the set.
	sk := newSkipSet(p, event.Position{LastID: "x", Newest: now - 5e9}, 10*time.Second)
	for _, e := range []event.Event{evs[0], evs[1], evs[2]} {
		if covered, spent := sk.covers(&e); !covered || spent {
			t.Fatalf("%s: covered %v, spent %v", e.ID, covered, spent)
		}
	}
	if covered, spent := sk.covers(&event.Event{ID: "c", Date: now + 20e9}); covered || !spent {
		t.Fatalf("a later line: covered %v, spent %v", covered, spent)
	}
}
