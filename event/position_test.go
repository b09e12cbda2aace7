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
