package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logship/logship/emulator"
)

// readObjects reads an NDJSON file into one map per line.
func readObjects(t *testing.T, path string) []map[string]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]json.RawMessage
	for _, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("not a JSON object: %v: %s", err, l)
		}
		out = append(out, m)
	}
	return out
}

func unquote(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("not a string: %s", raw)
	}
	return s
}

// TestShapingFieldsAndPushDown: include, rename, add and parse_message_json
// shape what the file receives; include and a plain message_contains are
// pushed down as the API's field and filter parameters (visible in the
// requests the emulator received) unless the source sets its own, and the
// pipeline enforces both anyway.
func TestShapingFieldsAndPushDown(t *testing.T) {
	t.Parallel()
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(3000), Token: "test-token", Seed: 21})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	yaml := backfillYAML(api, filepath.Join(dir, "state"), out, apps, `pipeline:
  filter:
    message_contains: INFO
  fields:
    include: [id, date, applicationId, message, instanceId]
    rename: {instanceId: instance}
    parse_message_json: true
    add: {env: e2e}
enrichment:
  max_wait: 30s
`)
	// The second source asks for its own fields: no field push-down there.
	ownFields := "    fields: [id, date, applicationId, message, instanceId, zone]\n"
	k := strings.LastIndex(yaml, "    throttle_elements:")
	yaml = yaml[:k] + ownFields + yaml[k:]
	runBackfill(t, yaml, 0)

	// Enrichment (on by default) adds what it looks up to the pushed fields.
	pushed := []string{"id", "date", "applicationId", "message", "instanceId", "deploymentId", "zone"}
	own := []string{"id", "date", "applicationId", "message", "instanceId", "zone"}
	for _, r := range emu.Requests() {
		if !strings.HasSuffix(r.Path, "/logs") {
			continue // enrichment's look-ups
		}
		want := pushed
		if strings.Contains(r.Path, apps[1].ID) {
			want = own
		}
		if got := r.Query["field"]; !reflect.DeepEqual(got, want) {
			t.Fatalf("request %s: field=%q, want %q", r.Path, got, want)
		}
		if got := r.Query.Get("filter"); got != "INFO" {
			t.Fatalf("request %s: filter=%q, want INFO", r.Path, got)
		}
	}

	got := map[string][]map[string]json.RawMessage{}
	for _, m := range readObjects(t, out) {
		app := unquote(t, m["applicationId"])
		got[app] = append(got[app], m)
	}
	// include keeps enrichment's key (clevercloud) as well.
	wantKeys := []string{"applicationId", "clevercloud", "date", "id", "instance", "logship", "message"}
	parsed := 0
	for _, a := range apps {
		var want []emulator.Line
		for _, l := range emu.Lines(a.ID) {
			var v struct{ Message string }
			if err := json.Unmarshal(l.Raw, &v); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(strings.ToLower(v.Message), "info") {
				want = append(want, l)
			}
		}
		if len(got[a.ID]) != len(want) || len(want) < 100 {
			t.Fatalf("app %s: %d lines, want %d", a.ID, len(got[a.ID]), len(want))
		}
		for i, m := range got[a.ID] {
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range m {
					if !yield(k) {
						return
					}
				}
			})
			if !reflect.DeepEqual(keys, wantKeys) {
				t.Fatalf("line %d has fields %q, want %q", i, keys, wantKeys)
			}
			if id := unquote(t, m["id"]); id != want[i].ID {
				t.Fatalf("app %s line %d is %s, want %s", a.ID, i, id, want[i].ID)
			}
			if string(m["logship"]) != `{"env":"e2e"}` {
				t.Fatalf("added fields %s", m["logship"])
			}
			if !strings.HasPrefix(string(m["clevercloud"]), `{"application":{"name":"`+a.Name+`"}`) {
				t.Fatalf("enrichment %s", m["clevercloud"])
			}
			if m["message"][0] == '{' {
				var msg struct{ Level string }
				if err := json.Unmarshal(m["message"], &msg); err != nil || msg.Level != "info" {
					t.Fatalf("parsed message %s", m["message"])
				}
				parsed++
			}
		}
	}
	if parsed == 0 {
		t.Fatal("no JSON message was parsed")
	}
}

// timedReceiver is an NDJSON receiver that notes when each batch came.
type timedReceiver struct {
	mu      sync.Mutex
	ids     map[string][]string
	batches []timedBatch
	// hangUntil makes requests wait (without reading) until then.
	hangUntil time.Time
	srv       *httptest.Server
}

type timedBatch struct {
	at     time.Time
	events int
}

func newTimedReceiver(t *testing.T, hangUntil time.Time) *timedReceiver {
	r := &timedReceiver{ids: map[string][]string{}, hangUntil: hangUntil}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *timedReceiver) serve(w http.ResponseWriter, req *http.Request) {
	if d := time.Until(r.hangUntil); d > 0 {
		select {
		case <-time.After(d):
		case <-req.Context().Done():
			return
		}
	}
	data, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		app := jsonField(sc.Bytes(), "applicationId")
		r.ids[app] = append(r.ids[app], jsonField(sc.Bytes(), "id"))
		n++
	}
	r.batches = append(r.batches, timedBatch{at: now, events: n})
	w.WriteHeader(http.StatusNoContent)
}

func (r *timedReceiver) got() (map[string][]string, []timedBatch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := map[string][]string{}
	for k, v := range r.ids {
		ids[k] = slices.Clone(v)
	}
	return ids, slices.Clone(r.batches)
}

// TestShapingThrottleBlock: in block mode the rate is never exceeded by more
// than 5 % over 20,000 events (nor halved), and every event arrives once,
// in order.
func TestShapingThrottleBlock(t *testing.T) {
	if testing.Short() {
		t.Skip("5 s at the throttled rate")
	}
	t.Parallel()
	const n, rate, burst = 20_000, 4000.0, 100
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(n)[:1], Token: "test-token", Seed: 22})
	apps := emu.Apps()
	rcv := newTimedReceiver(t, time.Time{})
	dir := t.TempDir()
	yaml := backfillYAML(api, filepath.Join(dir, "state"), "UNUSED", apps,
		fmt.Sprintf("pipeline:\n  throttle: {rate: %v, burst: %d, mode: block}\n", rate, burst))
	// The rate is measured from the first batch on: enrichment's first look-ups (each may hold
	// the stream up to enrichment.max_wait) would show in it on a loaded machine.
	yaml = strings.ReplaceAll(yaml, "    lookback: 3s\n", "    lookback: 3s\n    enrich: false\n")
	yaml = withSinks(yaml, fmt.Sprintf("sinks:\n  - type: http\n    url: %s/ingest\n    batch: {max_events: 100, max_wait: 20ms}\n", rcv.srv.URL))
	runBackfill(t, yaml, 0)
	ids, batches := rcv.got()
	checkExactlyOnceInOrder(t, emu, apps, ids)
	// The first batch holds the burst; the rate shows from its arrival on.
	first, last := batches[0], batches[len(batches)-1]
	events := 0
	for _, b := range batches[1:] {
		events += b.events
	}
	got := float64(events) / last.at.Sub(first.at).Seconds()
	t.Logf("%d events: %d after the first batch in %v: %.0f events/s for a rate of %.0f", n, events, last.at.Sub(first.at), got, rate)
	// Faster than the rate is a throttle bug (5 % at most); slower can also
	// be a starved machine (CI runs packages side by side on 2 cores, and a
	// source woken late loses the tokens beyond the burst: 2,170/s seen at
	// a load average of 14), so the slow side only catches a rate off by a
	// unit or a stuck bucket: half the rate at least.
	if got < rate*0.50 || got > rate*1.05 {
		t.Fatalf("rate %.0f events/s, want %.0f -50%%/+5%%", got, rate)
	}
}

// totalsLine finds the pipeline's closing totals in the agent's JSON logs.
func totalsLine(t *testing.T, logs string) map[string]any {
	t.Helper()
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "pipeline totals") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatalf("no pipeline totals in the logs:\n%s", logs)
	return nil
}

// TestShapingThrottleDrop: in drop mode, at most rate × time + burst events
// reach the sink, in order and once each; the drops are counted and the
// backfill still completes (dropped events count as delivered).
func TestShapingThrottleDrop(t *testing.T) {
	t.Parallel()
	const n, rate, burst = 20_000, 2000.0, 100
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(n)[:1], Token: "test-token", Seed: 23})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	yaml := backfillYAML(api, filepath.Join(dir, "state"), out, apps,
		fmt.Sprintf("pipeline:\n  throttle: {rate: %v, burst: %d, mode: drop}\n", rate, burst))
	yaml = strings.Replace(yaml, "level: warn", "level: info", 1)
	cfg := loadTestConfig(t, writeConfig(t, dir, yaml))
	start := time.Now()
	code, logs := runInProcess(t.Context(), t, cfg)
	elapsed := time.Since(start)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, logs)
	}
	got := fileIDs(t, out)[apps[0].ID]
	bound := int(rate*elapsed.Seconds()) + burst
	if len(got) > bound || len(got) < burst {
		t.Fatalf("delivered %d in %v, want between burst %d and rate × time + burst = %d", len(got), elapsed, burst, bound)
	}
	pos := map[string]int{}
	for i, l := range emu.Lines(apps[0].ID) {
		pos[l.ID] = i
	}
	for i := 1; i < len(got); i++ {
		if pos[got[i]] <= pos[got[i-1]] {
			t.Fatalf("delivered ids out of order or twice at %d", i)
		}
	}
	totals := totalsLine(t, logs)
	if dropped := int(totals["throttle"].(float64)); dropped != n-len(got) {
		t.Fatalf("throttle drops counted %d, want %d - %d = %d", dropped, n, len(got), n-len(got))
	}
	t.Logf("delivered %d of %d in %v (bound %d)", len(got), n, elapsed, bound)
}

// vmRSS reads a process's resident set size, in bytes.
func vmRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// scrapeGauge reads one sample of a metric from a /metrics endpoint.
func scrapeGauge(addr, name string) (float64, bool) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, name) {
			f := strings.Fields(l)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			return v, err == nil
		}
	}
	return 0, false
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Bounds of TestShapingBlockedSinkRSS: a 16 MiB sink buffer
// (LOGSHIP_RSS_BUFFER_MIB changes it, for measurements) and the documented
// bound on RSS, buffer + 64 MiB under the soft memory limit logship sets
// (memoryBound); see docs/pipeline.md.
var (
	rssBuffer   = envMiB("LOGSHIP_RSS_BUFFER_MIB", 16)
	rssOverhead = int64(64 << 20)
)

// envMiB reads a size in MiB from the environment (for measurements).
func envMiB(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil && v > 0 {
		return v << 20
	}
	return def << 20
}

// TestShapingBlockedSinkRSS runs logship as a process against a large
// backlog while its HTTP receiver hangs for a minute (LOGSHIP_RSS_BLOCK
// overrides the duration): the sink's buffer fills, logship stops reading,
// and its RSS stays under buffer + overhead. Once the receiver recovers,
// every event arrives exactly once, in order.
func TestShapingBlockedSinkRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute-long process test")
	}
	t.Parallel()
	block := time.Minute
	if v := os.Getenv("LOGSHIP_RSS_BLOCK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		block = d
	}
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	emu, api := startEmulator(t, emulator.Options{Token: "test-token", Seed: 24,
		Apps: []emulator.App{{Backlog: 150_000, Start: start, MessageBytes: 600, Spacing: time.Millisecond}}})
	apps := emu.Apps()
	rcv := newTimedReceiver(t, time.Now().Add(block))
	dir := t.TempDir()
	metricsAddr := freeAddr(t)
	yaml := backfillYAML(api, filepath.Join(dir, "state"), "UNUSED", apps,
		fmt.Sprintf("pipeline:\n  buffer: {max_bytes: %d}\nmetrics:\n  listen: %s\n", rssBuffer, metricsAddr))
	yaml = withSinks(yaml, fmt.Sprintf("sinks:\n  - type: http\n    url: %s/ingest\n    timeout: 10m\n    batch: {max_events: 1000}\n", rcv.srv.URL))
	cfgPath := writeConfig(t, dir, yaml)

	ctx, cancel := context.WithTimeout(t.Context(), block+2*time.Minute)
	defer cancel()
	// A release build (the race detector's shadow memory would dwarf what
	// is measured), with the soft memory limit logship sets itself;
	// LOGSHIP_RSS_NO_LIMIT=1 measures Go's default instead.
	cmd := exec.CommandContext(ctx, plainLogship(t), "run", "--config", cfgPath)
	cmd.Env = os.Environ()
	bound := rssBuffer + rssOverhead
	if os.Getenv("LOGSHIP_RSS_NO_LIMIT") == "1" {
		cmd.Env = append(cmd.Env, "GOMEMLIMIT=off")
		bound = 2*rssBuffer + rssOverhead
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var maxBlocked, maxAfter int64
	var maxBuffered float64
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	recovered := rcv.hangUntil
wait:
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("logship: %v: %s", err, stderr.String())
			}
			break wait
		case <-tick.C:
			rss, err := vmRSS(cmd.Process.Pid)
			if err != nil {
				continue // exiting
			}
			if time.Now().Before(recovered) {
				maxBlocked = max(maxBlocked, rss)
				if v, ok := scrapeGauge(metricsAddr, "logship_sink_buffered_bytes"); ok {
					maxBuffered = max(maxBuffered, v)
				}
			} else {
				maxAfter = max(maxAfter, rss)
			}
		}
	}
	t.Logf("buffer %d MiB: max RSS %.1f MiB while the sink hung %v (buffered up to %.1f MiB), %.1f MiB after; bound %d MiB",
		rssBuffer>>20, float64(maxBlocked)/(1<<20), block, maxBuffered/(1<<20), float64(maxAfter)/(1<<20), bound>>20)
	if maxBuffered < 0.9*float64(rssBuffer) {
		t.Fatalf("the buffer never filled (%.0f bytes): the test proves nothing", maxBuffered)
	}
	if maxBlocked > bound || maxAfter > bound {
		t.Fatalf("RSS %d while blocked, %d after: over the bound %d", maxBlocked, maxAfter, bound)
	}
	ids, _ := rcv.got()
	checkExactlyOnceInOrder(t, emu, apps, ids)
}

// TestMemoryBound: the soft memory limit is every sink's buffer (its own or
// the pipeline's) plus the overhead.
func TestMemoryBound(t *testing.T) {
	dir := t.TempDir()
	cfg := loadTestConfig(t, writeConfig(t, dir, fmt.Sprintf(`state_dir: %s
sources:
  - {owner_id: orga_1, application_id: app_1}
  - {owner_id: orga_1, application_id: app_2}
pipeline:
  buffer: {max_bytes: 10MiB}
sinks:
  - {type: stdout}
  - {type: file, path: %s/out, buffer: {max_bytes: 30MiB}}
`, dir, dir)))
	if got, want := memoryBound(cfg, 0), int64(40<<20+memoryOverhead+2*memoryOverheadPerSource); got != want {
		t.Fatalf("memoryBound = %d, want %d", got, want)
	}

	// A discovering source counts the applications it follows (at least
	// one), not one source.
	cfg = loadTestConfig(t, writeConfig(t, dir, fmt.Sprintf(`state_dir: %s
sources:
  - {owner_id: orga_1, application_id: app_1}
  - {owner_id: orga_1, discover: {}}
sinks:
  - {type: file, path: %s/out, buffer: {max_bytes: 30MiB}}
`, dir, dir)))
	for _, c := range []struct{ discovered, sources int }{{0, 2}, {1, 2}, {500, 501}} {
		if got, want := memoryBound(cfg, c.discovered), int64(30<<20+memoryOverhead+c.sources*memoryOverheadPerSource); got != want {
			t.Errorf("memoryBound with %d discovered = %d, want %d (%d sources)", c.discovered, got, want, c.sources)
		}
	}
}
