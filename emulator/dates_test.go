package emulator

import (
	"regexp"
	"slices"
	"testing"
	"time"
)

var microDateRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

// TestSubMillisecondDates: dates carry microseconds, one exact date per
// millisecond, and since compares at the microsecond: a since between two
// lines of one millisecond keeps the later one only.
func TestSubMillisecondDates(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	e, srv := start(t, Options{Seed: 3, Apps: []App{{Backlog: 2000, Start: t0, SubMillisecond: true, Instances: 4}}})
	a := e.Apps()[0]
	lines := e.Lines(a.ID)
	byMs := map[int64]time.Time{}
	fractional := 0
	for i, l := range lines {
		d := decode(t, l.Raw)
		if !microDateRe.MatchString(d.Date) {
			t.Fatalf("line %d: date %q lacks microseconds", i, d.Date)
		}
		got, err := time.Parse(time.RFC3339Nano, d.Date)
		if err != nil || !got.Equal(l.Date) {
			t.Fatalf("line %d: date %q, Line.Date %v", i, d.Date, l.Date)
		}
		ms := l.Date.UnixMilli()
		if prev, ok := byMs[ms]; ok && !prev.Equal(l.Date) {
			t.Fatalf("two dates within one millisecond: %v %v", prev, l.Date)
		}
		byMs[ms] = l.Date
		if l.Date.Nanosecond()%int(time.Millisecond) != 0 {
			fractional++
		}
	}
	if fractional < len(lines)*9/10 {
		t.Fatalf("only %d of %d dates have microseconds", fractional, len(lines))
	}
	// A since one microsecond after a line excludes it, exactly at it includes it.
	pick := lines[len(lines)/2]
	for _, tc := range []struct {
		since time.Time
		in    bool
	}{{pick.Date, true}, {pick.Date.Add(time.Microsecond), false}, {pick.Date.Add(-time.Microsecond), true}} {
		q := fast(time.Time{}, time.Time{})
		q.Set("since", tc.since.Format("2006-01-02T15:04:05.000000Z"))
		_, until := allOf(lines)
		q.Set("until", until.Add(time.Second).Format(time.RFC3339Nano))
		res := readAll(t, logsURL(srv, a, q), nil)
		evs, _ := logs(res.events)
		got := eventIDs(t, evs)
		if slices.Contains(got, pick.ID) != tc.in {
			t.Fatalf("since %s: line dated %s included = %v", tc.since.Format(time.RFC3339Nano), pick.Date.Format(time.RFC3339Nano), !tc.in)
		}
		for _, l := range lines {
			if want := !l.Date.Before(tc.since); slices.Contains(got, l.ID) != want {
				t.Fatalf("since %v: line dated %v included = %v", tc.since, l.Date, !want)
			}
		}
	}
}

// TestFutureDatedLines: about one line in FutureEvery is dated FutureSkew
// ahead; such a line neither ends an until stream nor is lost from it.
func TestFutureDatedLines(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	e, srv := start(t, Options{Seed: 4, Apps: []App{{Backlog: 1000, Start: t0, FutureEvery: 100, FutureSkew: 30 * time.Minute}}})
	a := e.Apps()[0]
	lines := e.Lines(a.ID)
	future := 0
	for i, l := range lines {
		if l.Date.After(t0.Add(10 * time.Minute)) {
			future++
			if d := l.Date.Sub(lines[i-1].Date); d < 29*time.Minute {
				t.Fatalf("line %d is %v after the previous one, want about 30m", i, d)
			}
		}
	}
	if future < 3 || future > 30 {
		t.Fatalf("%d future-dated lines of 1000, want about 10", future)
	}
	// until between the normal lines and the future ones: the stream sends every normal
	// line and ends with UNTIL_REACHED.
	q := fast(t0.Add(-time.Minute), t0.Add(10*time.Minute))
	res := readAll(t, logsURL(srv, a, q), nil)
	evs, ended := logs(res.events)
	if ended != "UNTIL_REACHED" || len(evs) != len(lines)-future {
		t.Fatalf("until stream: %d lines, ended %q; want %d lines, UNTIL_REACHED", len(evs), ended, len(lines)-future)
	}
	// until after them: every line, in arrival order.
	q = fast(t0.Add(-time.Minute), t0.Add(2*time.Hour))
	evs, ended = logs(readAll(t, logsURL(srv, a, q), nil).events)
	if ended != "UNTIL_REACHED" || !slices.Equal(eventIDs(t, evs), ids(lines)) {
		t.Fatalf("until after the future lines: %d of %d lines, ended %q", len(evs), len(lines), ended)
	}
}
