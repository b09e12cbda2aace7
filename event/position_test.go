package event

import (
	"testing"
	"time"
)

func TestWindowDedupeAndPrune(t *testing.T) {
	sec := int64(time.Second)
	w := NewWindow(2 * time.Second)
	// Dates out of order by up to a second, several sharing a date.
	adds := []struct {
		id   string
		date int64
	}{
		{"a", 10 * sec}, {"b", 10 * sec}, {"c", 9 * sec}, {"d", 11 * sec},
		{"e", 12 * sec}, {"f", 11 * sec}, {"g", 14 * sec},
	}
	for _, a := range adds {
		if w.Seen(a.id) {
			t.Fatalf("%s seen before it was added", a.id)
		}
		w.Add(a.id, a.date)
	}
	// Newest is 14s, cutoff 12s: e (12s) and g (14s) stay; a and c are gone.
	// (f, a late straggler behind e in the queue, may linger: harmless.)
	for id, want := range map[string]bool{"e": true, "g": true, "a": false, "c": false} {
		if got := w.Seen(id); got != want {
			t.Errorf("Seen(%s) = %v, want %v", id, got, want)
		}
	}
	p := w.Position()
	if p.LastID != "g" || p.Newest != 14*sec {
		t.Fatalf("position = %+v", p)
	}
	if len(p.Recent) != 2 || p.Recent[0].ID != "e" || p.Recent[1].ID != "g" {
		t.Fatalf("recent = %+v", p.Recent)
	}
	if got := p.Since(2 * time.Second); !got.Equal(time.Unix(12, 0)) {
		t.Fatalf("since = %v", got)
	}

	// Restore round-trips.
	w2 := NewWindow(2 * time.Second)
	w2.Restore(p)
	if !w2.Seen("e") || !w2.Seen("g") || w2.Seen("a") || w2.Position().LastID != "g" {
		t.Fatalf("restore lost state: %+v", w2.Position())
	}
}

func TestWindowStaysBounded(t *testing.T) {
	w := NewWindow(time.Second)
	ms := int64(time.Millisecond)
	for i := range int64(100_000) {
		w.Add(string(rune('a'+i%26))+itoa(i), i*ms) // 1000 lines per second
	}
	if n := w.Len(); n > 1100 {
		t.Fatalf("window holds %d ids, want about 1000", n)
	}
	if n := len(w.order) - w.head; n > 1100 {
		t.Fatalf("queue holds %d entries", n)
	}
}

// TestWindowShrinksAfterBurst: a live stream's window holds about its
// look-back's lines, not the 1,024 dead entries it once waited for, and
// after a burst its queue and map shrink back (issue 11: memory per
// followed application).
func TestWindowShrinksAfterBurst(t *testing.T) {
	w := NewWindow(10 * time.Second)
	ms := int64(time.Millisecond)
	date := int64(0)
	add := func(n int, step int64) {
		for range n {
			date += step
			w.Add("id"+itoa(date), date)
		}
	}
	add(2000, 50*ms) // 20 lines a second: ~200 in the window
	if c := cap(w.order); c > 512 {
		t.Errorf("a 20-lines-a-second stream's queue has capacity %d, want at most 512", c)
	}
	add(100_000, ms/10) // a burst: 10,000 lines a second
	if w.Len() < 50_000 {
		t.Fatalf("the burst's window holds %d ids", w.Len())
	}
	add(2000, 50*ms) // slow again
	if c := cap(w.order); c > 1024 {
		t.Errorf("after the burst, the queue keeps capacity %d, want at most 1024", c)
	}
	if w.peak > 1024 {
		t.Errorf("after the burst, the map was last made for %d ids, want it remade smaller", w.peak)
	}
	if n := w.Len(); n < 190 || n > 210 {
		t.Errorf("window holds %d ids, want ~200", n)
	}
	// Every id of the last 10 s is still recognised.
	for d := date; d > date-int64(10*time.Second); d -= 50 * ms {
		if !w.Seen("id" + itoa(d)) {
			t.Fatalf("id dated %d forgotten", d)
		}
	}
}

func itoa(i int64) string {
	var b []byte
	if i == 0 {
		return "0"
	}
	for i > 0 {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
	}
	return string(b)
}

// TestWindowMillisecondFloor: `since` has millisecond precision, so the
// window keeps every id down to Newest - lookback floored to the
// millisecond, and a restored window too (issue 8 case 8).
func TestWindowMillisecondFloor(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	us := int64(time.Microsecond)
	w := NewWindow(time.Second)
	w.Add("a", t0+400*us)
	w.Add("b", t0+int64(time.Second)+600*us) // Newest - lookback = t0 + 0.6 ms
	if got := w.Cutoff(); got != t0 {
		t.Fatalf("cutoff = %v, want %v", time.Unix(0, got).UTC(), time.Unix(0, t0).UTC())
	}
	if !w.Seen("a") {
		t.Fatal("a, dated after the floored cutoff, was forgotten")
	}
	p := w.Position()
	if got := p.Since(time.Second); got.UnixNano() != t0 {
		t.Fatalf("since = %v", got)
	}
	w2 := NewWindow(time.Second)
	w2.Restore(p)
	if !w2.Seen("a") || !w2.Seen("b") {
		t.Fatalf("restore lost a line: %+v", p)
	}
	// A line dated before the floored cutoff is forgotten.
	w.Add("c", t0+int64(2*time.Second)+100*us) // cutoff t0 + 1 s
	if w.Seen("a") || !w.Seen("b") {
		t.Fatal("prune at the floored cutoff")
	}
	if got := floorMs(-1); got != -int64(time.Millisecond) {
		t.Fatalf("floorMs(-1) = %d", got)
	}
}

// TestWindowAheadDates: a line dated more than MaxAhead after the clock (a
// skewed instance) is kept for dedupe and moves LastID, but not Newest, so
// neither the next `since` nor a checkpoint takes its date (issue 8 case 4).
func TestWindowAheadDates(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	sec := int64(time.Second)
	t0 := now.UnixNano()
	w := NewWindow(2 * time.Second)
	w.SetClock(func() time.Time { return now })
	w.Add("a", t0-10*sec)
	w.Add("x", t0+int64(time.Hour)) // skewed clock
	w.Add("b", t0-9*sec)
	w.Add("y", t0+int64(MaxAhead)-sec) // within the tolerance: a normal line
	if w.Ahead(t0+int64(MaxAhead)-sec) || !w.Ahead(t0+int64(time.Hour)) {
		t.Fatal("Ahead disagrees with MaxAhead")
	}
	p := w.Position()
	if p.Newest != t0+int64(MaxAhead)-sec || p.LastID != "y" {
		t.Fatalf("position = %+v", p)
	}
	w = NewWindow(2 * time.Second)
	w.SetClock(func() time.Time { return now })
	w.Add("a", t0-10*sec)
	w.Add("x", t0+int64(time.Hour))
	if !w.Seen("x") {
		t.Fatal("the line dated ahead is not kept for dedupe")
	}
	if p := w.Position(); p.Newest != t0-10*sec || p.LastID != "x" || w.Cutoff() != t0-12*sec {
		t.Fatalf("the line dated ahead moved the position: %+v", p)
	}
	w.Add("b", t0-9*sec)
	p = w.Position()
	if p.Newest != t0-9*sec || len(p.Recent) != 3 {
		t.Fatalf("position = %+v", p)
	}

	// A restart keeps it, still ahead, and the newest date.
	w2 := NewWindow(2 * time.Second)
	w2.SetClock(func() time.Time { return now })
	w2.Restore(p)
	if !w2.Seen("x") || !w2.Seen("a") || w2.Position().Newest != t0-9*sec {
		t.Fatalf("restore: %+v", w2.Position())
	}
	// A checkpoint written before this fix, with the date ahead as newest,
	// resumes from its newest normal line.
	poisoned := p
	poisoned.Newest = t0 + int64(time.Hour)
	w2.Restore(poisoned)
	if w2.Position().Newest != t0-9*sec || !w2.Seen("x") {
		t.Fatalf("restore of a poisoned checkpoint: %+v", w2.Position())
	}

	// Once the clock and the stream catch up past it, it is forgotten.
	now = now.Add(2 * time.Hour)
	w.Add("c", t0+int64(time.Hour)+5*sec)
	if w.Seen("x") || w.Position().Newest != t0+int64(time.Hour)+5*sec {
		t.Fatalf("not forgotten after the stream passed it: %+v", w.Position())
	}
}

func TestWindowAheadBounded(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	w := NewWindow(time.Second)
	w.SetClock(func() time.Time { return now })
	base := now.Add(time.Hour).UnixNano()
	for i := range int64(maxAheadIDs + 10) {
		w.Add("f"+itoa(i), base+i)
	}
	if w.Len() != maxAheadIDs || w.Seen("f0") || !w.Seen("f"+itoa(maxAheadIDs+9)) {
		t.Fatalf("len %d", w.Len())
	}
}

// TestWindowDelivered: a Window counts the lines added, from the count of
// the position it was restored from (what `limit` counts across restarts).
func TestWindowDelivered(t *testing.T) {
	w := NewWindow(time.Second)
	w.Restore(Position{LastID: "a", Newest: int64(time.Hour), Delivered: 40})
	w.Add("b", int64(time.Hour)+1)
	w.Add("c", 1) // before the cutoff: counted all the same
	if got := w.Position().Delivered; got != 42 {
		t.Fatalf("delivered = %d, want 42", got)
	}
}
