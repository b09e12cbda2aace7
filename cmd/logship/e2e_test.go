package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/emulator"
)

// syncBuffer is a goroutine-safe bytes.Buffer for captured output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Len returns the number of bytes written.
func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startEmulator serves emu on loopback for the test's duration.
func startEmulator(t testing.TB, opts emulator.Options) (*emulator.Emulator, string) {
	t.Helper()
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(func() {
		emu.Close()
		srv.Close()
	})
	return emu, srv.URL
}

// writeConfig writes a YAML config into dir and returns its path.
func writeConfig(t *testing.T, dir, yaml string) string {
	t.Helper()
	p := filepath.Join(dir, "logship.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadTestConfig loads and validates a config file.
func loadTestConfig(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false }, sinkTable.Config())
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// runInProcess runs the agent until it exits by itself or ctx ends.
func runInProcess(ctx context.Context, t *testing.T, cfg *config.Config) (int, string) {
	t.Helper()
	var stderr syncBuffer
	code := runAgent(ctx, cfg, agentIO{stdout: &syncBuffer{}, stderr: &stderr})
	return code, stderr.String()
}

// rotatedFileIDs is fileIDs of a file rotated once: path+".1", then path,
// read as one.
func rotatedFileIDs(t *testing.T, path string) map[string][]string {
	t.Helper()
	a, _ := os.ReadFile(path + ".1")
	b, _ := os.ReadFile(path)
	both := path + ".both"
	if err := os.WriteFile(both, append(a, b...), 0o600); err != nil {
		t.Fatal(err)
	}
	return fileIDs(t, both)
}

// checkStreamPrefix fails unless got holds at least min ids and is the
// start of want, each once, in stream order.
func checkStreamPrefix(t *testing.T, got []string, want []emulator.Line, min int) {
	t.Helper()
	if len(got) < min || len(got) > len(want) {
		t.Fatalf("got %d lines, stream has %d", len(got), len(want))
	}
	for i, id := range got {
		if id != want[i].ID {
			t.Fatalf("line %d: %s, want %s", i, id, want[i].ID)
		}
	}
}

// fileIDs returns the "id" of every line of an NDJSON file, grouped by
// applicationId, in file order.
func fileIDs(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var app, id string
		line := sc.Bytes()
		app = jsonField(line, "applicationId")
		id = jsonField(line, "id")
		if id == "" {
			t.Fatalf("line without id: %s", line)
		}
		out[app] = append(out[app], id)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// jsonField extracts a top-level string field cheaply (test helper; the
// emulator's lines hold no escaped quotes in ids).
func jsonField(line []byte, key string) string {
	k := []byte(`"` + key + `":"`)
	i := bytes.Index(line, k)
	if i < 0 {
		return ""
	}
	rest := line[i+len(k):]
	j := bytes.IndexByte(rest, '"')
	return string(rest[:j])
}

// checkExactlyOnceInOrder compares the ids a sink received for each app with
// the emulator's lines: every id once, in arrival order.
func checkExactlyOnceInOrder(t *testing.T, emu *emulator.Emulator, apps []emulator.App, got map[string][]string) {
	t.Helper()
	for _, a := range apps {
		want := emu.Lines(a.ID)
		ids := got[a.ID]
		seen := make(map[string]int, len(ids))
		dups := 0
		for _, id := range ids {
			seen[id]++
			if seen[id] == 2 {
				dups++
			}
		}
		missing := 0
		var gaps []string
		for i := 0; i < len(want); i++ {
			if seen[want[i].ID] != 0 {
				continue
			}
			j := i
			for j+1 < len(want) && seen[want[j+1].ID] == 0 {
				j++
			}
			missing += j - i + 1
			if len(gaps) < 8 {
				gaps = append(gaps, fmt.Sprintf("positions %d-%d (%d lines, ids %s-%s, dates %s-%s)",
					i, j, j-i+1, want[i].ID, want[j].ID, want[i].Date.Format(time.RFC3339Nano), want[j].Date.Format(time.RFC3339Nano)))
			}
			i = j
		}
		if missing > 0 {
			t.Logf("app %s: missing %s", a.ID, strings.Join(gaps, "; "))
		}
		if dups > 0 || missing > 0 || len(ids) != len(want) {
			t.Fatalf("app %s: got %d lines for %d expected: %d missing, %d duplicated", a.ID, len(ids), len(want), missing, dups)
		}
		for i, l := range want {
			if ids[i] != l.ID {
				t.Fatalf("app %s: line %d is %s, want %s (stream order)", a.ID, i, ids[i], l.ID)
			}
		}
	}
}

// backfillYAML is a config that backfills apps to a file and exits.
func backfillYAML(api, stateDir, out string, apps []emulator.App, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "api:\n  url: %s\n  token: test-token\nstate_dir: %s\nsources:\n", api, stateDir)
	for _, a := range apps {
		fmt.Fprintf(&b, "  - owner_id: %s\n    application_id: %s\n    since: %s\n    until: %s\n    throttle_elements: 5000\n    throttle_per_ms: 10\n    heartbeat_timeout: 3s\n    lookback: 3s\n",
			a.OwnerID, a.ID, a.Start.Add(-time.Minute).Format(time.RFC3339Nano), a.Start.Add(time.Hour).Format(time.RFC3339Nano))
	}
	fmt.Fprintf(&b, "sinks:\n  - type: file\n    path: %s\n    fsync: interval\n", out)
	b.WriteString("log:\n  level: warn\n")
	b.WriteString(extra)
	return b.String()
}

// requestBody reads the body of a request a sink sent, gunzipped when its
// Content-Encoding says gzip.
func requestBody(r *http.Request) ([]byte, error) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		body = zr
	}
	return io.ReadAll(body)
}

// withSinks replaces the sinks of a backfillYAML config by sinks (a
// whole `sinks:` block).
func withSinks(yaml, sinks string) string {
	i, j := strings.Index(yaml, "sinks:\n"), strings.Index(yaml, "log:\n")
	return yaml[:i] + sinks + yaml[j:]
}

// TestBackfillThroughFaults is the core promise: two applications of
// 50,000 lines each, the connection dropped every ~2,000 lines, one 20 s
// silence, dates out of order by up to 2 s; with Last-Event-ID honoured and
// ignored, the file holds every id exactly once per application, in stream
// order.
func TestBackfillThroughFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("long end-to-end test")
	}
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignore_last_event_id=%v", ignore), func(t *testing.T) {
			t.Parallel()
			start := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
			apps := []emulator.App{
				{Backlog: 50_000, Start: start, Disorder: 2 * time.Second, SameDate: 6},
				{Backlog: 50_000, Start: start, Disorder: 2 * time.Second, SameDate: 3},
			}
			emu, api := startEmulator(t, emulator.Options{
				Apps: apps, Token: "test-token", IgnoreLastEventID: ignore, Seed: 7,
				Faults: emulator.Faults{DropEvery: 2000, DropJitter: 300, SilenceAfter: 30_000, SilenceFor: 20 * time.Second},
			})
			apps = emu.Apps()
			dir := t.TempDir()
			out := filepath.Join(dir, "out", "logs.ndjson")
			cfg := loadTestConfig(t, writeConfig(t, dir, backfillYAML(api, filepath.Join(dir, "state"), out, apps, "")))
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			code, stderr := runInProcess(ctx, t, cfg)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			checkExactlyOnceInOrder(t, emu, apps, fileIDs(t, out))
			st := emu.Stats()
			if st.Drops < 40 || st.Silences != 1 {
				t.Fatalf("faults not exercised: %+v", st)
			}
		})
	}
}
