package enrich

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/logship/logship/cleverapi"
	"github.com/logship/logship/emulator"
	"github.com/logship/logship/event"
	"github.com/logship/logship/metrics"
)

// serve starts an emulator with apps on loopback.
func serve(t testing.TB, opts emulator.Options) (*emulator.Emulator, *cleverapi.Client) {
	t.Helper()
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	t.Cleanup(emu.Close)
	return emu, &cleverapi.Client{Base: srv.URL}
}

// enriched is the enrichment member of a line.
type enriched struct {
	Application *struct{ Name string }
	Instance    *struct {
		Name, Flavor, State string
		Index               *int
	}
	Deployment *struct{ Commit, StartDate, Action, Cause string }
	Zone       *struct{ City, Country, CountryCode, DisplayName string }
}

// split returns the line's enrichment and the line without it.
func split(t testing.TB, key string, out []byte) (enriched, map[string]json.RawMessage) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, out)
	}
	var e enriched
	if raw, ok := m[key]; ok {
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("enrichment: %v: %s", err, raw)
		}
		delete(m, key)
	}
	return e, m
}

func members(t testing.TB, raw []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// countPaths counts the emulator's look-ups whose path contains each part.
func countPaths(emu *emulator.Emulator) map[string]int {
	n := map[string]int{}
	for _, r := range emu.Requests() {
		for _, p := range []string{"/instances/", "/deployments/", "/v4/products/zones/", "/v2/"} {
			if strings.Contains(r.Path, p) {
				n[p]++
			}
		}
	}
	return n
}

// TestEnrichEveryPart: every part is added, the line's own members are kept byte for
// byte, and each id is looked up once however many lines and goroutines carry it.
func TestEnrichEveryPart(t *testing.T) {
	emu, api := serve(t, emulator.Options{Apps: []emulator.App{{Backlog: 400, Name: "shop", Zone: "mtl"}}})
	app := emu.Apps()[0]
	m := metrics.New()
	en := New(Options{API: api, MaxWait: 5 * time.Second, Metrics: m})
	defer en.Close()
	lines := emu.Lines(app.ID)
	outs := make([][]byte, len(lines))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < len(lines); i += 8 {
				outs[i] = en.Apply(t.Context(), app.OwnerID, app.ID, lines[i].Raw)
			}
		})
	}
	wg.Wait()
	for i, out := range outs {
		e, rest := split(t, "clevercloud", out)
		if !equalMembers(rest, members(t, lines[i].Raw)) {
			t.Fatalf("line %d changed: %s", i, out)
		}
		if !bytes.HasPrefix(out, lines[i].Raw[:len(lines[i].Raw)-1]) {
			t.Fatalf("line %d: the members' bytes are not copied as they were: %s", i, out)
		}
		if e.Application == nil || e.Application.Name != "shop" || e.Instance == nil || e.Instance.Name == "" ||
			e.Instance.Flavor != "XS" || e.Instance.State != "UP" || e.Instance.Index == nil ||
			e.Deployment == nil || len(e.Deployment.Commit) != 40 || e.Deployment.Action != "DEPLOY" || e.Deployment.StartDate == "" ||
			e.Zone == nil || e.Zone.City != "Montreal" || e.Zone.Country != "Canada" || e.Zone.DisplayName != "Montreal" {
			t.Fatalf("line %d enrichment %s", i, out)
		}
	}
	got := countPaths(emu)
	want := map[string]int{"/instances/": app.Instances, "/deployments/": app.Deployments, "/v4/products/zones/": 1, "/v2/": 1}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s looked up %d times, want %d (one per id)", k, got[k], w)
		}
	}
	n := 0.0
	for _, p := range partNames {
		n += value(m.EnrichMissing.WithLabelValues(p))
	}
	if n != 0 {
		t.Errorf("%v parts missing", n)
	}
}

func equalMembers(a, b map[string]json.RawMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestEnrichSlowAPI: a look-up slower than MaxWait holds no line longer than MaxWait after
// it started; those lines go out without the part (counted), and later ones get it.
func TestEnrichSlowAPI(t *testing.T) {
	emu, api := serve(t, emulator.Options{Apps: []emulator.App{{Backlog: 200, Instances: 1, Deployments: 1}},
		Faults: emulator.Faults{API: []emulator.APIFault{{Match: "/instances/", Delay: 2 * time.Second}}}})
	app := emu.Apps()[0]
	m := metrics.New()
	en := New(Options{API: api, MaxWait: 50 * time.Millisecond, Metrics: m})
	defer en.Close()
	lines := emu.Lines(app.ID)
	without := 0
	for _, l := range lines[:100] {
		e, _ := split(t, "clevercloud", en.Apply(t.Context(), app.OwnerID, app.ID, l.Raw))
		if e.Instance == nil {
			without++
		}
	}
	if without != 100 {
		t.Fatalf("%d of 100 lines without the slow part, want all", without)
	}
	if n := value(m.EnrichMissing.WithLabelValues("instance")); n != 100 {
		t.Errorf("missing instance counted %v times", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, _ := split(t, "clevercloud", en.Apply(t.Context(), app.OwnerID, app.ID, lines[150].Raw))
		if e.Instance != nil {
			if e.Application == nil || e.Deployment == nil || e.Zone == nil {
				t.Fatalf("a fast part is missing: %+v", e)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow look-up never completed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := countPaths(emu)["/instances/"]; got != 1 {
		t.Errorf("instance looked up %d times, want 1", got)
	}
}

// TestEnrichFailingAPI: a failing look-up leaves the part out, is not retried per line,
// and is retried after RetryAfter.
func TestEnrichFailingAPI(t *testing.T) {
	emu, api := serve(t, emulator.Options{Apps: []emulator.App{{Backlog: 50, Instances: 1, Deployments: 1}},
		Faults: emulator.Faults{API: []emulator.APIFault{{Match: "/deployments/", Status: 503, Count: 1}, {Match: "/v2/", Status: 500}}}})
	app := emu.Apps()[0]
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	m := metrics.New()
	en := New(Options{API: api, MaxWait: 5 * time.Second, RetryAfter: time.Minute, Metrics: m, Now: clock})
	defer en.Close()
	lines := emu.Lines(app.ID)
	for _, l := range lines[:20] {
		e, _ := split(t, "clevercloud", en.Apply(t.Context(), app.OwnerID, app.ID, l.Raw))
		if e.Deployment != nil || e.Application != nil || e.Instance == nil || e.Zone == nil {
			t.Fatalf("enrichment while deployments and applications fail: %+v", e)
		}
	}
	if got := countPaths(emu); got["/deployments/"] != 1 || got["/v2/"] != 1 {
		t.Errorf("failed look-ups repeated: %v", got)
	}
	if n := value(m.EnrichLookups.WithLabelValues("deployment", "error")); n != 1 {
		t.Errorf("errors counted %v", n)
	}
	now.Add(int64(time.Minute + time.Second))
	e, _ := split(t, "clevercloud", en.Apply(t.Context(), app.OwnerID, app.ID, lines[30].Raw))
	if e.Deployment == nil || e.Application != nil {
		t.Errorf("after RetryAfter: %+v", e)
	}
}

// TestEnrichTTL: a value older than TTL is refreshed once while the old one is used.
func TestEnrichTTL(t *testing.T) {
	emu, api := serve(t, emulator.Options{Apps: []emulator.App{{Backlog: 10, Instances: 1, Deployments: 1}}})
	app := emu.Apps()[0]
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	en := New(Options{API: api, MaxWait: 5 * time.Second, TTL: time.Hour, Now: func() time.Time { return time.Unix(0, now.Load()) }})
	defer en.Close()
	raw := emu.Lines(app.ID)[0].Raw
	first := en.Apply(t.Context(), app.OwnerID, app.ID, raw)
	now.Add(int64(2 * time.Hour))
	if second := en.Apply(t.Context(), app.OwnerID, app.ID, raw); !bytes.Equal(first, second) {
		t.Errorf("stale value not used while refreshing:\n%s\n%s", first, second)
	}
	deadline := time.Now().Add(5 * time.Second)
	for countPaths(emu)["/v2/"] != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("not refreshed after TTL: %v", countPaths(emu))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEnrichReplacesOwnKey: a line's own member named like the key is replaced; a
// line of an unknown application goes out unchanged.
func TestEnrichReplacesOwnKey(t *testing.T) {
	emu, api := serve(t, emulator.Options{Apps: []emulator.App{{Backlog: 1, Instances: 1, Deployments: 1, Name: "n"}}})
	app := emu.Apps()[0]
	en := New(Options{API: api, MaxWait: 5 * time.Second, Key: "cc"})
	defer en.Close()
	raw := `{"id":"1","cc":{"x":1},"applicationId":"` + app.ID + `","date":"2024-01-01T00:00:00.000Z"}`
	out := en.Apply(t.Context(), app.OwnerID, app.ID, []byte(raw))
	want := `{"id":"1","applicationId":"` + app.ID + `","date":"2024-01-01T00:00:00.000Z","cc":{"application":{"name":"n"},"zone":{"city":"Paris","country":"France","countryCode":"FR","displayName":"Paris"}}}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	unknown := `{"id":"2","date":"2024-01-01T00:00:00.000Z","message":"m"}`
	if out := en.Apply(t.Context(), app.OwnerID, "app_unknown", []byte(unknown)); string(out) != unknown {
		t.Errorf("unknown application: %s", out)
	}
}

// TestOutput: the Output enriches what it hands on, and dead letters as they are.
func TestOutput(t *testing.T) {
	emu, api := serve(t, emulator.Options{Apps: []emulator.App{{Backlog: 1}}})
	app := emu.Apps()[0]
	en := New(Options{API: api, MaxWait: 5 * time.Second})
	defer en.Close()
	var got []event.Event
	o := &Output{Next: collect{&got}, Enricher: en, Owner: app.OwnerID}
	l := emu.Lines(app.ID)[0]
	if err := o.Submit(t.Context(), event.Event{Raw: l.Raw, AppID: app.ID}); err != nil {
		t.Fatal(err)
	}
	if err := o.DeadLetter(t.Context(), event.Event{Raw: l.Raw}, "r"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Contains(got[0].Raw, []byte(`"clevercloud":{"application"`)) || !bytes.Equal(got[1].Raw, l.Raw) {
		t.Errorf("handed on %d events", len(got))
	}
}

// TestOutputLinesIndependent: the lines an Output builds share its arena's
// chunks, and none is changed by those built after it, nor by appending
// to it.
func TestOutputLinesIndependent(t *testing.T) {
	emu, api := serve(t, emulator.Options{Apps: []emulator.App{{Backlog: 200}}})
	app := emu.Apps()[0]
	en := New(Options{API: api, MaxWait: 5 * time.Second})
	defer en.Close()
	var got []event.Event
	o := &Output{Next: collect{&got}, Enricher: en, Owner: app.OwnerID}
	lines := emu.Lines(app.ID)
	for _, l := range lines {
		if err := o.Submit(t.Context(), event.Event{Raw: l.Raw, AppID: app.ID}); err != nil {
			t.Fatal(err)
		}
	}
	want := make([][]byte, len(got))
	for i, e := range got {
		want[i] = bytes.Clone(e.Raw)
		_ = append(e.Raw, "garbage"...)
	}
	for i, e := range got {
		if !bytes.Equal(e.Raw, want[i]) || !bytes.HasPrefix(e.Raw, lines[i].Raw[:len(lines[i].Raw)-1]) || !json.Valid(e.Raw) {
			t.Fatalf("line %d changed or wrong: %s", i, e.Raw)
		}
	}
}

type collect struct{ evs *[]event.Event }

func (c collect) Submit(_ context.Context, e event.Event) error {
	*c.evs = append(*c.evs, e)
	return nil
}
func (c collect) DeadLetter(_ context.Context, e event.Event, _ string) error {
	*c.evs = append(*c.evs, e)
	return nil
}

// BenchmarkEnrich is enrichment's cost per line once everything is cached.
func BenchmarkEnrich(b *testing.B) {
	emu, api := serve(b, emulator.Options{Apps: []emulator.App{{Backlog: 4096, MessageBytes: 400}}})
	app := emu.Apps()[0]
	en := New(Options{API: api, MaxWait: 5 * time.Second})
	defer en.Close()
	lines := emu.Lines(app.ID)
	for _, l := range lines[:64] {
		en.Apply(context.Background(), app.OwnerID, app.ID, l.Raw)
	}
	// Through an Output, as a source's lines go.
	var got []event.Event
	o := &Output{Next: collect{&got}, Enricher: en, Owner: app.OwnerID}
	var bytesIn int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		raw := lines[i%len(lines)].Raw
		bytesIn += int64(len(raw))
		_ = o.Submit(context.Background(), event.Event{Raw: raw, AppID: app.ID})
		got = got[:0]
	}
	b.SetBytes(bytesIn / int64(max(b.N, 1)))
}

func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
