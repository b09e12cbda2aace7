package pipeline

import (
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logship/logship/event"
)

// tracker is the ack tracker. Per stream and per sink it keeps a delivered
// position: the longest prefix of the stream (in stream order) whose every
// event that sink accepted, or did not owe (dropped on purpose, dropped by
// the sink's full drop_newest buffer, dead-lettered, or already covered by
// the sink's own checkpoint). Acks may come back in any order.
//
// Memory is bounded by what is in flight, not by the events that passed:
// the undelivered part of a (stream, sink) is a short list of chunks, seq
// ranges with a count of acks still owed and a summary of the events
// already done in them (the last id, the newest date and the ids within
// the look-back window: what a Window holds). A chunk whose acks are all in
// merges into the delivered position (at the head) or into its
// predecessor, so every chunk but the last owes an ack: chunks ≤ events in
// flight + 1, and each summary is bounded by the look-back window. A sink
// that is stuck on one batch holds one chunk of it, and the events after
// it that it does not owe fold into one summary.
type tracker struct {
	// streams is indexed by event.Event.SourceIndex; add replaces the slice
	// (copy on write), so readers take no lock.
	streams atomic.Pointer[[]*streamTracker]
	addMu   sync.Mutex
	sinks   int
}

type streamTracker struct {
	mu      sync.Mutex
	rules   spanRules
	next    uint64 // seq of the next event tracked
	sinks   []sinkTrack
	version uint64 // bumped whenever a sink's delivered position moves
}

// sinkTrack is one sink's view of one stream.
type sinkTrack struct {
	done   span    // the delivered prefix
	chunks []chunk // the undelivered rest, in seq order
	hint   int     // index of the chunk last acked into, to skip a search
}

// chunk is the seq range [lo, hi] of a stream, of which owed events still
// await the sink's ack and done summarises the others. The events a chunk
// owes went into one batch of the lane (batch is the lane's batch
// generation), so that a position moves batch by batch.
type chunk struct {
	lo, hi uint64
	owed   int
	batch  uint64
	done   span
}

// span summarises a set of events of a stream as an event.Window holds
// them after adding them in stream order: the id of the last (by seq), the
// newest date, and the events dated within the look-back of it.
type span struct {
	lastSeq uint64
	lastID  string
	newest  int64
	recent  []event.Seen // not in date order; pruned when it doubles
	kept    int          // len(recent) after the last prune
	count   int64        // events added (Position.Delivered)
}

// laneOutcome is what became of an event for one sink, as fanOut reports
// it to track: kind, and for laneTaken the generation of the lane's batch
// that takes it.
type laneOutcome struct {
	kind  uint8
	batch uint64
}

// Kinds of laneOutcome.
const (
	laneTaken    uint8 = iota // handed to the lane: the sink owes an ack
	laneFull                  // dropped for this sink (drop_newest buffer full)
	laneOversize              // dead-lettered for this sink
	laneSkipped               // the sink's own checkpoint already covers it
)

// newTracker returns a tracker over streams whose delivered positions per
// sink start at starts[stream][sink].
func newTracker(starts [][]event.Position, lookback []time.Duration, sinks int) *tracker {
	t := &tracker{sinks: sinks}
	streams := make([]*streamTracker, len(starts))
	for i, ps := range starts {
		streams[i] = newStreamTracker(ps, lookback[i], sinks)
	}
	t.streams.Store(&streams)
	return t
}

func newStreamTracker(starts []event.Position, lookback time.Duration, sinks int) *streamTracker {
	s := &streamTracker{next: 1, rules: spanRules{lb: int64(lookback)}, sinks: make([]sinkTrack, sinks)}
	for k := range s.sinks {
		s.sinks[k].done.restore(starts[k], &s.rules)
	}
	return s
}

// add adds a stream whose delivered positions per sink start at starts,
// and returns its index.
func (t *tracker) add(starts []event.Position, lookback time.Duration) int {
	t.addMu.Lock()
	defer t.addMu.Unlock()
	old := *t.streams.Load()
	streams := append(old[:len(old):len(old)], newStreamTracker(starts, lookback, t.sinks))
	t.streams.Store(&streams)
	return len(streams) - 1
}

// stream returns stream i's tracker.
func (t *tracker) stream(i int) *streamTracker { return (*t.streams.Load())[i] }

// track numbers e and records, per sink, what outcome[k] says; a nil
// outcome means no sink owes it (dropped on purpose, dead-lettered).
func (t *tracker) track(e *event.Event, outcome []laneOutcome) {
	s := t.stream(e.SourceIndex)
	s.mu.Lock()
	e.Seq = s.next
	s.next++
	moved := false
	for k := range s.sinks {
		o := laneOutcome{kind: laneFull}
		if outcome != nil {
			o = outcome[k]
		}
		moved = s.sinks[k].track(e, o, &s.rules) || moved
	}
	if moved {
		s.version++
	}
	s.mu.Unlock()
}

// track records e's outcome for this sink; it reports whether the
// delivered position moved.
func (st *sinkTrack) track(e *event.Event, o laneOutcome, r *spanRules) bool {
	n := len(st.chunks)
	switch {
	case o.kind == laneTaken:
		if n == 0 || st.chunks[n-1].batch != o.batch {
			st.chunks = append(st.chunks, chunk{lo: e.Seq, hi: e.Seq, owed: 1, batch: o.batch})
		} else {
			c := &st.chunks[n-1]
			c.hi, c.owed = e.Seq, c.owed+1
		}
		return false
	case n == 0 && o.kind == laneSkipped:
		return false // the position stays the sink's own
	case n == 0:
		st.done.add(e.Seq, e.ID, e.Date, r)
		return true
	default:
		c := &st.chunks[n-1]
		c.hi = e.Seq
		if o.kind != laneSkipped {
			c.done.add(e.Seq, e.ID, e.Date, r)
		}
		return false
	}
}

// ack records sink's acceptance of each event in events (grouped by
// stream, as a batch holds them).
func (t *tracker) ack(sink int, events []event.Event) {
	var s *streamTracker
	cur := -1
	moved := false
	for i := range events {
		e := &events[i]
		if e.SourceIndex != cur {
			if s != nil {
				if moved {
					s.version++
				}
				s.mu.Unlock()
			}
			cur, s, moved = e.SourceIndex, t.stream(e.SourceIndex), false
			s.mu.Lock()
		}
		moved = s.sinks[sink].ack(e, &s.rules) || moved
	}
	if s != nil {
		if moved {
			s.version++
		}
		s.mu.Unlock()
	}
}

// ack records the ack of e; it reports whether the delivered position
// moved.
func (st *sinkTrack) ack(e *event.Event, r *spanRules) bool {
	i := st.find(e.Seq)
	if i < 0 {
		return false // not tracked as owed: a bug elsewhere, never a crash here
	}
	c := &st.chunks[i]
	c.owed--
	c.done.add(e.Seq, e.ID, e.Date, r)
	if c.owed > 0 {
		return false
	}
	if i > 0 {
		// All in, behind a chunk that still owes: fold it into that one.
		p := &st.chunks[i-1]
		p.hi = c.hi
		p.done.merge(&c.done, r)
		st.chunks = slices.Delete(st.chunks, i, i+1)
		st.hint = i - 1
		return false
	}
	n := 0
	for n < len(st.chunks) && st.chunks[n].owed == 0 {
		st.done.merge(&st.chunks[n].done, r)
		n++
	}
	clear(st.chunks[:n])
	st.chunks = slices.Delete(st.chunks, 0, n)
	if len(st.chunks) == 0 {
		st.chunks = nil // let a long stuck list's array go
	}
	st.hint = 0
	return true
}

// find returns the index of the chunk holding seq, or -1.
func (st *sinkTrack) find(seq uint64) int {
	if h := st.hint; h < len(st.chunks) && st.chunks[h].lo <= seq && seq <= st.chunks[h].hi {
		return h
	}
	i := sort.Search(len(st.chunks), func(i int) bool { return st.chunks[i].hi >= seq })
	if i == len(st.chunks) || st.chunks[i].lo > seq {
		return -1
	}
	st.hint = i
	return i
}

// spanRules are what a stream's spans share: the look-back and the
// horizon beyond which a date is ahead of the clock.
type spanRules struct {
	lb int64
	h  aheadHorizon
}

// maxAheadIDs bounds the lines dated ahead a span keeps (as event.Window).
const maxAheadIDs = 10_000

// restore sets the span to a saved position. Lines of p.Recent dated after
// p.Newest were dated ahead of the clock.
func (sp *span) restore(p event.Position, r *spanRules) {
	*sp = span{lastID: p.LastID, newest: p.Newest, recent: slices.Clone(p.Recent), count: p.Delivered}
	sp.prune(r)
}

// add records one event. A line dated more than maxAhead after the clock
// (a skewed instance) moves the last id but not the newest date, and is
// kept for dedupe until the newest date passes it (issue 8 case 4).
func (sp *span) add(seq uint64, id string, date int64, r *spanRules) {
	sp.count++
	if seq >= sp.lastSeq {
		sp.lastSeq, sp.lastID = seq, id
	}
	if date > sp.newest && !r.h.ahead(date) {
		sp.newest = date
	}
	if date >= windowCutoff(sp.newest, r.lb) {
		sp.recent = append(sp.recent, event.Seen{ID: id, Date: date})
		if len(sp.recent) > 2*sp.kept+64 {
			sp.prune(r)
		}
	}
}

// merge adds o's events (later in the stream than none of sp's, or
// interleaved: the last id is decided by seq).
func (sp *span) merge(o *span, r *spanRules) {
	if o.lastID != "" && o.lastSeq >= sp.lastSeq {
		sp.lastSeq, sp.lastID = o.lastSeq, o.lastID
	}
	sp.newest = max(sp.newest, o.newest)
	sp.count += o.count
	if len(o.recent) > 0 {
		sp.recent = append(sp.recent, o.recent...)
		if len(sp.recent) > 2*sp.kept+64 {
			sp.prune(r)
		}
	}
}

// windowCutoff is the oldest date a look-back window of lb before newest
// holds: newest - lb floored to the millisecond, as event.Window's (a
// resume's `since` has millisecond precision, and the window must hold
// every line such a `since` can replay).
func windowCutoff(newest, lb int64) int64 {
	c := newest - lb
	r := c % int64(time.Millisecond)
	if r < 0 {
		r += int64(time.Millisecond)
	}
	return c - r
}

// prune drops the events dated before the look-back window, and the
// earliest added of the lines dated ahead beyond maxAheadIDs.
func (sp *span) prune(r *spanRules) {
	cutoff := windowCutoff(sp.newest, r.lb)
	ahead := 0
	for _, e := range sp.recent {
		if e.Date > sp.newest {
			ahead++
		}
	}
	n := 0
	for _, e := range sp.recent {
		if e.Date > sp.newest && ahead > maxAheadIDs {
			ahead--
			continue
		}
		if e.Date >= cutoff {
			sp.recent[n] = e
			n++
		}
	}
	clear(sp.recent[n:])
	sp.recent = sp.recent[:n]
	sp.kept = n
}

// position returns the span as a Position (a copy).
func (sp *span) position(r *spanRules) event.Position {
	p := event.Position{LastID: sp.lastID, Newest: sp.newest, Delivered: sp.count}
	if sp.newest == 0 && sp.lastID == "" {
		return p
	}
	cutoff := windowCutoff(sp.newest, r.lb)
	p.Recent = make([]event.Seen, 0, len(sp.recent))
	for _, r := range sp.recent {
		if r.Date >= cutoff {
			p.Recent = append(p.Recent, r)
		}
	}
	return p
}

// positions returns stream i's delivered position for each sink, and the
// stream's version.
func (t *tracker) positions(i int) ([]event.Position, uint64) {
	s := t.stream(i)
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := make([]event.Position, len(s.sinks))
	for k := range s.sinks {
		ps[k] = s.sinks[k].done.position(&s.rules)
	}
	return ps, s.version
}

// version returns stream i's version: it changes whenever a sink's
// delivered position moves.
func (t *tracker) version(i int) uint64 {
	s := t.stream(i)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// delivered returns the newest date that every sink's delivered position
// of stream i holds (the smallest of their newest dates; 0 if a sink has
// none).
func (t *tracker) delivered(i int) int64 {
	s := t.stream(i)
	s.mu.Lock()
	defer s.mu.Unlock()
	var d int64
	for k := range s.sinks {
		n := s.sinks[k].done.newest
		if k == 0 || n < d {
			d = n
		}
	}
	return d
}

// inFlight returns how many events of stream i still await sink's ack.
func (t *tracker) inFlight(i, sink int) int {
	s := t.stream(i)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.sinks[sink].chunks {
		n += c.owed
	}
	return n
}

// footprint returns what the tracker holds: chunks (undelivered ranges)
// and ids kept for the look-back windows, over every stream and sink.
func (t *tracker) footprint() (chunks, ids int) {
	for _, s := range *t.streams.Load() {
		s.mu.Lock()
		for k := range s.sinks {
			st := &s.sinks[k]
			chunks += len(st.chunks)
			ids += len(st.done.recent)
			for _, c := range st.chunks {
				ids += len(c.done.recent)
			}
		}
		s.mu.Unlock()
	}
	return chunks, ids
}
