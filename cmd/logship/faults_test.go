package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logship/logship/emulator"
)

// smallApps are two applications of n lines each.
func smallApps(n int) []emulator.App {
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	return []emulator.App{{Backlog: n, Start: start}, {Backlog: n, Start: start, SameDate: 7}}
}

// runBackfill runs logship in process on yaml and fails the test unless it
// exits with want.
func runBackfill(t *testing.T, yaml string, want int) string {
	t.Helper()
	cfg := loadTestConfig(t, writeConfig(t, t.TempDir(), yaml))
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	code, stderr := runInProcess(ctx, t, cfg)
	if code != want {
		t.Fatalf("exit %d, want %d: %s", code, want, stderr)
	}
	return stderr
}

// TestSourceFaults: server errors, rate limiting and malformed frames on
// the stream. Every line arrives exactly once, in order, and each
// malformed frame is skipped (and counted, see TestMalformedFramesCounted).
func TestSourceFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults emulator.Faults
		style  emulator.Style
	}{
		{name: "5xx then recovery", faults: emulator.Faults{Statuses: []emulator.StatusFault{{Code: 503}, {Code: 500}, {Code: 502}}, DropEvery: 1500}},
		{name: "429 with Retry-After", faults: emulator.Faults{Statuses: []emulator.StatusFault{{Code: 429, RetryAfter: "1"}, {Code: 429, RetryAfter: "1"}, {Code: 429, RetryAfter: "1"}, {Code: 429, RetryAfter: "1"}}}},
		{name: "clean closes without END_OF_STREAM", faults: emulator.Faults{DropEvery: 700, DropClean: true}},
		{name: "malformed frames", faults: emulator.Faults{Malformed: []emulator.Malformed{
			{At: 100, Kind: emulator.BadJSON}, {At: 200, Kind: emulator.UnknownEvent}, {At: 300, Kind: emulator.InvalidUTF8},
			{At: 400, Kind: emulator.NoID}, {At: 500, Kind: emulator.Comment}, {At: 600, Kind: emulator.Oversized, Size: 2 << 20},
		}}},
		{name: "frame style: CRLF, split data, no space, retry, empty heartbeat ids", style: emulator.Style{
			CRLF: true, SplitData: true, NoSpace: true, Retry: time.Second, HeartbeatEmptyID: true, Charset: true,
		}, faults: emulator.Faults{DropEvery: 900}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu, api := startEmulator(t, emulator.Options{Apps: smallApps(3000), Token: "test-token", Seed: 3,
				Faults: tt.faults, Style: tt.style, HeartbeatInterval: 200 * time.Millisecond})
			apps := emu.Apps()
			dir := t.TempDir()
			out := filepath.Join(dir, "out.ndjson")
			start := time.Now()
			runBackfill(t, backfillYAML(api, filepath.Join(dir, "state"), out, apps, ""), 0)
			checkExactlyOnceInOrder(t, emu, apps, fileIDs(t, out))
			if tt.faults.Statuses != nil && tt.faults.Statuses[0].RetryAfter != "" && time.Since(start) < 2*time.Second {
				t.Fatalf("Retry-After not honoured: done in %v", time.Since(start))
			}
		})
	}
}

// TestMalformedFramesCounted checks that each malformed kind is counted
// under its own label, and the oversized line is dead-lettered, not lost.
func TestMalformedFramesCounted(t *testing.T) {
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(1000)[:1], Token: "test-token", Seed: 4,
		Faults: emulator.Faults{Malformed: []emulator.Malformed{
			{At: 10, Kind: emulator.BadJSON}, {At: 20, Kind: emulator.UnknownEvent}, {At: 30, Kind: emulator.InvalidUTF8},
			{At: 40, Kind: emulator.NoID}, {At: 50, Kind: emulator.Oversized, Size: 200_000},
		}}})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	dead := filepath.Join(dir, "dead.ndjson")
	yaml := backfillYAML(api, filepath.Join(dir, "state"), out, apps, "dead_letter:\n  path: "+dead+"\nmetrics:\n  listen: 127.0.0.1:0\n")
	yaml = strings.Replace(yaml, "    lookback: 3s\n", "    lookback: 3s\n    max_event_bytes: 100000\n", 1)
	cfg := loadTestConfig(t, writeConfig(t, dir, yaml))

	// Scrape /metrics just before the agent exits: keep the process
	// alive by running until the backfill ends, scraping from the ready hook.
	var metricsAddr atomic.Value
	var stderr syncBuffer
	code := runAgent(t.Context(), cfg, agentIO{stdout: io.Discard, stderr: &stderr,
		ready: func(addr string) { metricsAddr.Store(addr) }})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	checkExactlyOnceInOrder(t, emu, apps, fileIDs(t, out))
	data, err := os.ReadFile(dead)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	if len(lines) != 1 || !bytes.Contains(lines[0], []byte(`"reason":"event of`)) || !bytes.Contains(lines[0], []byte(`"id":"fault-oversized`)) {
		t.Fatalf("dead letters = %d lines: %.300s", len(lines), data)
	}
	logs := stderr.String()
	for _, kind := range []string{"bad_json", "unknown_event", "invalid_utf8", "missing_id", "too_large"} {
		if !strings.Contains(logs, `"kind":"`+kind+`"`) {
			t.Errorf("no log line for malformed kind %s", kind)
		}
	}
}

// TestAuthRefused: a refused token ends run with exit 77 (EX_NOPERM) and a
// message naming the source, the API's error and the Sozu-Id, and never the
// token; in process and as a real subprocess (the code a service manager
// sees).
func TestAuthRefused(t *testing.T) {
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(10), Token: "right-token"})
	apps := emu.Apps()
	dir := t.TempDir()
	yaml := strings.Replace(backfillYAML(api, dir, filepath.Join(dir, "o"), apps[:1], ""), "token: test-token", "token: wrong-secret-token", 1)
	check := func(stderr string) {
		t.Helper()
		for _, want := range []string{"source " + apps[0].ID, "401", "Unauthorized to access this resource", "Sozu-Id",
			"refused the credentials for source " + apps[0].ID, "config api.token"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("message lacks %q: %s", want, stderr)
			}
		}
		if strings.Contains(stderr, "wrong-secret-token") {
			t.Fatalf("the token leaked: %s", stderr)
		}
	}
	check(runBackfill(t, yaml, exitNoPerm))

	cmd := logshipCmd(t.Context(), "run", "--config", writeConfig(t, t.TempDir(), yaml))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 77 {
		t.Fatalf("subprocess: %v, want exit status 77: %s", err, stderr.String())
	}
	check(stderr.String())
}

// TestNotFoundThenLogs: an application that has never logged answers 404;
// logship waits and retries instead of giving up, and gets the lines once
// they exist.
func TestNotFoundThenLogs(t *testing.T) {
	start := time.Now()
	emu, api := startEmulator(t, emulator.Options{Token: "test-token", Apps: []emulator.App{{
		Start: start, Rate: 200, NotFoundUntilLogged: true,
	}}})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	yaml := backfillYAML(api, dir, out, apps, "")
	yaml = strings.Replace(yaml, "until: "+apps[0].Start.Add(time.Hour).Format(time.RFC3339Nano), "until: "+start.Add(2*time.Second).Format(time.RFC3339Nano), 1)
	runBackfill(t, yaml, 0)
	got := fileIDs(t, out)[apps[0].ID]
	if len(got) == 0 {
		t.Fatal("no line received")
	}
	notFound := 0
	for _, r := range emu.Requests() {
		if r.Status == http.StatusNotFound {
			notFound++
		}
	}
	t.Logf("%d lines after %d 404 answers", len(got), notFound)
}

// receiver is an httptest NDJSON receiver that can be told to fail.
type receiver struct {
	mu     sync.Mutex
	ids    map[string][]string // applicationId -> ids, in arrival order
	fail   func(n int) (int, string)
	calls  int
	srv    *httptest.Server
	bodies int
}

func newReceiver(t *testing.T, fail func(n int) (status int, retryAfter string)) *receiver {
	r := &receiver{ids: map[string][]string{}, fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.calls++
	n := r.calls
	r.mu.Unlock()
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return
	}
	if r.fail != nil {
		if code, ra := r.fail(n); code != 0 {
			if ra != "" {
				w.Header().Set("Retry-After", ra)
			}
			w.WriteHeader(code)
			return
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies++
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		app := jsonField(sc.Bytes(), "applicationId")
		r.ids[app] = append(r.ids[app], jsonField(sc.Bytes(), "id"))
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) got() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]string{}
	for k, v := range r.ids {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// TestHTTPSinkOutage: the receiver fails (503, then 429 with Retry-After)
// for a while; nothing is lost or doubled, and the checkpoint waits.
func TestHTTPSinkOutage(t *testing.T) {
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(5000), Token: "test-token", Seed: 5})
	apps := emu.Apps()
	outageUntil := time.Now().Add(3 * time.Second)
	rcv := newReceiver(t, func(n int) (int, string) {
		switch {
		case time.Now().Before(outageUntil):
			return 503, ""
		case n%7 == 0:
			return 429, "1"
		}
		return 0, ""
	})
	dir := t.TempDir()
	yaml := backfillYAML(api, filepath.Join(dir, "state"), "UNUSED", apps, "")
	yaml = withSinks(yaml, fmt.Sprintf("sinks:\n  - type: http\n    url: %s/ingest\n    compression: gzip\n    retry_initial_backoff: 50ms\n    retry_max_backoff: 500ms\n    batch:\n      max_events: 500\n", rcv.srv.URL))
	runBackfill(t, yaml, 0)
	checkExactlyOnceInOrder(t, emu, apps, rcv.got())
}

// TestHTTPSinkRefusalDeadLetters: a receiver that refuses a batch for good
// (400) gets it dead-lettered; the rest is delivered; every id is in
// exactly one of the two.
func TestHTTPSinkRefusalDeadLetters(t *testing.T) {
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(2000)[:1], Token: "test-token", Seed: 6})
	apps := emu.Apps()
	rcv := newReceiver(t, func(n int) (int, string) {
		if n == 2 {
			return 400, ""
		}
		return 0, ""
	})
	dir := t.TempDir()
	dead := filepath.Join(dir, "dead.ndjson")
	yaml := backfillYAML(api, filepath.Join(dir, "state"), "UNUSED", apps, "dead_letter:\n  path: "+dead+"\n")
	yaml = withSinks(yaml, fmt.Sprintf("sinks:\n  - type: http\n    url: %s/ingest\n    batch:\n      max_events: 100\n", rcv.srv.URL))
	runBackfill(t, yaml, 0)
	got := rcv.got()[apps[0].ID]
	deadIDs := map[string]bool{}
	data, err := os.ReadFile(dead)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		deadIDs[jsonField(l, "id")] = true
		if !bytes.Contains(l, []byte(`"sink":"http"`)) || !bytes.Contains(l, []byte(`400`)) {
			t.Fatalf("dead letter lacks sink or reason: %s", l)
		}
	}
	if len(deadIDs) != 100 {
		t.Fatalf("%d dead letters, want one batch of 100", len(deadIDs))
	}
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, l := range emu.Lines(apps[0].ID) {
		if n := seen[l.ID]; n+map[bool]int{true: 1}[deadIDs[l.ID]] != 1 {
			t.Fatalf("id %s delivered %d times, dead-lettered %v", l.ID, n, deadIDs[l.ID])
		}
	}
}

// TestOAuthSignatures: OAuth1 credentials, with clever-tools' PLAINTEXT
// header and with RFC 5849 HMAC-SHA512 signatures, verified by the
// emulator; every line arrives once.
func TestOAuthSignatures(t *testing.T) {
	for _, sig := range []string{"plaintext", "hmac-sha512"} {
		t.Run(sig, func(t *testing.T) {
			emu, api := startEmulator(t, emulator.Options{Apps: smallApps(2000)[:1], Seed: 8,
				OAuth: emulator.OAuthCreds{Token: "tok en/1", Secret: "s&cret+2"}, Faults: emulator.Faults{DropEvery: 500}})
			apps := emu.Apps()
			dir := t.TempDir()
			out := filepath.Join(dir, "out.ndjson")
			yaml := strings.Replace(backfillYAML(api, dir, out, apps, ""), "  token: test-token\n",
				"  oauth:\n    token: \"tok en/1\"\n    secret: \"s&cret+2\"\n    signature: "+sig+"\n", 1)
			runBackfill(t, yaml, 0)
			checkExactlyOnceInOrder(t, emu, apps, fileIDs(t, out))
			for _, r := range emu.Requests() {
				if r.Status != http.StatusOK || !strings.Contains(strings.ToLower(r.Auth), strings.TrimPrefix(sig, "hmac-")) {
					t.Fatalf("request answered %d with auth %q", r.Status, r.Auth)
				}
			}
		})
	}
}

// TestForbiddenAndBadRequest: 403 and 400 at start are fatal, like 401;
// 403 is a refusal of the credentials (77), 400 a plain failure (1).
func TestForbiddenAndBadRequest(t *testing.T) {
	emu, api := startEmulator(t, emulator.Options{Token: "test-token",
		Apps: []emulator.App{{Backlog: 10, Forbidden: true}, {Backlog: 10}}})
	apps := emu.Apps()
	dir := t.TempDir()
	stderr := runBackfill(t, backfillYAML(api, dir, filepath.Join(dir, "o"), apps[:1], ""), exitNoPerm)
	if !strings.Contains(stderr, "403") || !strings.Contains(stderr, apps[0].ID) {
		t.Fatalf("403 message: %s", stderr)
	}
	emu.QueueStatus(emulator.StatusFault{Code: 400})
	stderr = runBackfill(t, backfillYAML(api, t.TempDir(), filepath.Join(dir, "o2"), apps[1:], ""), 1)
	if !strings.Contains(stderr, "400") {
		t.Fatalf("400 message: %s", stderr)
	}
}

// TestLimitAcrossReconnects: `limit` counts what was received across
// reconnects; the source completes after exactly limit lines.
func TestLimitAcrossReconnects(t *testing.T) {
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(3000)[:1], Token: "test-token", Seed: 10,
		Faults: emulator.Faults{DropEvery: 400}})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	yaml := strings.Replace(backfillYAML(api, dir, out, apps, ""), "    lookback: 3s\n", "    lookback: 3s\n    limit: 1234\n", 1)
	runBackfill(t, yaml, 0)
	got := fileIDs(t, out)[apps[0].ID]
	want := emu.Lines(apps[0].ID)[:1234]
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want 1234", len(got))
	}
	for i := range want {
		if got[i] != want[i].ID {
			t.Fatalf("line %d: %s, want %s", i, got[i], want[i].ID)
		}
	}
	var limits []string
	for _, r := range emu.Requests() {
		limits = append(limits, r.Query.Get("limit"))
	}
	// Each reconnect asks for what is left plus what the server may replay
	// (the look-back window's lines): counted down, though not by what was
	// received alone (see TestLimitWhenServerIgnoresLastEventID).
	if last, _ := strconv.Atoi(limits[len(limits)-1]); len(limits) < 3 || limits[0] != "1234" || last >= 1234 || last < 1 {
		t.Fatalf("limit not recounted across reconnects: %v", limits)
	}
}

// TestUnreadableFrame: a frame beyond the reader's limit (4 ×
// max_event_bytes, at least 16 MiB) is not held in memory: logship skips it,
// counts and logs it as malformed (frame_too_large), and reads on, on the
// same connection, instead of crashing, going silent or reconnecting to
// meet it again.
func TestUnreadableFrame(t *testing.T) {
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(500)[:1], Token: "test-token",
		Faults: emulator.Faults{Malformed: []emulator.Malformed{{At: 100, Kind: emulator.Oversized, Size: 17 << 20}}}})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	yaml := strings.Replace(backfillYAML(api, dir, out, apps, ""), "    lookback: 3s\n", "    lookback: 3s\n    max_event_bytes: 1000\n", 1)
	// Reading 16 MiB before giving up takes seconds under the race
	// detector on a loaded machine: the watchdog must not call it silence.
	yaml = strings.Replace(yaml, "heartbeat_timeout: 3s", "heartbeat_timeout: 60s", 1)
	cfg := loadTestConfig(t, writeConfig(t, dir, yaml))
	code, stderr := runInProcess(t.Context(), t, cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, `"kind":"frame_too_large"`) {
		t.Fatalf("no skipped frame logged: %s", stderr)
	}
	if st := emu.Stats(); st.Connections != 1 {
		t.Fatalf("%d connections, want 1: the stream goes on past the frame", st.Connections)
	}
	got := fileIDs(t, out)[apps[0].ID]
	want := emu.Lines(apps[0].ID)
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i].ID {
			t.Fatalf("line %d: %s, want %s", i, got[i], want[i].ID)
		}
	}
}
