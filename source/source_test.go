package source

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/logship/logship/config"
	"github.com/logship/logship/emulator"
	"github.com/logship/logship/event"
	"github.com/logship/logship/metrics"
)

// collector is the Output of the source tests: it keeps what it is given.
type collector struct {
	mu     sync.Mutex
	events []event.Event
}

func (c *collector) Submit(_ context.Context, e event.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.Raw = append([]byte(nil), e.Raw...)
	c.events = append(c.events, e)
	return nil
}

func (c *collector) DeadLetter(ctx context.Context, e event.Event, _ string) error {
	return c.Submit(ctx, e)
}

// ids returns the ids received so far, in order.
func (c *collector) ids() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.events))
	for i, e := range c.events {
		out[i] = e.ID
	}
	return out
}

// serveEmulator serves emu on loopback for the test's duration.
func serveEmulator(t *testing.T, opts emulator.Options) (*emulator.Emulator, string) {
	t.Helper()
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(func() {
		emu.Close()
		srv.Close()
	})
	return emu, srv.URL
}

// sourceConfig is a source of app reading its backlog from the start,
// fast, with short timeouts.
func sourceConfig(app emulator.App) config.Source {
	s := config.NewSource(app.OwnerID, app.ID)
	s.Name = app.ID
	s.SinceTime, s.UntilTime = app.Start.Add(-time.Minute), app.Start.Add(time.Hour)
	s.ThrottleElements, s.ThrottlePerMs = 5000, 10
	s.Lookback, s.HeartbeatTimeout = config.Duration(3*time.Second), config.Duration(3*time.Second)
	return s
}

// runSource runs a source of cfg against api until it completes (or the
// test's 60 s are up) and returns what it emitted.
func runSource(t *testing.T, api string, cfg config.Source, opts Options) *collector {
	t.Helper()
	out := &collector{}
	opts.Output = out
	if opts.MinRetry == 0 {
		opts.MinRetry, opts.MaxRetry = 10*time.Millisecond, 50*time.Millisecond
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := New(api, cfg, opts).Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("source did not complete: %d lines", len(out.ids()))
	}
	return out
}

// checkOnceInOrder fails unless got is exactly the ids of want, in order.
func checkOnceInOrder(t *testing.T, got []string, want []emulator.Line) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
		if seen[id] == 2 {
			t.Errorf("id %s delivered twice", id)
		}
	}
	for i, l := range want {
		if seen[l.ID] == 0 {
			t.Errorf("line %d (%s) lost", i, l.ID)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i].ID {
			t.Fatalf("line %d is %s, want %s (stream order)", i, got[i], want[i].ID)
		}
	}
}

func TestSafeURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://api.clever-cloud.com", "https://api.clever-cloud.com"},
		{"https://apiuser:hunter2@api.example/base", "https://api.example/base"},
		{"http://apiuser@127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://h/v4/logs?filter=secret#frag", "http://h/v4/logs"},
		{"http://u:p@h:bad port/", "[unparsable url]"},
	}
	for _, tt := range tests {
		if got := SafeURL(tt.in); got != tt.want {
			t.Errorf("SafeURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestConnectErrorHidesUserInfo: credentials in the API URL (refused by
// validation, see config) never reach a log line through a connection
// error either.
func TestConnectErrorHidesUserInfo(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	cfg := withDefaults(config.Source{OwnerID: "orga_1", ApplicationID: "app_1", SinceTime: time.Now(), Lookback: config.Duration(time.Second), HeartbeatTimeout: config.Duration(time.Second)})
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	// Port 1 on loopback refuses the connection.
	s := New("http://apiuser:hunter2@127.0.0.1:1", cfg, Options{Output: &collector{}, Logger: zap.New(core), MinRetry: 10 * time.Millisecond, MaxRetry: 20 * time.Millisecond})
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if logs.Len() == 0 {
		t.Fatal("no reconnect logged")
	}
	for _, e := range logs.All() {
		line := fmt.Sprint(e.Message, " ", e.ContextMap())
		if strings.Contains(line, "apiuser") || strings.Contains(line, "hunter2") {
			t.Fatalf("user info logged: %s", line)
		}
	}
}

func TestRequestFields(t *testing.T) {
	tests := []struct {
		name            string
		fields, push    []string
		want, wantAdded []string
	}{
		{"none", nil, nil, nil, nil},
		{"without id and date", []string{"message", "severity"}, nil, []string{"id", "date", "message", "severity"}, []string{"id", "date"}},
		{"without date", []string{"message", "id"}, nil, []string{"id", "date", "message"}, []string{"date"}},
		{"with both", []string{"date", "message", "id"}, nil, []string{"id", "date", "message"}, nil},
		{"push-down", nil, []string{"id", "date", "message"}, []string{"id", "date", "message"}, nil},
		{"own fields win over push-down", []string{"zone"}, []string{"id", "date", "message"}, []string{"id", "date", "zone"}, []string{"id", "date"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, added := RequestFields(config.Source{Fields: tt.fields, PushFields: tt.push})
			if !slices.Equal(got, tt.want) || !slices.Equal(added, tt.wantAdded) {
				t.Fatalf("got %v added %v, want %v added %v", got, added, tt.want, tt.wantAdded)
			}
		})
	}
}

// TestFieldsAlwaysHoldIDAndDate: a source asking for fields without id and
// date still gets every line, once, across drops.
func TestFieldsAlwaysHoldIDAndDate(t *testing.T) {
	emu, api := serveEmulator(t, emulator.Options{Apps: []emulator.App{{Backlog: 300}}, Seed: 3,
		Faults: emulator.Faults{DropEvery: 70}})
	app := emu.Apps()[0]
	cfg := sourceConfig(app)
	cfg.Fields = []string{"message", "severity"}
	out := runSource(t, api, cfg, Options{})
	checkOnceInOrder(t, out.ids(), emu.Lines(app.ID))
}

// scriptLine is a line of a scripted stream.
type scriptLine struct {
	id   string
	date time.Time
}

// scriptServer serves lines as the logs endpoint would, with dates of any
// precision: the server filters by `since` (read to the millisecond, as the
// API's clients send it), ignores Last-Event-ID (replays from since), cuts
// the first connection after firstConn lines and ends every later one with
// END_OF_STREAM.
func scriptServer(t *testing.T, lines []scriptLine, firstConn int) (string, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := conns.Add(1)
		since, err := time.Parse(time.RFC3339Nano, r.URL.Query().Get("since"))
		if err != nil {
			http.Error(w, `{"error":"bad since"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		sent := 0
		for _, l := range lines {
			if l.date.Before(since) {
				continue
			}
			if n == 1 && sent == firstConn {
				return // a close without END_OF_STREAM
			}
			fmt.Fprintf(w, "id: %s\nevent: APPLICATION_LOG\ndata: {\"id\":%q,\"date\":%q}\n\n", l.id, l.id, l.date.Format(time.RFC3339Nano))
			sent++
		}
		fmt.Fprint(w, "event: END_OF_STREAM\ndata: {\"endedBy\":\"UNTIL_REACHED\"}\n\n")
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &conns
}

// TestSubMillisecondDates: the request's `since` has millisecond precision,
// so the dedupe window must keep every id down to that floor, or a line
// dated in the sub-millisecond gap is replayed after the window forgot it
// (issue 8 case 8: [a b a c]).
func TestSubMillisecondDates(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	lines := []scriptLine{
		{"a", t0.Add(400 * time.Microsecond)},
		// b is the newest: the cutoff is t0+0.6 ms, after a; `since` is t0.000.
		{"b", t0.Add(time.Second + 600*time.Microsecond)},
		{"c", t0.Add(time.Second + 700*time.Microsecond)},
	}
	api, conns := scriptServer(t, lines, 2)
	cfg := withDefaults(config.Source{OwnerID: "orga_1", ApplicationID: "app_1", SinceTime: t0, Lookback: config.Duration(time.Second), HeartbeatTimeout: config.Duration(3 * time.Second)})
	got := runSource(t, api, cfg, Options{}).ids()
	if want := []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if conns.Load() < 2 {
		t.Fatal("no reconnect")
	}
}

// TestLimitCountsDeliveredLines: with a server that replays from since
// (Last-Event-ID ignored) and drops, `limit` still yields exactly limit
// lines, each once: the server's count includes the replays logship drops.
func TestLimitCountsDeliveredLines(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignore_last_event_id=%v", ignore), func(t *testing.T) {
			emu, api := serveEmulator(t, emulator.Options{Apps: []emulator.App{{Backlog: 5000}}, Seed: 4,
				IgnoreLastEventID: ignore, Faults: emulator.Faults{DropEvery: 1000, DropJitter: 100}})
			app := emu.Apps()[0]
			cfg := sourceConfig(app)
			cfg.Limit = 3000
			out := runSource(t, api, cfg, Options{})
			checkOnceInOrder(t, out.ids(), emu.Lines(app.ID)[:3000])
			if emu.Stats().Drops < 2 {
				t.Fatal("no drop")
			}
		})
	}
}

// TestLimitFromStartPosition: a source resumes its count toward `limit`
// from the start position's Delivered (the checkpoint's), and completes at
// once when the limit was already reached.
func TestLimitFromStartPosition(t *testing.T) {
	emu, api := serveEmulator(t, emulator.Options{Apps: []emulator.App{{Backlog: 500}}, Seed: 6})
	app := emu.Apps()[0]
	cfg := sourceConfig(app)
	cfg.Limit = 300
	out := runSource(t, api, cfg, Options{Start: event.Position{Delivered: 290}})
	checkOnceInOrder(t, out.ids(), emu.Lines(app.ID)[:10])
	before := len(emu.Requests())
	if got := runSource(t, api, cfg, Options{Start: event.Position{Delivered: 300}}).ids(); len(got) != 0 || len(emu.Requests()) != before {
		t.Fatalf("limit already reached: %d lines, %d requests", len(got), len(emu.Requests())-before)
	}
}

// TestLimitServerCountsMalformed: a server whose LIMIT_REACHED count holds
// a frame logship skipped (malformed) ends the stream short of `limit`:
// logship asks again for the rest.
func TestLimitServerCountsMalformed(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conns.Add(1)
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		w.Header().Set("Content-Type", "text/event-stream")
		start := 0
		if id := r.Header.Get("Last-Event-ID"); id != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(id, "l"))
			start++
		}
		sent := 0
		for i := start; i < 10 && sent < limit; i++ {
			if i == 3 && start == 0 {
				fmt.Fprint(w, "id: bad\nevent: APPLICATION_LOG\ndata: {\"id\":\"bad\",\n\n")
				if sent++; sent == limit {
					break
				}
			}
			fmt.Fprintf(w, "id: l%d\nevent: APPLICATION_LOG\ndata: {\"id\":\"l%d\",\"date\":%q}\n\n", i, i, t0.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano))
			sent++
		}
		fmt.Fprint(w, "event: END_OF_STREAM\ndata: {\"endedBy\":\"LIMIT_REACHED\"}\n\n")
	}))
	t.Cleanup(srv.Close)
	cfg := withDefaults(config.Source{OwnerID: "orga_1", ApplicationID: "app_1", SinceTime: t0, Limit: 5, Lookback: config.Duration(time.Second), HeartbeatTimeout: config.Duration(3 * time.Second)})
	got := runSource(t, srv.URL, cfg, Options{}).ids()
	if want := []string{"l0", "l1", "l2", "l3", "l4"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if conns.Load() != 2 {
		t.Fatalf("%d connections, want 2", conns.Load())
	}
}

// withDefaults returns s with the defaults package config gives the keys
// it leaves zero (New sets none of its own).
func withDefaults(s config.Source) config.Source {
	d := config.NewSource(s.OwnerID, s.ApplicationID)
	if s.Name == "" {
		s.Name = s.ApplicationID
	}
	if s.ThrottleElements == 0 {
		s.ThrottleElements, s.ThrottlePerMs = d.ThrottleElements, d.ThrottlePerMs
	}
	if s.MaxEventBytes == 0 {
		s.MaxEventBytes = d.MaxEventBytes
	}
	return s
}

// refusingOutput refuses the line at index refuseAt once, as the pipeline
// refuses a Submit whose context ended before it took the line (the
// connection's context, cancelled by the watchdog as the read returned).
type refusingOutput struct {
	collector
	refuseAt int
	calls    int
}

func (r *refusingOutput) Submit(ctx context.Context, e event.Event) error {
	r.calls++
	if r.calls == r.refuseAt {
		return context.Canceled
	}
	return r.collector.Submit(ctx, e)
}

// TestRefusedSubmitIsReadAgain: a line the Output did not take is not
// counted as seen: the next connection reads it again and it is delivered
// once, in order. (Counting it as seen lost it: found by the simulation's
// silence_edge class, where the watchdog fires as a read returns data.)
func TestRefusedSubmitIsReadAgain(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignore_last_event_id=%v", ignore), func(t *testing.T) {
			start := time.Now().Add(-time.Hour).Truncate(time.Second)
			emu, api := serveEmulator(t, emulator.Options{Apps: []emulator.App{{Backlog: 500, Start: start}}, IgnoreLastEventID: ignore})
			app := emu.Apps()[0]
			out := &refusingOutput{refuseAt: 137}
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			err := New(api, sourceConfig(app), Options{Output: out, MinRetry: 10 * time.Millisecond, MaxRetry: 50 * time.Millisecond}).Run(ctx)
			if err != nil || ctx.Err() != nil {
				t.Fatalf("run: %v (%v)", err, ctx.Err())
			}
			checkOnceInOrder(t, out.ids(), emu.Lines(app.ID))
		})
	}
}

// TestOversizeFrameSkipped: a frame beyond the reader's limit (4 ×
// max_event_bytes, at least 16 MiB) is skipped and counted as malformed,
// and the lines after it on the same connection are delivered; frames with
// CRLF line ends and data over several lines are read as well.
func TestOversizeFrameSkipped(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	line := func(i int) string {
		return fmt.Sprintf(`{"id":"l%d","date":%q}`, i, t0.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "id: l0\r\nevent: APPLICATION_LOG\r\ndata: %s\r\n\r\n", line(0))
		fmt.Fprint(w, "id: huge\nevent: APPLICATION_LOG\ndata: {\"id\":\"huge\",\"message\":\"")
		chunk := strings.Repeat("x", 1<<20)
		for range 17 {
			fmt.Fprint(w, chunk)
		}
		fmt.Fprint(w, "\"}\n\n")
		l2 := line(2)
		fmt.Fprintf(w, ": a comment\nid: l1\nevent: APPLICATION_LOG\ndata:%s\n\nevent: APPLICATION_LOG\ndata: %s\ndata: %s\n\n", line(1), l2[:10], l2[10:])
		fmt.Fprint(w, "event: END_OF_STREAM\ndata: {\"endedBy\":\"UNTIL_REACHED\"}\n\n")
	}))
	t.Cleanup(srv.Close)
	m := metrics.New()
	cfg := withDefaults(config.Source{OwnerID: "orga_1", ApplicationID: "app_1", SinceTime: t0, Lookback: config.Duration(time.Second), HeartbeatTimeout: config.Duration(3 * time.Second)})
	got := runSource(t, srv.URL, cfg, Options{Metrics: m}).ids()
	if want := []string{"l0", "l1", "l2"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if n := testutil.ToFloat64(m.Malformed.WithLabelValues("app_1", KindFrameTooLarge)); n != 1 {
		t.Fatalf("%v frames counted too large, want 1", n)
	}
}

// keepingOutput keeps the events as it is handed them, Raw included (as
// the pipeline does); copying marks it a LineCopier, which copies instead.
type keepingOutput struct {
	events  []event.Event
	copying bool
}

func (k *keepingOutput) Submit(_ context.Context, e event.Event) error {
	if k.copying {
		e.Raw = append([]byte(nil), e.Raw...)
	}
	k.events = append(k.events, e)
	return nil
}

func (k *keepingOutput) DeadLetter(ctx context.Context, e event.Event, _ string) error {
	return k.Submit(ctx, e)
}

type copyingOutput struct{ keepingOutput }

func (*copyingOutput) CopiesLines() {}

// TestLinesOutliveTheReadBuffer: an Output may keep the lines it is handed
// (the source copies them out of its read buffer), and a LineCopier gets
// the same bytes; every line is the emulator's, byte for byte (CRLF line
// ends, no space after the colons, a retry field).
func TestLinesOutliveTheReadBuffer(t *testing.T) {
	for _, copying := range []bool{false, true} {
		t.Run(fmt.Sprint("copier=", copying), func(t *testing.T) {
			emu, api := serveEmulator(t, emulator.Options{Apps: []emulator.App{{Backlog: 3000}}, Seed: 5,
				Style: emulator.Style{CRLF: true, NoSpace: true, Retry: time.Second}})
			app := emu.Apps()[0]
			var out Output
			keep := &keepingOutput{copying: copying}
			out = keep
			if copying {
				c := &copyingOutput{keepingOutput{copying: true}}
				keep, out = &c.keepingOutput, c
			}
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			if err := New(api, sourceConfig(app), Options{Output: out}).Run(ctx); err != nil {
				t.Fatal(err)
			}
			want := emu.Lines(app.ID)
			if len(keep.events) != len(want) {
				t.Fatalf("got %d lines, want %d", len(keep.events), len(want))
			}
			for i, e := range keep.events {
				if string(e.Raw) != string(want[i].Raw) {
					t.Fatalf("line %d: %s, want %s", i, e.Raw, want[i].Raw)
				}
			}
		})
	}
}
