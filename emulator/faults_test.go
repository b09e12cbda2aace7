package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	sse "github.com/tmaxmax/go-sse"
)

// conn is what one connection of a resuming client got.
type conn struct {
	ids     []string
	ended   string
	readErr error
}

// resume reads u until END_OF_STREAM, reconnecting with Last-Event-ID like the official
// clients; it gives up after 100 connections.
func resume(t *testing.T, u string) (all []string, conns []conn) {
	t.Helper()
	last := ""
	for range 100 {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		hdr := map[string]string{}
		if last != "" {
			hdr["Last-Event-ID"] = last
		}
		resp := get(t, ctx, u, hdr)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		c := conn{readErr: err}
		for ev, perr := range sse.Read(bytes.NewReader(body), nil) {
			if perr != nil {
				t.Fatal(perr)
			}
			switch ev.Type {
			case "APPLICATION_LOG":
				c.ids = append(c.ids, ev.LastEventID)
				last = ev.LastEventID
			case "END_OF_STREAM":
				c.ended = ev.Data
			}
		}
		conns = append(conns, c)
		all = append(all, c.ids...)
		if c.ended != "" {
			return all, conns
		}
	}
	t.Fatal("no END_OF_STREAM after 100 connections")
	return nil, nil
}

func TestDropEvery(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults Faults
		lo, hi int
	}{
		{"abort every 100", Faults{DropEvery: 100}, 100, 100},
		{"clean every 100", Faults{DropEvery: 100, DropClean: true}, 100, 100},
		{"jitter", Faults{DropEvery: 100, DropJitter: 30}, 70, 130},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, srv := start(t, Options{Apps: []App{{Backlog: 1000}}, Faults: tc.faults, HeartbeatInterval: time.Hour, Seed: 3})
			app := e.Apps()[0]
			lines := e.Lines(app.ID)
			since, until := allOf(lines)
			all, conns := resume(t, logsURL(srv, app, fast(since, until)))
			if !slices.Equal(all, ids(lines)) {
				t.Fatalf("resumed stream has %d lines, want each of %d once in order", len(all), len(lines))
			}
			sizes := map[int]bool{}
			for i, c := range conns[:len(conns)-1] {
				if len(c.ids) < tc.lo || len(c.ids) > tc.hi {
					t.Errorf("connection %d dropped after %d lines, want [%d, %d]", i, len(c.ids), tc.lo, tc.hi)
				}
				sizes[len(c.ids)] = true
				if aborted := c.readErr != nil; aborted == tc.faults.DropClean {
					t.Errorf("connection %d: read error %v, clean drop %v", i, c.readErr, tc.faults.DropClean)
				}
			}
			if tc.lo != tc.hi && len(sizes) < 2 {
				t.Errorf("jitter gave constant sizes %v", sizes)
			}
			if st := e.Stats(); st.Drops != int64(len(conns)-1) || st.Connections != int64(len(conns)) {
				t.Errorf("stats %+v, %d connections", st, len(conns))
			}
		})
	}
}

// TestSetFaultsWhileRunning turns DropEvery on and off on a live emulator.
func TestSetFaultsWhileRunning(t *testing.T) {
	e, srv := start(t, Options{Apps: []App{{Backlog: 300}}, HeartbeatInterval: time.Hour})
	app := e.Apps()[0]
	since, until := allOf(e.Lines(app.ID))
	u := logsURL(srv, app, fast(since, until))
	e.SetFaults(Faults{DropEvery: 50})
	if _, conns := resume(t, u); len(conns) != 7 {
		t.Fatalf("%d connections with DropEvery 50 over 300 lines", len(conns))
	}
	e.SetFaults(Faults{})
	if _, conns := resume(t, u); len(conns) != 1 {
		t.Fatalf("%d connections without faults", len(conns))
	}
}

func TestSilence(t *testing.T) {
	const silence = 400 * time.Millisecond
	e, srv := start(t, Options{
		Apps:              []App{{Backlog: 200}},
		HeartbeatInterval: 30 * time.Millisecond,
		Faults:            Faults{SilenceAfter: 50, SilenceFor: silence},
	})
	app := e.Apps()[0]
	since, until := allOf(e.Lines(app.ID))
	u := logsURL(srv, app, fast(since, until))
	type arrival struct {
		typ string
		at  time.Time
	}
	read := func() []arrival {
		var got []arrival
		if err := stream(t, t.Context(), u, nil, func(ev sse.Event, at time.Time) bool {
			got = append(got, arrival{ev.Type, at})
			return ev.Type != "END_OF_STREAM"
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := read()
	var logsSeen int
	var gap time.Duration
	for i, a := range got {
		if a.typ == "APPLICATION_LOG" {
			logsSeen++
			if logsSeen == 51 {
				gap = a.at.Sub(got[i-1].at)
				if got[i-1].typ != "APPLICATION_LOG" {
					t.Errorf("a %s came during the silence", got[i-1].typ)
				}
			}
		}
	}
	if gap < silence/2 {
		t.Fatalf("gap after line 50: %v, want about %v", gap, silence)
	}
	// It happens once.
	t0 := time.Now()
	read()
	if el := time.Since(t0); el > silence/2 || e.Stats().Silences != 1 {
		t.Fatalf("second stream took %v, silences %d", el, e.Stats().Silences)
	}
}

func TestQueuedStatuses(t *testing.T) {
	e, srv := start(t, Options{
		Apps:   []App{{Backlog: 5}},
		Faults: Faults{Statuses: []StatusFault{{Code: 503}}},
	})
	e.QueueStatus(StatusFault{Code: 500}, StatusFault{Code: 429, RetryAfter: "1"}, StatusFault{Code: 502, Body: `{"custom":true}`})
	app := e.Apps()[0]
	since, until := allOf(e.Lines(app.ID))
	u := logsURL(srv, app, fast(since, until))
	for _, want := range []int{503, 500, 429, 502, 200} {
		res := readAll(t, u, nil)
		if res.resp.StatusCode != want {
			t.Fatalf("status %d, want %d", res.resp.StatusCode, want)
		}
		if want == 200 {
			continue
		}
		if ct := res.resp.Header.Get("Content-Type"); ct != "application/json" || !json.Valid(res.body) {
			t.Errorf("%d: content type %q body %q", want, ct, res.body)
		}
		if ra := res.resp.Header.Get("Retry-After"); (want == 429) != (ra == "1") {
			t.Errorf("%d: Retry-After %q", want, ra)
		}
		if res.resp.Header.Get("Sozu-Id") == "" {
			t.Errorf("%d: no Sozu-Id", want)
		}
	}
	if st := e.Stats(); st.Statuses != 4 {
		t.Errorf("stats %+v", st)
	}
}

// TestMalformed injects every kind once and checks the raw frames and that the genuine lines
// all still arrive once.
func TestMalformed(t *testing.T) {
	kinds := []MalformedKind{BadJSON, UnknownEvent, InvalidUTF8, Oversized, NoID, Comment}
	var inj []Malformed
	for i, k := range kinds {
		inj = append(inj, Malformed{At: int64(10 + 10*i), Kind: k, Size: 100000})
	}
	inj = append(inj, Malformed{At: 5, Kind: BadJSON, AppID: "app_other"})
	e, srv := start(t, Options{Apps: []App{{Backlog: 100}}, Faults: Faults{Malformed: inj}, HeartbeatInterval: time.Hour})
	app := e.Apps()[0]
	lines := e.Lines(app.ID)
	since, until := allOf(lines)
	u := logsURL(srv, app, fast(since, until))
	res := readAll(t, u, nil)
	body := string(res.body)

	frames := strings.Split(body, "\n\n")
	frameWith := func(s string) string {
		for _, f := range frames {
			if strings.Contains(f, s) {
				return f
			}
		}
		t.Fatalf("no frame holds %q", s)
		return ""
	}
	if f := frameWith(`"id":"fault-badjson-10"`); json.Valid([]byte(strings.TrimPrefix(f, "id: fault-badjson-10\nevent: APPLICATION_LOG\ndata: "))) {
		t.Errorf("bad JSON frame is valid: %q", f)
	}
	if f := frameWith(`fault-unknown-20`); !strings.HasPrefix(f, "event: LOG_V5_PREVIEW\n") {
		t.Errorf("unknown event frame %q", f)
	}
	if f := frameWith(`fault-utf8-30`); utf8.ValidString(f) {
		t.Errorf("invalid UTF-8 frame is valid UTF-8")
	}
	if f := frameWith(`fault-oversized-40`); len(f) < 100000 {
		t.Errorf("oversized frame of %d bytes", len(f))
	}
	if f := frameWith("has no id at all"); strings.HasPrefix(f, "id:") || strings.Contains(f, "\nid:") || strings.Contains(f, `"id":`) {
		t.Errorf("the NoID frame has an id: %q", f)
	}
	for _, id := range []string{"fault-badjson-10", "fault-utf8-30", "fault-oversized-40"} {
		if f := frameWith(id); !strings.HasPrefix(f, "id: "+id+"\n") {
			t.Errorf("%s frame lacks its id line", id)
		}
	}
	if !strings.Contains(body, ": emulator comment") || strings.Contains(body, "fault-badjson-5") {
		t.Error("comment missing or other app's injection present")
	}
	// Everything but the faults: valid, every line once, in order.
	var got []string
	var faults int
	for _, ev := range res.events {
		if ev.Type != "APPLICATION_LOG" {
			continue
		}
		if strings.Contains(ev.Data, `"id":"fault-`) || strings.Contains(ev.Data, "has no id at all") {
			faults++
			continue
		}
		if !utf8.ValidString(ev.Data) || !json.Valid([]byte(ev.Data)) {
			t.Fatalf("invalid genuine line %q", ev.Data)
		}
		got = append(got, decode(t, []byte(ev.Data)).ID)
	}
	if !slices.Equal(got, ids(lines)) || faults != 4 {
		t.Fatalf("%d genuine lines (want %d), %d faulty", len(got), len(lines), faults)
	}
	if st := e.Stats(); st.Injected != int64(len(kinds)) {
		t.Errorf("injected %d", st.Injected)
	}
	// Once only.
	if again := readAll(t, u, nil); strings.Contains(string(again.body), "fault-") {
		t.Error("faults injected twice")
	}
}

// TestCloseEndsStreams checks Close ends an open stream.
func TestCloseEndsStreams(t *testing.T) {
	e, srv := start(t, Options{Apps: []App{{Backlog: 1}}, HeartbeatInterval: 10 * time.Millisecond})
	resp := get(t, t.Context(), logsURL(srv, e.Apps()[0], nil), nil)
	defer resp.Body.Close()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for e.Stats().Active != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	e.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after Close")
	}
	if res := readAll(t, logsURL(srv, e.Apps()[0], nil), nil); res.resp.StatusCode != http.StatusOK || len(res.events) != 0 {
		t.Fatalf("after Close: status %d, %d events", res.resp.StatusCode, len(res.events))
	}
}
