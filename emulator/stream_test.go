package emulator

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	sse "github.com/tmaxmax/go-sse"
)

// TestFrameFormat checks the exact bytes of a default stream.
func TestFrameFormat(t *testing.T) {
	e, srv := start(t, Options{Apps: []App{{Backlog: 50}}, HeartbeatInterval: time.Hour})
	app := e.Apps()[0]
	lines := e.Lines(app.ID)
	since, until := allOf(lines)
	res := readAll(t, logsURL(srv, app, fast(since, until)), nil)
	if res.resp.StatusCode != 200 || res.err != nil {
		t.Fatalf("status %d, err %v", res.resp.StatusCode, res.err)
	}
	if ct := res.resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	if res.resp.Header.Get("Sozu-Id") == "" {
		t.Error("no Sozu-Id")
	}
	var want strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&want, "id: %s\nevent: APPLICATION_LOG\ndata: %s\n\n", l.ID, l.Raw)
	}
	want.WriteString("event: END_OF_STREAM\ndata: {\"endedBy\":\"UNTIL_REACHED\"}\n\n")
	if string(res.body) != want.String() {
		t.Fatalf("body:\n%.600s\nwant:\n%.600s", res.body, want.String())
	}
}

// TestStyles checks every Style option, raw and through go-sse.
func TestStyles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		style Style
		raw   []string // substrings the raw body must hold
		not   []string // substrings it must not hold
		ct    string
	}{
		{"default", Style{}, []string{"\nid: ", "data: {"}, []string{"\r", "retry", "data:{"}, "text/event-stream"},
		{"crlf", Style{CRLF: true}, []string{"\r\nevent: APPLICATION_LOG\r\ndata: {", "\r\n\r\n"}, []string{"}\n"}, ""},
		{"nospace", Style{NoSpace: true}, []string{"id:", "event:APPLICATION_LOG\ndata:{", "event:END_OF_STREAM"}, []string{"id: ", "event: ", "data: "}, ""},
		{"split", Style{SplitData: true}, []string{"data: {\"id\":", ",\ndata: \"date\":", ",\ndata: \"message\":"}, nil, ""},
		{"split crlf nospace", Style{SplitData: true, CRLF: true, NoSpace: true}, []string{",\r\ndata:\"date\":"}, nil, ""},
		{"retry", Style{Retry: 1500 * time.Millisecond}, []string{"retry: 1500\n"}, nil, ""},
		{"charset", Style{Charset: true}, nil, nil, "text/event-stream; charset=utf-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, srv := start(t, Options{Apps: []App{{Backlog: 300}}, Style: tc.style, HeartbeatInterval: time.Hour})
			app := e.Apps()[0]
			lines := e.Lines(app.ID)
			since, until := allOf(lines)
			res := readAll(t, logsURL(srv, app, fast(since, until)), nil)
			body := string(res.body)
			for _, s := range tc.raw {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q", s)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(body, s) {
					t.Errorf("body holds %q", s)
				}
			}
			if ct := res.resp.Header.Get("Content-Type"); tc.ct != "" && ct != tc.ct {
				t.Errorf("Content-Type %q, want %q", ct, tc.ct)
			}
			evs, ended := logs(res.events)
			if ended != "UNTIL_REACHED" || len(evs) != len(lines) {
				t.Fatalf("%d events, end %q", len(evs), ended)
			}
			for i, ev := range evs {
				data := ev.Data
				if tc.style.SplitData {
					if !strings.Contains(data, "\n") || !json.Valid([]byte(data)) {
						t.Fatalf("split data %q", data)
					}
					data = strings.ReplaceAll(data, "\n", "")
				}
				if data != string(lines[i].Raw) || ev.LastEventID != lines[i].ID {
					t.Fatalf("event %d: id %q data %q\nwant id %q data %q", i, ev.LastEventID, data, lines[i].ID, lines[i].Raw)
				}
			}
		})
	}
}

// TestHeartbeats checks heartbeat pacing on an idle stream, with and without an empty id line.
func TestHeartbeats(t *testing.T) {
	for _, emptyID := range []bool{false, true} {
		t.Run(fmt.Sprint("emptyID=", emptyID), func(t *testing.T) {
			const every = 40 * time.Millisecond
			e, srv := start(t, Options{Apps: []App{{Backlog: 10}}, HeartbeatInterval: every, Style: Style{HeartbeatEmptyID: emptyID}})
			app := e.Apps()[0]
			// since-less on a finite app: nothing is ever published after now.
			var times []time.Time
			var hbIDs []string
			err := stream(t, t.Context(), logsURL(srv, app, nil), map[string]string{"Last-Event-ID": "x"}, func(ev sse.Event, at time.Time) bool {
				if ev.Type != "HEARTBEAT" {
					t.Fatalf("unexpected %s event", ev.Type)
				}
				times = append(times, at)
				hbIDs = append(hbIDs, ev.LastEventID)
				return len(times) < 5
			})
			if err != nil {
				t.Fatal(err)
			}
			// Arrival times can bunch on a busy machine: check the mean gap and the longest.
			if mean := times[len(times)-1].Sub(times[0]) / time.Duration(len(times)-1); mean < every*3/4 {
				t.Errorf("mean heartbeat gap %v, want about %v", mean, every)
			}
			for i := 1; i < len(times); i++ {
				if d := times[i].Sub(times[i-1]); d > 25*every {
					t.Errorf("heartbeat gap %v, want about %v", d, every)
				}
			}
			// go-sse reports the last id seen: our "x" resume id is not an SSE id, so it is
			// empty either way; an empty id line resets it to empty too.
			for _, id := range hbIDs {
				if id != "" {
					t.Errorf("heartbeat id %q", id)
				}
			}
		})
	}
}

// TestHeartbeatEmptyIDRaw checks the raw heartbeat frame.
func TestHeartbeatEmptyIDRaw(t *testing.T) {
	e, srv := start(t, Options{Apps: []App{{Backlog: 1}}, HeartbeatInterval: 10 * time.Millisecond, Style: Style{HeartbeatEmptyID: true}})
	resp := get(t, t.Context(), logsURL(srv, e.Apps()[0], nil), nil)
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, _ := resp.Body.Read(buf)
	if got := string(buf[:n]); !strings.HasPrefix(got, "id:\nevent: HEARTBEAT\ndata:\n\n") {
		t.Fatalf("heartbeat frame %q", got)
	}
}

// TestQueryFilters checks each filtering parameter against the expected lines.
func TestQueryFilters(t *testing.T) {
	e, srv := start(t, Options{Apps: []App{{Backlog: 4000, Region: "eu"}}, HeartbeatInterval: time.Hour})
	app := e.Apps()[0]
	lines := e.Lines(app.ID)
	since, until := allOf(lines)
	dec := make([]decoded, len(lines))
	for i, l := range lines {
		dec[i] = decode(t, l.Raw)
	}
	inst := e.apps[0].instances
	mid1, mid2 := lines[1000].Date, lines[3000].Date
	type tc struct {
		name   string
		q      url.Values
		keep   func(i int) bool
		limit  int
		ended  string
		fields []string
	}
	with := func(since, until time.Time, kv ...string) url.Values {
		q := fast(since, until)
		for i := 0; i < len(kv); i += 2 {
			q.Add(kv[i], kv[i+1])
		}
		return q
	}
	inWin := func(i int, s, u time.Time) bool { return !lines[i].Date.Before(s) && lines[i].Date.Before(u) }
	cases := []tc{
		{name: "window", q: with(mid1, mid2), keep: func(i int) bool { return inWin(i, mid1, mid2) }, ended: "UNTIL_REACHED"},
		{name: "since only to now", q: with(mid2, time.Now().Add(time.Hour)), keep: func(i int) bool { return !lines[i].Date.Before(mid2) }, ended: "UNTIL_REACHED"},
		{name: "limit", q: with(since, until, "limit", "7"), keep: func(int) bool { return true }, limit: 7, ended: "LIMIT_REACHED"},
		{name: "limit above count", q: with(mid1, mid2, "limit", "100000"), keep: func(i int) bool { return inWin(i, mid1, mid2) }, ended: "UNTIL_REACHED"},
		{name: "filter ascii fold", q: with(since, until, "filter", "eRRoR"), keep: func(i int) bool { return strings.Contains(strings.ToLower(dec[i].Message), "error") }, ended: "UNTIL_REACHED"},
		{name: "filter unicode fold", q: with(since, until, "filter", "ПРИВЕТ"), keep: func(i int) bool { return strings.Contains(dec[i].Message, "Привет") }, ended: "UNTIL_REACHED"},
		{name: "filter line number", q: with(since, until, "filter", "1234"), keep: func(i int) bool { return strings.Contains(dec[i].Message, "1234") }, ended: "UNTIL_REACHED"},
		{name: "service bas-deploy", q: with(since, until, "service", "bas-deploy"), keep: func(i int) bool { return dec[i].Service == "bas-deploy.service" }, ended: "UNTIL_REACHED"},
		{name: "service full name", q: with(since, until, "service", "bas.service"), keep: func(i int) bool { return dec[i].Service == "bas.service" }, ended: "UNTIL_REACHED"},
		{name: "service all", q: with(since, until, "service", "all"), keep: func(int) bool { return true }, ended: "UNTIL_REACHED"},
		{name: "service both", q: with(since, until, "service", "bas", "service", "bas-deploy"), keep: func(int) bool { return true }, ended: "UNTIL_REACHED"},
		{name: "instances", q: with(since, until, "instanceId", inst[0].id, "instanceId", inst[2].id), keep: func(i int) bool { return dec[i].InstanceID == inst[0].id || dec[i].InstanceID == inst[2].id }, ended: "UNTIL_REACHED"},
		{name: "deployment", q: with(since, until, "deploymentId", inst[1].deploymentID), keep: func(i int) bool { return dec[i].DeploymentID == inst[1].deploymentID }, ended: "UNTIL_REACHED"},
		{name: "fields", q: with(since, until, "field", "id", "field", "date", "field", "message", "field", "nope"), keep: func(int) bool { return true }, ended: "UNTIL_REACHED", fields: []string{"date", "id", "message"}},
		{name: "fields region", q: with(since, until, "field", "region", "field", "pid"), keep: func(int) bool { return true }, ended: "UNTIL_REACHED", fields: []string{"pid", "region"}},
		{name: "combined", q: with(mid1, mid2, "filter", "GET", "deploymentId", inst[0].deploymentID, "limit", "5"),
			keep: func(i int) bool {
				return inWin(i, mid1, mid2) && strings.Contains(dec[i].Message, "GET") && dec[i].DeploymentID == inst[0].deploymentID
			}, limit: 5, ended: "LIMIT_REACHED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want []string
			for i := range lines {
				if c.keep(i) && (c.limit == 0 || len(want) < c.limit) {
					want = append(want, lines[i].ID)
				}
			}
			if len(want) == 0 || (c.limit == 0 && len(want) == len(lines) && c.name != "service all" && c.name != "service both" && c.fields == nil) {
				t.Fatalf("test case selects %d of %d lines: not a useful filter", len(want), len(lines))
			}
			res := readAll(t, logsURL(srv, app, c.q), nil)
			evs, ended := logs(res.events)
			if ended != c.ended {
				t.Errorf("ended %q, want %q", ended, c.ended)
			}
			got := make([]string, len(evs))
			for i, ev := range evs {
				got[i] = ev.LastEventID
				if c.fields != nil {
					var m map[string]any
					if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
						t.Fatal(err)
					}
					if keys := slices.Sorted(maps.Keys(m)); !slices.Equal(keys, c.fields) {
						t.Fatalf("fields %v, want %v", keys, c.fields)
					}
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %d lines, want %d (first got %v want %v)", len(got), len(want), first(got), first(want))
			}
		})
	}
}

func first(s []string) []string { return s[:min(3, len(s))] }

// TestLastEventID checks resume strictly after an id, and the option to ignore it.
func TestLastEventID(t *testing.T) {
	e, srv := start(t, Options{Apps: []App{{Backlog: 500}}, HeartbeatInterval: time.Hour})
	app := e.Apps()[0]
	lines := e.Lines(app.ID)
	since, until := allOf(lines)
	late := lines[300].Date
	cases := []struct {
		name   string
		ignore bool
		q      url.Values
		leid   string
		want   func(i int) bool
	}{
		{"honoured", false, fast(since, until), lines[99].ID, func(i int) bool { return i >= 100 }},
		{"honoured without since", false, fast(time.Time{}, until), lines[99].ID, func(i int) bool { return i >= 100 }},
		{"honoured with since", false, fast(late, until), lines[99].ID, func(i int) bool { return i >= 100 && !lines[i].Date.Before(late) }},
		{"unknown id", false, fast(since, until), "0123456789abcdef", func(int) bool { return true }},
		{"ignored", true, fast(since, until), lines[99].ID, func(int) bool { return true }},
		{"ignored without since", true, fast(time.Time{}, until), lines[99].ID, func(int) bool { return false }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.SetIgnoreLastEventID(c.ignore)
			res := readAll(t, logsURL(srv, app, c.q), map[string]string{"Last-Event-ID": c.leid})
			evs, ended := logs(res.events)
			if ended != "UNTIL_REACHED" {
				t.Errorf("ended %q", ended)
			}
			var want []string
			for i := range lines {
				if c.want(i) {
					want = append(want, lines[i].ID)
				}
			}
			if got := eventIDs(t, evs); !slices.Equal(got, want) {
				t.Fatalf("got %d lines %v, want %d %v", len(got), first(got), len(want), first(want))
			}
		})
	}
	reqs := e.Requests()
	if reqs[0].LastEventID != lines[99].ID {
		t.Errorf("request log Last-Event-ID %q", reqs[0].LastEventID)
	}
}

// TestLiveStreams covers live publication: since-less streams start now, until streams end
// once no later line can match, and open streams get new lines as they come.
func TestLiveStreams(t *testing.T) {
	const disorder = 30 * time.Millisecond
	e, srv := start(t, Options{
		Apps:              []App{{Backlog: 1000, Rate: 400, Disorder: disorder}},
		HeartbeatInterval: 50 * time.Millisecond,
	})
	app := e.Apps()[0]
	a := e.apps[0]

	t.Run("since-less starts now", func(t *testing.T) {
		before := a.published(time.Now())
		var got []string
		err := stream(t, t.Context(), logsURL(srv, app, nil), nil, func(ev sse.Event, _ time.Time) bool {
			if ev.Type == "APPLICATION_LOG" {
				got = append(got, ev.LastEventID)
			}
			return len(got) < 40
		})
		if err != nil {
			t.Fatal(err)
		}
		p, ok := linePos(got[0], a.key, a.published(time.Now()))
		if !ok || p < before || p > before+200 {
			t.Fatalf("first line at %d (%v), %d were published before the request", p, ok, before)
		}
		for i, id := range got {
			if q, _ := linePos(id, a.key, 1<<40); q != p+int64(i) {
				t.Fatalf("line %d at position %d, want %d", i, q, p+int64(i))
			}
		}
	})

	t.Run("until ends after until plus disorder", func(t *testing.T) {
		now := time.Now()
		since, until := now.Add(-200*time.Millisecond), now.Add(200*time.Millisecond)
		res := readAll(t, logsURL(srv, app, fast(since, until)), nil)
		elapsed := time.Since(now)
		evs, ended := logs(res.events)
		if ended != "UNTIL_REACHED" {
			t.Fatalf("ended %q", ended)
		}
		if elapsed < 150*time.Millisecond || elapsed > 5*time.Second {
			t.Errorf("stream ended after %v, until was 200ms ahead", elapsed)
		}
		// fast() sends the dates truncated to the millisecond.
		want := ids(e.Window(app.ID, since.Truncate(time.Millisecond), until.Truncate(time.Millisecond)))
		if got := eventIDs(t, evs); !slices.Equal(got, want) || len(got) < 100 {
			t.Fatalf("got %d lines, want %d", len(got), len(want))
		}
	})
}

// TestThrottle checks that throttleElements/throttlePerInMilliseconds pace the stream.
func TestThrottle(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n        int
		q        url.Values
		min, max time.Duration
	}{
		{"50 per 100ms", 300, url.Values{"throttleElements": {"50"}, "throttlePerInMilliseconds": {"100"}}, 480 * time.Millisecond, 3 * time.Second},
		{"default 100 per 300ms", 250, nil, 580 * time.Millisecond, 4 * time.Second},
		{"unthrottled", 3000, url.Values{"throttleElements": {"100000"}, "throttlePerInMilliseconds": {"10"}}, 0, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, srv := start(t, Options{Apps: []App{{Backlog: tc.n}}, HeartbeatInterval: time.Hour})
			app := e.Apps()[0]
			since, until := allOf(e.Lines(app.ID))
			q := fast(since, until)
			q.Del("throttleElements")
			q.Del("throttlePerInMilliseconds")
			for k, v := range tc.q {
				q[k] = v
			}
			t0 := time.Now()
			var arrivals []time.Duration
			err := stream(t, t.Context(), logsURL(srv, app, q), nil, func(ev sse.Event, at time.Time) bool {
				if ev.Type == "APPLICATION_LOG" {
					arrivals = append(arrivals, at.Sub(t0))
				}
				return ev.Type != "END_OF_STREAM"
			})
			el := time.Since(t0)
			if err != nil || len(arrivals) != tc.n {
				t.Fatalf("err %v, %d lines", err, len(arrivals))
			}
			if el < tc.min || el > tc.max {
				t.Errorf("took %v, want in [%v, %v]", el, tc.min, tc.max)
			}
			if e, ok := tc.q["throttleElements"]; ok && tc.min > 0 {
				var per int
				fmt.Sscan(e[0], &per)
				// Line k*per opens window k: sent no sooner than k periods after the request.
				for k := 1; k*per < tc.n; k++ {
					if d := arrivals[k*per]; d < time.Duration(k)*95*time.Millisecond {
						t.Errorf("line %d arrived %v after the request", k*per, d)
					}
				}
			}
		})
	}
}

// TestValidFrames streams many lines and checks every APPLICATION_LOG data is valid JSON
// with valid UTF-8, with the SSE id equal to the JSON id.
func TestValidFrames(t *testing.T) {
	e, srv := start(t, Options{Apps: []App{{Backlog: 30000, MessageBytes: 80}}, HeartbeatInterval: time.Hour})
	app := e.Apps()[0]
	lines := e.Lines(app.ID)
	since, until := allOf(lines)
	res := readAll(t, logsURL(srv, app, fast(since, until)), nil)
	evs, _ := logs(res.events)
	if len(evs) != len(lines) {
		t.Fatalf("%d events, want %d", len(evs), len(lines))
	}
	for i, ev := range evs {
		if !utf8.ValidString(ev.Data) || !json.Valid([]byte(ev.Data)) {
			t.Fatalf("event %d: invalid data %q", i, ev.Data)
		}
	}
	if got := eventIDs(t, evs); !slices.Equal(got, ids(lines)) {
		t.Fatal("ids differ from Lines")
	}
}

// TestHeartbeatsDuringThrottle: a long throttle period still gets heartbeats.
func TestHeartbeatsDuringThrottle(t *testing.T) {
	e, srv := start(t, Options{Apps: []App{{Backlog: 2}}, HeartbeatInterval: 40 * time.Millisecond})
	app := e.Apps()[0]
	since, until := allOf(e.Lines(app.ID))
	q := fast(since, until)
	q.Set("throttleElements", "1")
	q.Set("throttlePerInMilliseconds", "400")
	var seq []string
	if err := stream(t, t.Context(), logsURL(srv, app, q), nil, func(ev sse.Event, _ time.Time) bool {
		seq = append(seq, ev.Type)
		return ev.Type != "END_OF_STREAM"
	}); err != nil {
		t.Fatal(err)
	}
	first := slices.Index(seq, "APPLICATION_LOG")
	second := first + 1 + slices.Index(seq[first+1:], "APPLICATION_LOG")
	if hb := second - first - 1; hb < 4 {
		t.Fatalf("%d heartbeats during a 400ms throttle wait: %v", hb, seq)
	}
}
