package event

import (
	"container/heap"
	"time"
)

// Position is where a stream resumes: the id of the last log line, the
// newest date among the lines, and the ids of the lines dated within the
// look-back window before that newest date.
//
// Stream order is arrival order, not date order: lines arrive out of date
// order by up to a few seconds. A resume therefore asks the API for
// `since = Newest - lookback` (floored to the millisecond) and drops, by id,
// the replayed lines that Recent holds. The zero Position means "nothing
// seen yet".
type Position struct {
	LastID string
	// Newest is the newest date seen, in Unix nanoseconds.
	Newest int64
	// Recent holds the lines dated at or after Since, in the
	// order they were added.
	Recent []Seen
	// Delivered counts the lines up to this position since the source's
	// first (what `limit` counts across restarts).
	Delivered int64
}

// Seen is one id with its date (Unix nanoseconds).
type Seen struct {
	ID   string
	Date int64
}

// IsZero reports whether nothing was seen.
func (p Position) IsZero() bool { return p.LastID == "" && p.Newest == 0 && len(p.Recent) == 0 }

// Since returns the date a resume asks for: Newest minus lookback, floored
// to the millisecond (the precision of the API's `since`).
func (p Position) Since(lookback time.Duration) time.Time {
	return time.Unix(0, floorMs(p.Newest-int64(lookback))).UTC()
}

// floorMs floors a date in Unix nanoseconds to the millisecond.
func floorMs(ns int64) int64 {
	const ms = int64(time.Millisecond)
	r := ns % ms
	if r < 0 {
		r += ms
	}
	return ns - r
}

// MaxAhead is how far after this host's clock a line may be dated and still
// move a Window's newest date. A line dated further ahead (an instance with
// a skewed clock) is remembered for dedupe and moves LastID, but not Newest:
// otherwise the next `since` would skip every normal line dated before it,
// and the checkpoint would keep that date.
const MaxAhead = time.Minute

// Horizon tells the dates more than MaxAhead after its clock. It reads the
// clock only when a date passes the horizon it last computed (about once
// per MaxAhead for a live stream). The zero value uses time.Now. It is not
// safe for concurrent use.
type Horizon struct {
	// Now is the clock; nil means time.Now.
	Now   func() time.Time
	limit int64 // now + MaxAhead when last read: dates up to it are not ahead
}

// Ahead reports whether date (Unix nanoseconds) is more than MaxAhead after
// the clock.
func (h *Horizon) Ahead(date int64) bool {
	if date <= h.limit {
		return false
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	h.limit = now().UnixNano() + int64(MaxAhead)
	return date > h.limit
}

// maxAheadIDs bounds how many lines dated beyond MaxAhead a Window
// remembers; past it, the earliest dated are forgotten (a server that
// ignores Last-Event-ID may then replay them).
const maxAheadIDs = 10_000

// Window tracks a stream's position as lines pass: the last id, the newest
// date, and the ids dated at or after its cutoff (newest - lookback, floored
// to the millisecond: a resume's `since` has millisecond precision, and the
// window must hold every line such a `since` can replay), to recognise a
// replayed line. Lines dated more than MaxAhead after the clock do not move
// the newest date; their ids are kept until the cutoff passes their date.
// It is not safe for concurrent use.
type Window struct {
	lookback int64
	lastID   string
	newest   int64
	ids      map[string]int64 // id -> date, for the lines in the window
	order    []Seen           // the same lines, in the order added (a queue)
	head     int              // order[head:] is live
	ahead    aheadHeap        // lines dated beyond MaxAhead, earliest first
	horizon  Horizon
	count    int64 // lines added, from the restored Position's Delivered
	peak     int   // the most ids held since the map was last made
}

// NewWindow returns an empty Window keeping ids within lookback of the
// newest date, with the system clock.
func NewWindow(lookback time.Duration) *Window {
	return &Window{lookback: int64(lookback), ids: make(map[string]int64)}
}

// SetClock replaces the clock that tells a line dated ahead (default
// time.Now).
func (w *Window) SetClock(now func() time.Time) { w.horizon = Horizon{Now: now} }

// Ahead reports whether a line dated date (Unix nanoseconds) is dated more
// than MaxAhead after the clock: Add would not let it move Newest.
func (w *Window) Ahead(date int64) bool { return w.horizon.Ahead(date) }

// Restore replaces the window's content with p. A line of p.Recent dated
// after p.Newest was a line dated ahead.
func (w *Window) Restore(p Position) {
	w.lastID, w.newest, w.count = p.LastID, p.Newest, p.Delivered
	if w.Ahead(w.newest) {
		// A checkpoint written before lines dated ahead were told apart:
		// resume from the newest normal line it holds, if any.
		n := int64(0)
		for _, s := range p.Recent {
			if s.Date > n && !w.Ahead(s.Date) {
				n = s.Date
			}
		}
		if n != 0 {
			w.newest = n
		}
	}
	clear(w.ids)
	w.order, w.head = w.order[:0], 0
	w.ahead = w.ahead[:0]
	cutoff := w.cutoff()
	for _, s := range p.Recent {
		switch {
		case s.Date > w.newest:
			w.addAhead(s)
		case s.Date >= cutoff:
			w.ids[s.ID] = s.Date
			w.order = append(w.order, s)
		}
	}
}

// Seen reports whether id is in the window: a line with that id was added and
// is dated within lookback of the newest date.
func (w *Window) Seen(id string) bool {
	_, ok := w.ids[id]
	return ok
}

// Cutoff returns the oldest date the window still covers (Newest - lookback,
// floored to the millisecond), in Unix nanoseconds; 0 while nothing was
// added. A resume asks for it as `since`.
func (w *Window) Cutoff() int64 {
	if w.newest == 0 {
		return 0
	}
	return w.cutoff()
}

// cutoff is Newest - lookback, floored to the millisecond.
func (w *Window) cutoff() int64 { return floorMs(w.newest - w.lookback) }

// Add records a line. Lines dated before the window's cutoff move LastID but
// are not kept for dedupe. Lines dated ahead (see Ahead) move LastID and are
// kept for dedupe, but do not move Newest.
func (w *Window) Add(id string, date int64) {
	w.lastID = id
	w.count++
	if date > w.newest && w.Ahead(date) {
		w.addAhead(Seen{ID: id, Date: date})
		return
	}
	if date > w.newest {
		w.newest = date
	}
	cutoff := w.cutoff()
	if date >= cutoff {
		w.ids[id] = date
		w.order = append(w.order, Seen{ID: id, Date: date})
	}
	w.prune(cutoff)
}

// addAhead keeps a line dated ahead, forgetting the earliest beyond
// maxAheadIDs.
func (w *Window) addAhead(s Seen) {
	w.ids[s.ID] = s.Date
	heap.Push(&w.ahead, s)
	for len(w.ahead) > maxAheadIDs {
		w.forget(heap.Pop(&w.ahead).(Seen))
	}
}

// forget deletes s's id unless it was added again with another date.
func (w *Window) forget(s Seen) {
	if d, ok := w.ids[s.ID]; ok && d == s.Date {
		delete(w.ids, s.ID)
	}
}

// prune drops ids dated before cutoff. The queue is in insertion order, not
// date order, so it drops from the head while the head is old and leaves
// late stragglers to later calls; Position filters them out.
func (w *Window) prune(cutoff int64) {
	for w.head < len(w.order) && w.order[w.head].Date < cutoff {
		w.forget(w.order[w.head])
		w.order[w.head] = Seen{}
		w.head++
	}
	for len(w.ahead) > 0 && w.ahead[0].Date < cutoff {
		w.forget(heap.Pop(&w.ahead).(Seen))
	}
	// Compact once the dead head is a third of the queue (a live stream
	// of 20 lines a second keeps ~200; waiting for a dead head of 1,024
	// held 2,048 entries per stream); after a burst, give the memory
	// back: a queue or map four times larger than what it holds shrinks.
	if w.head >= 32 && w.head*3 >= len(w.order) {
		live := w.order[w.head:]
		if cap(w.order) >= 256 && cap(w.order) > 4*len(live) {
			w.order = append(make([]Seen, 0, 2*len(live)), live...)
		} else {
			n := copy(w.order, live)
			clear(w.order[n:])
			w.order = w.order[:n]
		}
		w.head = 0
	}
	if n := len(w.ids); n > w.peak {
		w.peak = n
	} else if w.peak >= 1024 && n*4 < w.peak {
		// Go's maps do not shrink: copy into one sized for what is left.
		ids := make(map[string]int64, 2*n)
		for id, d := range w.ids {
			ids[id] = d
		}
		w.ids, w.peak = ids, n
	}
}

// Len returns the number of ids held for dedupe.
func (w *Window) Len() int { return len(w.ids) }

// Position returns a copy of the window's state.
func (w *Window) Position() Position {
	p := Position{LastID: w.lastID, Newest: w.newest, Delivered: w.count}
	cutoff := w.cutoff()
	p.Recent = make([]Seen, 0, len(w.ids))
	for _, s := range w.order[w.head:] {
		if s.Date >= cutoff {
			if d, ok := w.ids[s.ID]; ok && d == s.Date {
				p.Recent = append(p.Recent, s)
			}
		}
	}
	for _, s := range w.ahead {
		if d, ok := w.ids[s.ID]; ok && d == s.Date && s.Date >= cutoff {
			p.Recent = append(p.Recent, s)
		}
	}
	return p
}

// aheadHeap is a min-heap of lines by date (container/heap).
type aheadHeap []Seen

func (h aheadHeap) Len() int           { return len(h) }
func (h aheadHeap) Less(i, j int) bool { return h[i].Date < h[j].Date }
func (h aheadHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *aheadHeap) Push(x any)        { *h = append(*h, x.(Seen)) }
func (h *aheadHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	return s
}
