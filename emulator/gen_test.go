package emulator

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var (
	dateRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	idRe   = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

func TestDeterministic(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(seed int64) []Line {
		e := New(Options{Seed: seed, Apps: []App{{ID: "app_x", OwnerID: "orga_y", Backlog: 3000, Start: start}}})
		return e.Lines("app_x")
	}
	a, b, c := mk(7), mk(7), mk(8)
	if len(a) != 3000 {
		t.Fatalf("got %d lines", len(a))
	}
	for i := range a {
		if a[i].ID != b[i].ID || !bytes.Equal(a[i].Raw, b[i].Raw) || !a[i].Date.Equal(b[i].Date) {
			t.Fatalf("line %d differs between two runs with one seed", i)
		}
	}
	if slices.Equal(ids(a), ids(c)) {
		t.Fatal("different seeds gave the same ids")
	}
	if got := a[0].Date.Format("2006-01-02T15:04:05.000Z"); !strings.HasPrefix(got, "2025-01-01T00:00:0") {
		t.Fatalf("first date %s, want near the start", got)
	}
}

// TestLineContent checks every generated line: valid JSON and UTF-8, every field, formats.
func TestLineContent(t *testing.T) {
	e := New(Options{Apps: []App{{Backlog: 5000, Region: "eu-west"}, {Backlog: 300, NumericFacility: true, MessageBytes: 300}}})
	for ai, app := range e.Apps() {
		lines := e.Lines(app.ID)
		seen := map[string]bool{}
		instances := map[string]bool{}
		var ansi, nonASCII bool
		for i, l := range lines {
			if !utf8.Valid(l.Raw) || bytes.ContainsAny(l.Raw, "\r\n") {
				t.Fatalf("app %d line %d: invalid UTF-8 or raw line break: %q", ai, i, l.Raw)
			}
			var m map[string]any
			if err := json.Unmarshal(l.Raw, &m); err != nil {
				t.Fatalf("line %d: %v: %s", i, err, l.Raw)
			}
			want := []string{"id", "date", "applicationId", "commitId", "deploymentId", "instanceId", "zone", "pid",
				"facility", "severity", "priority", "version", "service", "message"}
			if app.Region != "" {
				want = append(want, "region")
			}
			if len(m) != len(want) {
				t.Fatalf("line %d has %d fields, want %d: %s", i, len(m), len(want), l.Raw)
			}
			for _, k := range want {
				if _, ok := m[k]; !ok {
					t.Fatalf("line %d lacks %q", i, k)
				}
			}
			id, _ := m["id"].(string)
			if id != l.ID || !idRe.MatchString(id) || seen[id] {
				t.Fatalf("line %d: bad or repeated id %q (Line.ID %q)", i, id, l.ID)
			}
			seen[id] = true
			if p, ok := linePos(id, e.byID[app.ID].key, int64(len(lines))); !ok || p != int64(i) {
				t.Fatalf("line %d: id decodes to %d %v", i, p, ok)
			}
			date, _ := m["date"].(string)
			if !dateRe.MatchString(date) || date != l.Date.Format("2006-01-02T15:04:05.000Z") {
				t.Fatalf("line %d: date %q, Line.Date %v", i, date, l.Date)
			}
			inst, _ := m["instanceId"].(string)
			if !uuidRe.MatchString(inst) || !uuidRe.MatchString(m["deploymentId"].(string)) {
				t.Fatalf("line %d: instanceId %q / deploymentId not plain UUIDs", i, inst)
			}
			instances[inst] = true
			if m["applicationId"] != app.ID {
				t.Fatalf("line %d: applicationId %v", i, m["applicationId"])
			}
			if _, num := m["facility"].(float64); num != app.NumericFacility {
				t.Fatalf("line %d: facility %#v", i, m["facility"])
			}
			if _, num := m["pid"].(float64); !num {
				t.Fatalf("line %d: pid %#v", i, m["pid"])
			}
			msg, _ := m["message"].(string)
			if len(msg) < app.MessageBytes {
				t.Fatalf("line %d: message of %d bytes, want >= %d", i, len(msg), app.MessageBytes)
			}
			ansi = ansi || strings.Contains(msg, "\x1b[")
			nonASCII = nonASCII || strings.ContainsFunc(msg, func(r rune) bool { return r > 127 })
		}
		if len(instances) != app.Instances || app.Instances != DefaultInstances {
			t.Errorf("app %d: %d instances seen, %d configured", ai, len(instances), app.Instances)
		}
		if ai == 0 && (!ansi || !nonASCII) {
			t.Errorf("messages lack variety: ansi=%v nonASCII=%v", ansi, nonASCII)
		}
	}
}

// TestIDsDoNotSort: arrival order is not the ids' lexical order.
func TestIDsDoNotSort(t *testing.T) {
	e := New(Options{Apps: []App{{Backlog: 100}}})
	got := ids(e.Lines(e.Apps()[0].ID))
	if slices.IsSorted(got) {
		t.Fatal("ids sort in arrival order")
	}
}

// TestDisorderAndBursts checks the disorder bound, that disorder happens, and same-date runs.
func TestDisorderAndBursts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		app      App
		disorder time.Duration
	}{
		{"default", App{Backlog: 20000}, DefaultDisorder},
		{"500ms one instance", App{Backlog: 20000, Disorder: 500 * time.Millisecond, Instances: 1}, 500 * time.Millisecond},
		{"none", App{Backlog: 20000, Disorder: -1}, 0},
		{"fine spacing", App{Backlog: 20000, Spacing: 100 * time.Microsecond, SameDate: 8}, DefaultDisorder},
		{"no bursts", App{Backlog: 5000, SameDate: 1}, DefaultDisorder},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(Options{Apps: []App{tc.app}})
			app := e.Apps()[0]
			lines := e.Lines(app.ID)
			var maxDate time.Time
			var maxLag time.Duration
			run, maxRun := 1, 1
			for i, l := range lines {
				if lag := maxDate.Sub(l.Date); i > 0 && lag > maxLag {
					maxLag = lag
				}
				if l.Date.After(maxDate) {
					maxDate = l.Date
				}
				if i > 0 && l.Date.Equal(lines[i-1].Date) {
					run++
					maxRun = max(maxRun, run)
				} else {
					run = 1
				}
			}
			if maxLag > tc.disorder {
				t.Errorf("a line arrived %v after a later-dated one, bound %v", maxLag, tc.disorder)
			}
			if tc.disorder > 0 && maxLag < tc.disorder/2 {
				t.Errorf("max lag %v: disorder hardly exercised (bound %v)", maxLag, tc.disorder)
			}
			if tc.disorder == 0 && maxLag != 0 {
				t.Errorf("dates decrease by %v without disorder", maxLag)
			}
			if maxRun > app.SameDate {
				t.Errorf("%d consecutive lines share a date, max %d", maxRun, app.SameDate)
			}
			if app.SameDate > 1 && maxRun < 2 {
				t.Errorf("no same-date burst")
			}
		})
	}
}

func TestBacklogSpan(t *testing.T) {
	e := New(Options{Apps: []App{{Backlog: 50000}}})
	lines := e.Lines(e.Apps()[0].ID)
	since, until := allOf(lines)
	if span := until.Sub(since); span < 2*time.Minute || span > 10*time.Minute {
		t.Fatalf("50,000 lines span %v, want minutes", span)
	}
}

// TestFieldsPathMatchesFull checks the per-field renderer against the fast one.
func TestFieldsPathMatchesFull(t *testing.T) {
	e := New(Options{Apps: []App{{Backlog: 2000, Region: "r"}}})
	a := e.apps[0]
	var df1, df2 dateFormatter
	for p, r := range a.records(0, 2000) {
		full := a.frag.appendFull(nil, int64(p), r, &df1)
		fields := a.frag.appendFields(nil, int64(p), r, allFields, []byte(","), &df2)
		if !bytes.Equal(full, fields) {
			t.Fatalf("line %d:\n%s\n%s", p, full, fields)
		}
	}
}

func TestPublishClock(t *testing.T) {
	e := New(Options{Apps: []App{{Backlog: 10, Rate: 333}}})
	a := e.apps[0]
	if got := a.published(a.t0); got != 10 {
		t.Fatalf("published at start: %d", got)
	}
	for p := int64(10); p < 2000; p++ {
		pt := a.pubTime(p)
		if a.published(pt) < p+1 || a.published(pt.Add(-time.Nanosecond)) > p {
			t.Fatalf("line %d published at %v inconsistently", p, pt.Sub(a.t0))
		}
	}
	// Live dates follow the wall clock.
	recs := a.records(0, 2000)
	last := time.UnixMilli(recs[1999].date)
	if d := a.pubTime(1999).Sub(last); d < 0 || d > DefaultDisorder+10*time.Millisecond {
		t.Fatalf("live line dated %v before its publication", d)
	}
}

func TestDateFormatter(t *testing.T) {
	var df dateFormatter
	for _, ms := range []int64{0, 1, 999, 1000, 1735689600123, -1, -1001, 951782400000, 4102444799999} {
		got := string(df.append(nil, ms))
		want := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
		if got != want {
			t.Errorf("%d: %s, want %s", ms, got, want)
		}
	}
}

func TestIDMix(t *testing.T) {
	for _, x := range []uint64{0, 1, 42, 1 << 40, ^uint64(0)} {
		if unmix64(mix64(x)) != x {
			t.Fatalf("unmix(mix(%d)) != %d", x, x)
		}
	}
	if _, ok := linePos("not-an-id", 1, 10); ok {
		t.Fatal("garbage id decoded")
	}
	k1, k2 := hashKey(0, "app_a"), hashKey(0, "app_b")
	if _, ok := linePos(string(appendLineID(nil, k1, 5)), k2, 1<<40); ok {
		t.Fatal("another app's id decoded")
	}
}
